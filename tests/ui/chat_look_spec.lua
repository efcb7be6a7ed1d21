-- How the chat draws its transcript (issue 9: #11, #12, #14, #27): role headers unlike the
-- answer's headings, concealed markdown markers, table pipes, code coloured without a parser,
-- wrapped lines that continue, fold lines that say what they hide. All renderer-owned
-- extmarks and window-local options, read back here.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local api = vim.api
local dump = require("lib.runner").dump

local v = vim.version()
local version = ("%d.%d"):format(v.major, v.minor)

local function hl_ns() return api.nvim_get_namespaces().codex_chat_hl end

local function marks_on(buf, row)
  return api.nvim_buf_get_extmarks(buf, hl_ns(), { row, 0 }, { row, -1 }, { details = true })
end

-- Rows (0-based) of the lines equal to text.
local function rows_of(buf, text)
  local out = {}
  for i, l in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if l == text then out[#out + 1] = i - 1 end
  end
  if #out == 0 then error(("no line %q in the chat:\n%s"):format(text, ui.text(buf)), 2) end
  return out
end

local function row_with(buf, text)
  for i, l in ipairs(api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local col = l:find(text, 1, true)
    if col then return i - 1, col - 1 end
  end
  error(("no line with %q in the chat:\n%s"):format(text, ui.text(buf)), 2)
end

-- Before 0.10 a mark's details leave out what it conceals; ours that neither highlight nor
-- carry virtual text conceal (codex.ui.highlight sets no other kind).
local function is_conceal(d)
  if d.conceal ~= nil then return true end
  return vim.fn.has("nvim-0.10") == 0 and not d.hl_group and not d.virt_text and d.end_col ~= nil
end

-- The concealed column ranges of a row: {"s-e", …} (0-based, end exclusive): its marks (role
-- headers, table pipes) and what the conceal provider draws there (markdown markers).
local function concealed(buf, row)
  local out = {}
  for _, m in ipairs(marks_on(buf, row)) do
    if is_conceal(m[4]) then out[#out + 1] = ("%d-%d"):format(m[3], m[4].end_col) end
  end
  for _, s in ipairs(require("codex.ui.highlight").conceal_spans(buf, row) or {}) do
    if s[4] then out[#out + 1] = ("%d-%d"):format(s[1], s[2]) end
  end
  table.sort(out)
  return out
end

local function groups(buf, row)
  local out = {}
  for _, m in ipairs(marks_on(buf, row)) do
    if m[4].hl_group then out[#out + 1] = m[4].hl_group end
  end
  return out
end

local function has(list, x)
  for _, y in ipairs(list) do if y == x then return true end end
  return false
end

-- The group a highlight group finally resolves to (after its links).
local function resolved(g) return vim.fn.synIDattr(vim.fn.synIDtrans(vim.fn.hlID(g)), "name") end

describe("the chat's look (Neovim " .. version .. ")", function()
  local env = ui.env()
  teardown(env.close)
  before_each(ui.settle_chats)
  after_each(ui.settle_chats)

  local function markdown_chat()
    local c = ui.new_chat()
    c:send("[[markdown]]")
    ui.wait_text(c.buf, "```\n")
    ui.wait_idle(c)
    return c
  end

  -- A turn of scripted items (no server): an agent message with text.
  local function say(c, turn, id, text)
    c:on_event({ method = "item/started", params = { turnId = turn, item = { type = "agentMessage", id = id } } })
    c:on_event({ method = "item/agentMessage/delta", params = { itemId = id, delta = text } })
    c:on_event({ method = "item/completed", params = { turnId = turn, item = { type = "agentMessage", id = id, text = text } } })
    c.renderer:flush()
  end

  it("draws the renderer's role headers apart from the answer's headings (#12)", function()
    local c = markdown_chat()
    for text, group in pairs({ ["## You"] = "CodexUserHeader", ["## Codex"] = "CodexAgentHeader" }) do
      local row = rows_of(c.buf, text)[1]
      local ms = marks_on(c.buf, row)
      local label, rule
      for _, m in ipairs(ms) do
        if m[4].hl_group == group then label = m end
        if m[4].virt_text and m[4].virt_text_pos == "eol" then rule = m[4].virt_text[1] end
      end
      expect.truthy(label, ("%q has %s: %s"):format(text, group, dump(ms)))
      expect.falsy(has(groups(c.buf, row), "CodexHeading"), text .. " is not a heading")
      expect.truthy(rule and rule[1]:find("───", 1, true) and rule[2] == group, text .. " ends in a rule: " .. dump(rule))
      expect.same(concealed(c.buf, row), { "0-3" }, text .. ": its ## concealed")
    end
    local h = row_with(c.buf, "# Mock heading")
    expect.truthy(has(groups(c.buf, h), "CodexHeading"), "the answer's heading")
    expect.same(concealed(c.buf, h), {}, "the answer's heading keeps its #")
    -- the three groups look different by default
    local user, agent, heading = resolved("CodexUserHeader"), resolved("CodexAgentHeader"), resolved("CodexHeading")
    expect.truthy(user ~= agent and user ~= heading and agent ~= heading, ("user %s, agent %s, heading %s"):format(user, agent, heading))
  end)

  it("a user's message that says \"## Codex\" is not a role header (#12)", function()
    local c = ui.new_chat()
    c:send("look at this\n## Codex\n## You")
    ui.wait_idle(c)
    local lines = api.nvim_buf_get_lines(c.buf, 0, -1, false)
    local at
    for i, l in ipairs(lines) do
      if l == "look at this" then at = i end -- (1-based: the next row is 0-based at)
    end
    expect.truthy(at, "the message in the chat:\n" .. ui.text(c.buf))
    for _, row in ipairs({ at, at + 1 }) do
      local g = groups(c.buf, row)
      expect.falsy(has(g, "CodexAgentHeader") or has(g, "CodexUserHeader"), lines[row + 1] .. " in the message: " .. dump(g))
      expect.truthy(has(g, "CodexHeading"), lines[row + 1] .. " is a heading of the message: " .. dump(g))
    end
    -- the chat's own headers around it still are
    expect.truthy(has(groups(c.buf, rows_of(c.buf, "## You")[1]), "CodexUserHeader"))
    expect.truthy(has(groups(c.buf, rows_of(c.buf, "## Codex")[2]), "CodexAgentHeader"), "the answer's header")
  end)

  it("conceals bold, code, fence and footer markers; draws table pipes and rules (#11)", function()
    local c = markdown_chat()
    local r, col = row_with(c.buf, "**bold**")
    expect.truthy(has(concealed(c.buf, r), ("%d-%d"):format(col, col + 2)), "the opening **: " .. dump(concealed(c.buf, r)))
    r, col = row_with(c.buf, "`inline code`")
    expect.truthy(has(concealed(c.buf, r), ("%d-%d"):format(col, col + 1)), "the opening backtick")
    expect.same(concealed(c.buf, rows_of(c.buf, "```lua")[1]), { "0-3" }, "```lua shows lua")
    expect.same(concealed(c.buf, row_with(c.buf, "_— done")), { "0-1", (function()
      local l = api.nvim_buf_get_lines(c.buf, row_with(c.buf, "_— done"), row_with(c.buf, "_— done") + 1, false)[1]
      return ("%d-%d"):format(#l - 1, #l)
    end)() }, "the footer's underscores")
    say(c, "t-look-table", "tbl", "| file | risk |\n|---|---|\n| a.lua | low |\n")
    local row = rows_of(c.buf, "|---|---|")[1]
    local over
    for _, s in ipairs(require("codex.ui.highlight").conceal_spans(c.buf, row) or {}) do
      if s[5] then over = { s[5], s[3] } end
    end
    expect.same(over, { "├───┼───┤", "CodexTableRule" }, "the delimiter row drawn as a rule")
    -- Markers and overlays are drawn for the rows on screen, not kept (issue 8: memory).
    for _, m in ipairs(marks_on(c.buf, row)) do
      expect.falsy(m[4].virt_text_pos == "overlay", "no overlay mark kept")
    end
    local br = row_with(c.buf, "**bold**")
    for _, m in ipairs(marks_on(c.buf, br)) do
      expect.truthy(m[4].hl_group, "the bold row keeps its highlights only: " .. dump(m[4]))
    end
    row = rows_of(c.buf, "| a.lua | low |")[1]
    local pipes = {}
    for _, m in ipairs(marks_on(c.buf, row)) do
      if m[4].hl_group == "CodexTablePipe" then
        pipes[#pipes + 1] = m[3]
        -- (before 0.10 the details leave out the conceal)
        if vim.fn.has("nvim-0.10") == 1 then expect.eq(m[4].conceal, "│", "the pipe drawn as │") end
      end
    end
    table.sort(pipes)
    expect.same(pipes, { 0, 8, 14 }, "each pipe dim")
  end)

  it("conceals no markers inside code, nor in a block after one left open (issue 8)", function()
    local c = ui.new_chat()
    say(c, "t-look-code", "cd", "before\n```sh\necho **not bold** `x`\n> not a quote\n```\nafter **bold**\n")
    expect.same(concealed(c.buf, row_with(c.buf, "echo **not")), {}, "code keeps its ** and backticks")
    expect.same(concealed(c.buf, row_with(c.buf, "> not a quote")), {}, "code keeps its >")
    expect.same(concealed(c.buf, rows_of(c.buf, "```")[1]), { "0-3" }, "the closing fence concealed")
    local r, col = row_with(c.buf, "after **bold**")
    expect.truthy(has(concealed(c.buf, r), ("%d-%d"):format(col + 6, col + 8)), "after the block: " .. dump(concealed(c.buf, r)))
    -- an answer cut inside a fence: the next block is not code
    say(c, "t-look-open", "op", "```lua\nlocal s = '**x**'\n")
    expect.same(concealed(c.buf, row_with(c.buf, "local s = '**x**'")), {}, "the open block's code")
    say(c, "t-look-next", "nx", "next **bold**\n")
    r, col = row_with(c.buf, "next **bold**")
    expect.truthy(has(concealed(c.buf, r), ("%d-%d"):format(col + 5, col + 7)), "the next answer: " .. dump(concealed(c.buf, r)))
  end)

  it("colours code of a language Neovim has no parser for, once shown (#14)", function()
    local c = ui.new_chat()
    say(c, "t-look-rb", "rb", "```ruby\ndef greet(n) # hi\n  return \"x\" * 2\nend\n```\n")
    local r = row_with(c.buf, "def greet")
    local got
    wait_for(function()
      vim.cmd("redraw")
      got = groups(c.buf, r)
      return has(got, "CodexCodeKeyword")
    end, 5000, function() return "def is a keyword: " .. dump(got) end)
    expect.truthy(has(got, "CodexCodeComment"), "# hi: " .. dump(got))
    local g = groups(c.buf, r + 1)
    expect.truthy(has(g, "CodexCodeString") and has(g, "CodexCodeNumber"), dump(g))
  end)

  it("sets the chat window's conceal, wrapping and fold options, and only there (#11, #27)", function()
    local c = ui.new_chat()
    local wo = vim.wo[c.win]
    expect.eq(wo.conceallevel, 2)
    expect.eq(wo.concealcursor, "")
    expect.eq(wo.breakindent, true)
    expect.eq(wo.foldminlines, 0)
    expect.eq(api.nvim_win_get_option(c.win, "showbreak"), "↳ ")
    expect.eq(api.nvim_get_option("showbreak"), "", "the global showbreak")
    expect.eq(api.nvim_win_get_option(c.input_win, "showbreak"), "", "the input window's")
    expect.eq(vim.wo[c.input_win].conceallevel, 0, "the input window shows its markdown as typed")
  end)

  it("folds say what they hide: N lines of output (no fences), reasoning (N lines), even of one line (#27)", function()
    local c = ui.new_chat()
    local turn = "t-look-fold"
    local out = {}
    for i = 1, 40 do out[i] = tostring(i) end
    c:on_event({ method = "item/started", params = { turnId = turn, item = { type = "commandExecution", id = "seq", command = "seq 1 40" } } })
    c:on_event({ method = "item/commandExecution/outputDelta", params = { itemId = "seq", delta = table.concat(out, "\n") .. "\n" } })
    c:on_event({ method = "item/completed", params = { turnId = turn, item = { type = "commandExecution", id = "seq", command = "seq 1 40", status = "completed", exitCode = 0 } } })
    c:on_event({ method = "item/started", params = { turnId = turn, item = { type = "reasoning", id = "why" } } })
    c:on_event({ method = "item/completed", params = { turnId = turn, item = { type = "reasoning", id = "why", summary = { "thinking it over" } } } })
    c.renderer:flush()
    local first = c.renderer:body_range("seq")
    api.nvim_win_call(c.win, function()
      expect.truthy(vim.fn.foldclosed(first + 1) ~= -1, "the output is folded")
      expect.eq(vim.fn.foldtextresult(first + 1), "▸ 40 lines of output")
      local r = c.renderer:body_range("why")
      expect.eq(vim.fn.foldclosed(r + 1), r + 1, "a one-line reasoning is folded")
      expect.eq(vim.fn.foldtextresult(r + 1), "▸ reasoning (1 line)")
    end)
  end)

  it("keeps the role headers and concealed markers when the user wipes the chat buffer", function()
    local c = markdown_chat()
    local old = c.buf
    vim.cmd("bwipeout! " .. old)
    wait_for(function() return c.buf ~= old and api.nvim_buf_is_loaded(c.buf) end, 5000, "the chat's new buffer")
    local row = rows_of(c.buf, "## You")[1]
    expect.truthy(has(groups(c.buf, row), "CodexUserHeader"), "the user header: " .. dump(groups(c.buf, row)))
    expect.same(concealed(c.buf, row), { "0-3" }, "its ## concealed")
    local r, col = row_with(c.buf, "**bold**")
    expect.truthy(has(concealed(c.buf, r), ("%d-%d"):format(col, col + 2)), "bold's ** concealed: " .. dump(concealed(c.buf, r)))
  end)
end)

describe("the chat's highlight groups", function()
  it("are all listed in :help codex-highlights, and all default links", function()
    local hl = require("codex.ui.highlight")
    hl.init()
    local doc = table.concat(vim.fn.readfile(vim.fn.fnamemodify("doc/codex.txt", ":p")), "\n")
    local section = doc:match("%*codex%-highlights%*(.-)\n\n[^\n]*@capture")
    expect.truthy(section, "the |codex-highlights| table")
    for _, g in ipairs(hl.GROUPS) do
      expect.truthy(section:find("\n  " .. g .. " ", 1, true), g .. " in the table")
      expect.eq(vim.fn.hlexists(g), 1, g .. " is defined")
    end
    -- a colorscheme that sets a group wins over the plugin's default
    vim.cmd("highlight CodexUserHeader ctermfg=1 guifg=#ff0000")
    vim.cmd("doautocmd ColorScheme")
    expect.match(vim.fn.execute("highlight CodexUserHeader"), "ctermfg=1")
    vim.cmd("highlight clear CodexUserHeader")
    vim.cmd("doautocmd ColorScheme")
  end)
end)
