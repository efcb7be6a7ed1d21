-- A turn's changes (issue 10 §1): the footer's "N files changed, +A −R", :Codex diff (a diff
-- buffer with a fold per file), :Codex changes (a quickfix entry per hunk) and <CR>/gf on a
-- file change in the chat. Multi-file turns are fed to a chat as the server's events; a real
-- one runs on the real app-server and the mock model ([[patch]]); a resumed chat gets its
-- diff from the stored turn's file changes.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local api = vim.api
local function keys(s) api.nvim_feedkeys(api.nvim_replace_termcodes(s, true, false, true), "x", false) end

local diff_view = require("codex.ui.diff_view")
local items = require("codex.ui.chat_items")

-- A turn's aggregated diff: a.lua (two hunks), new.txt added, gone.txt deleted.
local DIFF = table.concat({
  "diff --git a/a.lua b/a.lua", "index 1..2 100644", "--- a/a.lua", "+++ b/a.lua",
  "@@ -1,3 +1,4 @@ local M = {}", " l1", " l2", "-l3", "+L3", "+L3b",
  "@@ -10,3 +11,2 @@ function M.foo()", " l10", "-l11", "-l12", "+L12",
  "diff --git a/new.txt b/new.txt", "new file mode 100644", "--- /dev/null", "+++ b/new.txt",
  "@@ -0,0 +1,2 @@", "+n1", "+n2",
  "diff --git a/gone.txt b/gone.txt", "deleted file mode 100644", "--- a/gone.txt", "+++ /dev/null",
  "@@ -1 +0,0 @@", "-bye", "",
}, "\n")

describe("a turn's changes: pure parts", function()
  it("one entry per hunk at its first changed line, with its counts and header", function()
    local e = diff_view.hunks(DIFF)
    expect.same(e, {
      { path = "a.lua", lnum = 3, text = "+2 −1 @@ local M = {}" },
      { path = "a.lua", lnum = 12, text = "+1 −2 @@ function M.foo()" },
      { path = "new.txt", lnum = 1, text = "+2 −0 (new file)" },
      { path = "gone.txt", lnum = 1, text = "+0 −1 (deleted)" },
    })
    expect.eq(diff_view.summary(DIFF), "3 files changed, +5 −4")
    expect.eq(diff_view.summary(""), nil, "an empty diff changes nothing")
  end)

  it("the footer says what the turn changed, live and stored", function()
    local s = "2 files changed, +3 −1"
    expect.same(items.end_lines({ status = "completed", durationMs = 1500 }, 10, s),
      { "", "_— done · 1.5 s · 10 tokens · 2 files changed, +3 −1_" })
    expect.same(items.end_lines({ status = "interrupted" }, nil, s), { "", "_— interrupted · 2 files changed, +3 −1_" })
    expect.same(items.end_lines({ status = "completed" }), { "", "_— done_" }, "no summary: as before")
    expect.same(items.stored_end_lines({ status = "completed" }, s), { "", "_— 2 files changed, +3 −1_" })
    expect.same(items.stored_end_lines({ status = "completed" }), {})
    expect.same(items.stored_end_lines({ status = "failed", error = { message = "x" } }, s),
      { "", "> **Error:** x", "", "_— 2 files changed, +3 −1_" })
  end)

  it("a stored turn's diff comes from its applied file changes, paths under the chat's directory", function()
    local d = diff_view.stored_diff({
      { type = "userMessage", content = {} },
      { type = "fileChange", status = "completed", changes = {
        { path = "/w/src/a.lua", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-x\n+y\n" },
        { path = "/w/b.txt", kind = { type = "add" }, diff = "b1\nb2\n" } } },
      { type = "fileChange", status = "declined", changes = {
        { path = "/w/no.txt", kind = { type = "add" }, diff = "no\n" } } },
    }, "/w")
    expect.eq(diff_view.summary(d), "2 files changed, +3 −1")
    expect.same(diff_view.hunks(d), {
      { path = "src/a.lua", lnum = 1, text = "+1 −1" },
      { path = "b.txt", lnum = 1, text = "+2 −0 (new file)" },
    })
    expect.eq(diff_view.stored_diff({ { type = "agentMessage", text = "hi" } }, "/w"), nil)
  end)

  it("the line a row of the diff buffer is on", function()
    local lines = vim.split(DIFF, "\n", { plain = true })
    local function at(pat)
      for i, l in ipairs(lines) do if l == pat then return i end end
      error(pat)
    end
    expect.same({ diff_view.target_at(lines, 1) }, { "a.lua", 3 }, "a file's header: its first change")
    expect.same({ diff_view.target_at(lines, at("+L3b")) }, { "a.lua", 4 })
    expect.same({ diff_view.target_at(lines, at("-l12")) }, { "a.lua", 12 })
    expect.same({ diff_view.target_at(lines, at("@@ -10,3 +11,2 @@ function M.foo()")) }, { "a.lua", 12 })
    expect.same({ diff_view.target_at(lines, at("+n2")) }, { "new.txt", 2 })
  end)
end)

describe("a turn's changes in a chat", function()
  local env = ui.env()
  teardown(env.close)
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    pcall(vim.cmd, "silent! tabonly")
    vim.fn.setqflist({}, "r")
    pcall(vim.cmd, "cclose")
  end)
  local chat_mod = require("codex.ui.chat")
  ui.fail_on_reported_errors()

  -- A directory with the turn's files as they are after it.
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  local a = {}
  for i = 1, 20 do a[i] = "line " .. i end
  vim.fn.writefile(a, dir .. "/a.lua")
  vim.fn.writefile({ "n1", "n2" }, dir .. "/new.txt")
  teardown(function() vim.fn.delete(dir, "rf") end)

  local n = 0
  local function event_chat()
    n = n + 1
    local c = chat_mod.open({ thread = { id = "thr-diffview-" .. n }, cwd = dir })
    return c
  end
  local function feed(c, turn, events)
    for _, e in ipairs(events) do
      e.params.turnId = e.params.turnId or turn
      c:on_event(e)
    end
    c.renderer:flush()
  end
  local CHANGES = {
    { path = dir .. "/a.lua", kind = { type = "update" }, diff = table.concat({
      "@@ -1,3 +1,4 @@", " line 1", " line 2", "-l3", "+line 3", "+line 4",
      "@@ -10,3 +11,2 @@", " line 11", "-l11", "-l12", "+line 12", "" }, "\n") },
    { path = dir .. "/new.txt", kind = { type = "add" }, diff = "n1\nn2\n" },
  }
  local function file_turn(c, turn, with_diff)
    local it = { type = "fileChange", id = "fc-" .. turn, status = "completed", changes = CHANGES }
    local evs = {
      { method = "item/started", params = { item = vim.tbl_extend("force", it, { status = "inProgress" }) } },
      { method = "item/completed", params = { item = it } },
    }
    if with_diff then evs[#evs + 1] = { method = "turn/diff/updated", params = { diff = DIFF } } end
    evs[#evs + 1] = { method = "turn/completed", params = { turn = { id = turn, status = "completed", durationMs = 100 } } }
    feed(c, turn, evs)
  end
  local function row_of(c, pat, nth)
    nth = nth or 1
    for i, l in ipairs(api.nvim_buf_get_lines(c.buf, 0, -1, false)) do
      if l:find(pat) then
        nth = nth - 1
        if nth == 0 then return i end
      end
    end
    error("no line " .. pat .. " in:\n" .. ui.text(c.buf), 2)
  end

  it("the footer of a turn that changed files says how many and how much", function()
    local c = event_chat()
    file_turn(c, "t1", true)
    expect.match(ui.text(c.buf), "\n_— done · 0%.1 s · 3 files changed, %+5 −4_$")
    feed(c, "t2", { { method = "turn/completed", params = { turn = { id = "t2", status = "completed", durationMs = 100 } } } })
    expect.match(ui.text(c.buf), "\n_— done · 0%.1 s_$", "a turn that changed nothing: no summary")
  end)

  it(":Codex diff opens the last turn's diff: filetype diff, a fold per file naming it with its +/−", function()
    local c = event_chat()
    file_turn(c, "t1", true)
    feed(c, "t2", { { method = "turn/completed", params = { turn = { id = "t2", status = "completed" } } } })
    vim.cmd("Codex diff")
    local buf = api.nvim_get_current_buf()
    expect.eq(api.nvim_buf_get_name(buf), "codex://diff/" .. c.thread_id)
    expect.eq(vim.bo[buf].filetype, "diff")
    expect.eq(vim.bo[buf].syntax, "diff")
    expect.eq(vim.bo[buf].buftype, "nofile")
    expect.eq(vim.bo[buf].modifiable, false)
    expect.eq(ui.text(buf), (DIFF:gsub("\n$", "")))
    expect.eq(vim.fn.tabpagenr("$"), 2, "in a tab of its own")
    -- three files: three closed folds, each one's text its file and counts
    local folds = {}
    for lnum = 1, api.nvim_buf_line_count(buf) do
      if vim.fn.foldclosed(lnum) == lnum then folds[#folds + 1] = vim.fn.foldtextresult(lnum) end
    end
    expect.same(folds, { "a.lua  +3 −3", "new.txt  +2 −0", "gone.txt  +0 −1" })
    expect.eq(vim.fn.foldclosedend(1), 15, "a.lua's fold ends before the next file")
    -- again: the same buffer and window, not another tab
    vim.cmd("Codex diff")
    expect.eq(api.nvim_get_current_buf(), buf)
    expect.eq(vim.fn.tabpagenr("$"), 2)
    -- <CR> in it opens the file at the line under the cursor
    vim.cmd("normal! zR")
    api.nvim_win_set_cursor(0, { 10, 0 }) -- "+L3b": a.lua's new line 4
    keys("<CR>")
    expect.eq(api.nvim_buf_get_name(0), dir .. "/a.lua")
    expect.eq(api.nvim_win_get_cursor(0)[1], 4)
  end)

  it(":Codex diff without a turn that changed files says so", function()
    local c = event_chat()
    feed(c, "t1", { { method = "turn/completed", params = { turn = { id = "t1", status = "completed" } } } })
    local notes = require("lib.env").capture_notify({ quiet = true })
    vim.cmd("Codex diff")
    notes.restore()
    expect.match(notes.text(), "no turn of this chat changed files")
    expect.eq(vim.fn.tabpagenr("$"), 1)
  end)

  it(":Codex changes fills the quickfix list with one entry per hunk", function()
    local c = event_chat()
    file_turn(c, "t1", true)
    vim.cmd("Codex changes")
    local qf = vim.fn.getqflist({ title = 0, items = 0 })
    expect.eq(qf.title, "Codex changes")
    local got = {}
    for _, e in ipairs(qf.items) do
      got[#got + 1] = { vim.fn.bufname(e.bufnr), e.lnum, e.text }
    end
    expect.same(got, {
      { dir .. "/a.lua", 3, "+2 −1 @@ local M = {}" },
      { dir .. "/a.lua", 12, "+1 −2 @@ function M.foo()" },
      { dir .. "/new.txt", 1, "+2 −0 (new file)" },
      { dir .. "/gone.txt", 1, "+0 −1 (deleted)" },
    })
    expect.eq(vim.bo.buftype, "quickfix", "the list is open")
  end)

  it("<CR> and gf on a file change open the file at its first hunk, or at the line under the cursor", function()
    local c = event_chat()
    file_turn(c, "t1", false)
    local function go(key, row)
      api.nvim_set_current_win(c.win)
      api.nvim_win_set_cursor(c.win, { row, 0 })
      keys(key)
      return api.nvim_buf_get_name(0), api.nvim_win_get_cursor(0)[1]
    end
    local hdr = row_of(c, "^%*%*✎ update .*a%.lua%*%*$")
    local name, lnum = go("<CR>", hdr)
    expect.eq(name, dir .. "/a.lua")
    expect.eq(lnum, 3, "the first hunk's first change")
    expect.truthy(c:visible(), "the chat stays")
    name, lnum = go("gf", row_of(c, "^%+line 4$"))
    expect.eq(name, dir .. "/a.lua")
    expect.eq(lnum, 4, "the line under the cursor")
    _, lnum = go("gf", row_of(c, "^%-l12$"))
    expect.eq(lnum, 12)
    name, lnum = go("<CR>", row_of(c, "^%*%*✎ add .*new%.txt%*%*$"))
    expect.eq(name, dir .. "/new.txt")
    expect.eq(lnum, 1)
    -- elsewhere <CR> moves down as it does by default
    api.nvim_set_current_win(c.win)
    local before = vim.fn.bufnr("%")
    api.nvim_win_set_cursor(c.win, { 1, 0 })
    keys("<CR>")
    expect.eq(vim.fn.bufnr("%"), before)
  end)

  it("a resumed chat: the stored turn's file changes give its footer and :Codex diff", function()
    n = n + 1
    local turn = { id = "st1", status = "completed", items = {
      { type = "userMessage", id = "u1", content = { { type = "text", text = "change it" } } },
      { type = "fileChange", id = "fc1", status = "completed", changes = CHANGES },
    } }
    local c = chat_mod.open({ thread = { id = "thr-diffview-stored-" .. n }, turns = { turn }, cwd = dir })
    c.renderer:flush()
    expect.match(ui.text(c.buf), "\n_— 2 files changed, %+5 −3_$")
    vim.cmd("Codex changes")
    local got = {}
    for _, e in ipairs(vim.fn.getqflist()) do got[#got + 1] = { vim.fn.bufname(e.bufnr), e.lnum } end
    expect.same(got, { { dir .. "/a.lua", 3 }, { dir .. "/a.lua", 12 }, { dir .. "/new.txt", 1 } })
    -- the file links work in a stored turn too
    api.nvim_set_current_win(c.win)
    api.nvim_win_set_cursor(c.win, { row_of(c, "^%*%*✎ update .*a%.lua%*%*$"), 0 })
    keys("gf")
    expect.eq(api.nvim_buf_get_name(0), dir .. "/a.lua")
  end)
end)

describe("a turn's changes from the real app-server", function()
  local env = ui.env()
  teardown(env.close)
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    pcall(vim.cmd, "silent! tabonly")
  end)
  env.setup({ auto_approve = { file_changes = true } })

  it("turn/diff/updated drives the footer, :Codex diff and :Codex changes", function()
    local c = ui.new_chat()
    os.remove(env.workspace .. "/diffed.txt")
    c:send("[[patch]] diffed.txt")
    ui.wait_idle(c)
    expect.match(ui.text(c.buf), "· 1 file changed, %+1 −0_$")
    vim.cmd("Codex changes")
    local qf = vim.fn.getqflist()
    expect.eq(#qf, 1)
    expect.eq(vim.fn.fnamemodify(vim.fn.bufname(qf[1].bufnr), ":p"), env.workspace .. "/diffed.txt")
    expect.eq(qf[1].lnum, 1)
    expect.eq(qf[1].text, "+1 −0 (new file)")
    vim.cmd("cclose")
    vim.cmd("Codex diff")
    expect.eq(vim.bo.filetype, "diff")
    expect.match(ui.text(0), "%+hello from apply_patch")
  end)
end)
