---@mod codex.ui.chat_window  Where a chat shows: its two windows per chat.layout.
---
--- Methods of codex.Chat (mixed in by codex.ui.chat): showing (in new windows, or in the
--- windows of the chat shown in this tab: chat.reuse_window), hiding, "is it visible", the
--- size kept when the editor is resized, and the "new output below" hint.
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


local function in_this_tab(win) return api.nvim_win_get_tabpage(win) == api.nvim_get_current_tabpage() end

--- The chat whose windows this one takes over (chat.reuse_window): of those shown in this
--- tab, the one in the current window, else the most recent; nil when none is shown.
---@return codex.Chat|nil
function Chat:_host()
  if not config.get().chat.reuse_window then return nil end
  local cur, best = api.nvim_get_current_win(), nil
  for _, c in ipairs(self._chats()) do
    if c ~= self and c:visible() and in_this_tab(c.win) then
      if c.win == cur or c.input_win == cur then return c end
      best = best or c
    end
  end
  return best
end

--- Shows the chat (and its input) in windows per config.chat.layout; focuses the input.
--- Already shown: only focuses the input.
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

local function float_configs(c, input_height)
  local w, h = size(c.width, vim.o.columns), size(c.height, vim.o.lines)
  local row, col = math.floor((vim.o.lines - h) / 2), math.floor((vim.o.columns - w) / 2)
  return { relative = "editor", row = row, col = col, width = w, height = math.max(1, h - input_height - 2) },
    { relative = "editor", row = row + h - input_height, col = col, width = w, height = input_height }
end

--- Opens the chat's windows, or takes over the windows of the chat shown here.
function Chat:_new_windows()
  local c = config.get().chat
  self.layout = c.layout
  if c.layout == "float" then
    local main, input = float_configs(c, c.input_height)
    main.border, main.style, input.border, input.style = "rounded", "minimal", "rounded", "minimal"
    self.win = api.nvim_open_win(self.buf, true, main)
    self.input_win = api.nvim_open_win(self.input_buf, true, input)
    return
  end
  if c.layout == "vsplit" then
    vim.cmd("botright vsplit")
    api.nvim_win_set_width(0, size(c.width, vim.o.columns))
  elseif c.layout == "split" then
    vim.cmd("botright split")
    api.nvim_win_set_height(0, size(c.height, vim.o.lines))
  end
  self.win = api.nvim_get_current_win()
  api.nvim_win_set_buf(self.win, self.buf)
  self:_input_below()
end

function Chat:_input_below()
  api.nvim_set_current_win(self.win)
  vim.cmd("belowright " .. config.get().chat.input_height .. "split")
  self.input_win = api.nvim_get_current_win()
  api.nvim_win_set_buf(self.input_win, self.input_buf)
end

--- Shows the chat in host's windows; host is hidden (its buffers, thread and turn live on).
---@param host codex.Chat
function Chat:_take_over(host)
  local win, input_win = host.win, shows(host.input_win, host.input_buf) and host.input_win or nil
  host.win, host.input_win = nil, nil
  host:_hint_off()
  host:_attach_approvals() -- its prompt float closes (it stays pending)
  self.layout = host.layout
  self.win = win
  api.nvim_win_set_buf(win, self.buf)
  if input_win then
    self.input_win = input_win
    api.nvim_win_set_buf(input_win, self.input_buf)
    api.nvim_set_current_win(input_win)
  else
    self:_input_below()
  end
end

function Chat:_show()
  local host = self:_host()
  if host then self:_take_over(host) else self:_new_windows() end
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
  if vim.fn.has("nvim-0.8") == 0 then vim.wo[self.input_win].statusline = "" end
  require("codex.ui.chat_look").window(self.win)
  vim.wo[self.win].foldmethod = "manual"
  vim.wo[self.win].foldenable = true
  vim.wo[self.win].winfixheight = false
  vim.wo[self.input_win].winfixheight = true
  self.renderer:refold(self.win)
  local n = api.nvim_buf_line_count(self.buf)
  pcall(api.nvim_win_set_cursor, self.win, { n, 0 })
  self:_watch_windows()
  events.emit("ChatOpened", { thread_id = self.thread_id })
  self:_attach_approvals()
end

--- Closes the chat's windows (the chat and its thread live on). A window of the chat that
--- now shows another buffer is left alone.
function Chat:hide()
  self:_hint_off()
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

--- Moves to the end of the input in insert mode (the chat is shown first if needed).
function Chat:focus_input()
  if not shows(self.input_win, self.input_buf) then
    if self:visible() then self:_input_below() else self:show() end
  end
  api.nvim_set_current_win(self.input_win)
  local n = api.nvim_buf_line_count(self.input_buf)
  local last = api.nvim_buf_get_lines(self.input_buf, n - 1, n, false)[1] or ""
  api.nvim_win_set_cursor(self.input_win, { n, #last })
  vim.cmd("startinsert!")
end

-- ---- resize ------------------------------------------------------------------------------

--- Puts the chat's windows back to their configured size (chat.width/height of the editor
--- now): on VimResized, so that a shrinking terminal does not take it all from the chats.
function Chat:_resize()
  if not self:visible() or not in_this_tab(self.win) then return end
  local c = config.get().chat
  if self.layout == "vsplit" then
    pcall(api.nvim_win_set_width, self.win, size(c.width, vim.o.columns))
  elseif self.layout == "split" then
    pcall(api.nvim_win_set_height, self.win, size(c.height, vim.o.lines))
  elseif self.layout == "float" and shows(self.input_win, self.input_buf) then
    local main, input = float_configs(c, api.nvim_win_get_height(self.input_win))
    pcall(api.nvim_win_set_config, self.win, main)
    pcall(api.nvim_win_set_config, self.input_win, input)
  end
end

local watching -- the chat list the autocmds below walk (a reloaded codex.ui.chat has a new one)
function Chat:_watch_windows()
  if watching == self._chats then return end
  watching = self._chats
  local group = api.nvim_create_augroup("CodexChatWindow", { clear = true })
  local chats = self._chats
  api.nvim_create_autocmd("VimResized", {
    group = group,
    callback = function()
      for _, c in ipairs(chats()) do c:_resize() end
    end,
  })
  -- QuitPre runs before :qa (or :q of the last window) looks for unsaved buffers.
  api.nvim_create_autocmd("QuitPre", {
    group = group,
    callback = function()
      for _, c in ipairs(chats()) do c:_guard_input() end
    end,
  })
end

-- ---- unsent input and :qa -----------------------------------------------------------------

--- Before a quit: an input holding unsent text counts as unsaved (buftype acwrite, modified),
--- so :qa stops with E37/E162 naming codex://input/…, and :qa! quits without it. An empty
--- input is a plain scratch buffer again (it never blocks a quit).
function Chat:_guard_input()
  local buf = self.input_buf
  if not (buf and api.nvim_buf_is_loaded(buf)) then return end
  local text = vim.trim(table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n"))
  if text == "" then
    vim.bo[buf].modified = false
    vim.bo[buf].buftype = "nofile"
    return
  end
  if self.input_guarded ~= buf then -- (once per input buffer: a wiped one is made again)
    self.input_guarded = buf
    -- :w (or :wqa) in the input writes nothing anywhere: it says what to do instead.
    api.nvim_create_autocmd("BufWriteCmd", { buffer = buf, callback = function()
      require("codex.ui.util").notify("the input is not a file: send it (" .. tostring(config.get().keymaps.send_insert)
        .. "), clear it, or :qa! to quit without it", vim.log.levels.WARN)
    end })
  end
  vim.bo[buf].buftype = "acwrite"
  vim.bo[buf].modified = true
end

-- ---- the "new output below" hint -----------------------------------------------------------

local HINT = " ↓ new output · G to follow "

--- New output was written while the chat window's cursor is above the end (the view does
--- not follow): a one-line float at the bottom right of the window says so, until the
--- cursor reaches the end again (CursorMoved, or the next write that follows).
---@param wins integer[] the windows that do not follow (the renderer's on_behind), maybe none
function Chat:_behind(wins)
  if self.prepending then return end -- earlier turns going in above are not new output
  local win = wins[1]
  if win == nil or win ~= self.win or not self:visible() then return self:_hint_off() end
  local width = vim.fn.strdisplaywidth(HINT)
  local w, h = api.nvim_win_get_width(win), api.nvim_win_get_height(win)
  if w < width or h < 2 then return end
  local cfg = { relative = "win", win = win, row = h - 1, col = w - width, width = width, height = 1,
    style = "minimal", focusable = false, zindex = 40 }
  if self.hint_win and api.nvim_win_is_valid(self.hint_win) then
    api.nvim_win_set_config(self.hint_win, cfg)
    return
  end
  if not (self.hint_buf and api.nvim_buf_is_valid(self.hint_buf)) then
    self.hint_buf = api.nvim_create_buf(false, true)
    api.nvim_buf_set_lines(self.hint_buf, 0, -1, false, { HINT })
  end
  cfg.noautocmd = true
  self.hint_win = api.nvim_open_win(self.hint_buf, false, cfg)
  vim.wo[self.hint_win].winhighlight = "Normal:PmenuSel"
end

--- Closes the hint (if shown).
function Chat:_hint_off()
  local win = self.hint_win
  self.hint_win = nil
  if win and api.nvim_win_is_valid(win) then pcall(api.nvim_win_close, win, true) end
end

--- The chat window's cursor moved: the hint goes once it is on the last line.
function Chat:_hint_check()
  if not self.hint_win then return end
  if not self:visible() or api.nvim_win_get_cursor(self.win)[1] >= api.nvim_buf_line_count(self.buf) then
    self:_hint_off()
  end
end

--- Is the hint shown?
---@return boolean
function Chat:hint_shown()
  return self.hint_win ~= nil and api.nvim_win_is_valid(self.hint_win)
end

return Chat
