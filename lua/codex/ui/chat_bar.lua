---@mod codex.ui.chat_bar  The chat's bar (winbar, or statusline on 0.7): model · state · tokens.
---
--- Chat:status_text is a method of codex.Chat (mixed in by codex.ui.chat); redraw() and
--- tick() are what the chat calls when the bar's text changes.
local api = vim.api
local uv = vim.uv or vim.loop

---@class codex.Chat
local Chat = {}
local M = { methods = Chat }

--- The bar of the window being drawn, as a 'winbar'/'statusline' expression.
M.EXPR = "%{v:lua.require'codex.ui.chat_bar'.bar()}"

local chat_of ---@type fun(buf: integer): codex.Chat|nil

--- How the bar finds a buffer's chat (codex.ui.chat sets it; this module never requires it).
---@param lookup fun(buf: integer): codex.Chat|nil
function M.set_lookup(lookup) chat_of = lookup end

--- The bar text of the chat shown in the window being drawn.
---@return string
function M.bar()
  local c = chat_of and chat_of(api.nvim_get_current_buf())
  return c and c:status_text() or ""
end

--- Status for bars: model · state · tokens.
function Chat:status_text()
  local parts = { "Codex" }
  local model = self.model or self.server_model
  if model then parts[#parts + 1] = model .. (self.effort and (" (" .. self.effort .. ")") or "") end
  if self.approval_waiting then
    parts[#parts + 1] = "waiting for approval"
  elseif self.state == "running" and self.started then
    parts[#parts + 1] = ("running %d s"):format(math.floor((uv.now() - self.started) / 1000))
  elseif self.state == "starting" then
    parts[#parts + 1] = "starting"
  else
    parts[#parts + 1] = "idle"
  end
  if #self.queue > 0 then parts[#parts + 1] = #self.queue .. " queued" end
  local usage = type(self.tokens) == "table" and self.tokens.total
  local total = type(usage) == "table" and usage.totalTokens
  if type(total) == "number" then
    parts[#parts + 1] = total >= 1000 and ("%.1fk tokens"):format(total / 1000) or (total .. " tokens")
  end
  return table.concat(parts, " · ")
end

-- Bars are redrawn once the current work is done, never inside it: a synchronous redraw
-- in send() would put a redraw of the whole screen between <CR> and turn/start on stdin.
local redraw_queued = false
function M.redraw()
  if redraw_queued then return end
  redraw_queued = true
  vim.schedule(function()
    redraw_queued = false
    pcall(vim.cmd, "redrawstatus!")
  end)
end

-- A 1 s tick keeps "running N s" current while any chat runs.
local ticker

--- Starts the 1 s tick (if it is not running): it redraws the bars, and stops once running()
--- says no chat runs any more.
---@param running fun(): boolean
function M.tick(running)
  if ticker then return end
  ticker = uv.new_timer()
  ticker:start(1000, 1000, function()
    vim.schedule(function()
      M.redraw()
      if not running() and ticker then
        ticker:stop()
        ticker:close()
        ticker = nil
      end
    end)
  end)
end

function Chat:set_approval_waiting(on)
  self.approval_waiting = on and true or false
  M.redraw()
end
return M
