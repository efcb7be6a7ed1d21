---@mod codex.ui.chat_links  Items that lead to another thread: <CR> opens a sub-agent's chat.
---
--- A collab tool call (spawn agent, send input, wait, …) and a sub-agent's activity name the
--- threads of the agents they are about (codex.ui.chat_items gives them as `links`). The
--- chat keeps them per block; the open_agent key (default <CR>) on such a block opens the
--- agent's thread as a chat of its own (resumed with its newest turns, as :Codex resume
--- does). Anywhere else the key does what it does by default.
local api = vim.api
local render = require("codex.ui.render")
local util = require("codex.ui.util")

local M = {}
local map = util.mapper("codex: ")

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
  local r = chat.renderer
  for id, ids in pairs(chat.links or {}) do
    local b = r.blocks[id]
    local h = b and b.header and api.nvim_buf_get_extmark_by_id(chat.buf, render.ns, b.header, {}) or {}
    local _, last = r:body_range(id)
    if h[1] and last and row >= h[1] and row <= last then return ids end
  end
  return nil
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

--- Maps the key (nil or false: nothing) in the chat buffer.
---@param chat codex.Chat
---@param buf integer
---@param key string|false|nil
function M.attach(chat, buf, key)
  map(buf, "n", key, function()
    if M.follow(chat) then return end
    -- not on an agent's item: the key's own meaning (<CR>: down to the next line's text)
    pcall(vim.cmd, "normal! " .. vim.v.count1 .. api.nvim_replace_termcodes(key, true, false, true))
  end, "open the sub-agent's thread under the cursor")
end

return M
