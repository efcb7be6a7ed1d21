---@mod codex.ui.hunk_apply  Applies the hunks the user accepted: to the buffer, else the file.
---
--- Called only on the user's explicit "apply only the accepted hunks" answer of a file-change
--- approval (codex.ui.approval); codex itself was told "decline", so these writes are the
--- plugin's. Per file, all or nothing (codex.patch.apply): a hunk whose context no longer
--- matches the file's text refuses the whole file and nothing of it is written. Every file is
--- checked before any is written.
---
---  * A file loaded in a buffer is changed in the buffer: one nvim_buf_set_lines call over the
---    changed lines, so one `u` takes it back. A buffer without unsaved changes gets the file's
---    text with the hunks (the file is what the agent saw; the buffer may be older) and is
---    written; one with unsaved edits of the user's is changed only when the hunks match its
---    text (unsaved edits included) and is not written: the outcome says so ("unsaved").
---  * Otherwise the file on disk is read, patched and written (an added file is created, and
---    refused if it exists; a deleted one removed; a rename writes the new path and removes the
---    old one). A delete or rename of a buffer with unsaved edits is refused.
local api = vim.api
local patch = require("codex.patch")
local hunks = require("codex.ui.approval_hunks")

local M = {}

local absolute = require("codex.ui.util").absolute

local read_file, write_file = require("codex.util").read_file, require("codex.util").write_file

--- A buffer's text as it would be written ('eol'/'fixeol' give the final newline).
local function buffer_text(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  if #lines == 1 and lines[1] == "" then return "" end
  local eol = vim.bo[buf].eol or vim.bo[buf].fixeol
  return table.concat(lines, "\n") .. (eol and "\n" or "")
end

--- The text as buffer lines and whether it ends with a newline.
local function text_to_lines(text)
  local eol = text:sub(-1) == "\n"
  local body = eol and text:sub(1, -2) or text
  local lines = {}
  for l in (body .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
  return lines, eol or text == ""
end

--- Replaces a buffer's text by `text` in one set_lines call over the lines that differ.
local function set_buffer_text(buf, text)
  local new, eol = text_to_lines(text)
  local old = api.nvim_buf_get_lines(buf, 0, -1, false)
  local first = 1
  while first <= #old and first <= #new and old[first] == new[first] do first = first + 1 end
  local o_last, n_last = #old, #new
  while o_last >= first and n_last >= first and old[o_last] == new[n_last] do
    o_last, n_last = o_last - 1, n_last - 1
  end
  if first <= o_last or first <= n_last then
    -- an undo step of its own: not joined with what was changed before (API changes between
    -- two typed commands are one undo step); setting 'undolevels' closes the current one
    api.nvim_buf_call(buf, function() vim.cmd("let &l:undolevels = &l:undolevels") end)
    local repl = {}
    for k = first, n_last do repl[#repl + 1] = new[k] end
    api.nvim_buf_set_lines(buf, first - 1, o_last, false, repl)
  end
  if not eol then
    vim.bo[buf].eol, vim.bo[buf].fixeol = false, false
  elseif not vim.bo[buf].eol and not vim.bo[buf].fixeol then
    vim.bo[buf].eol = true
  end
end

local function titles(f, units)
  local out = {}
  for _, u in ipairs(units) do out[#out + 1] = hunks.title(f, u) end
  return out
end

--- Checks one file: its current text (buffer or disk) and the accepted hunks' new text.
--- Returns a plan {outcome, buf, text, new_text, abs, abs_new} (outcome.status "refused"
--- when it cannot be applied).
local function check(f, cwd, buffer_of)
  local accepted, rejected = hunks.split(f)
  local o = { path = f.path, applied = titles(f, accepted), rejected = titles(f, rejected) }
  local plan = { outcome = o, file = f }
  if #accepted == 0 then
    o.status, o.applied = "unchanged", {}
    return plan
  end
  local abs = absolute(f.file.old_path or f.path, cwd)
  local buf = buffer_of(abs, cwd)
  plan.abs, plan.buf = abs, buf
  plan.modified = buf ~= nil and vim.bo[buf].modified
  local function refuse(why, hunk_title)
    o.status, o.error, o.hunk = "refused", why, hunk_title
    return plan
  end
  local text
  if f.kind == "add" then
    abs = absolute(f.file.new_path or f.path, cwd)
    plan.abs = abs
    if vim.loop.fs_stat(abs) then return refuse("the file exists already") end
    if buf and buffer_text(buf) ~= "" then return refuse("its buffer in the editor is not empty") end
    text = ""
  elseif plan.modified then
    text = buffer_text(buf) -- the user's unsaved text: the hunks must match it
  else
    -- (an unmodified buffer may be older than its file: the file is what the agent saw)
    text = read_file(abs)
    if not text then return refuse("the file does not exist (any more)") end
  end
  if (f.kind == "delete" or f.kind == "rename") and plan.modified then
    return refuse("it has unsaved changes in the editor")
  end
  local list = {}
  for _, u in ipairs(accepted) do
    if u.hunk then list[#list + 1] = u.hunk end
  end
  local new_text, res = patch.apply(text, list)
  if not new_text then
    local bad = res.hunk and list[res.hunk]
    local t
    for _, u in ipairs(accepted) do
      if u.hunk == bad then t = hunks.title(f, u) end
    end
    local why = tostring(res.message):gsub("^hunk %d+ of %d+ ", "")
    return refuse(("%s no longer matches the %s (%s)"):format(t or "a hunk", plan.modified and "unsaved buffer" or "file", why), t)
  end
  if f.kind == "rename" then
    plan.abs_new = absolute(f.file.new_path, cwd)
    o.new_path = f.file.new_path
    if vim.loop.fs_stat(plan.abs_new) then return refuse(f.file.new_path .. " exists already") end
  end
  plan.text, plan.new_text = text, new_text
  return plan
end

--- Writes one checked file; sets its outcome's status.
local function write(plan)
  local o, f = plan.outcome, plan.file
  local function fail(err)
    o.status, o.error = "refused", "could not write it: " .. tostring(err)
  end
  if f.kind == "delete" then
    local ok, err = os.remove(plan.abs)
    if not ok then return fail(err) end
    o.status = "deleted"
  elseif f.kind == "rename" then
    local ok, err = write_file(plan.abs_new, plan.new_text)
    if not ok then return fail(err) end
    os.remove(plan.abs)
    o.status = "renamed"
  elseif plan.buf then
    local ok, err = pcall(set_buffer_text, plan.buf, plan.new_text)
    if not ok then return fail(err) end
    if plan.modified then
      o.status = "unsaved"
      return
    end
    local wok, werr = pcall(api.nvim_buf_call, plan.buf, function() vim.cmd("silent keepalt write") end)
    if not wok then return fail(werr) end
    o.status = f.kind == "add" and "created" or "written"
  else
    local ok, err = write_file(plan.abs, plan.new_text)
    if not ok then return fail(err) end
    o.status = f.kind == "add" and "created" or "written"
  end
end

---@class codex.HunkApplyOpts
---@field cwd string|nil where relative paths are (default: the editor's cwd)
---@field buffer_of (fun(path: string, cwd: string|nil): integer|nil)|nil the loaded buffer of a file (default: codex.ui.reload.buffer_of)

--- Applies the accepted units of a selection, file by file (each all or nothing), every file
--- checked before any is written. Returns an outcome per file, in the selection's order.
---@param sel codex.HunkSelection
---@param opts codex.HunkApplyOpts|nil
---@return codex.HunkOutcome[]
function M.apply(sel, opts)
  opts = opts or {}
  local buffer_of = opts.buffer_of or require("codex.ui.reload").buffer_of
  local plans, out = {}, {}
  for _, f in ipairs(sel.files) do plans[#plans + 1] = check(f, opts.cwd, buffer_of) end
  for _, plan in ipairs(plans) do
    if plan.new_text then write(plan) end
    out[#out + 1] = plan.outcome
  end
  return out
end

return M
