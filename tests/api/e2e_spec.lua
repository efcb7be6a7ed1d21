-- The public codex Lua API end to end: the real pinned codex app-server (0.171.0), offline,
-- against this repository's mock of the Responses API and of the OAuth issuer (tests/mock).
local codex = require("codex")
local e2e = require("lib.e2e")
local host = require("codex.host")

local T = 30000 -- per-turn budget (protocol.md §12.7: turns take 0.1-0.3 s)

describe("api: turns", function()
  local env = e2e.env()
  teardown(env.close)
  local approvals = {} -- what the handler saw, per test
  local answer = nil   -- what the handler answers
  local client = env.client({
    approval_handler = function(req)
      approvals[#approvals + 1] = req
      return answer
    end,
  })
  local thread = client:thread_start()

  it("streams text: deltas in order, final_response and usage", function()
    local turn = thread:turn("hello")
    local deltas = {}
    for d in turn:text(T) do deltas[#deltas + 1] = d end
    expect.same(deltas, { "Hello ", "from the ", "mock model!" })
    local r = turn:wait()
    expect.eq(r.status, "completed")
    expect.eq(r.final_response, "Hello from the mock model!")
    expect.eq(r.id, turn.id)
    expect.eq(r.usage.last.totalTokens, 15)
    expect.eq(r.usage.last.outputTokens, 5)
    expect.truthy(r.duration_ms ~= nil and r.completed_at >= r.started_at)
    local kinds = {}
    for _, it in ipairs(r.items) do kinds[#kinds + 1] = it.type end
    expect.same(kinds, { "userMessage", "agentMessage" })
    -- text() read the whole turn: the stream holds nothing, a later iteration ends at once
    expect.eq(turn.stream:held(), 0)
    local again = 0
    for _ in turn:events(T) do again = again + 1 end
    expect.eq(again, 0)
    expect.eq(turn:wait(), r, "wait() can be called again")
  end)

  it("turn:events() as the first reader sees every event, in order, ending with turn/completed", function()
    local turn = thread:turn("hello")
    turn:wait() -- waiting reads nothing: the events are still there for the first reader
    local methods = {}
    for ev in turn:events(T) do methods[#methods + 1] = ev.method end
    expect.eq(methods[#methods], "turn/completed")
    expect.truthy(#methods >= 6, "started, items, deltas, completed: " .. table.concat(methods, " "))
    expect.eq(turn.stream:held(), 0, "what was read is not kept")
  end)

  it("turn:on gets this turn's events, including those before it was called", function()
    local turn = thread:turn("hello again")
    turn:wait()
    local seen = {}
    turn:on("item/agentMessage/delta", function(p) seen[#seen + 1] = p.delta end)
    expect.same(seen, { "Hello ", "from the ", "mock model!" })
  end)

  it("accepts a command: the handler sees it, the command runs", function()
    approvals, answer = {}, { decision = "accept" }
    os.remove(env.workspace .. "/approved.txt")
    local r = thread:run("[[exec]] touch approved.txt && echo done", { timeout_ms = T })
    expect.eq(#approvals, 1)
    local req = approvals[1]
    expect.eq(req.method, "item/commandExecution/requestApproval")
    expect.eq(req.thread_id, thread.id)
    expect.match(req.params.command, "touch approved.txt")
    expect.eq(req.params.reason, "need to run a command")
    expect.eq(req.item and req.item.type, "commandExecution", "req.item from the turn")
    expect.truthy(e2e.exists(env.workspace .. "/approved.txt"), "the command ran")
    local cmd
    for _, it in ipairs(r.items) do if it.type == "commandExecution" then cmd = it end end
    expect.eq(cmd.status, "completed")
    expect.eq(cmd.exitCode, 0)
    expect.match(r.final_response, "Command output: done")
  end)

  it("declines a command: it does not run, the turn goes on", function()
    approvals, answer = {}, { decision = "decline" }
    os.remove(env.workspace .. "/declined.txt")
    local r = thread:run("[[exec]] touch declined.txt", { timeout_ms = T })
    expect.eq(#approvals, 1)
    expect.falsy(e2e.exists(env.workspace .. "/declined.txt"))
    expect.eq(r.status, "completed")
    expect.match(r.final_response, "Declined")
  end)

  it("declines by default: no handler answer means decline", function()
    approvals, answer = {}, nil
    -- the handler returns nothing and never answers: use a client without a handler instead
    local plain = env.client()
    local t = plain:thread_start()
    os.remove(env.workspace .. "/default.txt")
    local r = t:run("[[exec]] touch default.txt", { timeout_ms = T })
    expect.falsy(e2e.exists(env.workspace .. "/default.txt"))
    expect.match(r.final_response, "Declined")
  end)

  it("cancels a command: the turn ends interrupted with no further model call", function()
    approvals, answer = {}, { decision = "cancel" }
    env.mock:reset()
    local r = thread:run("[[exec]] touch cancelled.txt", { timeout_ms = T })
    expect.eq(r.status, "interrupted")
    expect.falsy(e2e.exists(env.workspace .. "/cancelled.txt"))
    local posts = 0
    for _, rq in ipairs(env.mock:requests()) do if rq.path == "/v1/responses" then posts = posts + 1 end end
    expect.eq(posts, 1)
  end)

  it("accepts a file change: the file is written; the handler sees the diff", function()
    approvals, answer = {}, { decision = "accept" }
    os.remove(env.workspace .. "/hello.txt")
    local r = thread:run("[[patch]] hello.txt", { timeout_ms = T })
    expect.eq(#approvals, 1)
    expect.eq(approvals[1].method, "item/fileChange/requestApproval")
    local change = approvals[1].item.changes[1]
    expect.match(change.path, "hello.txt$")
    expect.match(change.diff, "hello from apply_patch")
    expect.eq(e2e.read(env.workspace .. "/hello.txt"), "hello from apply_patch\n")
    expect.match(r.final_response, "Success")
  end)

  it("declines a file change: the file is untouched", function()
    approvals, answer = {}, { decision = "decline" }
    os.remove(env.workspace .. "/nope.txt")
    local r = thread:run("[[patch]] nope.txt", { timeout_ms = T })
    expect.falsy(e2e.exists(env.workspace .. "/nope.txt"))
    expect.match(r.final_response, "rejected")
  end)

  it("interrupts a slow stream: the turn ends interrupted, with the partial text", function()
    local turn = thread:turn("[[slow]]")
    local first = turn:text(T)()
    expect.eq(first, "one ")
    turn:interrupt()
    local r = turn:wait({ timeout_ms = T })
    expect.eq(r.status, "interrupted")
    expect.match(r.partial_response, "^one ")
    expect.eq(r.final_response, nil)
  end)

  it("steers a slow stream: the same turn answers the steer", function()
    local turn = thread:turn("[[slow]]")
    expect.eq(turn:text(T)(), "one ")
    local res = turn:steer("go left")
    expect.eq(res.turnId, turn.id)
    local r = turn:wait({ timeout_ms = T })
    expect.eq(r.status, "completed")
    expect.eq(r.final_response, "Steered: go left")
  end)

  for _, case in ipairs({
    { "[[fail500]]", "high demand", "internalServerError" },
    { "[[failed]]", "mock response.failed", "other" },
    { "[[context]]", "context window", "contextWindowExceeded" },
  }) do
    it("surfaces " .. case[1] .. " as turn_failed with the server's error info", function()
      local t = client:thread_start()
      local err = expect.raises(function() t:run(case[1], { timeout_ms = T }) end)
      expect.truthy(codex.errors.is(err, "turn_failed"), tostring(err))
      expect.match(err.message, case[2])
      expect.eq(err.codex_error_info, case[3])
      expect.eq(err.result.status, "failed")
      -- the non-raising variant
      local r = t:run(case[1], { timeout_ms = T, raise = false })
      expect.eq(r.status, "failed")
    end)
  end

  it("streams two turns on two threads interleaved, on one client", function()
    local order = {}
    local results = codex.all({
      function()
        local t = client:thread_start():turn("[[slow]]")
        t:on("item/agentMessage/delta", function() order[#order + 1] = "a" end)
        return t:wait({ timeout_ms = T })
      end,
      function()
        local t = client:thread_start():turn("[[slow]]")
        t:on("item/agentMessage/delta", function() order[#order + 1] = "b" end)
        return t:wait({ timeout_ms = T })
      end,
    })
    expect.eq(results[1].status, "completed")
    expect.eq(results[2].status, "completed")
    local s = table.concat(order)
    expect.eq(#s, 20)
    expect.truthy(s:find("ab") and s:find("ba"), "deltas interleaved: " .. s)
  end)

  it("gives the same result and error through callback, coroutine and blocking calls", function()
    local blocking = thread:run("hello").final_response
    local co_result
    codex.run(function() co_result = thread:run("hello").final_response end)
    local cb_err, cb_result = false, nil
    thread:run("hello", nil, function(err, r) cb_err, cb_result = err, r end)
    expect.truthy(host.wait(T, function() return cb_result ~= nil or cb_err end))
    expect.eq(co_result, blocking)
    expect.eq(cb_result.final_response, blocking)
    local e1 = expect.raises(function() thread:run("[[fail500]]") end)
    local e2 = expect.raises(function() codex.run(function() thread:run("[[fail500]]") end) end)
    local e3
    thread:run("[[fail500]]", nil, function(err) e3 = err end)
    expect.truthy(host.wait(T, function() return e3 ~= nil end))
    expect.eq(e1.kind, "turn_failed")
    expect.eq(e2.kind, e1.kind)
    expect.eq(e3.kind, e1.kind)
    expect.eq(e2.message, e1.message)
    expect.eq(e3.message, e1.message)
  end)

  it("approvals.policy accepts file changes only where its patterns allow", function()
    local c = env.client({ approval_handler = codex.approvals.policy({ file_changes = { "/notes/[^/]+$" } }) })
    local t = c:thread_start()
    os.execute("mkdir -p '" .. env.workspace .. "/notes'")
    os.remove(env.workspace .. "/notes/a.txt")
    os.remove(env.workspace .. "/other.txt")
    t:run("[[patch]] notes/a.txt", { timeout_ms = T })
    expect.truthy(e2e.exists(env.workspace .. "/notes/a.txt"), "allowed path written")
    t:run("[[patch]] other.txt", { timeout_ms = T })
    expect.falsy(e2e.exists(env.workspace .. "/other.txt"), "other path declined")
  end)

  it("builds input items and sends them as given", function()
    local items = codex.input
    expect.same(items.text("hi"), { type = "text", text = "hi" })
    expect.same(items.image("https://x/y.png"), { type = "image", url = "https://x/y.png" })
    expect.same(items.local_image("/tmp/a.png"), { type = "localImage", path = "/tmp/a.png" })
    expect.same(items.mention("Doc", "app://doc"), { type = "mention", name = "Doc", path = "app://doc" })
    expect.same(items.skill("s", "/skills/s"), { type = "skill", name = "s", path = "/skills/s" })
    local r = thread:run({ "hello", items.text("second part") })
    local user = r.items[1]
    expect.eq(user.type, "userMessage")
    expect.eq(#user.content, 2)
    expect.eq(user.content[2].text, "second part")
  end)

  it("compacts a thread (thread/compact/start): the model gets a compaction request", function()
    local t = client:thread_start()
    t:run("hello")
    env.mock:reset()
    expect.truthy(t:compact())
    local function compacted()
      for _, rq in ipairs(env.mock:requests()) do
        if rq.request_kind == "compaction" then return true end
      end
      return false
    end
    wait_for(compacted, 20000, "a compaction request to reach the model")
  end)

  it("reports rate limits as an rpc error without a ChatGPT account", function()
    local err = expect.raises(function() client:rate_limits() end)
    expect.eq(err.kind, "rpc")
    expect.match(err.message, "authentication required")
  end)

  it("rejects bad input and unknown options with invalid_argument, before any request", function()
    local e = expect.raises(function() thread:turn(42) end)
    expect.eq(e.kind, "invalid_argument")
    e = expect.raises(function() thread:turn("x", { modle = "typo" }) end)
    expect.match(e.message, "modle")
    e = expect.raises(function() codex.new({ approval_handler = "yes" }) end)
    expect.match(e.message, "approval_handler")
  end)

end)

describe("api: threads and models", function()
  local env = e2e.env()
  teardown(env.close)
  local client = env.client()

  it("lists models (following pages)", function()
    local models = client:models()
    local ids = {}
    for _, m in ipairs(models) do ids[m.id] = true end
    expect.truthy(ids["mock-model"], "mock-model listed")
  end)

  it("round-trips list, read, resume, fork, set_name, archive and unarchive", function()
    local thread = client:thread_start()
    thread:run("hello")
    thread:set_name("round trip")
    local listed
    for _, t in ipairs(client:thread_list({ limit = 50 }).data) do
      if t.id == thread.id then listed = t end
    end
    expect.truthy(listed, "thread listed")
    expect.eq(listed.name, "round trip")
    local read = thread:read({ include_turns = true })
    expect.eq(read.thread.id, thread.id)
    expect.eq(#read.thread.turns, 1)
    local resumed = client:thread_resume(thread.id)
    expect.eq(resumed.id, thread.id)
    expect.eq(#resumed.info.turns, 1)
    local fork = resumed:fork()
    expect.truthy(fork.id ~= thread.id)
    expect.eq(fork.info.forkedFromId, thread.id)
    expect.eq(fork:run("hello").final_response, "Hello from the mock model!")
    thread:archive()
    local archived = {}
    for _, t in ipairs(client:thread_list({ archived = true }).data) do archived[t.id] = true end
    expect.truthy(archived[thread.id], "listed as archived")
    local un = thread:unarchive()
    expect.eq(un.thread.id, thread.id)
    local active = {}
    for _, t in ipairs(client:thread_list().data) do active[t.id] = true end
    expect.truthy(active[thread.id], "listed again after unarchive")
  end)

  it("pages a thread's turns (thread/turns/list): newest first, cursors to the end; resume's first page", function()
    local thread = client:thread_start()
    for i = 1, 5 do thread:run("page " .. i) end
    local function texts(page)
      local out = {}
      for _, t in ipairs(page.turns) do out[#out + 1] = t.items[1].content[1].text end
      return out
    end
    local seen, cursor, pages = {}, nil, 0
    repeat
      local page = thread:turns({ limit = 2, cursor = cursor })
      pages = pages + 1
      expect.truthy(#page.turns <= 2, "at most limit turns")
      for _, s in ipairs(texts(page)) do seen[#seen + 1] = s end
      cursor = page.next_cursor
    until cursor == nil or pages > 5
    expect.eq(pages, 3)
    expect.same(seen, { "page 5", "page 4", "page 3", "page 2", "page 1" })
    local asc = client:thread_turns(thread.id, { limit = 2, sort_direction = "asc" })
    expect.same(texts(asc), { "page 1", "page 2" })
    -- summary (the default) carries the messages only; full carries every item
    expect.eq(thread:turns({ limit = 1 }).turns[1].itemsView, "summary")
    expect.eq(thread:turns({ limit = 1, items_view = "full" }).turns[1].itemsView, "full")
    local resumed = client:thread_resume(thread.id, { exclude_turns = true, initial_turns_page = { limit = 2, items_view = "full" } })
    expect.eq(#resumed.info.turns, 0, "exclude_turns: no turns in thread")
    expect.same(texts(resumed.initial_page), { "page 5", "page 4" })
    expect.eq(resumed.initial_page.turns[1].itemsView, "full")
    local rest = resumed:turns({ cursor = resumed.initial_page.next_cursor, limit = 10 })
    expect.same(texts(rest), { "page 3", "page 2", "page 1" })
    expect.eq(rest.next_cursor, nil)
    local ok, err = pcall(thread.turns, thread, { cursor = "not a cursor" })
    expect.falsy(ok)
    expect.eq(err.code, -32600)
  end)

end)

describe("api: login", function()
  local env = e2e.env({ mock_args = { "--device-interval", "0" }, home = { requires_openai_auth = true } })
  teardown(env.close)
  local client = env.client()

  it("logs in with an API key; account() and logout()", function()
    local updates = {}
    client:on("account/updated", function(p) updates[#updates + 1] = p.authMode end)
    local r = client:login_api_key("sk-test-not-real")
    expect.eq(r.type, "apiKey")
    expect.eq(client:account().account.type, "apiKey")
    client:logout()
    local a = client:account().account
    expect.truthy(a == nil or a == codex.null, "no account after logout")
    expect.truthy(host.wait(5000, function() return #updates >= 2 end))
    expect.same(updates, { "apikey", codex.null })
    expect.falsy(client:stderr(400):find("sk-test-not-real", 1, true), "the key never reaches a log")
  end)

end)

describe("api: ChatGPT login flows", function()
  local env = e2e.env({ mock_args = { "--device-interval", "0" } })
  teardown(env.close)
  local client = env.client()

  it("completes a device-code login against the mock issuer", function()
    local h = client:login_chatgpt_device_code()
    expect.eq(h.user_code, "MOCK-CODE")
    expect.eq(h.verification_url, env.mock.url .. "/codex/device")
    expect.eq(type(h.login_id), "string")
    local done = h:wait({ timeout_ms = T })
    expect.eq(done.success, true)
    expect.eq(done.login_id, h.login_id)
    expect.eq(h:wait(), done, "wait() again returns the same completion")
  end)

  it("cancels a device-code login", function()
    env.mock:reset()
    -- keep it pending: the issuer answers 'pending' for a long time
    local slow = e2e.env({ mock_args = { "--device-interval", "5", "--device-pending", "100" } })
    finally(slow.close)
    local c = slow.client()
    local h = c:login_chatgpt_device_code()
    local st = h:cancel()
    expect.eq(st.status, "canceled")
    local done = h:wait({ timeout_ms = T })
    expect.eq(done.success, false)
    expect.match(done.error, "not completed")
  end)

  it("keeps replaced login attempts scoped to their own handle", function()
    local slow = e2e.env({ mock_args = { "--device-interval", "5", "--device-pending", "100" } })
    finally(slow.close)
    local c = slow.client()
    local first = c:login_chatgpt_device_code()
    local second = c:login_chatgpt_device_code()
    expect.truthy(first.login_id ~= second.login_id)
    local d1 = first:wait({ timeout_ms = T })
    expect.eq(d1.success, false, "the replaced attempt fails")
    expect.eq(d1.login_id, first.login_id)
    second:cancel()
    local d2 = second:wait({ timeout_ms = T })
    expect.eq(d2.login_id, second.login_id)
  end)

  it("cancels a browser login, then wait() returns the failed completion", function()
    local h = client:login_chatgpt()
    expect.match(h.auth_url, "^" .. env.mock.url:gsub("%p", "%%%0") .. "/oauth/authorize%?")
    expect.eq(h:cancel().status, "canceled")
    local done = h:wait({ timeout_ms = T })
    expect.eq(done.success, false)
    expect.match(done.error, "not completed")
  end)

end)
