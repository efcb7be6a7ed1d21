---@mod codex.ui.approval_hunks  Which hunks of a file-change approval the user accepts (pure).
---
--- The file-change approval lists the patch hunk by hunk; each hunk is accepted (the default)
--- or rejected. This module keeps that choice and says what it means:
---
---  * all accepted: the request is accepted (codex writes the whole patch, as without it);
---  * none: the request is declined;
---  * some: the request is declined and the plugin applies the accepted hunks itself
---    (codex.ui.hunk_apply), then tells the agent what happened (steer_text).
---
--- A file whose change has no hunks (a rename without edits, an empty new file) is one unit,
--- the whole file. Added and deleted files are one hunk each (all of their content). When a
--- change cannot be parsed, the prompt has no per-hunk choice at all (of() gives nil, why).
--- Pure Lua: no vim.*, so it is tested under plain Lua 5.4 too.
local patch = require("codex.patch")
local util = require("codex.util")
local val, list = util.val, util.list

local M = {}

---@class codex.HunkUnit
---@field hunk codex.PatchHunk|nil nil: the whole file (a change without hunks)
---@field accepted boolean

---@class codex.HunkFile
---@field path string the change's path, as the server gives it
---@field file codex.PatchFile
---@field kind codex.PatchKind
---@field units codex.HunkUnit[]

---@class codex.HunkSelection
---@field files codex.HunkFile[]
---@field flat {file: integer, unit: integer}[] every unit, in the prompt's order

--- The hunk selection of a patch request's changes ({path, kind, diff}), all accepted; nil
--- and why when some change cannot be split into hunks (then the answer is all or nothing).
---@param changes table[]
---@return codex.HunkSelection|nil sel
---@return string|nil why
function M.of(changes)
  local sel = { files = {}, flat = {} }
  for _, c in ipairs(list(changes)) do
    if type(c) == "table" then
      local path = val(c.path)
      if type(path) ~= "string" or path == "" then return nil, "a change without a path" end
      local kind = val(c.kind)
      local change = { path = path, diff = val(c.diff) }
      if type(kind) == "table" then
        change.kind = { type = val(kind.type), move_path = val(kind.move_path) }
      else
        change.kind = kind
      end
      local file, err = patch.from_change(change)
      if not file then return nil, ("%s: %s"):format(path, tostring(err)) end
      if file.binary then return nil, path .. ": a binary change" end
      local f = { path = path, file = file, kind = file.kind, units = {} }
      for _, h in ipairs(file.hunks) do f.units[#f.units + 1] = { hunk = h, accepted = true } end
      if #f.units == 0 then f.units[1] = { hunk = nil, accepted = true } end
      sel.files[#sel.files + 1] = f
      for u = 1, #f.units do sel.flat[#sel.flat + 1] = { file = #sel.files, unit = u } end
    end
  end
  if #sel.files == 0 then return nil, "no changes" end
  return sel
end

--- The unit at flat index i.
---@param sel codex.HunkSelection
---@param i integer
---@return codex.HunkUnit|nil unit, codex.HunkFile|nil file
function M.unit(sel, i)
  local at = sel.flat[i]
  if not at then return nil, nil end
  local f = sel.files[at.file]
  return f.units[at.unit], f
end

--- Accepted and total units.
---@param sel codex.HunkSelection
---@return integer accepted, integer total
function M.counts(sel)
  local n = 0
  for i = 1, #sel.flat do
    if M.unit(sel, i).accepted then n = n + 1 end
  end
  return n, #sel.flat
end

--- "all", "some" or "none" accepted.
---@param sel codex.HunkSelection
---@return "all"|"some"|"none"
function M.state(sel)
  local n, total = M.counts(sel)
  if n == total then return "all" end
  return n == 0 and "none" or "some"
end

--- Sets unit i accepted (true), rejected (false) or toggled (nil). Returns the new value.
---@param sel codex.HunkSelection
---@param i integer
---@param accepted boolean|nil
---@return boolean|nil
function M.set(sel, i, accepted)
  local u = M.unit(sel, i)
  if not u then return nil end
  if accepted == nil then accepted = not u.accepted end
  u.accepted = accepted
  return accepted
end

--- Accepts (true) or rejects (false) every unit.
---@param sel codex.HunkSelection
---@param accepted boolean
function M.set_all(sel, accepted)
  for i = 1, #sel.flat do M.unit(sel, i).accepted = accepted end
end

local count_ops = patch.counts

--- How a unit is named: its "@@ -a,b +c,d @@" line for an update, else what it does to the
--- whole file ("new file, 2 lines").
---@param f codex.HunkFile
---@param u codex.HunkUnit
---@return string
function M.title(f, u)
  if f.kind == "add" then
    local n = u.hunk and select(1, count_ops(u.hunk)) or 0
    return ("new file, %d line%s"):format(n, n == 1 and "" or "s")
  elseif f.kind == "delete" then
    local n = u.hunk and select(2, count_ops(u.hunk)) or 0
    return ("delete the file (%d line%s)"):format(n, n == 1 and "" or "s")
  elseif not u.hunk then
    return f.kind == "rename" and ("rename to " .. tostring(f.file.new_path)) or "the whole file"
  end
  local text = patch.hunk_text(f.file, u.hunk, { headers = false })
  return text:match("^([^\n]*)")
end

--- The accepted and rejected units of a file (the units themselves).
---@param f codex.HunkFile
---@return codex.HunkUnit[] accepted, codex.HunkUnit[] rejected
function M.split(f)
  local a, r = {}, {}
  for _, u in ipairs(f.units) do
    if u.accepted then a[#a + 1] = u else r[#r + 1] = u end
  end
  return a, r
end

--- What the plugin did with one file (codex.ui.hunk_apply fills these in).
---@class codex.HunkOutcome
---@field path string
---@field applied string[] the titles of the accepted units (when applied)
---@field rejected string[] the titles of the rejected units
---@field status "written"|"created"|"deleted"|"renamed"|"unsaved"|"unchanged"|"refused"
---@field error string|nil why it was refused (a hunk that no longer matches, unsaved edits…)
---@field hunk string|nil the title of the hunk that did not match
---@field new_path string|nil a rename's target

local function titles(ts)
  return table.concat(ts, ", ")
end

--- The message that tells the agent (a steer in the same turn) what happened to its patch:
--- per file what was applied and rejected (by their @@ lines) and where it went.
---@param outcomes codex.HunkOutcome[]
---@return string
function M.steer_text(outcomes)
  local out = {
    "I reviewed your patch hunk by hunk in my editor. The patch as a whole was declined;"
      .. " the editor applied only the hunks I accepted:",
  }
  for _, o in ipairs(outcomes) do
    local rej = #o.rejected > 0 and ("; rejected " .. titles(o.rejected)) or ""
    local line
    if o.status == "refused" then
      line = ("- %s: NOT changed, nothing of it was applied: %s%s"):format(o.path, o.error or "refused",
        #o.applied > 0 and (" (it would have applied " .. titles(o.applied) .. ")") or "")
      line = line .. rej
    elseif o.status == "unchanged" then
      line = ("- %s: unchanged; rejected %s"):format(o.path, titles(o.rejected))
    else
      local where = ({
        written = "written to disk",
        created = "created on disk",
        deleted = "deleted from disk",
        renamed = "renamed to " .. tostring(o.new_path),
        unsaved = "applied to my unsaved buffer only: the file on disk does not have it",
      })[o.status] or o.status
      line = ("- %s: applied %s (%s)%s"):format(o.path, titles(o.applied), where, rej)
    end
    out[#out + 1] = line
  end
  out[#out + 1] = "Continue from the files as they are now: do not apply the rejected hunks again"
    .. " unless I ask, and re-read a file before changing it further."
  return table.concat(out, "\n")
end

return M
