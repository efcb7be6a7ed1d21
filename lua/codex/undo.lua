---@mod codex.undo  Undo of turns: which turns, which file changes, reverse-applied to texts.
---
--- Pure Lua (plain Lua 5.4 and LuaJIT): no vim.*. Files are read and written only through an
--- io table ({read, write}: M.file_io by default, the editor's buffers in codex.ui.undo), so
--- the whole logic runs under Lua 5.4.
---
--- A turn's changes are its completed fileChange items' `changes[{path, kind, diff}]`, in
--- order (stored or live). When the turn's aggregated diff (turn/diff/updated, from the turn's
--- start to its end) is known, it is used instead for the files it covers: it knows what a file
--- held before the turn (an "add" over an existing file is an update there).
---
--- Undoing turns [k..n] reverse-applies every step of turns n, n-1, …, k to a virtual copy of
--- the files (codex.patch: never blind, all or nothing per step); only if every step applies
--- is anything written, unless the caller says so (force: leave the hunks that do not apply;
--- skip: leave whole files). Redo applies the steps that undo applied, forwards.
local patch = require("codex.patch")
local util = require("codex.util")

local M = {}

---@class codex.UndoStep
---@field turn_id string
---@field kind "add"|"delete"|"update"|"rename"
---@field path string  the file before the step (for an add: the file it creates)
---@field new_path string  the file after it (== path but for a rename)
---@field hunks codex.PatchHunk[]

---@class codex.UndoConflict
---@field path string
---@field turn_id string
---@field message string  why, for the user
---@field hunks codex.PatchHunk[]  the hunks that do not apply (all of the step's for a missing file)
---@field step codex.UndoStep

---@class codex.UndoFile
---@field path string
---@field action "restored"|"deleted"|"created"  what the undo does to it (redo: the other way)
---@field hunks integer  hunks applied
---@field skipped integer  hunks left (conflicts under force, or a skipped file)
---@field added integer  lines the undo adds to it
---@field removed integer  lines the undo removes from it

---@class codex.UndoPlan
---@field turn_ids string[]  the turns undone, oldest first
---@field steps codex.UndoStep[]  every file change of those turns, in the order they happened
---@field applied codex.UndoStep[]  the steps (with the hunks) that apply, in the order applied
---@field conflicts codex.UndoConflict[]
---@field files codex.UndoFile[]  by path, sorted
---@field writes table<string, string|false>  path -> new text, or false: remove the file
---@field before table<string, string|false>  path -> its text now (false: there is none)
---@field commands boolean  a turn ran commands or tools whose file changes the diff does not show
---@field errors string[]  changes that could not be read (malformed diffs)

local function tbl(v) return type(v) == "table" and v or nil end
local str = util.str
local function list(v)
  local out = {}
  for _, x in ipairs(tbl(v) or {}) do if type(x) == "table" then out[#out + 1] = x end end
  return out
end

--- Item types that may change files without a fileChange item.
local COMMANDS = { commandExecution = true, mcpToolCall = true, dynamicToolCall = true, collabAgentToolCall = true }

local function is_abs(p) return p:sub(1, 1) == "/" or p:match("^%a:[/\\]") ~= nil end

--- path made absolute against cwd ("." and ".." segments are not resolved: the server sends
--- absolute paths; this is for a relative one).
local function absolute(p, cwd)
  if is_abs(p) or not cwd then return p end
  return (cwd:gsub("/+$", "")) .. "/" .. p:gsub("^%./", "")
end

--- Does the diff path p (relative to the repository's root, or absolute) name the file abs?
local function names(abs, p)
  return abs == p or (#abs > #p and abs:sub(-#p - 1) == "/" .. p)
end

--- A step from a codex.PatchFile of a fileChange change (paths absolute).
local function step_of(file, turn_id, cwd)
  local path = absolute(file.old_path or file.new_path, cwd)
  local new_path = absolute(file.new_path or file.old_path, cwd)
  return { turn_id = turn_id, kind = file.kind, path = path, new_path = new_path, hunks = file.hunks }
end

--- The steps of one turn: its fileChange items (status completed), or, for the files the
--- aggregated diff covers, that diff's file (one step from before the turn to its end).
---@param turn table a codex.proto.Turn (items loaded)
---@param opts {cwd: string|nil, diff: string|nil}|nil
---@return codex.UndoStep[] steps
---@return boolean commands
---@return string[] errors
function M.turn_steps(turn, opts)
  opts = opts or {}
  local steps, errors, commands = {}, {}, false
  local tid = str(turn.id) or "?"
  for _, item in ipairs(list(turn.items)) do
    if COMMANDS[item.type] then commands = true end
    if item.type == "fileChange" and item.status == "completed" then
      for _, change in ipairs(list(item.changes)) do
        local f, err = patch.from_change(change)
        if f then steps[#steps + 1] = step_of(f, tid, opts.cwd)
        else errors[#errors + 1] = ("%s: %s"):format(tostring(change.path), err) end
      end
    end
  end
  local files = opts.diff and patch.parse(opts.diff)
  if files then
    -- Each diff file names one path the items touched (not a rename: the items keep those).
    local by_path = {}
    for _, f in ipairs(files) do
      if f.kind ~= "rename" and not f.binary then
        local p = f.new_path or f.old_path
        local match
        for _, s in ipairs(steps) do
          if s.kind ~= "rename" and names(s.path, p) then
            if match and match ~= s.path then match = false break end
            match = s.path
          end
        end
        if match then by_path[match] = f end
      end
    end
    local out, done = {}, {}
    for _, s in ipairs(steps) do
      local f = by_path[s.path]
      if not f then out[#out + 1] = s
      elseif not done[s.path] then
        done[s.path] = true
        out[#out + 1] = { turn_id = tid, kind = f.kind, path = s.path, new_path = s.path, hunks = f.hunks }
      end
    end
    steps = out
  end
  return steps, commands, errors
end

--- The turns from the one with turn_id (default: the last) to the last, oldest first; nil and
--- a message if there is no such turn.
---@param turns table[] oldest first
---@param turn_id string|nil
---@return table[]|nil
---@return string|nil err
function M.from_turn(turns, turn_id)
  turns = list(turns)
  if #turns == 0 then return nil, "the thread has no turns" end
  local first = turn_id == nil and #turns or nil
  for i, t in ipairs(turns) do if t.id == turn_id then first = i end end
  if not first then return nil, ("no turn %s in this thread"):format(tostring(turn_id)) end
  local out = {}
  for i = first, #turns do out[#out + 1] = turns[i] end
  return out
end

--- Which of the step's hunks apply to text, each on its own (for a conflict's report).
local function split_hunks(text, hunks, reverse)
  local ok, bad = {}, {}
  for _, h in ipairs(hunks) do
    if patch.apply(text, { h }, { reverse = reverse }) then ok[#ok + 1] = h else bad[#bad + 1] = h end
  end
  return ok, bad
end

local function count(hunks, reverse)
  local add, rem = 0, 0
  for _, h in ipairs(hunks) do
    local a, r = patch.counts(h)
    add, rem = add + a, rem + r
  end
  if reverse then return rem, add end
  return add, rem
end

--- Runs steps (in the order given) on a virtual copy of the files: reverse for undo. Returns
--- the plan's applied, conflicts, writes, before and files.
---@param steps codex.UndoStep[]
---@param io {read: fun(path: string): string|nil}
---@param opts {reverse: boolean|nil, force: boolean|nil, skip: table<string, boolean>|nil}
local function simulate(steps, io, opts)
  local reverse = opts.reverse
  local vfs, before = {}, {}
  local function get(p)
    if vfs[p] == nil then
      local t = io.read(p)
      before[p] = t or false
      vfs[p] = t or false
    end
    return vfs[p] or nil
  end
  local applied, conflicts, stats = {}, {}, {}
  local function stat(p)
    stats[p] = stats[p] or { path = p, hunks = 0, skipped = 0, added = 0, removed = 0 }
    return stats[p]
  end
  local function conflict(s, message, hunks)
    conflicts[#conflicts + 1] = { path = reverse and s.new_path or s.path, turn_id = s.turn_id, message = message, hunks = hunks, step = s }
  end
  for _, s in ipairs(steps) do
    -- reverse: from new_path's text to path's; forwards: from path's to new_path's
    local from, to = s.path, s.new_path
    if reverse then from, to = s.new_path, s.path end
    local st = stat(to)
    if opts.skip and (opts.skip[from] or opts.skip[to]) then
      st.skipped = st.skipped + #s.hunks
    else
      local creates = (reverse and s.kind == "delete") or (not reverse and s.kind == "add")
      local cur = get(from)
      if creates then
        if cur ~= nil and cur ~= "" then
          conflict(s, "the file exists (the undo would write it anew)", s.hunks)
          st.skipped = st.skipped + #s.hunks
          cur = false
        else
          cur = ""
        end
      elseif cur == nil then
        conflict(s, "the file is gone", s.hunks)
        st.skipped = st.skipped + #s.hunks
      end
      if cur then
        local hunks = s.hunks
        local new, res = patch.apply(cur, hunks, { reverse = reverse })
        if not new then
          local ok, bad = split_hunks(cur, hunks, reverse)
          conflict(s, res.message, bad)
          if opts.force and #ok > 0 then
            new = patch.apply(cur, ok, { reverse = reverse })
            if new then hunks = ok end
          end
          st.skipped = st.skipped + #s.hunks - (new and #hunks or 0)
        end
        if new then
          local a, r = count(hunks, reverse)
          st.hunks, st.added, st.removed = st.hunks + #hunks, st.added + a, st.removed + r
          applied[#applied + 1] = { turn_id = s.turn_id, kind = s.kind, path = s.path, new_path = s.new_path, hunks = hunks }
          local removes = (reverse and s.kind == "add") or (not reverse and s.kind == "delete")
          if from ~= to then
            vfs[from] = false
            get(to)
          end
          if removes and new == "" then vfs[to] = false else vfs[to] = new end
        end
      end
    end
  end
  local writes, files = {}, {}
  for p, t in pairs(vfs) do
    if t ~= before[p] then writes[p] = t end
  end
  for p, st in pairs(stats) do
    local b, a = before[p], vfs[p]
    st.action = (a == false and b ~= false) and "deleted" or ((b == false and a ~= false) and "created" or "restored")
    files[#files + 1] = st
  end
  -- a rename's old path is written too (removed) but counted under its other name
  for p, t in pairs(writes) do
    if not stats[p] then files[#files + 1] = { path = p, hunks = 0, skipped = 0, added = 0, removed = 0, action = t == false and "deleted" or "created" } end
  end
  table.sort(files, function(x, y) return x.path < y.path end)
  return applied, conflicts, writes, before, files
end

--- The plan of undoing turns (oldest first; codex.proto.Turn with their items): every step,
--- reverse-applied to what io.read gives, newest first. Nothing is written here.
---@param turns table[]
---@param io {read: fun(path: string): string|nil}
---@param opts {cwd: string|nil, diffs: table<string, string>|nil, force: boolean|nil, skip: table<string, boolean>|nil}|nil
---@return codex.UndoPlan
function M.plan(turns, io, opts)
  opts = opts or {}
  local steps, errors, commands, ids = {}, {}, false, {}
  for _, t in ipairs(list(turns)) do
    ids[#ids + 1] = str(t.id) or "?"
    local s, cmd, errs = M.turn_steps(t, { cwd = opts.cwd, diff = opts.diffs and opts.diffs[t.id] })
    for _, x in ipairs(s) do steps[#steps + 1] = x end
    for _, e in ipairs(errs) do errors[#errors + 1] = e end
    commands = commands or cmd
  end
  local rev = {}
  for i = #steps, 1, -1 do rev[#rev + 1] = steps[i] end
  local applied, conflicts, writes, before, files = simulate(rev, io, { reverse = true, force = opts.force, skip = opts.skip })
  return { turn_ids = ids, steps = steps, applied = applied, conflicts = conflicts, writes = writes,
    before = before, files = files, commands = commands, errors = errors }
end

--- The plan of redoing an undo: its applied steps, forwards, in the order they happened.
---@param applied codex.UndoStep[] an undo plan's applied
---@param io {read: fun(path: string): string|nil}
---@param opts {force: boolean|nil, skip: table<string, boolean>|nil}|nil
---@return codex.UndoPlan
function M.redo_plan(applied, io, opts)
  opts = opts or {}
  local fwd = {}
  for i = #applied, 1, -1 do fwd[#fwd + 1] = applied[i] end
  local done, conflicts, writes, before, files = simulate(fwd, io, { force = opts.force, skip = opts.skip })
  return { turn_ids = {}, steps = fwd, applied = done, conflicts = conflicts, writes = writes, before = before,
    files = files, commands = false, errors = {} }
end

--- Writes a plan's writes through io.write(path, text|false); returns the paths written and
--- the errors ({path, message}).
---@param plan codex.UndoPlan
---@param io {write: fun(path: string, text: string|false): boolean|nil, string|nil}
---@return string[] written
---@return {path: string, message: string}[] errors
function M.write(plan, io)
  local paths = {}
  for p in pairs(plan.writes) do paths[#paths + 1] = p end
  -- creations before removals, so that a rename's new file is there before the old goes
  table.sort(paths, function(a, b)
    local da, db = plan.writes[a] == false, plan.writes[b] == false
    if da ~= db then return db end
    return a < b
  end)
  local written, errs = {}, {}
  for _, p in ipairs(paths) do
    local ok, err = io.write(p, plan.writes[p])
    if ok then written[#written + 1] = p else errs[#errs + 1] = { path = p, message = tostring(err) } end
  end
  return written, errs
end

--- Plain files: read gives nil for a file that does not exist; write(path, false) removes it.
---@type {read: fun(path: string): string|nil, write: fun(path: string, text: string|false): boolean|nil, string|nil}
M.file_io = { read = util.read_file, write = util.write_file }

--- Is err the server's "no such method" (thread/revert on a release before it, thread/rollback
--- on one after)?
---@param err any
---@return boolean
function M.method_missing(err)
  if type(err) ~= "table" then return false end
  local msg = type(err.message) == "string" and err.message or ""
  return err.code == -32601 or msg:find("unknown variant", 1, true) ~= nil or msg:lower():find("method not found", 1, true) ~= nil
end

--- "a.txt (restored, 2 hunks)" lines for the user: what the plan does, file by file.
---@param plan codex.UndoPlan
---@param display fun(path: string): string|nil
---@return string[]
function M.file_lines(plan, display)
  display = display or function(p) return p end
  local out = {}
  for _, f in ipairs(plan.files) do
    local what = ("%s: %s, %d hunk%s (+%d −%d)"):format(display(f.path), f.action, f.hunks, f.hunks == 1 and "" or "s", f.added, f.removed)
    if f.skipped > 0 then what = what .. (", %d left as is"):format(f.skipped) end
    out[#out + 1] = what
  end
  return out
end

--- The hunk lines of a plan's conflicts ("@@ … @@" and the lines), per conflict a header.
---@param plan codex.UndoPlan
---@param display fun(path: string): string|nil
---@return string[]
function M.conflict_lines(plan, display)
  display = display or function(p) return p end
  local out = {}
  for _, c in ipairs(plan.conflicts) do
    out[#out + 1] = ("%s: %s"):format(display(c.path), c.message)
    for _, h in ipairs(c.hunks) do
      local f = { kind = "update", old_path = c.step.path, new_path = c.step.new_path, hunks = { h } }
      for line in patch.hunk_text(f, h, { headers = false }):gmatch("([^\n]*)\n") do out[#out + 1] = "  " .. line end
    end
  end
  return out
end

return M
