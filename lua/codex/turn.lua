---@mod codex.turn  A turn in progress: its events, its text, its result.
local await = require("codex.await")
local errors = require("codex.errors")
local input = require("codex.input")

---@class codex.TurnResult
---@field id string
---@field status "completed"|"interrupted"|"failed"
---@field error table|nil the turn's error (message, codexErrorInfo, additionalDetails)
---@field final_response string|nil the answer (protocol.md §8)
---@field partial_response string|nil the text of an agent message cut off by an interrupt
---@field items table[] every item/completed item, in order
---@field usage table|nil the last token usage of the turn ({total, last, modelContextWindow})
---@field started_at number|nil Unix seconds
---@field completed_at number|nil Unix seconds
---@field duration_ms number|nil
---@field review string|nil a review turn's review text (its exitedReviewMode item); nil for other turns
---@field findings codex.ReviewFinding[]|nil a review turn's findings, parsed from that text ({} when it has none)
---@field diff string|nil the turn's latest aggregated unified diff (turn/diff/updated); nil when it changed no file
---@field files table<string, codex.PatchCount> lines added and removed per file of that diff (its paths, as the diff names them: relative to the repository's root); {} without a diff

---@class codex.Turn
---@field id string
---@field thread_id string
---@field stream codex.Stream the turn's events, ending with turn/completed
---@field review boolean|nil a review turn (thread:review): it cannot be steered
local Turn = {}
Turn.__index = Turn

local M = {}

local val = require("codex.util").val

--- Text pieces joined as they come, keeping few strings: a piece is merged into the one
--- below it while it is at least as long, so appending n bytes copies O(n log n) bytes and
--- holds O(log n) strings, however many deltas made them.
local function text_add(stack, piece)
  stack[#stack + 1] = piece
  while #stack > 1 and #stack[#stack] >= #stack[#stack - 1] do
    local top = table.remove(stack)
    stack[#stack] = stack[#stack] .. top
  end
end

---@param client codex.Client
---@param thread_id string
---@param result table the turn/start (or review/start) result
---@param stream codex.Stream
---@return codex.Turn
function M.new(client, thread_id, result, stream)
  local self = setmetatable({ client = client, thread_id = thread_id, id = result.turn.id, stream = stream,
                              items = {}, start = result }, Turn)
  -- What the TurnResult needs, gathered as events pass (the stream itself keeps no event
  -- that its readers have read): completed items, the text of agent messages still going
  -- (for partial_response), the last usage, the completion.
  local acc = { items = {}, partial = {}, order = {} }
  self._acc = acc
  stream:observe(function(msg)
    local p = type(msg.params) == "table" and msg.params or {}
    local m = msg.method
    if (m == "item/started" or m == "item/completed") and type(p.item) == "table" then
      local id = p.item.id
      -- Items by id, for approval handlers (req.item) and UIs (an item without an id
      -- cannot be looked up).
      if id ~= nil and id == id then self.items[id] = p.item end
      if m == "item/completed" then
        acc.items[#acc.items + 1] = p.item
        if type(id) == "string" then acc.partial[id] = false end
      end
    elseif m == "item/agentMessage/delta" then
      local id = p.itemId or ""
      local text = acc.partial[id]
      if text == nil then
        text = {}
        acc.partial[id] = text
        acc.order[#acc.order + 1] = id
      end
      if text then text_add(text, type(p.delta) == "string" and p.delta or "") end
    elseif m == "thread/tokenUsage/updated" then
      acc.usage = p.tokenUsage
    elseif m == "turn/diff/updated" then
      -- Each one is the whole turn's diff so far: only the latest is kept (not per event).
      if type(p.diff) == "string" then self._diff = p.diff end
    elseif m == "turn/completed" then
      acc.completed = type(p.turn) == "table" and p.turn or {}
    end
  end)
  return self
end

--- The latest known state of an item of this turn (from item/started or item/completed).
---@param item_id string
---@return table|nil
function Turn:item(item_id)
  return self.items[item_id]
end

--- The turn's latest aggregated unified diff (turn/diff/updated: sent after each applied file
--- change and before turn/completed); nil before any.
---@return string|nil
function Turn:diff()
  return self._diff
end

--- Iterates over the events of the turn, ending after turn/completed:
--- `for ev in turn:events() do print(ev.method) end`. The turn's first consumer (this, text(),
--- on() or wait()) starts at its first event; each later call starts a new iteration at the
--- oldest event some live iterator has not read yet (see codex.stream: read events are not
--- kept). Raises the transport error if the process dies first.
---@param timeout_ms number|nil per event
---@return fun(): {method: string, params: table}|nil
function Turn:events(timeout_ms)
  return self.stream:reader():iter(timeout_ms)
end

--- Iterates over the agent's text deltas only.
---@param timeout_ms number|nil per event
---@return fun(): string|nil
function Turn:text(timeout_ms)
  local r = self.stream:reader()
  return function()
    while true do
      local ev = r:next(timeout_ms)
      if ev == nil then return nil end
      if ev.method == "item/agentMessage/delta" and type(ev.params) == "table" then return ev.params.delta end
    end
  end
end

--- Calls fn(params, msg) for each event of this method ("*" for all), first for those the
--- turn still holds (all of them when this is its first consumer). Returns an unsubscribe
--- function. When the turn can no longer end (the app-server died, the client was closed),
--- the last event is `codex/closed` with params.error (a codex.Error), not turn/completed.
---@param method string
---@param fn fun(params: table, msg: table)
---@return fun()
function Turn:on(method, fn)
  return self.stream:on(function(msg)
    if method == "*" or msg.method == method then fn(msg.params, msg) end
  end, true)
end

--- The TurnResult, once the turn completed (protocol.md §8); nil before.
---@return codex.TurnResult|nil
function Turn:result()
  if self._result then return self._result end
  local acc = self._acc
  local completed, items = acc.completed, acc.items
  if not completed then return nil end
  local final
  for i = #items, 1, -1 do
    local it = items[i]
    if it.type == "agentMessage" and val(it.phase) == "final_answer" then final = it.text break end
  end
  if final == nil then
    for i = #items, 1, -1 do
      local it = items[i]
      if it.type == "agentMessage" and val(it.phase) == nil then final = val(it.text) or "" break end
    end
  end
  local partial_text
  for i = #acc.order, 1, -1 do
    local text = acc.partial[acc.order[i]]
    if text then partial_text = table.concat(text) break end
  end
  self._result = {
    id = completed.id or self.id,
    status = completed.status,
    error = val(completed.error),
    final_response = final,
    partial_response = partial_text,
    items = items,
    usage = acc.usage,
    started_at = val(completed.startedAt),
    completed_at = val(completed.completedAt),
    duration_ms = val(completed.durationMs),
  }
  local diff = self._diff
  self._result.diff, self._result.files = diff, {}
  if diff then
    local files = require("codex.patch").parse(diff)
    if files then self._result.files = require("codex.patch").summary(files) end
  end
  local review = require("codex.review")
  local text = review.text_of(items)
  if text then self._result.review, self._result.findings = text, review.parse(text) end
  self._acc = nil
  return self._result
end

--- Waits for the turn to end and returns its TurnResult. A failed turn raises a
--- "turn_failed" error (with the server's message, data = the turn error, result = the
--- TurnResult) unless opts.raise == false. An interrupted turn is a result, not an error.
---@param opts {timeout_ms: number|nil, raise: boolean|nil}|nil
---@param cb fun(err: codex.Error|nil, result: codex.TurnResult|nil)|nil
---@return codex.TurnResult
Turn.wait = await.wrap(function(self, opts)
  opts = opts or {}
  self.stream:finished(opts.timeout_ms)
  local result = self:result()
  if not result then error(errors.new("transport_closed", "the turn ended without turn/completed"), 0) end
  if result.status == "failed" and opts.raise ~= false then
    local e = result.error or {}
    error(errors.new("turn_failed", val(e.message) or "the turn failed", {
      data = e, codex_error_info = val(e.codexErrorInfo), additional_details = val(e.additionalDetails),
      result = result, method = "turn/start",
    }), 0)
  end
  return result
end, 1)

--- Interrupts the turn (turn/interrupt). It then completes with status "interrupted".
---@param cb fun(err: codex.Error|nil, result: table|nil)|nil
Turn.interrupt = await.wrap(function(self)
  return self.client:request("turn/interrupt", { threadId = self.thread_id, turnId = self.id })
end, 0)

--- Adds input to the running turn (turn/steer). Raises an rpc error when the turn is no
--- longer active or cannot be steered (review and compact turns).
---@param inp codex.Input
---@param cb fun(err: codex.Error|nil, result: table|nil)|nil
Turn.steer = await.wrap(function(self, inp)
  local items, why = input.normalize(inp)
  if not items then error(errors.new("invalid_argument", why), 0) end
  return self.client:request("turn/steer", { threadId = self.thread_id, expectedTurnId = self.id, input = items })
end, 1)

return M
