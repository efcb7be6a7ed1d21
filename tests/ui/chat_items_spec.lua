-- codex.ui.chat_items: protocol items and turns → the chat's markdown lines and status chunks.
-- Pure: runs under Lua 5.4 as inside Neovim.
local items = require("codex.ui.chat_items")

-- The decoder's null: vim.NIL in Neovim, codex.core.null under plain Lua (both userdata;
-- any userdata where the C core is not built for this Lua, e.g. a bare LuaJIT).
local null = type(vim) == "table" and vim.NIL
  or (function() local ok, core = pcall(require, "codex.core") return ok and core.null or io.stdout end)()

describe("codex.ui.chat_items", function()
  it("a user message is plain lines under ## You, with its text (for the echo check)", function()
    local o = items.open({ type = "userMessage", content = { { type = "text", text = "hi\nthere" } } })
    expect.same(o.lines, { "", "## You", "", "hi", "there" })
    expect.truthy(o.plain)
    expect.eq(o.text, "hi\nthere")
    expect.same(items.close({ type = "userMessage" }), {})
  end)

  it("an agent message: ## Codex before it when it is the turn's first; completes with its text when nothing streamed", function()
    local o = items.open({ type = "agentMessage" }, { first_in_turn = true })
    expect.same(o.before, { "", "## Codex" })
    expect.same(o.lines, { "" })
    expect.eq(items.open({ type = "agentMessage" }, {}).before, nil)
    local c = items.close({ type = "agentMessage", text = "answer" }, { empty = true })
    expect.same(c.append, { "answer" })
    expect.truthy(c.flush)
    expect.eq(items.close({ type = "agentMessage", text = "answer" }, { empty = false }).append, nil, "streamed: nothing more")
  end)

  it("reasoning folds shut; its summary parts join with blank lines", function()
    expect.same(items.open({ type = "reasoning" }).lines, { "", "> _Reasoning_" })
    local c = items.close({ type = "reasoning", summary = { "one", { text = "two" }, 3 } }, { empty = true })
    expect.same(c.append, { "one\n\ntwo" })
    expect.eq(c.fold, 0)
  end)

  it("a command: its line in bold and the status; its output in a fence that opens with the output", function()
    local o = items.open({ type = "commandExecution", command = { "ls", "-la\nx" }, status = "inProgress" })
    expect.same(o.lines, { "", "**$ ls -la x**" })
    expect.same(o.virt, { { "… running", "Comment" } })
    expect.eq(items.stream_prefix("commandExecution"), "```\n", "streamed output opens the fence")
    expect.eq(items.stream_prefix("agentMessage"), "")
    local c = items.close({ type = "commandExecution", status = "completed", exitCode = 0, durationMs = 12, aggregatedOutput = "out" },
      { empty = true, fold_output_lines = 20 })
    expect.same(c.append, { "```\nout", "\n```" })
    expect.same(items.close({ type = "commandExecution", status = "completed", aggregatedOutput = "out" }, { empty = false }).append,
      { "\n```" }, "streamed: the fence is open, close it")
    expect.same(c.status, { { "✓ exit 0 · 12 ms", "DiagnosticOk" } })
    expect.eq(c.fold, 20)
    expect.same(items.close({ type = "commandExecution", status = "failed", exitCode = 2 }, {}).status, { { "✗ failed exit 2", "DiagnosticError" } })
    expect.same(items.close({ type = "commandExecution", status = "declined" }, {}).status, { { "✗ declined", "DiagnosticWarn" } })
    expect.same(items.open({ type = "commandExecution", command = null }).lines[2], "**$ **", "a null command")
  end)

  it("a declined command that printed nothing has no code block", function()
    for _, out in ipairs({ null, "" }) do
      local c = items.close({ type = "commandExecution", status = "declined", aggregatedOutput = out }, { empty = true })
      expect.same(c.append, {})
      expect.same(c.status, { { "✗ declined", "DiagnosticWarn" } })
    end
  end)

  it("a command shows the script, not its shell wrapper", function()
    expect.eq(items.open({ type = "commandExecution", command = "/bin/bash -c 'echo demo-ok && ls -la'" }).lines[2],
      "**$ echo demo-ok && ls -la**")
    expect.eq(items.open({ type = "commandExecution", command = { "/bin/zsh", "-lc", "make\ntest" } }).lines[2],
      "**$ make test**", "an argv list; on one line")
    expect.eq(items.open({ type = "commandExecution", command = "bash -lc 'a' && b" }).lines[2], "**$ bash -lc 'a' && b**")
  end)

  it("the ## Codex header goes before the turn's first item of the agent's, whatever its type", function()
    for _, t in ipairs({ "reasoning", "commandExecution", "fileChange", "plan", "contextCompaction", "webSearch" }) do
      expect.same(items.open({ type = t }, { first_in_turn = true }).before, { "", "## Codex" }, t)
      expect.eq(items.open({ type = t }, {}).before, nil, t)
    end
    expect.eq(items.open({ type = "userMessage", content = {} }, { first_in_turn = true }).before, nil, "never for the user's")
    expect.falsy(items.is_agent({ type = "userMessage" }))
    expect.truthy(items.is_agent({ type = "reasoning" }))
    expect.truthy(items.is_agent({ type = null }))
  end)

  it("pending states: waiting for approval, back to running; cut short by the turn's end", function()
    expect.same(items.pending_status("commandExecution", "approval"), { { "… waiting for approval", "DiagnosticWarn" } })
    expect.same(items.pending_status("fileChange", "approval"), { { "… waiting for approval", "DiagnosticWarn" } })
    expect.same(items.pending_status("commandExecution", nil), { { "… running", "Comment" } })
    expect.same(items.pending_status("fileChange", nil), { { "… applying", "Comment" } })
    expect.eq(items.pending_status("agentMessage", "approval"), nil, "no status to change")
    local c = items.abandon("commandExecution", "interrupted", { empty = false })
    expect.same(c.append, { "\n```" }, "the output's open fence is closed")
    expect.same(c.status, { { "✗ cancelled", "DiagnosticWarn" } })
    c = items.abandon("commandExecution", "failed", { empty = true })
    expect.eq(c.append, nil, "no output: no fence to close")
    expect.same(c.status, { { "✗ failed", "DiagnosticError" } })
    expect.same(items.abandon("fileChange", "interrupted", {}).status, { { "✗ cancelled", "DiagnosticWarn" } })
    expect.same(items.abandon("agentMessage", "interrupted", {}), {})
    expect.eq(items.abandoned_status("fileChange", "completed"), nil)
    expect.truthy(items.unfinished({ status = "inProgress" }))
    expect.falsy(items.unfinished({ status = "completed" }))
    expect.falsy(items.unfinished({ status = null }))
  end)

  it("a file change: a header and a diff fence per file; added files as + lines", function()
    local o = items.open({ type = "fileChange", changes = {
      { path = "/w/a.lua", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-a\n+b\n" },
      { path = "/w/n.txt", kind = "add", diff = "x\ny\n" },
    } }, { display_path = function(p) return (p:gsub("^/w/", "")) end })
    expect.same(o.lines, { "", "**✎ update a.lua**", "```diff", "@@ -1 +1 @@", "-a", "+b", "```",
      "", "**✎ add n.txt**", "```diff", "+x", "+y", "```" })
    expect.same(o.parts, { { "", "**✎ update a.lua**", "```diff", "@@ -1 +1 @@", "-a", "+b", "```" },
      { "**✎ add n.txt**", "```diff", "+x", "+y", "```" } }, "a block per file: each header gets the status")
    expect.same(o.virt, { { "… waiting", "Comment" } })
    expect.falsy(o.later)
    expect.eq(items.open({ type = "fileChange", changes = { { path = "p", diff = "d" } } }).parts, nil, "one file: one block")
    expect.same(items.close({ type = "fileChange", status = "completed" }, {}).status, { { "✓ applied", "DiagnosticOk" } })
    expect.same(items.close({ type = "fileChange", status = "bad\nthing" }, {}).status, { { "✗ bad thing", "DiagnosticError" } })
    expect.same(items.close({ type = "fileChange" }, {}).status, {})
  end)

  it("a file change whose files come with item/completed only", function()
    local o = items.open({ type = "fileChange", changes = null })
    expect.same(o.lines, { "", "**✎ file change**" })
    expect.truthy(o.later)
    local c = items.close({ type = "fileChange", status = "declined", changes = { { path = "p", diff = "d" } } }, { later = true })
    expect.same(c.append, { "**✎ change p**\n```diff\nd\n```" })
    expect.truthy(c.later_done)
    expect.same(c.status, { { "✗ declined", "DiagnosticWarn" } })
    expect.falsy(items.close({ type = "fileChange", changes = {} }, { later = true }).later_done, "still none: still later")
  end)

  it("plan, context compaction and unknown types", function()
    expect.same(items.open({ type = "plan" }).lines, { "", "**Plan**" })
    expect.same(items.close({ type = "plan", text = "do it" }, { empty = true }).append, { "do it" })
    local cc = items.open({ type = "contextCompaction" })
    expect.same(cc.lines, { "", "_(context compacted)_" })
    expect.truthy(cc.plain)
    expect.same(items.open({ type = "futureThing" }).lines, { "", "**⚙ futureThing**" })
    expect.same(items.open({ type = null }).lines, { "", "**⚙ item**" })
    expect.same(items.close({ type = "futureThing", status = "done" }, { empty = true }).status, { { "done", "Comment" } })
    expect.eq(items.close({ type = "futureThing" }, { empty = true }).status, nil)
  end)

  it("a new item type is one entry of ITEMS", function()
    items.ITEMS.testItem = { open = function(it) return { lines = { "", "T " .. it.x } } end }
    finally(function() items.ITEMS.testItem = nil end)
    expect.same(items.open({ type = "testItem", x = "1" }).lines, { "", "T 1" })
    expect.same(items.close({ type = "testItem" }), {})
  end)

  it("turn ends: failed and interrupted the same live and from history; done with time and tokens", function()
    local failed = { status = "failed", error = { message = "boom\nbad" } }
    expect.eq(items.outcome_line(failed), "> **Error:** boom bad")
    expect.same(items.end_lines({ status = "failed", error = { message = "boom" }, durationMs = 3100 }, 5),
      { "", "> **Error:** boom", "", "_— failed · 3.1 s · 5 tokens_" }, "a failed turn: the error, then a footer")
    expect.same(items.end_lines({ status = "failed", error = null }), { "", "> **Error:** the turn failed", "", "_— failed_" })
    expect.eq(items.outcome_line({ status = "failed", error = null }), "> **Error:** the turn failed")
    expect.eq(items.outcome_line({ status = "interrupted" }), "_— interrupted_")
    expect.same(items.end_lines({ status = "interrupted" }), { "", "_— interrupted_" })
    expect.eq(items.outcome_line({ status = "completed" }), nil, "a completed stored turn writes no line")
    expect.same(items.end_lines({ status = "completed", durationMs = 1500 }, 1234), { "", "_— done · 1.5 s · 1234 tokens_" })
    expect.same(items.end_lines({ status = "completed" }), { "", "_— done_" })
    expect.eq(items.footer({ status = "failed", durationMs = 3100 }), "_— failed · 3.1 s_")
  end)

  it("user echo, plan updates, retry notices", function()
    expect.same(items.user_lines("a\nb"), { "", "## You", "", "a", "b" })
    expect.same(items.user_lines("s", "steer"), { "", "## You (steering)", "", "s" })
    expect.same(items.user_lines("q", "queued"), { "", "## You (queued)", "", "q" })
    expect.same(items.plan_lines({ explanation = "why", plan = {
      { step = "one", status = "completed" }, { step = "two", status = "inProgress" }, { step = "three" }, { step = null },
    } }), { "why", "- [x] one", "- [~] two", "- [ ] three" })
    expect.same(items.plan_lines({ plan = null }), { "" })
    expect.eq(items.retry_line({ message = "overloaded" }), "> _overloaded (transient, retrying)_")
    expect.eq(items.retry_line(null), "> _retrying (transient, retrying)_")
  end)
end)

-- Every ThreadItem type of app-server 0.171.0, from schema-shaped payloads (the shapes of
-- lua/codex/types/protocol.lua), as the chat writes it: the header lines, then the body (what
-- open.body and close.append put into the block), and the status chunks.
describe("codex.ui.chat_items: every item type readable", function()
  --- The block's text as the chat writes it: header lines, then the body text; and the
  --- open/close results. started and completed: the item/started and item/completed payloads.
  local function render(started, completed, ctx)
    ctx = ctx or {}
    local o = items.open(started, ctx)
    local body = o.body or ""
    local c = items.close(completed or started, { empty = body == "", fold_output_lines = 12,
      display_path = ctx.display_path, cwd = ctx.cwd })
    for _, t in ipairs(c.append or {}) do body = body .. t end
    return { text = table.concat(o.lines, "\n") .. "\n" .. body, open = o, close = c, body = body }
  end
  local function status_text(chunks)
    local t = {}
    for _, ch in ipairs(chunks or {}) do t[#t + 1] = ch[1] end
    return table.concat(t)
  end

  it("mcpToolCall: server.tool, arguments, result text, duration; the error; long results fold", function()
    local started = { type = "mcpToolCall", id = "mcp-1", server = "github", tool = "search_issues", status = "inProgress",
      arguments = { query = "is:open label:bug", limit = 5, filters = { state = "open" } } }
    local done = { type = "mcpToolCall", id = "mcp-1", server = "github", tool = "search_issues", status = "completed",
      arguments = started.arguments, durationMs = 420, error = null,
      result = { content = { { type = "text", text = "#12 crash on start\n#15 wrong colour" } }, structuredContent = null } }
    local r = render(started, done)
    expect.eq(r.text, table.concat({ "", "**⚙ github.search_issues**",
      "filters.state: open", "limit: 5", "query: is:open label:bug",
      "```", "#12 crash on start", "#15 wrong colour", "```" }, "\n"))
    expect.eq(status_text(r.open.virt), "… running")
    expect.eq(status_text(r.close.status), "✓ done · 420 ms")
    expect.eq(r.close.fold, 12, "a long body folds")
    local failed = render(started, { type = "mcpToolCall", server = "github", tool = "search_issues", status = "failed",
      arguments = {}, durationMs = 1500, result = null, error = { message = "rate limited\nretry later" } })
    expect.match(failed.text, "\n> %*%*Error:%*%* rate limited retry later$")
    expect.eq(status_text(failed.close.status), "✗ failed · 1.5 s")
    local structured = render({ type = "mcpToolCall", server = "db", tool = "count", status = "completed",
      result = { content = {}, structuredContent = { rows = 3 } } })
    expect.match(structured.text, "%*%*⚙ db%.count%*%*\n```\nrows: 3\n```")
    local image = render({ type = "mcpToolCall", server = "s", tool = "shot", status = "completed",
      result = { content = { { type = "image", data = "iVBORw0KGgo=", mimeType = "image/png" } } } })
    expect.match(image.text, "%[image image/png%]")
    expect.falsy(image.text:find("iVBOR", 1, true), "never the image's bytes")
  end)

  it("dynamicToolCall: namespace.tool, arguments, its output; success false is a failure", function()
    local r = render({ type = "dynamicToolCall", id = "d1", namespace = "editor", tool = "open_file", status = "inProgress",
      arguments = { path = "a.lua" } },
      { type = "dynamicToolCall", id = "d1", namespace = "editor", tool = "open_file", status = "completed", success = false,
        durationMs = 3, arguments = { path = "a.lua" }, contentItems = { { type = "inputText", text = "no such file" } } })
    expect.eq(r.text, "\n**⚙ editor.open_file**\npath: a.lua\n```\nno such file\n```")
    expect.eq(status_text(r.close.status), "✗ failed · 3 ms")
    expect.eq(status_text(items.close({ type = "dynamicToolCall", tool = "t", status = "completed", success = true }, {}).status), "✓ done")
  end)

  it("webSearch: the query, the page it opened or searched in, results", function()
    local r = render({ type = "webSearch", id = "ws", query = "" },
      { type = "webSearch", id = "ws", query = "neovim extmarks", action = { type = "search", query = "neovim extmarks",
        queries = { "neovim extmarks", "nvim_buf_set_extmark" } } })
    expect.eq(r.text, "\n**⚙ web search**\nquery: neovim extmarks\nalso searched 'nvim_buf_set_extmark'")
    expect.eq(status_text(r.open.virt), "… searching")
    expect.eq(status_text(r.close.status), "✓ done")
    local page = render({ type = "webSearch", query = "docs", action = { type = "openPage", url = "https://neovim.io/doc" },
      results = { { title = "Neovim docs", url = "https://neovim.io/doc" } } })
    expect.eq(page.text, "\n**⚙ web search**\nquery: docs\nopened https://neovim.io/doc\n- Neovim docs (https://neovim.io/doc)")
    local find = render({ type = "webSearch", query = "", action = { type = "findInPage", url = "https://x.org", pattern = "api" } })
    expect.eq(find.body, "searched 'api' in https://x.org")
  end)

  it("collabAgentToolCall: which call, its prompt, the agents and their states; links to their threads", function()
    local started = { type = "collabAgentToolCall", id = "c1", tool = "spawnAgent", status = "inProgress",
      senderThreadId = "thr-main", receiverThreadIds = {}, agentsStates = {}, prompt = "Find the tests\nthat are slow",
      model = "gpt-5", reasoningEffort = "high" }
    local done = { type = "collabAgentToolCall", id = "c1", tool = "spawnAgent", status = "completed",
      senderThreadId = "thr-main", receiverThreadIds = { "thr-sub-1" }, prompt = started.prompt,
      agentsStates = { ["thr-sub-1"] = { status = "running", message = null } } }
    local r = render(started, done)
    expect.eq(r.text, "\n**⤷ spawn agent (gpt-5 high)**\n> Find the tests\n> that are slow\n- agent thr-sub-1: running")
    expect.eq(r.open.links, nil, "no receiver yet")
    expect.same(r.close.links, { "thr-sub-1" })
    expect.eq(status_text(r.close.status), "✓ done")
    local wait = render({ type = "collabAgentToolCall", tool = "wait", status = "completed", receiverThreadIds = { "a", "b" },
      agentsStates = { a = { status = "completed", message = "found 3" }, b = { status = "errored", message = "crashed" },
        c = { status = "shutdown" } } })
    expect.eq(wait.text, "\n**⤷ wait for agents**\n- agent a: completed — found 3\n- agent b: errored — crashed\n- agent c: shutdown")
    expect.same(wait.open.links, { "a", "b", "c" })
    expect.eq(status_text(items.close({ type = "collabAgentToolCall", status = "interrupted" }, {}).status), "✗ interrupted")
  end)

  it("subAgentActivity: which agent, what happened; links to its thread", function()
    local o = items.open({ type = "subAgentActivity", id = "s1", agentPath = "explorer", agentThreadId = "thr-sub-2",
      kind = "started", model = "gpt-5-mini" })
    expect.same(o.lines, { "", "**⤷ agent explorer started (gpt-5-mini)**" })
    expect.same(o.links, { "thr-sub-2" })
    expect.falsy(o.plain, "a block: <CR> finds it")
  end)

  it("imageView and imageGeneration: the path; the revised prompt and where it was saved, never the image", function()
    local v = items.open({ type = "imageView", id = "iv", path = "/w/shot.png" }, { display_path = function(p) return (p:gsub("^/w/", "")) end })
    expect.same(v.lines, { "", "**⚙ view image** shot.png" })
    local g = render({ type = "imageGeneration", id = "ig", status = "generating", result = "" },
      { type = "imageGeneration", id = "ig", status = "completed", result = "iVBORw0KGgoAAAANSUhEUg==",
        revisedPrompt = "a red fox, watercolour", savedPath = "/w/fox.png" })
    expect.eq(g.text, "\n**⚙ generate image**\nprompt: a red fox, watercolour\nsaved: /w/fox.png")
    expect.falsy(g.text:find("iVBOR", 1, true))
    expect.eq(status_text(g.open.virt), "generating")
    expect.eq(status_text(g.close.status), "✓ done")
    local f = render({ type = "imageGeneration", status = "failed", fileId = "f1",
      failure = { type = "usageLimitExceeded", limitId = "images", resetsAt = 1700000000 } })
    expect.match(f.text, "> %*%*Error:%*%* usage limit reached %(images%)")
    expect.eq(status_text(f.close.status), "✗ failed")
  end)

  it("hookPrompt, functionCallOutput, sleep", function()
    local h = render({ type = "hookPrompt", id = "h", fragments = { { hookRunId = "r1", text = "Run the linter first." },
      { hookRunId = "r2", text = "Keep it short." } } })
    expect.eq(h.text, "\n**⚙ hook prompt**\nRun the linter first.\n\nKeep it short.")
    local fo = render({ type = "functionCallOutput", id = "fo", name = "shell", namespace = null,
      output = { { type = "input_text", text = "ok" }, { type = "input_image", image_url = "data:image/png;base64,AAAA" } } })
    expect.eq(fo.text, "\n**⚙ output of shell**\n```\nok\n[input_image image/png]\n```")
    expect.eq(render({ type = "functionCallOutput", name = "f", output = "plain text" }).body, "```\nplain text\n```")
    local sl = render({ type = "sleep", id = "z", durationMs = 5000 })
    expect.eq(sl.text, "\n**⚙ sleep 5.0 s**\n")
    expect.eq(status_text(sl.open.virt), "… sleeping")
  end)

  it("enteredReviewMode and exitedReviewMode: what is reviewed; the review as markdown", function()
    local e = items.open({ type = "enteredReviewMode", id = "r", review = "current changes" })
    expect.same(e.lines, { "", "**⚙ review: current changes**" })
    expect.truthy(e.plain)
    local x = render({ type = "exitedReviewMode", id = "r", review = "## Findings\n\n- **P1** `a.lua:3` leaks a handle" })
    expect.eq(x.text, "\n**⚙ review done**\n## Findings\n\n- **P1** `a.lua:3` leaks a handle")
    expect.eq(x.close.fold, nil, "the review is not folded")
    local late = render({ type = "exitedReviewMode", review = "" }, { type = "exitedReviewMode", review = "all good" })
    expect.eq(late.body, "all good", "the review that comes with item/completed")
  end)

  it("agentMessage phases: commentary has a dim label, the final answer none", function()
    local o = items.open({ type = "agentMessage", id = "m", text = "", phase = "commentary" })
    expect.same(o.virt, { { "(commentary)", "Comment" } })
    expect.same(items.close({ type = "agentMessage", text = "x", phase = "commentary" }, { empty = false }).status, { { "(commentary)", "Comment" } })
    expect.eq(items.open({ type = "agentMessage", phase = "final_answer" }).virt, nil)
    expect.eq(items.close({ type = "agentMessage", text = "x", phase = "final_answer" }, {}).status, nil)
    expect.eq(items.open({ type = "agentMessage", phase = null }).virt, nil)
  end)

  it("userMessage attachments: images, mentions, skills listed under the text", function()
    local o = items.open({ type = "userMessage", id = "u", content = {
      { type = "text", text = "look at these", text_elements = {} },
      { type = "localImage", path = "/w/shot.png" }, { type = "image", url = "https://x.org/a.png" },
      { type = "mention", name = "app", path = "app://github" }, { type = "skill", name = "pdf", path = "/w/skills/pdf/SKILL.md" },
      { type = "localAudio", path = "/w/note.wav" }, { type = "image", fileId = "file-1" } } },
      { display_path = function(p) return (p:gsub("^/w/", "")) end })
    expect.same(o.lines, { "", "## You", "", "look at these", "- image: shot.png", "- image: https://x.org/a.png",
      "- mention: app (app://github)", "- skill: pdf (skills/pdf/SKILL.md)", "- audio: note.wav", "- image: file-1" })
    expect.eq(o.text, "look at these", "the echo check compares the text")
    expect.same(items.open({ type = "userMessage", content = { { type = "localImage", path = "p.png" } } }).lines,
      { "", "## You", "", "- image: p.png" }, "only an image: no empty text line")
  end)

  it("commandExecution: read/search/list actions shown as such; the cwd when it is not the chat's", function()
    local cmd = { type = "commandExecution", id = "x", command = "/bin/bash -lc 'cat a.lua && rg -n foo src && ls lib'",
      cwd = "/w", status = "inProgress", commandActions = {
        { type = "read", command = "cat a.lua", name = "a.lua", path = "/w/a.lua" },
        { type = "search", command = "rg -n foo src", query = "foo", path = "src" },
        { type = "listFiles", command = "ls lib", path = "lib" }, { type = "unknown", command = "make" } } }
    local ctx = { cwd = "/w", display_path = function(p) return (p:gsub("^/w/", "")) end }
    expect.same(items.open(cmd, ctx).lines, { "", "**$ cat a.lua && rg -n foo src && ls lib**",
      "↳ read a.lua, search 'foo' in src, list lib" })
    cmd.cwd = "/elsewhere/sub"
    expect.eq(items.open(cmd, ctx).lines[3], "↳ read a.lua, search 'foo' in src, list lib, in /elsewhere/sub")
    expect.same(items.open({ type = "commandExecution", command = "make", cwd = "/w/", commandActions = { { type = "unknown" } } }, ctx).lines,
      { "", "**$ make**" }, "nothing to say: no line")
    expect.eq(items.open({ type = "commandExecution", command = "ls", cwd = "/w", commandActions = { { type = "listFiles", path = null } } },
      ctx).lines[3], "↳ list files")
  end)

  it("fileChange: a rename shows both names", function()
    local o = items.open({ type = "fileChange", id = "f", status = "inProgress", changes = {
      { path = "/w/old.lua", kind = { type = "update", move_path = "/w/new.lua" }, diff = "@@ -1 +1 @@\n-a\n+b\n" },
      { path = "/w/x.lua", kind = { type = "update", move_path = "/w/y.lua" }, diff = "" } } },
      { display_path = function(p) return (p:gsub("^/w/", "")) end })
    expect.same(o.lines, { "", "**✎ rename old.lua → new.lua**", "```diff", "@@ -1 +1 @@", "-a", "+b", "```",
      "", "**✎ rename x.lua → y.lua**" })
  end)

  it("an unknown type: its name and a folded summary of its fields, never JSON", function()
    local r = render({ type = "holoDeck", id = "h1", status = "inProgress" }, { type = "holoDeck", id = "h1", status = "completed",
      program = "ocean", scene = { depth = 30, fish = { "cod", "eel" } }, notes = ("x"):rep(300), empty = {}, gone = null })
    expect.eq(r.open.lines[2], "**⚙ holoDeck**")
    local lines = {}
    for l in (r.body .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
    expect.same(lines, { "empty: (none)", "gone: null", "notes: " .. ("x"):rep(160) .. "…", "program: ocean", "scene.depth: 30",
      "scene.fish[1]: cod", "scene.fish[2]: eel" })
    expect.eq(r.close.fold, 0, "folded")
    expect.falsy(r.body:find("[{}\"]"), "no JSON punctuation")
    expect.eq(status_text(r.close.status), "completed")
  end)

  it("progress: an MCP tool's message and a terminal's input as the status; a revised patch's files", function()
    expect.same(items.progress("item/mcpToolCall/progress", { itemId = "m", message = "fetched 3 of 10" }).status,
      { { "… fetched 3 of 10", "Comment" } })
    expect.same(items.progress("item/commandExecution/terminalInteraction", { itemId = "c", processId = "p", stdin = "y\n" }).status,
      { { "… running · sent y", "Comment" } })
    expect.eq(items.progress("item/commandExecution/terminalInteraction", { itemId = "c", stdin = "" }), nil, "a poll: nothing typed")
    local ch = { { path = "a", kind = { type = "add" }, diff = "x" } }
    expect.same(items.progress("item/fileChange/patchUpdated", { itemId = "f", changes = ch }).changes, ch)
    expect.eq(items.progress("item/fileChange/patchUpdated", { itemId = "f", changes = null }), nil)
    expect.eq(items.progress("item/mcpToolCall/progress", { message = null }), nil)
  end)

  it("every type survives nulls and missing fields", function()
    local types = { "userMessage", "hookPrompt", "agentMessage", "functionCallOutput", "plan", "reasoning", "commandExecution",
      "fileChange", "mcpToolCall", "dynamicToolCall", "collabAgentToolCall", "subAgentActivity", "webSearch", "imageView",
      "sleep", "imageGeneration", "enteredReviewMode", "exitedReviewMode", "contextCompaction", "somethingNew" }
    local keys = { "id", "text", "phase", "content", "command", "cwd", "commandActions", "changes", "server", "tool", "arguments",
      "result", "error", "durationMs", "status", "namespace", "contentItems", "success", "prompt", "receiverThreadIds",
      "agentsStates", "agentPath", "agentThreadId", "kind", "model", "query", "action", "results", "path", "revisedPrompt",
      "savedPath", "failure", "fragments", "name", "output", "review", "summary", "reasoningEffort" }
    for _, t in ipairs(types) do
      local nulls = { type = t }
      for _, k in ipairs(keys) do nulls[k] = null end
      local odd = { type = t }
      for _, k in ipairs(keys) do odd[k] = 7 end
      for _, it in ipairs({ { type = t }, nulls, odd }) do
        for _, empty in ipairs({ true, false }) do
          local o = items.open(it, { cwd = "/w", display_path = function(p) return p end })
          expect.truthy(type(o.lines) == "table" and #o.lines > 0, t)
          local c = items.close(it, { empty = empty, later = true, fold_output_lines = 12 })
          expect.truthy(type(c) == "table", t)
        end
      end
    end
  end)
end)
