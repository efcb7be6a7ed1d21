-- tests/core/faults_spec.lua: the core under the faults the reliability review found (a
-- coroutine that loaded the module, huge and invalid durations, 64-bit ids, nested waits
-- behind backpressure, duplicate overload errors, a collected client, an unterminated last
-- line, ids nobody watches, one long line). Raw core.spawn clients on the fake app-server
-- where the Lua layer would hide the case; every wait is on an event, with a timeout.
local core = require("codex.core")
local host = require("codex.host")
local fake = require("lib.fake")

local in_nvim = type(vim) == "table" and vim.api ~= nil
local FAKE = TEST_ROOT .. "/tests/fake/app_server.lua"

local clients = {}

--- A raw core client on the fake app-server, initialized; closed after the test.
local function raw_client(opts)
  local o = { argv = { "lua5.4", FAKE }, timeout_ms = 10000 }
  for k, v in pairs(opts or {}) do o[k] = v end
  local c = assert(core.spawn(o))
  clients[#clients + 1] = c
  local done, err
  c:request("initialize", { clientInfo = { name = "t", version = "0" } }, function(e) done, err = true, e end)
  expect.truthy(host.wait(10000, function() return done end), "initialize answered")
  expect.eq(err, nil, "initialize error")
  c:notify("initialized")
  return c
end

--- Sends a request and waits for its callback; returns result, err.
local function call(c, method, params, opts, ms)
  local done, e, r
  c:request(method, params or {}, function(err, res) done, e, r = true, err, res end, opts)
  expect.truthy(host.wait(ms or 10000, function() return done end), method .. " answered")
  return r, e
end

--- Runs a script in a fresh host like this one; returns its output and exit status.
local function run_child(script)
  local shell = require("lib.shell")
  local q, cmd = shell.q, nil
  if in_nvim then
    cmd = ("%s --headless -u NONE -i NONE -c %s"):format(q(os.getenv("CODEX_TEST_NVIM") or "nvim"), q("luafile " .. script))
  else
    cmd = ("CODEX_CPATH=%s %s %s"):format(q(os.getenv("CODEX_CPATH") or (TEST_ROOT .. "/build/lua5.4/?.so")), q(arg[-1]), q(script))
  end
  return shell.sh(("CODEX_ROOT=%s %s"):format(q(TEST_ROOT), cmd))
end

describe("faults", function()
  after_each(function()
    for i = #clients, 1, -1 do
      pcall(clients[i].close, clients[i])
      clients[i] = nil
    end
  end)

  it("a core first loaded in a coroutine that is later collected keeps working (main thread)", function()
    local out, rc = run_child(TEST_ROOT .. "/tests/fixtures/load_in_coroutine.lua")
    expect.eq(rc, 0, "child exit status (139 is a segfault); output:\n" .. out)
    expect.match(out, "ok 20 true true")
  end)

  describe("durations", function()
    it("a huge core.timer means very long, never now; negative and NaN are invalid", function()
      local fired = {}
      local cancels = {}
      for _, ms in ipairs({ math.huge, 1e300, 2 ^ 63, 2 ^ 64 }) do
        cancels[#cancels + 1] = core.timer(ms, function() fired[#fired + 1] = ms end)
      end
      local probe = false
      core.timer(100, function() probe = true end)
      expect.truthy(host.wait(5000, function() return probe end), "the probe timer fired")
      expect.same(fired, {}, "huge timers that fired")
      for _, cancel in ipairs(cancels) do cancel() end
      for _, bad in ipairs({ -1, 0 / 0, -math.huge }) do
        expect.match(tostring(expect.raises(function() core.timer(bad, function() end) end)), "invalid_argument")
      end
    end)

    if not in_nvim then
      it("core.step(math.huge) waits for the next event instead of returning at once", function()
        local fired, steps = false, 0
        core.timer(30, function() fired = true end)
        -- Each step returns after one event (a handle closing from an earlier test counts);
        -- a step that did not wait at all would spin thousands of times in 30 ms.
        while not fired and steps < 100 do
          core.step(math.huge)
          steps = steps + 1
        end
        expect.truthy(fired and steps <= 5, "steps until the timer fired: " .. steps)
        expect.match(tostring(expect.raises(function() core.step(-1) end)), "invalid_argument")
        expect.match(tostring(expect.raises(function() core.step(0 / 0) end)), "invalid_argument")
      end)
    end

    it("a huge request timeout means no timeout; a negative or NaN one is invalid_argument", function()
      local c = raw_client({ timeout_ms = math.huge })
      local r, e = call(c, "fake/delay", { ms = 150, result = { ok = 1 } })
      expect.eq(e, nil, "error with timeout_ms = math.huge")
      expect.eq(r.ok, 1)
      r, e = call(c, "fake/delay", { ms = 50 }, { timeout_ms = 2 ^ 64 })
      expect.eq(e, nil, "error with a per-request 2^64")
      for _, bad in ipairs({ -1, 0 / 0 }) do
        r, e = call(c, "fake/echo", {}, { timeout_ms = bad })
        expect.eq(e and e.kind, "invalid_argument", "per-request timeout " .. tostring(bad))
      end
      expect.match(tostring(expect.raises(function() core.spawn({ argv = { "true" }, timeout_ms = -5 }) end)),
        "invalid_argument")
      -- The Lua layer: codex.new refuses them before anything starts.
      local codex = require("codex")
      for _, opt in ipairs({ "request_timeout_ms", "start_timeout_ms", "max_line", "kill_grace_ms" }) do
        local err = expect.raises(function() codex.new({ [opt] = -1 }) end)
        expect.eq(err.kind, "invalid_argument", opt)
        expect.match(err.message, opt)
        err = expect.raises(function() codex.new({ [opt] = 0 / 0 }) end)
        expect.eq(err.kind, "invalid_argument", opt .. " NaN")
      end
      local c2 = fake.client({ request_timeout_ms = math.huge })
      clients[#clients + 1] = c2
      expect.eq(c2:request("fake/delay", { ms = 50, result = { ok = 2 } }).ok, 2)
    end)

    it("max_line = math.huge means no limit", function()
      local c = raw_client({ max_line = math.huge })
      local r = call(c, "fake/echo", { s = "x" })
      expect.eq(r.s, "x")
      local lines = core.framer(math.huge):feed("abc\n")
      expect.same(lines, { "abc" })
    end)
  end)

  it("a spawn that fails names the program", function()
    local c, msg, code = core.spawn({ argv = { "/nonexistent/codex-x", "app-server" } })
    expect.eq(c, nil)
    expect.match(msg, "cannot start /nonexistent/codex%-x: ")
    expect.eq(code, "ENOENT")
  end)

  describe("ids", function()
    it("an error code beyond 32 bits is shown whole", function()
      local e = setmetatable({ kind = "rpc", message = "m", code = 2 ^ 40 + 1 }, core.error_mt)
      expect.match(tostring(e), "code 1099511627777%)")
    end)

    it("a response id 2^32 + k never resolves request k: it is an unknown id", function()
      local c = raw_client()
      local errs = {}
      c:on_protocol_error(function(e) errs[#errs + 1] = e end)
      local got
      local id = c:request("fake/never", {}, function(e, r) got = { e, r } end)
      local lines = { ('{"id":%.0f,"result":"for someone else"}'):format(2 ^ 32 + id) }
      if not in_nvim then lines[2] = ('{"id":%.0f,"result":"for someone else"}'):format(2 ^ 64 + id) end
      call(c, "fake/emit", { before = lines })
      expect.truthy(host.wait(5000, function() return #errs == #lines end), "one protocol error per bad id")
      for _, e in ipairs(errs) do
        expect.truthy(e.message:find("unknown or finished request") or e.message:find("id this client never used"), e.message)
      end
      expect.eq(got, nil, "request " .. id .. " was resolved by another id")
    end)
  end)

  it("a server request with an id that has no faithful Lua value is answered with the id as sent", function()
    local ids = { "1e400", "-1e400", "18446744073709551616", "-0", "1.50", "7" }
    local lines = {}
    for i, id in ipairs(ids) do lines[i] = ('{"id":%s,"method":"x/ask","params":{}}'):format(id) end
    -- With a handler that answers, and without one (the core's own error answer).
    for _, with_handler in ipairs({ true, false }) do
      local c = raw_client()
      if with_handler then
        c:on_request(function(what, msg)
          if what == "request" then assert(c:respond(msg.id, { decision = "decline" })) end
        end)
      end
      call(c, "fake/emit", { before = lines })
      local st
      expect.truthy(host.wait(5000, function()
        st = call(c, "fake/stats")
        return #st.answer_lines == #ids
      end), "every request answered")
      for i, id in ipairs(ids) do
        local line = st.answer_lines[i]
        expect.eq(line:sub(1, #id + 7), '{"id":' .. id .. ",", "answer " .. i)
        expect.truthy(line:find(with_handler and '"decline"' or '"code":%-32601'), line)
      end
    end
  end)

  it("a callback that waits for its own request while >= 256 callbacks are queued gets its answer", function()
    local c = raw_client()
    local n, got, waited = 0, nil, nil
    c:on_notification(function(msg)
      if msg.method ~= "fake/n" then return end
      n = n + 1
      if n == 1 then
        local t0, done = core.now(), nil
        c:request("fake/echo", { x = 1 }, function(_, r) done = r end)
        got = host.wait(4000, function() return done ~= nil end)
        waited = core.now() - t0
      end
    end)
    call(c, "fake/flood", { count = 1000 })
    expect.truthy(host.wait(10000, function() return n == 1000 end), "all notifications delivered")
    expect.truthy(got, "the nested wait got its answer (waited " .. tostring(waited) .. " ms)")
    expect.lt(waited, 2000, "ms the nested wait took")
  end)

  it("duplicate overload errors for one request neither skip attempts nor orphan its retry", function()
    local errs = {}
    local c = fake.client({ retry = { initial_ms = 10, max_ms = 20 }, on_protocol_error = function(e) errs[#errs + 1] = e end })
    clients[#clients + 1] = c
    local r = c:request("fake/dup_overload", { key = "k", dups = 3 })
    expect.eq(r.calls, 2, "the server saw the request and exactly one retry")
    expect.truthy(host.wait(5000, function() return #errs == 2 end), "the two duplicates are protocol errors")
    expect.match(errs[1].message, "waiting to be retried")
  end)

  it("calls in flight on a collected client fail with kind closed", function()
    local got, pid
    do
      local c = assert(core.spawn({ argv = { "lua5.4", FAKE } }))
      pid = c:status().pid
      c:request("fake/never", {}, function(e, r) got = { err = e, result = r } end)
    end
    for _ = 1, 3 do collectgarbage() end
    expect.truthy(host.wait(5000, function() return got ~= nil end), "the callback ran")
    expect.eq(got.err.kind, "closed")
    expect.match(got.err.message, "garbage%-collected")
    expect.truthy(host.wait(5000, function()
      local f = io.open("/proc/" .. pid .. "/stat")
      if f then
        local zombie = f:read("*a"):match("^%d+ %b() (%a)") == "Z"
        f:close()
        return zombie
      end
      return true
    end), "the app-server ended")
  end)

  it("the last stdout line before exit is read even without its newline", function()
    local c = raw_client()
    local r, e = call(c, "fake/exit_unterminated", { code = 3 })
    expect.eq(e, nil, "error")
    expect.eq(r, "last words")
  end)

  describe("memory stays bounded", function()
    it("events for turn ids nobody watches keep no entry once the buffer is full", function()
      local c = raw_client({ buffer_events = 100 })
      call(c, "fake/flood", { count = 1000, turns = true }, nil, 30000)
      local st = c:status()
      expect.eq(st.buffered, 100, "events buffered")
      expect.truthy(st.streams <= 100, "stream entries kept: " .. st.streams)
      expect.eq(st.dropped_events, 900)
    end)

    it("unwatched events are bounded in bytes too", function()
      local c = raw_client({ buffer_bytes = 1024 * 1024 })
      call(c, "fake/flood", { count = 40, turns = true, same_turn = true, bytes = 64 * 1024 }, nil, 30000)
      local st = c:status()
      expect.truthy(st.buffered_bytes <= 1024 * 1024, "bytes buffered: " .. st.buffered_bytes)
      expect.truthy(st.buffered >= 10 and st.buffered < 40, "events buffered: " .. st.buffered)
      expect.eq(st.dropped_events, 40 - st.buffered)
    end)

    it("the framer gives back the buffer of one long line", function()
      local f = core.framer()
      f:feed(string.rep("x", 3 * 1024 * 1024))
      expect.truthy(f:buffered() >= 3 * 1024 * 1024, "the partial line is buffered")
      local lines = f:feed("y\nz")
      expect.eq(#lines[1], 3 * 1024 * 1024 + 1)
      expect.truthy(f:buffered() <= 1024 * 1024, "buffer kept after the line: " .. f:buffered())
      local g = core.framer(1000)
      g:feed(string.rep("x", 900))
      g:feed(string.rep("x", 3 * 1024 * 1024))
      expect.truthy(g:buffered() <= 1024 * 1024, "buffer kept while dropping: " .. g:buffered())
    end)
  end)
end)
