-- Where the approval float goes (codex.ui.approval_view, codex.ui.approval_layout): it never
-- hides the chat's newest lines and its choices are never cut, in a 24-line terminal and in
-- the float layout. Measured on the screen grid: screenpos() of the chat's last line and of
-- each choice line against the float's rows.
--
-- The chats are stand-ins (windows made here, attached like a chat attaches); the requests
-- are request objects like codex.server_requests makes, without a server.
if not (type(vim) == "table" and vim.api) then
  pending("ui: approval layout (Neovim only)")
  return
end

local api = vim.api
local env_lib = require("lib.env")
local approval = require("codex.ui.approval")

local function num(v)
  if type(v) == "table" then return v[vim.val_idx] end
  return v
end

local next_id = 0
local function fake_req(method, params)
  next_id = next_id + 1
  local r = { id = "layout-" .. next_id, method = method, params = params, thread_id = params.threadId,
    answered = false, resolved = false, _cbs = {} }
  function r:respond(x)
    if self.answered then return nil, "already answered" end
    self.answered, self.answer = true, x
    return true
  end
  function r:respond_safe() return self:respond({}) end
  function r:on_resolved(fn)
    if self.resolved then fn(self) else self._cbs[#self._cbs + 1] = fn end
  end
  function r:settle()
    self.resolved = true
    for _, f in ipairs(self._cbs) do f(self) end
  end
  return r
end

--- A patch request over `nfiles` files of `n` diff lines each.
local function patch_req(tid, nfiles, n, item_id)
  local changes = {}
  for f = 1, nfiles do
    local diff = { "@@ -1," .. n .. " +1," .. n .. " @@" }
    for i = 1, n do diff[#diff + 1] = ("+local v%d = %d -- file %d"):format(i, i, f) end
    changes[f] = { path = "/w/file" .. f .. ".lua", kind = { type = "update" }, diff = table.concat(diff, "\n") }
  end
  local r = fake_req("item/fileChange/requestApproval", { threadId = tid, itemId = item_id, reason = "edit" })
  r.item = { type = "fileChange", changes = changes }
  return r
end

local function cmd_req(tid, item_id)
  return fake_req("item/commandExecution/requestApproval", { threadId = tid, itemId = item_id,
    command = "echo demo-ok && ls -la", cwd = "/w", reason = "need to run a command",
    proposedExecpolicyAmendment = { "echo", "demo-ok" },
    availableDecisions = { "accept", { acceptWithExecpolicyAmendment = { execpolicy_amendment = { "echo", "demo-ok" } } }, "cancel" } })
end

local conversation = {}
for i = 1, 80 do conversation[i] = "conversation line " .. i end

local attached = {}

--- A chat like the vsplit layout's: a chat window (with a winbar where there is one) over a
--- 5-line input window, the conversation in it, the cursor on its last line (following).
local function split_chat(tid)
  vim.cmd("botright vsplit")
  local win = api.nvim_get_current_win()
  local buf = api.nvim_create_buf(false, true)
  api.nvim_win_set_buf(win, buf)
  api.nvim_buf_set_lines(buf, 0, -1, false, conversation)
  if vim.fn.has("nvim-0.8") == 1 then vim.wo[win].winbar = "Codex · waiting for approval" end
  vim.wo[win].wrap = true
  vim.cmd("belowright 5split")
  local input_win = api.nvim_get_current_win()
  api.nvim_win_set_buf(input_win, api.nvim_create_buf(false, true))
  api.nvim_win_set_cursor(win, { #conversation, 0 })
  return win, input_win, buf
end

--- A chat like the float layout's (chat/window.lua): two bordered floats, the chat's with
--- a winbar.
local function float_chat(height)
  local w, h = math.floor(vim.o.columns * 0.4), math.floor(vim.o.lines * height)
  local row, col = math.floor((vim.o.lines - h) / 2), math.floor((vim.o.columns - w) / 2)
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, conversation)
  local win = api.nvim_open_win(buf, true, { relative = "editor", row = row, col = col, width = w,
    height = h - 5 - 2, border = "rounded", style = "minimal" })
  if vim.fn.has("nvim-0.8") == 1 then vim.wo[win].winbar = "Codex · waiting for approval" end
  vim.wo[win].wrap = true
  local input_win = api.nvim_open_win(api.nvim_create_buf(false, true), true, { relative = "editor",
    row = row + h - 5, col = col, width = w, height = 5, border = "rounded", style = "minimal" })
  api.nvim_win_set_cursor(win, { #conversation, 0 })
  return win, input_win, buf
end

local function attach(tid, win, input_win, states)
  attached[#attached + 1] = tid
  approval.attach(tid, {
    windows = function() return win, input_win end,
    on_waiting = function() end,
    label = function() return nil end,
    item_state = states and function(id, state) states[#states + 1] = { id, state } end or nil,
  })
end

--- The screen row (1-based) of a buffer line in a window, 0 when it is not in the view.
local function row_of(win, lnum)
  return vim.fn.screenpos(win, lnum, 1).row
end

--- Screen rows (1-based) of the float's text: first and last.
local function float_rows(float)
  local cfg = api.nvim_win_get_config(float)
  return num(cfg.row) + 2, num(cfg.row) + cfg.height + 1
end

--- The text area rows (1-based) of a window: first and last.
local function text_rows(win)
  local info = vim.fn.getwininfo(win)[1]
  local top = info.winrow + (info.winbar or 0)
  local cfg = api.nvim_win_get_config(win)
  if cfg.relative ~= "" then top = top + 1 end -- a bordered float
  return top, top + info.height - 1
end

local function expect_layout(tid, chat_win, what, choices_only)
  vim.cmd("redraw")
  local cur = expect.truthy(approval.current(tid), "a prompt is shown")
  local first, last = float_rows(cur.win)
  local top, bottom = text_rows(chat_win)
  expect.eq(last + 1, bottom, what .. ": the float's bottom border is the chat's last text row")
  expect.truthy(first - 1 >= top, what .. ": the float's top border is in the chat's text")
  if not choices_only then
    expect.truthy(first - 1 > top, what .. ": some of the chat stays visible above the float")
    -- the chat's end is visible, just above the float
    local n = api.nvim_buf_line_count(api.nvim_win_get_buf(chat_win))
    local r = row_of(chat_win, n)
    expect.truthy(r > 0, what .. ": the chat's last line is in its view")
    expect.truthy(r < first - 1, ("%s: the chat's last line (row %d) is above the float (its border on row %d)"):format(what, r, first - 1))
  end
  -- every choice is on a row of the float
  for i, lnum in ipairs(cur.choice_lines) do
    local cr = row_of(cur.win, lnum)
    expect.truthy(cr >= first and cr <= last, ("%s: choice %d (line %d) on the float's rows %d-%d, not %d"):format(what, i, lnum, first, last, cr))
  end
  return cur
end

describe("ui: approval float layout", function()
  local notes = env_lib.capture_notify({ quiet = true })
  local lines, columns = vim.o.lines, vim.o.columns
  teardown(function()
    notes.restore()
    vim.o.lines, vim.o.columns = lines, columns
  end)
  before_each(function()
    vim.o.lines, vim.o.columns = 24, 100
  end)
  after_each(function()
    for _, tid in ipairs(attached) do
      approval.attach(tid, nil)
    end
    attached = {}
    local keep = api.nvim_list_wins()[1]
    for _, w in ipairs(api.nvim_list_wins()) do
      if w ~= keep and api.nvim_win_is_valid(w) then pcall(api.nvim_win_close, w, true) end
    end
    pcall(vim.cmd, "silent! only")
  end)

  it("24 lines, split layout: a long diff keeps its choices and the chat's end in view; a steer goes above", function()
    local tid = "layout-split"
    local win, input_win, buf = split_chat(tid)
    attach(tid, win, input_win)
    local r = patch_req(tid, 3, 20)
    approval.handle(r)
    local cur = expect_layout(tid, win, "patch")
    expect.truthy(cur.compact, "the choices come before the diff")
    expect.eq(api.nvim_get_current_win(), input_win, "focus stays in the input")
    -- a steer arrives while the prompt is shown: the chat follows its end, above the float
    api.nvim_buf_set_lines(buf, -1, -1, false, { "", "## You (steering)", "", "never mind, stop" })
    api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(buf), 0 })
    env_lib.wait(function()
      vim.cmd("redraw")
      local first = float_rows(cur.win)
      local rr = row_of(win, api.nvim_buf_line_count(buf))
      return rr > 0 and rr < first - 1
    end, "the steer above the float", 2000)
    expect_layout(tid, win, "after the steer")
    r:settle()
    expect.falsy(approval.current(tid))
    vim.cmd("redraw")
    local _, bottom = text_rows(win)
    expect.eq(row_of(win, api.nvim_buf_line_count(buf)), bottom, "without the float the last line is on the last row again")
  end)

  it("24 lines: a command prompt with all its fields fits, choices last", function()
    local tid = "layout-cmd"
    local win, input_win = split_chat(tid)
    attach(tid, win, input_win)
    approval.handle(cmd_req(tid))
    local cur = expect_layout(tid, win, "command")
    local text = table.concat(api.nvim_buf_get_lines(cur.buf, 0, -1, false), "\n")
    expect.match(text, "%$ echo demo%-ok && ls %-la")
    approval.focus(tid)
    expect.eq(api.nvim_win_get_cursor(cur.win)[1], cur.choice_lines[1])
    vim.cmd("redraw")
    local first = float_rows(cur.win)
    expect.eq(row_of(cur.win, 1), first, "the title is on the first row")
  end)

  it("float layout: inside the chat float's text, above it, choices shown (the chat's end too when there is room)", function()
    vim.o.lines, vim.o.columns = 45, 140
    -- chat.height 0.6: room for the prompt and the chat's end
    local tid = "layout-float"
    local win, input_win = float_chat(0.6)
    attach(tid, win, input_win)
    approval.handle(cmd_req(tid))
    local cur = expect_layout(tid, win, "float layout")
    local cfg, chat_cfg = api.nvim_win_get_config(cur.win), api.nvim_win_get_config(win)
    expect.truthy(cfg.zindex > (chat_cfg.zindex or 50), "above the chat float")
    local info = vim.fn.getwininfo(win)[1]
    expect.eq(num(cfg.col), info.wincol, "inside the chat's left border")
    expect.eq(cfg.width + 2, info.width, "as wide as the chat's text")
    -- the default chat.height (0.4): a 10-row chat; the choices are never cut (capture 6)
    approval.attach(tid, nil)
    for _, w in ipairs({ cur.win, win, input_win }) do pcall(api.nvim_win_close, w, true) end
    local tid2 = "layout-float-small"
    win, input_win = float_chat(0.4)
    attach(tid2, win, input_win)
    approval.handle(cmd_req(tid2))
    expect_layout(tid2, win, "default float layout", true)
  end)

  it("]f / [f show each file without scrolling past the end; the title stays when all fits", function()
    vim.o.lines, vim.o.columns = 60, 120
    local tid = "layout-files"
    local win, input_win = split_chat(tid)
    attach(tid, win, input_win)
    approval.handle(patch_req(tid, 3, 3))
    local cur = approval.current(tid)
    expect.falsy(cur.compact, "a short patch fits")
    approval.focus(tid)
    for _, k in ipairs({ "]f", "]f", "]f", "[f" }) do
      api.nvim_feedkeys(api.nvim_replace_termcodes(k, true, false, true), "x", false)
      expect.eq(vim.fn.line("w0"), 1, k .. ": no scrolling when it all fits (the title stays)")
    end
    expect.eq(api.nvim_win_get_cursor(0)[1], cur.files[2], "from the choices: 1, 2, 3, back to 2")
    -- a long patch: the file's header goes to the top, but never past the end
    approval.attach(tid, nil)
    pcall(api.nvim_win_close, cur.win, true)
    local tid2 = "layout-files-long"
    attach(tid2, win, input_win)
    approval.handle(patch_req(tid2, 3, 30))
    cur = approval.current(tid2)
    approval.focus(tid2)
    local n = api.nvim_buf_line_count(cur.buf)
    for _, k in ipairs({ "]f", "]f", "]f" }) do
      api.nvim_feedkeys(api.nvim_replace_termcodes(k, true, false, true), "x", false)
      vim.cmd("redraw")
      local top, bottom = vim.fn.line("w0"), vim.fn.line("w$")
      expect.truthy(top <= api.nvim_win_get_cursor(0)[1], k .. ": the file's header is shown")
      expect.truthy(bottom < n or row_of(cur.win, n) == select(2, float_rows(cur.win)),
        k .. ": no blank rows after the last line")
    end
    expect.eq(api.nvim_win_get_cursor(0)[1], cur.files[3])
  end)

  it("tells the host an item's prompt waits and when it is over (item_state)", function()
    local tid = "layout-items"
    local win, input_win = split_chat(tid)
    local states = {}
    attach(tid, win, input_win, states)
    local a, b = cmd_req(tid, "item-a"), patch_req(tid, 1, 2, "item-b")
    approval.handle(a)
    approval.handle(b)
    expect.same(states, { { "item-a", "approval" }, { "item-b", "approval" } }, "shown and queued")
    approval.focus(tid)
    api.nvim_feedkeys("g1", "x", false)
    expect.truthy(a.answered)
    expect.same(states[3], { "item-a", nil }, "answered")
    b:settle()
    expect.same(states[4], { "item-b", nil }, "resolved by the server")
    -- no item, or a permissions request: nothing to tell
    local c = fake_req("item/commandExecution/requestApproval", { threadId = tid, command = "ls" })
    local p = fake_req("item/permissions/requestApproval", { threadId = tid, itemId = "item-p", permissions = {} })
    approval.handle(c)
    approval.handle(p)
    expect.eq(#states, 4)
    c:settle()
    p:settle()
    expect.eq(#states, 4)
    -- a prompt queued before the chat attached: told when it attaches
    local hidden = "layout-items-hidden"
    local later = {}
    local h = cmd_req(hidden, "item-h")
    approval.handle(h)
    local later = {}
    attach(hidden, win, input_win, later)
    expect.same(later, { { "item-h", "approval" } })
    h:settle()
    expect.same(later[2], { "item-h", nil })
  end)
end)
