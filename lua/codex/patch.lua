---@mod codex.patch  Unified diffs: parse them, apply (or reverse-apply) chosen hunks to a text.
---
--- Pure Lua (plain Lua 5.4 and LuaJIT): no vim.*, no I/O. Shared by the per-hunk approval
--- (apply only the hunks the user accepted) and by undo (reverse-apply a turn's diff).
---
--- The contract of apply():
--- - All or nothing per file: it returns the whole new text, or nil and an error naming the
---   hunk; it never returns (or writes) a text with only some of the hunks in it. The input
---   text is a Lua string, so it is never modified.
--- - Never blind: each hunk's context and removed lines must equal the text's lines, at the
---   hunk's line or within opts.max_offset lines of it (the nearest place wins, as `patch`
---   does with its offset; there is no fuzz: every context line must match). A hunk that
---   matches nowhere near is an error ("context"), and so is one whose end-of-file newline
---   does not agree with the text's. A hunk without old lines (a zero-context insertion)
---   matches anywhere, so it goes to its own line only, never searched for.
--- - Hunks may be any subset of a file's hunks, in any order: each one's place comes from its
---   own old_start (so skipping a hunk does not move the others), plus the offset the
---   previous hunk was found at. Hunks whose old ranges overlap are an error ("overlap").
--- - Line endings: lines are compared without a trailing "\r", unchanged lines keep their
---   own ending, added lines get the text's ending (CRLF when most of its lines have one; for
---   a text without any line ending, CRLF if the diff's lines end in "\r").
---   A missing final newline ("\ No newline at end of file") is kept or changed as the hunk
---   says, on both sides.
--- - opts.reverse applies the hunks backwards (undo): "+" lines must be there and are removed,
---   "-" lines come back. The text is then the new side, with exactly the given hunks in it.
---
--- - Files: apply() sees only text. An added file is applied to "" and a deleted one gives
---   "" (creating, deleting or renaming the file on disk is the caller's, after its say-so).
---
--- parse(), parse_hunks() and from_change() never raise: malformed input gives nil and a
--- message. apply() does not raise either (a malformed hunk is an "invalid" error).
local M = {}

---@alias codex.PatchOp " "|"-"|"+"

---@class codex.PatchLine
---@field op codex.PatchOp  " " context, "-" removed, "+" added
---@field text string  the line without its "\n" (a CRLF file's diff keeps the "\r")

---@class codex.PatchHunk
---@field old_start integer  as in "@@ -old_start,old_count": for old_count 0, the line after which
---@field old_count integer
---@field new_start integer
---@field new_count integer
---@field header string  the text after the closing "@@" (often a function's name), "" if none
---@field lines codex.PatchLine[]
---@field no_eol_old boolean  the old side's last line has no final newline
---@field no_eol_new boolean  the new side's last line has no final newline

---@alias codex.PatchKind "add"|"delete"|"update"|"rename"

---@class codex.PatchFile
---@field old_path string|nil  nil for an added file (/dev/null); without the "a/" prefix
---@field new_path string|nil  nil for a deleted file; without the "b/" prefix
---@field kind codex.PatchKind
---@field hunks codex.PatchHunk[]
---@field binary boolean|nil  "Binary files … differ" / "GIT binary patch": no hunks to apply
---@field old_mode string|nil  from git's "old mode", "deleted file mode"
---@field new_mode string|nil  from git's "new mode", "new file mode"

---@class codex.PatchApplyOpts
---@field reverse boolean|nil  reverse-apply (undo): the text has the hunks, the result has not
---@field max_offset integer|nil  how many lines away from its line a hunk is looked for (default 20)

---@class codex.PatchError
---@field message string  for the user: which hunk, why, near which line
---@field hunk integer|nil  the index of the hunk in the list given to apply()
---@field reason "context"|"overlap"|"invalid"  context: its lines are not there; overlap: two hunks change the same lines; invalid: not a hunk
---@field line integer|nil  context: the line of the text where the hunk was expected

---@class codex.PatchApplied
---@field offsets integer[]  per hunk (as given), how many lines from its expected line it was found

---@class codex.PatchCount
---@field added integer
---@field removed integer

---@class codex.PatchTotal
---@field files integer
---@field added integer
---@field removed integer

M.MAX_OFFSET = 20

-- Parsing -----------------------------------------------------------------------------------

--- The diff's lines, without "\n" (a final "\n" does not make an empty last line).
local function split_lines(s)
  local out, pos = {}, 1
  while pos <= #s do
    local nl = s:find("\n", pos, true)
    if not nl then
      out[#out + 1] = s:sub(pos)
      break
    end
    out[#out + 1] = s:sub(pos, nl - 1)
    pos = nl + 1
  end
  return out
end

local function chomp_cr(s) return (s:gsub("\r$", "")) end

local ESC = { n = "\n", t = "\t", r = "\r", a = "\a", b = "\b", f = "\f", v = "\v" }

--- A path as git writes it: quoted with C escapes (octal for bytes) when it has odd characters.
local function unquote(p)
  if #p < 2 or p:sub(1, 1) ~= '"' or p:sub(-1) ~= '"' then return p end
  local out, i, body = {}, 1, p:sub(2, -2)
  while i <= #body do
    local c = body:sub(i, i)
    if c == "\\" then
      local oct = body:match("^%d%d%d", i + 1)
      if oct then
        out[#out + 1], i = string.char(tonumber(oct, 8) % 256), i + 4
      else
        local x = body:sub(i + 1, i + 1)
        out[#out + 1], i = ESC[x] or x, i + 2
      end
    else
      out[#out + 1], i = c, i + 1
    end
  end
  return table.concat(out)
end

--- The path of a "--- "/"+++ " line: without diff -u's tab and timestamp, unquoted.
local function header_path(rest)
  rest = chomp_cr(rest)
  if rest:sub(1, 1) == '"' then
    local q
    local i, n = 2, #rest
    while i <= n do
      local c = rest:sub(i, i)
      if c == "\\" then i = i + 2
      elseif c == '"' then q = rest:sub(1, i) break
      else i = i + 1 end
    end
    return unquote(q or rest)
  end
  return (rest:gsub("\t.*$", ""))
end

--- The two paths of a "diff --git a/x b/y" line, used only when the file has no ---/+++ lines
--- (a rename without changes, a mode change, an empty new file, a binary file).
local function git_line_paths(rest)
  rest = chomp_cr(rest)
  if rest:sub(1, 1) == '"' then
    local a, b = rest:match('^(".-[^\\]") (.+)$')
    if a then return unquote(a), unquote(b) end
  end
  -- Both paths the same (the usual case): the line is "a/P b/P", split it in the middle.
  if #rest % 2 == 1 then
    local half = (#rest - 1) / 2
    local a, b = rest:sub(1, half), rest:sub(half + 2)
    if rest:sub(half + 1, half + 1) == " " and a:gsub("^[^/]*/", "") == b:gsub("^[^/]*/", "") then return a, b end
  end
  local a, b = rest:match("^(.-) (b/.*)$")
  if a then return a, b end
  return rest:match("^(%S+) (.+)$")
end

local function parse_count(s) return s == "" and 1 or tonumber(s) end

--- One hunk from lines[i] (its "@@" line). Returns the hunk and the index after it, or nil, msg.
local function parse_hunk(lines, i, where)
  local at = chomp_cr(lines[i])
  local os_, oc, ns, nc, header = at:match("^@@ %-(%d+),?(%d*) %+(%d+),?(%d*) @@ ?(.*)$")
  if not os_ then return nil, ("%s: bad hunk header %q"):format(where, at) end
  local h = {
    old_start = tonumber(os_), old_count = parse_count(oc),
    new_start = tonumber(ns), new_count = parse_count(nc),
    header = header, lines = {}, no_eol_old = false, no_eol_new = false,
  }
  local old_left, new_left = h.old_count, h.new_count
  local last_op
  i = i + 1
  while true do
    local l = lines[i]
    if l == nil then
      if old_left > 0 or new_left > 0 then
        return nil, ("%s: hunk %s ends early (%d old and %d new lines missing)"):format(where, at, old_left, new_left)
      end
      break
    end
    local c = l:sub(1, 1)
    if c == "\\" then
      -- "\ No newline at end of file": the line before it has none (both sides for context).
      if last_op == nil then return nil, ("%s: %q before any line of hunk %s"):format(where, l, at) end
      if last_op ~= "+" then h.no_eol_old = true end
      if last_op ~= "-" then h.no_eol_new = true end
      last_op = nil
      i = i + 1
    elseif old_left == 0 and new_left == 0 then
      break
    elseif c == " " or c == "-" or c == "+" or l == "" or l == "\r" then
      -- (an empty line is an empty context line whose space an editor or mailer dropped)
      local op = (c == "-" or c == "+") and c or " "
      if op ~= "+" then old_left = old_left - 1 end
      if op ~= "-" then new_left = new_left - 1 end
      if old_left < 0 or new_left < 0 then
        return nil, ("%s: hunk %s has more lines than its header says"):format(where, at)
      end
      h.lines[#h.lines + 1] = { op = op, text = c == "" and "" or l == "\r" and "" or l:sub(2) }
      last_op = op
      i = i + 1
    else
      return nil, ("%s: hunk %s ends early at %q (%d old and %d new lines missing)"):format(where, at, l, old_left, new_left)
    end
  end
  return h, i
end

--- The hunks of lines[i..] up to the end or the first line that is neither a hunk nor blank.
local function parse_hunk_run(lines, i, where)
  local hunks = {}
  while lines[i] and lines[i]:sub(1, 3) == "@@ " do
    local h, nxt = parse_hunk(lines, i, where .. " hunk " .. (#hunks + 1))
    if not h then return nil, nxt end
    hunks[#hunks + 1] = h
    i = nxt
  end
  return hunks, i
end

--- The "a/" and "b/" prefixes go when both sides have them (or the other side is /dev/null):
--- git's default, and what most tools write. --no-prefix diffs keep their paths.
local function strip_prefixes(f)
  local o, n = f.old_path, f.new_path
  local o_ok = o == nil or o:sub(1, 2) == "a/"
  local n_ok = n == nil or n:sub(1, 2) == "b/"
  if o_ok and n_ok and (o or n) then
    f.old_path = o and o:sub(3)
    f.new_path = n and n:sub(3)
  end
end

local function finish_file(f)
  if f.old_path == "/dev/null" then f.old_path = nil end
  if f.new_path == "/dev/null" then f.new_path = nil end
  if not f.renamed then strip_prefixes(f) end
  if f.renamed_from then f.old_path = f.renamed_from end
  if f.renamed_to then f.new_path = f.renamed_to end
  if f.old_path == nil and f.new_path == nil then return nil, "a file whose both sides are /dev/null" end
  if f.old_path == nil or f.added then
    f.kind, f.old_path = "add", nil
  elseif f.new_path == nil or f.deleted then
    f.kind, f.new_path = "delete", nil
  elseif f.old_path ~= f.new_path then
    f.kind = "rename"
  else
    f.kind = "update"
  end
  if (f.kind == "add" and not f.new_path) or (f.kind == "delete" and not f.old_path) then
    return nil, ("a new file without a name, or a deleted one (%s)"):format(f.kind)
  end
  f.renamed, f.renamed_from, f.renamed_to, f.added, f.deleted, f.git, f.headers = nil, nil, nil, nil, nil, nil, nil
  return f
end

--- A unified diff's files: git's ("diff --git", rename, mode and binary lines) or diff -u's
--- ("--- " and "+++ " only). Text before the first file (a commit message, "Index:") is skipped.
---@param diff_text string
---@return codex.PatchFile[]|nil files
---@return string|nil err  why the diff is malformed (nothing is returned then)
function M.parse(diff_text)
  if type(diff_text) ~= "string" then return nil, "the diff is not a string" end
  local ok, files, err = pcall(function()
    local lines = split_lines(diff_text)
    local files, cur = {}, nil
    local function close()
      if cur then
        local f, e = finish_file(cur)
        if not f then return e end
        files[#files + 1] = f
        cur = nil
      end
    end
    local i = 1
    while i <= #lines do
      local l = lines[i]
      local where = ("line %d"):format(i)
      if l:sub(1, 11) == "diff --git " then
        local e = close()
        if e then return nil, where .. ": " .. e end
        local a, b = git_line_paths(l:sub(12))
        cur = { git = true, old_path = a, new_path = b, hunks = {} }
        i = i + 1
      elseif l:sub(1, 4) == "--- " and lines[i + 1] and lines[i + 1]:sub(1, 4) == "+++ " then
        -- A new file unless this is the ---/+++ pair of a git header that has none yet.
        if not (cur and cur.git and not cur.headers and #cur.hunks == 0) then
          local e = close()
          if e then return nil, where .. ": " .. e end
          cur = { hunks = {} }
        end
        cur.headers = true
        cur.old_path = header_path(l:sub(5))
        cur.new_path = header_path(lines[i + 1]:sub(5))
        local hunks, nxt = parse_hunk_run(lines, i + 2, "file " .. (cur.new_path or "?"))
        if not hunks then return nil, nxt end
        local after = lines[i + 2]
        if #hunks == 0 and after and chomp_cr(after):match("%S") and not (after:match("^diff ")
          or after:match("^%-%-%- ") or after:match("^Index: ") or after:match("^Only in ")) then
          -- A header pair followed by neither a hunk nor another file: not a diff.
          return nil, ("line %d: expected a hunk (@@) after the file header, got %q"):format(i + 2, after)
        end
        cur.hunks = hunks
        i = nxt
      elseif l:sub(1, 4) == "--- " or l:sub(1, 4) == "+++ " then
        return nil, where .. ": a file header without its " .. (l:sub(1, 1) == "-" and "+++" or "---") .. " line"
      elseif l:sub(1, 3) == "@@ " then
        return nil, where .. ": a hunk outside any file (no ---/+++ header before it)"
      elseif cur and cur.git and not cur.headers then
        -- git's extended header lines
        local rest
        if l:sub(1, 12) == "rename from " then
          cur.renamed, cur.renamed_from = true, unquote(chomp_cr(l:sub(13)))
        elseif l:sub(1, 10) == "rename to " then
          cur.renamed, cur.renamed_to = true, unquote(chomp_cr(l:sub(11)))
        elseif l:sub(1, 10) == "copy from " then
          cur.renamed, cur.renamed_from = true, unquote(chomp_cr(l:sub(11)))
        elseif l:sub(1, 8) == "copy to " then
          cur.renamed, cur.renamed_to = true, unquote(chomp_cr(l:sub(9)))
        else
          rest = l:match("^new file mode (%d+)")
          if rest then cur.added, cur.new_mode = true, rest end
          rest = l:match("^deleted file mode (%d+)")
          if rest then cur.deleted, cur.old_mode = true, rest end
          cur.old_mode = l:match("^old mode (%d+)") or cur.old_mode
          cur.new_mode = l:match("^new mode (%d+)") or cur.new_mode
          if l:match("^Binary files .* differ") or l:match("^GIT binary patch") then cur.binary = true end
        end
        i = i + 1
      else
        i = i + 1 -- text between files (a commit message, "Index:", a binary patch's data)
      end
    end
    local e = close()
    if e then return nil, "end: " .. e end
    return files
  end)
  if not ok then return nil, "malformed diff: " .. tostring(files) end
  if not files then return nil, err end
  return files
end

--- The hunks of one file's diff, as the app-server's fileChange gives them: just the hunks,
--- or a whole one-file diff (its header is skipped). An empty diff has no hunks.
---@param diff_text string
---@return codex.PatchHunk[]|nil hunks
---@return string|nil err
function M.parse_hunks(diff_text)
  if type(diff_text) ~= "string" then return nil, "the diff is not a string" end
  local ok, hunks, err = pcall(function()
    local lines = split_lines(diff_text)
    local i = 1
    while lines[i] and lines[i]:sub(1, 3) ~= "@@ " do
      local l = lines[i]
      if l:sub(1, 4) == "--- " or l:sub(1, 11) == "diff --git " then
        local files, e = M.parse(diff_text)
        if not files then return nil, e end
        if #files ~= 1 then return nil, ("expected the diff of one file, got %d files"):format(#files) end
        return files[1].hunks
      end
      if chomp_cr(l):match("%S") then return nil, ("line %d: expected a hunk (@@), got %q"):format(i, l) end
      i = i + 1
    end
    local hunks, nxt = parse_hunk_run(lines, i, "diff")
    if not hunks then return nil, nxt end
    for j = nxt, #lines do
      if chomp_cr(lines[j]):match("%S") then return nil, ("line %d: unexpected %q after the hunks"):format(j, lines[j]) end
    end
    return hunks
  end)
  if not ok then return nil, "malformed diff: " .. tostring(hunks) end
  if not hunks then return nil, err end
  return hunks
end

--- A hunk that adds (sign "+") or removes ("-") a whole content.
local function content_hunk(content, sign)
  local lines = split_lines(content)
  local h = { old_start = 0, old_count = 0, new_start = 0, new_count = 0, header = "", lines = {},
    no_eol_old = false, no_eol_new = false }
  for k, l in ipairs(lines) do h.lines[k] = { op = sign, text = l } end
  local n = #lines
  local no_eol = n > 0 and content:sub(-1) ~= "\n"
  if sign == "+" then
    h.new_start, h.new_count, h.no_eol_new = n > 0 and 1 or 0, n, no_eol
  else
    h.old_start, h.old_count, h.no_eol_old = n > 0 and 1 or 0, n, no_eol
  end
  return h
end

--- One change of an app-server fileChange item ({path, kind, diff}) as a file: for "add" the
--- diff is the new content and for "delete" the old one (one hunk of all of it); for "update"
--- it is hunks (kind.move_path makes it a rename).
---@param change {path: string, kind: string|{type: string, move_path: string|nil}, diff: string|nil}
---@return codex.PatchFile|nil file
---@return string|nil err
function M.from_change(change)
  if type(change) ~= "table" or type(change.path) ~= "string" then return nil, "a change without a path" end
  local kind = type(change.kind) == "table" and change.kind.type or change.kind
  local move = type(change.kind) == "table" and type(change.kind.move_path) == "string" and change.kind.move_path or nil
  local diff = type(change.diff) == "string" and change.diff or ""
  if kind == "add" then
    return { kind = "add", new_path = change.path, hunks = diff == "" and {} or { content_hunk(diff, "+") } }
  elseif kind == "delete" then
    return { kind = "delete", old_path = change.path, hunks = diff == "" and {} or { content_hunk(diff, "-") } }
  elseif kind == "update" or kind == nil then
    local hunks, err = M.parse_hunks(diff)
    if not hunks then return nil, err end
    return { kind = move and move ~= change.path and "rename" or "update", old_path = change.path,
      new_path = move or change.path, hunks = hunks }
  end
  return nil, ("unknown change kind %q"):format(tostring(kind))
end

-- Applying ----------------------------------------------------------------------------------

--- The text as lines: text without "\r\n"/"\n", and each one's ending ("" for a last line
--- without newline); eol is the ending added lines get (nil if the text has no line ending).
local function text_lines(text)
  local t, e = {}, {}
  local pos, crlf, lf = 1, 0, 0
  while pos <= #text do
    local nl = text:find("\n", pos, true)
    if not nl then
      t[#t + 1], e[#e + 1] = text:sub(pos), ""
      break
    end
    local l = text:sub(pos, nl - 1)
    if l:sub(-1) == "\r" then
      t[#t + 1], e[#e + 1] = l:sub(1, -2), "\r\n"
      crlf = crlf + 1
    else
      t[#t + 1], e[#e + 1] = l, "\n"
      lf = lf + 1
    end
    pos = nl + 1
  end
  if crlf + lf == 0 then return t, e, nil end
  return t, e, crlf > lf and "\r\n" or "\n"
end

--- The hunk as it applies: reversed if asked, with its two sides' lines and first lines.
local function view(h, reverse)
  local old, new, ops = {}, {}, {}
  for k, l in ipairs(h.lines) do
    local op = l.op
    if reverse then op = op == "+" and "-" or op == "-" and "+" or op end
    local text = chomp_cr(l.text)
    ops[k] = { op = op, text = text }
    if op ~= "+" then old[#old + 1] = text end
    if op ~= "-" then new[#new + 1] = text end
  end
  local v = { ops = ops, old = old, new = new, cr = false }
  for _, l in ipairs(h.lines) do
    if l.text:sub(-1) == "\r" then v.cr = true break end
  end
  if reverse then
    v.no_eol_old, v.no_eol_new = h.no_eol_new, h.no_eol_old
  else
    v.no_eol_old, v.no_eol_new = h.no_eol_old, h.no_eol_new
  end
  return v
end

--- The first line of a side: "@@ -5,0" inserts after line 5, so its side starts at 6.
local function first_line(start, count) return count == 0 and start + 1 or start end

local function check_hunk(h)
  if type(h) ~= "table" or type(h.lines) ~= "table" or type(h.old_start) ~= "number" then
    return "not a hunk"
  end
  local o, n = 0, 0
  for _, l in ipairs(h.lines) do
    if type(l) ~= "table" or type(l.text) ~= "string" then return "a line is not {op, text}" end
    if l.op == " " then o, n = o + 1, n + 1
    elseif l.op == "-" then o = o + 1
    elseif l.op == "+" then n = n + 1
    else return ("a line's op is %q"):format(tostring(l.op)) end
  end
  if (h.old_count and h.old_count ~= o) or (h.new_count and h.new_count ~= n) then
    return ("its lines (%d old, %d new) do not match its header (%s old, %s new)"):format(o, n,
      tostring(h.old_count), tostring(h.new_count))
  end
  return nil, o, n
end

--- Does the hunk's old side equal the text's lines from p on (and its end-of-file newline)?
local function matches(v, t, e, p)
  local n = #v.old
  if p < 1 or p + n - 1 > #t then return false end
  for k = 1, n do
    if t[p + k - 1] ~= v.old[k] then return false end
  end
  local last = p + n - 1
  if n > 0 then
    local at_eof_without_nl = last == #t and e[last] == ""
    if v.no_eol_old ~= at_eof_without_nl then return false end
  elseif v.no_eol_old then
    return false
  elseif p == #t + 1 and p > 1 and e[#t] == "" then
    return false -- appending after a last line without newline changes that line: not said
  end
  -- The new side ends without newline only where it ends the file.
  if v.no_eol_new and last ~= #t then return false end
  return true
end

local function shorten(s) return #s > 60 and (s:sub(1, 57) .. "...") or s end

--- Why the hunk does not match at p, for the user: the first line that differs.
local function difference(v, t, e, p)
  for k = 1, #v.old do
    local l = p + k - 1
    if t[l] == nil then return ("the text ends at line %d, the hunk needs %d more"):format(#t, #v.old - k + 1) end
    if t[l] ~= v.old[k] then return ("line %d is %q, the diff has %q"):format(l, shorten(t[l]), shorten(v.old[k])) end
  end
  local last = p + #v.old - 1
  if #v.old == 0 and p == #t + 1 and p > 1 and e[#t] == "" then
    return "the diff adds lines after the last one, which has no newline"
  end
  if v.no_eol_new and last ~= #t then return "the diff says it ends the file, the text goes on" end
  return v.no_eol_old and "the diff says the file has no newline at its end, it has one"
    or "the diff says the file has a newline at its end, it has none"
end

--- Applies hunks (all of a file's, or some) to the file's text. See the module's header for
--- what it guarantees: the whole new text, or nil and an error and nothing applied.
---@param text string  the file's content ("" for a file that does not exist)
---@param hunks codex.PatchHunk[]
---@param opts codex.PatchApplyOpts|nil
---@return string|nil new_text
---@return codex.PatchError|codex.PatchApplied result  the error (nil text), else the offsets found
function M.apply(text, hunks, opts)
  opts = opts or {}
  local reverse = opts.reverse and true or false
  local max_offset = math.max(0, math.floor(tonumber(opts.max_offset) or M.MAX_OFFSET))
  if type(text) ~= "string" then return nil, { message = "the text is not a string", reason = "invalid" } end
  if type(hunks) ~= "table" then return nil, { message = "the hunks are not a list", reason = "invalid" } end
  local n_h = #hunks
  local what = function(i) return ("hunk %d of %d"):format(i, n_h) end

  -- Each hunk's expected first line in the text, from its own numbers (see the header).
  local items = {}
  for i, h in ipairs(hunks) do
    local bad, o, n = check_hunk(h)
    if bad then return nil, { message = what(i) .. ": " .. bad, hunk = i, reason = "invalid" } end
    local old_first = first_line(h.old_start, o)
    items[#items + 1] = { i = i, h = h, v = view(h, reverse), old_first = old_first, o = o, n = n, delta = n - o }
  end
  table.sort(items, function(a, b)
    if a.old_first ~= b.old_first then return a.old_first < b.old_first end
    if a.o ~= b.o then return a.o < b.o end -- an insertion goes before the lines it precedes
    return a.i < b.i
  end)
  -- Overlap, on the hunks' own (old side) numbers: the same lines changed twice, or two
  -- insertions at the same place (which first?).
  for k = 2, #items do
    local a, b = items[k - 1], items[k]
    local a_end = a.old_first + a.o -- first line after a's old range
    if b.old_first < a_end or (a.o == 0 and b.o == 0 and a.old_first == b.old_first) then
      return nil, { message = ("%s overlaps %s (both change line %d)"):format(what(b.i), what(a.i), b.old_first),
        hunk = b.i, reason = "overlap" }
    end
  end
  local shift = 0 -- reverse: the lines the given hunks before this one added to the text
  for _, it in ipairs(items) do
    if reverse then
      it.expect = it.old_first + shift
      shift = shift + it.delta
    else
      it.expect = it.old_first
    end
  end

  local t, e, eol = text_lines(text)
  if not eol then
    -- Nothing to learn from (an empty or one-line text): a diff of a CRLF file has the "\r"s.
    eol = "\n"
    for _, it in ipairs(items) do
      if it.v.cr then eol = "\r\n" break end
    end
  end
  -- Find every hunk's place first: nothing is built unless all of them match.
  local carry, floor = 0, 1 -- the previous hunk's offset; the first line it left untouched
  for _, it in ipairs(items) do
    local want = it.expect + carry
    local found
    -- (a hunk without old lines matches anywhere: only its own place, no search)
    for d = 0, #it.v.old > 0 and max_offset or 0 do
      for _, p in ipairs(d == 0 and { want } or { want - d, want + d }) do
        if p >= floor and matches(it.v, t, e, p) then found = p break end
      end
      if found then break end
    end
    if not found then
      local at = math.max(1, want)
      return nil, { message = ("%s does not match the text at line %d%s: %s"):format(what(it.i), at,
        max_offset > 0 and (" or within %d lines of it"):format(max_offset) or "", difference(it.v, t, e, at)),
        hunk = it.i, reason = "context", line = at }
    end
    it.at = found
    carry = found - it.expect
    floor = found + #it.v.old
  end

  -- Build the new text.
  local ot, oe = {}, {}
  local cursor, eof_by_hunk, eof_no_eol = 1, false, false
  local offsets = {}
  for _, it in ipairs(items) do
    for k = cursor, it.at - 1 do ot[#ot + 1], oe[#oe + 1] = t[k], e[k] end
    local k = it.at
    for _, l in ipairs(it.v.ops) do
      if l.op == " " then
        ot[#ot + 1], oe[#oe + 1] = t[k], e[k]
        k = k + 1
      elseif l.op == "-" then
        k = k + 1
      else
        ot[#ot + 1], oe[#oe + 1] = l.text, eol
      end
    end
    cursor = k
    if k > #t then eof_by_hunk, eof_no_eol = true, it.v.no_eol_new end
    offsets[it.i] = it.at - it.expect
  end
  for k = cursor, #t do ot[#ot + 1], oe[#oe + 1] = t[k], e[k] end
  local last = #ot
  for k = 1, last - 1 do
    if oe[k] == "" then oe[k] = eol end -- a line that was last and no longer is
  end
  if last > 0 and eof_by_hunk then
    if eof_no_eol then oe[last] = "" elseif oe[last] == "" then oe[last] = eol end
  end
  local parts = {}
  for k = 1, last do parts[#parts + 1] = ot[k] .. oe[k] end
  return table.concat(parts), { offsets = offsets }
end

-- Summaries and text ------------------------------------------------------------------------

--- How many lines a hunk adds and removes.
---@param hunk codex.PatchHunk
---@return integer added
---@return integer removed
function M.counts(hunk)
  local added, removed = 0, 0
  for _, l in ipairs(hunk.lines) do
    if l.op == "+" then added = added + 1 elseif l.op == "-" then removed = removed + 1 end
  end
  return added, removed
end

--- Lines added and removed, per file (by its new path, the old one for a deletion) and in all.
---@param files codex.PatchFile[]
---@return table<string, codex.PatchCount> by_path
---@return codex.PatchTotal total
function M.summary(files)
  local by, total = {}, { files = 0, added = 0, removed = 0 }
  for _, f in ipairs(files or {}) do
    local path = f.new_path or f.old_path or "?"
    local c = by[path]
    if not c then
      c = { added = 0, removed = 0 }
      by[path] = c
      total.files = total.files + 1
    end
    for _, h in ipairs(f.hunks or {}) do
      local a, r = M.counts(h)
      c.added, c.removed = c.added + a, c.removed + r
      total.added, total.removed = total.added + a, total.removed + r
    end
  end
  return by, total
end

--- "3 files changed, +40 −12" (a turn's footer).
---@param total codex.PatchTotal
---@return string
function M.summary_text(total)
  return ("%d file%s changed, +%d −%d"):format(total.files, total.files == 1 and "" or "s", total.added, total.removed)
end

local function range(start, count)
  return count == 1 and tostring(start) or ("%d,%d"):format(start, count)
end

local NO_EOL = "\\ No newline at end of file"

local function quote(p)
  if p:find('[%c"\\]') then
    return '"' .. p:gsub('[%c"\\]', function(c)
      local named = { ["\n"] = "\\n", ["\t"] = "\\t", ['"'] = '\\"', ["\\"] = "\\\\" }
      return named[c] or ("\\%03o"):format(c:byte())
    end) .. '"'
  end
  return p
end

--- A hunk's text, its new_start given (format renumbers a subset).
local function hunk_lines(h, new_start, out)
  local o, n = 0, 0
  for _, l in ipairs(h.lines) do
    if l.op ~= "+" then o = o + 1 end
    if l.op ~= "-" then n = n + 1 end
  end
  out[#out + 1] = ("@@ -%s +%s @@%s"):format(range(h.old_start, o), range(new_start or h.new_start, n),
    (h.header and h.header ~= "") and (" " .. h.header) or "")
  -- The marker goes after the last line of each side that lacks a newline.
  local last_old, last_new
  for k, l in ipairs(h.lines) do
    if l.op ~= "+" then last_old = k end
    if l.op ~= "-" then last_new = k end
  end
  for k, l in ipairs(h.lines) do
    out[#out + 1] = l.op .. l.text
    if (h.no_eol_old and k == last_old) or (h.no_eol_new and k == last_new) then out[#out + 1] = NO_EOL end
  end
end

local function file_header(file, out, with_hunks)
  local a = file.old_path and ("a/" .. file.old_path)
  local b = file.new_path and ("b/" .. file.new_path)
  out[#out + 1] = ("diff --git %s %s"):format(quote(a or ("a/" .. file.new_path)), quote(b or ("b/" .. file.old_path)))
  if file.kind == "add" then out[#out + 1] = "new file mode " .. (file.new_mode or "100644") end
  if file.kind == "delete" then out[#out + 1] = "deleted file mode " .. (file.old_mode or "100644") end
  if file.kind == "rename" then
    out[#out + 1] = "rename from " .. quote(file.old_path)
    out[#out + 1] = "rename to " .. quote(file.new_path)
  end
  if not with_hunks then return end -- (git writes no ---/+++ for a rename or an empty file)
  out[#out + 1] = "--- " .. (a and quote(a) or "/dev/null")
  out[#out + 1] = "+++ " .. (b and quote(b) or "/dev/null")
end

--- A unified diff (git style) of some of a file's hunks: the new side's line numbers are
--- recomputed, so the text applies with `git apply` / `patch` to the old file as it is.
---@param file codex.PatchFile
---@param hunks codex.PatchHunk[]|nil  default: all of the file's
---@return string
function M.format(file, hunks)
  hunks = hunks or file.hunks
  local sorted = {}
  for k, h in ipairs(hunks) do sorted[k] = h end
  table.sort(sorted, function(x, y) return x.old_start < y.old_start end)
  local out = {}
  file_header(file, out, #sorted > 0)
  local shift = 0
  for _, h in ipairs(sorted) do
    local o, n = 0, 0
    for _, l in ipairs(h.lines) do
      if l.op ~= "+" then o = o + 1 end
      if l.op ~= "-" then n = n + 1 end
    end
    local new_first = first_line(h.old_start, o) + shift
    hunk_lines(h, n == 0 and new_first - 1 or new_first, out)
    shift = shift + n - o
  end
  return table.concat(out, "\n") .. "\n"
end

--- One hunk as a unified diff: with the file's header (a diff that applies on its own), or
--- with opts.headers = false only the "@@" line and the hunk's lines (numbers as parsed).
---@param file codex.PatchFile
---@param hunk codex.PatchHunk
---@param opts {headers: boolean|nil}|nil
---@return string
function M.hunk_text(file, hunk, opts)
  if opts and opts.headers == false then
    local out = {}
    hunk_lines(hunk, nil, out)
    return table.concat(out, "\n") .. "\n"
  end
  return M.format(file, { hunk })
end

return M
