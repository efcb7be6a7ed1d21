-- The chat's markdown highlighting: extmarks the renderer sets as it writes (codex.ui.highlight),
-- the same on 0.7, 0.10 and 0.12; never tree-sitter or a syntax file over the chat buffer
-- (issue 8: either costs O(buffer) per redraw). A lua fence gets the lua parser's colours once
-- it is complete, where Neovim has that parser (0.10 and 0.12 bundle it). An answer from the
-- mock ([[markdown]]: a heading, bold, inline code, a list, a ```lua fence) in a real chat.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local api = vim.api

local v = vim.version()
local version = ("%d.%d"):format(v.major, v.minor)
local dump = require("lib.runner").dump

-- Row (0-based) and column of the first line that contains text, at the text.
local function find(buf, text)
  for i, l in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local col = l:find(text, 1, true)
    if col then return i - 1, col - 1 end
  end
  error(("no line with %q in the chat:\n%s"):format(text, ui.text(buf)), 2)
end

-- Row (0-based) of the last line that contains text.
local function find_last(buf, text)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  for i = #lines, 1, -1 do
    if lines[i]:find(text, 1, true) then return i - 1 end
  end
  error(("no line with %q in the chat"):format(text), 2)
end

local function hl_ns() return api.nvim_get_namespaces().codex_chat_hl end

-- The highlight groups of the plugin's extmarks that cover (row, col).
local function groups_at(buf, row, col)
  local out = {}
  local ns = hl_ns()
  if not ns then return out end
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
    local d = m[4]
    local sr, sc, er, ec = m[2], m[3], d.end_row or m[2], d.end_col or m[3]
    if d.hl_group and (row > sr or row == sr and col >= sc) and (row < er or row == er and col < ec) then
      out[#out + 1] = d.hl_group
    end
  end
  return out
end

local function has(list, x)
  for _, y in ipairs(list) do if y == x then return true end end
  return false
end

local function has_prefix(list, p)
  for _, y in ipairs(list) do if y:sub(1, #p) == p then return true end end
  return false
end

local function groups_of(buf, text, off)
  local r, col = find(buf, text)
  return groups_at(buf, r, col + (off or 0))
end

local function mark_count(buf)
  return #api.nvim_buf_get_extmarks(buf, hl_ns(), 0, -1, {})
end

-- Does this Neovim have a lua parser the chat may use (0.10, 0.12: bundled)?
local function has_lua_parser()
  if vim.fn.has("nvim-0.8") == 0 then return false end
  local L = vim.treesitter.language
  if L and L.add then
    local ok, r = pcall(L.add, "lua")
    return ok and r ~= false and #api.nvim_get_runtime_file("parser/lua.so", false) > 0
  end
  return (pcall(vim.treesitter.require_language, "lua", nil, true))
end

describe("chat markdown highlighting (Neovim " .. version .. ")", function()
  local env = ui.env()
  teardown(env.close)
  before_each(ui.settle_chats)
  after_each(ui.settle_chats)
  -- As in a user's Neovim (the suites run with -u NONE, which leaves syntax off): the chat
  -- must not get a syntax file even so.
  if vim.g.syntax_on == nil then
    vim.cmd("syntax on")
    teardown(function() vim.cmd("syntax off") end)
  end

  -- A chat with the mock's markdown answer, shown.
  local function markdown_chat()
    local c = ui.new_chat()
    c:send("[[markdown]]")
    ui.wait_text(c.buf, "```\n")
    ui.wait_idle(c)
    expect.truthy(c:visible(), "the chat is shown")
    return c
  end

  it("highlights a real chat with its own extmarks: headings, bold, inline code, list, fence, footer", function()
    local c = markdown_chat()
    local want = {
      { "## Codex", 3, "CodexAgentHeader" },
      { "## You", 3, "CodexUserHeader" },
      { "# Mock heading", 2, "CodexHeading" },
      { "**bold**", 2, "CodexBold" },
      { "`inline code`", 1, "CodexCode" },
      { "- first item", 0, "CodexListMarker" },
      { "```lua", 0, "CodexFence" },
      { "_— done", 2, "CodexFooter" },
    }
    for _, w in ipairs(want) do
      local got = groups_of(c.buf, w[1], w[2])
      expect.truthy(has(got, w[3]), ("%q is %s: got %s"):format(w[1], w[3], dump(got)))
    end
    local got = groups_of(c.buf, "Some **bold**")
    expect.eq(#got, 0, "plain text has no highlight: " .. dump(got))
    got = groups_of(c.buf, "first item")
    expect.falsy(has(got, "CodexListMarker"), "the list item's text is not a marker")
    -- Every group is defined (links that exist on every version).
    for _, g in ipairs({ "CodexHeading", "CodexBold", "CodexCode", "CodexFence", "CodexListMarker", "CodexFooter",
      "CodexDiffAdd", "CodexDiffDelete", "CodexDiffHunk", "CodexQuote" }) do
      expect.eq(vim.fn.hlexists(g), 1, g .. " is defined")
    end
  end)

  it("draws the chat with neither tree-sitter nor a syntax file (issue 8)", function()
    local c = markdown_chat()
    local okh, TSH = pcall(require, "vim.treesitter.highlighter")
    expect.falsy(okh and TSH.active and TSH.active[c.buf], "a tree-sitter highlighter on the chat buffer")
    expect.eq(vim.bo[c.buf].filetype, "codex")
    local cur = api.nvim_buf_call(c.buf, function() return vim.b.current_syntax end)
    expect.eq(cur, nil, "b:current_syntax of the chat buffer")
    local r, col = find(c.buf, "# Mock heading")
    local stack = api.nvim_win_call(c.win, function() return vim.fn.synstack(r + 1, col + 3) end)
    expect.eq(#stack, 0, "syntax items at the heading")
    local items = api.nvim_buf_call(c.buf, function() return vim.fn.execute("syntax list") end)
    expect.match(items, "No Syntax items", "the chat buffer's syntax items")
  end)

  if has_lua_parser() then
    it("colours a complete lua fence with the lua parser (0.10+) once a window shows it, inside the block only", function()
      local hl = require("codex.ui.highlight")
      local blocks = hl.stats.blocks
      local c = markdown_chat()
      local got
      wait_for(function()
        vim.cmd("redraw") -- the block is coloured after the first redraw that shows it
        got = groups_of(c.buf, "local function greet")
        return has_prefix(got, "@keyword")
      end, 5000, function() return "`local` is a lua keyword: " .. dump(got) end)
      got = groups_of(c.buf, "print(greet")
      expect.truthy(has_prefix(got, "@function"), "print is a function: " .. dump(got))
      expect.eq(hl.stats.blocks - blocks, 1, "one code block parsed")
      got = groups_of(c.buf, "```lua")
      expect.falsy(has_prefix(got, "@"), "the fence line is not lua: " .. dump(got))
    end)

    it("parses no code block that no window shows (a resumed chat's history)", function()
      local hl = require("codex.ui.highlight")
      local c = markdown_chat()
      wait_for(function() vim.cmd("redraw") return has_prefix(groups_of(c.buf, "local function greet"), "@") end, 5000, "the shown block coloured")
      c:hide()
      local blocks = hl.stats.blocks
      c:send("[[markdown]]")
      ui.wait_idle(c)
      vim.cmd("redraw")
      ui.flush()
      expect.eq(hl.stats.blocks, blocks, "no parse while the chat is hidden")
      local r = find_last(c.buf, "local function greet")
      expect.falsy(has_prefix(groups_at(c.buf, r, 0), "@"), "the new block is plain so far")
      c:show()
      wait_for(function() vim.cmd("redraw") return has_prefix(groups_at(c.buf, r, 0), "@keyword") end, 5000, "the block coloured once shown")
      expect.eq(hl.stats.blocks, blocks + 1, "one parse")
    end)
  else
    it("colours a lua fence without a parser (0.7) by codex.ui.code_fallback once a window shows it", function()
      local c = markdown_chat()
      local got
      wait_for(function()
        vim.cmd("redraw")
        got = groups_of(c.buf, "local function greet")
        return has(got, "CodexCodeKeyword")
      end, 5000, function() return "`local` is a keyword: " .. dump(got) end)
      got = groups_of(c.buf, '"hello "', 1)
      expect.truthy(has(got, "CodexCodeString"), "a string: " .. dump(got))
      got = groups_of(c.buf, "```lua")
      expect.truthy(has(got, "CodexFence"), "the fence around it: " .. dump(got))
      expect.falsy(has(got, "CodexCodeKeyword"), "the fence line is not code: " .. dump(got))
    end)
  end

  it("colours diff fences of file changes, and leaves command output plain (inside the header's fence)", function()
    local c = ui.new_chat()
    local turn = "t-hl-diff"
    local changes = { { kind = "update", path = "a.lua", diff = "@@ -1,2 +1,2 @@\n-old line\n+new line\n context\n" } }
    c:on_event({ method = "item/started", params = { turnId = turn, item = { type = "fileChange", id = "fc1", changes = changes } } })
    c:on_event({ method = "item/completed", params = { turnId = turn, item = { type = "fileChange", id = "fc1", changes = changes, status = "completed" } } })
    c:on_event({ method = "item/started", params = { turnId = turn, item = { type = "commandExecution", id = "cmd1", command = "ls" } } })
    c:on_event({ method = "item/commandExecution/outputDelta", params = { itemId = "cmd1", delta = "- not a list\n# not a heading\n" } })
    c:on_event({ method = "item/commandExecution/outputDelta", params = { itemId = "cmd1", delta = "+ not added **x**" } })
    c:on_event({ method = "item/completed", params = { turnId = turn, item = { type = "commandExecution", id = "cmd1", command = "ls", status = "completed", exitCode = 0 } } })
    c.renderer:flush()
    local want = { { "@@ -1,2", "CodexDiffHunk" }, { "-old line", "CodexDiffDelete" }, { "+new line", "CodexDiffAdd" },
      { "```diff", "CodexFence" }, { "**$ ls**", "CodexBold" } }
    for _, w in ipairs(want) do
      local got = groups_of(c.buf, w[1], 1)
      expect.truthy(has(got, w[2]), ("%q is %s: got %s"):format(w[1], w[2], dump(got)))
    end
    expect.eq(#groups_of(c.buf, " context", 1), 0, "a context line is plain")
    for _, t in ipairs({ "- not a list", "# not a heading", "+ not added" }) do
      local got = groups_of(c.buf, t, 0)
      expect.eq(#got, 0, ("command output %q is plain: %s"):format(t, dump(got)))
    end
    local r = find(c.buf, "+ not added")
    local got = groups_at(c.buf, r + 1, 0)
    expect.truthy(has(got, "CodexFence"), "the output's closing fence: " .. dump(got))
  end)

  it("highlights a streamed delta's rows only: never a row before the block's last incomplete one", function()
    local hl = require("codex.ui.highlight")
    local c = ui.new_chat()
    c:send("[[markdown]]") -- some chat above the block
    ui.wait_idle(c)
    local calls = {}
    local orig = hl.update
    hl.update = function(buf, base, run, last, complete, lines)
      if buf == c.buf then calls[#calls + 1] = { from = base + run.done, to = base + last } end
      return orig(buf, base, run, last, complete, lines)
    end
    finally(function() hl.update = orig end)
    local turn = "t-hl-stream"
    c:on_event({ method = "item/started", params = { turnId = turn, item = { type = "agentMessage", id = "am1" } } })
    local r = c.renderer
    local body = r:body_range("am1")
    local before = mark_count(c.buf)
    calls = {}
    local rows = 0
    for i = 1, 20 do
      -- a line in two deltas, each flushed: the row is drawn while incomplete, then again once
      c:on_event({ method = "item/agentMessage/delta", params = { itemId = "am1", delta = ("line %d with **bold"):format(i) } })
      r:flush()
      c:on_event({ method = "item/agentMessage/delta", params = { itemId = "am1", delta = "** and `code`\n" } })
      r:flush()
      rows = rows + 1
    end
    expect.eq(#calls, 40, "one highlight call per flush of the block: " .. dump(calls))
    for k, call in ipairs(calls) do
      local _, last = r:body_range("am1")
      expect.truthy(call.from >= body, ("call %d starts in the block (%d >= %d)"):format(k, call.from, body))
      -- a flush's rows: from the row the previous one left incomplete to the new last row
      local prev_to = k > 1 and calls[k - 1].to or body
      expect.eq(call.from, prev_to, ("call %d starts at the previous call's incomplete row"):format(k))
      expect.truthy(call.to - call.from <= 1, ("call %d spans at most 2 rows: %s"):format(k, dump(call)))
      expect.truthy(call.to <= last, "within the body")
    end
    -- Each line: its bold and its code, once (the incomplete row's marks are replaced); their
    -- concealed markers are no marks but drawn by the conceal provider (issue 8: memory).
    expect.eq(mark_count(c.buf) - before, 2 * rows, "two marks per streamed line")
    local got = groups_of(c.buf, "line 7 with **bold", 13)
    expect.truthy(has(got, "CodexBold"), "a streamed line's bold: " .. dump(got))
    local row7 = find(c.buf, "line 7 with **bold")
    local hidden = {}
    for _, s in ipairs(require("codex.ui.highlight").conceal_spans(c.buf, row7) or {}) do
      if s[4] then hidden[#hidden + 1] = s[1] end
    end
    expect.same(hidden, { 12, 18, 25, 30 }, "its ** and backticks concealed where drawn")
    c:on_event({ method = "item/completed", params = { turnId = turn, item = { type = "agentMessage", id = "am1", text = "" } } })
    c:on_event({ method = "turn/completed", params = { turn = { id = turn, status = "completed" } } })
  end)

  it("re-highlights a replaced body (plan updates) without doubling marks", function()
    local c = ui.new_chat()
    local function plan(steps)
      c:on_event({ method = "turn/plan/updated", params = { turnId = "t-hl-plan", plan = steps } })
    end
    plan({ { step = "read the code", status = "inProgress" }, { step = "fix it", status = "pending" } })
    plan({ { step = "read the code", status = "completed" }, { step = "fix it", status = "inProgress" } })
    expect.truthy(has(groups_of(c.buf, "- [x] read", 2), "CodexTaskDone"), "[x] after the update")
    local r = find(c.buf, "- [x] read")
    local first = groups_at(c.buf, r, 0)
    expect.eq(#first, 1, "one list marker on the row, not one per update: " .. dump(first))
    expect.eq(#groups_at(c.buf, r, 3), 1, "one task box on the row: " .. dump(groups_at(c.buf, r, 3)))
  end)

  it("keeps the highlighting when the user wipes the chat buffer", function()
    local c = markdown_chat()
    local n = mark_count(c.buf)
    expect.truthy(n > 5, "marks before: " .. n)
    local old = c.buf
    vim.cmd("bwipeout! " .. old)
    wait_for(function() return c.buf ~= old and api.nvim_buf_is_loaded(c.buf) end, 5000, "the chat's new buffer")
    expect.eq(mark_count(c.buf), n, "marks in the new buffer")
    expect.truthy(has(groups_of(c.buf, "# Mock heading", 2), "CodexHeading"), "the heading again")
  end)
end)
