---@mod codex.stream  An ordered stream of events (a turn's, a login's) with awaitable reads.
---
--- The core pushes each routed message into the stream (always from a scheduled context).
--- A stream holds an event only as long as somebody may still read it, so a turn of millions
--- of deltas costs what its readers have not consumed yet, not its length:
---  * until the stream is claimed (its first reader or `on` subscriber), it keeps every
---    event, so the first consumer sees the turn from its first event however late it comes;
---  * after that, an event is dropped once every live reader has read it (a reader nobody
---    references any more is collected and stops holding events); with no reader at all,
---    events only go to the subscribers.
--- stream:next()/iter() use the stream's own reader, stream:reader() makes an independent
--- one (positioned at the oldest event still held), stream:on(fn) calls back. A stream ends
--- after its terminal event, or fails when the process dies (every waiting reader gets the
--- transport error at once).
local await = require("codex.await")
local core = require("codex.core")
local errors = require("codex.errors")
local host = require("codex.host")
local util = require("codex.util")

---@class codex.Stream
---@field key string "turn:<id>" or "login:<id>"
---@field ended boolean the terminal event was received
---@field err codex.Error|nil set when the stream failed
---@field received integer events received so far
local Stream = {}
Stream.__index = Stream

---@class codex.StreamReader
---@field stream codex.Stream
---@field pos integer number of the next event to read (counted from 1 over the whole stream)
local Reader = {}
Reader.__index = Reader

local M = {}

---@param key string
---@param terminal string the method that ends this stream
---@return codex.Stream
function M.new(key, terminal)
  return setmetatable({
    key = key, terminal = terminal, ended = false, received = 0,
    -- events[n] is the n-th event of the stream, for head <= n <= received.
    events = {}, head = 1, claimed = false,
    readers = setmetatable({}, { __mode = "k" }),
    waiters = {}, subs = util.subscribers(),
  }, Stream)
end

--- The number of events the stream holds now (received, not yet read by every reader).
---@return integer
function Stream:held()
  return self.received - self.head + 1
end

--- Drops the events every live reader has read (all of them when nobody reads).
function Stream:_trim()
  if not self.claimed then return end
  local low = self.received + 1
  for r in pairs(self.readers) do
    if r.pos < low then low = r.pos end
  end
  local events = self.events
  for n = self.head, low - 1 do events[n] = nil end
  if low > self.head then self.head = low end
end

--- Claims the stream without reading it: from now on it keeps only what its readers have
--- not read yet (see above).
function Stream:claim()
  if self.claimed then return end
  self.claimed = true
  self:_trim()
end

--- Feeds the stream (the core's sink). msg nil + err: the stream failed.
---@param msg table|nil
---@param err codex.Error|nil
function Stream:push(msg, err)
  if self.ended or self.err then return end
  if msg == nil then
    self.err = err or errors.new("transport_closed", "stream ended without its terminal event")
    -- Callback consumers hear it too (readers and waiters get self.err): the turn will never
    -- end on its own, as when the app-server dies mid-turn or the client is closed.
    self.subs:emit(host.report, "stream callback", { method = "codex/closed", params = { error = self.err } })
  else
    self.received = self.received + 1
    self.events[self.received] = msg
    if msg.method == self.terminal then self.ended = true end
    self.subs:emit(host.report, "stream callback", msg)
    self:_trim()
  end
  local waiters = self.waiters
  self.waiters = {}
  for _, w in ipairs(waiters) do w() end
end

--- A sink function for core requests and watches.
---@return fun(msg: table|nil, err: codex.Error|nil)
function Stream:sink()
  return function(msg, err) self:push(msg, err) end
end

--- Calls fn(msg) for every event from now on; with replay, first for those the stream still
--- holds (every event so far when it is the stream's first consumer). Claims the stream.
---@param fn fun(msg: table)
---@param replay boolean|nil
---@return fun() unsubscribe
function Stream:on(fn, replay)
  return self:_subscribe(fn, replay, true)
end

--- Like on(fn, true), but does not claim the stream: for bookkeeping of the library itself
--- (a Turn's item index and result), which must not make the events of a turn nobody reads
--- yet disappear before its first reader comes.
---@param fn fun(msg: table)
---@return fun() unsubscribe
function Stream:observe(fn)
  return self:_subscribe(fn, true, false)
end

function Stream:_subscribe(fn, replay, claim)
  if replay then
    for n = self.head, self.received do fn(self.events[n]) end
  end
  local unsubscribe = self.subs:add(fn)
  if claim then self:claim() end
  return unsubscribe
end

--- A new reader, positioned at the oldest event the stream holds (its first event when it
--- is the stream's first consumer). Claims the stream.
---@return codex.StreamReader
function Stream:reader()
  local r = setmetatable({ stream = self, pos = self.head }, Reader)
  self.readers[r] = true
  self:claim()
  return r
end

function Reader:_take()
  local s = self.stream
  local msg = s.events[self.pos]
  if msg then
    self.pos = self.pos + 1
    if self.pos - 1 == s.head then s:_trim() end
    return true, nil, msg
  end
  if s.err then return true, s.err end
  if s.ended then return true, nil, nil end
  return false
end

--- Waits (awaitable) until take() is ready, at most timeout_ms between two events.
local function wait_for(s, take, timeout_ms, cb, what)
  return await.call(function(done)
    local ready, err, msg = take()
    if ready then
      -- Keep the contract: callbacks never run inside the caller's stack.
      if cb then core.timer(0, function() done(err, msg) end) else done(err, msg) end
      return
    end
    local finished, cancel = false, nil
    local function arm()
      if not timeout_ms then return end
      if cancel then cancel() end
      cancel = core.timer(timeout_ms, function()
        if finished then return end
        finished = true
        done(errors.new("timeout", ("no event on %s within %d ms"):format(s.key, timeout_ms)))
      end)
    end
    local function waiter()
      if finished then return end
      local r, e, m = take()
      if not r then
        s.waiters[#s.waiters + 1] = waiter
        return arm()
      end
      finished = true
      if cancel then cancel() end
      done(e, m)
    end
    s.waiters[#s.waiters + 1] = waiter
    arm()
  end, cb, timeout_ms and timeout_ms + 1000 or nil, what or s.key)
end

--- The next event, or nil once the stream has ended. Awaitable; raises the transport error
--- if the process died first, or a timeout error after timeout_ms (default: none).
---@param timeout_ms number|nil
---@param cb fun(err: any, msg: table|nil)|nil
---@return table|nil
function Reader:next(timeout_ms, cb)
  return wait_for(self.stream, function() return self:_take() end, timeout_ms, cb)
end

--- Iterates over the events: `for msg in reader:iter() do … end` (awaitable per step).
---@param timeout_ms number|nil per event
---@return fun(): table|nil
function Reader:iter(timeout_ms)
  return function() return self:next(timeout_ms) end
end

--- Waits (awaitable) for the stream to end, reading nothing; raises the transport error if
--- it failed, or a timeout error when no event came for timeout_ms.
---@param timeout_ms number|nil between two events
---@param cb fun(err: any)|nil
function Stream:finished(timeout_ms, cb)
  return wait_for(self, function()
    if self.err then return true, self.err end
    return self.ended, nil, nil
  end, timeout_ms, cb)
end

--- The stream's own reader (made on first use): next event (see codex.StreamReader.next).
---@param timeout_ms number|nil
---@param cb fun(err: any, msg: table|nil)|nil
---@return table|nil
function Stream:next(timeout_ms, cb)
  self.own = self.own or self:reader()
  return self.own:next(timeout_ms, cb)
end

--- Iterates with the stream's own reader.
---@param timeout_ms number|nil
---@return fun(): table|nil
function Stream:iter(timeout_ms)
  self.own = self.own or self:reader()
  return self.own:iter(timeout_ms)
end

return M
