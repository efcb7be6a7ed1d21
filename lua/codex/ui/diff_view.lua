---@mod codex.ui.diff_view  A turn's changes: its diff in a buffer, its hunks in quickfix, jumps to files.
---
--- The diff is the turn's aggregated unified diff (turn/diff/updated, git style: paths
--- relative to the repository's root), or, for a stored turn, one made from its applied
--- fileChange items' changes (M.stored_diff). `:Codex diff` shows it in a scratch buffer
--- (filetype diff, a fold per file whose text names the file and its +/−), `:Codex changes`
--- puts one quickfix entry per hunk at the hunk's first changed line. Both read nothing from
--- disk but the paths they resolve (M.resolve).
local patch = require("codex.patch")

local M = {}

M.QF_TITLE = "Codex changes"

--- The fold text of each file's fold, by its first line (b:codex_diff_folds); a fold that is
--- not a file's (the user's own) keeps Neovim's text.
local FOLDTEXT = "get(get(b:, 'codex_diff_folds', {}), v:foldstart, foldtext())"
-- A fold starts at each file's "diff --git" line (the diffs here are git style).
local FOLDEXPR = "getline(v:lnum) =~# '^diff --git ' ? '>1' : '='"

local function path_of(f) return f.new_path or f.old_path or "?" end

--- "+3 −1".
local function counts(added, removed) return ("+%d −%d"):format(added, removed) end

local hunk_counts = patch.counts

--- The line of the new file a hunk's first change is at (after its leading context); at
--- least 1 (an added file's hunk starts at 1, a deleted file has none).
---@param h codex.PatchHunk
---@return integer
function M.first_changed_line(h)
  local n = h.new_start
  for _, l in ipairs(h.lines) do
    if l.op ~= " " then break end
    n = n + 1
  end
  return math.max(1, n)
end

--- A stored turn's diff, from its applied (completed) fileChange items: each change as a
--- git-style file diff, paths relative to cwd when under it. Nil when it changed no file.
--- (Pure: no vim.*.)
---@param turn_items table[]|nil the turn's items
---@param cwd string|nil
---@return string|nil
function M.stored_diff(turn_items, cwd)
  local out = {}
  local prefix = cwd and (cwd:gsub("/+$", "") .. "/") or nil
  local function rel(p)
    if type(p) == "string" and prefix and p:sub(1, #prefix) == prefix then return p:sub(#prefix + 1) end
    return p
  end
  for _, it in ipairs(type(turn_items) == "table" and turn_items or {}) do
    if type(it) == "table" and it.type == "fileChange" and it.status == "completed" and type(it.changes) == "table" then
      for _, ch in ipairs(it.changes) do
        local f = type(ch) == "table" and patch.from_change(ch)
        if f then
          f.old_path, f.new_path = rel(f.old_path), rel(f.new_path)
          out[#out + 1] = patch.format(f)
        end
      end
    end
  end
  if #out == 0 then return nil end
  return table.concat(out)
end

--- "3 files changed, +40 −12" for a diff that changes files; nil for none (or a malformed diff).
---@param diff string|nil
---@return string|nil
function M.summary(diff)
  if type(diff) ~= "string" then return nil end
  local files = patch.parse(diff)
  if not files or #files == 0 then return nil end
  local _, total = patch.summary(files)
  return patch.summary_text(total)
end

---@class codex.DiffHunkEntry
---@field path string the file as the diff names it (the new path; the old one for a deletion)
---@field lnum integer the hunk's first changed line in the new file
---@field text string "+3 −1 @@ function foo" (and "(new file)", "(deleted)", "(renamed from x)")

--- One entry per hunk of a diff, in the diff's order (a file without hunks, such as a bare
--- rename, gets one entry at line 1). (Pure: no vim.*.)
---@param diff string
---@return codex.DiffHunkEntry[]|nil entries
---@return string|nil err why the diff could not be read
function M.hunks(diff)
  local files, err = patch.parse(diff)
  if not files then return nil, err end
  local out = {}
  for _, f in ipairs(files) do
    local what = f.kind == "add" and " (new file)" or f.kind == "delete" and " (deleted)"
      or f.kind == "rename" and (" (renamed from " .. tostring(f.old_path) .. ")") or ""
    if #f.hunks == 0 then out[#out + 1] = { path = path_of(f), lnum = 1, text = (what:gsub("^ ", "")) } end
    for _, h in ipairs(f.hunks) do
      local a, r = hunk_counts(h)
      local header = h.header ~= "" and (" @@ " .. h.header:gsub("^%s+", "")) or ""
      out[#out + 1] = { path = path_of(f), lnum = M.first_changed_line(h), text = counts(a, r) .. header .. what }
    end
  end
  return out
end

-- ---- the editor side -------------------------------------------------------------------

--- The git repository's root above dir (a .git directory or, in a worktree, a .git file).
local function git_root(dir)
  local d = vim.fn.finddir(".git", dir .. ";")
  if d ~= "" then return (vim.fn.fnamemodify(d, ":p"):gsub("/+$", ""):gsub("/[^/]*$", "")) end
  local f = vim.fn.findfile(".git", dir .. ";")
  if f ~= "" then return vim.fn.fnamemodify(f, ":p:h") end
  return nil
end

--- A path of a diff as a file name: absolute as it is; else under the repository's root
--- (where git-style diff paths start) if the file is there, else under cwd.
---@param path string
---@param cwd string|nil default: Neovim's
---@return string
function M.resolve(path, cwd)
  if path:sub(1, 1) == "/" then return path end
  cwd = (cwd or vim.fn.getcwd()):gsub("/+$", "")
  local root = git_root(cwd)
  local in_root, in_cwd = root and (root .. "/" .. path), cwd .. "/" .. path
  if in_root and vim.loop.fs_stat(in_root) then return in_root end
  if vim.loop.fs_stat(in_cwd) then return in_cwd end
  return in_root or in_cwd
end

--- The fold text of each file (its path and +/−), by the 1-based line of its "diff --git"
--- (as strings: a Vim dict's keys). The diffs here are git style: one such line per file.
local function fold_texts(lines, diff)
  local files = patch.parse(diff) or {}
  local texts, k = {}, 0
  for i, l in ipairs(lines) do
    if l:sub(1, 11) == "diff --git " then
      k = k + 1
      local f = files[k]
      if not f then break end
      local a, r = 0, 0
      for _, h in ipairs(f.hunks) do
        local ha, hr = hunk_counts(h)
        a, r = a + ha, r + hr
      end
      texts[tostring(i)] = ("%s  %s"):format(path_of(f), counts(a, r))
    end
  end
  return texts
end

--- The line of the new file at a row of the diff buffer (inside a hunk: the line under the
--- cursor; elsewhere in a file's part: its first hunk's first change); with its path.
---@param lines string[] the buffer's lines
---@param row integer 1-based
---@return string|nil path, integer|nil lnum
function M.target_at(lines, row)
  local start
  for i = row, 1, -1 do
    if lines[i]:sub(1, 11) == "diff --git " then start = i break end
  end
  if not start then return nil end
  local stop = #lines
  for i = start + 1, #lines do
    if lines[i]:sub(1, 11) == "diff --git " then stop = i - 1 break end
  end
  local files = patch.parse(table.concat(lines, "\n", start, stop) .. "\n")
  local f = files and files[1]
  if not f then return nil end
  local path = path_of(f)
  -- the hunk the row is in
  local at, nline
  for i = row, start, -1 do
    local n = lines[i]:match("^@@ %-[%d,]+ %+(%d+)")
    if n then at, nline = i, tonumber(n) break end
  end
  if not at then return path, f.hunks[1] and M.first_changed_line(f.hunks[1]) or 1 end
  if at == row then
    for _, h in ipairs(f.hunks) do
      if h.new_start == nline then return path, M.first_changed_line(h) end
    end
  end
  for i = at + 1, row - 1 do
    local op = lines[i]:sub(1, 1)
    if op == " " or op == "+" or lines[i] == "" then nline = nline + 1 end
  end
  return path, math.max(1, nline)
end

--- Opens a file at a line: in the previous window when it shows a file (not a chat, diff
--- or other scratch buffer), else in a new split above.
---@param file string
---@param lnum integer
function M.jump(file, lnum)
  local api = vim.api
  local function is_plain(win)
    return api.nvim_win_is_valid(win) and vim.bo[api.nvim_win_get_buf(win)].buftype == ""
      and api.nvim_win_get_config(win).relative == ""
  end
  local target
  local prev = vim.fn.win_getid(vim.fn.winnr("#"))
  if prev ~= 0 and prev ~= api.nvim_get_current_win() and is_plain(prev) then target = prev end
  if not target and is_plain(api.nvim_get_current_win()) then target = api.nvim_get_current_win() end
  if target then
    api.nvim_set_current_win(target)
  else
    vim.cmd("aboveleft split")
  end
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local last = api.nvim_buf_line_count(0)
  api.nvim_win_set_cursor(0, { math.min(math.max(1, lnum), last), 0 })
  pcall(vim.cmd, "normal! zv")
end

local bufs = {} -- name -> the diff buffer

-- Window options the new tab's window may have taken from the window it was made from (a
-- chat's): the user's global values again.
local RESET = "setlocal number< relativenumber< signcolumn< wrap< linebreak< statusline< conceallevel<"
  .. " concealcursor< showbreak< winhighlight< list<"

local function close_view()
  if vim.fn.tabpagenr("$") > 1 then return vim.cmd("tabclose") end
  if vim.fn.winnr("$") > 1 then return vim.cmd("close") end
  vim.cmd("enew")
end

local function make_buf(bufname)
  local api = vim.api
  local buf = api.nvim_create_buf(false, true) -- scratch: nofile, unlisted
  pcall(api.nvim_buf_set_name, buf, bufname)
  vim.bo[buf].swapfile = false
  vim.bo[buf].bufhidden = "hide"
  vim.keymap.set("n", "q", close_view, { buffer = buf, desc = "codex: close the diff" })
  vim.keymap.set("n", "<CR>", function()
    local path, lnum = M.target_at(api.nvim_buf_get_lines(0, 0, -1, false), api.nvim_win_get_cursor(0)[1])
    if path then M.jump(M.resolve(path, vim.b.codex_diff_cwd), lnum) end
  end, { buffer = buf, desc = "codex: open the file at this line" })
  return buf
end

--- Shows a diff in the diff buffer of `name` (one per chat, made again if wiped), in a tab of
--- its own (reused when a window shows it). `q` closes it, <CR> opens the file at the line
--- under the cursor. Files start folded when there are several.
---@param diff string
---@param opts {name: string, cwd: string|nil}
---@return integer buf
function M.open(diff, opts)
  local api = vim.api
  local buf = bufs[opts.name]
  if not buf or not api.nvim_buf_is_loaded(buf) then
    if buf and api.nvim_buf_is_valid(buf) then pcall(api.nvim_buf_delete, buf, { force = true }) end
    buf = make_buf("codex://diff/" .. opts.name)
    bufs[opts.name] = buf
  end
  local lines = vim.split((diff:gsub("\n$", "")), "\n", { plain = true })
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable, vim.bo[buf].modified = false, false
  local folds = fold_texts(lines, diff)
  vim.b[buf].codex_diff_folds = folds
  vim.b[buf].codex_diff_cwd = opts.cwd
  vim.bo[buf].filetype = "diff"
  vim.bo[buf].syntax = "diff" -- (Neovim's diff syntax, also where filetype detection is off)
  local win
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(w) == buf then win = w break end
  end
  if win then
    api.nvim_set_current_win(win)
  else
    vim.cmd("tab split")
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, buf)
    vim.cmd(RESET)
    if vim.fn.has("nvim-0.8") == 1 then vim.cmd("setlocal winbar<") end
  end
  local wo = vim.wo[win]
  wo.foldmethod, wo.foldexpr, wo.foldtext = "expr", FOLDEXPR, FOLDTEXT
  local nfiles = 0
  for _ in pairs(folds) do nfiles = nfiles + 1 end
  wo.foldenable, wo.foldlevel = true, nfiles > 1 and 0 or 1
  api.nvim_win_set_cursor(win, { 1, 0 })
  return buf
end

--- Fills the quickfix list (title "Codex changes") with the diff's hunks and opens it.
---@param diff string
---@param cwd string|nil
---@return integer|nil n the number of entries; nil and a message if the diff is malformed
---@return string|nil err
function M.quickfix(diff, cwd)
  local entries, err = M.hunks(diff)
  if not entries then return nil, err end
  local qf = {}
  for _, e in ipairs(entries) do
    qf[#qf + 1] = { filename = M.resolve(e.path, cwd), lnum = e.lnum, col = 1, text = e.text }
  end
  vim.fn.setqflist({}, " ", { title = M.QF_TITLE, items = qf })
  vim.cmd("botright copen")
  return #qf
end

return M
