-- Turns of a chat's thread that the chat did not start: `:Codex compact`, `:Codex !{cmd}`
-- (asked first, never run without "Run"), a review started with a raw request (real
-- app-server + mock), and a turn of another client (the scripted fake app-server writes a
-- turn the chat never asked for, as a second connection's turn would reach it). Each shows in
-- the chat as a turn, once; a foreign turn running makes the chat "running" (sending then
-- steers or queues), one that comes while the chat's own turn runs changes no state.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local env_lib = require("lib.env")

local function count(s, plain)
  local n, from = 0, 1
  while true do
    local i, j = s:find(plain, from, true)
    if not i then return n end
    n, from = n + 1, j + 1
  end
end

--- vim.ui.select answered with `choice` (nil: cancelled); records what it was asked.
local function stub_select(choice)
  local orig, asked = vim.ui.select, {}
  vim.ui.select = function(items, opts, on_choice)
    asked[#asked + 1] = { items = items, prompt = opts and opts.prompt or "" }
    on_choice(choice)
  end
  return asked, function() vim.ui.select = orig end
end

describe("foreign turns (real app-server)", function()
  local env = ui.env()
  teardown(env.close)
  require("lib.review").workspace(env.workspace)
  local notes
  before_each(function()
    ui.settle_chats()
    notes = env_lib.capture_notify({ quiet = true })
  end)
  after_each(function()
    notes.restore()
    ui.settle_chats()
  end)

  local started = {}
  require("codex.events").on("TurnStarted", function(d) started[#started + 1] = d end)

  --- A chat with one turn of its own done.
  local function chat_with_turn()
    local c = ui.new_chat()
    c:send("hello")
    ui.wait_idle(c)
    ui.wait_text(c.buf, "Hello from the mock model!")
    return c
  end

  it(":Codex compact shows the compaction turn in the chat, running then done", function()
    local c = chat_with_turn()
    started = {}
    vim.cmd("Codex compact")
    ui.wait_text(c.buf, "%(context compacted%)")
    ui.wait_idle(c)
    -- the turn ran as the chat's turn: announced, and a footer after its item
    expect.eq(#started, 1)
    expect.truthy(started[1].foreign)
    local text = ui.text(c.buf)
    local after = text:sub(text:find("(context compacted)", 1, true), -1)
    expect.truthy(after:find("_— ", 1, true), after)
    -- the chat's own turn is not drawn a second time
    expect.eq(count(text, "Hello from the mock model!"), 1)
    expect.eq(count(text, "## You"), 1)
  end)

  it(":Codex !{cmd} asks first, showing the command, then shows its output", function()
    local c = chat_with_turn()
    local asked, restore = stub_select("Run")
    vim.cmd("Codex !echo hi from  the shell")
    restore()
    expect.eq(#asked, 1)
    expect.truthy(asked[1].prompt:find("echo hi from  the shell", 1, true), asked[1].prompt)
    expect.truthy(asked[1].prompt:find("without the sandbox", 1, true), asked[1].prompt)
    ui.wait_text(c.buf, "## You\n\n!echo hi from  the shell")
    ui.wait_text(c.buf, "\nhi from the shell\n")
    ui.wait_idle(c)
    local text = ui.text(c.buf)
    expect.eq(count(text, "hi from the shell\n"), 1)
    -- its footer: no tokens of its own (the command made no model call), not the last turn's
    local footer = text:match("hi from the shell\n+```\n\n(_— [^\n]*)")
    expect.truthy(footer and footer:find("done") and not footer:find("tokens"), tostring(footer))
  end)

  it(":Codex !{cmd} runs nothing when the question is cancelled", function()
    local c = chat_with_turn()
    local marker = env.workspace .. "/cancelled-marker"
    local asked, restore = stub_select(nil)
    vim.cmd("Codex !touch " .. marker)
    restore()
    expect.eq(#asked, 1)
    -- a command run after it (answered "Run"): had the first one run, it would be done by then
    local _, restore2 = stub_select("Run")
    vim.cmd("Codex !echo second")
    restore2()
    ui.wait_text(c.buf, "\nsecond\n")
    ui.wait_idle(c)
    expect.eq(vim.fn.filereadable(marker), 0)
    expect.falsy(ui.text(c.buf):find("!touch", 1, true))
  end)

  it("shows a review started on its thread elsewhere (a raw review/start)", function()
    local c = chat_with_turn()
    c.thread.client:request("review/start", { threadId = c.thread_id, target = { type = "uncommittedChanges" } }, nil,
      function() end)
    ui.wait_text(c.buf, "Mock review: 2 findings%.")
    ui.wait_idle(c)
    expect.truthy(ui.text(c.buf):find("Mock finding 1 in app%.lua"))
  end)

  it("queues a message sent while a foreign compaction turn runs, and sends it after", function()
    local c = chat_with_turn()
    -- the message goes in as soon as the compaction turn is the chat's running turn
    local off = require("codex.events").on("TurnStarted", function(d)
      if d.foreign then vim.schedule(function() c:send("after the compaction") end) end
    end)
    vim.cmd("Codex compact")
    ui.wait_text(c.buf, "## You %(queued%)\n\nafter the compaction")
    off()
    ui.wait_idle(c)
    ui.wait_text(c.buf, "## You %(queued%)\n\nafter the compaction\n\n## Codex\n\nHello from the mock model!")
    expect.falsy(notes.find("could not steer"), notes.text())
  end)

  it(":Codex ! without a command says how to use it, asking nothing", function()
    ui.new_chat()
    local asked, restore = stub_select("Run")
    vim.cmd("Codex !")
    restore()
    expect.eq(#asked, 0)
    expect.truthy(notes.find("usage: :Codex !{command}"), notes.text())
  end)

  it(":Codex compact without a thread says so", function()
    ui.new_chat()
    vim.cmd("Codex compact")
    expect.truthy(notes.find("no chat with a thread"), notes.text())
  end)
end)

describe("foreign turns (fake app-server: another client's turn)", function()
  local chat_mod = require("codex.ui.chat")
  local session = require("codex.session")
  session.reset()
  require("codex").setup({
    client = { args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 },
  })
  local client = session.client()
  teardown(function() session.reset() end)
  local THREAD = "thr-foreign"
  local thread = require("codex.thread").new(client, { thread = { id = THREAD } })
  vim.cmd("silent! only")
  local c = chat_mod.open({ thread = thread, cwd = vim.fn.getcwd() })
  ui.fail_on_reported_errors()

  local function ev(method, turn_id, params)
    params = params or {}
    params.threadId = THREAD
    if method == "turn/started" or method == "turn/completed" then
      params.turn = { id = turn_id, status = method == "turn/started" and "inProgress" or "completed", items = {} }
    else
      params.turnId = turn_id
    end
    return { method = method, params = params }
  end
  local function emit(events) client:request("fake/emit", { after = events }) end
  local function user(turn_id, text)
    local item = { type = "userMessage", id = "u-" .. turn_id, content = { { type = "text", text = text } } }
    return { ev("item/started", turn_id, { item = item }), ev("item/completed", turn_id, { item = item }) }
  end
  local function answer(turn_id, text)
    local id = "a-" .. turn_id
    return {
      ev("item/started", turn_id, { item = { type = "agentMessage", id = id, text = "" } }),
      ev("item/agentMessage/delta", turn_id, { itemId = id, delta = text }),
      ev("item/completed", turn_id, { item = { type = "agentMessage", id = id, text = text } }),
    }
  end
  local function concat(...)
    local out = {}
    for _, l in ipairs({ ... }) do vim.list_extend(out, l) end
    return out
  end

  it("shows another client's turn (its message, items, footer) and runs while it runs", function()
    local before = #ui.text(c.buf)
    emit(concat({ ev("turn/started", "t-other") }, user("t-other", "from another client")))
    ui.wait_text(c.buf, "## You\n\nfrom another client")
    expect.eq(c.state, "running")
    expect.eq(c.turn.id, "t-other")
    -- sending now steers that turn (the fake accepts turn/steer)
    client:request("fake/canned", { method = "turn/steer", result = { turnId = "t-other" } })
    c:send("a steer")
    ui.wait_text(c.buf, "## You %(steering%)\n\na steer")
    emit(concat(answer("t-other", "their answer"), { ev("turn/completed", "t-other") }))
    ui.wait_idle(c, 5000)
    local text = ui.text(c.buf):sub(before + 1)
    expect.truthy(text:find("## Codex\n\ntheir answer", 1, true), text)
    expect.truthy(text:find("_— ", 1, true), text)
    expect.eq(count(text, "from another client"), 1)
  end)

  --- Starts the chat's own turn "t-own": started, then silent until the test ends it.
  local function own_turn()
    local orig = client.rpc.request_stream
    client.rpc.request_stream = function(self, method, params, o)
      if method == "turn/start" then
        params.fakeTurnId = "t-own"
        params.fakeEvents = { ev("turn/started", "t-own") }
      end
      return orig(self, method, params, o)
    end
    c:send("my own turn")
    client.rpc.request_stream = orig
    env_lib.wait(function() return c.state == "running" and c.turn and c.turn.id == "t-own" end, "the own turn to run", 5000)
  end
  local function end_own()
    emit(concat(answer("t-own", "my answer"), { ev("turn/completed", "t-own") }))
    ui.wait_idle(c, 5000)
    ui.wait_text(c.buf, "my answer")
  end

  it("draws a turn attached while its own turn runs, without ending its own turn", function()
    own_turn()
    -- (a foreign turn reaching a busy chat: the client does not offer one then, but if one
    -- comes, it is drawn and changes no state)
    local turn = require("codex.turn").new(client, THREAD, { turn = { id = "t-side" } }, client.rpc:watch("turn:t-side"))
    c:_attach_turn(turn)
    emit(concat({ ev("turn/started", "t-side") }, answer("t-side", "a side answer"), { ev("turn/completed", "t-side") }))
    ui.wait_text(c.buf, "a side answer")
    env_lib.wait(function() return turn.stream.ended end, "the side turn to end", 5000)
    ui.flush()
    expect.eq(c.state, "running")
    expect.eq(c.turn.id, "t-own")
    end_own()
  end)
end)
