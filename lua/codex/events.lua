---@mod codex.events  The plugin's event bus: Lua callbacks and `User Codex*` autocmds.
---
--- Events: TurnStarted, TurnCompleted, ApprovalRequested, ApprovalResolved, LoginCompleted,
--- ChatOpened, ChatHistoryLoaded (earlier turns of a resumed chat are in), ChatUndone.
--- `require("codex").on("TurnCompleted", fn)` gets the payload on every Neovim;
--- the autocmd `User CodexTurnCompleted` carries it in `data` on Neovim 0.8+.
local util = require("codex.util")

local M = {}

local subs = {} ---@type table<string, codex.Subscribers>

--- Subscribes; returns an unsubscribe function (safe to call from a handler).
---@param name string
---@param fn fun(data: table)
---@return fun()
function M.on(name, fn)
  subs[name] = subs[name] or util.subscribers()
  return subs[name]:add(fn)
end

local has_data = vim.fn.has("nvim-0.8") == 1

-- Handlers' errors are shown, not raised: the event's sender goes on.
local function report(msg) vim.notify(msg, vim.log.levels.ERROR) end

--- Emits an event (scheduled context only).
---@param name string
---@param data table|nil
function M.emit(name, data)
  data = data or {}
  if subs[name] then subs[name]:emit(report, name .. " handler", data) end
  local opts = { pattern = "Codex" .. name, modeline = false }
  if has_data then opts.data = data end
  pcall(vim.api.nvim_exec_autocmds, "User", opts)
end

return M
