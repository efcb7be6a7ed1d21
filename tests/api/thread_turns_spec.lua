-- Thread:on_turn: the turns of a thread that this client did not start itself (compaction,
-- shell commands, reviews and turns started with raw requests, another connection's turns)
-- reach the thread's watchers as codex.Turn objects, from their first event; the client's
-- own turns (Thread:turn/run/review) do not. The real app-server + mock for what it produces,
-- the scripted fake app-server (tests/fake) for wire orders the real one rarely shows.
local codex = require("codex")
local e2e = require("lib.e2e")
local host = require("codex.host")

local T = 30000

local function types_of(items)
  local out = {}
  for _, it in ipairs(items) do out[#out + 1] = it.type end
  return out
end

describe("api: Thread:on_turn (real app-server)", function()
  local env = e2e.env()
  teardown(env.close)
  local client = env.client()
  local thread = client:thread_start()
  local seen = {}
  local off = thread:on_turn(function(turn) seen[#seen + 1] = turn end)
  teardown(off)

  --- The next turn that reaches the watcher.
  local function next_turn()
    expect.truthy(host.wait(T, function() return #seen > 0 end), "no turn reached the watcher")
    return table.remove(seen, 1)
  end

  it("gets the compaction turn (Thread:compact), its events from turn/started on", function()
    thread:run("hello")
    expect.eq(#seen, 0) -- (the client's own turn is not offered)
    thread:compact()
    local turn = next_turn()
    expect.truthy(turn.foreign)
    expect.eq(turn.thread_id, thread.id)
    local methods = {}
    for ev in turn:events(T) do methods[#methods + 1] = ev.method end
    expect.eq(methods[1], "turn/started")
    expect.eq(methods[#methods], "turn/completed")
    local r = turn:wait({ timeout_ms = T })
    expect.eq(r.status, "completed")
    expect.same(types_of(r.items), { "contextCompaction" })
  end)

  it("gets a shell command's turn (Thread:shell), with the command's output", function()
    thread:shell("echo hi")
    local r = next_turn():wait({ timeout_ms = T })
    expect.eq(r.status, "completed")
    local item = r.items[1]
    expect.eq(item.type, "commandExecution")
    expect.eq(item.source, "userShell")
    expect.eq(item.aggregatedOutput, "hi\n")
  end)

  it("gets a review started with a raw request, not one started with Thread:review", function()
    local res = client:request("review/start", { threadId = thread.id, target = { type = "uncommittedChanges" } })
    local turn = next_turn()
    expect.eq(turn.id, res.turn.id)
    expect.truthy(turn:wait({ timeout_ms = T }).review)
    -- (0.171.0 also sends a turn/started under a second id that never ends: not a turn)
    expect.eq(#seen, 0)
    local own = thread:review("uncommitted")
    own:wait({ timeout_ms = T })
    thread:run("hello") -- (a turn after it: anything offered for the review would be there by now)
    expect.eq(#seen, 0)
  end)

  it("stops after unsubscribing; another thread's watcher gets nothing of this thread", function()
    local other = client:thread_start()
    local others = {}
    local off_other = other:on_turn(function(t) others[#others + 1] = t end)
    off()
    thread:shell("echo gone")
    -- a turn of the other thread afterwards: the first one's offer came before it
    other:shell("echo other")
    expect.truthy(host.wait(T, function() return #others > 0 end))
    expect.eq(#others, 1)
    expect.eq(others[1].thread_id, other.id)
    expect.eq(#seen, 0)
    off_other()
  end)
end)

describe("api: Thread:on_turn (fake app-server)", function()
  local client = codex.new({ args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 })
  teardown(function() client:close() end)
  local thread = require("codex.thread").new(client, { thread = { id = "thr-1" } })
  local seen = {}
  thread:on_turn(function(turn) seen[#seen + 1] = turn end)

  local function ev(method, turn_id, extra)
    local params = { threadId = "thr-1" }
    if method == "turn/started" or method == "turn/completed" then
      params.turn = { id = turn_id, status = method == "turn/started" and "inProgress" or "completed", items = {} }
    else
      params.turnId = turn_id
    end
    for k, v in pairs(extra or {}) do params[k] = v end
    return { method = method, params = params }
  end
  local function whole(turn_id, text)
    return {
      ev("turn/started", turn_id),
      ev("item/agentMessage/delta", turn_id, { itemId = "m-" .. turn_id, delta = text }),
      ev("turn/completed", turn_id),
    }
  end

  it("keeps a whole turn that arrived in one read until the watcher has it", function()
    client:request("fake/emit", { after = whole("t-one", "all at once") })
    expect.truthy(host.wait(5000, function() return #seen > 0 end))
    local turn = table.remove(seen, 1)
    expect.eq(turn.id, "t-one")
    local r = turn:wait({ timeout_ms = 5000 })
    expect.eq(r.partial_response, "all at once")
    expect.eq(client:status().streams, 0) -- (its stream is gone once it ended)
  end)

  it("tells its own turn from a foreign one that came while its request was in flight", function()
    -- A turn-starting request in flight (its response names "t-own" 200 ms later) while the
    -- events of "t-own" and of "t-other" arrive: t-own is the request's, t-other is foreign.
    local own_result, own_stream
    local co = coroutine.create(function()
      own_result, own_stream = client.rpc:request_stream("fake/delay", { ms = 300, result = { turn = { id = "t-own" } } })
    end)
    coroutine.resume(co)
    local events = whole("t-own", "mine")
    for _, e in ipairs(whole("t-other", "theirs")) do events[#events + 1] = e end
    client:request("fake/emit", { after = events })
    expect.truthy(host.wait(5000, function() return own_stream ~= nil end))
    expect.truthy(host.wait(5000, function() return #seen > 0 end))
    expect.eq(#seen, 1)
    expect.eq(seen[1].id, "t-other")
    expect.eq(seen[1]:wait({ timeout_ms = 5000 }).partial_response, "theirs")
    local own = require("codex.turn").new(client, "thr-1", own_result, own_stream)
    expect.eq(own:wait({ timeout_ms = 5000 }).partial_response, "mine")
    seen = {}
  end)

  it("leaves turns of unwatched threads to the core's buffer (dropped when they end)", function()
    local evs = whole("t-else", "elsewhere")
    for _, e in ipairs(evs) do e.params.threadId = "thr-2" end
    client:request("fake/emit", { after = evs })
    client:request("fake/echo", {}) -- (after the events: they were routed)
    expect.truthy(host.wait(5000, function() return client:status().streams == 0 end))
    expect.eq(#seen, 0)
  end)
end)
