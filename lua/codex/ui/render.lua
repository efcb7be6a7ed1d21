---@mod codex.ui.render  Streams a turn's items into a chat buffer, cheaply.
---
--- Each item is a block in the buffer with an extmark at the end of its body; text for an
--- item is inserted at that mark (nvim_buf_set_text: O(delta), never a re-render), so items
--- may stream at the same time without mixing. Appends are written at most once per frame
--- (config chat.frame_ms): the first at once, what follows within the frame at its end.
--- The view follows the end only while the cursor is on the last line. Long outputs and
--- reasoning are folded (manual folds, never foldexpr).
local M = {}

local api = vim.api
local hl = require("codex.ui.highlight")
local ns = api.nvim_create_namespace("codex_chat")
M.ns = ns

--- The header lines the chat writes for who speaks, by role (codex.ui.highlight draws them).
M.ROLES = { ["## You"] = "user", ["## You (steering)"] = "user", ["## You (queued)"] = "user", ["## Codex"] = "agent" }

---@class codex.Renderer
---@field buf integer
---@field blocks table<string, {mark: integer, header: integer, start_row: integer, lines: integer, fold: boolean}>
local R = {}
R.__index = R

--- opts.ensure (optional) is called before writing when the buffer is not loaded (the user
--- wiped it): it gives the renderer a new buffer with attach().
---@param buf integer
--- opts.on_written (optional) is called after each write with the windows that follow the end.
--- opts.on_behind (optional) is called, each time text is written at the end, with the
--- windows that show the buffer but do not follow it (the cursor is above the end; maybe none).
---@param opts {frame_ms: integer, fold_output_lines: integer, windows: fun(): integer[], ensure: fun()|nil, on_written: fun(wins: integer[])|nil, on_behind: fun(wins: integer[])|nil}
---@return codex.Renderer
function M.new(buf, opts)
  hl.init()
  return setmetatable({ buf = buf, opts = opts, blocks = {}, pending = {}, order = {}, scheduled = false, seq = 0 }, R)
end

-- The buffer is written only by the renderer; it is a scratch buffer and never "modified",
-- so nothing (:qa, :bufdo) treats the transcript as unsaved work.
local function set_modifiable(buf, on)
  vim.bo[buf].modifiable = on
  if not on then vim.bo[buf].modified = false end
end

--- Is the buffer there to write to? Asks opts.ensure for a new one when it was wiped.
function R:_live()
  if api.nvim_buf_is_loaded(self.buf) then return true end
  if self.opts.ensure then self.opts.ensure() end
  return api.nvim_buf_is_loaded(self.buf)
end

--- Saves the buffer's text and the blocks' marks, while the buffer is being unloaded, so
--- that attach() can put them into a new buffer. Text still queued stays queued.
function R:snapshot()
  local buf = self.buf
  if not api.nvim_buf_is_loaded(buf) then return end
  local saved = { lines = api.nvim_buf_get_lines(buf, 0, -1, false), marks = {}, hl = hl.save(buf) }
  for _, b in pairs(self.blocks) do
    for _, key in ipairs({ "mark", "header" }) do
      if b[key] then
        local pos = api.nvim_buf_get_extmark_by_id(buf, ns, b[key], {})
        if pos[1] then saved.marks[b[key]] = { pos[1], pos[2] } end
      end
    end
  end
  self.saved = saved
end

--- Writes into a new buffer from now on; with a snapshot, the new buffer gets the old one's
--- text, marks and statuses first (otherwise the blocks are forgotten).
---@param buf integer
function R:attach(buf)
  self.buf = buf
  local saved = self.saved
  self.saved = nil
  if not saved then
    self.blocks = {}
    self.order, self.pending = {}, {}
    return
  end
  set_modifiable(buf, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, saved.lines)
  set_modifiable(buf, false)
  hl.restore(buf, saved.hl)
  for id, b in pairs(self.blocks) do
    local m, h = b.mark and saved.marks[b.mark], b.header and saved.marks[b.header]
    if b.mark and not (m and h) then
      self.blocks[id] = nil -- its marks were gone already: drop the block
    elseif m then
      api.nvim_buf_set_extmark(buf, ns, m[1], m[2], { id = b.mark, right_gravity = true })
      api.nvim_buf_set_extmark(buf, ns, h[1], h[2], { id = b.header, right_gravity = false })
      if b.status_chunks then
        b.status = nil
        self:set_status(id, b.status_chunks)
      end
    end
  end
end

--- Position just past the last character of the buffer.
local function buf_end(buf)
  local n = api.nvim_buf_line_count(buf)
  local last = api.nvim_buf_get_lines(buf, n - 1, n, false)[1] or ""
  return n - 1, #last
end

--- Windows showing the buffer whose cursor is on the last line (they follow the output),
--- and those whose cursor is above it (behind).
function R:_followers()
  local out, behind = {}, {}
  local n = api.nvim_buf_line_count(self.buf)
  for _, win in ipairs(self.opts.windows()) do
    if api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == self.buf then
      if api.nvim_win_get_cursor(win)[1] >= n then out[#out + 1] = win else behind[#behind + 1] = win end
    end
  end
  return out, behind
end

function R:_follow(wins, behind)
  local n = api.nvim_buf_line_count(self.buf)
  for _, win in ipairs(wins) do
    if api.nvim_win_is_valid(win) then pcall(api.nvim_win_set_cursor, win, { n, 0 }) end
  end
  -- (after every write: what the chat keeps below the end follows it)
  if self.opts.on_written then self.opts.on_written(wins) end
  if behind and self.opts.on_behind then self.opts.on_behind(behind) end
end

--- Writes lines at the end of the buffer now (headers, finished blocks). Returns the first
--- row written.
---@param lines string[]
---@return integer row
function R:append_lines(lines)
  self:flush()
  if not self:_live() then return 0 end
  local top = self.top and api.nvim_buf_get_extmark_by_id(self.buf, ns, self.top, {})[1]
  -- Writing above the end moves nobody to the end; the caller keeps the view (see begin_top).
  local follow, behind = {}, nil
  if not top then follow, behind = self:_followers() end
  local buf = self.buf
  set_modifiable(buf, true)
  local n = api.nvim_buf_line_count(buf)
  local first = api.nvim_buf_get_lines(buf, 0, 1, false)[1]
  local row
  if top then
    api.nvim_buf_set_lines(buf, top, top, false, lines) -- the mark (right gravity) moves below them
    row = top
  elseif n == 1 and first == "" then
    api.nvim_buf_set_lines(buf, 0, 1, false, lines)
    row = 0
  else
    api.nvim_buf_set_lines(buf, n, n, false, lines)
    row = n
  end
  set_modifiable(buf, false)
  hl.lines(buf, row, lines)
  -- A write's first non-blank line is a role header when it is one of the chat's own; the
  -- text after it (a user's message) never is, whatever it says.
  for i, l in ipairs(lines) do
    if l ~= "" then
      if M.ROLES[l] then hl.role(buf, row + i - 1, M.ROLES[l], l) end
      break
    end
  end
  self:_follow(follow, behind)
  return row
end

--- From now on (until end_top) lines and blocks are written above the given row instead of
--- at the end: at a mark that moves down past each write, so successive writes stay in order
--- (a slice of older turns goes in above the transcript). Block marks work as at the end; the
--- row must start a line no block mark sits on (the transcript's blank spacer line).
---@param row integer 0-based
function R:begin_top(row)
  self:end_top()
  self.top = api.nvim_buf_set_extmark(self.buf, ns, row, 0, { right_gravity = true })
end

--- Back to writing at the end.
function R:end_top()
  if self.top then pcall(api.nvim_buf_del_extmark, self.buf, ns, self.top) end
  self.top = nil
end

--- A line kept at the top of the buffer (row 0) above the transcript, e.g. "earlier turns";
--- text nil removes it. Returns the change in line count (+1, -1 or 0).
---@param text string|nil
---@return integer
function R:set_banner(text)
  if not self:_live() then return 0 end
  local buf = self.buf
  set_modifiable(buf, true)
  local delta = 0
  if text and self.banner then
    -- set_text within row 0: marks on the rows below stay where they are
    local old = api.nvim_buf_get_lines(buf, 0, 1, false)[1] or ""
    api.nvim_buf_set_text(buf, 0, 0, 0, #old, { text })
  elseif text then
    local n = api.nvim_buf_line_count(buf)
    if n == 1 and api.nvim_buf_get_lines(buf, 0, 1, false)[1] == "" then
      api.nvim_buf_set_lines(buf, 0, 1, false, { text }) -- an empty buffer: its one line
    else
      api.nvim_buf_set_lines(buf, 0, 0, false, { text })
      delta = 1
    end
  elseif self.banner then
    api.nvim_buf_set_lines(buf, 0, 1, false, {})
    delta = -1
  end
  set_modifiable(buf, false)
  self.banner = text ~= nil
  return delta
end

--- Starts a block for an item: header lines, then an empty body whose end is tracked.
---@param id string
---@param header string[]
---@param opts {virt: table|nil, fold: boolean|nil}|nil
function R:open_block(id, header, opts)
  opts = opts or {}
  if id == nil or not self:_live() then return nil end
  local lines = vim.list_extend(vim.deepcopy(header), { "" })
  local row = self:append_lines(lines)
  local body_row = row + #header
  -- The status goes on the first non-blank header line (headers start with a spacer).
  local hrow = row
  for i, l in ipairs(header) do
    if l ~= "" then
      hrow = row + i - 1
      break
    end
  end
  local mark = api.nvim_buf_set_extmark(self.buf, ns, body_row, 0, { right_gravity = true })
  local hmark = api.nvim_buf_set_extmark(self.buf, ns, hrow, 0, { right_gravity = false })
  -- The body is highlighted as it grows, from the state the header left (a command's header
  -- ends inside an open fence).
  local run = hl.run_after(header)
  self.blocks[id] = { mark = mark, header = hmark, start_row = body_row, fold = opts.fold, empty = true, lines = 1,
    hl = run, hl_from = { md = run.md, open = run.open } }
  if opts.virt then self:set_status(id, opts.virt) end
  return self.blocks[id]
end

--- Sets the status shown at the end of a block's header line (virtual text).
---@param id string
---@param chunks table e.g. {{"✓ exit 0", "DiagnosticOk"}}
function R:set_status(id, chunks)
  local b = self.blocks[id]
  if not b or not b.header then return end
  b.status_chunks = chunks
  if not self:_live() then return end
  local pos = api.nvim_buf_get_extmark_by_id(self.buf, ns, b.header, {})
  if not pos[1] then return end
  if b.status then pcall(api.nvim_buf_del_extmark, self.buf, ns, b.status) end
  b.status = api.nvim_buf_set_extmark(self.buf, ns, pos[1], 0, { virt_text = chunks, virt_text_pos = "eol" })
end

-- At most about this much queued text is written per flush by the frame timer; the rest
-- follows on the next turn of the event loop (after input and I/O had their turn), so a flush
-- stays within a few milliseconds however fast text arrives (the write itself about one, its
-- highlighting about 14 µs a line: bench/ui.lua). Explicit flush() calls write everything.
M.FRAME_BYTES = 64 * 1024

local hrtime = (vim.uv or vim.loop).hrtime
local function now_ms() return hrtime() / 1e6 end

-- vim.split is a Lua iterator; a plain find loop is 2-3x faster on large texts.
local function split_lines(text)
  local out, n, pos = {}, 0, 1
  while true do
    local nl = text:find("\n", pos, true)
    n = n + 1
    if not nl then
      out[n] = text:sub(pos)
      return out
    end
    out[n] = text:sub(pos, nl - 1)
    pos = nl + 1
  end
end

--- Queues text for a block's body: written now when nothing was written in the last
--- frame_ms, else with the rest of the frame's text at its end.
---@param id string
---@param text string
function R:append(id, text)
  if type(text) ~= "string" or text == "" or id == nil or not self.blocks[id] then return end
  local p = self.pending[id]
  if not p then
    p = {}
    self.pending[id] = p
    self.order[#self.order + 1] = id
  end
  p[#p + 1] = text
  if self.scheduled then return end
  self.scheduled = true
  local wait = (self.last_frame or -math.huge) + self.opts.frame_ms - now_ms()
  if wait <= 0 then
    -- Leading edge: nothing was written during the last frame, so this text goes out now
    -- (a turn's first token is on screen at the next redraw); what follows within the
    -- frame is coalesced into one write at its end.
    return self:_frame()
  end
  vim.defer_fn(function() self:_frame() end, math.ceil(wait))
end

-- A frame's flush: at most FRAME_BYTES; the rest on the next loop iteration (a 0 ms timer:
-- vim.schedule would run it in the same pass over the event queue).
function R:_frame()
  if not self.scheduled then return end -- an explicit flush() wrote it already
  self.last_frame = now_ms()
  if self:flush(M.FRAME_BYTES) then
    self.scheduled = true
    vim.defer_fn(function() self:_frame() end, 0)
  end
end

--- Writes the queued text now: one set_text per block. With limit, writes whole appended
--- pieces up to about limit bytes and returns true when some are left.
---@param limit integer|nil bytes
---@return boolean|nil more
function R:flush(limit)
  self.scheduled = false
  if #self.order == 0 then return end
  if not self:_live() then
    self.order, self.pending = {}, {}
    return
  end
  local follow, behind = self:_followers()
  local buf = self.buf
  local left_order, left = {}, {}
  set_modifiable(buf, true)
  for _, id in ipairs(self.order) do
    local b, pieces = self.blocks[id], self.pending[id]
    local n = #pieces
    if limit then
      local k, bytes = 0, 0
      while k < n and bytes < limit do
        k = k + 1
        bytes = bytes + #pieces[k]
      end
      if k < n then -- keep the rest (whole pieces: never a split character)
        local rest = {}
        for i = k + 1, n do rest[#rest + 1] = pieces[i] end
        left_order[#left_order + 1], left[id] = id, rest
        n = k
      end
      limit = math.max(0, limit - bytes)
    end
    local pos = n > 0 and b and b.mark and api.nvim_buf_get_extmark_by_id(buf, ns, b.mark, {}) or {}
    if pos[1] then
      local lines = split_lines(table.concat(pieces, "", 1, n))
      api.nvim_buf_set_text(buf, pos[1], pos[2], pos[1], pos[2], lines)
      b.lines = b.lines + #lines - 1
      b.empty = false
      -- the rows from the body's incomplete one to its new last (O(new text))
      local last = pos[1] + #lines - 1
      if b.hl then hl.update(buf, last - b.lines + 1, b.hl, b.lines - 1, false) end
    end
  end
  set_modifiable(buf, false)
  self.order, self.pending = left_order, left
  self:_follow(follow, behind)
  return #left_order > 0
end

--- Replaces a block's body (e.g. a plan update). Small bodies only.
---@param id string
---@param lines string[]
function R:set_body(id, lines)
  self:flush()
  local b = self.blocks[id]
  if not b or not b.mark or not self:_live() then return end
  local hpos = api.nvim_buf_get_extmark_by_id(self.buf, ns, b.header, {})
  local epos = api.nvim_buf_get_extmark_by_id(self.buf, ns, b.mark, {})
  if not hpos[1] or not epos[1] then return end
  local start = epos[1] - b.lines + 1
  api.nvim_buf_clear_namespace(self.buf, hl.ns, start, epos[1] + 1)
  api.nvim_buf_clear_namespace(self.buf, hl.code_ns, start, epos[1] + 1)
  set_modifiable(self.buf, true)
  api.nvim_buf_set_lines(self.buf, start, epos[1] + 1, false, lines)
  set_modifiable(self.buf, false)
  b.lines = #lines
  if b.hl_from then
    b.hl = hl.new_run(b.hl_from.md, b.hl_from.open)
    hl.update(self.buf, start, b.hl, #lines - 1, false, lines)
  end
  local last = lines[#lines] or ""
  api.nvim_buf_set_extmark(self.buf, ns, start + #lines - 1, #last, { id = b.mark, right_gravity = true })
end

--- Marks a block's body as complete: its last row is highlighted for good (a code fence that
--- it closes gets its language's colours). Call when the item is completed.
---@param id string
function R:finish(id)
  self:flush()
  local b = self.blocks[id]
  if not b or not b.hl or not b.mark or not api.nvim_buf_is_loaded(self.buf) then return end
  local epos = api.nvim_buf_get_extmark_by_id(self.buf, ns, b.mark, {})
  if epos[1] then hl.update(self.buf, epos[1] - b.lines + 1, b.hl, b.lines - 1, true) end
end

--- The row of a block's header line (0-based), or nil.
---@param id string
---@return integer|nil
function R:header_row(id)
  local b = self.blocks[id]
  if not b or not b.header or not api.nvim_buf_is_loaded(self.buf) then return nil end
  return api.nvim_buf_get_extmark_by_id(self.buf, ns, b.header, {})[1]
end

--- The row range of a block's body (0-based, inclusive).
---@param id string
---@return integer|nil first, integer|nil last
function R:body_range(id)
  local b = self.blocks[id]
  if not b or not b.mark or not api.nvim_buf_is_loaded(self.buf) then return nil end
  local epos = api.nvim_buf_get_extmark_by_id(self.buf, ns, b.mark, {})
  if not epos[1] then return nil end
  return epos[1] - b.lines + 1, epos[1]
end

--- Folds a block's body in every window showing the buffer (when longer than min lines).
---@param id string
---@param min integer
function R:fold(id, min)
  self:flush()
  local first, last = self:body_range(id)
  if not first or last - first + 1 <= min then return end
  local b = self.blocks[id]
  b.folded = { first, last }
  for _, win in ipairs(self.opts.windows()) do
    if api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == self.buf then
      api.nvim_win_call(win, function()
        vim.wo.foldmethod = "manual"
        vim.wo.foldenable = true
        pcall(vim.cmd, ("%d,%dfold"):format(first + 1, last + 1))
      end)
    end
  end
end

--- Re-creates folds in a window that starts showing the buffer.
---@param win integer
function R:refold(win)
  api.nvim_win_call(win, function()
    vim.wo.foldmethod = "manual"
    vim.wo.foldenable = true
    pcall(vim.cmd, "normal! zE")
    for id, b in pairs(self.blocks) do
      if b.folded then
        local first, last = self:body_range(id)
        if first then pcall(vim.cmd, ("%d,%dfold"):format(first + 1, last + 1)) end
      end
    end
  end)
end

return M
