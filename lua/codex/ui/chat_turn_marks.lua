---@mod codex.ui.chat_turn_marks  Where each turn starts in a chat's transcript (for gE and gF).
---
--- Methods of codex.Chat (mixed in by codex.ui.chat). Each turn's first user message gets an
--- extmark at its "## You" header with the turn's id and text: the one echoed as it is sent
--- (its id comes when the server accepts the turn), and those of stored turns rendered from
--- history (above the transcript too: the row the renderer wrote at).
local api = vim.api

local M = {}
---@class codex.Chat
local Chat = {}
M.methods = Chat

local ns = api.nvim_create_namespace("codex_chat_turn_marks")
M.ns = ns

--- Marks a turn's start at a 0-based row (turn_id nil: the turn being started).
function Chat:_mark_turn(row, turn_id, text)
  if not api.nvim_buf_is_loaded(self.buf) then return end
  row = math.min(row, api.nvim_buf_line_count(self.buf) - 1)
  local mark = api.nvim_buf_set_extmark(self.buf, ns, row, 0, { right_gravity = false })
  self.turn_marks = self.turn_marks or {}
  self.turn_marks[mark] = { id = turn_id, text = text }
  if not turn_id then self.unnamed_mark = mark end
end

--- The turn just started is turn_id: the newest mark without an id gets it.
function Chat:_name_turn(turn_id)
  local m = self.unnamed_mark and self.turn_marks[self.unnamed_mark]
  if m and not m.id then m.id = turn_id end
  self.unnamed_mark = nil
end

--- The turn at (or above) a 1-based line of the transcript: {id, text, row} or nil.
---@param lnum integer
---@return {id: string, text: string, row: integer}|nil
function Chat:turn_at(lnum)
  if not self.turn_marks or not api.nvim_buf_is_loaded(self.buf) then return nil end
  local found
  for _, e in ipairs(api.nvim_buf_get_extmarks(self.buf, ns, 0, -1, {})) do
    if e[2] <= lnum - 1 and self.turn_marks[e[1]] then found = e end
  end
  local m = found and self.turn_marks[found[1]]
  if not m or not m.id then return nil end
  return { id = m.id, text = m.text, row = found[2] }
end

--- Forgets the marks (the transcript is written anew).
function Chat:_clear_turn_marks()
  if api.nvim_buf_is_loaded(self.buf) then api.nvim_buf_clear_namespace(self.buf, ns, 0, -1) end
  self.turn_marks, self.unnamed_mark = {}, nil
end

return M
