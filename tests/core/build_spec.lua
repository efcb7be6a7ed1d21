-- The build a user runs: plain `make` (lazy.nvim's `build = "make"`, a pack/*/start clone +
-- `make`), its errors when a package is missing, the help tags, and the rockspec through
-- luarocks. Every build happens in a temporary copy of the tree (the files a clean clone
-- has), never in the real build dirs. Lua 5.4 only (scripts/test.sh runs it on its own): it
-- shells out to make, cmake, luarocks and child Neovims.
if type(vim) == "table" and vim.api then
  pending("build: runs under Lua 5.4 only (scripts/test.sh)")
  return
end

local files = require("lib.files")
local ROOT = TEST_ROOT

local shell = require("lib.shell")
local q, sh = shell.q, shell.sh

local function must(cmd)
  local out, rc = sh(cmd)
  if rc ~= 0 then error(("`%s` exited %s:\n%s"):format(cmd, tostring(rc), out), 2) end
  return out
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

-- make as a user's shell runs it: not a sub-make of the `make test` that runs this spec.
local MAKE = "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u CMAKE make -j2"

local tmp = must("mktemp -d /tmp/codex-build-spec.XXXXXX"):gsub("%s+$", "")
teardown(function() os.execute("rm -rf " .. q(tmp)) end)

--- A new copy of the tree as a clean clone has it (tracked and unignored files; no build/,
--- no lua/codex/core.so, no doc/tags, no .deps).
local copies = 0
local function fresh_copy()
  copies = copies + 1
  local dst = ("%s/copy%d"):format(tmp, copies)
  local list = must("cd " .. q(ROOT) .. " && git ls-files -co --exclude-standard")
  local keep = {}
  for _, f in ipairs(lines(list)) do
    if files.exists(ROOT .. "/" .. f) then keep[#keep + 1] = f end
  end
  files.write(dst .. ".files", table.concat(keep, "\n") .. "\n")
  must(("mkdir -p %s && cd %s && tar -cf - -T %s | tar -xf - -C %s"):format(q(dst), q(ROOT), q(dst .. ".files"), q(dst)))
  return dst
end

--- A directory holding only luajit.pc and libuv.pc, copied from the system's pkg-config dirs.
local pc_two
local function two_pc_dir()
  if pc_two then return pc_two end
  local dir = tmp .. "/pc-two"
  must("mkdir -p " .. q(dir))
  for _, m in ipairs({ "luajit", "libuv" }) do
    local from = must("pkg-config --variable pcfiledir " .. m):gsub("%s+$", "")
    must(("cp %s %s"):format(q(from .. "/" .. m .. ".pc"), q(dir)))
  end
  pc_two = dir
  return dir
end

local function empty_dir(name)
  local dir = tmp .. "/" .. name
  must("mkdir -p " .. q(dir))
  return dir
end

-- One copy built the acceptance way (`PKG_CONFIG_LIBDIR=<only luajit.pc and libuv.pc> make`),
-- shared by the tests that look at its result.
local built
local function built_copy()
  if not built then
    local dir = fresh_copy()
    local out, rc = sh(("cd %s && PKG_CONFIG_LIBDIR=%s %s"):format(q(dir), q(two_pc_dir()), MAKE))
    built = { dir = dir, out = out, rc = rc }
  end
  return built
end

local function have(prog) return select(2, sh("command -v " .. q(prog) .. " >/dev/null")) == 0 end

-- The Neovims to check in: the one on PATH, and the unpacked 0.10 when deps.sh made it.
local function nvims()
  local t = {}
  if have("nvim") then t[#t + 1] = "nvim" end
  local n010 = os.getenv("NVIM010") or (ROOT .. "/.deps/nvim-0.10/nvim")
  if files.exists(n010) then t[#t + 1] = n010 end
  return t
end

describe("make, as a Neovim user runs it", function()
  it("exits 0 and builds lua/codex/core.so with only luajit.pc and libuv.pc; one line says where the Lua 5.4 headers are", function()
    local b = built_copy()
    expect.eq(b.rc, 0, "make's exit code; output:\n" .. b.out)
    expect.truthy(files.exists(b.dir .. "/lua/codex/core.so"), "lua/codex/core.so built")
    expect.falsy(files.exists(b.dir .. "/build/lua5.4/codex/core.so"), "no Lua 5.4 module without its headers")
    local skipped = {}
    for _, l in ipairs(lines(b.out)) do
      if l:find("build/lua5.4/codex/core.so", 1, true) then skipped[#skipped + 1] = l end
    end
    expect.eq(#skipped, 1, "one line about the Lua 5.4 module; output:\n" .. b.out)
    expect.match(skipped[1], "skipped")
    expect.match(skipped[1], "liblua5%.4%-dev %(Debian/Ubuntu%)")
    expect.match(skipped[1], "lua%-devel %(Fedora%)")
    expect.match(skipped[1], "lua %(Arch, Homebrew%)")
  end)

  it("is quiet: one short line per thing built, no make or CMake chatter, also when nothing changed", function()
    local b = built_copy()
    expect.eq(b.rc, 0, "make's exit code; output:\n" .. b.out)
    local again, rc = sh(("cd %s && PKG_CONFIG_LIBDIR=%s %s"):format(q(b.dir), q(two_pc_dir()), MAKE))
    expect.eq(rc, 0, "the second make; output:\n" .. again)
    for _, out in ipairs({ b.out, again }) do
      local ls = lines(out)
      expect.truthy(#ls >= 1 and #ls <= 3, "1 to 3 lines (module, skipped Lua 5.4, help tags), got:\n" .. out)
      for _, l in ipairs(ls) do
        expect.match(l, "^codex%.nvim: ", "every line is ours")
        expect.falsy(l:find("Entering directory", 1, true), "no make directory noise: " .. l)
      end
      expect.falsy(out:find("%[%s*%d+%%%]"), "no CMake progress lines:\n" .. out)
      expect.falsy(out:find("\n%-%- ") or out:find("^%-%- "), "no CMake configure lines:\n" .. out)
      expect.match(out, "codex%.nvim: built lua/codex/core%.so")
    end
  end)

  it("makes doc/tags, so that :help codex works in a pack/*/start install (no E149), where the module loads", function()
    local list = nvims()
    if #list == 0 then return pending("no nvim on PATH") end
    local b = built_copy()
    expect.eq(b.rc, 0, "make's exit code; output:\n" .. b.out)
    expect.truthy(files.exists(b.dir .. "/doc/tags"), "doc/tags generated; make said:\n" .. b.out)
    local pp = tmp .. "/packpath"
    must(("mkdir -p %s/pack/x/start && ln -sfn %s %s/pack/x/start/codex.nvim"):format(q(pp), q(b.dir), q(pp)))
    local probe = [[lua local ok, err = pcall(vim.cmd, "help codex")
      io.stdout:write("help=", ok and vim.fn.expand("%:t") or ("ERR " .. tostring(err)), "\n")
      io.stdout:write("line=", vim.fn.getline("."), "\n")
      local ok2, core = pcall(require, "codex.core")
      io.stdout:write("host=", ok2 and core.info().host or ("ERR " .. tostring(core)), "\n")]]
    for _, nvim in ipairs(list) do
      local out = sh(("cd %s && %s --headless -u NONE -i NONE --cmd %s -c %s -c 'qa!'"):format(
        q(tmp), q(nvim), q("set packpath^=" .. pp), q(probe:gsub("\n%s*", " "))))
      expect.match(out, "help=codex%.txt\n", nvim .. ": the help buffer")
      expect.match(out, "line=[^\n]*%*codex%*", nvim .. ": :help codex lands on the *codex* tag")
      expect.match(out, "host=nvim\n", nvim .. ": require('codex.core') from the pack dir")
    end
  end)

  it("without the LuaJIT and libuv headers: exits non-zero, with CMake's and pkg-config's messages and the packages for each system", function()
    local dir = fresh_copy()
    local out, rc = sh(("cd %s && PKG_CONFIG_LIBDIR=%s %s"):format(q(dir), q(empty_dir("pc-empty")), MAKE))
    expect.truthy(rc ~= 0, "make fails; output:\n" .. out)
    expect.falsy(files.exists(dir .. "/lua/codex/core.so"), "nothing built")
    expect.match(out, "CMake Error", "CMake's own error")
    expect.truthy(out:find("Package 'luajit'[^\n]*not found") or out:find("No package 'luajit' found"),
      "pkg-config's own message about luajit:\n" .. out)
    expect.truthy(out:find("Package 'libuv'[^\n]*not found") or out:find("No package 'libuv' found"),
      "pkg-config's own message about libuv:\n" .. out)
    expect.match(out, "Debian/Ubuntu: +sudo apt install libluajit%-5%.1%-dev libuv1%-dev\n")
    expect.match(out, "Fedora: +sudo dnf install luajit%-devel libuv%-devel\n")
    expect.match(out, "Arch: +sudo pacman %-S luajit libuv\n")
    expect.match(out, "macOS %(Homebrew%): +brew install luajit libuv\n")
    expect.match(out, "could not build lua/codex/core%.so")
  end)

  it("make lua54 and make build (as make test builds) still require the Lua 5.4 headers, naming their package", function()
    local b = built_copy()
    for _, target in ipairs({ "lua54", "build" }) do
      local out, rc = sh(("cd %s && PKG_CONFIG_LIBDIR=%s %s %s"):format(q(b.dir), q(two_pc_dir()), MAKE, target))
      expect.truthy(rc ~= 0, "make " .. target .. " fails; output:\n" .. out)
      expect.match(out, "Checking for one of the modules 'lua5%.4", "CMake's own text")
      expect.match(out, "Debian/Ubuntu: +sudo apt install liblua5%.4%-dev\n")
      expect.match(out, "Fedora: +sudo dnf install lua%-devel\n")
      expect.match(out, "macOS %(Homebrew%): +brew install lua\n")
    end
  end)

  it("without cmake: names its package for each system", function()
    local dir = fresh_copy()
    local out, rc = sh(("cd %s && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make nvim CMAKE=codex-no-such-cmake"):format(q(dir)))
    expect.truthy(rc ~= 0, "make fails; output:\n" .. out)
    expect.match(out, "cmake is not installed")
    expect.match(out, "Debian/Ubuntu: +sudo apt install cmake\n")
    expect.match(out, "Fedora: +sudo dnf install cmake\n")
    expect.match(out, "Arch: +sudo pacman %-S cmake\n")
    expect.match(out, "macOS %(Homebrew%): +brew install cmake\n")
  end)
end)

describe("the rockspec", function()
  it("builds with luarocks --lua-version 5.1 make into a tree, and Neovim loads codex.core from it", function()
    expect.truthy(have("luarocks"), "luarocks on PATH (scripts/deps.sh installs Debian's luarocks)")
    local list = nvims()
    if #list == 0 then return pending("no nvim on PATH") end
    local dir = fresh_copy()
    local tree = tmp .. "/rocks"
    local out, rc = sh(("cd %s && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS timeout 300 luarocks --lua-version 5.1 make --tree %s codex.nvim-scm-1.rockspec"):format(q(dir), q(tree)))
    expect.eq(rc, 0, "luarocks make's exit code; output:\n" .. out)
    local so = tree .. "/lib/lua/5.1/codex/core.so"
    expect.truthy(files.exists(so), "the module installed as lib/lua/5.1/codex/core.so; output:\n" .. out)
    expect.truthy(files.exists(tree .. "/share/lua/5.1/codex/init.lua"), "the Lua sources installed")
    os.execute("rm -rf " .. q(dir)) -- what Neovim loads can only come from the tree
    local probe = ([[lua package.cpath = %q .. ";" .. package.cpath
      package.path = %q .. ";" .. package.path
      local ok, core = pcall(require, "codex.core")
      io.stdout:write("host=", ok and core.info().host or ("ERR " .. tostring(core)), "\n")
      io.stdout:write("from=", tostring(package.searchpath("codex.core", package.cpath)), "\n")
      local ok2, codex = pcall(require, "codex")
      io.stdout:write("api=", ok2 and type(codex.new) or ("ERR " .. tostring(codex)), "\n")]]):format(
      tree .. "/lib/lua/5.1/?.so", tree .. "/share/lua/5.1/?.lua;" .. tree .. "/share/lua/5.1/?/init.lua")
    for _, nvim in ipairs(list) do
      local got = sh(("cd %s && %s --headless -u NONE -i NONE -c %s -c 'qa!'"):format(q(tmp), q(nvim), q(probe:gsub("\n%s*", " "))))
      expect.match(got, "host=nvim\n", nvim .. ": require('codex.core').info().host")
      expect.truthy(got:find("from=" .. so, 1, true), nvim .. ": loaded from the tree:\n" .. got)
      expect.match(got, "api=function\n", nvim .. ": require('codex') from the tree")
    end
  end)
end)
