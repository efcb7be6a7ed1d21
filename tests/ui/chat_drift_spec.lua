-- The chat under protocol drift: JSON nulls where lists or strings are expected, items without
-- ids, fields of the wrong type. The events go the way real ones do: the scripted fake
-- app-server (tests/fake) writes them, the C core frames, decodes and routes them to the
-- chat's turn stream, the chat renders them. Everything that can be shown is shown, and
-- nothing is reported as an error.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")

local api = vim.api
local NULL = vim.NIL

describe("chat under protocol drift", function()
  local chat_mod = require("codex.ui.chat")
  local session = require("codex.session")

  local function wait(ms, cond, what)
    if not vim.wait(ms, cond, 10) then error("timed out waiting for " .. what, 2) end
  end

  session.reset()
  require("codex").setup({
    client = { args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 },
  })
  local client = session.client()
  local THREAD = "thr-drift"
  local thread = require("codex.thread").new(client, { thread = { id = THREAD } })
  vim.cmd("silent! only")
  local c = chat_mod.open({ thread = thread, cwd = vim.fn.getcwd() })

  ui.fail_on_reported_errors()

  local function count(s, pat)
    return select(2, s:gsub(pat, ""))
  end

  -- The events of the chat's next turn/start: the fake app-server writes them as the turn's
  -- events instead of its default ones (fakeEvents, tests/fake/README.md). Only this test's
  -- client is touched, and only the params of turn/start.
  local next_events
  local orig_request_stream = client.rpc.request_stream
  client.rpc.request_stream = function(self, method, params, o)
    if method == "turn/start" and next_events then
      params.fakeEvents, next_events = next_events, nil
    end
    return orig_request_stream(self, method, params, o)
  end

  local n = 0
  --- One turn of the chat whose events are turn/started, `events`, then turn/completed
  --- (unless `events` ends the turn itself). An event's threadId and turnId are filled in
  --- unless it has one (NULL included). Returns the chat buffer's text from this turn on.
  local function turn(events)
    n = n + 1
    local script = { { method = "turn/started", params = { threadId = THREAD, turn = { id = "$TURN", status = "inProgress" } } } }
    local ends = false
    for _, e in ipairs(events) do
      e.params.threadId = e.params.threadId or THREAD
      if e.method == "turn/completed" then
        e.params.turn.id = "$TURN"
        ends = true
      elseif e.params.turnId == nil then
        e.params.turnId = "$TURN"
      end
      script[#script + 1] = e
    end
    if not ends then
      script[#script + 1] = { method = "turn/completed", params = { threadId = THREAD, turn = { id = "$TURN", status = "completed" } } }
    end
    next_events = script
    local before = #ui.text(c.buf)
    local ended = false
    local off = require("codex.events").on("TurnCompleted", function(d)
      if d.thread_id == THREAD then ended = true end
    end)
    c:send("turn " .. n)
    wait(10000, function() return ended and c.state == "idle" end, "the end of turn " .. n)
    off()
    return ui.text(c.buf):sub(before + 1)
  end

  local function item(method, it) return { method = method, params = { item = it } } end

  --- The virtual-text statuses on the line matching pat.
  local function status_of(pat, nth)
    nth = nth or 1
    for i, l in ipairs(api.nvim_buf_get_lines(c.buf, 0, -1, false)) do
      if l:find(pat) then nth = nth - 1 end
      if nth == 0 then return ui.virt_text(c.buf, i - 1) end
    end
    error("no line matches " .. pat .. " in:\n" .. ui.text(c.buf), 2)
  end

  it("renders a file change whose changes are null, odd, or only given on completion", function()
    local text = turn({
      item("item/started", { type = "fileChange", id = "fc-null", changes = NULL, status = "inProgress" }),
      item("item/completed", { type = "fileChange", id = "fc-null", changes = NULL, status = "completed" }),
      item("item/started", { type = "fileChange", id = "fc-odd", status = "inProgress", changes = {
        NULL, "not a change", { path = NULL, kind = NULL, diff = NULL },
        { path = "a.txt", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-a\n+b\n" } } }),
      item("item/completed", { type = "fileChange", id = "fc-odd", status = NULL, changes = NULL }),
      item("item/started", { type = "fileChange", id = "fc-late", status = "inProgress" }),
      item("item/completed", { type = "fileChange", id = "fc-late", status = "declined",
        changes = { { path = "b.txt", kind = { type = "add" }, diff = "new line\n" } } }),
    })
    expect.match(text, "%*%*✎ file change%*%*")
    expect.eq(status_of("^%*%*✎ file change%*%*"), "✓ applied")
    expect.match(text, "%*%*✎ update a%.txt%*%*\n```diff\n@@ %-1 %+1 @@\n%-a\n%+b\n```")
    expect.match(text, "%*%*✎ change %?%*%*")
    expect.eq(status_of("^%*%*✎ update a%.txt"), "", "no status was given: no stale '… waiting'")
    expect.match(text, "%*%*✎ file change%*%*\n%*%*✎ add b%.txt%*%*\n```diff\n%+new line\n```")
    expect.eq(status_of("^%*%*✎ file change%*%*", 2), "✗ declined")
  end)

  it("renders plan updates whose plan or explanation is null, or has odd steps", function()
    local text = turn({
      { method = "turn/plan/updated", params = { plan = NULL, explanation = NULL } },
      { method = "turn/plan/updated", params = { explanation = "First line\nsecond line", plan = {
        NULL, 7, { step = NULL, status = NULL }, { step = "write tests", status = "completed" },
        { step = "run them\nall", status = "inProgress" }, { step = "ship", status = NULL } } } },
    })
    expect.match(text, "%*%*Plan%*%*\nFirst line\nsecond line\n%- %[x%] write tests\n%- %[~%] run them all\n%- %[ %] ship\n")
    expect.eq(count(text, "%*%*Plan%*%*"), 1)
  end)

  it("renders items without an id once, from their completion", function()
    local text = turn({
      item("item/started", { type = "agentMessage", text = "" }),
      { method = "item/agentMessage/delta", params = { delta = "lost: no item id" } },
      item("item/completed", { type = "agentMessage", text = "an answer without an id" }),
      item("item/started", { type = "commandExecution", id = NULL, command = { "ls", "-la" }, status = "inProgress" }),
      item("item/completed", { type = "commandExecution", id = NULL, command = { "ls", "-la" }, status = "completed",
        exitCode = NULL, durationMs = {}, aggregatedOutput = "listing\n" }),
      item("item/completed", { type = "plan", text = "a plan that never started" }),
    })
    expect.match(text, "## Codex\n\nan answer without an id\n")
    expect.eq(count(text, "an answer without an id"), 1)
    expect.match(text, "%*%*%$ ls %-la%*%*\n```\nlisting\n")
    expect.eq(count(text, "%*%*%$ ls %-la%*%*"), 1)
    expect.eq(status_of("^%*%*%$ ls %-la"), "✓ exit 0")
    expect.match(text, "%*%*Plan%*%*\na plan that never started")
  end)

  it("renders fields of the wrong type as far as they go", function()
    local text = turn({
      item("item/started", { type = NULL, id = "x-1" }),
      item("item/completed", { type = NULL, id = "x-1", status = { "not", "a", "string" } }),
      item("item/started", { type = "userMessage", id = "u-1",
        content = { NULL, 3, { type = "text", text = NULL }, { type = "text", text = "typed elsewhere" } } }),
      item("item/started", { type = "reasoning", id = "r-1" }),
      item("item/completed", { type = "reasoning", id = "r-1", summary = { NULL, "thinking", { text = "more" } } }),
      item("item/started", { type = "agentMessage", id = 12 }),
      { method = "item/agentMessage/delta", params = { itemId = 12, delta = NULL } },
      { method = "item/agentMessage/delta", params = { itemId = 12, delta = { "x" } } },
      { method = "item/agentMessage/delta", params = { itemId = 12, delta = "numbered id" } },
      { method = "item/reasoning/summaryPartAdded", params = { itemId = NULL } },
      item("item/completed", { type = "agentMessage", id = 12, text = 42 }),
      item("item/started", { type = "commandExecution", id = "cmd-1", command = "printf 'a\nb'", status = 5 }),
      item("item/completed", { type = "commandExecution", id = "cmd-1", command = "printf 'a\nb'", status = "failed",
        exitCode = "2", aggregatedOutput = NULL }),
      item("item/started", { type = "contextCompaction" }),
      { method = "item/started", params = { item = NULL } },
      { method = "item/completed", params = { item = "not an item" } },
    })
    expect.match(text, "%*%*⚙ item%*%*")
    expect.match(text, "## You\n\ntyped elsewhere\n")
    expect.match(text, "> _Reasoning_\nthinking\n\nmore")
    expect.match(text, "## You\n\ntyped elsewhere\n\n## Codex\n\n> _Reasoning_\nthinking\n\nmore\n\nnumbered id\n")
    expect.match(text, "%*%*%$ printf 'a b'%*%*\n\n", "no output: no code block")
    expect.match(status_of("^%*%*%$ printf"), "✗ failed exit 2")
    expect.match(text, "_%(context compacted%)_")
  end)

  it("survives null or odd token usage, errors and turn ends", function()
    local text = turn({
      { method = "thread/tokenUsage/updated", params = { tokenUsage = NULL } },
      { method = "thread/tokenUsage/updated", params = { tokenUsage = { total = NULL, last = { totalTokens = "7" } } } },
      { method = "error", params = { error = NULL, willRetry = true } },
      { method = "error", params = { error = { message = "overloaded\nretry soon" }, willRetry = true } },
      { method = "turn/completed", params = { turn = { status = NULL, durationMs = "soon", error = NULL } } },
    })
    expect.match(text, "> _retrying %(transient, retrying%)_")
    expect.match(text, "> _overloaded retry soon %(transient, retrying%)_")
    expect.match(text, "_— done_$")
    expect.match(chat_mod.statusline(), "idle")
    text = turn({
      { method = "thread/tokenUsage/updated", params = { tokenUsage = { total = { totalTokens = 1234 }, last = NULL } } },
      { method = "turn/completed", params = { turn = { status = "failed", error = { message = "bad\nthing", codexErrorInfo = NULL } } } },
    })
    expect.match(text, "> %*%*Error:%*%* bad thing\n\n_— failed_$")
    expect.match(chat_mod.statusline(), "1%.2k tokens")
    text = turn({ { method = "turn/completed", params = { turn = { status = "failed", error = NULL } } } })
    expect.match(text, "> %*%*Error:%*%* the turn failed\n\n_— failed_$")
    text = turn({ { method = "turn/completed", params = { turn = { status = "interrupted", durationMs = {} } } } })
    expect.match(text, "_— interrupted_$")
  end)

  it("an approval for a file change whose changes are null says so, and the turn goes on", function()
    local approval = require("codex.ui.approval")
    n = n + 1
    next_events = {
      { method = "turn/started", params = { threadId = THREAD, turn = { id = "$TURN", status = "inProgress" } } },
      item("item/started", { type = "fileChange", id = "fc-ask", changes = NULL, status = "inProgress" }),
      { id = 900, method = "item/fileChange/requestApproval",
        params = { threadId = THREAD, turnId = "$TURN", itemId = "fc-ask", reason = NULL, grantRoot = NULL } },
    }
    next_events[2].params.threadId, next_events[2].params.turnId = THREAD, "$TURN"
    c:send("turn " .. n)
    local view
    wait(10000, function() view = approval.current(THREAD) return view ~= nil end, "the approval prompt")
    local lines = table.concat(api.nvim_buf_get_lines(view.buf, 0, -1, false), "\n")
    expect.match(lines, "Codex wants to change files")
    expect.match(lines, "%(the diff is not available%)")
    local tid = c.turn.id
    local done = item("item/completed", { type = "fileChange", id = "fc-ask", changes = NULL, status = "declined" })
    done.params.threadId, done.params.turnId = THREAD, tid
    client:request("fake/emit", { before = {
      { method = "serverRequest/resolved", params = { threadId = THREAD, requestId = 900 } }, done,
    } })
    client:request("fake/emit", { before = {
      { method = "turn/completed", params = { threadId = THREAD, turn = { id = tid, status = "completed" } } },
    } })
    wait(10000, function() return c.state == "idle" and approval.current(THREAD) == nil end, "the end of the turn")
    local last = count(ui.text(c.buf), "%*%*✎ file change%*%*")
    expect.eq(status_of("^%*%*✎ file change%*%*", last), "✗ declined")
  end)

  it("renders a stored history with null turns, items and errors", function()
    local t = require("codex.thread").new(client, { thread = { id = "thr-drift-history" } })
    local h = chat_mod.open({ thread = t, show = false, turns = {
      NULL, "not a turn",
      { id = "t1", items = NULL, status = "failed", error = NULL },
      { id = "t2", status = "completed", items = {
        NULL, { type = "userMessage", content = NULL },
        { type = "agentMessage", text = "from the history" },
        { type = "fileChange", id = "h-fc", changes = NULL, status = "completed" },
        { type = "commandExecution", command = NULL, status = "completed", aggregatedOutput = "ok\n" } } },
      { id = "t3", status = "failed", error = { message = "old\nfailure" }, items = {} },
    } })
    local text = ui.text(h.buf)
    expect.match(text, "> %*%*Error:%*%* the turn failed")
    expect.match(text, "## Codex\n\nfrom the history")
    expect.match(text, "%*%*✎ file change%*%*")
    expect.match(text, "%*%*%$ %*%*\n```\nok\n")
    expect.match(text, "> %*%*Error:%*%* old failure")
    local none = chat_mod.open({ thread = require("codex.thread").new(client, { thread = { id = "thr-drift-none" } }),
      show = false, turns = NULL })
    expect.eq(ui.text(none.buf), "")
  end)

  teardown(function()
    vim.cmd("silent! only")
    local cl = session.current()
    session.reset()
    if cl then wait_for(function() return not cl:status().alive end, 5000, "the app-server to exit") end
  end)
end)
