-- codex.util (one helper per need) and the subscriber lists built on it: rpc:on, stream:on.
local util = require("codex.util")
local core = require("codex.core")
local stream = require("codex.stream")
local rpc = require("codex.rpc")
local host = require("codex.host")

describe("codex.util", function()
  it("deep_copy copies nested tables and keeps their metatables", function()
    local arr = core.array({ 1, 2 })
    local v = { a = { b = arr }, s = "x" }
    local c = util.deep_copy(v)
    expect.same(c, v)
    expect.truthy(c.a ~= v.a and c.a.b ~= arr, "new tables")
    expect.eq(getmetatable(c.a.b), getmetatable(arr), "the JSON array marker is kept")
    expect.eq(util.deep_copy(5), 5)
  end)

  it("val maps JSON null to nil and keeps everything else", function()
    expect.eq(util.val(core.null), nil)
    expect.eq(util.val(false), false)
    expect.eq(util.val("x"), "x")
  end)

  it("safe_call reports a failing call and returns false; a good one returns its result", function()
    local got = {}
    local function report(m) got[#got + 1] = m end
    expect.same({ util.safe_call(report, "test callback", function(a) return a + 1 end, 1) }, { true, 2 })
    local ok = util.safe_call(report, "test callback", function() error("boom", 0) end)
    expect.eq(ok, false)
    expect.same(got, { "codex: error in test callback: boom" })
  end)

  it("subscribers: unsubscribing in a callback skips nobody; one added in a callback waits for the next emit", function()
    local list, calls = util.subscribers(), {}
    local unsub_a
    unsub_a = list:add(function() calls[#calls + 1] = "a" unsub_a() end)
    list:add(function() calls[#calls + 1] = "b" list:add(function() calls[#calls + 1] = "c" end) end)
    list:emit(error, "x")
    expect.same(calls, { "a", "b" })
    calls = {}
    list:emit(error, "x")
    expect.same(calls, { "b", "c" })
  end)

  it("subscribers: a failing subscriber is reported and the others still run", function()
    local list, calls, got = util.subscribers(), {}, {}
    list:add(function() error("bad", 0) end)
    list:add(function(v) calls[#calls + 1] = v end)
    list:emit(function(m) got[#got + 1] = m end, "thing handler", 7)
    expect.same(calls, { 7 })
    expect.same(got, { "codex: error in thing handler: bad" })
  end)
end)

describe("subscriber lists", function()
  it("stream:on: unsubscribing inside a callback does not skip the next subscriber", function()
    local s = stream.new("turn:t", "turn/completed")
    local seen, unsub = {}, nil
    unsub = s:on(function() seen[#seen + 1] = "first" unsub() end)
    s:on(function() seen[#seen + 1] = "second" end)
    s:push({ method = "item/started" })
    expect.same(seen, { "first", "second" })
    s:push({ method = "turn/completed" })
    expect.same(seen, { "first", "second", "second" })
  end)

  it("stream:on reports a failing callback through host.report", function()
    local orig = host.report
    local got = {}
    host.report = function(m) got[#got + 1] = m end
    finally(function() host.report = orig end)
    local s = stream.new("turn:t", "turn/completed")
    s:on(function() error("oops", 0) end)
    s:push({ method = "turn/completed" })
    expect.same(got, { "codex: error in stream callback: oops" })
  end)

  it("rpc:on: unsubscribing inside a callback does not skip the next one, and '*' gets everything", function()
    local r = rpc.new({})
    local seen, unsub = {}, nil
    unsub = r:on("x/y", function() seen[#seen + 1] = "first" unsub() end)
    r:on("x/y", function(p) seen[#seen + 1] = p.n end)
    r:on("*", function(_, msg) seen[#seen + 1] = msg.method end)
    r:_emit({ method = "x/y", params = { n = 1 } })
    r:_emit({ method = "x/y", params = { n = 2 } })
    expect.same(seen, { "first", 1, "x/y", 2, "x/y" })
  end)
end)
