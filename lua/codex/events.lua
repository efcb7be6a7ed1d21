---@mod codex.events  The plugin's event bus: Lua callbacks and `User Codex*` autocmds.
---
--- Events: TurnStarted, TurnCompleted, ApprovalRequested, ApprovalResolved, LoginCompleted,
--- ChatOpened, ChatHistoryLoaded (earlier turns of a resumed chat are in).
--- `require("codex").on("TurnCompleted", fn)` gets the payload on every Neovim;
--- the autocmd `User CodexTurnCompleted` carries it in `data` on Neovim 0.8+.
local M = {}

local subs = {}

--- Subscribes; returns an unsubscribe function.
---@param name string
---@param fn fun(data: table)
---@return fun()
function M.on(name, fn)
  subs[name] = subs[name] or {}
  table.insert(subs[name], fn)
  return function()
    for i, f in ipairs(subs[name] or {}) do
      if f == fn then
        table.remove(subs[name], i)
        return
      end
    end
  end
end

local has_data = vim.fn.has("nvim-0.8") == 1

--- Emits an event (scheduled context only).
---@param name string
---@param data table|nil
function M.emit(name, data)
  data = data or {}
  for _, fn in ipairs(vim.list_extend({}, subs[name] or {})) do
    local ok, err = pcall(fn, data)
    if not ok then vim.notify("codex: error in " .. name .. " handler: " .. tostring(err), vim.log.levels.ERROR) end
  end
  local opts = { pattern = "Codex" .. name, modeline = false }
  if has_data then opts.data = data end
  pcall(vim.api.nvim_exec_autocmds, "User", opts)
end

return M
