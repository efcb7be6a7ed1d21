---@mod codex.ui.chat_window  Where a chat shows: its two windows per chat.layout.
---
--- Methods of codex.Chat (mixed in by codex.ui.chat): showing, hiding, "is it visible".
local api = vim.api
local config = require("codex.config")
local events = require("codex.events")

---@class codex.Chat
local Chat = {}

local function shows(win, buf)
  return win ~= nil and api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == buf
end

--- Is the chat shown in a window?
function Chat:visible()
  return shows(self.win, self.buf)
end

local function size(v, total)
  if v <= 1 then return math.max(10, math.floor(total * v)) end
  return math.floor(v)
end

local bar_expr = require("codex.ui.chat_bar").EXPR

--- Shows the chat (and its input) in windows per config.chat.layout; focuses the input.
function Chat:show()
  self:_touch()
  self:ensure_buffers()
  if self:visible() then
    if shows(self.input_win, self.input_buf) then api.nvim_set_current_win(self.input_win) end
    return
  end
  self.showing = true
  local ok, err = pcall(self._show, self)
  self.showing = false
  if not ok then error(err, 0) end
end

function Chat:_show()
  local c = config.get().chat
  if c.layout == "float" then
    local w, h = size(c.width, vim.o.columns), size(c.height, vim.o.lines)
    local row, col = math.floor((vim.o.lines - h) / 2), math.floor((vim.o.columns - w) / 2)
    self.win = api.nvim_open_win(self.buf, true, { relative = "editor", row = row, col = col, width = w,
      height = h - c.input_height - 2, border = "rounded", style = "minimal" })
    self.input_win = api.nvim_open_win(self.input_buf, true, { relative = "editor", row = row + h - c.input_height,
      col = col, width = w, height = c.input_height, border = "rounded", style = "minimal" })
  else
    if c.layout == "vsplit" then
      vim.cmd("botright vsplit")
      api.nvim_win_set_width(0, size(c.width, vim.o.columns))
    elseif c.layout == "split" then
      vim.cmd("botright split")
      api.nvim_win_set_height(0, size(c.height, vim.o.lines))
    end
    self.win = api.nvim_get_current_win()
    api.nvim_win_set_buf(self.win, self.buf)
    vim.cmd("belowright " .. c.input_height .. "split")
    self.input_win = api.nvim_get_current_win()
    api.nvim_win_set_buf(self.input_win, self.input_buf)
  end
  for _, win in ipairs({ self.win, self.input_win }) do
    vim.wo[win].number = false
    vim.wo[win].relativenumber = false
    vim.wo[win].signcolumn = "no"
    vim.wo[win].wrap = true
    vim.wo[win].linebreak = true
    if vim.fn.has("nvim-0.8") == 1 then vim.wo[win].winbar = win == self.win and bar_expr or "" end
  end
  -- 0.8+: the bar is the winbar and the statusline names the thread; 0.7: the bar (with the name).
  vim.wo[self.win].statusline = vim.fn.has("nvim-0.8") == 1 and require("codex.ui.chat_bar").STATUS_EXPR or bar_expr
  vim.wo[self.win].foldmethod = "manual"
  vim.wo[self.win].foldenable = true
  vim.wo[self.win].winfixheight = false
  vim.wo[self.input_win].winfixheight = true
  self.renderer:refold(self.win)
  local n = api.nvim_buf_line_count(self.buf)
  pcall(api.nvim_win_set_cursor, self.win, { n, 0 })
  events.emit("ChatOpened", { thread_id = self.thread_id })
  self:_attach_approvals()
end

--- Closes the chat's windows (the chat and its thread live on). A window of the chat that
--- now shows another buffer is left alone.
function Chat:hide()
  for _, w in ipairs({ { self.input_win, self.input_buf }, { self.win, self.buf } }) do
    local win = w[1]
    if shows(win, w[2]) then
      if #api.nvim_list_wins() > 1 then
        api.nvim_win_close(win, true)
      else
        api.nvim_win_call(win, function() vim.cmd("enew") end)
      end
    end
  end
  self.win, self.input_win = nil, nil
  self:_attach_approvals()
end

return Chat
