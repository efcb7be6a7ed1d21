---@mod codex.ui.context_vars  `#buffer`, `#buffers`, `#selection`, `#diagnostics`, `#quickfix`.
---
--- Words of the composer that stand for editor context. When a message is sent, each one in
--- its text is expanded into a block after the message: a heading line (what, path, line
--- range) and the text in a fence long enough for what it holds. Before sending, summary()
--- says in one line what each will attach (also when it attaches nothing: "#diagnostics: none").
---
--- "The buffer" is the one the user came from: the last normal buffer (a file, not a chat)
--- that was current (tracked from the first chat on), else one shown in this tab.
local api = vim.api

local M = {}

--- Every variable, with what it attaches (for completion).
M.VARS = {
  { "#buffer", "the current buffer" },
  { "#buffers", "every open buffer" },
  { "#selection", "the last visual selection" },
  { "#diagnostics", "the current buffer's diagnostics" },
  { "#diagnostics:all", "the workspace's diagnostics" },
  { "#quickfix", "the quickfix list" },
}

local known = {}
for _, v in ipairs(M.VARS) do known[v[1]] = true end

local last_buf -- the last normal buffer the user was in

--- A buffer the user edits (a file buffer, not the chat's or a prompt's).
local function normal(buf)
  return buf and api.nvim_buf_is_valid(buf) and api.nvim_buf_is_loaded(buf) and vim.bo[buf].buftype == ""
    and vim.bo[buf].filetype ~= "codex" and not api.nvim_buf_get_name(buf):find("^codex://")
end

local tracking = false
--- Starts following which normal buffer is current (once; the first chat calls it).
function M.track()
  if tracking then return end
  tracking = true
  local cur = api.nvim_get_current_buf()
  if normal(cur) then last_buf = cur end
  api.nvim_create_autocmd("BufEnter", {
    group = api.nvim_create_augroup("CodexContextVars", { clear = true }),
    callback = function(ev)
      -- (not a buffer loaded behind the scenes: bufload's autocmd window)
      if normal(ev.buf) and vim.fn.win_gettype() ~= "autocmd" then last_buf = ev.buf end
    end,
  })
end

--- The buffer `#buffer` means, or nil.
---@return integer|nil
function M.origin()
  if normal(last_buf) then return last_buf end
  local cur = api.nvim_get_current_buf()
  if normal(cur) then return cur end
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    local b = api.nvim_win_get_buf(win)
    if normal(b) then return b end
  end
end

local function rel(buf)
  local name = api.nvim_buf_get_name(buf)
  return name ~= "" and vim.fn.fnamemodify(name, ":~:.") or "[No Name]"
end

--- A fence one backtick longer than any run of backticks in the lines (at least 3).
local function fence_for(lines)
  local n = 2
  for _, l in ipairs(lines) do
    for run in l:gmatch("`+") do n = math.max(n, #run) end
  end
  return ("`"):rep(n + 1)
end

--- A block: heading, then the lines fenced with the filetype.
local function block(heading, lines, ft)
  local fence = fence_for(lines)
  local out = { heading, fence .. (ft or "") }
  vim.list_extend(out, lines)
  out[#out + 1] = fence
  return table.concat(out, "\n")
end

local function buffer_block(name, buf, l1, l2)
  local lines = api.nvim_buf_get_lines(buf, l1 - 1, l2, false)
  return block(("%s: %s lines %d-%d"):format(name, rel(buf), l1, l2), lines, vim.bo[buf].filetype)
end

local function listed_buffers()
  local out = {}
  for _, b in ipairs(api.nvim_list_bufs()) do
    if normal(b) and vim.bo[b].buflisted then out[#out + 1] = b end
  end
  return out
end

--- The last visual range of the origin buffer: buf, line1, line2 (nil when there is none).
local function selection()
  local buf = M.origin()
  if not buf then return nil end
  local s, e = api.nvim_buf_get_mark(buf, "<"), api.nvim_buf_get_mark(buf, ">")
  if not s or s[1] == 0 or e[1] == 0 then return nil end
  local n = api.nvim_buf_line_count(buf)
  local l1, l2 = math.min(s[1], e[1]), math.min(math.max(s[1], e[1]), n)
  if l1 > n then return nil end
  return buf, l1, l2
end

local SEVERITY = { "ERROR", "WARN", "INFO", "HINT" }

local function diagnostics(all)
  local buf = M.origin()
  if not all and not buf then return {}, nil end
  local list = vim.diagnostic.get(not all and buf or nil)
  table.sort(list, function(a, b)
    if a.bufnr ~= b.bufnr then return a.bufnr < b.bufnr end
    if a.lnum ~= b.lnum then return a.lnum < b.lnum end
    return a.col < b.col
  end)
  return list, buf
end

local function diagnostic_line(d)
  local src = d.source and (" [" .. tostring(d.source) .. "]") or ""
  local msg = tostring(d.message or ""):gsub("%s*\n%s*", " ")
  local path = api.nvim_buf_is_valid(d.bufnr) and rel(d.bufnr) or "?"
  return ("%s:%d:%d: %s: %s%s"):format(path, d.lnum + 1, d.col + 1, SEVERITY[d.severity] or "?", msg, src)
end

local function quickfix_lines()
  local out = {}
  for _, e in ipairs(vim.fn.getqflist()) do
    local path = e.bufnr > 0 and rel(e.bufnr) or ""
    local loc = e.lnum > 0 and (":" .. e.lnum .. (e.col > 0 and (":" .. e.col) or "")) or ""
    local kind = (e.type or "") ~= "" and (e.type .. ": ") or ""
    out[#out + 1] = ("%s%s: %s%s"):format(path, loc, kind, (e.text or ""):gsub("%s*\n%s*", " "))
  end
  return out
end

local function plural(n, one) return n == 1 and ("1 " .. one) or (n .. " " .. one .. "s") end

--- One variable: its summary line (for the preview) and its block (nil: nothing to attach).
---@param name string e.g. "#buffer"
---@return string summary, string|nil block
function M.expand(name)
  if name == "#buffer" then
    local buf = M.origin()
    if not buf then return "#buffer: none", nil end
    local n = api.nvim_buf_line_count(buf)
    return ("#buffer: %s (%s)"):format(rel(buf), plural(n, "line")), buffer_block("#buffer", buf, 1, n)
  elseif name == "#buffers" then
    local bufs = listed_buffers()
    if #bufs == 0 then return "#buffers: none", nil end
    local blocks, names = {}, {}
    for _, b in ipairs(bufs) do
      blocks[#blocks + 1] = buffer_block("#buffers", b, 1, api.nvim_buf_line_count(b))
      names[#names + 1] = rel(b)
    end
    return ("#buffers: %s (%s)"):format(plural(#bufs, "buffer"), table.concat(names, ", ")), table.concat(blocks, "\n\n")
  elseif name == "#selection" then
    local buf, l1, l2 = selection()
    if not buf then return "#selection: none", nil end
    return ("#selection: %s lines %d-%d"):format(rel(buf), l1, l2), buffer_block("#selection", buf, l1, l2)
  elseif name == "#diagnostics" or name == "#diagnostics:all" then
    local all = name == "#diagnostics:all"
    local list, buf = diagnostics(all)
    local where = all and "workspace" or (buf and rel(buf) or "no buffer")
    if #list == 0 then return name .. ": none", nil end
    local lines = {}
    for i, d in ipairs(list) do lines[i] = diagnostic_line(d) end
    return ("%s: %s (%s)"):format(name, plural(#list, "diagnostic"), where),
      block(("%s: %s"):format(name, where), lines, "")
  elseif name == "#quickfix" then
    local lines = quickfix_lines()
    if #lines == 0 then return "#quickfix: none", nil end
    local n = #lines == 1 and "1 entry" or (#lines .. " entries")
    return "#quickfix: " .. n, block("#quickfix:", lines, "")
  end
  return name, nil
end

--- The variables a text uses, in order of first use, each once. A variable is a word of its
--- own: at the start or after white space, ending at white space, punctuation or the end.
---@param text string
---@return string[]
function M.used(text)
  local out, seen = {}, {}
  for name in (" " .. text):gmatch("%s(#[%w:]+)") do
    name = name:gsub(":$", "")
    if known[name] and not seen[name] then
      seen[name] = true
      out[#out + 1] = name
    end
  end
  return out
end

return M
