---@mod codex.ui.chat_edit  Editing the past: edit and resend a message, fork from a turn.
---
--- In the chat buffer, on a turn (its message or anything the agent did for it):
---   edit_message (gE): its message goes into the input; sending the edit asks first, then
---     reverts the thread to before that turn (thread/revert; thread/rollback on servers that
---     have that instead), writes the shortened transcript and sends the edited text. The
---     later turns go from the thread; their file changes stay on disk.
---   fork_here (gF): a new chat with a fork of the thread up to and including that turn
---     (thread/fork lastTurnId).
local api = vim.api
local config = require("codex.config")
local util = require("codex.ui.util")
local notify, err_text = util.notify, util.err_text

local M = {}
local map = util.mapper("codex: ")

local function turn_here(chat)
  local turn = chat.thread and chat:turn_at(api.nvim_win_get_cursor(0)[1])
  if not turn then notify("no turn here (put the cursor on a message of the chat)", vim.log.levels.WARN) end
  return turn
end

--- gE: the message of the turn under the cursor goes into the input, to be edited and resent.
---@param chat codex.Chat
function M.edit(chat)
  local turn = turn_here(chat)
  if not turn then return end
  chat.editing = { turn_id = turn.id, row = turn.row }
  chat:focus_input()
  api.nvim_buf_set_lines(chat.input_buf, 0, -1, false, vim.split(turn.text or "", "\n", { plain = true }))
  require("codex.ui.composer").refresh(chat)
end

--- gF: a new chat with the thread forked through the turn under the cursor.
---@param chat codex.Chat
function M.fork(chat)
  local turn = turn_here(chat)
  if not turn then return end
  require("codex.commands").fork_chat(chat, { last_turn_id = turn.id })
end

--- How many marked turns start at or below a row (the turn and those after it).
local function turns_from(chat, row)
  local n = 0
  for _, e in ipairs(api.nvim_buf_get_extmarks(chat.buf, require("codex.ui.chat_turn_marks").ns, 0, -1, {})) do
    if e[2] >= row and chat.turn_marks[e[1]] then n = n + 1 end
  end
  return math.max(n, 1)
end

--- Reverts the thread to before a turn: thread/revert, else thread/rollback. cb(err).
local function revert(chat, editing, cb)
  local client = chat.thread.client
  client:request("thread/revert", { threadId = chat.thread_id, beforeTurnId = editing.turn_id }, nil, function(err)
    if not err or not tostring(err_text(err)):find("unknown variant", 1, true) then return cb(err) end
    client:request("thread/rollback", { threadId = chat.thread_id, numTurns = turns_from(chat, editing.row) }, nil,
      function(rerr) cb(rerr) end)
  end)
end

--- Writes the transcript anew from the thread's stored turns (after a revert).
local function rewrite(chat, cb)
  chat.thread:turns({ limit = config.get().chat.history_turns, items_view = "full" }, function(err, page)
    if err then return cb(err) end
    local r, buf = chat.renderer, chat.buf
    r:flush()
    r:set_banner(nil)
    chat:_clear_turn_marks()
    for _, id in pairs(api.nvim_get_namespaces()) do api.nvim_buf_clear_namespace(buf, id, 0, -1) end
    vim.bo[buf].modifiable = true
    api.nvim_buf_set_lines(buf, 0, -1, false, { "" })
    vim.bo[buf].modifiable = false
    vim.bo[buf].modified = false
    r:attach(buf) -- (no snapshot: it forgets the blocks)
    chat.live, chat.parts, chat.anon, chat.echo, chat.headed = {}, {}, {}, {}, nil
    local turns = {}
    for i = #page.turns, 1, -1 do turns[#turns + 1] = page.turns[i] end
    chat:render_history(turns, { cursor = page.next_cursor })
    cb(nil)
  end)
end

--- Sends an edited message (codex.ui.composer's, with msg.editing): asks, reverts, rewrites
--- the transcript, sends. Cancelled (or while a turn runs), the text goes back into the input.
---@param chat codex.Chat
---@param msg codex.ComposedMessage
---@param opts table|nil
function M.resend(chat, msg, opts)
  local typed = msg.typed
  local function back()
    chat.editing = msg.editing
    api.nvim_buf_set_lines(chat.input_buf, 0, -1, false, vim.split(typed, "\n", { plain = true }))
    require("codex.ui.composer").refresh(chat)
  end
  if chat.state ~= "idle" then
    back()
    return notify("a turn is running: stop it before resending an edited message", vim.log.levels.WARN)
  end
  local n = turns_from(chat, msg.editing.row)
  local undo = require("codex.commands").sub.undo and " (:Codex undo reverts a turn's changes)" or ""
  local prompt = ("Resend the edited message? This turn%s goes from the thread; their file changes stay on disk%s."):format(
    n > 1 and (" and the " .. (n - 1) .. " after it") or "", undo)
  vim.ui.select({ "Revert and send", "Cancel" }, { prompt = prompt }, function(choice)
    if choice ~= "Revert and send" then return back() end
    chat.editing = nil
    revert(chat, msg.editing, function(err)
      if err then
        back()
        return notify("revert failed: " .. err_text(err), vim.log.levels.ERROR)
      end
      rewrite(chat, function(werr)
        if werr then notify("could not reload the transcript: " .. err_text(werr), vim.log.levels.WARN) end
        chat.inputs[msg.text] = { input = msg.input, shown = msg.shown, typed = typed }
        chat:send(msg.text, opts)
      end)
    end)
  end)
end

--- The chat buffer's keys for these.
function M.attach(chat, buf, k)
  map(buf, "n", k.edit_message, function() M.edit(chat) end, "edit the turn's message and resend it")
  map(buf, "n", k.fork_here, function() M.fork(chat) end, "fork the thread through this turn")
end

return M
