-- thread:review end to end: the real pinned app-server (review/start) and the mock's reviewer
-- (tests/mock: a request with codex's review rubric gets a JSON review), in a git workspace
-- with a known change.
local e2e = require("lib.e2e")
local fixture = require("lib.review")

local T = 30000

describe("api: thread:review", function()
  local env = e2e.env()
  teardown(env.close)
  fixture.workspace(env.workspace)
  local client = env.client()
  local thread = client:thread_start()

  it("reviews uncommitted changes: TurnResult.review is the review text, findings point at the file", function()
    env.mock:reset()
    local turn = thread:review("uncommitted")
    expect.truthy(turn.review, "a review turn says so")
    expect.eq(type(turn.id), "string")
    local r = turn:wait({ timeout_ms = T })
    expect.eq(r.status, "completed")
    expect.match(r.review, "^Mock review: 2 findings%.")
    expect.match(r.review, "Mock finding 1 in app.lua", 1, true)
    expect.eq(#r.findings, 2)
    local f1, f2 = r.findings[1], r.findings[2]
    expect.eq(f1.path, env.workspace .. "/app.lua")
    expect.eq(f1.lnum, 2)
    expect.eq(f1.end_lnum, 2)
    expect.eq(f1.priority, 1)
    expect.eq(f1.title, "[P1] Mock finding 1 in app.lua")
    expect.match(f1.body, "^Line 2 of `app.lua` needs a look.")
    expect.eq(f2.lnum, 3)
    expect.eq(f2.priority, 2)
    -- the mock saw the reviewer's request (codex's rubric), for this workspace
    local seen
    for _, rq in ipairs(env.mock:requests()) do
      if rq.path == "/v1/responses" then seen = rq end
    end
    expect.eq(seen.scenario, "review")
  end)

  it("reviews with custom instructions (the callback form); no findings gives {}", function()
    local done, err, res
    thread:review({ instructions = "Check nothing. [[review]] none" }, nil, function(e, turn)
      if e then err, done = e, true return end
      turn:wait({ timeout_ms = T }, function(we, r) err, res, done = we, r, true end)
    end)
    require("codex.host").wait(T, function() return done end)
    expect.eq(err, nil)
    expect.eq(res.review, "Mock review: no findings.")
    expect.same(res.findings, {})
  end)

  it("a plain turn has no review", function()
    local r = thread:run("hello", { timeout_ms = T })
    expect.eq(r.review, nil)
    expect.eq(r.findings, nil)
  end)

  it("refuses a target it cannot map, without asking the server", function()
    local ok, e = pcall(thread.review, thread, { branch = "" })
    expect.falsy(ok)
    expect.eq(e.kind, "invalid_argument")
  end)
end)
