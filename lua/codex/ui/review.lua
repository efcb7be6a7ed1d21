---@mod codex.ui.review  A review's findings in the quickfix list and as diagnostics.
---
--- Each review replaces the previous one's: the quickfix list titled "Codex review" (replaced
--- when it is the current list, else a new list on the stack, so the user's own list stays),
--- and the diagnostics of namespace "codex_review" (reset in every buffer). A file that is not
--- loaded gets its diagnostics when it is read (a BufReadPost autocommand), so jumping to a
--- finding shows it there.
local api = vim.api
local review = require("codex.review")

local M = {}

M.TITLE = "Codex review"
M.ns = api.nvim_create_namespace("codex_review")

local pending = {} -- full path -> diagnostics for when that file is read

local function severity(priority)
  local s = vim.diagnostic.severity
  if priority == 0 or priority == 1 then return s.ERROR end
  if priority == 3 then return s.INFO end
  return s.WARN -- P2, or no priority
end

local QF_TYPE = { [0] = "E", [1] = "E", [2] = "W", [3] = "I" }

--- A finding's path, absolute (a relative one is taken from cwd).
local function full_path(path, cwd)
  if type(path) ~= "string" or path == "" then return nil end
  if path:sub(1, 1) ~= "/" and cwd then path = cwd .. "/" .. path end
  return vim.fn.fnamemodify(path, ":p")
end

--- The diagnostics for a buffer, with lines clamped to it (a stale finding may point past
--- the end; extmarks there would fail).
local function place(buf, list)
  local n = api.nvim_buf_line_count(buf)
  local out = {}
  for _, d in ipairs(list) do
    local lnum = math.max(0, math.min(d.lnum, n - 1))
    local end_lnum = math.max(lnum, math.min(d.end_lnum, n - 1))
    local last = api.nvim_buf_get_lines(buf, end_lnum, end_lnum + 1, false)[1] or ""
    out[#out + 1] = {
      lnum = lnum, end_lnum = end_lnum, col = 0, end_col = #last,
      severity = d.severity, message = d.message, source = "codex review",
    }
  end
  vim.diagnostic.set(M.ns, buf, out)
end

--- The loaded buffer of a full path, if any.
local function loaded_buf(path)
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(b) then
      local name = api.nvim_buf_get_name(b)
      if name ~= "" and vim.fn.fnamemodify(name, ":p") == path then return b end
    end
  end
end

local group
local function watch_reads()
  if group then return end
  group = api.nvim_create_augroup("CodexReview", { clear = true })
  api.nvim_create_autocmd("BufReadPost", {
    group = group,
    callback = function(ev)
      local name = api.nvim_buf_get_name(ev.buf)
      local list = name ~= "" and pending[vim.fn.fnamemodify(name, ":p")]
      if list then place(ev.buf, list) end
    end,
  })
end

--- Removes the last review's diagnostics (every buffer) and forgets those not placed yet.
function M.clear()
  pending = {}
  vim.diagnostic.reset(M.ns)
end

--- Shows a review's findings: the quickfix list and diagnostics, replacing the last review's.
---@param findings codex.ReviewFinding[]
---@param opts {cwd: string|nil}|nil cwd: for relative paths
---@return integer count the findings shown
function M.show(findings, opts)
  opts = opts or {}
  M.clear()
  local qf, by_path = {}, {}
  for _, f in ipairs(type(findings) == "table" and findings or {}) do
    local path = full_path(f.path, opts.cwd)
    local lnum = type(f.lnum) == "number" and math.max(1, f.lnum) or 1
    local end_lnum = type(f.end_lnum) == "number" and math.max(lnum, f.end_lnum) or lnum
    qf[#qf + 1] = { filename = path, lnum = path and lnum or nil, end_lnum = path and end_lnum or nil,
      col = path and 1 or nil, text = review.summary(f), type = QF_TYPE[f.priority] or "W", valid = path and 1 or 0 }
    if path then
      by_path[path] = by_path[path] or {}
      local body = (f.body or ""):match("%S") and ("\n" .. f.body) or ""
      table.insert(by_path[path], { lnum = lnum - 1, end_lnum = end_lnum - 1, severity = severity(f.priority),
        message = (f.title ~= "" and f.title or review.summary(f)) .. body })
    end
  end
  local current = vim.fn.getqflist({ title = 0 }).title
  if #qf > 0 or current == M.TITLE then
    vim.fn.setqflist({}, current == M.TITLE and "r" or " ", { title = M.TITLE, items = qf })
  end
  for path, list in pairs(by_path) do
    local buf = loaded_buf(path)
    if buf then place(buf, list) end
    pending[path] = list -- (again when the file is read anew: :edit! drops the marks)
  end
  if next(by_path) then watch_reads() end
  return #qf
end

--- When a review turn completes, shows its findings (an interrupted or failed review leaves
--- the last ones) and says how many.
---@param turn codex.Turn
---@param opts {cwd: string|nil}|nil
function M.watch(turn, opts)
  turn:wait({ raise = false }, function(err, result)
    if err or type(result) ~= "table" or result.status ~= "completed" then return end
    vim.schedule(function()
      local n = M.show(result.findings or {}, opts)
      local msg = n == 0 and "review: no findings"
        or ("review: %d finding%s in the quickfix list (:copen)"):format(n, n == 1 and "" or "s")
      require("codex.ui.util").notify(msg)
    end)
  end)
end

return M
