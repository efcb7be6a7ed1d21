-- Every item type in a chat: item/started, progress notifications and item/completed as the
-- wire carries them (the scripted fake app-server writes them, the C core routes them to the
-- chat's turn stream), then what the chat buffer shows; <CR> on a sub-agent's item opens its
-- thread. Then, against the real app-server and the mock model, a real command's parsed
-- actions.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")

local api = vim.api
local NULL = vim.NIL

--- The virtual-text status on the nth line matching pat.
local function status_of(buf, pat, nth)
  nth = nth or 1
  for i, l in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if l:find(pat) then nth = nth - 1 end
    if nth == 0 then return ui.virt_text(buf, i - 1), i end
  end
  error("no line matches " .. pat .. " in:\n" .. ui.text(buf), 2)
end

local function wait(ms, cond, what)
  if not vim.wait(ms, cond, 10) then error("timed out waiting for " .. what, 2) end
end

describe("chat items over the wire (fake app-server)", function()
  local chat_mod = require("codex.ui.chat")
  local session = require("codex.session")
  local THREAD = "thr-items"
  local client, c, next_events

  setup(function()
    session.reset()
    require("codex").setup({
      client = { args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 },
    })
    client = session.client()
    -- The events of the chat's next turn/start (fakeEvents, tests/fake/README.md).
    local orig = client.rpc.request_stream
    client.rpc.request_stream = function(self, method, params, o)
      if method == "turn/start" and next_events then params.fakeEvents, next_events = next_events, nil end
      return orig(self, method, params, o)
    end
    vim.cmd("silent! only")
    c = chat_mod.open({ thread = require("codex.thread").new(client, { thread = { id = THREAD } }), cwd = "/w" })
  end)
  ui.fail_on_reported_errors()
  -- A test that failed mid-turn leaves its turn running: it ends here (each test starts idle).
  before_each(function()
    if c.state == "idle" then return end
    local tid = c.turn and c.turn.id
    wait(5000, function() tid = c.turn and c.turn.id return tid ~= nil end, "the running turn")
    client:request("fake/emit", { before = { { method = "turn/completed",
      params = { threadId = THREAD, turn = { id = tid, status = "completed" } } } } }, function() end)
    wait(5000, function() return c.state == "idle" end, "the chat to be idle")
  end)

  local function ev(method, params)
    params.threadId = params.threadId or THREAD
    params.turnId = params.turnId or "$TURN"
    return { method = method, params = params }
  end
  local function started(it) return ev("item/started", { item = it }) end
  local function completed(it) return ev("item/completed", { item = it }) end

  --- Starts a turn whose events are turn/started then `events` (no turn/completed: the test
  --- ends it with finish()). Returns once the last event is shown (until(text) holds).
  local function begin(events, until_pat)
    local script = { { method = "turn/started", params = { threadId = THREAD, turn = { id = "$TURN", status = "inProgress" } } } }
    for _, e in ipairs(events) do script[#script + 1] = e end
    next_events = script
    c:send("go")
    wait(10000, function() return c.turn ~= nil and ui.text(c.buf):find(until_pat) ~= nil end, until_pat)
    return c.turn.id
  end
  --- Sends more events of the running turn (then turn/completed when `last`), and waits.
  local function emit(turn_id, events, last)
    for _, e in ipairs(events) do
      e.params.turnId = e.params.turnId == "$TURN" and turn_id or e.params.turnId
    end
    if last then
      events[#events + 1] = { method = "turn/completed", params = { threadId = THREAD, turn = { id = turn_id, status = "completed" } } }
    end
    local done = false
    client:request("fake/emit", { before = events }, function() done = true end)
    wait(10000, function() return done end, "fake/emit")
    if last then wait(10000, function() return c.state == "idle" end, "the end of the turn") end
  end

  it("an MCP tool call: its progress in the status, then its result and duration", function()
    local tid = begin({
      started({ type = "mcpToolCall", id = "mcp-1", server = "github", tool = "list_prs", status = "inProgress",
        arguments = { repo = "neovim/neovim" } }),
      ev("item/mcpToolCall/progress", { itemId = "mcp-1", message = "page 2 of 3" }),
    }, "repo: neovim/neovim")
    wait(5000, function() return status_of(c.buf, "^%*%*⚙ github%.list_prs%*%*$") == "… page 2 of 3" end, "the progress status")
    emit(tid, {
      completed({ type = "mcpToolCall", id = "mcp-1", server = "github", tool = "list_prs", status = "completed",
        arguments = { repo = "neovim/neovim" }, durationMs = 250, error = NULL,
        result = { content = { { type = "text", text = "#1 fix\n#2 feat" } }, structuredContent = NULL } }),
      ev("item/mcpToolCall/progress", { itemId = "mcp-1", message = "late" }),
    }, true)
    expect.match(ui.text(c.buf), "%*%*⚙ github%.list_prs%*%*\nrepo: neovim/neovim\n```\n#1 fix\n#2 feat\n```")
    expect.eq(status_of(c.buf, "^%*%*⚙ github%.list_prs%*%*$"), "✓ done · 250 ms", "a late progress changes nothing")
  end)

  it("a command's terminal input shows in its status until it completes", function()
    local tid = begin({
      started({ type = "commandExecution", id = "cx-1", command = "python3 ask.py", cwd = "/w", status = "inProgress",
        commandActions = { { type = "unknown", command = "python3 ask.py" } } }),
      ev("item/commandExecution/outputDelta", { itemId = "cx-1", delta = "continue? " }),
      ev("item/commandExecution/terminalInteraction", { itemId = "cx-1", processId = "p1", stdin = "y\n" }),
    }, "continue%? ")
    wait(5000, function() return status_of(c.buf, "^%*%*%$ python3 ask%.py") == "… running · sent y" end, "the input status")
    emit(tid, { completed({ type = "commandExecution", id = "cx-1", command = "python3 ask.py", cwd = "/w",
      status = "completed", exitCode = 0, durationMs = 9, aggregatedOutput = "continue? ok\n" }) }, true)
    expect.match(status_of(c.buf, "^%*%*%$ python3 ask%.py"), "✓ exit 0")
  end)

  it("a revised patch replaces the file change's files in place; what follows stays below", function()
    local tid = begin({
      started({ type = "fileChange", id = "fc-1", status = "inProgress",
        changes = { { path = "/w/first.txt", kind = { type = "add" }, diff = "one\n" } } }),
      started({ type = "agentMessage", id = "m-after", text = "", phase = NULL }),
      ev("item/agentMessage/delta", { itemId = "m-after", delta = "after the patch" }),
      ev("item/fileChange/patchUpdated", { itemId = "fc-1", changes = {
        { path = "/w/first.txt", kind = { type = "add" }, diff = "uno\n" },
        { path = "/w/old.txt", kind = { type = "update", move_path = "/w/new.txt" }, diff = "@@ -1 +1 @@\n-a\n+b\n" } } }),
    }, "after the patch")
    wait(5000, function() return ui.text(c.buf):find("rename") ~= nil end, "the revised patch")
    local text = ui.text(c.buf)
    expect.falsy(text:find("+one", 1, true), "the first version is gone")
    -- (as any block: its body line, then the next block's blank header line)
    expect.match(text, "\n\n%*%*✎ add /w/first%.txt%*%*\n```diff\n%+uno\n```\n\n%*%*✎ rename /w/old%.txt → /w/new%.txt%*%*\n"
      .. "```diff\n@@ %-1 %+1 @@\n%-a\n%+b\n```\n\n\nafter the patch")
    emit(tid, { completed({ type = "fileChange", id = "fc-1", status = "completed", changes = {
      { path = "/w/first.txt", kind = { type = "add" }, diff = "uno\n" },
      { path = "/w/old.txt", kind = { type = "update", move_path = "/w/new.txt" }, diff = "@@ -1 +1 @@\n-a\n+b\n" } } }),
      completed({ type = "agentMessage", id = "m-after", text = "after the patch" }) }, true)
    expect.eq(status_of(c.buf, "^%*%*✎ add /w/first%.txt"), "✓ applied")
    expect.eq(status_of(c.buf, "^%*%*✎ rename /w/old%.txt"), "✓ applied")
    local _, n = ui.text(c.buf):gsub("first%.txt", "")
    expect.eq(n, 1, "drawn once")
  end)

  it("every other item type is readable in the chat, and commentary is labelled", function()
    local tid = begin({
      started({ type = "userMessage", id = "u-x", content = { { type = "text", text = "from another client" },
        { type = "localImage", path = "/w/shot.png" }, { type = "skill", name = "pdf", path = "/w/pdf/SKILL.md" } } }),
      started({ type = "agentMessage", id = "m-c", text = "", phase = "commentary" }),
      ev("item/agentMessage/delta", { itemId = "m-c", delta = "Looking around first." }),
      completed({ type = "agentMessage", id = "m-c", text = "Looking around first.", phase = "commentary" }),
      completed({ type = "webSearch", id = "w", query = "lua patterns", action = { type = "openPage", url = "https://lua.org/pil" } }),
      completed({ type = "dynamicToolCall", id = "d", namespace = "ide", tool = "diagnostics", status = "completed", success = true,
        arguments = { file = "a.lua" }, contentItems = { { type = "inputText", text = "2 warnings" } }, durationMs = 4 }),
      completed({ type = "imageView", id = "iv", path = "/w/shot.png" }),
      completed({ type = "imageGeneration", id = "ig", status = "completed", result = "AAAA", revisedPrompt = "a fox",
        savedPath = "/w/fox.png" }),
      completed({ type = "hookPrompt", id = "hp", fragments = { { hookRunId = "h", text = "Mind the style guide." } } }),
      completed({ type = "functionCallOutput", id = "fo", name = "grep", output = "3 matches" }),
      completed({ type = "sleep", id = "sl", durationMs = 200 }),
      completed({ type = "enteredReviewMode", id = "er", review = "current changes" }),
      completed({ type = "exitedReviewMode", id = "xr", review = "**No issues** found in `a.lua`." }),
      completed({ type = "commandExecution", id = "cx-2", command = "/bin/bash -lc 'sed -n 1,5p a.lua'", cwd = "/w/sub",
        status = "completed", exitCode = 0, aggregatedOutput = "x\n",
        commandActions = { { type = "read", command = "sed -n 1,5p a.lua", name = "a.lua", path = "/w/sub/a.lua" } } }),
      completed({ type = "futureItem", id = "fi", status = "completed", detail = { level = 3 } }),
    }, "futureItem")
    emit(tid, {}, true)
    local text = ui.text(c.buf)
    expect.match(text, "## You\n\nfrom another client\n%- image: /w/shot%.png\n%- skill: pdf %(/w/pdf/SKILL%.md%)")
    expect.match(text, "Looking around first%.")
    local label, row = status_of(c.buf, "^Looking around first%.")
    expect.eq(ui.virt_text(c.buf, row - 2), "(commentary)", "a dim label on the line above it")
    expect.eq(label, "")
    expect.match(text, "%*%*⚙ web search%*%*\nquery: lua patterns\nopened https://lua%.org/pil")
    expect.match(text, "%*%*⚙ ide%.diagnostics%*%*\nfile: a%.lua\n```\n2 warnings\n```")
    expect.eq(status_of(c.buf, "^%*%*⚙ ide%.diagnostics"), "✓ done · 4 ms")
    expect.match(text, "%*%*⚙ view image%*%* /w/shot%.png")
    expect.match(text, "%*%*⚙ generate image%*%*\nprompt: a fox\nsaved: /w/fox%.png")
    expect.match(text, "%*%*⚙ hook prompt%*%*\nMind the style guide%.")
    expect.match(text, "%*%*⚙ output of grep%*%*\n```\n3 matches\n```")
    expect.match(text, "%*%*⚙ sleep 200 ms%*%*")
    expect.eq(status_of(c.buf, "^%*%*⚙ sleep"), "✓ done")
    expect.match(text, "%*%*⚙ review: current changes%*%*")
    expect.match(text, "%*%*⚙ review done%*%*\n%*%*No issues%*%* found in `a%.lua`%.")
    expect.match(text, "%*%*%$ sed %-n 1,5p a%.lua%*%*\n↳ read /w/sub/a%.lua, in /w/sub\n```\nx\n")
    expect.match(text, "%*%*⚙ futureItem%*%*\ndetail%.level: 3")
    expect.falsy(text:find("AAAA", 1, true), "no image bytes")
    expect.falsy(text:find("{\"", 1, true), "no JSON")
  end)

  it("<CR> on a sub-agent's item opens its thread as a chat of its own", function()
    local SUB = "thr-sub-agent"
    local done = false
    client:request("fake/canned", { method = "thread/resume", result = {
      thread = { id = SUB, cwd = "/w", turns = {} },
      initialTurnsPage = { nextCursor = NULL, data = { { id = "sub-t1", status = "completed", items = {
        { type = "userMessage", id = "su", content = { { type = "text", text = "Find slow tests" } } },
        { type = "agentMessage", id = "sa", text = "The slowest is tmux_demo_spec." } } } } } } }, function() done = true end)
    wait(5000, function() return done end, "fake/canned")
    local tid = begin({
      started({ type = "collabAgentToolCall", id = "col-1", tool = "spawnAgent", status = "inProgress", senderThreadId = THREAD,
        receiverThreadIds = {}, agentsStates = {}, prompt = "Find slow tests" }),
    }, "> Find slow tests")
    emit(tid, {
      completed({ type = "collabAgentToolCall", id = "col-1", tool = "spawnAgent", status = "completed", senderThreadId = THREAD,
        receiverThreadIds = { SUB }, agentsStates = { [SUB] = { status = "running" } }, prompt = "Find slow tests" }),
      completed({ type = "subAgentActivity", id = "act-1", agentPath = "tester", agentThreadId = SUB, kind = "started" }),
    }, true)
    local text = ui.text(c.buf)
    expect.match(text, "%*%*⤷ spawn agent%*%*\n> Find slow tests\n%- agent thr%-sub%-agent: running")
    expect.match(text, "%*%*⤷ agent tester started%*%*")
    expect.eq(chat_mod.find(SUB), nil)
    -- on a plain line the key moves down as <CR> does
    local _, row = status_of(c.buf, "^> Find slow tests")
    api.nvim_set_current_win(c.win)
    local _, you = status_of(c.buf, "^## You")
    api.nvim_win_set_cursor(c.win, { you, 0 })
    api.nvim_feedkeys(api.nvim_replace_termcodes("<CR>", true, false, true), "x", false)
    expect.eq(api.nvim_win_get_cursor(c.win)[1], you + 1)
    expect.eq(chat_mod.find(SUB), nil)
    api.nvim_win_set_cursor(c.win, { row, 0 })
    api.nvim_feedkeys(api.nvim_replace_termcodes("<CR>", true, false, true), "x", false)
    wait(5000, function() return chat_mod.find(SUB) ~= nil end, "the sub-agent's chat")
    local sub = chat_mod.find(SUB)
    ui.wait_text(sub.buf, "The slowest is tmux_demo_spec%.", 5000)
    expect.truthy(sub:visible())
    sub:hide()
    -- the activity item links to the same thread: the open chat is shown again
    local _, arow = status_of(c.buf, "^%*%*⤷ agent tester started")
    if not c:visible() then c:show() end -- (the agent's chat may have taken its window)
    api.nvim_set_current_win(c.win)
    api.nvim_win_set_cursor(c.win, { arow, 0 })
    api.nvim_feedkeys(api.nvim_replace_termcodes("<CR>", true, false, true), "x", false)
    wait(5000, function() return sub:visible() end, "the sub-agent's chat shown again")
    sub:hide()
  end)

  it("a stored thread's items read the same, and its sub-agent items link", function()
    local h = chat_mod.open({ thread = require("codex.thread").new(client, { thread = { id = "thr-items-history" } }), show = false,
      turns = { { id = "h1", status = "completed", items = {
        { type = "userMessage", id = "hu", content = { { type = "text", text = "earlier" }, { type = "mention", name = "db", path = "app://db" } } },
        { type = "mcpToolCall", id = "hm", server = "db", tool = "query", status = "completed", arguments = { sql = "select 1" },
          durationMs = 2000, result = { content = { { type = "text", text = "1" } } } },
        { type = "collabAgentToolCall", id = "hc", tool = "wait", status = "completed", receiverThreadIds = { "thr-old-sub" },
          agentsStates = { ["thr-old-sub"] = { status = "completed", message = "done" } } },
        { type = "agentMessage", id = "ha", text = "All set.", phase = "final_answer" } } } } })
    local text = ui.text(h.buf)
    expect.match(text, "## You\n\nearlier\n%- mention: db %(app://db%)")
    expect.match(text, "%*%*⚙ db%.query%*%*\nsql: select 1\n```\n1\n```")
    expect.eq(status_of(h.buf, "^%*%*⚙ db%.query"), "✓ done · 2.0 s")
    expect.match(text, "%*%*⤷ wait for agents%*%*\n%- agent thr%-old%-sub: completed — done")
    local _, row = status_of(h.buf, "^%- agent thr%-old%-sub")
    expect.same(require("codex.ui.chat_links").at(h, row - 1), { "thr-old-sub" })
    expect.eq(require("codex.ui.chat_links").at(h, row - 4), nil, "not on the tool call above (its closing fence)")
  end)

  teardown(function()
    vim.cmd("silent! only")
    local cl = session.current()
    session.reset()
    if cl then wait_for(function() return not cl:status().alive end, 5000, "the app-server to exit") end
  end)
end)

describe("chat items from the real app-server and the mock model", function()
  local env
  setup(function() env = ui.env() end)
  teardown(function() env.close() end)

  it("a real command's parsed action: reading a file is shown as such", function()
    ui.write(env.workspace .. "/notes.txt", "remember the milk\n")
    env.setup({ auto_approve = { commands = { "cat notes%.txt" } } })
    local c = require("codex.ui.chat").open({ cwd = env.workspace })
    c:send("[[exec]] cat notes.txt")
    ui.wait_text(c.buf, "Command output: remember the milk")
    ui.wait_idle(c)
    expect.match(ui.text(c.buf), "%*%*%$ cat notes%.txt%*%*\n↳ read notes%.txt\n```\nremember the milk\n")
    c:hide()
  end)
end)
