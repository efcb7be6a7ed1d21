-- The test harness itself (busted through tests/run.lua and tests/lib/runner.lua): teardowns
-- run even when a describe body fails, every finally() runs, a hung test fails with its name,
-- --filter runs one test, and the process exits with 1, not a crash. The fixtures run in a
-- child lua5.4 (the harness's own host for the core suite, with the plain build of the core),
-- from any host.
local ROOT = TEST_ROOT

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- Runs tests/run.lua on a fixture in a child lua5.4; returns its output and exit code.
local function run_fixture(name, extra, envs)
  local cmd = ("cd %s && env -u CODEX_CPATH -u CODEX_TEST_RUNNING -u CODEX_TEST_FILTER -u CODEX_TEST_ARGS -u CODEX_TEST_JUNIT %s lua5.4 tests/run.lua %s tests/fixtures/%s 2>&1; echo \"__rc=$?\"")
    :format(q(ROOT), envs or "", extra or "", name)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out:gsub("__rc=%d+%s*$", ""), tonumber(out:match("__rc=(%d+)%s*$"))
end

describe("runner", function()
  it("runs the teardowns of a describe whose body fails, and goes on with the next describe", function()
    local out, rc = run_fixture("runner_describe_fails.lua")
    expect.eq(rc, 1, "exit code (output:\n" .. out .. ")")
    expect.match(out, "FAIL fixture %(describe body%)\n%s+[^\n]*boom in the describe body")
    expect.match(out, "teardown ran: mock exited")
    expect.falsy(out:find("never runs", 1, true), "a test of the failed describe ran:\n" .. out)
    expect.match(out, "ok   fixture after still runs")
    expect.match(out, "file teardown ran")
    expect.match(out, "\n1 passed, 2 failed\n")
  end)

  it("runs every finally() cleanup of a failed test, the last registered first, then its after_each", function()
    local out = run_fixture("runner_describe_fails.lua")
    expect.match(out, "FAIL fixture after fails with cleanups\n%s+[^\n]*the test failed\nfinally second\nfinally first\nafter_each\n")
  end)

  it("--filter runs only the tests whose full name matches", function()
    local out, rc = run_fixture("runner_describe_fails.lua", "--filter='after still runs'")
    expect.match(out, "ok   fixture after still runs")
    expect.falsy(out:find("fails with cleanups", 1, true), out)
    -- (the failed describe body still counts: its code runs to collect the tests)
    expect.match(out, "\n1 passed, 1 failed\n")
    expect.eq(rc, 1)
  end)

  it("CODEX_TEST_FILTER runs only the tests whose full name holds the text (plain, not a pattern)", function()
    local out = run_fixture("runner_describe_fails.lua", "", "CODEX_TEST_FILTER='fails with cleanups'")
    expect.match(out, "FAIL fixture after fails with cleanups")
    expect.falsy(out:find("still runs", 1, true), out)
  end)

  it("fails a hung test with its name, and goes on with the next", function()
    local out, rc = run_fixture("runner_hangs.lua", "", "CODEX_TEST_TIMEOUT=1")
    expect.eq(rc, 1, "exit code (output:\n" .. out .. ")")
    expect.match(out, "FAIL hang spins in Lua\n%s+[^\n]*timed out: the test ran for more than 1 s")
    expect.match(out, "FAIL hang waits in the loop forever\n%s+[^\n]*timed out: the test ran for more than 1 s")
    expect.match(out, "ok   hang after the hangs still runs")
    expect.match(out, "\n1 passed, 2 failed\n")
  end)

  it("exits with 1, not a crash, when a failed describe left the mock's pipes closing", function()
    local out, rc = run_fixture("runner_mock_left.lua")
    expect.eq(rc, 1, "exit code (139 is the luv crash in lua_close; output:\n" .. out .. ")")
    expect.match(out, "FAIL fixture %(describe body%)")
    expect.match(out, "\n0 passed, 1 failed\n")
  end)

  it("wait_for returns the condition's value, or fails naming what it waited for", function()
    local n = 0
    expect.eq(wait_for(function() n = n + 1 return n >= 3 and "done" end, 1000, "three polls"), "done")
    local err = expect.raises(function() wait_for(function() return false end, 30, "the thing") end)
    expect.match(tostring(err), "timed out after 30 ms waiting for the thing")
  end)
end)
