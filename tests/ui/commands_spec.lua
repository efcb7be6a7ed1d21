-- :Codex subcommands and :'<,'>Codex, in headless Neovim against the real app-server + mock.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")

--- vim.ui.select picks the first item pick() accepts, until the test ends.
local function stub_select(pick)
  local orig = vim.ui.select
  finally(function() vim.ui.select = orig end)
  vim.ui.select = function(items, opts, cb)
    for _, it in ipairs(items) do
      if pick(it, opts) then return cb(it) end
    end
    cb(nil)
  end
end

--- Notifications are recorded (and not shown) until the test ends.
local function capture_notify()
  local cap = require("lib.env").capture_notify({ quiet = true })
  finally(cap.restore)
  return cap
end

--- A new chat, after one turn: it has a thread, a model and tokens.
local function chat_with_turn()
  local c = ui.new_chat()
  c:send("hello")
  ui.wait_text(c.buf, "Hello from the mock model!")
  ui.wait_idle(c)
  return c
end

-- Every test makes the chats it needs and starts from the default setup() (after_each): each
-- one runs alone, with CODEX_TEST_FILTER, and in any order.
describe(":Codex commands", function()
  local env = ui.env()
  teardown(env.close)
  local chat_mod = require("codex.ui.chat")
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    env.setup()
  end)

  it("completes subcommands", function()
    local c = vim.fn.getcompletion("Codex re", "cmdline")
    expect.same(c, { "redo", "rename", "resume", "review" })
    expect.same(vim.fn.getcompletion("CodexLogin ", "cmdline"), { "device", "browser", "apikey" })
  end)

  it("sends a visual selection with its path and line range", function()
    local file = env.workspace .. "/sel.lua"
    local f = assert(io.open(file, "w"))
    f:write("local a = 1\nlocal b = 2\nlocal c = 3\n")
    f:close()
    local fresh = ui.new_chat()
    fresh:hide()
    vim.cmd("filetype on")
    vim.cmd("edit " .. vim.fn.fnameescape(file))
    vim.cmd("2,3Codex explain this")
    local c = chat_mod.current()
    expect.eq(c, fresh, "sent to the most recent chat")
    ui.wait_text(c.buf, "Hello from the mock model!")
    expect.match(ui.text(c.buf), "explain this\n\nsel.lua:2%-3\n```lua\nlocal b = 2\nlocal c = 3\n```")
    ui.wait_idle(c)
  end)

  it("picks a model, then an effort, for the next turns", function()
    local c = ui.new_chat()
    stub_select(function(it, opts)
      if opts.prompt == "Codex model" then return it.id == "mock-model" end
      return it.reasoningEffort == "high"
    end)
    local msgs = capture_notify()
    vim.cmd("Codex model")
    wait_for(function() return c.effort == "high" end, 10000, "the effort to be set")
    expect.eq(c.model, "mock-model")
    expect.eq(c.effort, "high")
    expect.match(chat_mod.statusline(), "mock%-model %(high%)")
    expect.match(msgs.text("\n"), "model mock%-model, effort high")
    env.mock:reset()
    c:send("hello")
    wait_for(function() return c.state == "idle" and ui.text(c.buf):find("done") end, 10000, "a turn with that model")
  end)

  it("shows the status: account, chat state, tokens", function()
    chat_with_turn()
    local msgs = capture_notify()
    vim.cmd("Codex status")
    wait_for(function() return #msgs.list > 0 end, 10000, "the status notification")
    local s = msgs.text("\n")
    expect.match(s, "account: ")
    expect.match(s, "chat: Codex")
    expect.match(s, "tokens: %d+ total")
  end)

  it("renames and archives the thread; forks it into a new chat with its history", function()
    local c = chat_with_turn()
    local msgs = capture_notify()
    vim.cmd("Codex rename my thread")
    wait_for(function() return msgs.text(""):find("renamed") ~= nil end, 10000, "the rename notification")
    local listed = require("codex.session").client():thread_list()
    local found
    for _, t in ipairs(listed.data) do if t.id == c.thread_id then found = t end end
    expect.eq(found and found.name, "my thread")
    vim.api.nvim_set_current_win(c.win)
    vim.cmd("Codex fork")
    local fork = wait_for(function()
      local cur = chat_mod.current()
      return cur ~= c and cur.thread_id and cur
    end, 15000, "a forked chat")
    ui.wait_text(fork.buf, "Hello from the mock model!")
    c:show() -- (the fork took over its windows: chat.reuse_window) back, focused
    stub_select(function(it, opts) return opts.prompt:find("^Archive") and it == "Archive" end) -- archive asks first
    vim.cmd("Codex archive")
    wait_for(function() return msgs.text(""):find("archived") ~= nil end, 10000, "the archive notification")
    local archived = require("codex.session").client():thread_list({ archived = true })
    local ids = {}
    for _, t in ipairs(archived.data) do ids[t.id] = true end
    expect.truthy(ids[c.thread_id], "archived")
    expect.falsy(c:visible(), "the archived chat closed")
  end)

  it(":Codex new opens a second chat; both live at once", function()
    local before = #chat_mod.all()
    vim.cmd("Codex new")
    local c = chat_mod.current()
    c:send("hello")
    ui.wait_text(c.buf, "Hello from the mock model!")
    expect.eq(#chat_mod.all(), before + 1)
  end)

  it("auto_approve rules run matching commands without a prompt; status on the header line", function()
    env.setup({ auto_approve = { commands = { "echo auto%-ok" } } })
    local c = chat_mod.open({ cwd = env.workspace })
    c:send("[[exec]] echo auto-ok")
    ui.wait_text(c.buf, "Command output: auto%-ok")
    expect.eq(require("codex.ui.approval").pending(c.thread_id), 0, "no prompt")
    local lines = vim.api.nvim_buf_get_lines(c.buf, 0, -1, false)
    local row
    for i, l in ipairs(lines) do if l:find("^%*%*%$ .*echo auto%-ok") then row = i - 1 end end
    expect.truthy(row, "command header rendered")
    local marks = vim.api.nvim_buf_get_extmarks(c.buf, require("codex.ui.render").ns, { row, 0 }, { row, -1 }, { details = true })
    local virt = {}
    for _, m in ipairs(marks) do
      for _, chunk in ipairs(m[4].virt_text or {}) do virt[#virt + 1] = chunk[1] end
    end
    expect.match(table.concat(virt), "✓ exit 0")
    expect.match(ui.text(c.buf), "```\nauto%-ok\n")
  end)

  it("opens the chat in a float when configured", function()
    vim.cmd("silent! only")
    env.setup({ chat = { layout = "float" } })
    local c = chat_mod.open({ cwd = env.workspace })
    expect.truthy(vim.api.nvim_win_get_config(c.win).relative ~= "", "chat window is a float")
    expect.truthy(vim.api.nvim_win_get_config(c.input_win).relative ~= "", "input window is a float")
  end)

  it("validates setup() options with clear errors, and is idempotent", function()
    local err = expect.raises(function() require("codex").setup({ chat = { layout = "sideways" } }) end)
    expect.match(tostring(err), "chat.layout must be one of")
    err = expect.raises(function() require("codex").setup({ keymaps = { sned = "<CR>" } }) end)
    expect.match(tostring(err), "keymaps.sned is not a known keymap")
    err = expect.raises(function() require("codex").setup({ modle = "x" }) end)
    expect.match(tostring(err), "modle is not a known option")
    env.setup()
    local a = vim.deepcopy(require("codex.config").get())
    env.setup()
    expect.same(require("codex.config").get(), a)
  end)

  it("a keymap set to false is not mapped", function()
    env.setup({ keymaps = { queue = false } })
    local c = chat_mod.open({ cwd = env.workspace, show = false })
    local maps = vim.api.nvim_buf_get_keymap(c.input_buf, "n")
    local lhs = {}
    for _, m in ipairs(maps) do lhs[m.lhs] = true end
    expect.truthy(lhs["<CR>"], "send mapped")
    expect.falsy(lhs["<C-Q>"], "queue not mapped")
  end)
end)

-- Without the C module (not built yet): every command says in one line what to run.
describe(":Codex without the C module", function()
  it("`:Codex hello`, `:Codex` and `:CodexLogin` each say in one line to run make, without a traceback", function()
    local copy = ui.unbuilt_copy()
    finally(copy.close)
    local probe, log = copy.root .. "/../probe.lua", copy.root .. "/../notes.log"
    ui.write(probe, ([[
      local log, notify = %q, vim.notify
      vim.notify = function(msg, level, o)
        local f = io.open(log, "a")
        f:write("NOTE ", tostring(level), " ", (tostring(msg):gsub("\n", "\\n")), "\n")
        f:close()
        return notify(msg, level, o)
      end
    ]]):format(log))
    -- typed as a user would: errors are shown, nothing is raised to a caller
    local out = ui.run_unbuilt(copy, { "luafile " .. probe, "Codex hello", "Codex", "CodexLogin",
      ([[lua local f = io.open(%q, "a") f:write("MESSAGES ", (vim.fn.execute("messages"):gsub("\n", "\\n")), "\n") f:close()]]):format(log) })
    local notes, messages = {}, nil
    for line in (ui.read(log) or ""):gmatch("[^\n]+") do
      if line:find("^NOTE ") then notes[#notes + 1] = line end
      if line:find("^MESSAGES ") then messages = line end
    end
    expect.truthy(messages, "the child ran; it printed:\n" .. out)
    local _, shown = messages:gsub("Codex: codex%.nvim is not built", "")
    expect.eq(shown, 3, "one message per command in :messages: " .. messages)
    expect.eq(#notes, 3, "one notification per command; the child printed:\n" .. out)
    for _, n in ipairs(notes) do
      expect.match(n, "^NOTE " .. vim.log.levels.ERROR .. " Codex: codex%.nvim is not built")
      expect.falsy(n:find("\\n", 1, true), "one line: " .. n)
      expect.truthy(n:find("run `make` in " .. copy.root .. " ", 1, true), "names make and the plugin directory: " .. n)
      expect.truthy(n:find("libuv1-dev libluajit-5.1-dev", 1, true), "names the packages: " .. n)
    end
    out = out .. messages
    expect.falsy(out:find("E5108", 1, true), "no E5108")
    expect.falsy(out:find("stack traceback", 1, true), "no traceback")
    expect.falsy(out:find("module 'codex.core' not found", 1, true), "not Lua's own message")
  end)

  it("a send from a chat opened from Lua shows the same one line in the chat, without a traceback", function()
    local copy = ui.unbuilt_copy()
    finally(copy.close)
    local log = copy.root .. "/../chat.log"
    local out = ui.run_unbuilt(copy, {
      [[lua local c = require("codex.ui.chat").open({}) c:send("hello")]],
      ([[lua local c = require("codex.ui.chat").current() local f = io.open(%q, "w") f:write(table.concat(vim.api.nvim_buf_get_lines(c.buf, 0, -1, false), "\n")) f:close()]]):format(log),
    })
    local text = ui.read(log)
    expect.truthy(text, "the child wrote the chat's text; it printed:\n" .. out)
    expect.truthy(text:find("codex.nvim is not built", 1, true), "the chat shows the error: " .. text)
    expect.falsy(out:find("E5108", 1, true), "no E5108: " .. out)
    expect.falsy(out:find("stack traceback", 1, true), "no traceback: " .. out)
  end)
end)
