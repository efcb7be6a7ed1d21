-- Modes at runtime (codex.ui.modes): `:Codex mode` switches a chat between Read-only, Agent
-- and Agent (full access) — full access only once confirmed — and `:Codex plan` toggles plan
-- mode; the bar shows both, and the real app-server (+ mock) runs the next turns with them
-- (thread/settings/updated says so, and an edit is applied or asked about accordingly).
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")
local env_lib = require("lib.env")

describe("modes", function()
  local env = ui.env()
  teardown(env.close)
  local modes = require("codex.ui.modes")
  local events = require("codex.events")
  local real_select = vim.ui.select
  local asked, unsub
  before_each(function()
    ui.settle_chats()
    asked = {}
    unsub = events.on("ApprovalRequested", function(d) asked[#asked + 1] = d end)
  end)
  after_each(function()
    vim.ui.select = real_select
    unsub()
    ui.settle_chats()
  end)

  local function notes()
    local cap = env_lib.capture_notify({ quiet = true })
    finally(cap.restore)
    return cap
  end
  local function exists(name)
    return vim.loop.fs_stat(env.workspace .. "/" .. name) ~= nil
  end
  local function turn(c, text)
    c:send(text)
    ui.wait_idle(c)
  end
  local function settings(c, pred, what)
    return env_lib.wait(function() return type(c.server_settings) == "table" and pred(c.server_settings) end, what, 10000)
  end

  it("a chat starts in its thread's mode; :Codex mode agent edits the workspace without asking", function()
    notes()
    local c = ui.new_chat()
    turn(c, "hello")
    expect.match(c:status_text(), "· read%-only ·")
    vim.cmd("Codex mode agent")
    env_lib.wait(function() return c.mode == "agent" end, "the mode", 10000)
    expect.eq(c.mode_profile, ":workspace", "the server's permission profile is used")
    expect.match(c:status_text(), "· agent ·")
    turn(c, "[[patch]] agent.txt")
    expect.truthy(exists("agent.txt"), "the patch was applied")
    expect.eq(#asked, 0, "nothing was asked")
    settings(c, function(s) return s.sandboxPolicy and s.sandboxPolicy.type == "workspaceWrite" end, "workspace-write")
  end)

  it("read-only asks before an edit", function()
    notes()
    local c = ui.new_chat()
    vim.cmd("Codex mode read-only")
    env_lib.wait(function() return c.mode == "read-only" end, "the mode", 10000)
    c:send("[[patch]] ro.txt")
    env_lib.wait(function() return #asked > 0 end, "the approval", 20000)
    c:stop()
    ui.wait_idle(c)
    expect.falsy(exists("ro.txt"))
  end)

  it("full access is never set without the user's confirmation", function()
    local cap = notes()
    local c = ui.new_chat()
    turn(c, "hello")
    local prompts = {}
    vim.ui.select = function(items, opts, cb)
      prompts[#prompts + 1] = opts.prompt
      cb(nil) -- dismissed
    end
    vim.cmd("Codex mode full")
    expect.eq(#prompts, 1, "asked")
    expect.match(prompts[1], "without asking")
    expect.falsy(c.mode == "full")
    expect.truthy(cap.find("mode unchanged"))
    -- through the picker: Agent (full access), then confirmed
    vim.ui.select = function(items, opts, cb)
      prompts[#prompts + 1] = opts.prompt
      if #prompts == 2 then
        for _, m in ipairs(items) do if m.key == "full" then return cb(m) end end
      end
      cb(items[1]) -- "Switch to full access"
    end
    vim.cmd("Codex mode")
    env_lib.wait(function() return c.mode == "full" end, "full access", 10000)
    expect.match(c:status_text(), "· full access ·")
    turn(c, "[[patch]] full.txt")
    expect.truthy(exists("full.txt"))
    expect.eq(#asked, 0)
    settings(c, function(s) return s.approvalPolicy == "never" end, "approvals off")
  end)

  it(":Codex plan turns plan mode on for the next turns and off again", function()
    notes()
    local c = ui.new_chat()
    turn(c, "hello")
    expect.falsy(c:status_text():find("· plan", 1, true))
    vim.cmd("Codex plan")
    env_lib.wait(function() return c.plan == true end, "plan mode", 10000)
    expect.match(c:status_text(), "· plan ·")
    turn(c, "hello")
    settings(c, function(s) return s.collaborationMode and s.collaborationMode.mode == "plan" end, "plan mode on the server")
    vim.cmd("Codex plan off")
    expect.eq(c.plan, false)
    turn(c, "hello")
    settings(c, function(s) return s.collaborationMode and s.collaborationMode.mode == "default" end, "the default mode again")
    expect.falsy(c:status_text():find("· plan", 1, true))
  end)

  it(":Codex model asks whether to keep the choice for the session or save it as codex's default", function()
    local cap = notes()
    local function config_toml()
      local f = assert(io.open(env.home .. "/config.toml"))
      local t = f:read("*a")
      f:close()
      return t
    end
    local before = config_toml()
    expect.falsy(before:find("model_reasoning_effort", 1, true), "(no default effort yet)")
    local answer = "For this session"
    local save_prompt
    vim.ui.select = function(items, opts, cb)
      if opts.prompt == "Codex model" then
        for _, m in ipairs(items) do if m.id == "mock-model" then return cb(m) end end
      elseif opts.prompt == "Reasoning effort" then
        for _, e in ipairs(items) do if e.reasoningEffort == "low" then return cb(e) end end
      else
        save_prompt = items
        for _, x in ipairs(items) do if x:find(answer, 1, true) then return cb(x) end end
      end
      cb(nil)
    end
    vim.cmd("Codex model")
    env_lib.wait(function() return save_prompt end, "the save question", 10000)
    env_lib.settle()
    expect.eq(config_toml(), before, "the session's choice writes nothing")
    answer = "Save as the default"
    vim.cmd("Codex model")
    env_lib.wait(function() return cap.find("saved as codex's default") end, "the save", 10000)
    local toml = config_toml()
    expect.match(toml, '^model = "mock%-model"')
    expect.match(toml, 'model_reasoning_effort = "low"')
  end)

  it("without permission profiles a mode is a sandbox policy with its approval policy", function()
    local o = modes.turn_options({ mode = "full", model = "m" })
    expect.same(o.sandbox_policy, { type = "dangerFullAccess" })
    expect.eq(o.approval_policy, "never")
    expect.eq(o.permissions, nil)
    local p = modes.turn_options({ mode = "agent", mode_profile = ":workspace" })
    expect.eq(p.permissions, ":workspace")
    expect.eq(p.sandbox_policy, nil, "never both")
    expect.same(modes.turn_options({ model = "m" }), { model = "m" }, "nothing chosen: nothing sent")
  end)
end)
