-- What the transcript says about a turn (issue 9: #9, #13, #15, #16, #17): queued messages wait
-- below it and get their entry when their turn starts; the agent's actions sit under the
-- "## Codex" header; commands show their script; item states follow approvals and the turn's
-- end; failed turns get a footer. Live turns run on the real app-server and the mock; the
-- item states are driven with the events the server sends, into a chat of its own.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local api = vim.api

describe("the chat transcript", function()
  local env = ui.env()
  teardown(env.close)
  local chat_mod = require("codex.ui.chat")
  before_each(ui.settle_chats)
  after_each(ui.settle_chats)

  local function count(s, pat) return select(2, s:gsub(pat, "")) end

  --- The queued-message lines shown below the transcript: {row, texts} or nil.
  local function queued(c)
    local marks = api.nvim_buf_get_extmarks(c.buf, chat_mod.queue_ns or -1, 0, -1, { details = true })
    if #marks == 0 then return nil end
    expect.eq(#marks, 1, "one mark holds the queue")
    local texts = {}
    for _, line in ipairs(marks[1][4].virt_lines or {}) do
      local t = {}
      for _, chunk in ipairs(line) do t[#t + 1] = chunk[1] end
      texts[#texts + 1] = table.concat(t)
    end
    return { row = marks[1][2], texts = table.concat(texts, "\n") }
  end

  -- A chat that is fed events directly (no turn runs on the server).
  local n = 0
  local function event_chat()
    n = n + 1
    return chat_mod.open({ thread = { id = "thr-transcript-" .. n }, show = false, cwd = vim.fn.getcwd() })
  end
  local function feed(c, turn, events)
    for _, e in ipairs(events) do
      e.params.turnId = e.params.turnId or turn
      c:on_event(e)
    end
    c.renderer:flush()
  end
  local function started(it) return { method = "item/started", params = { item = it } } end
  local function completed(it) return { method = "item/completed", params = { item = it } } end
  local function delta(id, text) return { method = "item/commandExecution/outputDelta", params = { itemId = id, delta = text } } end
  local function ended(turn, status) return { method = "turn/completed", params = { turn = { id = turn, status = status } } } end

  --- The status shown on the nth line matching pat.
  local function status_of(c, pat, nth)
    nth = nth or 1
    for i, l in ipairs(api.nvim_buf_get_lines(c.buf, 0, -1, false)) do
      if l:find(pat) then nth = nth - 1 end
      if nth == 0 then return ui.virt_text(c.buf, i - 1) end
    end
    error("no line matches " .. pat .. " in:\n" .. ui.text(c.buf), 2)
  end

  describe("#9 a queued message", function()
    it("waits below the running turn, and gets its ## You entry after that turn's footer", function()
      local c = ui.new_chat()
      c:send("[[slow]] again")
      ui.wait_text(c.buf, "## Codex\n\none ")
      c:send("queued message", { queue = true })
      expect.falsy(ui.text(c.buf):find("queued message", 1, true), "not written into the running turn")
      local q = queued(c)
      expect.truthy(q, "shown as pending")
      expect.match(q.texts, "queued: queued message")
      -- it stays below the end while the turn streams on
      ui.wait_text(c.buf, "five ")
      c.renderer:flush()
      q = queued(c)
      expect.eq(q and q.row, api.nvim_buf_line_count(c.buf) - 1, "still at the end")
      wait_for(function() return c.state == "idle" and #c.queue == 0 and ui.text(c.buf):find("Hello from the mock model!") ~= nil end,
        30000, function() return "the queued turn; the chat holds:\n" .. ui.text(c.buf) end)
      ui.wait_idle(c)
      local text = ui.text(c.buf)
      expect.match(text, "ten \n\n_— done[^\n]*_\n\n## You %(queued%)\n\nqueued message\n\n## Codex\n\nHello from the mock model!\n\n_— done")
      expect.eq(count(text, "queued message"), 1, "the server's echo of it is not written again")
      expect.eq(queued(c), nil, "nothing pending any more")
    end)

    it("stays in view below a long transcript while the view follows the end", function()
      local c = event_chat()
      c:show()
      local long = {}
      for i = 1, 200 do long[i] = "line " .. i end
      feed(c, "t1", { started({ type = "agentMessage", id = "a1" }),
        { method = "item/agentMessage/delta", params = { itemId = "a1", delta = table.concat(long, "\n") } } })
      c.state = "running" -- (a turn runs: the message waits)
      finally(function() c.state, c.queue = "idle", {} end)
      local function rows_below_cursor()
        return api.nvim_win_call(c.win, function()
          return api.nvim_win_get_height(c.win) - vim.fn.winline()
        end)
      end
      api.nvim_win_set_cursor(c.win, { api.nvim_buf_line_count(c.buf), 0 })
      expect.truthy(rows_below_cursor() < 2, "the last line is at the bottom: no room for the queue yet")
      c:send("one more thing", { queue = true })
      expect.eq(#c.queue, 1)
      expect.truthy(rows_below_cursor() >= 2, "room for the blank line and the queued one")
      feed(c, "t1", { { method = "item/agentMessage/delta", params = { itemId = "a1", delta = "\nmore\nand more" } } })
      expect.eq(queued(c).row, api.nvim_buf_line_count(c.buf) - 1, "moved along with the text")
      expect.eq(api.nvim_win_get_cursor(c.win)[1], api.nvim_buf_line_count(c.buf), "the view still follows")
      expect.truthy(rows_below_cursor() >= 2, "still in view")
    end)

    it("sent while the turn is still starting: queued, then its own turn", function()
      local c = ui.new_chat()
      c:send("first one")
      expect.eq(c.state, "starting")
      c:send("second one")
      expect.falsy(ui.text(c.buf):find("second one", 1, true))
      expect.match(queued(c).texts, "queued: second one")
      wait_for(function() return c.state == "idle" and #c.queue == 0 and count(ui.text(c.buf), "_— done") == 2 end,
        30000, function() return "both turns; the chat holds:\n" .. ui.text(c.buf) end)
      local text = ui.text(c.buf)
      expect.match(text, "^## You\n\nfirst one\n\n## Codex\n\nHello from the mock model!\n\n_— done[^\n]*_\n\n"
        .. "## You %(queued%)\n\nsecond one\n\n## Codex\n\nHello from the mock model!\n\n_— done[^\n]*_$")
    end)
  end)

  describe("#13 the ## Codex header", function()
    it("comes before the reasoning of a live turn", function()
      local c = ui.new_chat()
      c:send("[[reasoning]]")
      ui.wait_text(c.buf, "Thought through it.")
      ui.wait_idle(c)
      local text = ui.text(c.buf)
      expect.match(text, "## You\n\n%[%[reasoning%]%]\n\n## Codex\n\n> _Reasoning_\n")
      expect.eq(count(text, "## Codex"), 1, "once per turn")
    end)

    it("comes before the turn's first action of any kind, once; again after a steer", function()
      local c = event_chat()
      feed(c, "t1", {
        started({ type = "userMessage", id = "u1", content = { { type = "text", text = "do it" } } }),
        started({ type = "commandExecution", id = "c1", command = "ls", status = "inProgress" }),
        completed({ type = "commandExecution", id = "c1", command = "ls", status = "completed", exitCode = 0, aggregatedOutput = "a\n" }),
        ended("t1", "completed"),
      })
      local text = ui.text(c.buf)
      expect.match(text, "## You\n\ndo it\n\n## Codex\n\n%*%*%$ ls%*%*", "a turn with only a command")
      feed(c, "t2", {
        started({ type = "userMessage", id = "u2", content = { { type = "text", text = "plan" } } }),
        { method = "turn/plan/updated", params = { plan = { { step = "one", status = "pending" } } } },
        started({ type = "agentMessage", id = "a2" }),
        completed({ type = "agentMessage", id = "a2", text = "answer" }),
        started({ type = "userMessage", id = "u3", content = { { type = "text", text = "steer it" } } }),
        started({ type = "agentMessage", id = "a3" }),
        completed({ type = "agentMessage", id = "a3", text = "steered" }),
        ended("t2", "completed"),
      })
      text = ui.text(c.buf)
      expect.match(text, "## You\n\nplan\n\n## Codex\n\n%*%*Plan%*%*\n%- %[ %] one\n\nanswer\n\n## You\n\nsteer it\n\n## Codex\n\nsteered")
      expect.eq(count(text, "## Codex"), 3)
    end)

    it("comes before the first action in stored history too", function()
      local c = chat_mod.open({ thread = { id = "thr-transcript-history" }, show = false, turns = {
        { id = "h1", status = "completed", items = {
          { type = "userMessage", id = "hu", content = { { type = "text", text = "why" } } },
          { type = "reasoning", id = "hr", summary = { "thinking" } },
          { type = "commandExecution", id = "hc", command = "/bin/bash -lc 'git status'", status = "completed", aggregatedOutput = "clean\n" },
          { type = "agentMessage", id = "ha", text = "because" },
        } },
        { id = "h2", status = "failed", error = { message = "stored failure" }, items = {
          { type = "userMessage", id = "hu2", content = { { type = "text", text = "again" } } },
          { type = "commandExecution", id = "hc2", command = "make", status = "inProgress" },
        } },
      } })
      local text = ui.text(c.buf)
      expect.match(text, "## You\n\nwhy\n\n## Codex\n\n> _Reasoning_\nthinking\n\n%*%*%$ git status%*%*\n```\nclean\n")
      expect.match(text, "because\n\n## You\n\nagain\n\n## Codex\n\n%*%*%$ make%*%*")
      expect.eq(count(text, "## Codex"), 2)
      expect.match(text, "> %*%*Error:%*%* stored failure$", "#17: a stored failed turn keeps its error line")
      expect.eq(status_of(c, "^%*%*%$ make"), "✗ failed", "#16b: cut short by the failure, also in history")
    end)
  end)

  it("#15 a command shows its script, not the shell wrapper", function()
    local c = event_chat()
    local cmd = "/bin/bash -c 'echo demo-ok && ls -la'"
    feed(c, "t1", {
      started({ type = "commandExecution", id = "c1", command = cmd, status = "inProgress" }),
      completed({ type = "commandExecution", id = "c1", command = cmd, status = "completed", exitCode = 0, aggregatedOutput = "demo-ok\n" }),
    })
    expect.match(ui.text(c.buf), "\n%*%*%$ echo demo%-ok && ls %-la%*%*\n```\ndemo%-ok\n")
  end)

  describe("#16 item states", function()
    it("a command waiting for approval says so (host.item_state), then runs and completes", function()
      local c = event_chat()
      local host = c.approval_host
      expect.eq(type(host.item_state), "function")
      host.item_state("c-early", "approval") -- the prompt came before item/started
      feed(c, "t1", {
        started({ type = "commandExecution", id = "c1", command = "make", status = "inProgress" }),
        started({ type = "commandExecution", id = "c-early", command = "ls", status = "inProgress" }),
      })
      expect.eq(status_of(c, "^%*%*%$ make"), "… running")
      expect.eq(status_of(c, "^%*%*%$ ls"), "… waiting for approval", "a state that came early")
      host.item_state("c1", "approval")
      expect.eq(status_of(c, "^%*%*%$ make"), "… waiting for approval")
      host.item_state("c1", nil)
      expect.eq(status_of(c, "^%*%*%$ make"), "… running", "answered: running")
      feed(c, "t1", { completed({ type = "commandExecution", id = "c1", command = "make", status = "completed", exitCode = 0, aggregatedOutput = "ok" }) })
      expect.eq(status_of(c, "^%*%*%$ make"), "✓ exit 0")
      host.item_state("c1", "approval") -- late word on a completed item: no change
      expect.eq(status_of(c, "^%*%*%$ make"), "✓ exit 0")
      feed(c, "t1", { ended("t1", "completed") })
    end)

    it("an interrupted turn cancels what still waits or runs; a failed one fails it", function()
      local c = event_chat()
      local change = { { path = "a.txt", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-a\n+b\n" } }
      feed(c, "t1", {
        started({ type = "fileChange", id = "f1", changes = change, status = "inProgress" }),
        started({ type = "commandExecution", id = "c1", command = "seq 3", status = "inProgress" }),
        delta("c1", "1\n2\n"),
        ended("t1", "interrupted"),
      })
      local text = ui.text(c.buf)
      expect.eq(status_of(c, "^%*%*✎ update a%.txt"), "✗ cancelled")
      expect.eq(status_of(c, "^%*%*%$ seq 3"), "✗ cancelled")
      expect.match(text, "%*%*%$ seq 3%*%*\n```\n1\n2\n\n```\n", "the output's fence is closed")
      expect.match(text, "_— interrupted_$")
      feed(c, "t2", {
        started({ type = "commandExecution", id = "c2", command = "make", status = "inProgress" }),
        { method = "turn/completed", params = { turn = { id = "t2", status = "failed", error = { message = "boom" } } } },
      })
      expect.eq(status_of(c, "^%*%*%$ make"), "✗ failed")
    end)

    it("every file of a patch gets the status", function()
      local c = event_chat()
      local changes = {
        { path = "big.lua", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-a\n+b\n" },
        { path = "main.lua", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-c\n+d\n" },
        { path = "extra.txt", kind = { type = "add" }, diff = "new\n" },
      }
      feed(c, "t1", { started({ type = "fileChange", id = "f1", changes = changes, status = "inProgress" }) })
      for _, f in ipairs({ "update big%.lua", "update main%.lua", "add extra%.txt" }) do
        expect.eq(status_of(c, "^%*%*✎ " .. f), "… waiting", f)
      end
      c.approval_host.item_state("f1", "approval")
      for _, f in ipairs({ "update big%.lua", "update main%.lua", "add extra%.txt" }) do
        expect.eq(status_of(c, "^%*%*✎ " .. f), "… waiting for approval", f)
      end
      feed(c, "t1", { completed({ type = "fileChange", id = "f1", changes = changes, status = "completed" }), ended("t1", "completed") })
      for _, f in ipairs({ "update big%.lua", "update main%.lua", "add extra%.txt" }) do
        expect.eq(status_of(c, "^%*%*✎ " .. f), "✓ applied", f)
      end
      expect.match(ui.text(c.buf), "%*%*✎ update big%.lua%*%*\n```diff\n@@ %-1 %+1 @@\n%-a\n%+b\n```\n\n%*%*✎ update main%.lua%*%*\n```diff\n")
    end)

    it("a declined command shows no empty code block", function()
      local c = event_chat()
      feed(c, "t1", {
        started({ type = "commandExecution", id = "c1", command = "rm -rf build", status = "inProgress" }),
        completed({ type = "commandExecution", id = "c1", command = "rm -rf build", status = "declined" }),
        ended("t1", "completed"),
      })
      local text = ui.text(c.buf)
      expect.eq(status_of(c, "^%*%*%$ rm %-rf build"), "✗ declined")
      expect.falsy(text:find("```", 1, true), "no fence: " .. text)
    end)
  end)

  describe("#17 a failed turn", function()
    for _, word in ipairs({ "[[fail500]]", "[[failed]]" }) do
      it("gets a footer after its error line: " .. word, function()
        local c = ui.new_chat()
        c:send(word)
        ui.wait_idle(c, 60000)
        local text = ui.text(c.buf)
        expect.match(text, "> %*%*Error:%*%* [^\n]+\n\n_— failed[^\n]*_$")
      end)
    end
  end)
  describe("#27 the footer", function()
    it("has one blank line above it, also after an answer that ends with a newline", function()
      local c = event_chat()
      local msg = { id = "m-nl", type = "agentMessage", text = "" }
      feed(c, "t-nl", {
        started(msg),
        { method = "item/agentMessage/delta", params = { itemId = "m-nl", delta = "```lua\nx = 1\n```\n" } },
        completed({ id = "m-nl", type = "agentMessage", text = "```lua\nx = 1\n```\n" }),
        ended("t-nl", "completed"),
      })
      local text = ui.text(c.buf)
      expect.match(text, "```\n\n_— done[^\n]*_$", "one blank line before the footer:\n" .. text)
      expect.falsy(text:find("\n\n\n_— done", 1, true), "not two:\n" .. text)
    end)
  end)
  describe("a turn whose app-server dies", function()
    it("ends failed, with the reason and a footer, and the chat is idle again", function()
      local c = ui.new_chat()
      c:send("[[slow]] die")
      ui.wait_text(c.buf, "one ")
      local client = require("codex.session").client()
      finally(function()
        require("codex.session").reset()
        env.setup()
      end)
      local pid = client:status().pid
      expect.truthy(pid, "the app-server's pid")
      vim.loop.kill(pid, 9)
      ui.wait_idle(c)
      local text = ui.text(c.buf)
      expect.match(text, "> %*%*Error:%*%* the turn ended with the app%-server: [^\n]+\n\n_— failed[^\n]*_$", text)
    end)
  end)
end)
