-- Resumed chats with long histories: only the newest turns render at once; older ones load on
-- demand (a key, or scrolling to the top), above the transcript, a slice per callback.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local api = vim.api
local history = require("codex.ui.chat_history")

--- n generated turns, oldest first: a question, every 3rd a command with 20 output lines (it
--- folds), an answer.
local function gen_turns(n)
  local turns = {}
  for k = 1, n do
    local items = { { type = "userMessage", id = "u" .. k, content = { { type = "text", text = "question " .. k } } } }
    if k % 3 == 0 then
      local out = {}
      for i = 1, 20 do out[i] = ("out %d.%d"):format(k, i) end
      items[#items + 1] = { type = "commandExecution", id = "c" .. k, command = "echo " .. k, status = "completed",
        exitCode = 0, aggregatedOutput = table.concat(out, "\n") .. "\n" }
    end
    items[#items + 1] = { type = "agentMessage", id = "a" .. k, text = "answer " .. k }
    turns[k] = { id = "t" .. k, status = "completed", items = items }
  end
  return turns
end

local function lines(c) return api.nvim_buf_get_lines(c.buf, 0, -1, false) end

--- The question numbers rendered, top to bottom.
local function questions(c)
  local out = {}
  for _, l in ipairs(lines(c)) do
    local k = l:match("^question (%d+)$")
    if k then out[#out + 1] = tonumber(k) end
  end
  return out
end

local function headers(c)
  local n = 0
  for _, l in ipairs(lines(c)) do if l == "## You" then n = n + 1 end end
  return n
end

local function range(a, b)
  local out = {}
  for i = a, b do out[#out + 1] = i end
  return out
end

local function row_of(c, text)
  for i, l in ipairs(lines(c)) do if l == text then return i end end
end

local n_chat = 0
--- A chat opened the way resume opens one; thread is a stub (id, and turns/read if given).
local function open(turns, thread, cursor)
  n_chat = n_chat + 1
  thread = thread or {}
  thread.id = thread.id or ("hist-" .. n_chat)
  return require("codex.ui.chat").open({ thread = thread, turns = turns, cursor = cursor })
end

--- The number of turns in the chat after each slice of a load (filled as slices end).
local function slice_counts(c)
  local counts = {}
  local end_top = c.renderer.end_top
  c.renderer.end_top = function(r)
    local writing = r.top ~= nil
    end_top(r)
    if writing then counts[#counts + 1] = headers(c) end
  end
  return counts
end

--- Loads the next batch and waits until it is in.
local function load(c)
  local done = false
  c:load_earlier(function() done = true end)
  wait_for(function() return done end, 10000, "the earlier turns to load")
end

describe("chat history (resume)", function()
  require("codex").setup({})
  before_each(ui.settle_chats)
  after_each(ui.settle_chats)

  it("renders at most chat.history_turns of the newest turns, below an earlier-turns line", function()
    local c = open(gen_turns(200))
    expect.eq(headers(c), 20)
    expect.same(questions(c), range(181, 200))
    expect.match(lines(c)[1], "^_⋯ 180 earlier turns: gK or scroll up to load_$")
    expect.eq(api.nvim_win_get_cursor(c.win)[1], #lines(c), "the view is at the end")
    require("codex").setup({ chat = { history_turns = 5 } })
    local d = open(gen_turns(200))
    expect.eq(headers(d), 5)
    require("codex").setup({})
    local short = open(gen_turns(3))
    expect.eq(headers(short), 3)
    expect.eq(lines(short)[1], "", "no earlier-turns line when all are shown")
  end)

  -- Slices are bounded by SLICE_TURNS and by SLICE_MS of work; the count tests below take
  -- the time bound out (a loaded machine would make their slices smaller).
  local function no_time_bound()
    local chat_mod = require("codex.ui.chat")
    local ms = history.SLICE_MS
    history.SLICE_MS = math.huge
    finally(function() history.SLICE_MS = ms end)
  end

  it("ends a slice once SLICE_MS of work went by: one turn per callback at 0 ms", function()
    local chat_mod = require("codex.ui.chat")
    local ms = history.SLICE_MS
    history.SLICE_MS = 0
    finally(function() history.SLICE_MS = ms end)
    local c = open(gen_turns(30))
    local counts = slice_counts(c)
    load(c)
    expect.same(counts, range(21, 30), "one turn per slice")
  end)

  it("prepends earlier turns in order above the transcript, a slice per callback, the view steady", function()
    no_time_bound()
    local c = open(gen_turns(200))
    local row = row_of(c, "question 190")
    api.nvim_win_set_cursor(c.win, { row, 0 })
    local function top_text()
      return api.nvim_win_call(c.win, function() return vim.fn.getline(vim.fn.line("w0")) .. "|" .. vim.fn.getline(vim.fn.line("w0") + 1) end)
    end
    local top = top_text()
    local counts = slice_counts(c)
    local done = false
    c:load_earlier(function() done = true end)
    expect.eq(headers(c), 30, "only the first slice is in when load_earlier returns")
    wait_for(function() return done end, 10000, "the earlier turns to load")
    expect.same(counts, { 30, 40 }, "slices of at most " .. history.SLICE_TURNS .. " turns")
    expect.same(questions(c), range(161, 200))
    local cur = api.nvim_win_get_cursor(c.win)[1]
    expect.eq(lines(c)[cur], "question 190", "the same text under the cursor")
    expect.eq(top_text(), top, "the same text at the top of the window")
    expect.match(lines(c)[1], "^_⋯ 160 earlier turns")
    -- the prepended commands' outputs are folded, like those rendered at the end
    api.nvim_win_call(c.win, function()
      expect.truthy(vim.fn.foldclosed(row_of(c, "out 162.5")) ~= -1, "turn 162's output folded")
      expect.truthy(vim.fn.foldclosed(row_of(c, "out 198.5")) ~= -1, "turn 198's output still folded")
      expect.eq(vim.fn.foldclosed(row_of(c, "question 162")), -1, "the question is not folded")
    end)
  end)

  it("loads every earlier turn; then the line is gone", function()
    local c = open(gen_turns(200))
    local loads = 0
    while c:has_earlier() and loads < 20 do
      load(c)
      loads = loads + 1
    end
    expect.eq(loads, 9)
    expect.same(questions(c), range(1, 200))
    expect.eq(headers(c), 200)
    expect.falsy(lines(c)[1]:find("earlier turns"), "the earlier-turns line is gone")
    expect.eq(lines(c)[#lines(c)], "answer 200")
  end)

  it("loads with the key and when the window scrolls to the top", function()
    local c = open(gen_turns(100))
    api.nvim_set_current_win(c.win)
    local done = 0
    local id = api.nvim_create_autocmd("User", { pattern = "CodexChatHistoryLoaded", callback = function() done = done + 1 end })
    finally(function() api.nvim_del_autocmd(id) end)
    api.nvim_feedkeys("gK", "x", false)
    wait_for(function() return done == 1 end, 10000, "the key's load")
    expect.eq(headers(c), 40)
    vim.fn.winrestview({ topline = 1, lnum = 1 })
    vim.cmd("doautocmd WinScrolled")
    wait_for(function() return done == 2 end, 10000, "the scroll's load")
    expect.eq(headers(c), 60)
    -- the window keeps showing what it showed (the old first turn, below the loaded ones), so
    -- the top line is out of view until the user scrolls up again
    local w0 = vim.fn.line("w0")
    expect.truthy(w0 > 1, "the window left the top")
    expect.truthy(vim.fn.line("w$") >= row_of(c, "question 41"), "the old first turn still in view")
    expect.same(questions(c), range(41, 100))
  end)

  it("fetches earlier turns through thread/turns/list pages, else from thread/read", function()
    local all = gen_turns(60)
    local calls = {}
    local thread = {
      turns = function(_, opts, cb)
        calls[#calls + 1] = vim.deepcopy(opts)
        local from = tonumber(opts.cursor) -- turns before index `from`, newest first
        local page = { turns = {} }
        for k = from - 1, math.max(1, from - opts.limit), -1 do page.turns[#page.turns + 1] = all[k] end
        if from - opts.limit > 1 then page.next_cursor = tostring(from - opts.limit) end
        vim.schedule(function() cb(nil, page) end)
      end,
    }
    local c = open(vim.list_slice(all, 41, 60), thread, "41")
    expect.match(lines(c)[1], "^_⋯ earlier turns: gK")
    load(c)
    expect.same(calls, { { cursor = "41", limit = 20, items_view = "full" } })
    expect.same(questions(c), range(21, 60))
    expect.match(lines(c)[1], "^_⋯ earlier turns")
    load(c)
    expect.eq(#calls, 2)
    expect.eq(calls[2].cursor, "21")
    expect.same(questions(c), range(1, 60))
    expect.falsy(c:has_earlier())
    expect.falsy(lines(c)[1]:find("earlier"), "the line is gone after the last page")
    -- a server without thread/turns/list: the older turns come from thread/read
    local reads = 0
    local old = {
      turns = function(_, _, cb) vim.schedule(function() cb({ code = -32600, message = "unknown variant" }) end) end,
      read = function(_, opts, cb)
        reads = reads + 1
        expect.same(opts, { include_turns = true })
        vim.schedule(function() cb(nil, { thread = { turns = all } }) end)
      end,
    }
    local d = open(vim.list_slice(all, 51, 60), old, "51")
    load(d)
    expect.eq(reads, 1)
    expect.same(questions(d), range(31, 60))
    expect.match(lines(d)[1], "^_⋯ 30 earlier turns")
    load(d)
    expect.eq(reads, 1, "read once")
    expect.same(questions(d), range(11, 60))
  end)
end)

describe("chat history against the app-server", function()
  local env = ui.env()
  teardown(env.close)
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    env.setup()
  end)

  it(":Codex resume fetches only the newest turns; the rest page in through thread/turns/list", function()
    local c = ui.new_chat()
    for i = 1, 3 do
      c:send("turn " .. i)
      ui.wait_idle(c)
    end
    local id = c.thread_id
    c:hide()
    env.setup({ chat = { history_turns = 1 } })
    -- a new client: the thread is read back from its rollout, as after a restart
    local ui_select = vim.ui.select
    finally(function() vim.ui.select = ui_select end)
    vim.ui.select = function(items, _, cb)
      for _, t in ipairs(items) do if t.id == id then return cb(t) end end
      cb(nil)
    end
    package.loaded["codex.ui.chat"] = nil
    local chat_mod = require("codex.ui.chat")
    finally(function() package.loaded["codex.ui.chat"] = nil end)
    vim.cmd("Codex resume")
    local r = wait_for(function() return chat_mod.find(id) end, 20000, "the resumed chat")
    local function you() return select(2, ui.text(r.buf):gsub("## You\n\nturn %d", "")) end
    expect.eq(you(), 1)
    expect.match(ui.text(r.buf), "^_⋯ earlier turns: gK or scroll up to load_\n.*turn 3")
    for n = 2, 3 do
      load(r)
      expect.eq(you(), n)
    end
    -- the last page said there are no more (or the next one is empty): the line goes
    if r:has_earlier() then load(r) end
    expect.falsy(r:has_earlier())
    expect.match(ui.text(r.buf), "^\n## You\n\nturn 1\n.*turn 2\n.*turn 3\n")
  end)
end)
