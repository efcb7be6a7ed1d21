---@mod codex.ui.util  Small helpers the UI modules share (one copy each, one behaviour).
---
--- Notification policy: every notification of the plugin's UI is the message prefixed with
--- "Codex: ", and no title. A prefix reads the same with the built-in vim.notify (which ignores
--- titles), nvim-notify, fidget or :messages; a title as well would say "Codex" twice.
local api = vim.api

local M = {}

M.PREFIX = "Codex: "

--- Does nvim_open_win take a title (0.9+)? Before that, callers put the title in the text.
M.has_title = vim.fn.has("nvim-0.9") == 1

--- Notifies the user, per the policy above (msg without the prefix).
---@param msg string
---@param level integer|nil a vim.log.levels value (default INFO)
function M.notify(msg, level)
  vim.notify(M.PREFIX .. msg, level or vim.log.levels.INFO)
end

--- The readable text of an error: an error object's message (never its stderr tail), else
--- the value as text.
---@param err any
---@return string
function M.err_text(err)
  if type(err) == "table" and err.message ~= nil then return tostring(err.message) end
  return tostring(err)
end

--- Opens a URL with the system opener (vim.ui.open from 0.10, else open / explorer.exe /
--- xdg-open). Returns nil, or what went wrong (for the user: no opener, could not run it).
---@param url string
---@return string|nil problem
function M.open_url(url)
  if type(vim.ui) == "table" and type(vim.ui.open) == "function" then
    local ok, res, msg = pcall(vim.ui.open, url)
    if not ok then return tostring(res) end
    if res == nil and msg then return tostring(msg) end
    return nil
  end
  local opener
  if vim.fn.has("mac") == 1 then
    opener = "open"
  elseif vim.fn.has("win32") == 1 then
    opener = "explorer.exe"
  else
    opener = "xdg-open"
  end
  if vim.fn.executable(opener) ~= 1 then return opener .. " not found" end
  local ok, job = pcall(vim.fn.jobstart, { opener, url }, { detach = true })
  if not ok or job <= 0 then return "could not run " .. opener end
  return nil
end

-- Bars are redrawn once the current work is done, never inside it: a synchronous redraw
-- in a chat's send() would put a redraw of the whole screen between <CR> and turn/start on
-- stdin. Any number of calls before then make one redraw.
local redraw_queued = false

--- Redraws every status line and winbar (the chats' bars) once the current work is done.
function M.redraw_bars()
  if redraw_queued then return end
  redraw_queued = true
  vim.schedule(function()
    redraw_queued = false
    pcall(vim.cmd, "redrawstatus!")
  end)
end

--- One line of at most width display cells: cut at a word with "…" when longer.
---@param s string
---@param width integer
---@return string
function M.fit(s, width)
  s = s:gsub("%s*\r?\n%s*", " ")
  if api.nvim_strwidth(s) <= width then return s end
  local out = vim.fn.strcharpart(s, 0, math.max(1, width - 1))
  out = out:match("^(.*%S)%s+%S*$") or out -- (not in the middle of a word)
  return out .. "…"
end

--- A path as an absolute one: relative paths are under cwd (default: the editor's).
---@param path string
---@param cwd string|nil
---@return string
function M.absolute(path, cwd)
  if path:sub(1, 1) == "/" or path:match("^%a:[/\\]") then return path end
  return (cwd or vim.fn.getcwd()) .. "/" .. path
end

--- A buffer-local mapper whose descriptions start with `prefix` ("codex: send"). A nil key
--- (a keymap the user turned off with false) maps nothing.
---@param prefix string
---@return fun(buf: integer, modes: string|string[], key: string|false|nil, fn: function, desc: string)
function M.mapper(prefix)
  return function(buf, modes, key, fn, desc)
    if key then vim.keymap.set(modes, key, fn, { buffer = buf, silent = true, nowait = true, desc = prefix .. desc }) end
  end
end

--- Is win a window (not nil, not closed)?
---@param win integer|nil
---@return boolean
function M.win_ok(win) return win ~= nil and api.nvim_win_is_valid(win) end

--- The first valid window of the arguments (nil when none is): where focus goes back to,
--- e.g. first_win(where the user came from, the chat's input, the chat).
---@param ... integer|nil
---@return integer|nil
function M.first_win(...)
  for i = 1, select("#", ...) do
    local w = select(i, ...)
    if M.win_ok(w) then return w end
  end
  return nil
end

return M
