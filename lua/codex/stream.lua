---@mod codex.stream  An ordered stream of events (a turn's, a login's) with awaitable reads.
---
--- The core pushes each routed message into the stream (always from a scheduled context).
--- Every event is kept (a turn's events are bounded), so any number of readers can each read
--- the whole stream from the start at their own pace: stream:next()/iter() use the stream's
--- own reader, stream:reader() makes an independent one, stream:on(fn) calls back. A stream
--- ends after its terminal event, or fails when the process dies (every waiting reader gets
--- the transport error at once).
local await = require("codex.await")
local core = require("codex.core")
local errors = require("codex.errors")
local host = require("codex.host")

---@class codex.Stream
---@field key string "turn:<id>" or "login:<id>"
---@field events table[] every event received so far, in order
---@field ended boolean the terminal event was received
---@field err codex.Error|nil set when the stream failed
local Stream = {}
Stream.__index = Stream

---@class codex.StreamReader
---@field stream codex.Stream
---@field pos integer index of the next event to read
local Reader = {}
Reader.__index = Reader

local M = {}

---@param key string
---@param terminal string the method that ends this stream
---@return codex.Stream
function M.new(key, terminal)
  local s = setmetatable({ key = key, terminal = terminal, ended = false, events = {}, waiters = {}, subs = {} }, Stream)
  s.own = s:reader()
  return s
end

--- Feeds the stream (the core's sink). msg nil + err: the stream failed.
---@param msg table|nil
---@param err codex.Error|nil
function Stream:push(msg, err)
  if self.ended or self.err then return end
  if msg == nil then
    self.err = err or errors.new("transport_closed", "stream ended without its terminal event")
  else
    self.events[#self.events + 1] = msg
    if msg.method == self.terminal then self.ended = true end
    for _, fn in ipairs(self.subs) do
      local ok, e = pcall(fn, msg)
      if not ok then host.report("codex: error in stream callback: " .. tostring(e)) end
    end
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

--- Calls fn(msg) for every event from now on; with replay, first for those already received.
---@param fn fun(msg: table)
---@param replay boolean|nil
---@return fun() unsubscribe
function Stream:on(fn, replay)
  if replay then
    for _, msg in ipairs(self.events) do fn(msg) end
  end
  self.subs[#self.subs + 1] = fn
  return function()
    for i, f in ipairs(self.subs) do
      if f == fn then
        table.remove(self.subs, i)
        return
      end
    end
  end
end

--- A new reader, positioned at the first event.
---@return codex.StreamReader
function Stream:reader()
  return setmetatable({ stream = self, pos = 1 }, Reader)
end

function Reader:_take()
  local s = self.stream
  local msg = s.events[self.pos]
  if msg then
    self.pos = self.pos + 1
    return true, nil, msg
  end
  if s.err then return true, s.err end
  if s.ended then return true, nil, nil end
  return false
end

--- The next event, or nil once the stream has ended. Awaitable; raises the transport error
--- if the process died first, or a timeout error after timeout_ms (default: none).
---@param timeout_ms number|nil
---@param cb fun(err: any, msg: table|nil)|nil
---@return table|nil
function Reader:next(timeout_ms, cb)
  local s = self.stream
  return await.call(function(done)
    local ready, err, msg = self:_take()
    if ready then
      -- Keep the contract: callbacks never run inside the caller's stack.
      if cb then core.timer(0, function() done(err, msg) end) else done(err, msg) end
      return
    end
    local finished, cancel = false, nil
    local function waiter()
      if finished then return end
      local r, e, m = self:_take()
      if not r then
        s.waiters[#s.waiters + 1] = waiter
        return
      end
      finished = true
      if cancel then cancel() end
      done(e, m)
    end
    s.waiters[#s.waiters + 1] = waiter
    if timeout_ms then
      cancel = core.timer(timeout_ms, function()
        if finished then return end
        finished = true
        done(errors.new("timeout", ("no event on %s within %d ms"):format(s.key, timeout_ms)))
      end)
    end
  end, cb, timeout_ms and timeout_ms + 1000 or nil, s.key)
end

--- Iterates over the events: `for msg in reader:iter() do … end` (awaitable per step).
---@param timeout_ms number|nil per event
---@return fun(): table|nil
function Reader:iter(timeout_ms)
  return function() return self:next(timeout_ms) end
end

--- The stream's own reader: next event (see codex.StreamReader.next).
---@param timeout_ms number|nil
---@param cb fun(err: any, msg: table|nil)|nil
---@return table|nil
function Stream:next(timeout_ms, cb)
  return self.own:next(timeout_ms, cb)
end

--- Iterates with the stream's own reader.
---@param timeout_ms number|nil
---@return fun(): table|nil
function Stream:iter(timeout_ms)
  return self.own:iter(timeout_ms)
end

return M
