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
      expect.eq(words(got)[1], "@src/main.lua")
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
end)
