-- Telling a user who is elsewhere (codex.ui.notify): the terminal notification's bytes (OSC 9,
-- OSC 777, tmux passthrough, bell), written only with a UI attached; FocusLost/FocusGained
-- decide whether a turn's end or an approval is announced; the events carry the chat's name.
-- Real app-server + mock for the turns and approvals.
local notify = require("codex.ui.notify")

describe("terminal notification bytes", function()
  it("OSC 9 by default, OSC 777 where the terminal takes it", function()
    expect.eq(notify.sequence("Codex", "done", { TERM = "xterm-256color" }), "\27]9;Codex: done\7")
    expect.eq(notify.sequence("Co;dex", "done", { TERM = "foot" }), "\27]777;notify;Co,dex;done\7")
    expect.eq(notify.sequence("Codex", "done", { TERM = "xterm-256color", VTE_VERSION = "7600" }), "\27]777;notify;Codex;done\7")
  end)
  it("control characters cannot end the sequence early", function()
    expect.eq(notify.sequence("Codex", "a\27]b\7c\nd", {}), "\27]9;Codex: a ]b c d\7")
  end)
  it("inside tmux: wrapped in its passthrough, ESC doubled; the bell outside it", function()
    expect.eq(notify.sequence("Codex", "done", { TMUX = "/tmp/tmux-1/default,1,0" }, true),
      "\27Ptmux;\27\27]9;Codex: done\7\27\\\7")
    expect.eq(notify.sequence("Codex", "done", { TMUX = "x" }, true, false), "\7", "the bell alone")
  end)
end)

if not (type(vim) == "table" and vim.api) then return end
local ui = require("lib.ui")
local env_lib = require("lib.env")
local events = require("codex.events")

describe("notifications when the user is elsewhere", function()
  local env = ui.env()
  teardown(env.close)
  local written, real = {}, { has_ui = notify.has_ui, write = notify.write, env = notify.env }
  before_each(function()
    ui.settle_chats()
    written = {}
    notify.has_ui = function() return true end
    notify.write = function(b) written[#written + 1] = b end
    notify.env = function() return { TERM = "xterm-256color" } end
  end)
  after_each(function()
    vim.cmd("doautocmd FocusGained")
    notify.has_ui, notify.write, notify.env = real.has_ui, real.write, real.env
    ui.settle_chats()
    env.setup()
  end)
  local function notes()
    local cap = env_lib.capture_notify({ quiet = true })
    finally(cap.restore)
    return cap
  end

  it("writes to the terminal only with a UI attached (headless: nothing)", function()
    notify.has_ui = real.has_ui
    notify.terminal("approval", "Codex", "x")
    -- (the 0.12 suite runs with its TUI attached, the others headless)
    expect.eq(#written, #vim.api.nvim_list_uis() > 0 and 1 or 0)
  end)

  it("a turn that ends in a watched chat while Neovim has no focus is announced, with complete event data", function()
    local cap = notes()
    local c = ui.new_chat()
    c:send("focus one")
    ui.wait_idle(c)
    ui.flush()
    expect.falsy(cap.find("is done"), "watched and focused: no notification")
    local got
    local unsub = events.on("TurnCompleted", function(d) got = d end)
    finally(unsub)
    vim.cmd("doautocmd FocusLost")
    expect.falsy(notify.focused())
    c:send("focus two")
    ui.wait_idle(c)
    local n = env_lib.wait(function() return cap.find("is done") end, "the notification", 10000)
    expect.match(n.msg, '"focus one" is done')
    expect.eq(#written, 0, "notify.terminal = approvals: no terminal notification for a turn's end")
    expect.eq(got.thread_id, c.thread_id)
    expect.eq(got.status, "completed")
    expect.eq(type(got.turn_id), "string")
    expect.eq(got.name, "focus one")
    vim.cmd("doautocmd FocusGained")
    expect.truthy(notify.focused())
  end)

  it("notify.terminal = always: a turn's end is a terminal notification too, with the bell", function()
    notes()
    env.setup({ notify = { terminal = "always", bell = "always" } })
    local c = ui.new_chat()
    vim.cmd("doautocmd FocusLost")
    c:send("always on")
    ui.wait_idle(c)
    env_lib.wait(function() return #written > 0 end, "the terminal write", 10000)
    expect.eq(written[1], '\27]9;Codex: "always on" is done\7\7')
  end)

  it("an approval waiting while Neovim has no focus: a terminal notification and the bell, by default", function()
    notes()
    local c = ui.new_chat()
    local got
    local unsub = events.on("ApprovalRequested", function(d) got = d end)
    finally(unsub)
    local au = vim.fn.has("nvim-0.8") == 1 and {} or nil
    if au then
      local id = vim.api.nvim_create_autocmd("User", { pattern = "CodexApprovalRequested", callback = function(ev) au[#au + 1] = ev.data end })
      finally(function() pcall(vim.api.nvim_del_autocmd, id) end)
    end
    vim.cmd("doautocmd FocusLost")
    c:send("[[exec]] echo notified")
    env_lib.wait(function() return #written > 0 end, "the terminal write", 20000)
    expect.match(written[1], "^\27%]9;Codex: approval needed: \"%[%[exec%]%] echo notified\" wants to run .*echo notified'?\7\7$")
    expect.eq(got.name, "[[exec]] echo notified")
    expect.eq(got.thread_id, c.thread_id)
    expect.eq(type(got.turn_id), "string")
    if au then expect.eq(au[1].name, "[[exec]] echo notified", "the autocmd's data has the name") end
    c:stop()
    ui.wait_idle(c)
  end)

  it("notify.terminal = never and notify.bell = never: nothing for an approval", function()
    notes()
    env.setup({ notify = { terminal = "never", bell = "never" } })
    local c = ui.new_chat()
    local seen = false
    local unsub = events.on("ApprovalRequested", function() seen = true end)
    finally(unsub)
    vim.cmd("doautocmd FocusLost")
    c:send("[[exec]] echo quiet")
    env_lib.wait(function() return seen end, "the approval", 20000)
    ui.flush()
    expect.eq(#written, 0)
    c:stop()
    ui.wait_idle(c)
  end)
end)
