-- The chat's windows and keys (issue 9: #3, #4, #22, #26, #28), in headless Neovim against the
-- real app-server and the mock.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local sandbox = require("lib.env")
local api = vim.api

local function t(s) return api.nvim_replace_termcodes(s, true, false, true) end
local function keys(s, mode) api.nvim_feedkeys(t(s), mode or "x", false) end
local function input_text(c) return table.concat(api.nvim_buf_get_lines(c.input_buf, 0, -1, false), "\n") end

--- Types keys with "x!" (Neovim stays in insert mode until something leaves it): once done()
--- is true (or after ms), records the mode and the current window, then types <Esc>.
local function keys_in_insert(s, done, ms)
  local seen = {}
  local timer = vim.loop.new_timer()
  local deadline = vim.loop.now() + (ms or 10000)
  timer:start(10, 10, vim.schedule_wrap(function()
    if seen.mode then return end
    if not done() and vim.loop.now() < deadline then return end
    seen.mode, seen.win, seen.done = api.nvim_get_mode().mode, api.nvim_get_current_win(), done()
    timer:stop()
    timer:close()
    api.nvim_input("<Esc>")
  end))
  api.nvim_feedkeys(t(s), "x!", false)
  return seen
end

local function windows() return #api.nvim_tabpage_list_wins(0) end

describe("chat windows and keys", function()
  local env = ui.env()
  teardown(env.close)
  local chat_mod = require("codex.ui.chat")
  local help = require("codex.ui.chat_help")
  before_each(ui.settle_chats)
  -- Options for one test, over the suite's: the shared client stays (the same client options).
  local base = vim.deepcopy(require("codex.config").get().client)
  local function configure(extra)
    local o = { client = base }
    for k, v in pairs(extra or {}) do o[k] = v end
    require("codex").setup(o)
  end
  after_each(function()
    ui.settle_chats()
    configure() -- back to the default options
  end)

  -- #3
  it("<C-c> in insert mode interrupts the turn and stays in insert mode", function()
    local c = ui.new_chat()
    c:send("[[slow]]")
    ui.wait_text(c.buf, "## Codex\n\none ")
    local interrupts, real = 0, c.turn.interrupt
    c.turn.interrupt = function(...)
      interrupts = interrupts + 1
      return real(...)
    end
    api.nvim_set_current_win(c.input_win)
    local seen = keys_in_insert("i<C-c>next", function() return interrupts > 0 and input_text(c) == "next" end)
    expect.eq(interrupts, 1, "turn/interrupt sent")
    expect.eq(seen.mode, "i", "still in insert mode")
    expect.eq(input_text(c), "next", "what was typed next is text")
    ui.wait_text(c.buf, "_— interrupted_")
    ui.wait_idle(c, 5000)
  end)

  it("<C-c> in insert mode with no turn running says so and stays in insert mode", function()
    local c = ui.new_chat()
    local cap = sandbox.capture_notify({ quiet = true })
    finally(cap.restore)
    api.nvim_set_current_win(c.input_win)
    local seen = keys_in_insert("i<C-c>more", function() return input_text(c) == "more" end)
    cap.restore()
    expect.eq(seen.mode, "i")
    expect.eq(input_text(c), "more")
    expect.truthy(cap.find("no turn is running"), "told: " .. cap.text())
  end)

  -- #22
  it("i a I A o O in the chat buffer type in the input, at its end", function()
    local c = ui.new_chat()
    api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "first", "abc" })
    for _, key in ipairs({ "i", "a", "I", "A", "o", "O" }) do
      api.nvim_set_current_win(c.win)
      keys(key .. key .. "<Esc>")
      expect.eq(api.nvim_get_current_win(), c.input_win, key .. " went to the input")
    end
    expect.eq(input_text(c), "first\nabciaIAoO")
    expect.eq(ui.text(c.buf), "", "the transcript is unchanged")
  end)

  -- #4
  it("new, fork and resume reuse the chat windows; the hidden chat streams on", function()
    local a = ui.new_chat()
    local n = windows()
    local a_win, a_input = a.win, a.input_win
    a:send("[[slow]]")
    ui.wait_text(a.buf, "## Codex\n\none ")
    vim.cmd("Codex new")
    local b = chat_mod.current()
    expect.truthy(b ~= a)
    expect.eq(windows(), n, "no new window")
    expect.eq(b.win, a_win)
    expect.eq(b.input_win, a_input)
    expect.eq(api.nvim_get_current_win(), b.input_win)
    expect.falsy(a:visible())
    expect.eq(a.state, "running", "the hidden chat's turn goes on")
    ui.wait_text(a.buf, "ten", 20000)
    ui.wait_idle(a)
    -- resume (an open chat shows again): it takes the windows back
    a:show()
    expect.eq(windows(), n)
    expect.eq(a.win, a_win)
    expect.truthy(a:visible())
    expect.falsy(b:visible())
    -- showing a visible chat only focuses its input
    api.nvim_set_current_win(a.win)
    a:show()
    expect.eq(api.nvim_get_current_win(), a.input_win)
    expect.eq(windows(), n)
    -- fork: the fork's chat takes the windows
    vim.cmd("Codex fork")
    local fork = wait_for(function()
      local cur = chat_mod.current()
      return cur ~= a and cur ~= b and cur.thread_id and cur or nil
    end, 20000, "the fork's chat")
    ui.wait_text(fork.buf, "one two")
    expect.eq(windows(), n)
    expect.eq(fork.win, a_win)
    expect.falsy(a:visible())
    -- `:Codex` hides what is shown, then shows the most recent chat
    vim.cmd("Codex")
    expect.eq(windows(), n - 2)
    vim.cmd("Codex")
    expect.eq(chat_mod.current(), fork)
    expect.truthy(fork:visible())
  end)

  it("prefers the chat in the current window when several are shown", function()
    configure({ chat = { reuse_window = false } })
    local a, b = ui.new_chat(), ui.new_chat()
    configure()
    local n = windows()
    api.nvim_set_current_win(a.win) -- b is the most recent, a is under the cursor
    local c = ui.new_chat()
    expect.eq(windows(), n)
    expect.falsy(a:visible())
    expect.truthy(b:visible())
    expect.truthy(c:visible())
  end)

  it("chat.reuse_window = false opens new windows each time", function()
    configure({ chat = { reuse_window = false } })
    local a = ui.new_chat()
    local n = windows()
    vim.cmd("Codex new")
    local b = chat_mod.current()
    expect.truthy(b ~= a)
    expect.eq(windows(), n + 2)
    expect.truthy(a:visible())
    expect.truthy(b:visible())
  end)

  -- #26
  it("keeps the configured width when the editor is resized", function()
    local columns = vim.o.columns
    finally(function() vim.o.columns = columns end)
    local function resize(cols)
      vim.o.columns = cols
      -- (0.7 sends VimResized only for a real terminal resize)
      if vim.fn.has("nvim-0.8") == 0 then vim.cmd("doautocmd VimResized") end
    end
    api.nvim_set_current_win(api.nvim_list_wins()[1])
    local c = ui.new_chat()
    resize(200)
    expect.eq(api.nvim_win_get_width(c.win), 80)
    resize(100)
    expect.eq(api.nvim_win_get_width(c.win), 40)
    expect.eq(api.nvim_win_get_width(c.input_win), 40)
  end)

  it("says when new output arrives below a cursor that does not follow, until it reaches the end", function()
    local c = ui.new_chat()
    c:send("[[markdown]]")
    ui.wait_text(c.buf, "```lua")
    ui.wait_idle(c)
    expect.falsy(c:hint_shown(), "no hint while the view follows")
    api.nvim_set_current_win(c.win)
    api.nvim_win_set_cursor(c.win, { 1, 0 })
    c:send("[[slow]]")
    wait_for(function() return c:hint_shown() end, 20000, "the hint")
    local hint = api.nvim_buf_get_lines(api.nvim_win_get_buf(c.hint_win), 0, -1, false)[1]
    expect.match(hint, "new output")
    local cfg = api.nvim_win_get_config(c.hint_win)
    expect.eq(cfg.relative, "win")
    expect.eq(api.nvim_win_get_cursor(c.win)[1], 1, "the cursor stayed")
    -- G: the cursor is at the end (CursorMoved, which typed keys of a test do not send)
    api.nvim_set_current_win(c.win)
    keys("G")
    vim.cmd("doautocmd CursorMoved")
    expect.falsy(c:hint_shown(), "gone at the end")
    -- up again: back; at the end by other means: the next write that follows removes it
    api.nvim_win_set_cursor(c.win, { 1, 0 })
    wait_for(function() return c:hint_shown() end, 20000, "the hint again")
    api.nvim_win_set_cursor(c.win, { api.nvim_buf_line_count(c.buf), 0 })
    wait_for(function() return not c:hint_shown() end, 20000, "the hint to go with the next write")
  end)

  it(":qa stops while an input holds unsent text (E37/E162); an empty input never blocks it", function()
    -- In a child Neovim (a :qa that works ends it): the plugin as at startup, a chat shown.
    local function child(input)
      local argv = ui.nvim_argv()
      vim.list_extend(argv, { "--headless", "-u", "NONE", "-i", "NONE", "--cmd", "set rtp^=" .. vim.fn.fnameescape(TEST_ROOT),
        "--cmd", "runtime! plugin/codex.lua",
        "-c", ("lua local c = require('codex.ui.chat').open({}); vim.api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { %q })"):format(input),
        "-c", "qa", "-c", "lua io.stdout:write('STILL HERE ' .. vim.api.nvim_buf_get_name(0) .. ' ' .. vim.fn.bufname('#') .. '\\n')",
        "-c", "qa!" })
      return vim.fn.system(argv)
    end
    local out = child("an unsent message")
    expect.match(out, "STILL HERE")
    expect.match(out, "E%d+: No write since last change")
    expect.match(out, "codex://input/")
    out = child("")
    expect.falsy(out:find("STILL HERE", 1, true), out)
  end)

  -- #28
  it("an empty chat shows a welcome with its keys, as virtual lines, gone with the first message", function()
    local c = ui.new_chat()
    local w = help.welcome_text(c.buf)
    expect.truthy(w, "a welcome")
    for _, k in ipairs({ "<C%-s>", "<C%-q>", "<C%-c>", "<C%-a>", "q ", "g%?" }) do expect.match(w, k) end
    expect.eq(ui.text(c.buf), "", "no buffer text")
    c:send("hello there")
    ui.wait_text(c.buf, "Hello from the mock model!")
    wait_for(function() return help.welcome_text(c.buf) == nil end, 5000, "the welcome to go")
    ui.wait_idle(c)
    -- a key set to false is not listed
    configure({ keymaps = { stop = false } })
    local d = ui.new_chat()
    w = help.welcome_text(d.buf)
    expect.falsy(w:find("<C-c>", 1, true), w)
    expect.match(w, "<C%-s>")
  end)

  it("g? lists every key of the chat in a float; q closes it", function()
    local c = ui.new_chat()
    api.nvim_set_current_win(c.win)
    keys("g?")
    local win = help.win()
    expect.truthy(win, "the key list")
    expect.eq(api.nvim_get_current_win(), win)
    local text = ui.text(api.nvim_win_get_buf(win))
    for _, s in ipairs({ "<C-s>", "<C-q>", "<C-c>", "<C-a>", "gK", "g?", "<Plug>(codex-stop)", "type in the input",
      "<Plug>(codex-send-selection)", "]f" }) do
      expect.truthy(text:find(s, 1, true), s .. " listed in:\n" .. text)
    end
    keys("q")
    expect.falsy(help.win())
    expect.eq(api.nvim_get_current_win(), c.win, "back where it was opened")
    -- from the input too
    api.nvim_set_current_win(c.input_win)
    keys("g?")
    expect.truthy(help.win())
    keys("<Esc>")
    expect.falsy(help.win())
  end)

  it("defines the <Plug> mappings; <Plug>(codex-send-selection) sends the selection", function()
    for _, p in ipairs({ { "send", "ni" }, { "queue", "ni" }, { "stop", "ni" }, { "approval", "ni" }, { "close", "n" },
      { "help", "n" }, { "load-earlier", "n" }, { "toggle", "n" }, { "send-selection", "x" } }) do
      for mode in p[2]:gmatch(".") do
        local m = vim.fn.maparg("<Plug>(codex-" .. p[1] .. ")", mode, false, true)
        expect.truthy(m.lhs, p[1] .. " in mode " .. mode)
        expect.truthy(type(m.desc) == "string" and m.desc:find("^codex: ") ~= nil, p[1] .. " has a desc")
      end
    end
    for name, plug in pairs(help.PLUGS) do
      expect.truthy(vim.fn.maparg(plug, "n") ~= "", name .. " → " .. plug)
    end
    local c = ui.new_chat()
    vim.cmd("wincmd t")
    local code = api.nvim_create_buf(false, true) -- (scratch: never "modified", :qa stays possible)
    finally(function() pcall(api.nvim_buf_delete, code, { force = true }) end)
    api.nvim_win_set_buf(0, code)
    api.nvim_buf_set_lines(code, 0, -1, false, { "local x = 1", "return x" })
    vim.keymap.set("x", "<leader>cs", "<Plug>(codex-send-selection)", { remap = true })
    finally(function() pcall(vim.keymap.del, "x", "<leader>cs") end)
    keys("ggVj\\cs", "xm")
    ui.wait_text(c.buf, "## You\n\n%[No Name%]:1%-2\n```\nlocal x = 1\nreturn x\n```")
    ui.wait_idle(c)
    -- <Plug>(codex-stop) with no turn: says so
    local cap = sandbox.capture_notify({ quiet = true })
    finally(cap.restore)
    keys("<Plug>(codex-stop)", "xm")
    cap.restore()
    expect.truthy(cap.find("no turn is running"), cap.text())
  end)
end)
