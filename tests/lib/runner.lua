-- tests/lib/runner.lua: a small test runner that works the same under lua5.4 and inside
-- Neovim (0.7.2 and 0.10), which busted cannot do offline on both. Spec files use
-- describe/it/before_each/after_each/teardown/finally/pending, the `expect` helpers and
-- wait_for below.
-- Usage:  lua5.4 tests/run.lua [files…]        nvim --headless -u NONE -c 'luafile tests/run.lua'
-- It prints one line per test and finishes with "N passed, N failed".
--
-- teardown(fn) registers fn to run when the enclosing describe (or, at the top of a file, the
-- file) ends: after its last test, and also when its body raises. A spec that starts a mock or
-- a client registers its cleanup with it, so that an error anywhere leaves nothing running.
local R = { results = { passed = 0, failed = 0, skipped = 0 }, failures = {} }

-- Inside Neovim, print() goes through the message area; write lines straight to stdout, or
-- to the file CODEX_TEST_LOG names (appended: a Neovim with a UI, e.g. in tmux, has its
-- terminal on stdout).
local print = print
if type(vim) == "table" and vim.api then
  local log = os.getenv("CODEX_TEST_LOG")
  local out = log and log ~= "" and assert(io.open(log, "a")) or io.stdout
  print = function(s) out:write(tostring(s), "\n") out:flush() end
end
R.print = print

-- The scopes being run: a file (the bottom one, nameless), then its describes.
local stack = {}
local current_finally = nil -- the finally() list of the running test

local function fullname(name)
  local parts = {}
  for _, d in ipairs(stack) do
    if d.name then parts[#parts + 1] = d.name end
  end
  parts[#parts + 1] = name
  return table.concat(parts, " ")
end

local function traceback(e)
  if type(e) == "table" and getmetatable(e) and getmetatable(e).__tostring then e = tostring(e) end
  return debug.traceback(tostring(e), 2)
end

local function fail(full, err)
  R.results.failed = R.results.failed + 1
  R.failures[#R.failures + 1] = full .. "\n" .. tostring(err)
  print("FAIL " .. full .. "\n     " .. tostring(err):gsub("\n", "\n     "))
end

--- Runs fn as a scope (name nil: a file): its body under xpcall, then its teardowns (last
--- registered first), whatever happened. An error in either is one failure named after it.
local function scope(name, fn)
  local d = { name = name, before = {}, after = {}, teardown = {} }
  stack[#stack + 1] = d
  local ok, err = xpcall(fn, traceback)
  if not ok then fail(fullname(name and "(describe body)" or "(file body)"), err) end
  for i = #d.teardown, 1, -1 do
    local ok2, err2 = xpcall(d.teardown[i], traceback)
    if not ok2 then fail(fullname(name and "(teardown)" or "(file teardown)"), err2) end
  end
  table.remove(stack)
  return ok
end

function describe(name, fn) scope(name, fn) end

--- Runs a spec file's chunk (see tests/run.lua): top-level teardown() calls belong to it.
function R.run_file(chunk) return scope(nil, chunk) end

function before_each(fn) table.insert(stack[#stack].before, fn) end
function after_each(fn) table.insert(stack[#stack].after, fn) end
function teardown(fn)
  assert(#stack > 0, "teardown() outside a spec file")
  table.insert(stack[#stack].teardown, fn)
end
R.teardown = teardown

--- Inside a test: fn runs when the test ends, passed or failed (before the after_each hooks;
--- the last registered first). For what the test itself started.
function finally(fn)
  assert(current_finally, "finally() outside a test")
  table.insert(current_finally, fn)
end

function pending(name)
  R.results.skipped = R.results.skipped + 1
  print("SKIP " .. fullname(name))
end

function it(name, fn)
  local befores, afters = {}, {}
  for _, d in ipairs(stack) do
    for _, f in ipairs(d.before) do befores[#befores + 1] = f end
  end
  for i = #stack, 1, -1 do
    for _, f in ipairs(stack[i].after) do afters[#afters + 1] = f end
  end
  local full = fullname(name)
  if R.filter and not full:find(R.filter, 1, true) then return end
  local t0 = os.clock()
  local finals = {}
  current_finally = finals
  local ok, err = xpcall(function()
    for _, f in ipairs(befores) do f() end
    fn()
  end, traceback)
  current_finally = nil
  for i = 1, #finals do table.insert(afters, 1, finals[i]) end -- the last registered first
  for _, f in ipairs(afters) do
    local ok2, err2 = xpcall(f, traceback)
    if ok and not ok2 then ok, err = ok2, err2 end
  end
  if ok then
    R.results.passed = R.results.passed + 1
    print(("ok   %s (%.0f ms cpu)"):format(full, (os.clock() - t0) * 1000))
  else
    fail(full, err)
  end
end

-- expect helpers --------------------------------------------------------------------------
local function dump(v, depth)
  depth = depth or 0
  if type(v) == "string" then return ("%q"):format(#v > 200 and v:sub(1, 200) .. "…" or v) end
  if type(v) ~= "table" or depth > 3 then return tostring(v) end
  if getmetatable(v) and getmetatable(v).__tostring then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. "=" .. dump(x, depth + 1) end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end
R.dump = dump

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

expect = {}
function expect.eq(actual, expected, what)
  if actual ~= expected then
    error(("%sexpected %s, got %s"):format(what and what .. ": " or "", dump(expected), dump(actual)), 2)
  end
end
function expect.same(actual, expected, what)
  if not deep_eq(actual, expected) then
    error(("%sexpected %s, got %s"):format(what and what .. ": " or "", dump(expected), dump(actual)), 2)
  end
end
function expect.truthy(v, what)
  if not v then error((what or "expected a true value") .. ", got " .. dump(v), 2) end
  return v
end
function expect.falsy(v, what)
  if v then error((what or "expected a false value") .. ", got " .. dump(v), 2) end
end
function expect.match(s, pattern, what)
  if type(s) ~= "string" or not s:find(pattern) then
    error(("%sexpected %s to match %q"):format(what and what .. ": " or "", dump(s), pattern), 2)
  end
end
--- Calls fn and expects it to raise; returns the error value.
function expect.raises(fn, what)
  local ok, err = pcall(fn)
  if ok then error((what or "expected an error") .. ", but the call succeeded", 2) end
  return err
end
function expect.lt(a, b, what)
  if not (a < b) then error(("%sexpected %s < %s"):format(what and what .. ": " or "", dump(a), dump(b)), 2) end
end

--- Waits, running the host's loop, until cond() returns a true value (which it returns), or
--- fails the test after ms milliseconds with a message naming what was awaited (what() is
--- called then, to describe the state it timed out in). The only way specs wait: never a fixed
--- sleep.
---@param cond fun(): any
---@param ms number
---@param what string|fun(): string
function wait_for(cond, ms, what)
  assert(type(cond) == "function" and type(ms) == "number" and (type(what) == "string" or type(what) == "function"),
    "wait_for(cond, ms, what)")
  local v
  local function check()
    v = cond()
    return v and true or false
  end
  local ok
  if type(vim) == "table" and vim.wait then
    ok = vim.wait(ms, check, 10)
  else
    ok = require("codex.host").wait(ms, check)
  end
  if not ok then
    error(("timed out after %d ms waiting for %s"):format(ms, type(what) == "function" and what() or what), 2)
  end
  return v
end
R.wait_for = wait_for

return R
