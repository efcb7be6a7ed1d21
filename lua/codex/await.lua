---@mod codex.await  The awaitable contract (DESIGN §3), in one place.
---
--- An operation is a function start(done) that begins some work and calls done(err, result)
--- exactly once, always from a scheduled context. await.call runs it three ways:
---  * with a callback: returns at once; the callback gets (err, result);
---  * inside a coroutine: yields, and is resumed (scheduled) with the result or raises err;
---  * on the main thread: waits while pumping the loop, up to timeout_ms, then raises err.
local core = require("codex.core")
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
  host.init() -- the operation's callbacks may fail: their errors go to host.report
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

--- Makes a method awaitable when its body is written in blocking style (calling other
--- awaitable functions): with a callback (the argument after the first nparams, or the last
--- argument when it is a function), the body runs in a new coroutine and the callback gets
--- (err, result) — never inside the caller's stack; otherwise the body runs right here and
--- its inner calls yield (coroutine) or block (main thread).
---@param fn fun(self: any, ...): any
---@param nparams integer parameters after self
---@return fun(self: any, ...): any
function M.wrap(fn, nparams)
  return function(self, ...)
    local n = select("#", ...)
    local args = pack(...)
    local cb
    if type(args[nparams + 1]) == "function" then
      cb = args[nparams + 1]
      args[nparams + 1] = nil
    elseif n >= 1 and n <= nparams and type(args[n]) == "function" then
      cb = args[n]
      args[n] = nil
    end
    if not cb then return fn(self, unpack(args, 1, nparams)) end
    local in_caller = true
    local co = coroutine.create(function()
      local res = pack(pcall(fn, self, unpack(args, 1, nparams)))
      local function deliver()
        if res[1] then cb(nil, unpack(res, 2, res.n)) else cb(res[2]) end
      end
      -- Finished without waiting: we are still in the caller's stack, so defer.
      if in_caller then core.timer(0, deliver) else deliver() end
    end)
    local ok, err = coroutine.resume(co)
    in_caller = false
    if not ok then error(err, 0) end
  end
end

--- Runs every function in its own coroutine at the same time and waits (awaitable) for all
--- of them; returns their results in order, or raises the first error.
---@param fns (fun(): any)[]
---@param cb fun(err: any, results: any[]|nil)|nil
---@return any[]
function M.all(fns, cb)
  return M.call(function(done)
    local left, results, failed = #fns, {}, false
    if left == 0 then return core.timer(0, function() done(nil, results) end) end
    for i, fn in ipairs(fns) do
      M.wrap(function() return fn() end, 0)(nil, function(err, res)
        if failed then return end
        if err ~= nil then
          failed = true
          return done(err)
        end
        results[i], left = res, left - 1
        if left == 0 then done(nil, results) end
      end)
    end
  end, cb)
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
