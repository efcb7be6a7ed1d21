---@mod codex.stream  An ordered stream of events (a turn's, a login's) with awaitable reads.
---
--- The core pushes each routed message into the stream (always from a scheduled context);
--- readers pull with stream:next() (awaitable) or iterate with stream:iter(), or get
--- callbacks with stream:on(fn). A stream ends after its terminal event, or fails when the
--- process dies (every waiting reader gets the transport error at once).
local await = require("codex.await")
local core = require("codex.core")
local errors = require("codex.errors")
local host = require("codex.host")

---@class codex.Stream
---@field key string "turn:<id>" or "login:<id>"
---@field ended boolean the terminal event was received
---@field err codex.Error|nil set when the stream failed
local Stream = {}
Stream.__index = Stream

local M = {}

---@param key string
---@param terminal string the method that ends this stream
---@return codex.Stream
function M.new(key, terminal)
  return setmetatable({ key = key, terminal = terminal, ended = false, q = {}, qh = 1, qt = 0, waiters = {}, subs = {} }, Stream)
end

--- Feeds the stream (the core's sink). msg nil + err: the stream failed.
---@param msg table|nil
---@param err codex.Error|nil
function Stream:push(msg, err)
  if self.ended or self.err then return end
  if msg == nil then
    self.err = err or errors.new("transport_closed", "stream ended without its terminal event")
  else
    self.qt = self.qt + 1
    self.q[self.qt] = msg
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

--- Calls fn(msg) for every event from now on (and not for those already read).
---@param fn fun(msg: table)
---@return fun() unsubscribe
function Stream:on(fn)
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

function Stream:_take()
  if self.qh <= self.qt then
    local msg = self.q[self.qh]
    self.q[self.qh] = nil
    self.qh = self.qh + 1
    if self.qh > self.qt then self.q, self.qh, self.qt = {}, 1, 0 end
    return true, nil, msg
  end
  if self.err then return true, self.err end
  if self.ended then return true, nil, nil end
  return false
end

--- The next event, or nil once the stream has ended. Awaitable; raises the transport error
--- if the process died first, or a timeout error after timeout_ms (default: none).
---@param timeout_ms number|nil
---@param cb fun(err: any, msg: table|nil)|nil
---@return table|nil
function Stream:next(timeout_ms, cb)
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
        self.waiters[#self.waiters + 1] = waiter
        return
      end
      finished = true
      if cancel then cancel() end
      done(e, m)
    end
    self.waiters[#self.waiters + 1] = waiter
    if timeout_ms then
      cancel = core.timer(timeout_ms, function()
        if finished then return end
        finished = true
        done(errors.new("timeout", ("no event on %s within %d ms"):format(self.key, timeout_ms)))
      end)
    end
  end, cb, timeout_ms and timeout_ms + 1000 or nil, self.key)
end

--- Iterates over the events: `for msg in stream:iter() do … end` (awaitable per step).
---@param timeout_ms number|nil per event
---@return fun(): table|nil
function Stream:iter(timeout_ms)
  return function() return self:next(timeout_ms) end
end

return M
