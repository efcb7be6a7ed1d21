---@mod codex.ui.approval_layout  Where the approval float goes, and the chat's end kept above it.
---
--- The float sits at the bottom of the chat window's text area (inside a chat float's border,
--- above its zindex). Its height is capped so that some of the chat stays visible above it
--- (M.context_rows), and the chat window is scrolled so that its last line is just above the
--- float while the chat follows its end (cursor on the last line): the user's message, a steer
--- just sent, the newest output are never under the prompt.
---
--- Positions are computed in editor cells from the chat window's text area: a float anchored
--- with relative = "win" lands on the anchor's border or winbar row on 0.7 and 0.10 (measured
--- with screenpos()), and on 0.12 inside it.
local api = vim.api

local M = {}

--- Rows of the chat kept visible above the float (at least).
---@param height integer the chat's text rows
---@return integer
function M.context_rows(height) return math.max(3, math.floor(height / 3)) end

local function has_border(border)
  if type(border) ~= "table" then return border ~= nil and border ~= "none" and border ~= "" end
  local top = border[2] or border[1]
  if type(top) == "table" then top = top[1] end
  return top ~= nil and top ~= ""
end

--- The text area of a window on the screen (0-based editor cells), or nil when the window
--- is not in the current tab page.
---@param win integer
---@return {row: integer, col: integer, width: integer, height: integer, zindex: integer}|nil
function M.text_area(win)
  if api.nvim_win_get_tabpage(win) ~= api.nvim_get_current_tabpage() then return nil end
  local pos = vim.fn.win_screenpos(win)
  if pos[1] == 0 then return nil end
  local info = vim.fn.getwininfo(win)[1] or {}
  local cfg = api.nvim_win_get_config(win)
  local float = cfg.relative ~= nil and cfg.relative ~= ""
  local edge = float and has_border(cfg.border) and 1 or 0
  return {
    row = pos[1] - 1 + edge + (tonumber(info.winbar) or 0),
    col = pos[2] - 1 + edge,
    width = info.width or api.nvim_win_get_width(win),
    height = info.height or api.nvim_win_get_height(win),
    zindex = float and (tonumber(cfg.zindex) or 50) or 0,
  }
end

--- Screen rows of `lines` in a wrapping window `width` cells wide (an estimate: 'linebreak'
--- may wrap a little earlier; the view corrects it with nvim_win_text_height where it exists).
---@param lines string[]
---@param width integer
---@return integer
function M.rows(lines, width)
  local n = 0
  width = math.max(1, width)
  for _, l in ipairs(lines) do
    n = n + math.max(1, math.ceil(vim.fn.strdisplaywidth(l) / width))
  end
  return n
end

--- The float's config for content of `rows` rows whose choices end at row `must`, at the
--- bottom of `area` (a chat window's text area); nil area: the bottom of the editor.
--- Returns the config and the chat rows left visible above the float.
---@param area table|nil M.text_area()
---@param rows integer
---@param must integer
---@return table cfg, integer room
function M.float(area, rows, must)
  local cfg = { style = "minimal", border = "rounded", focusable = true, relative = "editor" }
  if area then
    local max = area.height - 2 - M.context_rows(area.height)
    local h = math.min(rows, max)
    -- the choices are never cut: take the room from the chat (one row of it stays when
    -- it can; a chat too small for both shows the choices)
    if h < must then h = must <= area.height - 3 and must or area.height - 2 end
    cfg.height = math.max(1, math.min(h, area.height - 2))
    cfg.width = math.max(1, area.width - 2)
    cfg.row = area.row + math.max(0, area.height - cfg.height - 2)
    cfg.col = area.col
    cfg.zindex = math.max(60, area.zindex + 10)
    return cfg, math.max(0, area.height - cfg.height - 2)
  end
  local cols, lines = vim.o.columns, vim.o.lines - vim.o.cmdheight - 1
  cfg.width = math.max(1, math.min(cols - 4, 100))
  cfg.height = math.max(1, math.min(math.max(rows, 1), math.max(must, lines - 4), lines - 2))
  cfg.row = math.max(0, lines - cfg.height - 3)
  cfg.col = math.max(0, math.floor((cols - cfg.width - 2) / 2))
  cfg.zindex = 60
  return cfg, 0
end

--- The largest content height (rows) a float in `area` may take before the chat's context
--- would shrink below M.context_rows.
---@param area table|nil
---@return integer
function M.max_rows(area)
  if not area then return math.max(1, vim.o.lines - vim.o.cmdheight - 5) end
  return math.max(1, area.height - 2 - M.context_rows(area.height))
end

local text_height = api.nvim_win_text_height -- 0.10+

--- Screen rows of buffer line `lnum` in `win` (in win's context).
local function line_rows(win, lnum, width)
  if text_height then
    local ok, r = pcall(text_height, win, { start_row = lnum - 1, end_row = lnum - 1 })
    if ok and type(r) == "table" and r.all then return r.all end
  end
  local line = api.nvim_buf_get_lines(api.nvim_win_get_buf(win), lnum - 1, lnum, false)[1] or ""
  return math.max(1, math.ceil(vim.fn.strdisplaywidth(line) / math.max(1, width)))
end

--- The topline of `win` that puts its last line at the bottom of its first `room` rows.
---@param win integer
---@param room integer
---@return integer
function M.end_topline(win, room)
  local info = vim.fn.getwininfo(win)[1] or {}
  local width = (info.width or api.nvim_win_get_width(win)) - (info.textoff or 0)
  return api.nvim_win_call(win, function()
    local n = api.nvim_buf_line_count(0)
    local top, used = n, 0
    local l = n
    while l >= 1 do
      local fold = vim.fn.foldclosed(l)
      local first = fold ~= -1 and fold or l
      local r = fold ~= -1 and 1 or line_rows(win, l, width)
      if used + r > room and used > 0 then break end
      used, top = used + r, first
      l = first - 1
    end
    return top
  end)
end

--- While `win` follows its end (the cursor on the last line), scrolls it so that its last
--- line is on row `room` (the last row above the float) or higher. Returns true if it scrolled.
---@param win integer
---@param room integer
---@return boolean
function M.reveal_end(win, room)
  local buf = api.nvim_win_get_buf(win)
  if api.nvim_win_get_cursor(win)[1] ~= api.nvim_buf_line_count(buf) or room < 1 then return false end
  local top = M.end_topline(win, room)
  return api.nvim_win_call(win, function()
    local view = vim.fn.winsaveview()
    if view.topline == top then return false end
    vim.fn.winrestview({ topline = top })
    return true
  end)
end

--- After the float: the chat's last line back at the bottom of its window (while it follows).
---@param win integer
function M.restore_end(win)
  local buf = api.nvim_win_get_buf(win)
  if api.nvim_win_get_cursor(win)[1] ~= api.nvim_buf_line_count(buf) then return end
  api.nvim_win_call(win, function() pcall(vim.cmd, "normal! zb") end)
end

return M
