-- codex.nvim for luarocks and rocks.nvim (`:Rocks install codex.nvim`, or from a checkout:
-- `luarocks --lua-version 5.1 make codex.nvim-scm-1.rockspec`).
-- CMake builds the Neovim module (CODEX_FLAVOR=nvim: Lua 5.1 API from the LuaJIT headers,
-- no Lua or libuv linked: both come from the nvim process) and installs it as codex/core.so
-- under the rock's lib dir, the Lua sources under its lua dir. Needs a C compiler, CMake,
-- pkg-config and the LuaJIT and libuv headers (Debian: libluajit-5.1-dev libuv1-dev); when one
-- is missing, CMake's error names its package for Debian/Ubuntu, Fedora, Arch and Homebrew.
-- tests/core/build_spec.lua builds it into a temporary tree and loads it in Neovim.
rockspec_format = "3.0"
package = "codex.nvim"
version = "scm-1"

source = {
  url = "git+https://github.com/codex-nvim/codex.nvim",
}

description = {
  summary = "Codex (the coding agent) in Neovim and from Lua, over the real codex app-server",
  detailed = [[
A small C core owns the `codex app-server` child process and its JSON-RPC stream on
Neovim's own loop; above it, a Lua API (threads, streaming turns, approvals, login) and a
chat UI with approval prompts that never answer by accident.]],
  homepage = "https://github.com/codex-nvim/codex.nvim",
  license = "MIT",
  labels = { "neovim", "neovim-plugin", "codex", "ai" },
}

dependencies = {
  "lua == 5.1", -- Neovim's Lua (LuaJIT)
}

build = {
  type = "cmake",
  variables = {
    CODEX_FLAVOR = "nvim",
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    -- read by the install() rules of CMakeLists.txt
    CODEX_INSTALL_LIBDIR = "$(LIBDIR)", -- → $(LIBDIR)/codex/core.so
    CODEX_INSTALL_LUADIR = "$(LUADIR)", -- → $(LUADIR)/codex/*.lua
  },
  copy_directories = { "doc", "plugin" },
}
