-- setup() and the shared client (|codex-setup-again|), config validation from the schema,
-- the plugin's event bus, and that requiring the plugin's modules changes nothing in
-- Neovim until first use.
if type(vim) ~= "table" or not vim.api then
  pending("ui setup: needs Neovim")
  return
end

local codex = require("codex")
local config = require("codex.config")
local session = require("codex.session")
local events = require("codex.events")

local function setup_error(opts)
  return tostring(expect.raises(function() codex.setup(opts) end))
end

describe("setup() called again", function()
  session.reset()
  teardown(function()
    session.reset()
    vim.g.codex = nil
    codex.setup()
  end)

  it("with the same options keeps the shared client", function()
    codex.setup({ client = { env = { CODEX_SETUP_SPEC = "1" } }, model = "m1" })
    local c = session.client()
    codex.setup({ client = { env = { CODEX_SETUP_SPEC = "1" } }, model = "m1" })
    expect.eq(session.client(), c)
    codex.setup({ client = { env = { CODEX_SETUP_SPEC = "1" } }, model = "m2" })
    expect.eq(session.client(), c, "a non-client option does not replace the client")
    expect.eq(config.get().model, "m2")
  end)

  it("with changed client options gives a new client; the old one is not closed", function()
    codex.setup({ client = { env = { CODEX_SETUP_SPEC = "1" } } })
    local old = session.client()
    codex.setup({ client = { env = { CODEX_SETUP_SPEC = "2" } } })
    local new = session.client()
    expect.truthy(new ~= old, "a new client")
    expect.eq(new.opts.env.CODEX_SETUP_SPEC, "2")
    expect.eq(old.rpc.state, "new", "the old client is left to the chats that use it")
    codex.setup({ client = { env = { CODEX_SETUP_SPEC = "2" } }, codex_bin = "/nonexistent/codex" })
    expect.truthy(session.client() ~= new, "codex_bin is a client option too")
    expect.eq(session.client().opts.codex_bin, "/nonexistent/codex")
  end)

  it("with changed auto_approve rules applies them to the existing client at once", function()
    local prompted = {}
    local orig = package.loaded["codex.ui.approval"]
    package.loaded["codex.ui.approval"] = { handle = function(req) prompted[#prompted + 1] = req.params.command end }
    finally(function() package.loaded["codex.ui.approval"] = orig end)
    local function ask(command)
      return session.client().opts.approval_handler({
        method = "item/commandExecution/requestApproval", params = { command = command },
      })
    end
    codex.setup({ auto_approve = false })
    local c = session.client()
    expect.eq(ask("ls"), nil)
    codex.setup({ auto_approve = { commands = { "^ls" } } })
    expect.eq(session.client(), c, "the same client")
    expect.same(ask("ls -l"), { decision = "accept" })
    expect.eq(ask("rm -rf x"), nil)
    codex.setup({ auto_approve = false })
    expect.eq(ask("ls -l"), nil)
    expect.same(prompted, { "ls", "rm -rf x", "ls -l" }, "what the rules did not accept went to the prompt")
  end)
end)

describe("setup() validation", function()
  teardown(function()
    vim.g.codex = nil
    codex.setup()
  end)

  it("names the option and its problem", function()
    expect.match(setup_error(5), "^codex.setup: options must be a table")
    expect.match(setup_error({ model = 5 }), "^codex.setup: model must be a string, got number")
    expect.match(setup_error({ sandbox = "none" }), "^codex.setup: sandbox must be one of read%-only, workspace%-write, danger%-full%-access")
    expect.match(setup_error({ chat = { width = 0 } }), "^codex.setup: chat.width must be positive")
    expect.match(setup_error({ chat = { history_turns = 0 } }), "^codex.setup: chat.history_turns must be at least 1")
    expect.match(setup_error({ keymaps = { send = 1 } }), "^codex.setup: keymaps.send must be a string or false, got number")
    expect.match(setup_error({ keymaps = { sned = "x" } }), "^codex.setup: keymaps.sned is not a known keymap")
    expect.match(setup_error({ auto_approve = { comands = true } }), "^codex.setup: auto_approve.comands is not known")
    expect.match(setup_error({ modle = "x" }), "^codex.setup: modle is not a known option")
  end)

  it("accepts nil-default options, false keymaps and auto_approve lists; reads vim.g.codex", function()
    codex.setup({ codex_bin = "codex", model = "m", effort = "low", keymaps = { queue = false },
      auto_approve = { commands = { "^git status" }, file_changes = true } })
    expect.eq(config.get().keymaps.queue, false)
    expect.same(config.get().auto_approve.commands, { "^git status" })
    vim.g.codex = { chat = { layout = "float" } }
    codex.setup({ model = "m" })
    expect.eq(config.get().chat.layout, "float")
    expect.eq(config.get().chat.width, 0.4, "defaults under vim.g.codex")
    expect.eq(config.get().model, "m")
  end)
end)

describe("events", function()
  it("unsubscribing inside a handler does not skip the next handler", function()
    local seen, unsub = {}, nil
    unsub = events.on("SetupSpecEvent", function() seen[#seen + 1] = "first" unsub() end)
    local unsub2 = events.on("SetupSpecEvent", function(d) seen[#seen + 1] = d.n end)
    finally(unsub2)
    events.emit("SetupSpecEvent", { n = 1 })
    events.emit("SetupSpecEvent", { n = 2 })
    expect.same(seen, { "first", 1, 2 })
  end)
end)

describe("require-time side effects", function()
  it("requiring every API and UI module creates no autocmd; the first connection does", function()
    local nvim = os.getenv("CODEX_TEST_NVIM")
    if not nvim then return pending("CODEX_TEST_NVIM not set") end
    local script, out = os.tmpname(), os.tmpname()
    finally(function() os.remove(script) os.remove(out) end)
    local f = assert(io.open(script, "w"))
    f:write(([[
      vim.opt.rtp:prepend(%q)
      local n0 = #vim.api.nvim_get_autocmds({})
      for _, m in ipairs({ "codex", "codex.rpc", "codex.client", "codex.host", "codex.await", "codex.stream",
        "codex.server_requests", "codex.session", "codex.config", "codex.events", "codex.turn", "codex.thread",
        "codex.ui.chat", "codex.ui.render", "codex.ui.highlight", "codex.ui.approval", "codex.ui.approval_view",
        "codex.ui.user_input", "codex.ui.login" }) do
        require(m)
      end
      local before = vim.fn.exists("#codex_core") + (#vim.api.nvim_get_autocmds({}) - n0)
      require("codex.rpc").new({})
      local o = io.open(%q, "w")
      o:write(before, " ", vim.fn.exists("#codex_core#VimLeavePre"))
      o:close()
    ]]):format(TEST_ROOT, out))
    f:close()
    vim.fn.system({ nvim, "--headless", "-u", "NONE", "-i", "NONE", "-c", "luafile " .. script, "-c", "qa!" })
    local r = assert(io.open(out))
    local got = r:read("*a")
    r:close()
    expect.eq(got, "0 1", "autocmd before / after the first connection")
  end)
end)
