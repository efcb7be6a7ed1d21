---@mod codex.ui.chat_progress  Progress of a running item, shown on its block in place.
---
--- `item/mcpToolCall/progress` and `item/commandExecution/terminalInteraction` change the
--- item's status (virtual text on its header); `item/fileChange/patchUpdated` (the patch was
--- revised before it was applied) draws the file change again where it is, with the new
--- files. What is shown is codex.ui.chat_items.progress (pure); here: where. Only items still
--- under way change: a late notification never hides how the item ended.
local api = vim.api
local items = require("codex.ui.chat_items")
local render = require("codex.ui.render")
local hl = require("codex.ui.highlight")

local M = {}

--- Removes a file change's blocks (its files) from the buffer; returns the row they began at
--- (their spacer line), or nil when they are not in the buffer.
local function cut_blocks(chat, id)
  local r, buf = chat.renderer, chat.buf
  local ids = {}
  for _, pid in ipairs(chat.parts[id] or {}) do ids[#ids + 1] = pid end
  ids[#ids + 1] = id
  local start = r:header_row(ids[1])
  local _, last = r:body_range(id)
  if not start or not last then return nil end
  if start > 0 and (api.nvim_buf_get_lines(buf, start - 1, start, false)[1] or "") == "" then
    start = start - 1 -- the blank line a block's header starts with
  end
  for _, bid in ipairs(ids) do
    local b = r.blocks[bid]
    for _, key in ipairs({ "mark", "header", "status" }) do
      if b and b[key] then pcall(api.nvim_buf_del_extmark, buf, render.ns, b[key]) end
    end
    r.blocks[bid] = nil
  end
  api.nvim_buf_clear_namespace(buf, hl.ns, start, last + 1)
  api.nvim_buf_clear_namespace(buf, hl.code_ns, start, last + 1)
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, start, last + 1, false, {})
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  return start
end

--- A file change drawn again with revised files, where it was, keeping its status.
local function redraw_file_change(chat, id, changes, turn_id)
  local r = chat.renderer
  local b = r.blocks[id]
  if not b or b.skip or not r:_live() then return end
  r:flush()
  local status = b.status_chunks
  local start = cut_blocks(chat, id)
  if not start then return end
  chat.parts[id], chat.changes_later[id], chat.live[id] = nil, nil, nil
  local item = { type = "fileChange", id = id, changes = changes, status = "inProgress" }
  -- Above what followed it (a later item, the turn's end), else at the end.
  local above = start < api.nvim_buf_line_count(chat.buf)
  if above then r:begin_top(start) end
  chat:item_started(item, turn_id, id)
  if above then r:end_top() end
  if status then chat:_status(id, status) end
end

--- A progress notification for the chat's item params.itemId.
---@param chat codex.Chat
---@param method string
---@param params table
function M.update(chat, method, params)
  local id = params.itemId
  local it = id ~= nil and chat.live[id]
  if not it then return end
  local what = items.progress(method, params)
  if not what then return end
  if what.status then chat:_status(id, what.status) end
  if what.changes and it.type == "fileChange" then redraw_file_change(chat, id, what.changes, params.turnId) end
end

return M
