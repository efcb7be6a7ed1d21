---@mod codex.await  The awaitable contract (DESIGN §3), in one place.
---
--- An operation is a function start(done) that begins some work and calls done(err, result)
--- exactly once, always from a scheduled context. await.call runs it three ways:
---  * with a callback: returns at once; the callback gets (err, result);
---  * inside a coroutine: yields, and is resumed (scheduled) with the result or raises err;
---  * on the main thread: waits while pumping the loop, up to timeout_ms, then raises err.
local host = require("codex.host")
local errors = require("codex.errors")

local M = {}

local unpack = table.unpack or unpack
local function pack(...) return { n = select("#", ...), ... } end

local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then host.report("codex: error in coroutine: " .. tostring(err)) end
end

---@param start fun(done: fun(err: any, result: any))
---@param cb fun(err: any, result: any)|nil
---@param timeout_ms number|nil for the blocking form (the operation has its own timeouts too)
---@param what string|nil named in the timeout error
---@return any result
function M.call(start, cb, timeout_ms, what)
  if cb then
    start(cb)
    return
  end
  local co = host.running_coroutine()
  if co then
    local sync, s_err, s_res, yielded = false, nil, nil, false
    start(function(err, res)
      if yielded then
        resume(co, err, res)
      else
        sync, s_err, s_res = true, err, res
      end
    end)
    local err, res
    if sync then
      err, res = s_err, s_res
    else
      yielded = true
      err, res = coroutine.yield()
    end
    if err ~= nil then error(err, 0) end
    return res
  end
  local done, d_err, d_res = false, nil, nil
  start(function(err, res)
    done, d_err, d_res = true, err, res
  end)
  if not host.wait(timeout_ms, function() return done end) then
    error(errors.new("timeout", "timed out waiting for " .. (what or "codex")), 0)
  end
  if d_err ~= nil then error(d_err, 0) end
  return d_res
end

--- Runs fn(...) in a new coroutine (so awaitable calls inside it yield) and, on the main
--- thread of a plain Lua script, pumps the loop until it finishes. Returns fn's results.
--- Errors from fn are raised.
---@param fn function
---@return any
function M.run(fn, ...)
  local args, n = { ... }, select("#", ...)
  local finished, results = false, nil
  local co = coroutine.create(function()
    results = pack(pcall(fn, unpack(args, 1, n)))
    finished = true
  end)
  local ok, err = coroutine.resume(co)
  if not ok then error(err, 0) end
  if host.running_coroutine() then return end -- nested: let it run on its own
  host.wait(nil, function() return finished end)
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, results.n)
end

return M
