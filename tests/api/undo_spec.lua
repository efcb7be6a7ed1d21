-- thread:undo / thread:redo (codex.undo): the real pinned app-server against the mock model
-- (turns that write files with [[patch]]), the fake app-server for a server with
-- thread/rollback only, and the pure plan (update hunks, conflicts, force, renames) under an
-- in-memory io.
local codex = require("codex")
local e2e = require("lib.e2e")
local undo = require("codex.undo")
local patch = require("codex.patch")

local T = 30000

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function turn_ids(thread)
  local read = thread:read({ include_turns = true })
  local ids = {}
  for _, t in ipairs(read.thread.turns) do ids[#ids + 1] = t.id end
  return ids
end

local function user_texts(thread)
  local read = thread:read({ include_turns = true })
  local out = {}
  for _, t in ipairs(read.thread.turns) do
    for _, it in ipairs(t.items) do
      if it.type == "userMessage" then out[#out + 1] = it.content[1].text end
    end
  end
  return out
end

describe("api: thread:undo with the real app-server", function()
  local env = e2e.env()
  teardown(env.close)
  local client = env.client({ approval_handler = function() return { decision = "accept" } end })

  it("undoes two turns that wrote two files: the files as before, the history without them", function()
    local thread = client:thread_start()
    local a, b = env.workspace .. "/u1-a.txt", env.workspace .. "/u1-b.txt"
    os.remove(a)
    write(b, "old b\n") -- the turn's "add" overwrites it: its aggregated diff knows what it held
    thread:run("hello", { timeout_ms = T })
    local r1 = thread:run("[[patch]] u1-a.txt", { timeout_ms = T })
    thread:run("[[patch]] u1-b.txt", { timeout_ms = T })
    expect.eq(e2e.read(a), "hello from apply_patch\n")
    expect.eq(e2e.read(b), "hello from apply_patch\n")
    expect.eq(#turn_ids(thread), 3)

    local preview = thread:undo({ turn_id = r1.id, dry_run = true })
    expect.eq(preview.done, false)
    expect.eq(preview.turns, 2)
    expect.eq(#preview.files, 2)
    expect.eq(preview.files[1].action, "deleted")
    expect.eq(preview.files[2].action, "restored")
    expect.eq(e2e.read(a), "hello from apply_patch\n", "a dry run writes nothing")
    expect.eq(#turn_ids(thread), 3, "a dry run reverts nothing")

    local res = thread:undo({ turn_id = r1.id })
    expect.eq(res.done, true)
    expect.eq(res.method, "thread/revert")
    expect.eq(res.turns, 2)
    expect.eq(#res.conflicts, 0)
    expect.falsy(e2e.exists(a), "the added file is gone")
    expect.eq(e2e.read(b), "old b\n", "the overwritten file holds what it held")
    expect.same(user_texts(thread), { "hello" })
    -- the model sees the shortened conversation too
    env.mock:reset()
    thread:run("after undo", { timeout_ms = T })
    local seen
    for _, rq in ipairs(env.mock:requests()) do if rq.path == "/v1/responses" then seen = rq.user_texts end end
    local joined = table.concat(seen, "|")
    expect.falsy(joined:find("u1-a.txt", 1, true), joined)
    expect.truthy(joined:find("after undo", 1, true), joined)
  end)

  it("undoes the last turn by default, says when it ran commands", function()
    local thread = client:thread_start()
    local a = env.workspace .. "/u2.txt"
    os.remove(a)
    thread:run("[[exec]] echo hi", { timeout_ms = T })
    thread:run("[[patch]] u2.txt", { timeout_ms = T })
    local res = thread:undo()
    expect.eq(res.done, true)
    expect.eq(res.turns, 1)
    expect.falsy(res.commands, "the last turn ran no command")
    expect.falsy(e2e.exists(a))
    expect.same(user_texts(thread), { "[[exec]] echo hi" })
    local again = thread:undo({ dry_run = true })
    expect.truthy(again.commands, "the exec turn ran a command")
    expect.eq(#again.files, 0)
  end)

  it("refuses on a user-edited conflicting hunk; nothing is written or reverted; force/skip say so", function()
    local thread = client:thread_start()
    local a, b = env.workspace .. "/u3-a.txt", env.workspace .. "/u3-b.txt"
    os.remove(a)
    os.remove(b)
    local r1 = thread:run("[[patch]] u3-a.txt", { timeout_ms = T })
    thread:run("[[patch]] u3-b.txt", { timeout_ms = T })
    write(a, "the user's own line\n")
    local res = thread:undo({ turn_id = r1.id })
    expect.eq(res.done, false)
    expect.eq(#res.conflicts, 1)
    expect.match(res.conflicts[1].path, "u3%-a%.txt$")
    expect.eq(#res.conflicts[1].hunks, 1)
    expect.match(table.concat(undo.conflict_lines(res.plan), "\n"), "%+hello from apply_patch")
    expect.eq(e2e.read(a), "the user's own line\n", "the edited file is untouched")
    expect.eq(e2e.read(b), "hello from apply_patch\n", "so is the other one")
    expect.eq(#turn_ids(thread), 2, "the conversation is not reverted")
    -- the caller's choice: leave the conflicting file as it is
    local skipped = thread:undo({ turn_id = r1.id, skip = { [res.conflicts[1].path] = true } })
    expect.eq(skipped.done, true)
    expect.eq(e2e.read(a), "the user's own line\n")
    expect.falsy(e2e.exists(b))
    expect.eq(#turn_ids(thread), 0)
  end)

  it("redo re-applies the files of the last undo; the conversation stays reverted", function()
    local thread = client:thread_start()
    local a = env.workspace .. "/u4.txt"
    os.remove(a)
    thread:run("hello", { timeout_ms = T })
    thread:run("[[patch]] u4.txt", { timeout_ms = T })
    thread:undo()
    expect.falsy(e2e.exists(a))
    local res = thread:redo()
    expect.eq(res.done, true)
    expect.eq(res.files[1].action, "created")
    expect.eq(e2e.read(a), "hello from apply_patch\n")
    expect.eq(#turn_ids(thread), 1)
    local ok, err = pcall(thread.redo, thread)
    expect.falsy(ok)
    expect.match(tostring(err), "nothing to redo")
  end)

  it("redo refuses when the file came back meanwhile", function()
    local thread = client:thread_start()
    local a = env.workspace .. "/u5.txt"
    os.remove(a)
    thread:run("[[patch]] u5.txt", { timeout_ms = T })
    thread:undo()
    write(a, "something else\n")
    local res = thread:redo()
    expect.eq(res.done, false)
    expect.eq(#res.conflicts, 1)
    expect.eq(e2e.read(a), "something else\n")
  end)
end)

describe("api: thread:undo on a server with thread/rollback only (fake app-server)", function()
  local dir = TEST_ROOT .. "/.testenv/undo-fake-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e6))
  os.execute("mkdir -p '" .. dir .. "'")
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)
  local client = codex.new({ args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, env = {}, request_timeout_ms = 10000 })
  teardown(function() pcall(client.close, client) end)

  it("falls back to thread/rollback {numTurns} when thread/revert is unknown", function()
    local path = dir .. "/f.txt"
    write(path, "one\nTWO\nthree\n")
    local turn = {
      id = "turn-9", status = "completed",
      items = {
        { type = "userMessage", id = "u", content = { { type = "text", text = "change it" } } },
        { type = "fileChange", id = "fc", status = "completed",
          changes = { { path = "f.txt", kind = { type = "update" }, diff = "@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n" } } },
      },
    }
    client:request("fake/canned", { method = "thread/start", result = { thread = { id = "th-fake", cwd = dir } } })
    client:request("fake/canned", { method = "thread/turns/list", result = { data = { turn }, nextCursor = codex.null } })
    client:request("fake/canned", { method = "thread/rollback", result = { thread = { id = "th-fake" } } })
    local thread = client:thread_start()
    local res = thread:undo()
    expect.eq(res.done, true)
    expect.eq(res.method, "thread/rollback")
    expect.eq(e2e.read(path), "one\ntwo\nthree\n", "the relative path is the thread's cwd's")
    local stats = client:request("fake/stats")
    local got = table.concat(stats.received, " ")
    expect.truthy(got:find("thread/revert thread/rollback", 1, true), got)
  end)
end)

describe("codex.undo: the plan", function()
  -- an in-memory io: files[path] = text
  local function mem(files)
    return {
      files = files,
      read = function(p) return files[p] end,
      write = function(p, t)
        files[p] = t or nil
        return true
      end,
    }
  end
  local function fc(changes, status) return { type = "fileChange", id = "x", status = status or "completed", changes = changes } end
  local function upd(path, diff, move) return { path = path, kind = { type = "update", move_path = move }, diff = diff } end

  local D1 = "@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n@@ -8,3 +8,3 @@\n h\n-i\n+I\n j\n"
  local ORIG = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
  local NEW = "a\nB\nc\nd\ne\nf\ng\nh\nI\nj\n"

  it("reverse-applies updates across turns, newest first", function()
    local D2 = "@@ -1,2 +1,2 @@\n-a\n+A\n B\n"
    local io = mem({ ["/w/f"] = "A\nB\nc\nd\ne\nf\ng\nh\nI\nj\n" })
    local turns = { { id = "t1", items = { fc({ upd("/w/f", D1) }) } }, { id = "t2", items = { fc({ upd("/w/f", D2) }) } } }
    local plan = undo.plan(turns, io)
    expect.eq(#plan.conflicts, 0)
    expect.eq(plan.writes["/w/f"], ORIG)
    expect.eq(plan.files[1].hunks, 3)
    undo.write(plan, io)
    expect.eq(io.files["/w/f"], ORIG)
  end)

  it("a user's edit in one hunk: a conflict naming that hunk; force applies the other", function()
    local io = mem({ ["/w/f"] = "a\nB\nc\nd\ne\nf\ng\nh\nUSER\nj\n" })
    local turns = { { id = "t1", items = { fc({ upd("/w/f", D1) }) } } }
    local plan = undo.plan(turns, io)
    expect.eq(#plan.conflicts, 1)
    expect.eq(#plan.conflicts[1].hunks, 1)
    expect.eq(plan.conflicts[1].hunks[1].old_start, 8)
    expect.eq(plan.writes["/w/f"], nil, "nothing written for a conflicting file")
    local forced = undo.plan(turns, io, { force = true })
    expect.eq(forced.writes["/w/f"], "a\nb\nc\nd\ne\nf\ng\nh\nUSER\nj\n")
    expect.eq(forced.files[1].skipped, 1)
    -- redo of the forced undo re-applies exactly what it applied
    undo.write(forced, io)
    local redo = undo.redo_plan(forced.applied, io)
    expect.eq(redo.writes["/w/f"], "a\nB\nc\nd\ne\nf\ng\nh\nUSER\nj\n")
  end)

  it("undoes a rename with changes and a deletion; skips declined and failed changes", function()
    local io = mem({ ["/w/new"] = NEW })
    local turns = { { id = "t1", items = {
      fc({ upd("/w/old", D1, "/w/new") }),
      fc({ { path = "/w/gone", kind = { type = "delete" }, diff = "bye\n" } }),
      fc({ upd("/w/nope", D1) }, "declined"),
      { type = "commandExecution", id = "c", status = "completed", command = "ls" },
    } } }
    local plan = undo.plan(turns, io)
    expect.eq(#plan.conflicts, 0)
    expect.truthy(plan.commands)
    expect.eq(plan.writes["/w/old"], ORIG)
    expect.eq(plan.writes["/w/new"], false)
    expect.eq(plan.writes["/w/gone"], "bye\n")
    undo.write(plan, io)
    expect.same(io.files, { ["/w/old"] = ORIG, ["/w/gone"] = "bye\n" })
    local redo = undo.redo_plan(plan.applied, io)
    undo.write(redo, io)
    expect.same(io.files, { ["/w/new"] = NEW })
  end)

  it("uses the turn's aggregated diff for the files it covers (a path relative to the repository)", function()
    local io = mem({ ["/repo/w/b.txt"] = "hello\n" })
    local turns = { { id = "t1", items = { fc({ { path = "/repo/w/b.txt", kind = { type = "add" }, diff = "hello\n" } }) } } }
    expect.eq(undo.plan(turns, io).writes["/repo/w/b.txt"], false, "from the items: the add is removed")
    local diff = "diff --git a/w/b.txt b/w/b.txt\n--- a/w/b.txt\n+++ b/w/b.txt\n@@ -1 +1 @@\n-old\n+hello\n"
    local plan = undo.plan(turns, io, { diffs = { t1 = diff } })
    expect.eq(plan.writes["/repo/w/b.txt"], "old\n")
    expect.eq(plan.files[1].action, "restored")
  end)

  it("picks the turns from one on; knows an unknown turn and the server's missing method", function()
    local turns = { { id = "a" }, { id = "b" }, { id = "c" } }
    expect.same(undo.from_turn(turns), { { id = "c" } })
    expect.same(undo.from_turn(turns, "b"), { { id = "b" }, { id = "c" } })
    local none, why = undo.from_turn(turns, "z")
    expect.eq(none, nil)
    expect.match(why, "no turn z")
    expect.truthy(undo.method_missing({ code = -32600, message = "Invalid request: unknown variant `thread/revert`, expected one of" }))
    expect.truthy(undo.method_missing({ code = -32601, message = "Method not found" }))
    expect.falsy(undo.method_missing({ code = -32600, message = "thread not found" }))
    expect.truthy(patch) -- (the applier the plan runs on)
  end)
end)
