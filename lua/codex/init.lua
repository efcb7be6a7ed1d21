---@mod codex  Codex from Lua: clients, threads, streaming turns, login.
---
--- local codex = require("codex")
--- local client = codex.new()
--- local result = client:thread_start():run("Say hello")
--- print(result.final_response)
---
--- Submodules load on first use, so requiring "codex" costs nothing.
local M = {}

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

--- Configures the Neovim plugin (optional; idempotent). See |codex-config|.
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
