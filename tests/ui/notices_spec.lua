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

  it("a long global notice is one line that fits (no hit-enter prompt); :checkhealth codex has it whole", function()
    notes.clear()
    local long = "Codex could not find bubblewrap on PATH. Install bubblewrap with your OS package manager. "
      .. "See the sandbox prerequisites: https://example.invalid/codex/sandboxing#prerequisites."
    emit("configWarning", { summary = long })
    local n = env.wait(function() return notes.find("config warning: Codex could not find") end, "the notice", T)
    expect.falsy(n.msg:find("\n"), "one line")
    expect.truthy(vim.api.nvim_strwidth(n.msg) <= math.max(38, vim.v.echospace), "fits in " .. vim.v.echospace .. ": " .. n.msg)
    expect.match(n.msg, "… %(:checkhealth codex%)$")
    local st = require("codex.ui.notices").state(client)
    expect.truthy(vim.tbl_contains(st.global, "config warning: " .. long), "kept whole")
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

  it("rate limits: use and reset time in the bar and the statusline", function()
    local reset = os.time() + 3600
    emit("account/rateLimits/updated", { rateLimits = {
      primary = { usedPercent = 42, windowDurationMins = 300, resetsAt = reset },
      secondary = { usedPercent = 7, windowDurationMins = 10080, resetsAt = reset + 86400 * 3 },
    } })
    env.wait(function() return require("codex.ui.notices").rate_limits(client) end, "the rate limits", T)
    local want = "5h limit 42%, resets " .. os.date("%H:%M", reset)
    expect.truthy(chat:status_text():find(want, 1, true), chat:status_text())
    chat:show()
    expect.truthy(require("codex").statusline():find(want, 1, true), require("codex").statusline())
    local bar = require("codex.ui.chat_bar")
    expect.eq(bar.limit_text({ secondary = { usedPercent = 90, windowDurationMins = 10080, resetsAt = reset + 86400 * 3 } }),
      "1w limit 90%, resets " .. os.date("%b %d", reset + 86400 * 3))
    expect.eq(bar.limit_text({ primary = vim.NIL }), nil)
  end)

  describe(":Codex mcp", function()
    local real_select, real_open = vim.ui.select, require("codex.ui.util").open_url
    after_each(function()
      vim.ui.select = real_select
      require("codex.ui.util").open_url = real_open
    end)
    local function can(method, result)
      client:request("fake/canned", { method = method, result = result })
    end
    local SERVERS = {
      data = {
        { name = "search", authStatus = "unsupported", runtimeStatus = "connected", resources = {}, resourceTemplates = {},
          tools = { find = { name = "find", description = "Finds things\nmore", inputSchema = {} },
                    ask = { name = "ask", inputSchema = {} } } },
        { name = "tracker", authStatus = "notLoggedIn", runtimeStatus = "authenticationRequired", resources = {},
          resourceTemplates = {}, tools = {} },
      },
      nextCursor = vim.NIL,
    }

    it("lists the servers with their state and tools; a server's tools are shown", function()
      can("mcpServerStatus/list", SERVERS)
      notes.clear()
      local shown = {}
      vim.ui.select = function(items, opts, cb)
        local lines = {}
        for i, x in ipairs(items) do lines[i] = opts.format_item and opts.format_item(x) or x end
        shown[#shown + 1] = lines
        if #shown == 1 then return cb(items[1]) end -- "search"
        cb(items[1]) -- "Show tools (2)"
      end
      vim.cmd("Codex mcp")
      env.wait(function() return notes.find("MCP server search: 2 tools") end, "the tool list", T)
      expect.eq(shown[1][1], "search — connected · 2 tools")
      expect.match(shown[1][2], "^tracker — authenticationRequired · notLoggedIn · 0 tools — needs a login")
      expect.eq(shown[1][3], "Reload MCP servers")
      expect.same(shown[2], { "Show tools (2)", "Reload MCP servers" }, "no login for a server without OAuth")
      expect.match(notes.find("2 tools").msg, "\n  ask\n  find  Finds things$")
    end)

    it("logs in to a server that needs it: the authorization URL is opened", function()
      can("mcpServerStatus/list", SERVERS)
      can("mcpServer/oauth/login", { authorizationUrl = "https://auth.example/authorize?x=1", loginId = "l1" })
      local opened
      require("codex.ui.util").open_url = function(url) opened = url end
      local n = 0
      vim.ui.select = function(items, _, cb)
        n = n + 1
        if n == 1 then return cb(items[2]) end -- "tracker"
        for _, a in ipairs(items) do if a == "Log in (OAuth)" then return cb(a) end end
        cb(nil)
      end
      vim.cmd("Codex mcp")
      env.wait(function() return opened end, "the browser", T)
      expect.eq(opened, "https://auth.example/authorize?x=1")
      emit("mcpServer/oauthLogin/completed", { name = "tracker", success = true, loginId = "l1" })
      env.wait(function() return notes.find('MCP server "tracker": logged in') end, "the login's end", T)
      local st = client:request("fake/stats")
      expect.truthy(vim.tbl_contains(st.received, "mcpServer/oauth/login"))
    end)

    it(":Codex mcp reload asks the server to reload", function()
      can("config/mcpServer/reload", {})
      notes.clear()
      vim.cmd("Codex mcp reload")
      env.wait(function() return notes.find("MCP servers reloaded") end, "the reload", T)
      expect.truthy(vim.tbl_contains(client:request("fake/stats").received, "config/mcpServer/reload"))
    end)

    it(":checkhealth codex lists the failing MCP servers", function()
      can("mcpServerStatus/list", SERVERS)
      vim.cmd("silent checkhealth codex")
      local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
      pcall(vim.cmd, "bwipe!")
      expect.match(text, "MCP server tracker: needs a login")
      expect.falsy(text:find("MCP server search:", 1, true), "a working server is no warning")
    end)
  end)
end)
