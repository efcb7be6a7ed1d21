---@mod codex.ui.chat_turns  The turns of a chat's thread that the chat did not start.
---
--- A chat shows every turn of its thread, whoever started it: compaction (`:Codex compact`),
--- shell commands (`:Codex !{cmd}`), reviews and turns started elsewhere (another client on
--- the same app-server, a script's raw request). They come from Thread:on_turn (the client
--- offers each turn no request of it named; the chat's own turns are never offered, so
--- nothing is drawn twice) and are rendered by Chat:on_event like the chat's own turns.
---
--- A foreign turn that starts while the chat is idle becomes the chat's running turn: the
--- bar shows it running, sending steers it (or queues, for a turn that cannot be steered),
--- stop interrupts it, and its end starts the next queued message. One that starts while
--- another turn of the chat runs is drawn as it streams but changes no state (a "side" turn).
---
--- These are methods of codex.Chat (mixed in by codex.ui.chat).
local bar = require("codex.ui.chat_bar")
local events = require("codex.events")
local util = require("codex.ui.util")
local uv = vim.uv or vim.loop

---@class codex.Chat
local Chat = {}
local M = { methods = Chat }

local notify, err_text = util.notify, util.err_text

--- Keeps the bar's clock going while any chat runs a turn.
function Chat:_tick_bar()
  bar.tick(function()
    for _, c in ipairs(self._chats()) do if c.state ~= "idle" then return true end end
    return false
  end)
  bar.redraw()
end

--- Subscribes the chat to its thread's turns it does not start itself (once per thread).
function Chat:_watch_thread()
  local thread = self.thread
  if not thread or self.watched_thread == thread.id then return end
  if self.unwatch_turns then self.unwatch_turns() end
  self.unwatch_turns, self.watched_thread = nil, nil
  if type(thread.on_turn) ~= "function" then return end -- (a stand-in thread of a test)
  self.watched_thread = thread.id
  self.unwatch_turns = thread:on_turn(function(turn) self:_attach_turn(turn) end)
end

--- Stops following the thread's foreign turns (the chat is removed).
function Chat:_unwatch_thread()
  if self.unwatch_turns then self.unwatch_turns() end
  self.unwatch_turns, self.watched_thread = nil, nil
end

-- Items whose turn cannot be steered (turn/steer refuses reviews, compaction, shell commands):
-- a message sent while it runs is queued at once instead of failing to steer.
local function unsteerable(item)
  local t = item.type
  return t == "enteredReviewMode" or t == "contextCompaction" or (t == "commandExecution" and item.source == "userShell")
end

--- A turn of the chat's thread the chat did not start (Thread:on_turn): rendered from its
--- first event on; the running turn when the chat is idle, else a side turn.
---@param turn codex.Turn
function Chat:_attach_turn(turn)
  if self.removed or (self.turn and self.turn.id == turn.id) then return end
  -- the turn of a :Codex compact or !cmd of this chat: known unsteerable before its items
  if self.unsteerable_next then turn.unsteerable, self.unsteerable_next = true, nil end
  if self.state == "idle" then
    self.turn, self.state, self.started = turn, "running", uv.now()
    self.headed = nil
    self:_tick_bar()
    events.emit("TurnStarted", { thread_id = self.thread_id, turn_id = turn.id, foreign = true })
  else
    self.side_turns = self.side_turns or {}
    self.side_turns[turn.id] = true
  end
  turn:on("*", function(p, msg)
    if msg.method == "item/started" and type(p) == "table" and type(p.item) == "table" and unsteerable(p.item) then
      turn.unsteerable = true
    end
    self:on_event(msg)
  end)
end

--- Is this completing turn a side turn (see above)? Forgets it: its end changes no state.
---@param turn table the turn/completed turn
---@return boolean
function Chat:_side_turn(turn)
  local id = type(turn) == "table" and turn.id or nil
  if id == nil or not (self.side_turns and self.side_turns[id]) then return false end
  self.side_turns[id] = nil
  return true
end

--- Compacts the thread's history (`:Codex compact`); its turn is shown like any other.
---@return boolean started
function Chat:compact()
  if not self.thread then
    notify("nothing to compact yet (send a message first)", vim.log.levels.WARN)
    return false
  end
  if self.state ~= "idle" then
    notify("a turn is running: compact when it has ended", vim.log.levels.WARN)
    return false
  end
  self.unsteerable_next = true
  self.thread:compact(function(err)
    if not err then return end
    self.unsteerable_next = nil
    notify("compact failed: " .. err_text(err), vim.log.levels.ERROR)
  end)
  return true
end

--- Runs a shell command in the thread (`:Codex !{cmd}`, thread/shellCommand). codex runs it
--- outside the sandbox with the user's rights, so the user is asked first, the command shown,
--- and nothing runs without "Run". Its turn (the command and its output) is shown like any.
---@param command string
function Chat:run_shell(command)
  if self.state ~= "idle" then
    return notify("a turn is running: run the command when it has ended", vim.log.levels.WARN)
  end
  local prompt = ("Run this command without the sandbox (in %s)?\n  %s"):format(vim.fn.fnamemodify(self.cwd, ":~"), command)
  vim.ui.select({ "Run", "Cancel" }, { prompt = prompt, kind = "codex_shell_command" }, function(choice)
    if choice ~= "Run" then return end
    self:ensure_thread(function(err)
      if err then return self:render_error(err) end
      -- What the user asked, as their message (the turn itself has no userMessage item to
      -- echo, so nothing waits for one).
      self:echo_user("!" .. command)
      table.remove(self.echo)
      self.unsteerable_next = true
      self.thread:shell(command, nil, function(serr)
        if not serr then return end
        self.unsteerable_next = nil
        self:render_error(serr)
      end)
    end)
  end)
end

return M
