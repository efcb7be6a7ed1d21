-- Server warnings and state the real app-server cannot produce offline (codex.ui.notices):
-- the scripted fake app-server (tests/fake/app_server.lua) sends them to the shared client,
-- through the real core. A warning about a thread that has a chat is a line in that chat; a
-- global one is one vim.notify (once per text).
if not vim then return pending("Neovim only") end
local env = require("lib.env")
local ui = require("lib.ui")

local T = 5000

describe("notices (fake app-server)", function()
  local session = require("codex.session")
  local chat_mod = require("codex.ui.chat")
  local notes = env.capture_notify({ quiet = true })
  session.reset()
  require("codex").setup({
    client = { args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 },
  })
  local client = session.client()
  client:start()
  teardown(function()
    notes.restore()
    pcall(function() client:close() end)
    session.reset()
  end)

  -- A chat on a thread the fake knows nothing about (the notices only need its id).
  local chat = chat_mod.open({ thread = require("codex.thread").new(client, { thread = { id = "thr-notice" } }) })

  local function emit(method, params)
    client:request("fake/emit", { after = { { method = method, params = params } } })
  end
  local function chat_has(pattern)
    return ui.text(chat.buf):find(pattern) ~= nil
  end

  it("the configWarning sent with initialize is notified once", function()
    local n = env.wait(function() return notes.find("config warning: fake warning") end, "the config warning", T)
    expect.eq(n.level, vim.log.levels.WARN)
    emit("configWarning", { summary = "fake warning" })
    emit("configWarning", { summary = "bad key", path = "/h/config.toml", details = "remove it" })
    env.wait(function() return notes.find("bad key") end, "the second warning", T)
    local count = 0
    for _, x in ipairs(notes.list) do if x.msg:find("fake warning", 1, true) then count = count + 1 end end
    expect.eq(count, 1, "the same warning notified once")
    expect.match(notes.find("bad key").msg, "bad key %(/h/config.toml%) — remove it")
  end)

  it("a warning about a thread with a chat is a line in that chat, not a notification", function()
    notes.clear()
    emit("warning", { message = "the sandbox is degraded", threadId = "thr-notice" })
    env.wait(function() return chat_has("> %*%*⚠ Warning:%*%* the sandbox is degraded") end, "the warning line", T)
    expect.falsy(notes.find("sandbox is degraded"), "no notification for a chat's warning")
  end)

  it("a warning without a thread, and a deprecation notice, are notifications", function()
    emit("warning", { message = "global trouble" })
    emit("deprecationNotice", { summary = "old flag", details = "use the new one" })
    env.wait(function() return notes.find("warning: global trouble") end, "the global warning", T)
    env.wait(function() return notes.find("deprecated: old flag — use the new one") end, "the deprecation", T)
  end)

  it("a guardian warning goes to its thread's chat", function()
    emit("guardianWarning", { message = "risky action blocked", threadId = "thr-notice" })
    env.wait(function() return chat_has("⚠ Guardian:%*%* risky action blocked") end, "the guardian line", T)
  end)

  it("an MCP server that failed to start is notified and remembered; one that starts is not", function()
    notes.clear()
    emit("mcpServer/startupStatus/updated", { name = "docs", status = "starting" })
    emit("mcpServer/startupStatus/updated", { name = "docs", status = "failed", error = "spawn ENOENT",
      failureReason = vim.NIL })
    local n = env.wait(function() return notes.find("MCP server \"docs\" failed to start: spawn ENOENT") end, "the failure", T)
    expect.eq(n.level, vim.log.levels.WARN)
    expect.eq(#notes.list, 1, "the 'starting' status says nothing")
    expect.eq(require("codex.ui.notices").state(client).mcp.docs.status, "failed")
  end)

  it("a thread's system error is one line in its chat", function()
    emit("thread/status/changed", { threadId = "thr-notice", status = { type = "systemError" } })
    emit("thread/status/changed", { threadId = "thr-notice", status = { type = "systemError" } })
    env.wait(function() return chat_has("⚠ System error:") end, "the system error line", T)
    env.settle()
    local _, count = ui.text(chat.buf):gsub("System error:", "")
    expect.eq(count, 1)
  end)

  it("model/rerouted in a turn of the chat is a line saying which model answers", function()
    chat:on_event({ method = "model/rerouted", params = { threadId = "thr-notice", turnId = "t1",
      fromModel = "gpt-big", toModel = "gpt-safe", reason = "highRiskCyberActivity" } })
    expect.truthy(chat_has("⚠ Model rerouted:%*%* this turn was moved from gpt%-big to gpt%-safe %(highRiskCyberActivity%)"),
      ui.text(chat.buf))
  end)

  it("rate limits are kept per client for the bar", function()
    emit("account/rateLimits/updated", { rateLimits = { primary = { usedPercent = 42, windowDurationMins = 300 } } })
    env.wait(function() return require("codex.ui.notices").rate_limits(client) end, "the rate limits", T)
    expect.eq(require("codex.ui.notices").rate_limits(client).primary.usedPercent, 42)
  end)
end)
