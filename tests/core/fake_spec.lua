-- tests/core/fake_spec.lua: codex.rpc + codex.core against the scripted fake app-server
-- (tests/fake/app_server.lua) over real pipes. Every wait is on an event, with a timeout.
local fake = require("lib.fake")
local core = require("codex.core")
local host = require("codex.host")
local await = require("codex.await")

local in_nvim = type(vim) == "table" and vim.api ~= nil

-- helpers ---------------------------------------------------------------------------------

local clients = {}

--- A fake-backed client, closed after the test.
local function client(opts)
  local c = fake.client(opts)
  clients[#clients + 1] = c
  return c
end

local function now() return core.now() end

--- Captures reports (host.report and the core's reporter) until restored in after_each.
local orig_report = host.report
local reports = nil
local function capture_reports()
  reports = {}
  local function fn(msg) reports[#reports + 1] = tostring(msg) end
  host.report = fn
  core.on_error(fn)
  return reports
end

local function count_matching(list, pattern)
  local n = 0
  for _, s in ipairs(list) do if s:find(pattern) then n = n + 1 end end
  return n
end

local function cleanup()
  for i = #clients, 1, -1 do
    local c = clients[i]
    clients[i] = nil
    pcall(function() c:close() end)
  end
  host.report = orig_report
  core.on_error(orig_report)
  reports = nil
end

--- Raises unless fn raises; returns the error object.
local function raises(fn, what)
  local ok, err = pcall(fn)
  if ok then error((what or "expected an error") .. ", but the call succeeded", 2) end
  return err
end

--- Polls fake/stats until it lists at least n answers.
local function stats_with_answers(c, n)
  local deadline = now() + 3000
  while true do
    local st = c:request("fake/stats")
    if #st.answers >= n or now() > deadline then return st end
  end
end

local function answer_by_id(st, id)
  for _, a in ipairs(st.answers) do
    if a.id == id then return a end
  end
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
--- Base64 without bit operations (works under LuaJIT and Lua 5.4).
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1)
      .. (b and B64:sub(c3 + 1, c3 + 1) or "=") .. (c and B64:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

local function alive_pid(pid)
  local r = os.execute("kill -0 " .. pid .. " 2>/dev/null")
  return r == true or r == 0
end

-- 1-3: streams -----------------------------------------------------------------------------

describe("fake: streams", function()
  after_each(cleanup)
  it("interleaved turns: each watched stream gets exactly its own deltas, in order, then ends", function()
    local c = client()
    c:start()
    local sa, sb = c:watch("turn:a"), c:watch("turn:b")
    expect.same(c:request("fake/interleave", { turns = { "a", "b" }, deltas = 50 }), {})
    for _, t in ipairs({ { sa, "a" }, { sb, "b" } }) do
      local s, id = t[1], t[2]
      for k = 1, 50 do
        local m = s:next(3000)
        expect.eq(m.method, "item/agentMessage/delta", id .. k)
        expect.eq(m.params.turnId, id)
        expect.eq(m.params.delta, id .. k)
      end
      local m = s:next(3000)
      expect.eq(m.method, "turn/completed")
      expect.eq(m.params.turn.id, id)
      expect.eq(s:next(1000), nil, "stream " .. id .. " ended")
      expect.truthy(s.ended)
    end
  end)

  it("turn/completed in the same write as the turn/start response still reaches the stream", function()
    local c = client()
    local r, s = c:request_stream("turn/start", { threadId = "t" })
    expect.eq(r.turn.id, "turn-1")
    expect.eq(s.key, "turn:turn-1")
    local m = s:next(2000)
    expect.eq(m.method, "turn/started")
    m = s:next(2000)
    expect.eq(m.method, "item/agentMessage/delta")
    expect.eq(m.params.delta, "Hel")
    m = s:next(2000)
    expect.eq(m.params.delta, "lo")
    m = s:next(2000)
    expect.eq(m.method, "turn/completed")
    expect.eq(s:next(1000), nil)
    expect.eq(c:status().buffered, 0)
  end)

  it("custom fakeEvents: only this turn's events reach its stream; global ones go to on()", function()
    local c = client()
    local warnings = {}
    c:on("configWarning", function(p) warnings[#warnings + 1] = p.summary end)
    local r, s = c:request_stream("turn/start", {
      threadId = "t", fakeTurnId = "custom",
      fakeEvents = {
        { method = "turn/started", params = { threadId = "t", turn = { id = "$TURN", status = "inProgress" } } },
        { method = "item/agentMessage/delta", params = { threadId = "t", turnId = "other", itemId = "m", delta = "NO" } },
        { method = "configWarning", params = { summary = "mid-turn" } },
        { method = "item/agentMessage/delta", params = { threadId = "t", turnId = "$TURN", itemId = "m", delta = "X" } },
        { method = "turn/completed", params = { threadId = "t", turn = { id = "$TURN", status = "completed" } } },
      },
    })
    expect.eq(r.turn.id, "custom")
    local seen = {}
    for m in s:iter(2000) do seen[#seen + 1] = m.method .. ":" .. tostring(m.params.delta or "") end
    expect.same(seen, { "turn/started:", "item/agentMessage/delta:X", "turn/completed:" })
    expect.truthy(host.wait(2000, function() return #warnings == 2 end), "both configWarnings delivered")
    expect.eq(warnings[2], "mid-turn")
  end)

  it("events of an unwatched turn are buffered and replayed on watch()", function()
    local c = client()
    c:start()
    local function delta(turn, d)
      return { method = "item/agentMessage/delta", params = { threadId = "t", turnId = turn, itemId = "m", delta = d } }
    end
    c:request("fake/emit", { before = { delta("u", "1"), delta("u", "2") } })
    expect.eq(c:status().buffered, 2)
    local s = c:watch("turn:u")
    expect.eq(s:next(2000).params.delta, "1")
    expect.eq(s:next(2000).params.delta, "2")
    expect.eq(c:status().buffered, 0)
    c:request("fake/emit", { before = { delta("u", "3"),
      { method = "turn/completed", params = { threadId = "t", turn = { id = "u", status = "completed" } } } } })
    expect.eq(s:next(2000).params.delta, "3")
    expect.eq(s:next(2000).method, "turn/completed")
    expect.eq(s:next(1000), nil)
  end)

  it("a stream keeps every event when reads and arrivals interleave", function()
    local c = client()
    c:start()
    local s = c:watch("turn:q")
    local function delta(d)
      return { method = "item/agentMessage/delta", params = { threadId = "t", turnId = "q", itemId = "m", delta = d } }
    end
    -- Two events queued in the stream before the first read, then one more after it.
    c:request("fake/emit", { before = { delta("1"), delta("2") } })
    expect.eq(s:next(1000).params.delta, "1")
    c:request("fake/emit", { before = { delta("3"),
      { method = "turn/completed", params = { threadId = "t", turn = { id = "q", status = "completed" } } } } })
    local rest = {}
    for m in s:iter(1000) do rest[#rest + 1] = m.params.delta or m.method end
    expect.same(rest, { "2", "3", "turn/completed" })
  end)

  it("a turn that completes unwatched is dropped; a later watch sees it ended, with no events", function()
    local c = client()
    c:start()
    c:request("fake/emit", { before = {
      { method = "item/agentMessage/delta", params = { threadId = "t", turnId = "v", itemId = "m", delta = "1" } },
      { method = "item/agentMessage/delta", params = { threadId = "t", turnId = "v", itemId = "m", delta = "2" } },
    } })
    expect.eq(c:status().buffered, 2)
    c:request("fake/emit", { before = {
      { method = "turn/completed", params = { threadId = "t", turn = { id = "v", status = "completed" } } },
    } })
    expect.eq(c:status().buffered, 0)
    local s = c:watch("turn:v")
    expect.truthy(s.ended, "the watch reports the stream as ended")
    expect.eq(s:next(500), nil)
  end)
end)

-- 4-7: server requests ----------------------------------------------------------------------

describe("fake: server requests", function()
  after_each(cleanup)
  it("answered late and in reverse order; other requests complete meanwhile; no double answer", function()
    local reqs = {}
    local c = client({ approval_handler = function(req) reqs[#reqs + 1] = req end })
    local r = c:request("fake/server_request", {
      method = "item/commandExecution/requestApproval", params = { threadId = "t", turnId = "x" }, count = 3,
    })
    expect.same(r.ids, { 0, 1, 2 })
    expect.truthy(host.wait(2000, function() return #reqs == 3 end), "three requests reached the handler")
    expect.eq(reqs[1].thread_id, "t")
    expect.eq(reqs[1].turn_id, "x")
    expect.eq(reqs[1].method, "item/commandExecution/requestApproval")
    -- Pending server requests do not block our own requests.
    expect.same(c:request("fake/echo", { still = "working" }), { still = "working" })
    expect.eq(#c:request("fake/stats").answers, 0, "nothing answered yet")
    for i = 3, 1, -1 do expect.eq(reqs[i]:respond({ decision = "accept" }), true) end
    local st = stats_with_answers(c, 3)
    expect.eq(#st.answers, 3)
    for i, id in ipairs({ 2, 1, 0 }) do
      expect.eq(st.answers[i].id, id)
      expect.same(st.answers[i].result, { decision = "accept" })
    end
    local ok, msg = reqs[1]:respond({ decision = "accept" })
    expect.eq(ok, nil)
    expect.eq(type(msg), "string")
    local ok2, msg2 = c.core:respond(reqs[1].id, { decision = "accept" })
    expect.eq(ok2, nil, "the core refuses a second answer too")
    expect.eq(type(msg2), "string")
    expect.eq(#c:request("fake/stats").answers, 3, "no second answer reached the server")
  end)

  it("the default handler never approves anything", function()
    local c = client()
    local methods = {
      "item/commandExecution/requestApproval",
      "item/fileChange/requestApproval",
      "item/permissions/requestApproval",
      "item/tool/requestUserInput",
      "mcpServer/elicitation/request",
      "item/tool/call",
      "account/chatgptAuthTokens/refresh",
      "fake/unknownServerRequest",
    }
    for _, m in ipairs(methods) do
      c:request("fake/server_request", { method = m, params = { threadId = "t", turnId = "x" } })
    end
    local st = stats_with_answers(c, #methods)
    local a = {}
    for i, m in ipairs(methods) do a[m] = answer_by_id(st, i - 1) or {} end
    expect.same(a["item/commandExecution/requestApproval"].result, { decision = "decline" })
    expect.same(a["item/fileChange/requestApproval"].result, { decision = "decline" })
    local perms = a["item/permissions/requestApproval"].result.permissions
    expect.eq(type(perms), "table")
    expect.eq(next(perms), nil, "no permission granted")
    local answers = a["item/tool/requestUserInput"].result.answers
    expect.eq(type(answers), "table")
    expect.eq(next(answers), nil)
    local el = a["mcpServer/elicitation/request"].result
    expect.eq(el.action, "decline")
    expect.eq(el.content, core.null, "content is JSON null")
    expect.eq(a["item/tool/call"].result.success, false)
    -- Answered with JSON-RPC errors (Request:reject):
    local refresh = a["account/chatgptAuthTokens/refresh"]
    expect.eq(refresh.result, nil)
    expect.eq(type(refresh.error), "table", "error answer to account/chatgptAuthTokens/refresh")
    expect.eq(type(refresh.error.code), "number")
    local unknown = a["fake/unknownServerRequest"]
    expect.eq(unknown.result, nil)
    expect.eq(type(unknown.error), "table", "error answer to an unknown server request")
    expect.eq(unknown.error.code, -32601)
    expect.eq(#st.answers, #methods)
  end)

  it("req:reject() sends a JSON-RPC error answer", function()
    local ret
    local c = client({ approval_handler = function(req) ret = { req:reject(-32000, "not today") } end })
    c:request("fake/server_request", { method = "item/tool/call", params = { threadId = "t" } })
    expect.truthy(host.wait(2000, function() return ret ~= nil end))
    expect.eq(ret[1], true, "reject returned " .. tostring(ret[2]))
    local st = stats_with_answers(c, 1)
    expect.same(st.answers[1], { id = 0, error = { code = -32000, message = "not today" } })
  end)

  it("a handler that raises gets the safe default and routing continues", function()
    local got = capture_reports()
    local c = client({ approval_handler = function() error("handler boom") end })
    c:request("fake/server_request", { method = "item/fileChange/requestApproval", params = { threadId = "t" } })
    local st = stats_with_answers(c, 1)
    expect.same(st.answers[1].result, { decision = "decline" })
    expect.same(c:request("fake/echo", { n = 1 }), { n = 1 })
    expect.eq(count_matching(got, "handler boom"), 1)
  end)

  it("a Lua error in a notification callback is reported and routing continues", function()
    local got = capture_reports()
    local c = client()
    local later = 0
    c:on("configWarning", function() error("boom") end)
    c:on("configWarning", function() later = later + 1 end)
    c:start() -- initialize is followed by a configWarning
    c:request("fake/emit", { before = { { method = "configWarning", params = { summary = "again" } } } })
    expect.same(c:request("fake/echo", { n = 2 }), { n = 2 })
    expect.truthy(host.wait(2000, function() return later == 2 end), "the other subscriber still ran")
    expect.eq(count_matching(got, "boom"), 2)
  end)

  it("a Lua error in a response callback is reported and routing continues", function()
    local got = capture_reports()
    local c = client()
    c:start()
    local ran = false
    c:request("fake/echo", { n = 3 }, nil, function()
      ran = true
      error("cb boom")
    end)
    expect.truthy(host.wait(2000, function() return ran end))
    expect.same(c:request("fake/echo", { n = 4 }), { n = 4 })
    expect.eq(count_matching(got, "cb boom"), 1)
  end)

  it("serverRequest/resolved from the server settles a pending request (on_resolved)", function()
    local req
    local c = client({ approval_handler = function(r) req = r end })
    c:request("fake/server_request", { method = "item/commandExecution/requestApproval", params = { threadId = "t", turnId = "x" } })
    expect.truthy(host.wait(2000, function() return req ~= nil end))
    local fired = 0
    req:on_resolved(function(r) fired = fired + 1; expect.eq(r, req) end)
    expect.eq(fired, 0)
    c:request("fake/resolve", { requestId = req.id, threadId = "t" })
    expect.truthy(host.wait(2000, function() return fired == 1 end), "on_resolved fired")
    expect.truthy(req.resolved)
    -- Settled by the server: answering now is refused by the core.
    local ok = req:respond({ decision = "accept" })
    expect.eq(ok, nil)
  end)

  it("serverRequest/resolved after our answer (resolve=true) fires on_resolved", function()
    local req
    local c = client({ approval_handler = function(r) req = r end })
    c:request("fake/server_request", {
      method = "item/commandExecution/requestApproval", params = { threadId = "t", turnId = "x" }, resolve = true,
    })
    expect.truthy(host.wait(2000, function() return req ~= nil end))
    local fired = false
    req:on_resolved(function() fired = true end)
    local resolved_seen = false
    c:on("serverRequest/resolved", function() resolved_seen = true end)
    expect.eq(req:respond({ decision = "decline" }), true)
    expect.truthy(host.wait(2000, function() return resolved_seen end), "the server sent serverRequest/resolved")
    expect.truthy(host.wait(1000, function() return fired end), "on_resolved fired after the answer")
  end)

  it("pending server requests settle when the process dies", function()
    local req
    local c = client({ approval_handler = function(r) req = r end })
    c:request("fake/server_request", { method = "item/commandExecution/requestApproval", params = { threadId = "t" } })
    expect.truthy(host.wait(2000, function() return req ~= nil end))
    local fired = false
    req:on_resolved(function() fired = true end)
    raises(function() c:request("fake/crash", { code = 1 }) end)
    expect.truthy(host.wait(2000, function() return fired end))
    expect.eq(req.error.kind, "transport_closed")
  end)
end)

-- 8-12: protocol ------------------------------------------------------------------------------

describe("fake: protocol", function()
  after_each(cleanup)
  local RETRY = { attempts = 3, initial_ms = 250, max_ms = 2000, jitter = 0.2 }

  it("overloaded twice, then succeeds on the third attempt after backoff", function()
    local c = client({ retry = RETRY })
    c:start()
    local t0 = now()
    local r = c:request("fake/overload", { key = "k", fail = 2 })
    local dt = now() - t0
    expect.eq(r.attempts, 3)
    -- 250 ms ±20 % then 500 ms ±20 %: at least 600 ms in all.
    expect.truthy(dt >= 590, ("backoff took %d ms, expected >= 600"):format(dt))
    expect.lt(dt, 3000)
  end)

  it("overloaded past the retry budget fails with kind overloaded", function()
    local c = client({ retry = RETRY })
    local err = raises(function() c:request("fake/overload", { key = "k2", fail = 5 }) end)
    expect.eq(err.kind, "overloaded")
    expect.eq(err.code, -32001)
    expect.eq(err.attempts, 3)
    -- The server saw exactly three attempts.
    local n = 0
    for _, m in ipairs(c:request("fake/stats").received) do if m == "fake/overload" then n = n + 1 end end
    expect.eq(n, 3)
  end)

  it("garbage lines are protocol errors, and the request still succeeds", function()
    local perrs = {}
    local c = client({ on_protocol_error = function(e) perrs[#perrs + 1] = e end })
    c:start()
    local r = c:request("fake/emit", { before = { "not json", "[1,2]", "42" } })
    expect.same(r, {})
    expect.truthy(host.wait(1000, function() return #perrs == 3 end), "three protocol errors")
    for _, e in ipairs(perrs) do expect.eq(e.kind, "protocol") end
    expect.eq(c:status().protocol_errors, 3)
    expect.same(c:request("fake/echo", { ok = true }), { ok = true })
  end)

  it("without on_protocol_error, protocol errors go to the reporter", function()
    local got = capture_reports()
    local c = client()
    c:start()
    c:request("fake/emit", { before = { "not json" } })
    expect.truthy(host.wait(1000, function() return count_matching(got, "not json") == 1 end))
  end)

  it("a 50 MiB result arrives intact", function()
    local c = client()
    local n = 50 * 1024 * 1024
    local r = c:request("fake/big", { bytes = n }, { timeout_ms = 60000 })
    expect.eq(#r.data, n)
    expect.truthy(r.data:find("^x+$") ~= nil)
  end)

  it("a 50 MiB notification arrives intact", function()
    local c = client()
    local n = 50 * 1024 * 1024
    local got
    c:on("fake/big", function(p) got = #p.data end)
    expect.same(c:request("fake/big", { bytes = n, where = "notification" }, { timeout_ms = 60000 }), {})
    expect.truthy(host.wait(5000, function() return got ~= nil end))
    expect.eq(got, n)
  end)

  it("an over-limit notification line is dropped with a protocol error; the result still arrives", function()
    local perrs, notes = {}, 0
    local c = client({ max_line = 1024 * 1024, on_protocol_error = function(e) perrs[#perrs + 1] = e end })
    c:on("fake/big", function() notes = notes + 1 end)
    expect.same(c:request("fake/big", { bytes = 2 * 1024 * 1024, where = "notification" }), {})
    expect.truthy(host.wait(1000, function() return #perrs == 1 end))
    expect.match(perrs[1].message, "max_line")
    expect.eq(notes, 0)
    expect.same(c:request("fake/echo", { after = 1 }), { after = 1 })
  end)

  it("an over-limit result line is dropped, so that request times out; the next one works", function()
    local perrs = {}
    local c = client({ max_line = 1024 * 1024, on_protocol_error = function(e) perrs[#perrs + 1] = e end })
    c:start()
    local err = raises(function() c:request("fake/big", { bytes = 2 * 1024 * 1024 }, { timeout_ms = 500 }) end)
    expect.eq(err.kind, "timeout")
    expect.eq(#perrs, 1)
    expect.same(c:request("fake/echo", { after = 2 }), { after = 2 })
  end)

  it("an invalid UTF-8 line is never fatal", function()
    local perrs, notes = 0, {}
    local c = client({ on_protocol_error = function() perrs = perrs + 1 end })
    c:on("fake/bad", function(p) notes[#notes + 1] = p.s end)
    c:start()
    local line = '{"method":"fake/bad","params":{"s":"a\255\254b"}}'
    expect.same(c:request("fake/emit", { before = { { raw_b64 = b64(line) } } }), {})
    expect.truthy(host.wait(1000, function() return perrs + #notes >= 1 end), "reported or decoded")
    expect.same(c:request("fake/echo", { next = 1 }), { next = 1 })
    expect.truthy(c:status().alive)
  end)

  it("a response with an unknown id is a protocol error; the real result is delivered", function()
    local perrs = {}
    local c = client({ on_protocol_error = function(e) perrs[#perrs + 1] = e end })
    c:start()
    expect.same(c:request("fake/unknown_id"), {})
    expect.truthy(host.wait(1000, function() return #perrs == 1 end))
    expect.match(perrs[1].message, "unknown")
    expect.eq(c:status().protocol_errors, 1)
  end)
end)

-- 13-15, 20-23: process lifetime ---------------------------------------------------------------

describe("core: backpressure", function()
  it("delivers all output that was in the pipe when the process exited, despite paused reading", function()
    -- `cat` writes everything before it exits (a crashing server may lose its unwritten
    -- output; this checks that the core never drops what reached the pipe).
    local n = 100000
    local file = TEST_ROOT .. "/.testenv/backpressure.jsonl"
    local f = assert(io.open(file, "w"))
    for i = 1, n do
      f:write('{"method":"item/agentMessage/delta","params":{"turnId":"a","itemId":"m","delta":"d', i, '"}}\n')
    end
    f:write('{"method":"turn/completed","params":{"turn":{"id":"a","status":"completed"}}}\n')
    f:close()
    local c = assert(core.spawn({ argv = { "sh", "-c", "exec cat '" .. file .. "'" } }))
    local deltas, completed, exited, failed = 0, false, false, nil
    c:watch("turn:a", function(msg, err)
      if err then failed = err return end
      if msg.method == "turn/completed" then completed = true else deltas = deltas + 1 end
    end)
    c:on_exit(function() exited = true end)
    expect.truthy(host.wait(30000, function() return completed or failed ~= nil end), "stream finished")
    expect.eq(failed, nil)
    expect.eq(deltas, n)
    expect.truthy(completed)
    expect.truthy(host.wait(5000, function() return exited end))
    os.remove(file)
  end)
end)

describe("fake: process death", function()
  after_each(cleanup)
  it("a crash fails the request and every pending one at once with transport_closed", function()
    local c = client()
    c:start()
    local never_err
    c:request("fake/never", nil, nil, function(err) never_err = err or "no error" end)
    local t0 = now()
    local err = raises(function() c:request("fake/crash", { stderr = { "panic: boom" }, code = 7 }) end)
    expect.lt(now() - t0, 1000)
    expect.eq(err.kind, "transport_closed")
    expect.eq(err.exit_code, 7)
    expect.match(err.stderr, "panic: boom")
    expect.truthy(host.wait(1000, function() return never_err ~= nil end), "fake/never failed too")
    expect.eq(never_err.kind, "transport_closed")
    expect.eq(never_err.exit_code, 7)
    local t1 = now()
    local later = raises(function() c:request("fake/echo", {}) end)
    expect.lt(now() - t1, 100)
    expect.eq(later.kind, "transport_closed")
    expect.eq(later.exit_code, 7)
  end)

  it("a crash by signal reports the signal", function()
    local c = client()
    c:start()
    local err = raises(function() c:request("fake/crash", { signal = "SIGKILL" }) end)
    expect.eq(err.kind, "transport_closed")
    expect.eq(err.signal, 9)
  end)

  it("a crash mid-turn: the stream yields what arrived, then raises transport_closed", function()
    local c = client()
    local r, s = c:request_stream("fake/crash_mid_turn", { threadId = "t" })
    expect.eq(r.turn.id, "turn-crash")
    expect.eq(s:next(2000).method, "turn/started")
    local m = s:next(2000)
    expect.eq(m.method, "item/agentMessage/delta")
    expect.eq(m.params.delta, "partial")
    local err = raises(function() s:next(3000) end)
    expect.eq(err.kind, "transport_closed")
    expect.eq(err.exit_code, 101)
    expect.match(err.stderr, "fake crash mid turn")
  end)

  it("a refused handshake raises rpc -32600 and leaves no process", function()
    local c = client({ env = { FAKE_REFUSE_HANDSHAKE = "1" } })
    local err = raises(function() c:start() end)
    expect.eq(err.kind, "rpc")
    expect.eq(err.code, -32600)
    expect.truthy(host.wait(3000, function() return not c:status().alive end), "process gone")
    local t0 = now()
    raises(function() c:request("fake/echo", {}) end, "later calls fail")
    expect.lt(now() - t0, 100)
  end)

  it("close() returns once the process has exited", function()
    local c = client()
    c:start()
    local st = c:close()
    expect.eq(st.code, 0)
    expect.falsy(c:status().alive)
    expect.eq(raises(function() c:request("fake/echo", {}) end).kind, "closed")
  end)

  it("close() fails pending calls with kind closed", function()
    local c = client()
    c:start()
    local err
    c:request("fake/never", nil, nil, function(e) err = e end)
    c:close()
    expect.truthy(host.wait(1000, function() return err ~= nil end))
    expect.eq(err.kind, "closed")
  end)

  it("close() escalates to SIGKILL when SIGTERM is ignored", function()
    local c = client({ kill_grace_ms = 100 })
    c:request("fake/ignore_sigterm")
    local t0 = now()
    local st = c:close()
    local dt = now() - t0
    expect.eq(st.signal, 9)
    expect.eq(c:status().signal, 9)
    expect.falsy(c:status().alive)
    expect.lt(dt, 3500)
    expect.truthy(dt >= 2000, ("escalation after the 2 s SIGTERM wait, took %d ms"):format(dt))
  end)

  it("stdout closing while the process lives fails pending calls with transport_closed", function()
    local c = client()
    c:start()
    local never_err
    c:request("fake/never", nil, nil, function(err) never_err = err or "no error" end)
    expect.same(c:request("fake/close_stdout"), {})
    local t0 = now()
    expect.truthy(host.wait(1000, function() return never_err ~= nil end), "pending call failed within 1 s")
    expect.lt(now() - t0, 1000)
    expect.eq(never_err.kind, "transport_closed")
    expect.eq(raises(function() c:request("fake/echo", {}) end).kind, "transport_closed")
    expect.truthy(host.wait(3000, function() return not c:status().alive end), "the process ends on stdin EOF")
  end)

  it("restart=true respawns after a crash on the next request", function()
    local c = client({ restart = true })
    c:start()
    local pid1 = c:status().pid
    raises(function() c:request("fake/crash", { code = 1 }) end)
    expect.same(c:request("fake/echo", { again = true }), { again = true })
    local pid2 = c:status().pid
    expect.truthy(pid2 and pid2 ~= pid1, "a new process")
    expect.eq(c:request("fake/stats").initialize, 1)
  end)

  it("a client that is garbage-collected ends its child", function()
    local pid
    ;(function()
      local c = fake.client()
      c:start()
      pid = c:status().pid
    end)()
    expect.truthy(alive_pid(pid))
    -- Let queued deliveries (which hold the client) run before collecting.
    host.wait(1000, function() return core.pending_callbacks() == 0 end)
    collectgarbage()
    collectgarbage()
    local last = 0
    local gone = host.wait(5000, function()
      if now() - last < 50 then return false end
      last = now()
      return not alive_pid(pid)
    end)
    expect.truthy(gone, "pid " .. tostring(pid) .. " still alive 5 s after collection")
  end)
end)

-- 16-19: calls ------------------------------------------------------------------------------

describe("fake: calls", function()
  after_each(cleanup)
  it("a ready client writes a request at once, without a turn of the loop first", function()
    local c = client()
    c:start()
    local before = c.core:status().pending
    local got
    c:request("fake/echo", { x = 1 }, nil, function(err, res) got = err or res end)
    expect.eq(c.core:status().pending, before + 1, "the request is in flight when request() returns")
    expect.falsy(got, "the callback never runs inside the caller's stack")
    expect.truthy(host.wait(5000, function() return got end))
    expect.same(got, { x = 1 })
  end)

  it("initialize runs exactly once with concurrent starters", function()
    local c = client()
    local results = {}
    for i = 1, 3 do
      local co = coroutine.create(function() results[i] = c:request("fake/echo", { i = i }) end)
      local ok, err = coroutine.resume(co)
      expect.truthy(ok, tostring(err))
    end
    expect.truthy(host.wait(5000, function() return results[1] and results[2] and results[3] end))
    for i = 1, 3 do expect.same(results[i], { i = i }) end
    local st = c:request("fake/stats")
    expect.eq(st.initialize, 1, "initialize requests")
    expect.eq(st.initialized, 1, "initialized notifications")
  end)

  it("notify() with no params reaches the server", function()
    local c = client()
    c:start()
    expect.eq(c:notify("fake/ping"), true)
    expect.eq(c.core:notify("fake/pong"), true, "core client:notify(method) without params")
    local received = c:request("fake/stats").received
    local seen = {}
    for _, m in ipairs(received) do seen[m] = true end
    expect.truthy(seen["fake/ping"] and seen["fake/pong"], "received: " .. table.concat(received, ","))
  end)

  it("callback, coroutine and blocking forms give the same result", function()
    local c = client()
    local p = { a = 1, b = { "x", "y" }, s = "é" }
    local cb_err, cb_res, sync = nil, nil, true
    local called = false
    c:request("fake/echo", p, nil, function(err, res)
      expect.falsy(sync, "the callback never runs inside the caller's stack")
      cb_err, cb_res, called = err, res, true
    end)
    sync = false
    expect.truthy(host.wait(5000, function() return called end))
    expect.eq(cb_err, nil)
    local co_res = await.run(function() return c:request("fake/echo", p) end)
    local bl_res = c:request("fake/echo", p)
    expect.same(cb_res, p)
    expect.same(co_res, p)
    expect.same(bl_res, p)
  end)

  it("callback, coroutine and blocking forms give the same error", function()
    local c = client()
    c:start()
    local cb_err
    c:request("fake/nope", {}, nil, function(err) cb_err = err or "no error" end)
    expect.truthy(host.wait(2000, function() return cb_err ~= nil end))
    local co_err = raises(function() await.run(function() return c:request("fake/nope", {}) end) end)
    local bl_err = raises(function() c:request("fake/nope", {}) end)
    for _, e in ipairs({ cb_err, co_err, bl_err }) do
      expect.eq(e.kind, "rpc")
      expect.eq(e.code, -32600)
      expect.eq(e.method, "fake/nope")
      expect.eq(e.message, cb_err.message)
    end
    expect.match(tostring(bl_err), "unknown variant")
  end)

  it("a request times out with kind timeout", function()
    local c = client()
    c:start()
    local t0 = now()
    local err = raises(function() c:request("fake/never", nil, { timeout_ms = 200 }) end)
    local dt = now() - t0
    expect.eq(err.kind, "timeout")
    expect.truthy(dt >= 199, ("timed out after %d ms"):format(dt))
    expect.lt(dt, 2000)
    expect.eq(c:status().pending, 0)
    expect.same(c:request("fake/echo", { x = 1 }), { x = 1 })
  end)

  it("the stderr ring keeps the last 400 lines", function()
    local c = client({ env = { FAKE_STDERR_LINES = "1000" } })
    c:start()
    expect.truthy(host.wait(3000, function()
      return c:status().stderr_lines == 400 and c:stderr(1) == "stderr line 1000"
    end), "stderr read")
    local lines = {}
    for l in (c:stderr(400) .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
    expect.eq(#lines, 400)
    expect.eq(lines[1], "stderr line 601")
    expect.eq(lines[400], "stderr line 1000")
  end)
end)

-- 24: Neovim fast context ---------------------------------------------------------------------

describe("fake: Neovim", function()
  after_each(cleanup)
  if not in_nvim then
    pending("callbacks never run in a fast context (Neovim only)")
    return
  end
  it("callbacks never run in a fast context", function()
    local checks = {}
    local function check(what)
      local ok, err = pcall(vim.api.nvim_get_current_buf)
      checks[#checks + 1] = { what = what, ok = ok, err = err, fast = vim.in_fast_event() }
    end
    local req
    local c = client({ approval_handler = function(r) check("server request"); req = r end })
    c:on("configWarning", function() check("notification") end)
    c:start()
    local done = false
    c:request("fake/echo", {}, nil, function() check("response"); done = true end)
    expect.truthy(host.wait(2000, function() return done end))
    local s = c:watch("turn:w")
    local events = s:iter(2000) -- (its reader first: a stream keeps events for its readers only)
    s:on(function() check("stream") end)
    local r = c:request("turn/start", { threadId = "t", fakeTurnId = "w" })
    local n = 0
    for _ in events do n = n + 1 end
    expect.eq(n, 4)
    c:request("fake/server_request", { method = "item/tool/call", params = { threadId = "t" } })
    expect.truthy(host.wait(2000, function() return req ~= nil end))
    local kinds = {}
    for _, ch in ipairs(checks) do
      kinds[ch.what] = true
      expect.truthy(ch.ok, ch.what .. ": " .. tostring(ch.err))
      expect.falsy(ch.fast, ch.what .. " ran in a fast context")
    end
    for _, k in ipairs({ "notification", "response", "server request", "stream" }) do
      expect.truthy(kinds[k], k .. " callback ran")
    end
    expect.truthy(r.turn.id)
  end)
end)
