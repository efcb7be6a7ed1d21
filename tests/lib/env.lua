-- tests/lib/env.lua: the one test sandbox, for every host (Lua 5.4 and Neovim). A spec builds
-- it in lazy_setup (or a describe body) and closes it in lazy_teardown/teardown:
--   local env = require("lib.env")
--   local e = env.new()            -- the mock (tests/mock) on a free port, a CODEX_HOME
--                                  -- pointing at it, a workspace in it; e.env for the client
--   ... e.close()                  -- stops the mock, removes the home
-- and the waits every spec uses:
--   env.wait(cond, what[, ms])     -- runs the loop until cond() is true; fails naming `what`
--   env.settle()                   -- until the core has no queued callbacks, then one
--                                  -- scheduler round trip: for "nothing else happened" checks
--   env.capture_notify()           -- (Neovim) vim.notify recorded: {list, find(pat), restore()}
local mock = require("mock.launch")

local M = {}

M.timeout = 20000 -- ms: the default of wait()

--- A sandbox: {mock, home, workspace, env, close()}; opts.mock_args, opts.home as mock.sandbox.
function M.new(opts)
  return mock.sandbox(opts)
end

--- Waits until cond() returns a true value (returned), running the host's loop; fails the
--- test after ms (default M.timeout) naming what was awaited.
function M.wait(cond, what, ms)
  return wait_for(cond, ms or M.timeout, what or "the condition")
end

local function core()
  local ok, c = pcall(require, "codex.core")
  return ok and c or nil
end

--- Waits until every callback the core queued has run (core.pending_callbacks() == 0), then
--- for one round trip of the scheduler (Neovim: vim.schedule, first in first out): after it,
--- what was already under way has happened. Instead of sleeping before "nothing happened".
function M.settle(ms)
  local c = core()
  if c and c.pending_callbacks then
    M.wait(function() return c.pending_callbacks() == 0 end, "the core's queued callbacks to run", ms or 5000)
  end
  if type(vim) == "table" and vim.schedule then
    local done = false
    vim.schedule(function() done = true end)
    M.wait(function() return done end, "the scheduled callbacks to run", ms or 5000)
  else
    require("codex.host").wait(0, function() return true end)
  end
end

--- (Neovim) Records vim.notify calls (still passed on to the original unless opts.quiet):
--- returns {list = {{msg, level, opts}…}, find(pattern) -> entry|nil, text(sep) -> the messages
--- joined, clear(), restore()}.
function M.capture_notify(opts)
  opts = opts or {}
  local orig = vim.notify
  local cap = { list = {} }
  vim.notify = function(msg, level, o)
    cap.list[#cap.list + 1] = { msg = tostring(msg), level = level, opts = o }
    if not opts.quiet then return orig(msg, level, o) end
  end
  function cap.find(pattern)
    for _, n in ipairs(cap.list) do
      if n.msg:find(pattern) then return n end
    end
  end
  function cap.clear() cap.list = {} end
  function cap.text(sep)
    local out = {}
    for i, n in ipairs(cap.list) do out[i] = n.msg end
    return table.concat(out, sep or "\n")
  end
  function cap.restore() vim.notify = orig end
  return cap
end

return M
