---@mod codex.ui.markdown  Markdown highlight spans for the chat, one line at a time (pure).
---
--- The chat buffer is highlighted by its renderer as text is written, not by tree-sitter or
--- a syntax file over the whole buffer (issue 8: on a long chat either costs O(buffer) per
--- redraw). This module only computes: given a line and the state carried from the line
--- before (are we inside a fence, which one), it returns the spans to highlight and the new
--- state. No buffer, window or vim.* access, so it runs under plain Lua too, and the cost
--- of a line is O(its length). It covers what the chat shows, not all of CommonMark.
local M = {}

--- The state between lines. Never mutated: a line that changes it returns a new table.
---@class codex.md.State
---@field fence {char: string, len: integer, lang: string}|nil the open fence, if any

--- 0-based start col, end col (exclusive), group (false: none); [4] conceals the range where the
--- window conceals (the replacement character, "" to hide it); [5] is text drawn over the
--- range (same width: a table's delimiter row drawn as a rule).
---@alias codex.md.Span {[1]: integer, [2]: integer, [3]: string|false, [4]: string|nil, [5]: string|nil}

--- What a line did to the fence state (the caller runs a code block's own parser on "close").
---@alias codex.md.Event "open"|"close"|nil

M.START = {} ---@type codex.md.State outside any fence

-- Longer lines get no inline spans: the scan stays linear, and nobody reads such a line.
M.INLINE_MAX = 4096

-- Languages drawn by this module itself (Debian ships no diff parser).
local DIFF = { diff = true, patch = true, udiff = true }

--- Is lang a diff fence?
---@param lang string|nil
---@return boolean
function M.is_diff(lang) return lang ~= nil and DIFF[lang] == true end

local table_line -- (below)

local function span(out, s, e, group)
  if e > s then out[#out + 1] = { s, e, group } end
end

-- Markers hidden where the window conceals (issue 9: markdown reads as markdown); the
-- buffer keeps the text, so yanks and searches see markdown.
local function hide(out, s, e, char)
  if e > s then out[#out + 1] = { s, e, false, char or "" } end
end

local function word_char(c) return c ~= "" and c:find("^[%w]") ~= nil end

-- The closing delimiter of an emphasis opened at i (delim "*", "_", "**" or "__"), searched
-- within [i + #delim, last]; nil when there is none. Underscores follow CommonMark's rule
-- that matters here: no emphasis inside words (snake_case names stay plain).
local function closer(line, i, delim, last)
  local n = #delim
  local after = line:sub(i + n, i + n)
  if after == "" or after:find("^%s") then return nil end
  if delim:sub(1, 1) == "_" and word_char(line:sub(i - 1, i - 1)) then return nil end
  local pos = i + n
  while true do
    local j = line:find(delim, pos, true)
    if not j or j + n - 1 > last then return nil end
    local before = line:sub(j - 1, j - 1)
    local next = line:sub(j + n, j + n)
    local ok = j > i + n and not before:find("^%s")
    if ok and delim:sub(1, 1) == "_" and word_char(next) then ok = false end
    -- "*a**" is not a close of "*": a single delimiter must not be part of a longer run
    if ok and n == 1 and next == delim then ok = false end
    if ok then return j end
    pos = j + 1
  end
end

-- Inline spans of line[first..last] (1-based, inclusive) into out (0-based columns).
local function inline(line, first, last, out)
  local i = first
  while i <= last do
    local j = line:find("[`*_%[]", i)
    if not j or j > last then return end
    local c = line:sub(j, j)
    local next_i = j + 1
    if c == "`" then
      local run = line:match("^`+", j)
      local k = line:find(run, j + #run, true)
      -- the closing run must be exactly as long (a longer one is literal text)
      while k and line:sub(k + #run, k + #run) == "`" do
        k = line:find(run, line:match("^`+()", k), true)
      end
      if k and k + #run - 1 <= last then
        span(out, j - 1, k + #run - 1, "CodexCode")
        hide(out, j - 1, j - 1 + #run)
        hide(out, k - 1, k - 1 + #run)
        next_i = k + #run
      else
        next_i = j + #run
      end
    elseif c == "*" or c == "_" then
      local double = line:sub(j + 1, j + 1) == c
      local delim = double and c .. c or c
      local k = closer(line, j, delim, last)
      if k then
        span(out, j - 1, k + #delim - 1, double and "CodexBold" or "CodexItalic")
        hide(out, j - 1, j - 1 + #delim)
        hide(out, k - 1, k - 1 + #delim)
        inline(line, j + #delim, k - 1, out) -- code or emphasis inside (e.g. **$ `cmd`**)
        next_i = k + #delim
      else
        next_i = j + #delim
      end
    else -- "[": a link [text](url)
      local text_end, url_end = line:match("^%[[^%]]*()%]%([^%)%s]*()%)", j)
      if text_end and url_end <= last + 1 then
        span(out, j, text_end - 1, "CodexLink")
        span(out, text_end + 1, url_end - 1, "CodexUrl")
        next_i = url_end + 1
      end
    end
    i = next_i
  end
end

-- A fence line: indent, the marker run, the rest. nil when the line is not a fence.
local function fence_of(line)
  if not line:find("^%s*[`~]") then return nil end -- (most lines: one anchored test)
  local run, rest = line:match("^%s*(```+)(.*)$")
  if not run then run, rest = line:match("^%s*(~~~+)(.*)$") end
  if not run then return nil end
  if run:sub(1, 1) == "`" and rest:find("`", 1, true) then return nil end -- inline code, not a fence
  return run, rest
end

-- A table row ("| a | b |"): the pipes dim, drawn as box lines; the delimiter row
-- ("|---|:--:|") drawn over as a rule. Returns true when the line is a delimiter row (no
-- inline spans then). The columns are not aligned: a row is drawn as it is written.
table_line = function(line, out)
  if line:find("^%s*|[%s:|%-]*$") and line:find("-", 1, true) then
    local lead = #line:match("^%s*")
    local body = line:sub(lead + 1):gsub("%s+$", "")
    local n = #body
    local rule = body:gsub("()(.)", function(pos, c)
      if c ~= "|" then return "─" end
      return pos == 1 and "├" or pos == n and "┤" or "┼"
    end)
    out[#out + 1] = { lead, lead + n, "CodexTableRule", nil, rule }
    return true
  end
  for p in line:gmatch("()|") do
    if line:sub(p - 1, p - 1) ~= "\\" then out[#out + 1] = { p - 1, p, "CodexTablePipe", "│" } end
  end
  return false
end

-- Spans of a line inside a diff fence: the whole line, by its first characters.
local function diff_line(line, out)
  local group
  if line:find("^@@") then
    group = "CodexDiffHunk"
  elseif line:find("^%+%+%+ ") or line:find("^%-%-%- ") or line:find("^diff ") or line:find("^index ") then
    group = "CodexDiffFile"
  elseif line:find("^%+") then
    group = "CodexDiffAdd"
  elseif line:find("^%-") then
    group = "CodexDiffDelete"
  end
  if group then span(out, 0, #line, group) end
end

--- Highlights one line. Returns its spans (0-based, end exclusive; a later span drawn over an
--- earlier one wins), the state for the next line, and "open"/"close" when the line opens or
--- closes a fence.
---@param line string
---@param state codex.md.State|nil nil: outside any fence
---@return codex.md.Span[] spans, codex.md.State state, codex.md.Event event
function M.line(line, state)
  state = state or M.START
  local out = {}
  if line == "" then return out, state, nil end
  local f = state.fence
  if f then
    local run, rest = fence_of(line)
    if run and run:sub(1, 1) == f.char and #run >= f.len and rest:find("^%s*$") then
      span(out, 0, #line, "CodexFence")
      hide(out, 0, #line)
      return out, M.START, "close"
    end
    -- Code is left plain (as the syntax file and tree-sitter markdown drew it): its own
    -- parser colours it once the block is complete (codex.ui.highlight); command output
    -- stays plain, and plain lines cost no extmarks.
    if M.is_diff(f.lang) then diff_line(line, out) end
    return out, state, nil
  end
  local run, rest = fence_of(line)
  if run then
    span(out, 0, #line, "CodexFence")
    -- the marker run goes, the info word stays as a dim label ("lua")
    local r0 = line:find(run, 1, true)
    hide(out, 0, r0 - 1 + #run + #(rest:match("^%s*")))
    local lang = rest:match("^%s*([^%s`{]+)") or ""
    return out, { fence = { char = run:sub(1, 1), len = #run, lang = lang:lower() } }, "open"
  end
  if #line > M.INLINE_MAX then return out, state, nil end
  if line:find("^#") then
    local hashes = line:match("^(#+)%s") or line:match("^(#+)$")
    if hashes and #hashes <= 6 then
      span(out, 0, #line, #hashes <= 2 and "CodexHeading" or "CodexSubheading")
      return out, state, nil
    end
  end
  -- The footer of a turn: "_— done · 1.2 s_", "_— interrupted_".
  if line:find("^_— .*_$") then
    span(out, 0, #line, "CodexFooter")
    hide(out, 0, 1)
    hide(out, #line - 1, #line)
    return out, state, nil
  end
  if line:find("^%s*|") then
    local t = table_line(line, out)
    if t then return out, state, nil end
  end
  local first = 1
  local quote = line:match("^%s*>+%s?()")
  if quote then
    span(out, 0, #line, "CodexQuote")
    span(out, 0, quote - 1, "CodexQuoteMarker")
    for p in line:sub(1, quote - 1):gmatch("()>") do hide(out, p - 1, p, "▎") end
    first = quote
  end
  local bullet = line:match("^%s*[-*+]()%s", first) or line:match("^%s*%d+[.)]()%s", first)
  if bullet then
    local b0 = line:match("^%s*()", first)
    span(out, b0 - 1, bullet - 1, "CodexListMarker")
    first = bullet + 1
    local box, box_end = line:match("^(%[[ xX~%-]%])()", first)
    if box then
      span(out, first - 1, box_end - 1, box == "[ ]" and "CodexTask" or "CodexTaskDone")
      first = box_end
    end
  end
  inline(line, first, #line, out)
  return out, state, nil
end

--- Highlights lines in order from state. Returns spans as {row offset (0-based), start col,
--- end col, group}, the state after the last line, and the fences that closed among these
--- lines as {open row offset or nil (opened before these lines), close row offset, lang}.
---@param lines string[]
---@param state codex.md.State|nil
---@return {[1]: integer, [2]: integer, [3]: integer, [4]: string|false, [5]: string|nil, [6]: string|nil}[] spans, codex.md.State state, {open: integer|nil, close: integer, lang: string}[] closed
function M.lines(lines, state)
  local all, closed, open_at = {}, {}, nil
  state = state or M.START
  for r = 1, #lines do
    local lang = state.fence and state.fence.lang
    local spans, ev
    spans, state, ev = M.line(lines[r], state)
    for _, s in ipairs(spans) do all[#all + 1] = { r - 1, s[1], s[2], s[3], s[4], s[5] } end
    if ev == "open" then
      open_at = r - 1
    elseif ev == "close" then
      closed[#closed + 1] = { open = open_at, close = r - 1, lang = lang }
      open_at = nil
    end
  end
  return all, state, closed
end

return M
