---@mod codex.ui.chat_history  A stored thread's turns in a chat: the newest now, earlier on demand.
---
--- Methods of codex.Chat (mixed in by codex.ui.chat). Resume and fork render the newest
--- chat.history_turns; older ones wait above a banner line and go in above the transcript in
--- slices (M.SLICE_TURNS / M.SLICE_MS per callback) when the user scrolls up or asks (gK).
local api = vim.api
local uv = vim.uv or vim.loop
local config = require("codex.config")
local events = require("codex.events")
local items = require("codex.ui.chat_items")
local util = require("codex.ui.util")
local list = require("codex.util").list
local notify, err_text = util.notify, util.err_text

---@class codex.Chat
local Chat = {}
local M = { methods = Chat }

--- Renders one stored turn (where the renderer writes: the end, or above with begin_top).
function Chat:_render_turn(turn)
  -- Its own "## Codex" header; an older turn going in above leaves the live turn's alone.
  local headed = self.headed
  self.headed = nil
  for _, item in ipairs(list(turn.items)) do
    if type(item) == "table" then
      self:item_started(item, turn.id)
      local id = self:item_completed(item, turn.id)
      -- an item the turn's interrupt or failure cut short: not "… running" for good
      local st = items.unfinished(item) and items.abandoned_status(item.type, turn.status)
      if st then self:_status(id, st) end
    end
  end
  -- Its end: a failed turn's error, "interrupted", what it changed in files (its applied
  -- file changes, also the chat's latest diff unless a newer turn is shown already).
  local diff = require("codex.ui.diff_view").stored_diff(turn.items, self.cwd)
  if diff and (not self.prepending or not self.last_diff) then self.last_diff = { turn_id = turn.id, diff = diff } end
  local ends = items.stored_end_lines(turn, diff and require("codex.ui.diff_view").summary(diff))
  if #ends > 0 then self.renderer:append_lines(ends) end
  if self.prepending then self.headed = headed end
end

-- Older turns go in above the transcript this many per callback (a slice of 10 generated
-- turns renders in 1-4 ms), a 0 ms timer between slices so input and redraws get their turn.
M.SLICE_TURNS = 10
M.SLICE_MS = 4

--- Renders a stored thread's turns (from thread/read or resume), oldest first: only the
--- newest chat.history_turns now; the others, and those behind opts.cursor (a thread/turns/list
--- cursor to turns older than these), wait above a line that loads them (load_earlier).
---@param turns table[]
---@param opts {cursor: string|nil}|nil
function Chat:render_history(turns, opts)
  local all = {}
  for _, turn in ipairs(list(turns)) do
    if type(turn) == "table" then all[#all + 1] = turn end
  end
  local keep = config.get().chat.history_turns
  local first = math.max(1, #all - keep + 1)
  self.older = {}
  for i = 1, first - 1 do self.older[i] = all[i] end
  self.older_cursor = opts and type(opts.cursor) == "string" and opts.cursor or nil
  self.oldest_turn = all[first] and all[first].id
  if self:has_earlier() then self.renderer:set_banner(self:_banner_text()) end
  for i = first, #all do self:_render_turn(all[i]) end
  self.renderer:flush()
end

--- Are there turns older than the transcript shows (in memory or on the server)?
function Chat:has_earlier()
  return self.older ~= nil and (#self.older > 0 or self.older_cursor ~= nil)
end

function Chat:_banner_text()
  if self.loading then return "_⋯ loading earlier turns…_" end
  local n = #self.older
  local what = self.older_cursor and (n > 0 and (n .. "+ earlier turns") or "earlier turns")
    or (n == 1 and "1 earlier turn" or (n .. " earlier turns"))
  local key = config.get().keymaps.load_earlier
  return ("_⋯ %s: %sscroll up to load_"):format(what, key and (key .. " or ") or "")
end

--- The chat window's view, to keep it steady while lines go in above it.
function Chat:_view()
  if not self:visible() then return nil end
  return api.nvim_win_call(self.win, function() return vim.fn.winsaveview() end)
end

--- k lines went in (or out, k < 0) at 0-based row `at`: the same text stays under the cursor
--- and at the top of the window.
function Chat:_shift_view(view, at, k)
  if not view or k == 0 or not self:visible() then return end
  local lnum = view.lnum > at and view.lnum + k or math.max(1, at + k) -- on the banner: next to it
  local top = math.max(1, view.topline + k)
  api.nvim_win_call(self.win, function()
    vim.fn.winrestview({ lnum = lnum, col = view.col, topline = top })
  end)
end

--- The window shows the top (the "earlier turns" line): load them.
function Chat:_at_top()
  -- (not while show() makes the window: it starts at the top, then goes to the end)
  if self.showing or not self:has_earlier() or self.loading or not self:visible() then return end
  if api.nvim_win_call(self.win, function() return vim.fn.line("w0") end) == 1 then self:load_earlier() end
end

--- Loads the next chat.history_turns older turns (from memory, else the next thread/turns/list
--- page; without paging on the server, from thread/read) and puts them in above the
--- transcript, a slice per callback. cb() when they are in.
---@param cb fun()|nil
function Chat:load_earlier(cb)
  if self.loading then
    self.load_waiters[#self.load_waiters + 1] = cb -- the load under way is the one asked for
    return
  end
  if not self:has_earlier() then
    if cb then cb() end
    return
  end
  self.loading, self.load_waiters = true, { cb }
  local n = config.get().chat.history_turns
  if #self.older > 0 or not self.thread then
    return self:_prepend(n)
  end
  self.renderer:set_banner(self:_banner_text())
  self.thread:turns({ cursor = self.older_cursor, limit = n, items_view = "full" }, function(err, page)
    if not err then
      for i = #page.turns, 1, -1 do self.older[#self.older + 1] = page.turns[i] end -- newest first: reverse
      self.older_cursor = page.next_cursor
      return self:_prepend(n)
    end
    -- No thread/turns/list (older server) or a stale cursor: the whole thread, once.
    self.thread:read({ include_turns = true }, function(rerr, read)
      local turns = not rerr and type(read) == "table" and type(read.thread) == "table" and list(read.thread.turns) or {}
      self.older, self.older_cursor = {}, nil
      for i, t in ipairs(turns) do
        if type(t) == "table" and t.id == self.oldest_turn then
          for j = 1, i - 1 do self.older[j] = turns[j] end
          break
        end
      end
      if rerr then notify("could not load earlier turns: " .. err_text(rerr), vim.log.levels.WARN) end
      self:_prepend(n)
    end)
  end)
end

--- Puts the newest n of self.older in above the transcript, M.SLICE_TURNS (or SLICE_MS of
--- work) per callback.
function Chat:_prepend(n)
  local batch = {}
  local from = math.max(1, #self.older - n + 1)
  for i = from, #self.older do batch[#batch + 1] = self.older[i] end
  for i = #self.older, from, -1 do self.older[i] = nil end
  if batch[1] then self.oldest_turn = batch[1].id end
  local r = self.renderer
  local at = r.banner and 1 or 0 -- the row the next slice goes in at (below the earlier ones)
  local i = 1
  local function slice()
    if not r:_live() then return end
    local view, before = self:_view(), api.nvim_buf_line_count(self.buf)
    r:begin_top(at)
    self.prepending = true
    -- At most SLICE_TURNS turns, and no more once SLICE_MS went by (a loaded machine renders
    -- slower: the callback stays short, the slices get smaller).
    local last, t0 = math.min(#batch, i + M.SLICE_TURNS - 1), uv.hrtime()
    for j = i, last do
      self:_render_turn(batch[j])
      if (uv.hrtime() - t0) / 1e6 >= M.SLICE_MS then
        last = j
        break
      end
    end
    r:flush()
    self.prepending = false
    r:end_top()
    local k = api.nvim_buf_line_count(self.buf) - before
    self:_shift_view(view, at, k)
    at, i = at + k, last + 1
    if i <= #batch then return vim.defer_fn(slice, 0) end
    self.loading = false
    view = self:_view()
    local gone = r:set_banner(self:has_earlier() and self:_banner_text() or nil)
    self:_shift_view(view, 0, gone)
    events.emit("ChatHistoryLoaded", { thread_id = self.thread_id, turns = #batch })
    for _, f in ipairs(self.load_waiters) do f() end
  end
  slice()
end

return M
