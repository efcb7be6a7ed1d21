-- :Codex archive / unarchive / new / rename / stop / status / resume as a user types them
-- (review ux-2026-12 #5, #18, #19, #20): nothing typed is lost, archive asks and lets go of
-- its chat, names show, the resume list marks open chats and forks. Headless Neovim against
-- the real app-server + mock.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local api = vim.api

--- vim.ui.select answers with the first item pick(item, opts) accepts (nil: none), and
--- records what it was shown; until the test ends.
local function stub_select(pick)
  local orig = vim.ui.select
  finally(function() vim.ui.select = orig end)
  local shown = {}
  vim.ui.select = function(items, opts, cb)
    local lines = {}
    for i, it in ipairs(items) do lines[i] = opts.format_item and opts.format_item(it) or tostring(it) end
    shown[#shown + 1] = { prompt = opts.prompt, lines = lines, items = items }
    for _, it in ipairs(items) do
      if pick(it, opts) then return cb(it) end
    end
    cb(nil)
  end
  return shown
end

local function capture_notify()
  local cap = require("lib.env").capture_notify({ quiet = true })
  finally(cap.restore)
  return cap
end

local function chat_with_turn(text)
  local c = ui.new_chat()
  c:send(text or "hello")
  ui.wait_text(c.buf, "Hello from the mock model!")
  ui.wait_idle(c)
  return c
end

local function listed(opts)
  local ids = {}
  for _, t in ipairs(require("codex.session").client():thread_list(opts).data) do ids[t.id] = t end
  return ids
end

describe(":Codex commands keep what you type", function()
  local env = ui.env()
  teardown(env.close)
  local chat_mod = require("codex.ui.chat")
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    env.setup()
  end)

  it("archive asks first; Cancel keeps the thread", function()
    local c = chat_with_turn()
    local shown = stub_select(function(it) return it == "Cancel" end)
    capture_notify()
    vim.cmd("Codex archive")
    expect.eq(#shown, 1, "asked")
    expect.match(shown[1].prompt, '^Archive "hello"%?')
    ui.flush()
    expect.falsy(listed({ archived = true })[c.thread_id], "not archived")
    expect.eq(chat_mod.current(), c, "still the current chat")
  end)

  it("after archive, :'<,'>Codex {prompt} goes to a live chat with the prompt and the selection", function()
    -- the archived chat is the only one (earlier tests' chats belong to closed clients)
    for _, o in ipairs(chat_mod.all()) do chat_mod.remove(o) end
    local c = chat_with_turn()
    stub_select(function(it) return it == "Archive" end)
    local msgs = capture_notify()
    vim.cmd("Codex archive")
    wait_for(function() return msgs.find("archived") end, 10000, "the archive notification")
    expect.truthy(listed({ archived = true })[c.thread_id], "archived at the server")
    expect.falsy(c:visible(), "its chat closed")
    expect.truthy(chat_mod.current() ~= c, "no longer current")
    expect.falsy(chat_mod.find(c.thread_id), "no longer open")
    local file = env.workspace .. "/after_archive.lua"
    ui.write(file, "local x = 1\nlocal y = 2\n")
    vim.cmd("filetype on")
    vim.cmd("edit " .. vim.fn.fnameescape(file))
    vim.cmd("1,2Codex explain this")
    local n = chat_mod.current()
    expect.truthy(n ~= c, "another chat")
    ui.wait_text(n.buf, "Hello from the mock model!")
    ui.wait_idle(n)
    local text = ui.text(n.buf)
    expect.match(text, "explain this\n\nafter_archive.lua:1%-2\n```lua\nlocal x = 1\nlocal y = 2\n```")
    expect.falsy(text:find("thread not found", 1, true), "no error:\n" .. text)
    expect.truthy(n.thread_id ~= c.thread_id)
  end)

  it(":Codex unarchive lists archived threads and brings the chosen one back; resume opens it", function()
    local c = chat_with_turn("unarchive me")
    local id = c.thread_id
    local msgs = capture_notify()
    local shown = stub_select(function(it, opts)
      if opts.prompt:find("^Archive") then return it == "Archive" end
      return type(it) == "table" and it.id == id
    end)
    vim.cmd("Codex archive")
    wait_for(function() return msgs.find("archived") end, 10000, "the archive notification")
    expect.falsy(listed({ archived = false })[id], "gone from the list")
    vim.cmd("Codex unarchive")
    wait_for(function() return msgs.find("unarchived") end, 10000, "the unarchive notification")
    expect.eq(shown[#shown].prompt, "Unarchive a Codex thread")
    expect.truthy(table.concat(shown[#shown].lines, "\n"):find("unarchive me", 1, true), "the list names it")
    expect.match(msgs.find("unarchived").msg, '"unarchive me"')
    expect.truthy(listed({ archived = false })[id], "listed again")
    vim.cmd("Codex resume")
    local r = wait_for(function() return chat_mod.find(id) end, 20000, "the resumed chat")
    ui.wait_text(r.buf, "unarchive me")
  end)

  it(":Codex unarchive with nothing archived says so", function()
    local msgs = capture_notify()
    stub_select(function() return false end)
    -- (other tests' archived threads are there too: unarchive them all first)
    for tid in pairs(listed({ archived = true })) do require("codex.session").client():thread_unarchive(tid) end
    vim.cmd("Codex unarchive")
    wait_for(function() return msgs.find("no archived threads") end, 10000, "the message")
  end)

  it(":Codex stop {words} sends the whole line as a prompt and says so", function()
    local c = ui.new_chat()
    local msgs = capture_notify()
    vim.cmd("Codex stop the loop now")
    expect.truthy(msgs.find('"stop the loop now" is sent as a prompt'), "says what happened: " .. msgs.text(" | "))
    ui.wait_text(c.buf, "## You\n\nstop the loop now")
    ui.wait_text(c.buf, "Hello from the mock model!")
    ui.wait_idle(c)
    expect.falsy(msgs.find("no turn is running"), "not dropped as a stop")
  end)

  it(":Codex status {words} is a prompt too; :Codex status alone is the status", function()
    local c = ui.new_chat()
    local msgs = capture_notify()
    vim.cmd("Codex status of the build")
    ui.wait_text(c.buf, "## You\n\nstatus of the build")
    ui.wait_idle(c)
    expect.truthy(msgs.find("sent as a prompt"))
  end)

  it(":Codex new {prompt} opens a new chat and sends the prompt to it", function()
    local old = chat_with_turn()
    vim.cmd("Codex new write tests")
    local n = chat_mod.current()
    expect.truthy(n ~= old, "a new chat")
    expect.truthy(n:visible())
    ui.wait_text(n.buf, "## You\n\nwrite tests")
    ui.wait_text(n.buf, "Hello from the mock model!")
    ui.wait_idle(n)
    expect.falsy(ui.text(old.buf):find("write tests", 1, true), "not sent to the old chat")
  end)

  it(":Codex rename without a name asks with vim.ui.input (the current name first); bar and buffer follow at once", function()
    local c = chat_with_turn("first words here")
    local orig = vim.ui.input
    finally(function() vim.ui.input = orig end)
    local asked
    vim.ui.input = function(opts, cb)
      asked = opts
      cb("Renamed by input")
    end
    local msgs = capture_notify()
    vim.cmd("Codex rename")
    expect.truthy(asked, "asked for a name")
    expect.eq(asked.default, "first words here")
    wait_for(function() return msgs.find("renamed") end, 10000, "the rename")
    -- at once: no wait for the server's thread/name/updated
    expect.eq(api.nvim_buf_get_name(c.buf), "codex://thread/Renamed by input (" .. c.thread_id:sub(-8) .. ")")
    expect.eq(c:title(), "Renamed by input")
    expect.eq(listed()[c.thread_id].name, "Renamed by input")
  end)

  it("a cancelled rename prompt renames nothing", function()
    local c = chat_with_turn("keep my name")
    local orig = vim.ui.input
    finally(function() vim.ui.input = orig end)
    vim.ui.input = function(_, cb) cb(nil) end
    capture_notify()
    vim.cmd("Codex rename")
    ui.flush()
    expect.eq(c:title(), "keep my name")
  end)

  it("a name set elsewhere (thread/name/updated) renames the chat's buffer and bar", function()
    local c = chat_with_turn()
    -- the API, not the command: only the server's notification can tell the chat
    require("codex.session").client():request("thread/name/set", { threadId = c.thread_id, name = "From the server" })
    wait_for(function() return c:title() == "From the server" end, 10000, "the name from thread/name/updated")
    expect.eq(api.nvim_buf_get_name(c.buf), "codex://thread/From the server (" .. c.thread_id:sub(-8) .. ")")
  end)

  it(":Codex status words the account as :checkhealth does (a provider without OpenAI sign-in is fine)", function()
    chat_with_turn()
    local msgs = capture_notify()
    vim.cmd("Codex status")
    wait_for(function() return msgs.find("account:") end, 10000, "the status")
    local s = msgs.find("account:").msg
    expect.falsy(s:find("not signed in", 1, true), "not 'not signed in': " .. s)
    expect.match(s, "account: the active model provider needs no OpenAI sign%-in")
    vim.cmd("silent checkhealth codex")
    local health = table.concat(api.nvim_buf_get_lines(0, 0, -1, false), "\n")
    pcall(vim.cmd, "bwipe!")
    expect.truthy(health:find("account: the active model provider needs no OpenAI sign-in", 1, true), health)
  end)

  it(":Codex resume marks open chats and forks; picking an open chat shows it and says so", function()
    local c = chat_with_turn("fork source")
    vim.api.nvim_set_current_win(c.win)
    vim.cmd("Codex fork")
    local fork = wait_for(function()
      local cur = chat_mod.current()
      return cur ~= c and cur.thread_id and cur
    end, 15000, "the fork's chat")
    ui.wait_text(fork.buf, "Hello from the mock model!")
    expect.eq(fork:title(), "fork source (fork)")
    c:hide()
    local msgs = capture_notify()
    local shown = stub_select(function(it) return it.id == c.thread_id end)
    vim.cmd("Codex resume")
    wait_for(function() return msgs.find("is open") end, 10000, "the 'open' notice")
    local lines = {}
    for i, it in ipairs(shown[1].items) do lines[it.id] = shown[1].lines[i] end
    expect.match(lines[c.thread_id], "^● open")
    expect.match(lines[fork.thread_id], "^● open")
    expect.match(lines[fork.thread_id], 'fork source  %(fork of "fork source"%)$')
    expect.falsy(lines[c.thread_id]:find("fork of", 1, true), "the original is no fork")
    expect.truthy(c:visible(), "the picked open chat is shown")
    expect.match(msgs.find("is open").msg, '"fork source" is open')
  end)
end)
