-- Approval prompts (codex.ui.approval) in headless Neovim, driven through the real
-- app-server and the mock with the UI's shared client (codex.session).
--
-- The chat windows are stand-ins made here (a chat window and an input window below it,
-- attached with approval.attach() as a chat does: windows(), on_waiting(), label()), so these
-- tests do not depend on chat.lua.
if not (type(vim) == "table" and vim.api) then
  pending("ui: approval prompts (Neovim only)")
  return
end

local api = vim.api
local e2e = require("lib.e2e")
local env_lib = require("lib.env")
local config = require("codex.config")
local session = require("codex.session")
local events = require("codex.events")

local T = 30000

local function keys(s)
  api.nvim_feedkeys(api.nvim_replace_termcodes(s, true, false, true), "x", false)
end

-- nvim_win_get_config gives row/col as {[vim.type_idx]=…, [vim.val_idx]=n} on 0.7
local function num(v)
  if type(v) == "table" then return v[vim.val_idx] end
  return v
end

--- The float's rows on the screen (0-based, its border included) and the text area of the
--- chat window it sits in: the float is at the bottom of it, as wide as it.
local function expect_at_bottom(float, chat_win)
  local cfg = api.nvim_win_get_config(float)
  expect.eq(cfg.relative, "editor")
  local pos = vim.fn.win_screenpos(chat_win)
  local info = vim.fn.getwininfo(chat_win)[1]
  local top = pos[1] - 1 + (info.winbar or 0)
  expect.eq(num(cfg.row) + cfg.height + 2, top + info.height, "at the bottom of the chat window's text")
  expect.eq(num(cfg.col), pos[2] - 1)
  expect.eq(cfg.width + 2, info.width)
end

local function lines(buf) return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n") end

local function wait(cond, what, ms) return env_lib.wait(cond, what, ms or T) end

--- What the keys just typed set off has happened after it (tests/lib/env.lua).
local function flush() env_lib.settle() end

-- A stand-in chat: a vsplit with a chat window and a 5-line input window below it.
local chats = {}

--- Attaches a stand-in chat to the approval UI (its windows are read when asked).
local function attach(tid, chat)
  chats[tid] = chat
  require("codex.ui.approval").attach(tid, {
    windows = function() return chat.win, chat.input_win end,
    on_waiting = function(on) chat:set_approval_waiting(on) end,
    label = function() return nil end,
  })
end

local function make_chat(tid)
  vim.cmd("botright vsplit")
  local win = api.nvim_get_current_win()
  local buf = api.nvim_create_buf(false, true)
  api.nvim_win_set_buf(win, buf)
  api.nvim_buf_set_lines(buf, 0, -1, false, { "## You", "", "the conversation" })
  vim.cmd("belowright 5split")
  local input_win = api.nvim_get_current_win()
  local input_buf = api.nvim_create_buf(false, true)
  api.nvim_win_set_buf(input_win, input_buf)
  local chat = { thread_id = tid, win = win, buf = buf, input_win = input_win, input_buf = input_buf, waiting = false, calls = {} }
  function chat:set_approval_waiting(on)
    self.waiting = on
    self.calls[#self.calls + 1] = on
  end
  attach(tid, chat)
  return chat
end

local function reset_windows()
  local keep = api.nvim_list_wins()[1]
  for _, w in ipairs(api.nvim_list_wins()) do
    if w ~= keep then pcall(api.nvim_win_close, w, true) end
  end
  pcall(vim.cmd, "stopinsert")
  for k in pairs(chats) do
    chats[k] = nil
    require("codex.ui.approval").attach(k, nil)
  end
end

local function choice_index(cur, key)
  for i, c in ipairs(cur.choices) do
    if c.key == key then return i end
  end
end

-- A request object like codex.server_requests makes (for the tests without the server).
local next_id = 0
local function fake_req(method, params)
  next_id = next_id + 1
  local r = { id = next_id, method = method, params = params, thread_id = params.threadId, turn_id = params.turnId,
    answered = false, resolved = false, _cbs = {} }
  function r:respond(x)
    if self.answered then return nil, "already answered" end
    self.answered, self.answer = true, x
    return true
  end
  function r:respond_safe()
    self.safe = true
    return self:respond({ safe = true })
  end
  function r:on_resolved(fn)
    if self.resolved then fn(self) else self._cbs[#self._cbs + 1] = fn end
  end
  function r:settle()
    self.resolved = true
    for _, f in ipairs(self._cbs) do f(self) end
  end
  return r
end

describe("ui: approval", function()
  local approval = require("codex.ui.approval")

  local notes = env_lib.capture_notify({ quiet = true })
  teardown(notes.restore)

  local seen = { requested = {}, resolved = {} }
  local unsub = {
    events.on("ApprovalRequested", function(d) seen.requested[#seen.requested + 1] = d end),
    events.on("ApprovalResolved", function(d) seen.resolved[#seen.resolved + 1] = d end),
  }
  teardown(function()
    for _, u in ipairs(unsub) do u() end
  end)

  local env = e2e.env()
  teardown(function()
    local c = session.current()
    session.reset()
    if c then wait(function() return not c:status().alive end, "the shared app-server to exit", 5000) end
    env.close()
  end)
  config.setup({ client = { env = env.env, app_server_args = { "--strict-config" }, cwd = env.workspace, request_timeout_ms = T } })
  session.reset()
  local client = session.client()

  local function new_thread()
    return client:thread_start({ sandbox = "read-only", approval_policy = "untrusted" })
  end

  --- Starts a turn with callbacks; returns a table filled in as it goes (turn, result, err).
  local function start_turn(thread, text)
    local st = {}
    thread:turn(text, nil, function(err, turn)
      st.err, st.turn = err, turn
      if turn then
        turn:wait({ timeout_ms = T, raise = false }, function(e, r) st.err, st.result = e, r end)
      end
    end)
    return st
  end

  local function wait_prompt(tid)
    wait(function() return approval.current(tid) ~= nil end, "the approval prompt")
    return approval.current(tid)
  end

  local function wait_result(st)
    wait(function() return st.result ~= nil or st.err ~= nil end, "the turn to end")
    expect.falsy(st.err, "turn error")
    return st.result
  end

  after_each(function()
    reset_windows()
  end)

  it("shows a command prompt anchored to the chat, without taking focus; typing never answers", function()
    local thread = new_thread()
    local chat = make_chat(thread.id)
    api.nvim_set_current_win(chat.input_win)
    notes.clear()
    seen.requested, seen.resolved = {}, {}
    os.remove(env.workspace .. "/approved.txt")
    local st = start_turn(thread, "[[exec]] touch approved.txt && echo done")
    local cur = wait_prompt(thread.id)

    -- placement: a float relative to the chat window, at its bottom, focus unchanged
    expect.eq(api.nvim_get_current_win(), chat.input_win, "focus stays in the input window")
    local cfg = api.nvim_win_get_config(cur.win)
    expect.eq(cur.anchor, chat.win, "anchored to the chat window")
    expect.eq(cfg.focusable, true)
    expect_at_bottom(cur.win, chat.win)

    -- content: command, cwd, reason, the choices of availableDecisions (+ decline)
    local text = lines(cur.buf)
    expect.match(text, "Codex wants to run a command")
    expect.match(text, "%$ touch approved%.txt && echo done")
    expect.match(text, "reason: need to run a command")
    expect.match(text, "cwd:")
    local req = cur.req
    expect.eq(req.method, "item/commandExecution/requestApproval")
    local keys_seen = {}
    for _, c in ipairs(cur.choices) do keys_seen[#keys_seen + 1] = c.key end
    local available = req.params.availableDecisions
    if type(available) == "table" then
      local want = {}
      for _, d in ipairs(available) do want[#want + 1] = type(d) == "string" and d or next(d) end
      for _, k in ipairs(want) do expect.truthy(vim.tbl_contains(keys_seen, k), "choice " .. k .. " rendered") end
    end
    expect.truthy(vim.tbl_contains(keys_seen, "decline"), "decline is always offered")
    expect.match(text, "Run once")
    expect.match(text, "Decline %(the agent continues%)")
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], 1, "the cursor starts on the header")

    -- the chat knows, the event fired, one notification names the key
    expect.eq(chat.waiting, true)
    expect.eq(#seen.requested, 1)
    expect.eq(seen.requested[1].thread_id, thread.id)
    expect.match(seen.requested[1].command, "touch approved.txt")
    expect.eq(#notes.list, 1)
    expect.match(notes.list[1].msg, "Codex: wants to run a command — <C%-a> to answer")

    -- typing in the input window (text, Enter, y, digits, chords) answers nothing
    keys("ihello world<CR>y<CR>1<Esc>")
    keys("<CR>g1yg2")
    flush()
    expect.falsy(req.answered, "typing in the input answered the prompt")
    expect.truthy(approval.current(thread.id), "the prompt is still open")
    expect.eq(api.nvim_get_current_win(), chat.input_win)
    expect.match(lines(chat.input_buf), "hello world")

    -- outside the float the hint says how to get there (g1 works only in it)
    expect.eq(api.nvim_buf_get_lines(cur.buf, 1, 2, false)[1], " <C-a> to answer")
    -- focus (only by the explicit key): the cursor lands on the first choice, the hint
    -- says how to answer there
    expect.truthy(approval.focus(thread.id))
    expect.eq(api.nvim_get_current_win(), cur.win)
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], cur.choice_lines[1], "on the first choice")
    expect.match(api.nvim_buf_get_lines(cur.buf, 1, 2, false)[1], "^ <CR> on a choice · g1%-g%d · <Esc> back$")
    expect.eq(vim.fn.line("w0"), 1, "the title is shown")
    -- back without answering, then again, then choose "accept" with <CR> on its line
    keys("<Esc>")
    expect.eq(api.nvim_get_current_win(), chat.input_win, "approval_back returns to the input")
    expect.falsy(req.answered)
    env_lib.wait(function() return api.nvim_buf_get_lines(cur.buf, 1, 2, false)[1] == " <C-a> to answer" end, "the hint for outside")
    approval.focus(thread.id)
    local i = expect.truthy(choice_index(cur, "accept"))
    api.nvim_win_set_cursor(cur.win, { cur.choice_lines[i], 0 })
    keys("<CR>")
    expect.truthy(req.answered, "the choice answered")
    expect.falsy(approval.current(thread.id), "the prompt closed")
    expect.eq(api.nvim_get_current_win(), chat.input_win, "focus back where the user came from")

    local r = wait_result(st)
    expect.eq(r.status, "completed")
    expect.truthy(e2e.exists(env.workspace .. "/approved.txt"), "the command ran")
    expect.match(r.final_response, "Command output: done")
    expect.eq(chat.waiting, false)
    expect.eq(seen.resolved[1].decision, "accept")
    expect.eq(seen.resolved[1].thread_id, thread.id)
  end)

  it("declines a file change with a g-chord: the diff is shown, the file untouched", function()
    local thread = new_thread()
    local chat = make_chat(thread.id)
    api.nvim_set_current_win(chat.input_win)
    os.remove(env.workspace .. "/nope.txt")
    local st = start_turn(thread, "[[patch]] nope.txt")
    local cur = wait_prompt(thread.id)
    expect.eq(api.nvim_get_current_win(), chat.input_win)
    expect.eq(cur.req.method, "item/fileChange/requestApproval")
    local text = lines(cur.buf)
    expect.match(text, "Codex wants to change a file")
    expect.match(text, "add%s+%S*nope%.txt")
    expect.match(text, "%+hello from apply_patch")
    expect.match(text, "whole patch")
    -- the diff line is highlighted as an addition
    local row
    for n, l in ipairs(api.nvim_buf_get_lines(cur.buf, 0, -1, false)) do
      if l:find("+hello from apply_patch", 1, true) then row = n - 1 end
    end
    local marks = api.nvim_buf_get_extmarks(cur.buf, api.nvim_create_namespace("codex_approval"), { row, 0 }, { row, -1 }, { details = true })
    local groups = {}
    for _, m in ipairs(marks) do groups[#groups + 1] = m[4] and m[4].hl_group end
    expect.truthy(vim.tbl_contains(groups, "CodexApprovalDiffAdd"), "diff highlight on the added line")
    expect.eq(#cur.files, 1)

    approval.focus(thread.id)
    keys("]f")
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], cur.files[1], "]f moves to the file header")
    keys("[f")
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], cur.files[1])
    keys("g" .. choice_index(cur, "decline"))
    expect.same(cur.req.answered and true, true)
    local r = wait_result(st)
    expect.falsy(e2e.exists(env.workspace .. "/nope.txt"), "the declined patch was not applied")
    expect.match(r.final_response, "rejected")
    expect.eq(chat.waiting, false)
  end)

  it("accepts a file change: the file is written", function()
    local thread = new_thread()
    local chat = make_chat(thread.id)
    api.nvim_set_current_win(chat.input_win)
    os.remove(env.workspace .. "/hello.txt")
    local st = start_turn(thread, "[[patch]] hello.txt")
    local cur = wait_prompt(thread.id)
    approval.focus(thread.id)
    keys("g" .. choice_index(cur, "accept"))
    local r = wait_result(st)
    expect.eq(e2e.read(env.workspace .. "/hello.txt"), "hello from apply_patch\n")
    expect.match(r.final_response, "Success")
  end)

  it("closes the prompt on serverRequest/resolved when the turn is interrupted", function()
    local thread = new_thread()
    local chat = make_chat(thread.id)
    api.nvim_set_current_win(chat.input_win)
    seen.resolved = {}
    os.remove(env.workspace .. "/interrupted.txt")
    local st = start_turn(thread, "[[exec]] touch interrupted.txt")
    local cur = wait_prompt(thread.id)
    -- the user is in the prompt when it goes away: focus returns to the input
    approval.focus(thread.id)
    local done = false
    st.turn:interrupt(function() done = true end)
    wait(function() return cur.req.resolved end, "serverRequest/resolved")
    expect.falsy(approval.current(thread.id), "the prompt closed")
    expect.falsy(api.nvim_win_is_valid(cur.win))
    expect.eq(api.nvim_get_current_win(), chat.input_win)
    local r = wait_result(st)
    expect.truthy(done)
    expect.eq(r.status, "interrupted")
    expect.falsy(e2e.exists(env.workspace .. "/interrupted.txt"))
    expect.eq(chat.waiting, false)
    expect.eq(#seen.resolved, 1)
    expect.eq(seen.resolved[1].decision, nil, "settled by the server, not answered")
    expect.eq(approval.pending(thread.id), 0)
  end)

  it("shows prompts of two threads at once, each in its own chat; answering one leaves the other", function()
    local ta, tb = new_thread(), new_thread()
    local ca = make_chat(ta.id)
    local cb = make_chat(tb.id)
    api.nvim_set_current_win(ca.input_win)
    os.remove(env.workspace .. "/a.txt")
    os.remove(env.workspace .. "/b.txt")
    local sa = start_turn(ta, "[[exec]] touch a.txt")
    local sb = start_turn(tb, "[[exec]] touch b.txt")
    local pa, pb = wait_prompt(ta.id), wait_prompt(tb.id)
    expect.eq(pa.anchor, ca.win)
    expect.eq(pb.anchor, cb.win)
    expect.eq(api.nvim_get_current_win(), ca.input_win)
    approval.focus(tb.id)
    keys("g" .. choice_index(pb, "decline"))
    expect.truthy(approval.current(ta.id), "the other thread's prompt stays")
    expect.falsy(approval.current(tb.id))
    approval.focus(ta.id)
    keys("g" .. choice_index(pa, "accept"))
    local ra, rb = wait_result(sa), wait_result(sb)
    expect.truthy(e2e.exists(env.workspace .. "/a.txt"))
    expect.falsy(e2e.exists(env.workspace .. "/b.txt"))
    expect.match(rb.final_response, "Declined")
    expect.eq(ra.status, "completed")
  end)

  it("queues prompts per thread: next shown after an answer, a request settled while queued is dropped", function()
    local tid = "thread-queue"
    local chat = make_chat(tid)
    api.nvim_set_current_win(chat.input_win)
    seen.resolved = {}
    local amend = { acceptWithExecpolicyAmendment = { execpolicy_amendment = { "touch", "approved.txt" } } }
    local r1 = fake_req("item/commandExecution/requestApproval", {
      threadId = tid, turnId = "t1", itemId = "i1", command = "touch approved.txt", cwd = "/w",
      availableDecisions = { "accept", amend, "cancel" }, proposedExecpolicyAmendment = { "touch", "approved.txt" },
      networkApprovalContext = { host = "example.com", protocol = "https" },
      additionalPermissions = { fileSystem = { write = { "/tmp/out" } } },
    })
    local r2 = fake_req("item/fileChange/requestApproval", { threadId = tid, turnId = "t1", itemId = "i2", reason = "edit", grantRoot = "/w" })
    r2.item = { type = "fileChange", changes = {
      { path = "/w/a.txt", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-old\n+new\n" },
      { path = "/w/b.txt", kind = { type = "delete" }, diff = "gone\n" },
    } }
    local r3 = fake_req("item/commandExecution/requestApproval", { threadId = tid, command = "ls" })
    for _, r in ipairs({ r1, r2, r3 }) do expect.eq(approval.handle(r), nil) end
    expect.eq(approval.pending(tid), 3)
    local cur = approval.current(tid)
    expect.eq(cur.req, r1)
    -- exactly availableDecisions, decline inserted before cancel, labels from the decision
    local ks = {}
    for _, c in ipairs(cur.choices) do ks[#ks + 1] = c.key end
    expect.same(ks, { "accept", "acceptWithExecpolicyAmendment", "decline", "cancel" })
    local text = lines(cur.buf)
    expect.match(text, "Always allow commands starting with `touch approved%.txt`")
    expect.match(text, "proposal: always allow commands starting with `touch approved%.txt`")
    expect.match(text, "network: https://example%.com")
    expect.match(text, "needs write: /tmp/out")
    expect.match(text, "Cancel the turn")
    -- a queued request settled by the server disappears without being shown
    r3:settle()
    expect.eq(approval.pending(tid), 2)
    expect.eq(approval.current(tid).req, r1)
    -- answering with the amendment sends the decision value itself
    approval.focus(tid)
    keys("g2")
    expect.same(r1.answer, { decision = amend })
    -- the next prompt shows, but focus returns to the input: pressing g2 twice answers once
    cur = approval.current(tid)
    expect.eq(cur.req, r2)
    expect.eq(api.nvim_get_current_win(), chat.input_win, "focus does not move on to the next prompt")
    keys("g2")
    expect.falsy(r2.answered, "a repeated chord answered the next prompt")
    approval.focus(tid)
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], cur.choice_lines[1], "on the first choice")
    text = lines(cur.buf)
    expect.match(text, "Codex wants to change 2 files")
    expect.match(text, "grants write access to: /w")
    expect.match(text, "%-old")
    expect.match(text, "%+new")
    expect.match(text, "%-gone")
    expect.eq(#cur.files, 2)
    keys("]f")
    expect.eq(api.nvim_win_get_cursor(0)[1], cur.files[1])
    keys("]f")
    expect.eq(api.nvim_win_get_cursor(0)[1], cur.files[2])
    keys("[f")
    expect.eq(api.nvim_win_get_cursor(0)[1], cur.files[1])
    -- documented set when availableDecisions is absent
    ks = {}
    for _, c in ipairs(cur.choices) do ks[#ks + 1] = c.key end
    expect.same(ks, { "accept", "acceptForSession", "decline", "cancel" })
    keys("<Esc>")
    expect.eq(api.nvim_get_current_win(), chat.input_win)
    expect.eq(chat.waiting, true)
    r2:settle()
    expect.falsy(approval.current(tid))
    expect.eq(approval.pending(tid), 0)
    expect.eq(chat.waiting, false)
    expect.falsy(r2.answered)
    expect.eq(#seen.resolved, 3)
  end)

  it("keeps a prompt for a hidden chat pending, with a notice, and shows it with show()", function()
    local tid = "thread-hidden"
    notes.clear()
    -- the chat exists, but has no window
    local hidden = { thread_id = tid, waiting = false, calls = {} }
    function hidden:set_approval_waiting(on) self.waiting = on end
    attach(tid, hidden)
    local r = fake_req("item/permissions/requestApproval", {
      threadId = tid, cwd = "/w", reason = "needs the network",
      permissions = { network = { enabled = true }, fileSystem = { read = { "/data" } } },
    })
    approval.handle(r)
    expect.falsy(approval.current(tid))
    expect.eq(approval.pending(tid), 1)
    expect.match(notes.list[#notes.list].msg, "Codex: waiting for your approval in .*: :Codex to show it")
    expect.eq(hidden.waiting, true, "the hidden chat's status says so")
    local chat = make_chat(tid)
    approval.show(tid)
    local cur = expect.truthy(approval.current(tid))
    expect.eq(cur.anchor, chat.win)
    local text = lines(cur.buf)
    expect.match(text, "Codex asks for more permissions")
    expect.match(text, "network: enabled")
    expect.match(text, "read: /data")
    expect.match(text, "Grant all for this turn")
    -- closing the chat window closes the prompt, which stays pending
    api.nvim_win_close(chat.win, true)
    chat.win = nil
    wait(function() return approval.current(tid) == nil end, "the prompt to close with its chat window", 2000)
    expect.eq(approval.pending(tid), 1)
    chat.win = api.nvim_get_current_win()
    approval.show(tid)
    cur = expect.truthy(approval.current(tid))
    approval.focus(tid)
    keys("g" .. choice_index(cur, "decline"))
    expect.same(r.answer, { permissions = {} })
    approval.handle(fake_req("item/permissions/requestApproval", { threadId = tid, permissions = { network = { enabled = true } } }))
    cur = approval.current(tid)
    approval.focus(tid)
    keys("g2")
    expect.same(cur.req.answer, { permissions = { network = { enabled = true } }, scope = "session" })
  end)

  it("focus from insert mode: the key leaves the composer, answering returns to insert; the window follows the chat's size", function()
    local tid = "thread-insert"
    local chat = make_chat(tid)
    -- what the chat maps in its input buffer (normal and insert mode)
    vim.keymap.set({ "n", "i" }, "<C-a>", function() approval.focus(tid) end, { buffer = chat.input_buf })
    api.nvim_set_current_win(chat.input_win)
    local r = fake_req("item/commandExecution/requestApproval", { threadId = tid, command = "make" })
    approval.handle(r)
    local cur = approval.current(tid)
    keys("ihello<C-a>")
    expect.eq(api.nvim_get_current_win(), cur.win, "<C-a> from insert mode jumps into the prompt")
    expect.eq(api.nvim_get_mode().mode, "n")
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], cur.choice_lines[1])
    -- the focus key inside the prompt goes back without answering
    keys("<C-a>")
    expect.eq(api.nvim_get_current_win(), chat.input_win)
    -- entered another way (a window command): on the first choice too, and back returns
    api.nvim_win_set_cursor(cur.win, { #api.nvim_buf_get_lines(cur.buf, 0, -1, false), 0 })
    vim.cmd(api.nvim_win_get_number(cur.win) .. "wincmd w")
    expect.eq(api.nvim_get_current_win(), cur.win)
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], cur.choice_lines[1], "entering by a window command lands on the first choice")
    keys("<Esc>")
    expect.eq(api.nvim_get_current_win(), chat.input_win)
    expect.falsy(r.answered)
    -- the chat window shrinks: show() (and WinResized/WinScrolled) re-anchor it at the bottom
    api.nvim_win_set_height(chat.win, api.nvim_win_get_height(chat.win) - 3)
    approval.show(tid)
    expect_at_bottom(cur.win, chat.win)
    -- answer from a prompt entered from insert mode: back to insert mode at the end of the text
    api.nvim_set_current_win(chat.input_win)
    keys("A<C-a>")
    expect.eq(api.nvim_get_current_win(), cur.win)
    -- "x!" stays in insert mode until something leaves it: a timer looks, then types <Esc>
    local mode_after, win_after
    vim.defer_fn(function()
      mode_after, win_after = api.nvim_get_mode().mode, api.nvim_get_current_win()
      api.nvim_input("<Esc>")
    end, 50)
    api.nvim_feedkeys(api.nvim_replace_termcodes("g" .. choice_index(cur, "decline"), true, false, true), "x!", false)
    expect.eq(r.answer.decision, "decline")
    expect.eq(win_after, chat.input_win)
    expect.eq(mode_after, "i", "back in insert mode")
    expect.eq(api.nvim_get_mode().mode, "n")
    expect.eq(lines(chat.input_buf), "hello")
  end)

  it("asks requestUserInput questions with vim.ui and answers by question id", function()
    local real_input, real_select = vim.ui.input, vim.ui.select
    local asked = {}
    vim.ui.select = function(items, opts, cb)
      asked[#asked + 1] = opts.prompt
      cb(items[2])
    end
    vim.ui.input = function(opts, cb)
      asked[#asked + 1] = opts.prompt
      cb("blue")
    end
    local r = fake_req("item/tool/requestUserInput", { threadId = "t", turnId = "u", itemId = "i", questions = {
      { id = "q1", header = "Plan", question = "Which one?", isOther = false, isSecret = false,
        options = { { label = "A", description = "first" }, { label = "B", description = "second" } } },
      { id = "q2", header = "Color", question = "Favourite?", isOther = true, isSecret = false },
    } })
    expect.eq(approval.handle(r), nil)
    expect.falsy(r.answered, "never answered synchronously")
    wait(function() return r.answered end, "the answers", 2000)
    vim.ui.input, vim.ui.select = real_input, real_select
    expect.same(r.answer, { answers = { q1 = { answers = { "B" } }, q2 = { answers = { "blue" } } } })
    expect.match(asked[1], "Which one%?")
  end)

  it("answers MCP elicitations: forms it cannot show can only be declined or cancelled; other requests get the safe answer", function()
    local real_select = vim.ui.select
    local offered
    vim.ui.select = function(items, _, cb)
      offered = items
      cb("Cancel")
    end
    local r = fake_req("mcpServer/elicitation/request", { threadId = "t", serverName = "srv", mode = "form", message = "Your name?",
      requestedSchema = { type = "object", properties = { where = { type = "object" } } } })
    approval.handle(r)
    wait(function() return r.answered end, "the elicitation answer", 2000)
    expect.same(offered, { "Decline", "Cancel" })
    expect.eq(r.answer.action, "cancel")
    vim.ui.select = function(items, _, cb)
      offered = items
      cb("Decline")
    end
    local u = fake_req("mcpServer/elicitation/request", { threadId = "t", serverName = "srv", mode = "url", message = "Log in", url = "https://example.com/x", elicitationId = "e" })
    approval.handle(u)
    wait(function() return u.answered end, "the url elicitation answer", 2000)
    expect.same(offered, { "Open", "Decline", "Cancel" })
    expect.eq(u.answer.action, "decline")
    vim.ui.select = real_select
    local other = fake_req("item/tool/call", { threadId = "t", tool = "x" })
    approval.handle(other)
    expect.truthy(other.safe)
  end)

  it("defines its highlight groups as defaults", function()
    for _, g in ipairs({ "CodexApprovalTitle", "CodexApprovalChoice", "CodexApprovalDiffAdd", "CodexApprovalDiffDelete" }) do
      expect.eq(vim.fn.hlexists(g), 1, g)
    end
  end)

end)

-- The same flow through the real chat module (codex.ui.chat), when it is there.
describe("ui: approval in the real chat", function()
  local ok_chat, chat_mod = pcall(require, "codex.ui.chat")
  pcall(vim.cmd, "runtime! plugin/codex.lua")
  if not ok_chat or type(chat_mod) ~= "table" or not chat_mod.find or vim.fn.exists(":Codex") ~= 2 then
    pending("codex.ui.chat or :Codex is not available")
    return
  end
  local approval = require("codex.ui.approval")
  local ui = require("lib.ui")
  local cwd = vim.fn.getcwd()
  local env = ui.env()
  local quiet = env_lib.capture_notify({ quiet = true })
  teardown(function()
    quiet.restore()
    reset_windows()
    env.close()
    vim.cmd("cd " .. vim.fn.fnameescape(cwd))
  end)

  it("anchors to the chat window, marks it waiting, <C-a> from the input then a g-chord answers; a hidden chat shows it on reopening", function()
    vim.cmd("Codex [[exec]] touch chatint.txt")
    local c = chat_mod.current()
    wait(function() return c.thread_id ~= nil and approval.current(c.thread_id) ~= nil end, "the prompt")
    local cur = approval.current(c.thread_id)
    expect.eq(cur.anchor, c.win)
    expect.eq(api.nvim_get_current_win(), c.input_win)
    expect.truthy(c.approval_waiting)
    keys("<C-a>")
    expect.eq(api.nvim_get_current_win(), cur.win)
    keys("g" .. choice_index(cur, "accept"))
    wait(function() return c.state == "idle" end, "the turn")
    expect.falsy(c.approval_waiting)
    expect.truthy(e2e.exists(env.workspace .. "/chatint.txt"))
    -- hidden: pending, no window; shown when the chat opens again
    vim.cmd("Codex")
    c:send("[[exec]] touch hidden.txt")
    wait(function() return approval.pending(c.thread_id) > 0 end, "the hidden prompt")
    expect.falsy(approval.current(c.thread_id))
    vim.cmd("Codex")
    cur = expect.truthy(approval.current(c.thread_id), "shown when the chat opens")
    approval.focus(c.thread_id)
    keys("g" .. choice_index(cur, "decline"))
    wait(function() return c.state == "idle" end, "the turn")
    expect.falsy(e2e.exists(env.workspace .. "/hidden.txt"))
  end)
end)
