-- The chat's bar, statusline and notifications (review ux-2026-12 #20, #21, #23): the winbar
-- (0.7: the statusline) keeps model and state when narrow, labels its numbers and shows the
-- thread's name; the statusline names the thread; a turn that ends, or an approval that
-- waits, while the user is elsewhere is announced by the chat's name, never its id.
-- Headless Neovim against the real app-server + mock.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local api = vim.api

local has_winbar = vim.fn.has("nvim-0.8") == 1

--- The chat window's bar as drawn, at most `width` cells wide.
local function bar_drawn(c, width)
  local opt = has_winbar and vim.wo[c.win].winbar or vim.wo[c.win].statusline
  local o = { winid = c.win, maxwidth = width }
  if has_winbar then o.use_winbar = true end
  return api.nvim_eval_statusline(opt, o).str
end

local function capture_notify()
  local cap = require("lib.env").capture_notify({ quiet = true })
  finally(cap.restore)
  return cap
end

describe("chat bar", function()
  local env = ui.env()
  teardown(env.close)
  local chat_mod = require("codex.ui.chat")
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    env.setup()
  end)

  local function chat_with_turn(text)
    local c = ui.new_chat()
    c:send(text or "hello")
    ui.wait_text(c.buf, "Hello from the mock model!")
    ui.wait_idle(c)
    return c
  end

  it("labels the numbers: context used of the model's window, tokens used", function()
    local c = chat_with_turn()
    local s = c:status_text()
    local t = c.tokens
    local pct = math.floor(t.last.totalTokens * 100 / t.modelContextWindow + 0.5)
    expect.match(s, "· ctx " .. pct .. "%%")
    expect.match(s, "· 15 tokens used$")
  end)

  it("shows the effort before any :Codex model: the thread's, else the model's default", function()
    local c = chat_with_turn()
    local effort = c.thread.settings.reasoningEffort
    if type(effort) ~= "string" then
      for _, m in ipairs(require("codex.session").client():models()) do
        if m.id == "mock-model" then effort = m.defaultReasoningEffort end
      end
    end
    expect.eq(type(effort), "string", "the catalog has a default effort")
    wait_for(function() return c:status_text():find("^Codex · mock%-model %(" .. effort .. "%) · idle") end, 10000,
      function() return "the effort in " .. c:status_text() end)
  end)

  it("a narrow bar keeps the model and the state, cut from the right; a wide one ends with the name", function()
    local c = chat_with_turn("a name long enough to be cut off at the right")
    local wide = bar_drawn(c, 200)
    expect.match(wide, "^Codex · mock%-model.* · idle · ")
    expect.match(wide, "a name long enough to be cut off at the…$")
    local narrow = bar_drawn(c, 30)
    expect.match(narrow, "^Codex · mock%-model")
    expect.truthy(vim.fn.strdisplaywidth(narrow) <= 30, narrow)
    local state = bar_drawn(c, 40)
    expect.match(state, "^Codex · mock%-model[^·]* · idle")
    -- a bar just too wide for the name: a space still sets the name apart from the bar
    local status = c:status_text()
    local tight = bar_drawn(c, vim.fn.strdisplaywidth(status) + 5)
    expect.match(tight, "^" .. vim.pesc(status) .. " a ", "the name apart from the bar: " .. tight)
  end)

  it("the statusline of the chat window names the thread, not its codex:// URI", function()
    local c = chat_with_turn("name in the statusline")
    local sl = api.nvim_eval_statusline(vim.wo[c.win].statusline, { winid = c.win, maxwidth = 120 }).str
    expect.match(sl, "name in the statusline")
    expect.falsy(sl:find("codex://", 1, true), sl)
    expect.falsy(sl:find(c.thread_id, 1, true), sl)
  end)

  it("a renamed thread's name shows in the bar at once", function()
    local c = chat_with_turn()
    capture_notify()
    vim.cmd("Codex rename Bar name")
    wait_for(function() return c:title() == "Bar name" end, 10000, "the rename")
    expect.match(bar_drawn(c, 200), "Bar name$")
  end)

  it("a turn that ends while its chat is hidden is announced by the chat's first words", function()
    local c = ui.new_chat()
    local msgs = capture_notify()
    c:send("hidden turn please")
    c:hide()
    ui.wait_idle(c)
    local n = wait_for(function() return msgs.find("is done") end, 10000, "the notification")
    expect.match(n.msg, '^Codex: "hidden turn please" is done')
    expect.falsy(n.msg:find(c.thread_id, 1, true), "no thread id: " .. n.msg)
  end)

  it("a turn that ends while another window has focus is announced; one watched is not", function()
    local c = ui.new_chat()
    local msgs = capture_notify()
    c:send("watched")
    ui.wait_idle(c)
    ui.flush()
    expect.falsy(msgs.find("is done"), "watched: no notification")
    c:send("[[slow]] elsewhere")
    ui.wait_text(c.buf, "## Codex\n\none ")
    vim.cmd("wincmd t") -- the editor window
    expect.truthy(api.nvim_get_current_win() ~= c.win and api.nvim_get_current_win() ~= c.input_win)
    c:stop()
    wait_for(function() return c.state == "idle" end, 20000, "the interrupted turn")
    local n = wait_for(function() return msgs.find("was interrupted") end, 10000, "the notification")
    expect.match(n.msg, '"watched" was interrupted')
  end)

  it("an approval waiting in a hidden chat is announced by the chat's first words, not its id", function()
    local c = ui.new_chat()
    local msgs = capture_notify()
    c:send("[[exec]] echo labelled")
    c:hide()
    local n = wait_for(function() return msgs.find("waiting for your approval") end, 20000, "the approval notification")
    expect.match(n.msg, 'in "%[%[exec%]%] echo labelled"')
    expect.falsy(n.msg:find(c.thread_id, 1, true), "no thread id: " .. n.msg)
    expect.eq(c.approval_host.label(), "[[exec]] echo labelled")
    c:stop() -- (its "interrupted" notice is captured too)
    ui.wait_idle(c)
    wait_for(function() return msgs.find("was interrupted") end, 10000, "the interrupted notice")
  end)
end)
