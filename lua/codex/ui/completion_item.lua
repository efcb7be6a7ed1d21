---@mod codex.ui.completion_item  The composer's completions as LSP CompletionItems (nvim-cmp, blink.cmp).
local api = vim.api
local M = {}

local KIND = { file = 17, dir = 19, context = 6, skill = 15, command = 2 } -- File, Folder, Variable, Snippet, Method

--- Is the current buffer a chat's input? (No chat yet: no, without loading the chat module.)
function M.in_input()
  local chat_mod = package.loaded["codex.ui.chat"]
  local chat = chat_mod and chat_mod.current()
  return chat ~= nil and chat.input_buf == api.nvim_get_current_buf()
end

--- The chat whose input buffer is current, and the trigger at the cursor: chat, ctx (or nil).
function M.here()
  if not M.in_input() then return nil end
  local chat_mod = package.loaded["codex.ui.chat"] -- (no chat module loaded: no chat)
  local chat = chat_mod and chat_mod.current()
  if not chat or chat.input_buf ~= api.nvim_get_current_buf() then return nil end
  local ctx = require("codex.ui.complete").cursor_context()
  if not ctx then return nil end
  return chat, ctx
end

--- Complete-items as CompletionItems that replace the trigger and query (kept in the
--- server's order: sortText; matched as typed: filterText is what was typed, so the engine's
--- own fuzzy filter keeps every match the server ranked).
function M.convert(list, ctx)
  local row, col = unpack(api.nvim_win_get_cursor(0))
  local range = { start = { line = row - 1, character = ctx.start }, ["end"] = { line = row - 1, character = col } }
  local typed = ctx.char .. ctx.query
  local out = {}
  for i, it in ipairs(list) do
    out[i] = {
      label = it.abbr or it.word, filterText = ctx.char == "@" and typed or it.word, sortText = ("%05d"):format(i),
      kind = KIND[it.kind] or 1, detail = it.menu, documentation = it.info,
      labelDetails = it.menu and { description = it.menu } or nil,
      textEdit = { newText = it.word, range = range },
    }
  end
  return out
end

return M
