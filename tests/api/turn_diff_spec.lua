-- A turn's aggregated diff (turn/diff/updated): turn:diff(), TurnResult.diff and .files.
-- The real app-server with the mock model's [[patch]] (one added file), then the scripted
-- fake app-server for a diff of several files and hunks, revised during the turn.
local codex = require("codex")
local e2e = require("lib.e2e")

local T = 30000

describe("api: a turn's diff (real app-server)", function()
  local env = e2e.env()
  teardown(env.close)
  local client = env.client({ approval_handler = function() return { decision = "accept" } end })
  local thread = client:thread_start()

  it("a turn that writes a file has its diff and per-file counts", function()
    os.remove(env.workspace .. "/hello.txt")
    local turn = thread:turn("[[patch]] hello.txt")
    local r = turn:wait({ timeout_ms = T })
    expect.eq(r.status, "completed")
    expect.truthy(type(r.diff) == "string", "TurnResult.diff")
    expect.match(r.diff, "%+hello from apply_patch")
    expect.eq(turn:diff(), r.diff, "turn:diff() is the latest diff")
    local paths = {}
    for path, c in pairs(r.files) do
      paths[#paths + 1] = path
      expect.same(c, { added = 1, removed = 0 })
    end
    expect.eq(#paths, 1)
    expect.match(paths[1], "hello%.txt$")
  end)

  it("a turn that changes nothing has no diff and no files", function()
    local turn = thread:turn("hello")
    local r = turn:wait({ timeout_ms = T })
    expect.eq(turn:diff(), nil)
    expect.eq(r.diff, nil)
    expect.same(r.files, {})
  end)
end)

describe("api: a turn's diff (fake app-server)", function()
  local client = codex.new({ args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 })
  teardown(function() client:close() end)
  local next_events
  local orig = client.rpc.request_stream
  client.rpc.request_stream = function(self, method, params, o)
    if method == "turn/start" and next_events then params.fakeEvents, next_events = next_events, nil end
    return orig(self, method, params, o)
  end
  local thread = require("codex.thread").new(client, { thread = { id = "thr-diff" } })

  local FIRST = table.concat({
    "diff --git a/a.lua b/a.lua", "--- a/a.lua", "+++ b/a.lua",
    "@@ -1,2 +1,2 @@", "-x", "+y", " z", "",
  }, "\n")
  local LATEST = table.concat({
    "diff --git a/a.lua b/a.lua", "index 1..2 100644", "--- a/a.lua", "+++ b/a.lua",
    "@@ -1,2 +1,3 @@ function a()", "-x", "+y", "+w", " z",
    "@@ -10,3 +11,2 @@", " k", "-l", "-m", "+n",
    "diff --git a/new.txt b/new.txt", "new file mode 100644", "--- /dev/null", "+++ b/new.txt",
    "@@ -0,0 +1,2 @@", "+1", "+2",
    "diff --git a/gone.txt b/gone.txt", "deleted file mode 100644", "--- a/gone.txt", "+++ /dev/null",
    "@@ -1 +0,0 @@", "-bye", "",
  }, "\n")

  it("keeps only the latest aggregated diff; files count it per path", function()
    local function diff_ev(d) return { method = "turn/diff/updated", params = { threadId = "thr-diff", turnId = "$TURN", diff = d } } end
    next_events = {
      { method = "turn/started", params = { threadId = "thr-diff", turn = { id = "$TURN", status = "inProgress" } } },
      diff_ev(FIRST), diff_ev(LATEST),
      { method = "turn/completed", params = { threadId = "thr-diff", turn = { id = "$TURN", status = "completed", items = {} } } },
    }
    local turn = thread:turn("go")
    local seen = {}
    turn:on("turn/diff/updated", function(p) seen[#seen + 1] = p.diff end)
    local r = turn:wait({ timeout_ms = 10000 })
    expect.eq(#seen, 2)
    expect.eq(turn:diff(), LATEST)
    expect.eq(r.diff, LATEST)
    expect.same(r.files, {
      ["a.lua"] = { added = 3, removed = 3 },
      ["new.txt"] = { added = 2, removed = 0 },
      ["gone.txt"] = { added = 0, removed = 1 },
    })
  end)
end)
