---@mod codex.ui.chat_links  Items that lead elsewhere: <CR> opens a sub-agent's chat, or a changed file.
---
--- A collab tool call (spawn agent, send input, wait, …) and a sub-agent's activity name the
--- threads of the agents they are about (codex.ui.chat_items gives them as `links`). The
--- chat keeps them per block; the open_agent key (default <CR>) on such a block opens the
--- agent's thread as a chat of its own (resumed with its newest turns, as :Codex resume
--- does). A file change's blocks keep the files they show (note_files): the open_agent key
--- and the open_file key (default gf) on a file's header open it at its first hunk, inside
--- its diff at the line under the cursor. Anywhere else the keys do what they do by default.
local api = vim.api
local util = require("codex.ui.util")

local M = {}
local map = util.mapper("codex: ")

--- The block of `byid` (block id → value) whose rows, header to body end, hold a 0-based row:
--- its id, value, header row and last row.
local function block_at(chat, byid, row)
  local r = chat.renderer
  for id, v in pairs(byid or {}) do
    local top = r:header_row(id)
    local _, last = r:body_range(id)
    if top and last and row >= top and row <= last then return id, v, top, last end
  end
  return nil
end

--- Keeps the threads an item's block links to (open or close result with `links`).
---@param chat codex.Chat
---@param id any the block id
---@param o {links: string[]|nil}
function M.note(chat, id, o)
  if not o.links or #o.links == 0 then return end
  chat.links = chat.links or {}
  chat.links[id] = o.links
end

--- The threads linked from the block at a 0-based row (its header to its body's end).
---@param chat codex.Chat
---@param row integer
---@return string[]|nil
function M.at(chat, row)
  local id, ids = block_at(chat, chat.links, row)
  return id and ids or nil
end

--- Keeps the files a file change's blocks show: with a block per file (chat.parts), each
--- block its file; else the item's one block all of them, in order (files that came with
--- item/completed follow its "✎ file change" placeholder).
---@param chat codex.Chat
---@param id any the item's block id
---@param item table the fileChange item
function M.note_files(chat, id, item)
  if item.type ~= "fileChange" then return end
  local changes = {}
  for _, ch in ipairs(type(item.changes) == "table" and item.changes or {}) do
    if type(ch) == "table" then changes[#changes + 1] = ch end
  end
  chat.files = chat.files or {}
  local parts = chat.parts[id] or {}
  if #parts > 0 then
    for i, pid in ipairs(parts) do chat.files[pid] = { changes[i] } end
    chat.files[id] = { changes[#parts + 1] }
  else
    chat.files[id] = changes
  end
end

--- The first changed line of the hunk whose "@@" line is lines[at] (after its context).
local function hunk_first_change(lines, at, nline)
  for i = at + 1, #lines do
    if lines[i]:sub(1, 1) ~= " " and lines[i] ~= "" then break end
    nline = nline + 1
  end
  return nline
end

--- Which file of a file change's block a row is on, and the line of it: inside a hunk the
--- new file's line under the cursor, else the first hunk's first change (1 without hunks).
--- lines: the block's lines (its header line first); i: the row in them (1-based).
---@param lines string[]
---@param i integer
---@return integer k the file's index among the block's file headers (at least 1)
---@return integer lnum
function M.file_line(lines, i)
  local k, head = 0, nil
  for j = 1, math.min(i, #lines) do
    if lines[j]:find("^%*%*✎ ") and lines[j] ~= "**✎ file change**" then k, head = k + 1, j end
  end
  if not head then
    -- above the first file (the placeholder of files that came late): the first one
    for j = i + 1, #lines do
      if lines[j]:find("^%*%*✎ ") and lines[j] ~= "**✎ file change**" then head = j break end
    end
    if not head then return 1, 1 end
    i = head
  end
  local stop = #lines -- this file's part ends before the next file's header
  for j = head + 1, #lines do
    if lines[j]:find("^%*%*✎ ") then stop = j - 1 break end
  end
  local at, nline
  for j = math.min(i, stop), head, -1 do
    local n = lines[j]:match("^@@ %-[%d,]+ %+(%d+)")
    if n then at, nline = j, tonumber(n) break end
  end
  if at and at ~= i then
    for j = at + 1, i - 1 do
      local op = lines[j]:sub(1, 1)
      if op == " " or op == "+" or lines[j] == "" then nline = nline + 1 end
    end
    return math.max(1, k), math.max(1, nline)
  end
  if not at then
    -- on the header or the fence: the first hunk
    for j = head + 1, stop do
      local n = lines[j]:match("^@@ %-[%d,]+ %+(%d+)")
      if n then at, nline = j, tonumber(n) break end
    end
    if not at then
      -- an added file's content (no "@@"): the line under the cursor inside it
      local fence = lines[head + 1] and lines[head + 1]:find("^```") and head + 1
      return math.max(1, k), (fence and i > fence) and (i - fence) or 1
    end
  end
  return math.max(1, k), math.max(1, hunk_first_change(lines, at, nline))
end

--- The changed file at a 0-based row of the chat, and the line to open it at.
---@param chat codex.Chat
---@param row integer
---@return table|nil change {path, kind, diff}
---@return integer|nil lnum
function M.file_at(chat, row)
  local id, changes, top, last = block_at(chat, chat.files, row)
  if not id then return nil end
  local k, lnum = M.file_line(api.nvim_buf_get_lines(chat.buf, top, last + 1, false), row - top + 1)
  local ch = changes[k] or changes[#changes]
  if not ch then return nil end
  return ch, lnum
end

--- Opens the changed file under the cursor at its hunk; false when the cursor is on no file
--- change. A deleted file is not opened (it is gone): it says so.
---@param chat codex.Chat
---@return boolean
function M.open_file(chat)
  local ch, lnum = M.file_at(chat, api.nvim_win_get_cursor(0)[1] - 1)
  if not ch or type(ch.path) ~= "string" then return false end
  local kind = type(ch.kind) == "table" and ch.kind.type or ch.kind
  local to = type(ch.kind) == "table" and type(ch.kind.move_path) == "string" and ch.kind.move_path or nil
  local diff_view = require("codex.ui.diff_view")
  local file = diff_view.resolve(to or ch.path, chat.cwd)
  if kind == "delete" then
    util.notify(vim.fn.fnamemodify(file, ":~:.") .. " was deleted by this change")
    return true
  end
  diff_view.jump(file, lnum or 1)
  return true
end

--- Opens the chat of a thread (codex.commands.open_thread: the open one, else resumed).
---@param thread_id string
function M.open_thread(thread_id)
  require("codex.commands").open_thread(thread_id)
end

--- The key's action at the cursor: the linked thread whose id is on the cursor's line, the
--- only one, or one picked from a list; false when the cursor is on no linking block.
---@param chat codex.Chat
---@return boolean
function M.follow(chat)
  local cursor = api.nvim_win_get_cursor(0)
  local ids = M.at(chat, cursor[1] - 1)
  if not ids then return false end
  local line = api.nvim_get_current_line()
  for _, id in ipairs(ids) do
    if line:find(id, 1, true) then
      M.open_thread(id)
      return true
    end
  end
  if #ids == 1 then
    M.open_thread(ids[1])
    return true
  end
  vim.ui.select(ids, { prompt = "Open the thread of agent" }, function(id)
    if id then M.open_thread(id) end
  end)
  return true
end

--- The key's own meaning, elsewhere (<CR>: down to the next line's text; gf: the file
--- name under the cursor).
local function default(key)
  pcall(vim.cmd, "normal! " .. vim.v.count1 .. api.nvim_replace_termcodes(key, true, false, true))
end

--- Maps the keys (nil or false: nothing) in the chat buffer: agent_key opens a sub-agent's
--- thread or a changed file, file_key a changed file.
---@param chat codex.Chat
---@param buf integer
---@param agent_key string|false|nil
---@param file_key string|false|nil
function M.attach(chat, buf, agent_key, file_key)
  map(buf, "n", agent_key, function()
    if M.follow(chat) or M.open_file(chat) then return end
    default(agent_key)
  end, "open the sub-agent's thread or the changed file under the cursor")
  if file_key == agent_key then return end
  map(buf, "n", file_key, function()
    if M.open_file(chat) then return end
    default(file_key)
  end, "open the changed file under the cursor at its hunk")
end

return M
