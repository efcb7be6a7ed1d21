-- The composer (issue 12): `@` files from the real app-server's fuzzyFileSearch, `#` context,
-- `$` skills, `/` commands, images, history, edit-and-resend, fork from here. Each test makes
-- its own chat; what was sent is read back from the thread's stored turns (the server's own
-- record of the turn/start input) and from the mock's request log.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local env_lib = require("lib.env")
local api = vim.api

local function keys(s) api.nvim_feedkeys(api.nvim_replace_termcodes(s, true, false, true), "x", false) end

--- The user message items of the thread's stored turns, oldest first.
local function stored_inputs(thread)
  local page
  thread:turns({ sort_direction = "asc", items_view = "full" }, function(err, p)
    assert(not err, err and tostring(err.message))
    page = p
  end)
  env_lib.wait(function() return page end, "thread/turns/list")
  local out = {}
  for _, t in ipairs(page.turns) do
    for _, it in ipairs(t.items or {}) do
      if it.type == "userMessage" then out[#out + 1] = it.content end
    end
  end
  return out, page.turns
end

local function texts_of(content)
  local out = {}
  for _, c in ipairs(content) do if c.type == "text" then out[#out + 1] = c.text end end
  return table.concat(out, "\n")
end

local function of_type(content, t)
  local out = {}
  for _, c in ipairs(content) do if c.type == t then out[#out + 1] = c end end
  return out
end

--- Types keys with "x!" (Neovim stays in insert mode): a timer polls done() (in insert mode,
--- the menu up), then types <Esc>. Returns what done() returned last.
local function in_insert(s, done, ms)
  local seen = {}
  local timer = vim.loop.new_timer()
  local deadline = vim.loop.now() + (ms or 10000)
  timer:start(10, 10, vim.schedule_wrap(function()
    if seen.over then return end
    seen.value = done()
    if not seen.value and vim.loop.now() < deadline then return end
    seen.over = true
    timer:stop()
    timer:close()
    api.nvim_input("<Esc>")
  end))
  api.nvim_feedkeys(api.nvim_replace_termcodes(s, true, false, true), "x!", false)
  return seen.value
end

--- The completion menu's words, once it shows.
local function menu()
  if vim.fn.pumvisible() ~= 1 then return nil end
  local out = {}
  for i, it in ipairs(vim.fn.complete_info({ "items" }).items) do out[i] = it.word end
  return #out > 0 and out or nil
end

local function type_input(c, text)
  api.nvim_set_current_win(c.input_win)
  api.nvim_buf_set_lines(c.input_buf, 0, -1, false, vim.split(text, "\n"))
end

local function send(c, text)
  type_input(c, text)
  c:send_input()
  ui.wait_idle(c)
end

describe("composer", function()
  local env = ui.env()
  teardown(env.close)
  local chat_mod = require("codex.ui.chat")
  local complete = require("codex.ui.complete")
  local composer = require("codex.ui.composer")
  local ws = env.workspace
  vim.fn.mkdir(ws .. "/src/sub", "p")
  ui.write(ws .. "/src/main.lua", "print('main')\n")
  ui.write(ws .. "/src/sub/helper.lua", "return 1\n")
  ui.write(ws .. "/README.md", "# readme\n")
  before_each(ui.settle_chats)
  after_each(function()
    pcall(vim.cmd, "stopinsert")
    ui.settle_chats()
  end)
  ui.fail_on_reported_errors()

  --- Items for a trigger, waited for.
  local function items_for(c, char, query)
    local got
    complete.items(c, { char = char, query = query }, function(l) got = l end)
    env_lib.wait(function() return got end, "completion items for " .. char .. query)
    return got
  end

  local function words(list)
    local out = {}
    for i, it in ipairs(list) do out[i] = it.word end
    return out
  end

  describe("@ files", function()
    it("come from the server's fuzzyFileSearch over the chat's cwd, in its order", function()
      local c = ui.new_chat()
      local got = items_for(c, "@", "main")
      expect.eq(words(got)[1], "@src/main.lua", ("in %s: %s"):format(c.cwd, table.concat(words(got), " ")))
      expect.eq(got[1].equal, 1, "Vim must not filter the server's fuzzy matches")
      got = items_for(c, "@", "hlp")
      expect.same(words(got), { "@src/sub/helper.lua" }, "fuzzy: h-l-p")
    end)

    it("pop up with <C-x><C-u> in the input buffer (completefunc)", function()
      local c = ui.new_chat()
      require("codex.config").get().composer.auto_complete = false
      finally(function() require("codex.config").get().composer.auto_complete = true end)
      api.nvim_set_current_win(c.input_win)
      local seen = in_insert("ihello @mai<C-x><C-u>", menu)
      expect.same(seen and seen[1], "@src/main.lua")
    end)

    it("pop up as you type after @ (debounced)", function()
      local c = ui.new_chat()
      api.nvim_set_current_win(c.input_win)
      local seen = in_insert("isee @READ", menu)
      expect.same(seen and seen[1], "@README.md")
      -- without as-you-type, nothing pops up
      require("codex.config").get().composer.auto_complete = false
      finally(function() require("codex.config").get().composer.auto_complete = true end)
      api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "" })
      local shown = false
      in_insert("isee @READ", function()
        shown = shown or menu() ~= nil
        return false
      end, 500)
      expect.falsy(shown)
    end)

    it("become mention items when sent; the text keeps @path", function()
      local c = ui.new_chat()
      items_for(c, "@", "helper") -- (picked from the menu: known to the chat)
      send(c, "look at @src/sub/helper.lua and @README.md, please")
      local inputs = stored_inputs(c.thread)
      local content = inputs[#inputs]
      expect.eq(texts_of(content), "look at @src/sub/helper.lua and @README.md, please")
      local m = of_type(content, "mention")
      expect.eq(#m, 2)
      expect.eq(m[1].path, ws .. "/src/sub/helper.lua")
      expect.eq(m[1].name, "helper.lua")
      expect.eq(m[2].path, ws .. "/README.md")
      expect.match(ui.text(c.buf), "look at @src/sub/helper.lua and @README.md, please\n%- file: src/sub/helper.lua\n%- file: README.md")
    end)

    it("a word after @ that names no file is only text", function()
      local c = ui.new_chat()
      send(c, "mail me @nobody")
      local inputs = stored_inputs(c.thread)
      expect.eq(#of_type(inputs[#inputs], "mention"), 0)
    end)
  end)

  describe("# context", function()
    --- A file buffer in a window left of the chat, with lines; returns its buffer.
    local function file_buf(name, lines, ft)
      vim.cmd("silent! only")
      vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/" .. name))
      api.nvim_buf_set_lines(0, 0, -1, false, lines)
      vim.bo.filetype = ft or ""
      return api.nvim_get_current_buf()
    end

    it("is completed after #", function()
      local c = ui.new_chat()
      expect.same(words(items_for(c, "#", "diag")), { "#diagnostics", "#diagnostics:all" })
      expect.same(words(items_for(c, "#", "b")), { "#buffer", "#buffers" })
    end)

    it("#selection and #diagnostics expand into fenced context when sent; the preview says what goes", function()
      local buf = file_buf("sel.lua", { "local a = 1", "local b = 2", "local c = 3", "return a" }, "lua")
      vim.cmd("normal! 2GVj\27") -- lines 2-3: the last visual range
      local dns = api.nvim_create_namespace("composer_spec")
      vim.diagnostic.set(dns, buf, { { lnum = 3, col = 7, severity = vim.diagnostic.severity.WARN, message = "unused a", source = "luals" } })
      finally(function() vim.diagnostic.reset(dns) end)
      local c = ui.new_chat()
      type_input(c, "explain #selection with #diagnostics and #quickfix")
      composer.refresh(c)
      expect.same(composer.preview_lines(c), {
        "#selection: sel.lua lines 2-3", "#diagnostics: 1 diagnostic (sel.lua)", "#quickfix: none" })
      c:send_input()
      ui.wait_idle(c)
      local inputs = stored_inputs(c.thread)
      expect.eq(texts_of(inputs[#inputs]), table.concat({
        "explain #selection with #diagnostics and #quickfix",
        "",
        "#selection: sel.lua lines 2-3",
        "```lua",
        "local b = 2",
        "local c = 3",
        "```",
        "",
        "#diagnostics: sel.lua",
        "```",
        "sel.lua:4:8: WARN: unused a [luals]",
        "```",
      }, "\n"))
      -- the transcript shows the message as typed, and what went with it
      expect.match(ui.text(c.buf), "## You\n\nexplain #selection with #diagnostics and #quickfix\n%- #selection: sel.lua lines 2%-3\n")
      expect.falsy(ui.text(c.buf):find("local b = 2", 1, true), "the context is not echoed in full")
    end)

    it("an empty attachment is visible before sending: #diagnostics: none", function()
      file_buf("clean.lua", { "return 1" }, "lua")
      local c = ui.new_chat()
      type_input(c, "any problems? #diagnostics")
      composer.refresh(c)
      expect.same(composer.preview_lines(c), { "#diagnostics: none" })
      type_input(c, "nothing attached")
      composer.refresh(c)
      expect.same(composer.preview_lines(c), {})
    end)

    it("#buffer fences with a longer fence when the text holds one; #diagnostics:all lists every buffer's", function()
      local a = file_buf("a.md", { "text", "```lua", "x()", "```" }, "markdown")
      local dns = api.nvim_create_namespace("composer_spec_all")
      local b = vim.fn.bufadd(ws .. "/b.lua")
      vim.fn.bufload(b)
      vim.diagnostic.set(dns, a, { { lnum = 0, col = 0, severity = vim.diagnostic.severity.ERROR, message = "bad" } })
      vim.diagnostic.set(dns, b, { { lnum = 1, col = 2, severity = vim.diagnostic.severity.HINT, message = "hint\nmore" } })
      finally(function() vim.diagnostic.reset(dns) end)
      local vars = require("codex.ui.context_vars")
      local sum, block = vars.expand("#buffer")
      expect.eq(sum, "#buffer: a.md (4 lines)")
      expect.eq(block, "#buffer: a.md lines 1-4\n````markdown\ntext\n```lua\nx()\n```\n````")
      sum, block = vars.expand("#diagnostics:all")
      expect.eq(sum, "#diagnostics:all: 2 diagnostics (workspace)")
      expect.match(block, "a.md:1:1: ERROR: bad\nb.lua:2:3: HINT: hint more\n")
      vim.fn.setqflist({ { filename = ws .. "/a.md", lnum = 2, col = 1, text = "look here", type = "W" } })
      finally(function() vim.fn.setqflist({}) end)
      expect.eq((vars.expand("#quickfix")), "#quickfix: 1 entry")
      expect.match(select(2, vars.expand("#quickfix")), "a.md:2:1: W: look here")
    end)
  end)

  describe("$ skills", function()
    it("are completed from skills/list with descriptions and sent as skill items", function()
      local c = ui.new_chat()
      local got = items_for(c, "$", "image")
      expect.eq(got[1].word, "$imagegen")
      expect.match(got[1].menu, "Generate or edit images")
      expect.match(got[1].info, "raster images")
      send(c, "use $imagegen for a logo")
      local inputs = stored_inputs(c.thread)
      local sk = of_type(inputs[#inputs], "skill")
      expect.eq(#sk, 1)
      expect.eq(sk[1].name, "imagegen")
      expect.match(sk[1].path, "imagegen/SKILL.md$")
    end)
  end)

  describe("/ commands", function()
    it("are completed at the start of the input with descriptions, only those that exist", function()
      local c = ui.new_chat()
      local sub = require("codex.commands").sub
      local got = words(items_for(c, "/", ""))
      expect.truthy(vim.tbl_contains(got, "/status"))
      expect.truthy(vim.tbl_contains(got, "/new"))
      for _, w in ipairs(got) do expect.truthy(sub[w:sub(2)], w .. " exists") end
      local had = sub.undo
      sub.undo = sub.undo or function() end
      finally(function() sub.undo = had end)
      expect.truthy(vim.tbl_contains(words(items_for(c, "/", "un")), "/undo"))
      sub.undo = nil
      expect.falsy(vim.tbl_contains(words(items_for(c, "/", "un")), "/undo"), "not listed without its action")
      expect.same(complete.context("/sta", 4, 1), { char = "/", query = "sta", start = 0 })
      expect.eq(complete.context("x /sta", 6, 1), nil, "only at the start")
      expect.eq(complete.context("/sta", 4, 2), nil, "only on the first line")
    end)

    it("run their :Codex action instead of being sent", function()
      local c = ui.new_chat()
      local sub = require("codex.commands").sub
      local got
      local orig = sub.rename
      sub.rename = function(args) got = args end
      finally(function() sub.rename = orig end)
      type_input(c, "/rename my thread")
      c:send_input()
      expect.same(got, { "my", "thread" })
      expect.eq(c.thread, nil, "nothing was sent")
      expect.eq(ui.text(c.input_buf), "")
      -- an unknown /word is a message
      send(c, "/nosuch thing")
      expect.match(ui.text(c.buf), "## You\n\n/nosuch thing")
    end)
  end)

  describe("history", function()
    it("<Up>/<Down> on the first/last line walk this chat's sent messages, then other chats', then the draft", function()
      local other = ui.new_chat()
      send(other, "from the other chat")
      local c = ui.new_chat()
      send(c, "first")
      send(c, "second\nline two")
      api.nvim_set_current_win(c.input_win)
      api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "my draft" })
      api.nvim_win_set_cursor(c.input_win, { 1, 0 })
      keys("<Up>")
      expect.eq(ui.text(c.input_buf), "second\nline two")
      expect.eq(api.nvim_win_get_cursor(0)[1], 1)
      keys("<Down>") -- (not on the last line: moves down)
      expect.eq(ui.text(c.input_buf), "second\nline two")
      expect.eq(api.nvim_win_get_cursor(0)[1], 2)
      keys("gg<Up>")
      expect.eq(ui.text(c.input_buf), "first")
      keys("<Up>")
      expect.eq(ui.text(c.input_buf), "from the other chat")
      keys("<Down>")
      expect.eq(ui.text(c.input_buf), "first")
      keys("<Down>G<Down>")
      expect.eq(ui.text(c.input_buf), "my draft", "back to the draft")
      -- in insert mode too
      keys("i<Up><Esc>")
      expect.eq(ui.text(c.input_buf), "second\nline two")
    end)

    it("a draft survives hiding the chat and wiping its input buffer", function()
      local c = ui.new_chat()
      type_input(c, "half written")
      c:hide()
      c:show()
      expect.eq(ui.text(c.input_buf), "half written")
      local old = c.input_buf
      vim.cmd("bwipeout! " .. old)
      env_lib.wait(function() return c.input_buf ~= old and api.nvim_buf_is_loaded(c.input_buf) end, "a new input buffer")
      expect.eq(ui.text(c.input_buf), "half written")
    end)
  end)

  describe("images", function()
    local png = ws .. "/shot.png"
    -- a 1x1 PNG
    local bytes = vim.base64 and vim.base64.decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    if not bytes then
      bytes = vim.fn.system({ "base64", "-d" }, "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    end
    ui.write(png, bytes)

    it(":Codex image {path} attaches a localImage, shown in the preview and the transcript", function()
      local c = ui.new_chat()
      vim.cmd("Codex image shot.png")
      type_input(c, "what is in it?")
      composer.refresh(c)
      expect.same(composer.preview_lines(c), { "image: shot.png" })
      c:send_input()
      ui.wait_idle(c)
      local inputs = stored_inputs(c.thread)
      local imgs = of_type(inputs[#inputs], "localImage")
      expect.eq(#imgs, 1)
      expect.eq(imgs[1].path, png)
      expect.match(ui.text(c.buf), "what is in it%?\n%- image: shot.png")
      expect.eq(c.images, nil, "spent with the message")
      local cap = env_lib.capture_notify({ quiet = true })
      finally(cap.restore)
      vim.cmd("Codex image nope.png")
      expect.truthy(cap.find("no such image file: nope.png"))
    end)

    it("the paste key takes the clipboard's image through a clipboard tool, or says none is there", function()
      local c = ui.new_chat()
      local bin = ws .. "/bin"
      vim.fn.mkdir(bin, "p")
      local old_path, old_display, old_wl = vim.env.PATH, vim.env.DISPLAY, vim.env.WAYLAND_DISPLAY
      finally(function() vim.env.PATH, vim.env.DISPLAY, vim.env.WAYLAND_DISPLAY = old_path, old_display, old_wl end)
      vim.env.WAYLAND_DISPLAY = nil
      vim.env.DISPLAY = nil
      local cap = env_lib.capture_notify({ quiet = true })
      finally(cap.restore)
      api.nvim_set_current_win(c.input_win)
      keys("i<M-v><Esc>")
      expect.truthy(cap.find("no clipboard image tool"))
      -- a fake xclip that prints the PNG
      ui.write(bin .. "/xclip", "#!/bin/sh\ncat " .. vim.fn.shellescape(png) .. "\n")
      vim.fn.setfperm(bin .. "/xclip", "rwxr-xr-x")
      vim.env.PATH = bin .. ":" .. old_path
      vim.env.DISPLAY = ":99"
      keys("i<M-v><Esc>")
      expect.eq(#(c.images or {}), 1)
      expect.eq(vim.fn.getfsize(c.images[1]), vim.fn.getfsize(png))
    end)
  end)

  describe("editing the past", function()
    local function line_of(c, text)
      for i, l in ipairs(api.nvim_buf_get_lines(c.buf, 0, -1, false)) do if l == text then return i end end
    end

    it("gE puts a turn's message in the input; sending it asks, reverts the thread to before it, and sends the edit", function()
      local c = ui.new_chat()
      send(c, "turn one")
      send(c, "turn two")
      send(c, "turn three")
      local asked
      local orig = vim.ui.select
      vim.ui.select = function(choices, opts, cb)
        asked = opts.prompt
        cb(choices[1])
      end
      finally(function() vim.ui.select = orig end)
      api.nvim_set_current_win(c.win)
      api.nvim_win_set_cursor(c.win, { line_of(c, "turn two") + 2, 0 }) -- (below it: the answer)
      keys("gE")
      expect.eq(api.nvim_get_current_win(), c.input_win)
      expect.eq(ui.text(c.input_buf), "turn two")
      expect.match(table.concat(composer.preview_lines(c), "\n"), "editing an earlier message")
      api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "turn two, edited" })
      c:send_input()
      ui.wait_text(c.buf, "turn two, edited")
      ui.wait_idle(c)
      expect.match(asked, "This turn and the 1 after it goes from the thread; their file changes stay on disk")
      local _, turns = stored_inputs(c.thread)
      local inputs = stored_inputs(c.thread)
      expect.eq(#turns, 2)
      expect.eq(texts_of(inputs[1]), "turn one")
      expect.eq(texts_of(inputs[2]), "turn two, edited")
      local text = ui.text(c.buf)
      expect.falsy(text:find("turn three", 1, true), "the later turn is gone from the transcript")
      expect.falsy(text:find("turn two\n", 1, true))
      local log = env.mock:requests()
      expect.eq(log[#log].last_user, "turn two, edited")
    end)

    it("a cancelled edit goes back into the input; nothing is reverted", function()
      local c = ui.new_chat()
      send(c, "only turn")
      local orig = vim.ui.select
      vim.ui.select = function(_, _, cb) cb("Cancel") end
      finally(function() vim.ui.select = orig end)
      api.nvim_set_current_win(c.win)
      api.nvim_win_set_cursor(c.win, { line_of(c, "only turn"), 0 })
      keys("gE")
      api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "changed" })
      c:send_input()
      expect.eq(ui.text(c.input_buf), "changed")
      expect.truthy(c.editing)
      local _, turns = stored_inputs(c.thread)
      expect.eq(#turns, 1)
    end)

    it("gF forks the thread through the turn under the cursor into a new chat", function()
      local c = ui.new_chat()
      send(c, "alpha")
      send(c, "beta")
      send(c, "gamma")
      api.nvim_set_current_win(c.win)
      api.nvim_win_set_cursor(c.win, { line_of(c, "beta"), 0 })
      keys("gF")
      local fork
      env_lib.wait(function()
        local cur = chat_mod.current()
        if cur ~= c and cur.thread then fork = cur end
        return fork
      end, "the fork's chat")
      local inputs = stored_inputs(fork.thread)
      expect.eq(#inputs, 2)
      expect.eq(texts_of(inputs[2]), "beta")
      ui.wait_text(fork.buf, "beta")
      expect.falsy(ui.text(fork.buf):find("gamma", 1, true))
    end)
  end)

  describe("nvim-cmp and blink.cmp sources", function()
    it("offer the same items, as CompletionItems that replace the trigger, only in a chat's input", function()
      local c = ui.new_chat()
      api.nvim_set_current_win(c.input_win)
      api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "see #diag x" }) -- (normal mode: the cursor on the space after the word)
      api.nvim_win_set_cursor(c.input_win, { 1, 9 })
      local got
      require("codex.ui.blink").new():get_completions({}, function(r) got = r end)
      env_lib.wait(function() return got end, "blink items")
      expect.same(vim.tbl_map(function(i) return i.textEdit.newText end, got.items), { "#diagnostics", "#diagnostics:all" })
      expect.same(got.items[1].textEdit.range, { start = { line = 0, character = 4 }, ["end"] = { line = 0, character = 9 } })
      api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "@mai x" })
      api.nvim_win_set_cursor(c.input_win, { 1, 4 })
      local cmp_got
      require("codex.ui.cmp").new():complete({}, function(r) cmp_got = r end)
      env_lib.wait(function() return cmp_got end, "cmp items")
      expect.eq(cmp_got.items[1].textEdit.newText, "@src/main.lua")
      expect.eq(cmp_got.items[1].filterText, "@mai", "the engine's own filter keeps the server's matches")
      expect.truthy(cmp_got.isIncomplete)
      expect.truthy(require("codex.ui.cmp").new():is_available())
      vim.cmd("wincmd p")
      vim.cmd("enew")
      expect.falsy(require("codex.ui.cmp").new():is_available())
      expect.falsy(require("codex.ui.blink").new():enabled())
    end)
  end)
end)
