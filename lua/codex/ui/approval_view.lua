---@mod codex.ui.approval_view  The approval float: open, close, focus, back, relayout.
---
--- One float per thread, showing the head of its queue (codex.ui.approval owns the queues).
--- It is anchored to the bottom of the thread's chat window, or to the bottom of the editor
--- when the chat has none. It never takes focus by itself: focus() is the only way in that
--- lands on the header line, so keys typed ahead answer nothing.
---
--- The highlights and autocmds are made on first use (the first float), not when the module
--- is required. What the view needs from its owner comes through bind().
local api = vim.api
local content = require("codex.ui.approval_content")
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
---@field nlines integer
---@field sig string the last layout (width,height,row,col)
---@field prev_win integer|nil where focus_approval came from
---@field prev_insert table|nil {row, col} when the user came from insert mode
---@field entering boolean|nil set while focus moves in on purpose

local views = {} ---@type table<string, codex.ApprovalView>

---@class codex.ApprovalViewOwner
---@field choose fun(key: string, idx: integer) answer the shown prompt with a choice
---@field windows fun(key: string): integer|nil, integer|nil the thread's chat and input windows
---@field render fun(entry: codex.ApprovalEntry): codex.ApprovalContent
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

--- Back into insert mode where the user was typing (after focus_approval from insert mode).
local function restore_insert(win, pos)
  local line = api.nvim_buf_get_lines(api.nvim_win_get_buf(win), pos[1] - 1, pos[1], false)[1] or ""
  pcall(api.nvim_win_set_cursor, win, pos)
  vim.cmd(pos[2] >= #line and "startinsert!" or "startinsert")
end

--- Where focus goes back to from a view: where the user came from, else the thread's chat
--- input, else its chat window.
local function return_target(key, view)
  local win, input_win = owner.windows(key)
  return util.first_win(view.prev_win, input_win, win)
end

local function float_config(anchor, nlines)
  local cfg = { style = "minimal", border = "rounded", focusable = true, zindex = 60 }
  if util.has_title then
    cfg.title = " Codex approval "
    cfg.title_pos = "center"
  end
  if anchor then
    local w, h = api.nvim_win_get_width(anchor), api.nvim_win_get_height(anchor)
    cfg.relative, cfg.win = "win", anchor
    cfg.width = math.max(1, w - 2)
    cfg.height = math.max(1, math.min(nlines, h - 2))
    cfg.row = math.max(0, h - cfg.height - 2)
    cfg.col = 0
  else
    local cols, lines = vim.o.columns, vim.o.lines - vim.o.cmdheight - 1
    cfg.relative = "editor"
    cfg.width = math.max(1, math.min(cols - 4, 100))
    cfg.height = math.max(1, math.min(nlines, lines - 4))
    cfg.row = math.max(0, lines - cfg.height - 3)
    cfg.col = math.max(0, math.floor((cols - cfg.width - 2) / 2))
  end
  return cfg
end

local function signature(cfg) return table.concat({ cfg.width, cfg.height, cfg.row, cfg.col }, ",") end

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
  api.nvim_win_set_cursor(view.win, { target, 0 })
  pcall(vim.cmd, "normal! zt")
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
  for i = 1, math.min(#view.entry.choices, 9) do
    map(buf, "n", "g" .. i, function()
      local v = views[key]
      if v and v.buf == buf then owner.choose(key, i) end
    end, "answer with choice " .. i)
  end
  map(buf, "n", k.approval_next_file, function() move_file(view, 1) end, "next file")
  map(buf, "n", k.approval_prev_file, function() move_file(view, -1) end, "previous file")
  map(buf, "n", k.approval_back, function() M.back(key) end, "back without answering")
  map(buf, "n", k.focus_approval, function() M.back(key) end, "back without answering")
end

local function open(key, entry, anchor)
  setup()
  local c = owner.render(entry)
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  api.nvim_buf_set_lines(buf, 0, -1, false, c.lines)
  for _, h in ipairs(c.hls) do
    pcall(api.nvim_buf_add_highlight, buf, ns, h[2], h[1], h[3], h[4])
  end
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "codex_approval"
  local cfg = float_config(anchor, #c.lines)
  local win = api.nvim_open_win(buf, false, cfg)
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].cursorline = true
  vim.wo[win].winhighlight = "FloatBorder:CodexApprovalBorder"
  api.nvim_win_set_cursor(win, { 1, 0 })
  local view = {
    entry = entry, win = win, buf = buf, anchor = anchor, choice_at = c.choice_at, files = c.files,
    nlines = #c.lines, sig = signature(cfg),
  }
  views[key] = view
  map_keys(key, view)
  api.nvim_create_autocmd("WinEnter", {
    buffer = buf,
    callback = function()
      -- entered some other way than focus_approval (<C-w>w, the mouse): start on the header
      -- too, and remember where the user came from
      if view.entering or views[key] ~= view then return end
      local prev = vim.fn.win_getid(vim.fn.winnr("#"))
      if prev ~= 0 and prev ~= view.win then view.prev_win, view.prev_insert = prev, nil end
      pcall(api.nvim_win_set_cursor, view.win, { 1, 0 })
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

--- Follows the anchor's size (no-op when nothing changed).
---@param view codex.ApprovalView
function M.relayout(view)
  if not win_ok(view.win) then return end
  if view.anchor and not win_ok(view.anchor) then return end
  local cfg = float_config(view.anchor, view.nlines)
  local sig = signature(cfg)
  if sig == view.sig then return end
  view.sig = sig
  pcall(api.nvim_win_set_config, view.win, cfg)
end

--- Closes a view's window; focus returns to where the user came from when it was inside
--- (into insert mode again too when `insert`).
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
    M.close(key, false)
    if not anchor and not force then return nil end
    view = open(key, entry, anchor)
    if focused then
      enter(view)
      view.prev_win, view.prev_insert = prev_win, prev_insert
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
--- Focus goes back to where the user came from, never on to the next prompt: a chord or an
--- <Enter> pressed twice must not answer the next one too.
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

--- Moves the cursor into a view, on its header (never a choice: an <Enter> typed ahead
--- answers nothing), remembering where it came from (and whether in insert mode).
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
  api.nvim_win_set_cursor(view.win, { 1, 0 })
end

return M
