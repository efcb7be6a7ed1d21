-- codex.ui.markdown: the chat's highlight spans, line by line, from a carried fence state. Pure:
-- runs under Lua 5.4 as inside Neovim.
local md = require("codex.ui.markdown")

-- "text:group" for each highlight span of a line (the spanned text, so failures read as the
-- line); concealed markers are hidden()'s.
local function spans(line, state)
  local out = {}
  local s, st, ev = md.line(line, state)
  for _, x in ipairs(s) do
    if x[3] then out[#out + 1] = line:sub(x[1] + 1, x[2]) .. ":" .. x[3] end
  end
  return out, st, ev
end

-- "text" (hidden) or "text>c" (drawn as c) for each concealed range of a line, and
-- "text=overlay" for text drawn over it.
local function hidden(line, state)
  local out = {}
  for _, x in ipairs((md.line(line, state))) do
    local text = line:sub(x[1] + 1, x[2])
    if x[4] then out[#out + 1] = x[4] == "" and text or text .. ">" .. x[4] end
    if x[5] then out[#out + 1] = text .. "=" .. x[5] end
  end
  return out
end

local function run(lines)
  local all, state, closed = md.lines(lines)
  local out = {}
  for _, x in ipairs(all) do
    if x[4] then out[#out + 1] = ("%d:%s:%s"):format(x[1], lines[x[1] + 1]:sub(x[2] + 1, x[3]), x[4]) end
  end
  return out, state, closed
end

describe("codex.ui.markdown", function()
  it("headings: the whole line, ## and # apart from ### and deeper", function()
    expect.same(spans("## Codex"), { "## Codex:CodexHeading" })
    expect.same(spans("# Title"), { "# Title:CodexHeading" })
    expect.same(spans("### Steps"), { "### Steps:CodexSubheading" })
    expect.same(spans("#hashtag"), {}, "no space: not a heading")
    expect.same(spans("####### seven"), {}, "seven #: not a heading")
  end)

  it("bold, emphasis and inline code; snake_case and lone stars stay plain", function()
    expect.same(spans("Some **bold** text and `inline code`."), { "**bold**:CodexBold", "`inline code`:CodexCode" })
    expect.same(spans("an _em_ and *it* word"), { "_em_:CodexItalic", "*it*:CodexItalic" })
    expect.same(spans("call snake_case_name now"), {})
    expect.same(spans("2 * 3 * 4"), {})
    expect.same(spans("**$ rg `x` src**"), { "**$ rg `x` src**:CodexBold", "`x`:CodexCode" }, "code inside bold")
    expect.same(spans("`**not bold**`"), { "`**not bold**`:CodexCode" }, "no emphasis inside code")
    expect.same(spans("a ``co`de`` b"), { "``co`de``:CodexCode" }, "a double-backtick span holds a backtick")
    expect.same(spans("an `unclosed tick"), {})
  end)

  it("quotes, list bullets, task boxes, links and the turn's footer", function()
    expect.same(spans("> **Error:** boom"), { "> **Error:** boom:CodexQuote", "> :CodexQuoteMarker", "**Error:**:CodexBold" })
    expect.same(spans("- first item"), { "-:CodexListMarker" })
    expect.same(spans("  12. twelfth"), { "12.:CodexListMarker" })
    expect.same(spans("- [x] done"), { "-:CodexListMarker", "[x]:CodexTaskDone" })
    expect.same(spans("- [ ] todo"), { "-:CodexListMarker", "[ ]:CodexTask" })
    expect.same(spans("-not a bullet"), {})
    expect.same(spans("see [docs](https://x.y/z) now"), { "docs:CodexLink", "https://x.y/z:CodexUrl" })
    expect.same(spans("_— done · 1.2 s · 30 tokens_"), { "_— done · 1.2 s · 30 tokens_:CodexFooter" })
  end)

  it("fences: the delimiters, plain code inside, the state carried and the closed block reported", function()
    local out, state, closed = run({ "text", "```lua", "local x = `y` -- **no**", "# not a heading", "```", "**after**" })
    expect.same(out, { "1:```lua:CodexFence", "4:```:CodexFence", "5:**after**:CodexBold" })
    expect.eq(state.fence, nil, "outside after the close")
    expect.same(closed, { { open = 1, close = 4, lang = "lua" } })
  end)

  it("a fence carried into the next call (a command's header opens it, its output follows)", function()
    local _, state, closed = run({ "**$ ls**", "```" })
    expect.truthy(state.fence, "inside after the header")
    expect.same(closed, {})
    local out, state2, closed2 = md.lines({ "- out", "```" }, state)
    expect.eq(#out, 2, "only the closing fence is highlighted (and concealed)")
    expect.eq(out[1][1], 1)
    expect.eq(out[2][1], 1)
    expect.eq(state2.fence, nil)
    expect.same(closed2, { { open = nil, close = 1, lang = "" } }, "opened before these lines")
  end)

  it("a fence closes only with its own marker, at least as long; ~~~ fences too", function()
    local _, st = md.line("````md")
    local _, st2, ev = md.line("```", st)
    expect.eq(ev, nil, "``` does not close ````")
    expect.truthy(st2.fence)
    local _, st3, ev3 = md.line("````", st2)
    expect.eq(ev3, "close")
    expect.eq(st3.fence, nil)
    local _, t = md.line("~~~ python")
    expect.eq(t.fence.lang, "python")
    expect.eq(select(3, md.line("~~~", t)), "close")
    expect.eq(select(3, md.line("```", t)), nil, "``` inside ~~~ is code")
  end)

  it("diff fences: hunks, files, added and removed lines; context stays plain", function()
    local out = run({ "```diff", "diff --git a/x b/x", "--- a/x", "+++ b/x", "@@ -1,2 +1,2 @@", "-old", "+new", " same", "```" })
    expect.same(out, { "0:```diff:CodexFence", "1:diff --git a/x b/x:CodexDiffFile", "2:--- a/x:CodexDiffFile",
      "3:+++ b/x:CodexDiffFile", "4:@@ -1,2 +1,2 @@:CodexDiffHunk", "5:-old:CodexDiffDelete", "6:+new:CodexDiffAdd",
      "8:```:CodexFence" })
  end)

  it("conceals the markers of bold, emphasis, inline code, fences, quotes and the footer (#11)", function()
    expect.same(hidden("Some **bold** text and `inline code`."), { "**", "**", "`", "`" })
    expect.same(hidden("an _em_ and *it* word"), { "_", "_", "*", "*" })
    expect.same(hidden("a ``co`de`` b"), { "``", "``" }, "the whole backtick run")
    expect.same(hidden("call snake_case_name now, 2 * 3, an `unclosed tick"), {}, "nothing that is not a marker")
    expect.same(hidden("```lua"), { "```" }, "the info word stays as a label")
    expect.same(hidden("  ``` python"), { "  ``` " })
    local _, st = md.line("```lua")
    expect.same(hidden("```", st), { "```" }, "a closing fence is hidden whole")
    expect.same(hidden("local s = **x** `y`", st), {}, "nothing inside code")
    expect.same(hidden("> _Reasoning_"), { ">>▎", "_", "_" })
    expect.same(hidden(">> deep"), { ">>▎", ">>▎" })
    expect.same(hidden("_— done · 1.2 s_"), { "_", "_" })
    expect.same(hidden("## Heading"), {}, "a heading keeps its #: it is not a role header")
  end)

  it("tables: pipes dim and drawn as box lines, the delimiter row drawn as a rule (#11)", function()
    expect.same(spans("| file | **risk** |"), { "|:CodexTablePipe", "|:CodexTablePipe", "|:CodexTablePipe", "**risk**:CodexBold" })
    expect.same(hidden("| file | **risk** |"), { "|>│", "|>│", "|>│", "**", "**" })
    expect.same(hidden("|---|:--:|"), { "|---|:--:|=├───┼────┤" }, "same width as the row")
    expect.same(spans("|---|:--:|"), { "|---|:--:|:CodexTableRule" })
    expect.same(hidden("  | a \\| b |"), { "|>│", "|>│" }, "an escaped pipe is text")
    expect.same(spans("a | b"), {}, "a pipe inside prose is not a table")
  end)

  it("never changes the state it was given, and skips inline spans of very long lines", function()
    local st = md.START
    local _, st2 = md.line("```lua", st)
    expect.eq(st.fence, nil, "START untouched")
    md.line("```", st2)
    expect.truthy(st2.fence, "the fence state untouched by its close")
    local long = ("**b** "):rep(md.INLINE_MAX)
    expect.same(spans(long), {})
  end)
end)
