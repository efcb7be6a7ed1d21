---@mod codex  Codex from Lua: clients, threads, streaming turns, login.
---
--- local codex = require("codex")
--- local client = codex.new()
--- local result = client:thread_start():run("Say hello")
--- print(result.final_response)
---
--- Submodules load on first use, so requiring "codex" costs nothing.
local M = {}

-- The C module codex.core is found by package.cpath, or in Neovim on the runtimepath. When
-- it is not there (not built yet), every require("codex.core") raises one "not_built" error
-- saying what to run, instead of Lua's list of every path it tried: the searcher below, the
-- last one tried, is the one place a missing core is turned into that error.
local sep = package.config:sub(1, 1)

--- The plugin's directory (the parent of lua/), absolute.
local function plugin_root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)" .. sep .. "lua" .. sep .. "codex" .. sep .. "init%.lua$") or "."
  if dir:sub(1, 1) ~= sep then
    local pwd = os.getenv("PWD") or "."
    dir = dir == "." and pwd or (pwd .. sep .. dir:gsub("^%." .. sep, ""))
  end
  return dir
end

local not_built_mt = {
  __tostring = function(e) return e.message end,
}

--- The "not_built" error: what is missing and what to run, in one line.
---@return codex.Error
function M.not_built_error()
  local root = plugin_root()
  local message
  if type(vim) == "table" and vim.api then
    message = ("codex.nvim is not built (its C module lua/codex/core.so is missing): run `make` in %s"
      .. " (needs a C compiler, cmake, pkg-config and the libuv and LuaJIT dev files;"
      .. " Debian/Ubuntu: sudo apt install build-essential cmake pkg-config libuv1-dev libluajit-5.1-dev)"):format(root)
  else
    local built = root .. "/build/lua5.4/codex/core.so"
    local f = io.open(built, "r")
    if f then
      f:close()
      message = ("codex.core is built but not on package.cpath: add %s/build/lua5.4/?.so to it (LUA_CPATH)"):format(root)
    else
      message = ("codex.core is not built: run `make lua54` in %s (needs a C compiler, cmake, pkg-config and the"
        .. " libuv and Lua 5.4 dev files; Debian/Ubuntu: sudo apt install build-essential cmake pkg-config"
        .. " libuv1-dev liblua5.4-dev), then add %s/build/lua5.4/?.so to package.cpath"):format(root, root)
    end
  end
  return setmetatable({ kind = "not_built", message = message }, not_built_mt)
end

local searchers = package.searchers or package.loaders
if not searchers.codex_not_built then
  searchers.codex_not_built = true
  searchers[#searchers + 1] = function(name)
    if name == "codex.core" then error(M.not_built_error(), 0) end
    return nil
  end
end

local lazy = {
  input = "codex.input",
  approvals = "codex.approvals",
  errors = "codex.errors",
}

setmetatable(M, {
  __index = function(t, k)
    if lazy[k] then
      local mod = require(lazy[k])
      rawset(t, k, mod)
      return mod
    end
    if k == "null" then return require("codex.core").null end
  end,
})

--- Configures the Neovim plugin (optional; idempotent). See |codex-config|; what calling it
--- again does to the shared client: |codex-setup-again|.
---@param opts codex.Config|nil
function M.setup(opts)
  require("codex.config").setup(opts)
end

--- Subscribes to plugin events (TurnStarted, TurnCompleted, ApprovalRequested,
--- ApprovalResolved, LoginCompleted, ChatOpened). Returns an unsubscribe function.
---@param name string
---@param fn fun(data: table)
---@return fun()
function M.on(name, fn)
  return require("codex.events").on(name, fn)
end

--- The current chat's status (model · state · tokens), for statuslines; "" without a chat.
---@return string
function M.statusline()
  if not package.loaded["codex.ui.chat"] then return "" end
  return require("codex.ui.chat").statusline()
end

--- Creates a client (see codex.ClientOptions). Nothing is spawned until first use.
---@param opts codex.ClientOptions|nil
---@return codex.Client
function M.new(opts)
  return require("codex.client").new(opts)
end

--- Marks a table as a JSON array (so an empty one is sent as []).
---@param t table|nil
---@return table
function M.array(t)
  return require("codex.core").array(t)
end

--- Runs fn in a coroutine, pumping the loop until it finishes (for scripts); returns its results.
---@param fn function
---@return any
function M.run(fn, ...)
  return require("codex.await").run(fn, ...)
end

--- Runs functions concurrently (each in its own coroutine) and waits for all; returns their
--- results in order. Awaitable: blocks on the main thread, yields in a coroutine.
---@param fns (fun(): any)[]
---@param cb fun(err: any, results: any[]|nil)|nil
---@return any[]
function M.all(fns, cb)
  return require("codex.await").all(fns, cb)
end

return M
