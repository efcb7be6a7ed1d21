-- :Codex review in headless Neovim against the real app-server + the mock's reviewer
-- (tests/mock: findings at app.lua:2 [P1] and app.lua:3 [P2] of a git workspace with a
-- known change): the chat shows the review, the quickfix list and diagnostics point at the
-- file and line, the next review replaces them, and a review turn is not steered.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local fixture = require("lib.review")

describe(":Codex review", function()
  local env = ui.env()
  teardown(env.close)
  fixture.workspace(env.workspace)
  local rv = require("codex.ui.review")
  local file = env.workspace .. "/app.lua"
  local notes
  before_each(function()
    ui.settle_chats()
    notes = require("lib.env").capture_notify({ quiet = true })
  end)
  after_each(function()
    notes.restore()
    ui.settle_chats()
    rv.clear()
    vim.fn.setqflist({}, "f") -- (free the whole stack: each test starts without lists)
  end)

  --- Runs :Codex {args} and waits for the review's findings to be shown (its notification).
  local function review(args)
    notes.clear()
    vim.cmd("Codex review" .. (args and (" " .. args) or ""))
    wait_for(function() return notes.find("^Codex: review: ") end, 30000, "the review's notification")
    return require("codex.ui.chat").current()
  end

  local function qf_items()
    local q = vim.fn.getqflist({ title = 1, items = 1 })
    local out = {}
    for _, it in ipairs(q.items) do
      out[#out + 1] = { file = vim.api.nvim_buf_get_name(it.bufnr), lnum = it.lnum, text = it.text, type = it.type }
    end
    return q.title, out
  end

  it("shows the review in the chat and fills the quickfix list and diagnostics", function()
    vim.cmd("edit " .. vim.fn.fnameescape(file))
    local buf = vim.api.nvim_get_current_buf()
    local c = review()
    ui.wait_idle(c)
    ui.wait_text(c.buf, "Mock review: 2 findings%.")
    ui.wait_text(c.buf, "Mock finding 1 in app%.lua")
    expect.truthy(notes.find("2 findings in the quickfix list"), notes.text())
    local title, items = qf_items()
    expect.eq(title, "Codex review")
    expect.same(items, {
      { file = file, lnum = 2, text = "[P1] Mock finding 1 in app.lua: Line 2 of `app.lua` needs a look.", type = "E" },
      { file = file, lnum = 3, text = "[P2] Mock finding 2 in app.lua: Line 3 of `app.lua` needs a look.", type = "W" },
    })
    local d = vim.diagnostic.get(buf, { namespace = rv.ns })
    table.sort(d, function(a, b) return a.lnum < b.lnum end)
    expect.eq(#d, 2)
    expect.eq(d[1].lnum, 1) -- 0-based: line 2
    expect.eq(d[1].severity, vim.diagnostic.severity.ERROR)
    expect.match(d[1].message, "^%[P1%] Mock finding 1 in app%.lua\nLine 2 of")
    expect.eq(d[2].lnum, 2)
    expect.eq(d[2].severity, vim.diagnostic.severity.WARN)
    -- the quickfix window as the user sees it (left in .testenv/review-quickfix.txt)
    vim.cmd("copen")
    local shown = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    vim.cmd("cclose")
    expect.match(shown[1] or "", "app%.lua|2[^|]*| %[P1%] Mock finding 1 in app%.lua")
    expect.match(shown[2] or "", "app%.lua|3[^|]*| %[P2%] Mock finding 2 in app%.lua")
    pcall(vim.fn.writefile, shown, TEST_ROOT .. "/.testenv/review-quickfix.txt")
  end)

  it("a file opened later gets its diagnostics when it is read", function()
    vim.cmd("silent! %bwipeout!")
    review()
    expect.eq(vim.fn.bufloaded(file), 0)
    vim.cmd("silent cfirst") -- jumps to app.lua:2
    local buf = vim.api.nvim_get_current_buf()
    expect.eq(vim.api.nvim_buf_get_name(buf), file)
    expect.eq(vim.api.nvim_win_get_cursor(0)[1], 2)
    expect.eq(#vim.diagnostic.get(buf, { namespace = rv.ns }), 2)
  end)

  it("the next review replaces the last one's quickfix list and diagnostics", function()
    vim.cmd("edit " .. vim.fn.fnameescape(file))
    local buf = vim.api.nvim_get_current_buf()
    review()
    expect.eq(#vim.diagnostic.get(buf, { namespace = rv.ns }), 2)
    expect.eq(vim.fn.getqflist({ nr = "$" }).nr, 1)
    -- custom instructions; the mock's spec: one P3 finding at line 4
    local c = review("Look at the return. [[review]] app.lua:4:3")
    ui.wait_text(c.buf, "Mock review: 1 finding%.")
    local d = vim.diagnostic.get(buf, { namespace = rv.ns })
    expect.eq(#d, 1)
    expect.eq(d[1].lnum, 3)
    expect.eq(d[1].severity, vim.diagnostic.severity.INFO)
    local title, items = qf_items()
    expect.eq(title, "Codex review")
    expect.eq(#items, 1)
    expect.eq(items[1].lnum, 4)
    expect.eq(vim.fn.getqflist({ nr = "$" }).nr, 1, "replaced, not stacked")
    -- a review without findings clears them
    review("[[review]] none")
    expect.eq(#vim.diagnostic.get(buf, { namespace = rv.ns }), 0)
    expect.eq(#select(2, qf_items()), 0)
    expect.truthy(notes.find("review: no findings"))
  end)

  it("keeps the user's own quickfix list: a review's list goes on top of it", function()
    vim.fn.setqflist({}, " ", { title = "mine", items = { { filename = file, lnum = 1, text = "my entry" } } })
    review()
    expect.eq(vim.fn.getqflist({ title = 0 }).title, "Codex review")
    expect.eq(vim.fn.getqflist({ nr = 1, title = 0 }).title, "mine")
  end)

  it("sends the review's target: branch, commit, free text", function()
    local seen = {}
    local chat_mod = require("codex.ui.chat")
    local c = ui.new_chat()
    local orig = c.start_review
    c.start_review = function(self, target) seen[#seen + 1] = target return true end
    finally(function() c.start_review = orig end)
    vim.cmd("Codex review")
    vim.cmd("Codex review branch main")
    vim.cmd("Codex review commit abc123 Fix the thing")
    vim.cmd("Codex review look for races")
    expect.same(seen, { "uncommitted", { branch = "main" }, { commit = "abc123", title = "Fix the thing" },
      { instructions = "look for races" } })
    expect.eq(chat_mod.current(), c)
    vim.cmd("Codex review branch")
    expect.truthy(notes.find("usage: :Codex review branch {name}"))
  end)

  it("completes review's arguments", function()
    expect.same(vim.fn.getcompletion("Codex review ", "cmdline"), { "branch", "commit", "uncommitted" })
    expect.same(vim.fn.getcompletion("Codex review b", "cmdline"), { "branch" })
    local branches = vim.fn.getcompletion("Codex review branch ", "cmdline")
    expect.eq(#branches, 1) -- the workspace's one branch
    expect.eq(branches[1], vim.fn.systemlist("git branch --show-current")[1])
    local commits = vim.fn.getcompletion("Codex review commit ", "cmdline")
    expect.eq(#commits, 1)
  end)

  it("a message sent during a review waits for the next turn (no steer)", function()
    local c = ui.new_chat()
    local steered = false
    c:start_review({ instructions = "[[review]] none" })
    wait_for(function() return c.state == "running" end, 20000, "the review to run")
    local orig = c.turn.steer
    c.turn.steer = function(...) steered = true return orig(...) end
    c:send("after the review")
    expect.eq(#c.queue, 1, "queued")
    ui.wait_text(c.buf, "Hello from the mock model!") -- the queued message's own turn
    expect.falsy(steered)
    ui.wait_idle(c)
  end)
end)
