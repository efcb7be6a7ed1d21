---@mod codex.ui.approval_view  The approval float: open, close, focus, back, relayout.
---
--- One float per thread, showing the head of its queue (codex.ui.approval owns the queues).
--- It sits at the bottom of the thread's chat window (codex.ui.approval_layout: its height is
--- capped so the chat's newest lines stay visible, scrolled just above it), or at the bottom
--- of the editor when the chat has none. When the whole prompt does not fit, the choices come
--- right after a summary and the details scroll below them. It never takes focus by itself:
--- focus() (the explicit focus_approval key) is the only way in, and lands on the first choice.
---
--- The highlights and autocmds are made on first use (the first float), not when the module
--- is required. What the view needs from its owner comes through bind().
local api = vim.api
local content = require("codex.ui.approval_content")
local layout = require("codex.ui.approval_layout")
local util = require("codex.ui.util")

local M = {}

local win_ok = util.win_ok
local map = util.mapper("codex approval: ")

---@class codex.ApprovalView
---@field entry codex.ApprovalEntry
---@field win integer
---@field buf integer
---@field anchor integer|nil the chat window (nil: anchored to the editor)
---@field choice_at table<integer, integer> line → choice index
---@field files integer[] lines of the file headers
---@field hunks integer[] per hunk (flat index), the line of its ✓/✗ mark
---@field hunk_at table<integer, integer> line → the hunk's flat index
---@field hint_row integer
---@field hint_in string
---@field hint_away string
---@field choices_end integer
---@field compact boolean the choices above the details (the prompt does not fit)
---@field fit string the area the content was chosen for (width,max rows)
---@field room integer the chat rows left visible above the float
---@field sig string the last layout (width,height,row,col)
---@field prev_win integer|nil where focus_approval came from
---@field prev_insert table|nil {row, col} when the user came from insert mode
---@field entering boolean|nil set while focus moves in on purpose

local views = {} ---@type table<string, codex.ApprovalView>

---@class codex.ApprovalViewOwner
---@field choose fun(key: string, idx: integer) answer the shown prompt with a choice
---@field hunk fun(key: string, action: string, idx: integer|nil): boolean accept/reject hunks (then refresh)
---@field windows fun(key: string): integer|nil, integer|nil the thread's chat and input windows
---@field render fun(entry: codex.ApprovalEntry, compact: boolean): codex.ApprovalContent
---@field keymaps fun(): table

local owner ---@type codex.ApprovalViewOwner

--- Sets what the view asks its owner (codex.ui.approval) for.
---@param o codex.ApprovalViewOwner
function M.bind(o) owner = o end

-- First use: highlights (again after a colour scheme) and the window autocmds -----------

local ns, ready

local function define_highlights()
  for name, link in pairs(content.HL) do
    vim.cmd(("highlight default link %s %s"):format(name, link))
  end
end

local function relayout_all()
  for _, view in pairs(views) do M.relayout(view) end
end

local function setup()
  if ready then return end
  ready = true
  ns = api.nvim_create_namespace("codex_approval")
  define_highlights()
  api.nvim_create_autocmd("ColorScheme", {
    group = api.nvim_create_augroup("CodexApprovalHighlights", { clear = true }),
    callback = define_highlights,
  })
  -- follow the chat window's size, close with it
  local augroup = api.nvim_create_augroup("CodexApproval", { clear = true })
  api.nvim_create_autocmd({ "VimResized", "WinScrolled" }, { group = augroup, callback = relayout_all })
  if vim.fn.exists("##WinResized") == 1 then
    api.nvim_create_autocmd("WinResized", { group = augroup, callback = relayout_all })
  end
  api.nvim_create_autocmd("WinClosed", {
    group = augroup,
    callback = function(ev)
      local win = tonumber(ev.match)
      for key, view in pairs(views) do
        if view.win == win then
          views[key] = nil -- the user closed the prompt: it stays pending (show / focus)
        elseif view.anchor == win then
          vim.schedule(function()
            if views[key] == view then M.close(key, false) end
          end)
        end
      end
    end,
  })
end

-- Helpers ---------------------------------------------------------------------------------

local text_height = api.nvim_win_text_height -- 0.10+

local redraw_mode = vim.fn.has("nvim-0.12") == 1

--- Back into insert mode where the user was typing (after focus_approval from insert mode).
--- On 0.12 "-- INSERT --" was seen missing after an answer until the next key (review
--- ux-2026-12 #24): once insert mode has started, a scheduled full redraw draws the mode line.
local function restore_insert(win, pos)
  local line = api.nvim_buf_get_lines(api.nvim_win_get_buf(win), pos[1] - 1, pos[1], false)[1] or ""
  pcall(api.nvim_win_set_cursor, win, pos)
  vim.cmd(pos[2] >= #line and "startinsert!" or "startinsert")
  if not redraw_mode then return end
  vim.schedule(function()
    if api.nvim_get_current_win() == win and api.nvim_get_mode().mode:sub(1, 1) == "i" then
      pcall(vim.cmd, "redraw!")
    end
  end)
end

--- Where focus goes back to from a view: where the user came from, else the thread's chat
--- input, else its chat window.
local function return_target(key, view)
  local win, input_win = owner.windows(key)
  return util.first_win(view.prev_win, input_win, win)
end

local function signature(cfg) return table.concat({ cfg.width, cfg.height, cfg.row, cfg.col }, ",") end

local function first_choice(view)
  local first
  for lnum in pairs(view.choice_at) do
    if not first or lnum < first then first = lnum end
  end
  return first or 1
end

--- Writes the hint line: how to answer in the float, how to get there elsewhere.
local function set_hint(view)
  if not api.nvim_buf_is_valid(view.buf) or not view.hint_row then return end
  local inside = win_ok(view.win) and api.nvim_get_current_win() == view.win
  local hint = inside and view.hint_in or view.hint_away
  local row = view.hint_row - 1
  if api.nvim_buf_get_lines(view.buf, row, row + 1, false)[1] == hint then return end
  vim.bo[view.buf].modifiable = true
  api.nvim_buf_set_lines(view.buf, row, row + 1, false, { hint })
  vim.bo[view.buf].modifiable = false
  api.nvim_buf_clear_namespace(view.buf, ns, row, row + 1)
  pcall(api.nvim_buf_add_highlight, view.buf, ns, "CodexApprovalHint", row, 0, -1)
end

--- Puts content `c` in the view's buffer.
local function fill(view, c, compact)
  local buf = view.buf
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, c.lines)
  vim.bo[buf].modifiable = false
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  for _, h in ipairs(c.hls) do
    pcall(api.nvim_buf_add_highlight, buf, ns, h[2], h[1], h[3], h[4])
  end
  view.choice_at, view.files, view.compact = c.choice_at, c.files, compact
  view.hunks, view.hunk_at = c.hunks or {}, c.hunk_at or {}
  view.hint_row, view.hint_in, view.hint_away, view.choices_end = c.hint_row, c.hint_in, c.hint_away, c.choices_end
  set_hint(view)
end

--- The content for a float `width` wide with at most `max` rows: the full prompt, or the
--- compact one (choices first) when it does not fit. Returns it, and whether compact.
local function choose_content(entry, width, max)
  local c = owner.render(entry, false)
  if layout.rows(c.lines, width) <= max then return c, false end
  return owner.render(entry, true), true
end

--- Rows of the view's lines 1..last (all: nil) in its float, exactly where Neovim can say.
local function rows_of(view, width, last)
  if text_height and win_ok(view.win) and api.nvim_win_get_width(view.win) == width then
    local ok, r = pcall(text_height, view.win, { start_row = 0, end_row = (last or api.nvim_buf_line_count(view.buf)) - 1 })
    if ok and type(r) == "table" and r.all then return r.all end
  end
  return layout.rows(api.nvim_buf_get_lines(view.buf, 0, last or -1, false), width)
end

--- The chat's end just above the float (while the chat follows its end).
local function reveal(view)
  if view.anchor and win_ok(view.anchor) and view.room then
    pcall(layout.reveal_end, view.anchor, view.room)
  end
end

--- Sizes and places the float (and its content) for its anchor now; opens the window when
--- it has none. Returns the config.
local function place(view)
  local area = view.anchor and layout.text_area(view.anchor)
  if view.anchor and not area then
    -- the chat is in another tab page: float there, relative to it, until it is shown here
    local w, h = api.nvim_win_get_width(view.anchor), api.nvim_win_get_height(view.anchor)
    local cfg = { relative = "win", win = view.anchor, style = "minimal", border = "rounded", focusable = true, zindex = 60,
      width = math.max(1, w - 2), height = math.max(1, math.min(api.nvim_buf_line_count(view.buf), h - 2)), row = 0, col = 0 }
    cfg.row = math.max(0, h - cfg.height - 2)
    return cfg
  end
  local width = area and math.max(1, area.width - 2) or math.max(1, math.min(vim.o.columns - 4, 100))
  local max = layout.max_rows(area)
  local fit = width .. "," .. max
  if view.fit ~= fit then
    view.fit = fit
    local c, compact = choose_content(view.entry, width, max)
    fill(view, c, compact)
  end
  local rows, must = rows_of(view, width), rows_of(view, width, view.choices_end)
  local cfg, room = layout.float(area, rows, must)
  view.room = room
  return cfg
end

local function apply(view, cfg)
  if util.has_title then
    cfg.title = " Codex approval "
    cfg.title_pos = "center"
  end
  local sig = signature(cfg)
  if win_ok(view.win) then
    if sig ~= view.sig then pcall(api.nvim_win_set_config, view.win, cfg) end
  else
    view.win = api.nvim_open_win(view.buf, false, cfg)
  end
  view.sig = sig
end

--- Places the view, and again once the window exists (wrapped rows are exact from 0.10).
local function layout_view(view)
  apply(view, place(view))
  if text_height then apply(view, place(view)) end
  reveal(view)
end

--- Moves the cursor to line `lnum` of a view, scrolled so the line is shown with as much
--- before it as fits, and never past the end (no blank rows, the title stays when it can).
local function show_line(view, lnum)
  api.nvim_win_set_cursor(view.win, { lnum, 0 })
  local height, width = api.nvim_win_get_height(view.win), api.nvim_win_get_width(view.win)
  local top = 1
  if rows_of(view, width, lnum) > height then
    top = math.min(lnum, layout.end_topline(view.win, height))
  end
  api.nvim_win_call(view.win, function() vim.fn.winrestview({ topline = top, lnum = lnum, col = 0 }) end)
end

local function move_file(view, dir)
  if not win_ok(view.win) or #view.files == 0 then return end
  local cur = api.nvim_win_get_cursor(view.win)[1]
  local target
  if dir > 0 then
    for _, l in ipairs(view.files) do if l > cur then target = l break end end
    target = target or view.files[1]
  else
    for i = #view.files, 1, -1 do if view.files[i] < cur then target = view.files[i] break end end
    target = target or view.files[#view.files]
  end
  show_line(view, target)
end

--- The next (dir 1) or previous (-1) line of `lines` (sorted) from the cursor, wrapping.
local function next_of(lines, cur, dir)
  if dir > 0 then
    for _, l in ipairs(lines) do if l > cur then return l end end
    return lines[1]
  end
  for i = #lines, 1, -1 do if lines[i] < cur then return lines[i] end end
  return lines[#lines]
end

local function move_hunk(view, dir)
  if not win_ok(view.win) or #view.hunks == 0 then return end
  show_line(view, next_of(view.hunks, api.nvim_win_get_cursor(view.win)[1], dir))
end

--- A per-hunk key: the hunk under the cursor (or all), then, for accept/reject, the next hunk.
local function hunk_key(key, view, action)
  local v = views[key]
  if v ~= view or not win_ok(view.win) then return end
  if #view.hunks == 0 then
    util.notify("this prompt has no per-hunk choice: its answer covers the whole patch")
    return
  end
  local idx
  if action ~= "all" and action ~= "none" then
    idx = view.hunk_at[api.nvim_win_get_cursor(view.win)[1]]
    if not idx then
      util.notify("move the cursor to a hunk first (" .. (owner.keymaps().approval_next_hunk or "]h") .. ")")
      return
    end
  end
  if not owner.hunk(key, action, idx) then return end
  if idx and (action == "accept" or action == "reject") and view.hunks[idx + 1] then
    show_line(view, view.hunks[idx + 1])
  end
end

local function map_keys(key, view)
  local buf, k = view.buf, owner.keymaps()
  map(buf, "n", k.approval_choose, function()
    local v = views[key]
    if not v or v.buf ~= buf then return end
    local idx = v.choice_at[api.nvim_win_get_cursor(0)[1]]
    if idx then
      owner.choose(key, idx)
    else
      util.notify("move the cursor to a choice first (or use g1-g9)")
    end
  end, "answer with the choice under the cursor")
  -- (a patch's choices follow its hunk selection: every chord is mapped, an empty one does nothing)
  for i = 1, view.entry.kind == "patch" and 9 or math.min(#view.entry.choices, 9) do
    map(buf, "n", "g" .. i, function()
      local v = views[key]
      if v and v.buf == buf then owner.choose(key, i) end
    end, "answer with choice " .. i)
  end
  map(buf, "n", k.approval_next_file, function() move_file(view, 1) end, "next file")
  map(buf, "n", k.approval_prev_file, function() move_file(view, -1) end, "previous file")
  if view.entry.kind == "patch" then
    map(buf, "n", k.approval_next_hunk, function() move_hunk(view, 1) end, "next hunk")
    map(buf, "n", k.approval_prev_hunk, function() move_hunk(view, -1) end, "previous hunk")
    map(buf, "n", k.approval_toggle_hunk, function() hunk_key(key, view, "toggle") end, "accept/reject the hunk")
    map(buf, "n", k.approval_accept_hunk, function() hunk_key(key, view, "accept") end, "accept the hunk")
    map(buf, "n", k.approval_reject_hunk, function() hunk_key(key, view, "reject") end, "reject the hunk")
    map(buf, "n", k.approval_accept_all, function() hunk_key(key, view, "all") end, "accept every hunk")
    map(buf, "n", k.approval_reject_all, function() hunk_key(key, view, "none") end, "reject every hunk")
  end
  map(buf, "n", k.approval_back, function() M.back(key) end, "back without answering")
  map(buf, "n", k.focus_approval, function() M.back(key) end, "back without answering")
end

--- Follows the chat buffer: new lines (a steer, output) while the prompt is shown go above it.
local function watch_chat(key, view)
  if not view.anchor then return end
  local chat_buf = api.nvim_win_get_buf(view.anchor)
  api.nvim_buf_attach(chat_buf, false, {
    on_lines = function()
      if views[key] ~= view then return true end
      if view.reveal_queued then return end
      view.reveal_queued = true
      vim.schedule(function()
        view.reveal_queued = false
        if views[key] == view then reveal(view) end
      end)
    end,
  })
end

local function open(key, entry, anchor)
  setup()
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  local view = { entry = entry, buf = buf, anchor = anchor, choice_at = {}, files = {} }
  views[key] = view
  layout_view(view)
  local win = view.win
  vim.bo[buf].filetype = "codex_approval"
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].cursorline = true
  vim.wo[win].winhighlight = "FloatBorder:CodexApprovalBorder"
  api.nvim_win_set_cursor(win, { 1, 0 })
  if text_height then layout_view(view) end -- with the window's own options (wrap, linebreak)
  map_keys(key, view)
  watch_chat(key, view)
  api.nvim_create_autocmd("WinEnter", {
    buffer = buf,
    callback = function()
      if views[key] ~= view then return end
      set_hint(view)
      -- entered some other way than focus_approval (<C-w>w): start on the first choice too,
      -- and remember where the user came from
      if view.entering then return end
      local prev = vim.fn.win_getid(vim.fn.winnr("#"))
      if prev ~= 0 and prev ~= view.win then view.prev_win, view.prev_insert = prev, nil end
      pcall(show_line, view, first_choice(view))
    end,
  })
  api.nvim_create_autocmd("WinLeave", {
    buffer = buf,
    callback = function()
      if views[key] ~= view then return end
      vim.schedule(function()
        if views[key] == view then set_hint(view) end
      end)
    end,
  })
  return view
end

--- Moves focus into a view on purpose (focus moves in without the WinEnter bookkeeping).
local function enter(view)
  view.entering = true
  api.nvim_set_current_win(view.win)
  view.entering = false
end

-- API ---------------------------------------------------------------------------------------

--- The open view of a thread, if any.
---@param key string
---@return codex.ApprovalView|nil
function M.get(key) return views[key] end

--- A thread with a view in tab page `tab`, if any.
---@param tab integer
---@return string|nil
function M.key_in_tab(tab)
  for k, v in pairs(views) do
    if win_ok(v.win) and api.nvim_win_get_tabpage(v.win) == tab then return k end
  end
  return nil
end

--- Follows the anchor's size and place, and keeps the chat's end above the float.
---@param view codex.ApprovalView
function M.relayout(view)
  if not win_ok(view.win) then return end
  if view.anchor and not win_ok(view.anchor) then return end
  layout_view(view)
end

--- Closes a view's window; focus returns to where the user came from when it was inside
--- (into insert mode again too when `insert`). The chat's end goes back to the bottom.
---@param key string
---@param insert boolean
function M.close(key, insert)
  local view = views[key]
  if not view then return end
  views[key] = nil
  if win_ok(view.win) and api.nvim_get_current_win() == view.win then
    local target = return_target(key, view)
    if target then
      api.nvim_set_current_win(target)
      if insert and view.prev_insert and target == view.prev_win then restore_insert(target, view.prev_insert) end
    end
  end
  if win_ok(view.win) then pcall(api.nvim_win_close, view.win, true) end
  if view.anchor and win_ok(view.anchor) then pcall(layout.restore_end, view.anchor) end
end

--- Shows `entry` (a thread's queue head; nil: nothing waits) in the thread's view, anchored
--- to `anchor` (the chat window) or, with `force`, to the editor when there is none.
---@param key string
---@param entry codex.ApprovalEntry|nil
---@param anchor integer|nil
---@param force boolean|nil
---@return codex.ApprovalView|nil
function M.show(key, entry, anchor, force)
  if not entry then
    M.close(key, true)
    return nil
  end
  local view = views[key]
  if view and (view.entry ~= entry or not win_ok(view.win) or (view.anchor ~= anchor and (anchor or not win_ok(view.anchor)))) then
    -- a different prompt, or the chat window changed: rebuild (keeping where focus came from)
    local prev_win, prev_insert = view.prev_win, view.prev_insert
    local focused = win_ok(view.win) and api.nvim_get_current_win() == view.win
    local same, line = view.entry == entry, focused and api.nvim_win_get_cursor(view.win)[1]
    M.close(key, false)
    if not anchor and not force then return nil end
    view = open(key, entry, anchor)
    if focused then
      enter(view)
      view.prev_win, view.prev_insert = prev_win, prev_insert
      set_hint(view)
      pcall(show_line, view, same and line or first_choice(view))
    end
    return view
  end
  if view then
    M.relayout(view)
    return view
  end
  if not anchor and not force then return nil end
  return open(key, entry, anchor)
end

--- `entry` is over: when it is shown, closes it and calls redisplay() (the next prompt).
--- Focus goes back to where the user came from, in the mode they were in, never on to the
--- next prompt: a chord or an <Enter> pressed twice must not answer the next one too.
---@param key string
---@param entry codex.ApprovalEntry
---@param keep_focus boolean|nil back into insert mode when the user answered from the float
---@param redisplay fun()
function M.dismiss(key, entry, keep_focus, redisplay)
  local view = views[key]
  if not view or view.entry ~= entry then return end
  keep_focus = keep_focus and win_ok(view.win) and api.nvim_get_current_win() == view.win
  local prev_win, prev_insert = view.prev_win, view.prev_insert
  M.close(key, false)
  redisplay()
  if keep_focus and prev_insert and win_ok(prev_win) and api.nvim_get_current_win() == prev_win then
    restore_insert(prev_win, prev_insert)
  end
end

--- Renders a thread's prompt again (its hunk selection or choices changed), the cursor kept on
--- the same line of the same hunk, else on the same line.
---@param key string
function M.refresh(key)
  local view = views[key]
  if not view or not win_ok(view.win) then return end
  local cur = api.nvim_win_get_cursor(view.win)[1]
  local idx = view.hunk_at[cur]
  local off = idx and view.hunks[idx] and cur - view.hunks[idx]
  local top = api.nvim_win_call(view.win, function() return vim.fn.line("w0") end)
  view.fit = nil
  layout_view(view)
  local target = cur
  if idx and view.hunks[idx] then target = view.hunks[idx] + off end
  target = math.max(1, math.min(target, api.nvim_buf_line_count(view.buf)))
  -- the same scroll as before (the rows above the hunk do not jump), the cursor on its line
  api.nvim_win_set_cursor(view.win, { target, 0 })
  api.nvim_win_call(view.win, function() vim.fn.winrestview({ topline = math.min(top, target), lnum = target, col = 0 }) end)
end

--- Leaves the float for where the user came from, without answering.
---@param key string
function M.back(key)
  local view = views[key]
  if not view or not win_ok(view.win) or api.nvim_get_current_win() ~= view.win then return end
  local target = return_target(key, view)
  if not target then
    vim.cmd("wincmd p")
    return
  end
  api.nvim_set_current_win(target)
  if view.prev_insert and target == view.prev_win then restore_insert(target, view.prev_insert) end
  view.prev_win, view.prev_insert = nil, nil
end

--- Moves the cursor into a view, on its first choice (so <CR> answers it; only this explicit
--- focus_approval brings focus in: keys typed in the input never reach the float),
--- remembering where it came from (and whether in insert mode).
---@param view codex.ApprovalView
function M.focus(view)
  local cur = api.nvim_get_current_win()
  if cur ~= view.win then
    view.prev_win = cur
    if api.nvim_get_mode().mode:sub(1, 1) == "i" then
      view.prev_insert = api.nvim_win_get_cursor(cur)
      vim.cmd("stopinsert")
    else
      view.prev_insert = nil
    end
    enter(view)
  end
  set_hint(view)
  show_line(view, first_choice(view))
end

return M
