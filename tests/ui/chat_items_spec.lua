-- codex.ui.chat_items: protocol items and turns → the chat's markdown lines and status chunks.
-- Pure: runs under Lua 5.4 as inside Neovim.
local items = require("codex.ui.chat_items")

-- The decoder's null: vim.NIL in Neovim, codex.core.null under plain Lua (both userdata;
-- any userdata where the C core is not built for this Lua, e.g. a bare LuaJIT).
local null = type(vim) == "table" and vim.NIL
  or (function() local ok, core = pcall(require, "codex.core") return ok and core.null or io.stdout end)()

describe("codex.ui.chat_items", function()
  it("a user message is plain lines under ## You, with its text (for the echo check)", function()
    local o = items.open({ type = "userMessage", content = { { type = "text", text = "hi\nthere" }, { type = "image" } } })
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
    expect.same(items.open({ type = "webSearch" }).lines, { "", "**⚙ webSearch**" })
    expect.same(items.open({ type = null }).lines, { "", "**⚙ item**" })
    expect.same(items.close({ type = "webSearch", status = "done" }).status, { { "done", "Comment" } })
    expect.eq(items.close({ type = "webSearch" }).status, nil)
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
