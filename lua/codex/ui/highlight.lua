---@mod codex.ui.highlight  The chat buffer's highlighting, set by the renderer as it writes.
---
--- Issue 8: tree-sitter (or a syntax file) over the one buffer that holds a whole thread costs
--- O(buffer) per redraw and per edit. Instead, the renderer hands each line it wrote to this
--- module once, and the spans of codex.ui.markdown become extmarks on our own namespace.
--- Nothing here ever reads the buffer beyond the rows it is given, except a code block's own
--- rows, once: a complete block (its closing fence written) whose language Neovim has a
--- parser for is coloured by that parser the first time a window shows it (bounded by
--- BLOCK_LINES / BLOCK_BYTES). Lazily, because a parse and its captures cost about 1 ms and
--- 200 extmarks per 8-line lua block: a resumed 500-turn chat would spend a second and 40 MB
--- on blocks nobody scrolls back to.
local M = {}

local api = vim.api
local md = require("codex.ui.markdown")
local fallback = require("codex.ui.code_fallback")

M.ns = api.nvim_create_namespace("codex_chat_hl")
-- Complete code blocks not coloured yet: one range mark each (no decoration), id → lang.
M.code_ns = api.nvim_create_namespace("codex_chat_code")
local waiting = {} ---@type table<integer, table<integer, string>> buf → mark id → lang
-- Also on code_ns: a point mark on each fence line, id → true (it opens a block) or false (it
-- closes one, or a run starts outside any fence there). They tell the conceal provider
-- which rows are code without reading the buffer above the window.
local fences = {} ---@type table<integer, table<integer, boolean>>
-- The conceal provider's namespace (ephemeral marks only: concealed markers and overlays).
M.conceal_ns = api.nvim_create_namespace("codex_chat_conceal")
-- The buffers this module highlights (the provider draws nothing in any other).
local served = {} ---@type table<integer, true>

-- Markdown spans sit below the code captures (tree-sitter's own default is 100).
local PRIORITY = 90

-- A code block's parser runs once, when the fence closes; bigger blocks stay plain.
M.BLOCK_LINES = 400
M.BLOCK_BYTES = 32 * 1024

-- Every group links to one that exists on 0.7 as on 0.12 (the @markup.* groups do not).
local LINKS = {
  CodexHeading = "Title",
  CodexSubheading = "Title",
  CodexCode = "String",
  CodexFence = "Comment", -- (its ``` concealed: the info word is a dim label)
  CodexQuote = "Comment",
  CodexQuoteMarker = "Delimiter",
  CodexListMarker = "Special",
  CodexTask = "Special",
  CodexTaskDone = "Special",
  CodexLink = "Underlined",
  CodexUrl = "Comment",
  CodexFooter = "Comment",
  CodexDiffHunk = "Statement",
  CodexDiffFile = "Type",
  CodexTablePipe = "Delimiter",
  CodexTableRule = "Delimiter",
  -- Who speaks: the renderer's own "## You…" / "## Codex" lines (M.role), never a heading
  -- of the answer (CodexHeading, Title). Two groups that differ from Title and each other.
  CodexUserHeader = "Identifier",
  CodexAgentHeader = "Question",
  -- Code without a parser for its language (codex.ui.code_fallback).
  CodexCodeKeyword = "Keyword",
  CodexCodeString = "String",
  CodexCodeComment = "Comment",
  CodexCodeNumber = "Number",
}

--- The groups this module defines (for the docs and the tests).
M.GROUPS = {}
for name in pairs(LINKS) do M.GROUPS[#M.GROUPS + 1] = name end
for _, name in ipairs({ "CodexBold", "CodexItalic", "CodexDiffAdd", "CodexDiffDelete" }) do M.GROUPS[#M.GROUPS + 1] = name end
table.sort(M.GROUPS)

local function define_groups()
  for name, link in pairs(LINKS) do api.nvim_set_hl(0, name, { link = link, default = true }) end
  api.nvim_set_hl(0, "CodexBold", { bold = true, default = true })
  api.nvim_set_hl(0, "CodexItalic", { italic = true, default = true })
  -- Added/Removed exist from 0.10 on; before, the colours diff.vim gives +/- lines.
  local has_added = vim.fn.hlexists("Added") == 1
  api.nvim_set_hl(0, "CodexDiffAdd", { link = has_added and "Added" or "Identifier", default = true })
  api.nvim_set_hl(0, "CodexDiffDelete", { link = has_added and "Removed" or "Special", default = true })
end

--- What a highlighted region carries from one write to the next.
---@class codex.hl.Run
---@field md codex.md.State markdown state after the last committed row
---@field done integer rows committed (relative to the run's first row)
---@field open integer|nil relative row of the open fence's line

--- A run starting outside any fence (or in state, e.g. after a header that opened one).
---@param state codex.md.State|nil
---@param open integer|nil relative row of the fence that state is inside
---@return codex.hl.Run
function M.new_run(state, open)
  return { md = state or md.START, done = 0, open = open }
end

local function fence_mark(buf, row, opens)
  local id = api.nvim_buf_set_extmark(buf, M.code_ns, row, 0, {})
  fences[buf] = fences[buf] or {}
  fences[buf][id] = opens
end

-- The nearest fence mark at or above row: true when it opens a block (rows below it are
-- code), false or nil otherwise.
local function fence_above(buf, row)
  local f = fences[buf]
  if not f or row < 0 then return nil end
  -- Forward queries over windows that double upwards: a reverse query (start after end) costs
  -- O(buffer) on 0.12, where it made a 500-turn chat's every redraw slow.
  local span = 64
  local hi = row
  while true do
    local lo = math.max(0, hi - span)
    local ms = api.nvim_buf_get_extmarks(buf, M.code_ns, { lo, 0 }, { hi, -1 }, {})
    for i = #ms, 1, -1 do
      local kind = f[ms[i][1]]
      if kind ~= nil then return kind end
    end
    if lo == 0 then return nil end
    hi, span = lo - 1, span * 2
  end
end

--- The state after lines, for a run that starts after them (a block's header): the rows of
--- the header are rows -#lines … -1 relative to the block's body.
---@param lines string[]
---@return codex.hl.Run
function M.run_after(lines)
  local _, state, _ = md.lines(lines)
  local open
  if state.fence then
    for i = #lines, 1, -1 do
      local _, st, ev = md.line(lines[i], md.START)
      if ev == "open" and st.fence.char == state.fence.char then
        open = i - 1 - #lines
        break
      end
    end
  end
  return M.new_run(state, open)
end

-- Statistics for the tests and the bench: rows handed to spans, extmarks set.
M.stats = { rows = 0, marks = 0, blocks = 0 }

local function mark(buf, row, s, e, group, priority, end_row)
  local ok = pcall(api.nvim_buf_set_extmark, buf, M.ns, row, s, {
    end_row = end_row or row, end_col = e, hl_group = group, priority = priority,
  })
  if ok then M.stats.marks = M.stats.marks + 1 end
end

-- A markdown span that is drawn where the window shows it (on_line below), not kept as a
-- mark: a concealed marker without a colour of its own ([4] and no [3]) or text drawn over
-- the range ([5]). (Issue 8: kept, they were half the marks of a long chat and 9 MB per
-- 1,000 turns.)
local function drawn_late(s) return s[5] ~= nil or (s[4] ~= nil and not s[3]) end

-- A highlight span on a row just read (always in range: no pcall, the hot path), maybe
-- with a conceal (a table's pipe).
-- (The option tables are reused: a streamed line makes about ten marks, and a table each
-- was a third of their cost in bench/ui.lua's flood.)
local hl_opts = { end_row = 0, end_col = 0, hl_group = "", priority = PRIORITY }
local both_opts = { end_row = 0, end_col = 0, hl_group = "", conceal = "", priority = PRIORITY }
local function span_mark(buf, row, s)
  local opts
  if s[4] then
    opts = both_opts
    opts.hl_group, opts.conceal = s[3], s[4]
  else
    opts = hl_opts
    opts.hl_group = s[3]
  end
  opts.end_row, opts.end_col = row, s[2]
  api.nvim_buf_set_extmark(buf, M.ns, row, s[1], opts)
  M.stats.marks = M.stats.marks + 1
end

--- Role headers ("## You", "## You (steering)", "## You (queued)", "## Codex"), by kind.
M.ROLE_GROUP = { user = "CodexUserHeader", agent = "CodexAgentHeader" }
-- The rule after a role header's label, cut at the window's edge (eol virtual text does not
-- wrap).
M.RULE = ("─"):rep(240)

--- Draws row as a role header: "## " concealed, the label in its role's group, a rule to the
--- window's edge. Only rows the renderer wrote as a header (render's append_lines): a user
--- message that contains "## Codex" is a heading of that message.
---@param buf integer
---@param row integer
---@param kind "user"|"agent"
---@param line string the row's text
function M.role(buf, row, kind, line)
  local group = M.ROLE_GROUP[kind]
  if not group then return end
  api.nvim_buf_clear_namespace(buf, M.ns, row, row + 1)
  local marker = #(line:match("^#+%s*") or "")
  if marker > 0 then api.nvim_buf_set_extmark(buf, M.ns, row, 0, { end_row = row, end_col = marker, conceal = "", priority = PRIORITY }) end
  api.nvim_buf_set_extmark(buf, M.ns, row, 0, { end_row = row, end_col = #line, hl_group = group, priority = PRIORITY,
    virt_text = { { M.RULE, group } }, virt_text_pos = "eol" })
  M.stats.marks = M.stats.marks + 2
end

-- Fence info → tree-sitter language, for the usual names that differ.
local ALIAS = { sh = "bash", shell = "bash", zsh = "bash", console = "bash", py = "python", js = "javascript",
  ts = "typescript", vimscript = "vim", viml = "vim", rs = "rust", yml = "yaml", ["c++"] = "cpp", md = "markdown" }

local queries = {} -- lang → highlights query, or false (no parser / no query / too old)

local function query_for(lang)
  if queries[lang] ~= nil then return queries[lang] end
  local q = false
  local ts = vim.treesitter
  -- The @capture.lang groups exist from 0.8 on; get_string_parser since 0.5.
  if ts and ts.get_string_parser and vim.fn.has("nvim-0.8") == 1 and lang:find("^[%w_]+$") then
    local L = ts.language or {}
    local ok, r
    if L.add then
      ok, r = pcall(L.add, lang) -- 0.10: nothing or an error; 0.11+: true or nil, err
      ok = ok and (r == true or (r == nil and vim.fn.has("nvim-0.11") == 0))
    else
      ok, r = pcall(ts.require_language, lang, nil, true)
      ok = ok and r == true
    end
    if ok then
      local get = ts.query.get or ts.query.get_query
      local okq, query = pcall(get, lang, "highlights")
      q = okq and query or false
    end
  end
  queries[lang] = q
  return q
end

local function lang_of(info)
  local lang = ALIAS[info] or info
  local get_lang = vim.treesitter and vim.treesitter.language and vim.treesitter.language.get_lang
  if get_lang then lang = get_lang(lang) or lang end
  return lang
end

--- Colours a code block (rows first..last, absolute) with its language's parser now.
---@param buf integer
---@param first integer
---@param last integer
---@param lang string a tree-sitter language with a highlights query
function M.colour(buf, first, last, lang)
  if lang:sub(1, 1) == "=" then return M.colour_fallback(buf, first, last, lang:sub(2)) end
  local query = query_for(lang)
  if not query then return end
  local lines = api.nvim_buf_get_lines(buf, first, last + 1, false)
  local text = table.concat(lines, "\n")
  if #text > M.BLOCK_BYTES then return end
  M.stats.blocks = M.stats.blocks + 1
  pcall(function()
    -- No injections: on 0.10 query.get() caches in a weak table, so after each GC cycle a new
    -- parser re-read and re-parsed the language's injections query (3 ms for lua, the longest
    -- callback of a streamed turn in a 500-turn chat; issue 8). An empty query costs nothing.
    local parser = vim.treesitter.get_string_parser(text, lang, { injections = { [lang] = "" } })
    local tree = parser:parse()[1]
    for id, node, meta in query:iter_captures(tree:root(), text, 0, -1) do
      local name = query.captures[id]
      if name:sub(1, 1) ~= "_" and name ~= "spell" and name ~= "nospell" and name ~= "conceal" then
        local sr, sc, er, ec = node:range()
        local prio = meta and (meta.priority or (meta[id] and meta[id].priority))
        mark(buf, first + sr, sc, ec, "@" .. name .. "." .. lang, tonumber(prio) or 100, first + er)
      end
    end
    if parser.destroy then parser:destroy() end
  end)
end

--- Colours a code block with codex.ui.code_fallback (no parser for its language): about
--- 10 µs a line.
---@param buf integer
---@param first integer
---@param last integer
---@param lang string the fence's info word
function M.colour_fallback(buf, first, last, lang)
  local lines = api.nvim_buf_get_lines(buf, first, last + 1, false)
  M.stats.blocks = M.stats.blocks + 1
  for i, line in ipairs(lines) do
    if #line <= md.INLINE_MAX then
      for _, s in ipairs(fallback.line(line, lang)) do mark(buf, first + i - 1, s[1], s[2], s[3], 100) end
    end
  end
end

--- A complete code block (rows first..last, absolute): coloured by its language's parser when
--- a window first shows it. Nothing when there is no parser or the block is too big.
---@param buf integer
---@param first integer
---@param last integer
---@param info string the fence's info word
function M.code_block(buf, first, last, info)
  if info == "" or md.is_diff(info) or last < first or last - first + 1 > M.BLOCK_LINES then return end
  local lang = lang_of(info)
  if not query_for(lang) then
    if not fallback.supports(info) then return end
    lang = "=" .. info -- (coloured by codex.ui.code_fallback)
  end
  local id = api.nvim_buf_set_extmark(buf, M.code_ns, first, 0, { end_row = last, end_col = 0 })
  waiting[buf] = waiting[buf] or {}
  waiting[buf][id] = lang
end

-- Blocks of windows just drawn, coloured after the redraw (a decoration provider must not
-- change the buffer); their new marks redraw them.
local due, scheduled = {}, false
local function colour_due()
  scheduled = false
  local list = due
  due = {}
  for _, d in ipairs(list) do
    local buf, id = d[1], d[2]
    local lang = waiting[buf] and waiting[buf][id]
    if lang and api.nvim_buf_is_loaded(buf) then
      waiting[buf][id], waiting[buf][-id] = nil, nil
      local pos = api.nvim_buf_get_extmark_by_id(buf, M.code_ns, id, { details = true })
      pcall(api.nvim_buf_del_extmark, buf, M.code_ns, id)
      if pos[1] then M.colour(buf, pos[1], pos[3].end_row or pos[1], lang) end
    end
  end
end

local on_win, conceal_win, conceal_line -- (below)

local initialised = false
--- The groups, their ColorScheme hook and the code blocks' decoration provider: made once,
--- by the first renderer (requiring this module changes nothing in the editor).
function M.init()
  if initialised then return end
  initialised = true
  define_groups()
  -- :colorscheme clears the default links: set them again.
  api.nvim_create_autocmd("ColorScheme", {
    group = api.nvim_create_augroup("CodexChatHighlights", { clear = true }),
    callback = define_groups,
  })
  api.nvim_set_decoration_provider(M.code_ns, { on_win = function(...) return on_win(...) end })
  api.nvim_set_decoration_provider(M.conceal_ns, {
    on_win = function(...) return conceal_win(...) end,
    on_line = function(...) return conceal_line(...) end,
  })
end

on_win = function(_, win, buf, top, bot)
  local w = waiting[buf]
  if not w or next(w) == nil then return false end
  bot = math.min(bot, top + api.nvim_win_get_height(win))
  -- a block starting BLOCK_LINES above the top may reach into the window (no "overlap"
  -- option before 0.10)
  local marks = api.nvim_buf_get_extmarks(buf, M.code_ns, { math.max(0, top - M.BLOCK_LINES), 0 }, { bot, -1 }, { details = true })
  for _, m in ipairs(marks) do
    if w[m[1]] and (m[4].end_row or m[2]) >= top and not w[-m[1]] then
      w[-m[1]] = true -- (negative key: queued)
      due[#due + 1] = { buf, m[1] }
    end
  end
  if #due > 0 and not scheduled then
    scheduled = true
    vim.schedule(colour_due)
  end
  return false
end

-- The rows of the window being drawn that are code (inside a fence), for on_line: row → true.
-- (One table, refilled by each on_win: the redraw is O(its rows).)
local code_rows = {}

-- Fills code_rows for rows top..bot of buf from the fence marks.
local function find_code(buf, top, bot)
  for k in pairs(code_rows) do code_rows[k] = nil end
  local f = fences[buf]
  if not f then return end
  local inside = fence_above(buf, top - 1) == true
  local row = top
  local ms = api.nvim_buf_get_extmarks(buf, M.code_ns, { top, 0 }, { bot, -1 }, {})
  for _, m in ipairs(ms) do
    local kind = f[m[1]]
    if kind ~= nil then
      if inside then for r = row, m[2] - 1 do code_rows[r] = true end end
      -- (the fence line itself is not code: its backticks are concealed)
      row, inside = m[2] + 1, kind
    end
  end
  if inside then for r = row, bot do code_rows[r] = true end end
end

local eph_conceal = { end_row = 0, end_col = 0, conceal = "", priority = PRIORITY, ephemeral = true }
local eph_overlay = { virt_text = { { "", "" } }, virt_text_pos = "overlay", priority = PRIORITY, ephemeral = true }

-- The spans of a row's text that are drawn, not kept (drawn_late): none inside code.
local function late_spans(buf, row)
  local line = api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
  if not line or line == "" then return nil end
  local spans = md.line(line, md.START)
  local out
  for k = 1, #spans do
    if drawn_late(spans[k]) then
      out = out or {}
      out[#out + 1] = spans[k]
    end
  end
  return out
end

--- What the conceal provider draws on a row now: its concealed markers and overlays, as
--- codex.ui.markdown spans (nil: nothing). For the tests, and the same code as a redraw.
---@param buf integer
---@param row integer 0-based
---@return codex.md.Span[]|nil
function M.conceal_spans(buf, row)
  if not served[buf] then return nil end
  find_code(buf, row, row)
  if code_rows[row] then return nil end
  return late_spans(buf, row)
end

conceal_win = function(_, win, buf, top, bot)
  if not served[buf] then return false end
  -- (a window shows at most its height of rows, whatever bot says)
  find_code(buf, top, math.min(bot, top + api.nvim_win_get_height(win)))
  return true
end

conceal_line = function(_, _, buf, row)
  if code_rows[row] then return end
  local spans = late_spans(buf, row)
  if not spans then return end
  for k = 1, #spans do
    local s = spans[k]
    local opts
    if s[5] then
      opts = eph_overlay
      opts.virt_text[1][1], opts.virt_text[1][2] = s[5], s[3] or "Normal"
    else
      opts = eph_conceal
      opts.end_row, opts.end_col, opts.conceal = row, s[2], s[4]
    end
    pcall(api.nvim_buf_set_extmark, buf, M.conceal_ns, row, s[1], opts)
  end
end

--- Highlights rows of a run: relative rows run.done … last, where row 0 is absolute row base.
--- Rows before last are complete and committed; last too when complete, else it is drawn for
--- now and drawn again next time (its text may still grow). lines, when given, are the rows'
--- text (else read from the buffer: just these rows).
---@param buf integer
---@param base integer absolute row of the run's relative row 0
---@param run codex.hl.Run
---@param last integer relative row of the last row to highlight
---@param complete boolean is row last complete?
---@param lines string[]|nil the text of rows run.done … last
function M.update(buf, base, run, last, complete, lines)
  local from = run.done
  if last < from then return end
  -- The rows from `from` on carry at most the previous write's marks of its incomplete row
  -- (none when the lines were just written whole).
  if not lines then api.nvim_buf_clear_namespace(buf, M.ns, base + from, base + last + 1) end
  lines = lines or api.nvim_buf_get_lines(buf, base + from, base + last + 1, false)
  M.stats.rows = M.stats.rows + (last - from + 1)
  served[buf] = true
  if from == 0 and run.reset == nil then
    -- A run that starts outside any fence below a block left open (an interrupted answer)
    -- says so with a mark, else the provider would take its rows for code.
    run.reset = not run.md.fence and base > 0 and fence_above(buf, base - 1) == true
  end
  local state = run.md
  for i, line in ipairs(lines) do
    local rel = from + i - 1
    local spans, next_state, ev = md.line(line, state)
    local whole = rel < last or complete
    -- A row still streaming gets its colours now and its concealed markers once complete:
    -- its marks are redone on every write until then, and half-written markers ("**bo")
    -- would come and go.
    for k = 1, #spans do
      local sp = spans[k]
      if not drawn_late(sp) and (whole or not sp[4]) then span_mark(buf, base + rel, sp) end
    end
    if whole then
      if rel == 0 and run.reset then
        if ev ~= "open" then fence_mark(buf, base, false) end
        run.reset = false
      end
      if ev == "open" then
        fence_mark(buf, base + rel, true)
        run.open = rel
      elseif ev == "close" then
        fence_mark(buf, base + rel, false)
        if run.open then M.code_block(buf, base + run.open + 1, base + rel - 1, state.fence.lang) end
        run.open = nil
      end
      state = next_state
      run.done = rel + 1
    end
  end
  run.md = state
end

--- Highlights whole lines just written at row (append_lines): a run of their own.
---@param buf integer
---@param row integer
---@param lines string[]
function M.lines(buf, row, lines)
  if #lines == 0 then return end
  M.update(buf, row, M.new_run(), #lines - 1, true, lines)
end

--- The marks and the code blocks still to colour, for a buffer that is about to be unloaded
--- (with the renderer's snapshot).
---@param buf integer
---@return {marks: table[], code: table[]}
function M.save(buf)
  local out = { marks = {}, code = {} }
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, M.ns, 0, -1, { details = true })) do
    local d = m[4] or {}
    if d.hl_group or d.conceal or d.virt_text then
      out.marks[#out.marks + 1] = { m[2], m[3], { end_row = d.end_row, end_col = d.end_col, hl_group = d.hl_group,
        priority = d.priority, conceal = d.conceal, virt_text = d.virt_text, virt_text_pos = d.virt_text and d.virt_text_pos } }
    end
  end
  local w, f = waiting[buf] or {}, fences[buf] or {}
  out.fences = {}
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, M.code_ns, 0, -1, { details = true })) do
    if w[m[1]] then out.code[#out.code + 1] = { m[2], m[4].end_row or m[2], w[m[1]] } end
    if f[m[1]] ~= nil then out.fences[#out.fences + 1] = { m[2], f[m[1]] } end
  end
  waiting[buf], fences[buf], served[buf] = nil, nil, nil
  return out
end

--- Conceals again what the saved marks cannot say (0.7): the "## " of the role headers
--- (rows with a role group's mark). (The markdown markers are drawn by the provider.)
---@param buf integer
---@param marks table[] saved marks
function M.reconceal(buf, marks)
  for _, m in ipairs(marks) do
    local group = m[3].hl_group
    if group == "CodexUserHeader" or group == "CodexAgentHeader" then
      local row = m[1]
      local line = api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
      local n = #(line:match("^#+%s*") or "")
      if n > 0 then pcall(api.nvim_buf_set_extmark, buf, M.ns, row, 0, { end_row = row, end_col = n, conceal = "", priority = PRIORITY }) end
    end
  end
end

--- Puts saved marks into the new buffer (same text as the saved one).
---@param buf integer
---@param saved {marks: table[], code: table[]}|nil
function M.restore(buf, saved)
  if not saved then return end
  for _, m in ipairs(saved.marks) do pcall(api.nvim_buf_set_extmark, buf, M.ns, m[1], m[2], m[3]) end
  -- Before 0.10 a mark's details do not say what it conceals: the markers are found again
  -- (once, when the user wiped the buffer).
  if vim.fn.has("nvim-0.10") == 0 then M.reconceal(buf, saved.marks) end
  for _, c in ipairs(saved.code) do M.code_block(buf, c[1], c[2], c[3]) end
  for _, f in ipairs(saved.fences or {}) do pcall(fence_mark, buf, f[1], f[2]) end
  served[buf] = true
end

return M
