---@mod codex.ui.modes  A chat's approval/sandbox mode and plan mode, switched at runtime.
---
--- Three modes, as the official clients name them:
---   read-only  sandbox read-only, approvals on request (asks before anything that writes)
---   agent      sandbox workspace-write, approvals on request (edits the workspace, asks to go
---              beyond it)
---   full       no sandbox, no approvals (the agent runs anything without asking): only after
---              the user confirmed it
--- A mode is a permission profile (permissionProfile/list: turn/start `permissions`) where the
--- server lists it, else a sandbox policy (turn/start `sandboxPolicy`), with the approval
--- policy, sent with every turn of the chat once chosen (the server keeps a turn's settings
--- for the next turns too, so a chat that never chose sends nothing and keeps its thread's).
--- Plan mode is the collaboration mode "plan" (collaborationMode/list presets; turn/start
--- `collaborationMode`); turning it off sends the "default" mode.
--- What the thread really runs with comes back as thread/settings/updated (codex.ui.notices
--- stores it on the chat): the bar shows that, or the choice not yet sent.
local util = require("codex.ui.util")

local M = {}

---@class codex.Mode
---@field key string
---@field label string
---@field profile string the permission profile id
---@field sandbox table the sandbox policy, where there are no profiles
---@field approval string the approval policy
---@field bar string the bar's word

---@type codex.Mode[]
M.MODES = {
  { key = "read-only", label = "Read-only", profile = ":read-only", sandbox = { type = "readOnly" },
    approval = "on-request", bar = "read-only" },
  { key = "agent", label = "Agent (ask)", profile = ":workspace", sandbox = { type = "workspaceWrite" },
    approval = "on-request", bar = "agent" },
  { key = "full", label = "Agent (full access)", profile = ":danger-full-access", sandbox = { type = "dangerFullAccess" },
    approval = "never", bar = "full access" },
}
local by_key = {}
for _, m in ipairs(M.MODES) do by_key[m.key] = m end

--- The mode of a key ("read-only", "agent", "full"), if it is one.
---@param key string|nil
---@return codex.Mode|nil
function M.get(key) return key and by_key[key] or nil end

--- The bar's word for thread settings as the server reports them (thread/settings/updated's
--- threadSettings, or a thread/start result): the mode they amount to, else the sandbox.
---@param s table|nil
---@return string|nil
function M.settings_word(s)
  if type(s) ~= "table" then return nil end
  local sb = s.sandboxPolicy or s.sandbox
  local kind = type(sb) == "table" and sb.type or nil
  if kind == "readOnly" then return "read-only" end
  if kind == "workspaceWrite" then return "agent" end
  if kind == "dangerFullAccess" then return s.approvalPolicy == "never" and "full access" or "no sandbox" end
  if kind == "externalSandbox" then return "external sandbox" end
  return nil
end

--- The chat's mode word for the bar: the choice, else what the server reports.
---@param chat codex.Chat
---@return string|nil
function M.bar_word(chat)
  local m = M.get(chat.mode)
  if m then return m.bar end
  return M.settings_word(chat.server_settings) or M.settings_word(chat.thread and chat.thread.settings)
end

--- Is the chat in plan mode (chosen, else as the server reports)?
---@param chat codex.Chat
---@return boolean
function M.planning(chat)
  if chat.plan ~= nil then return chat.plan end
  local s = chat.server_settings
  local cm = type(s) == "table" and type(s.collaborationMode) == "table" and s.collaborationMode or nil
  return cm ~= nil and cm.mode == "plan"
end

-- Per client (weak keys): permissionProfile/list and collaborationMode/list answers.
local profiles = setmetatable({}, { __mode = "k" })
local presets = setmetatable({}, { __mode = "k" })

--- The turn/start options of the chat's next turn: model and effort, then the mode and plan
--- mode it chose (nothing for what it never chose).
---@param chat codex.Chat
---@return codex.TurnOptions
function M.turn_options(chat)
  local o = { model = chat.model, effort = chat.effort }
  local m = M.get(chat.mode)
  if m then
    o.approval_policy = m.approval
    if chat.mode_profile then o.permissions = chat.mode_profile else o.sandbox_policy = m.sandbox end
  end
  if chat.plan ~= nil then
    local preset = chat.plan_preset or {}
    local model = chat.model or chat.server_model or (type(preset.model) == "string" and preset.model) or nil
    local effort = chat.effort or (type(preset.reasoning_effort) == "string" and preset.reasoning_effort) or nil
    o.collaboration_mode = {
      mode = chat.plan and "plan" or "default",
      settings = { model = model, reasoning_effort = effort or vim.NIL, developer_instructions = vim.NIL },
    }
  end
  return o
end

--- permissionProfile/list of the chat's client (asked once; {} when it does not answer).
local function list_profiles(client, cwd, cb)
  if profiles[client] then return cb(profiles[client]) end
  client:request("permissionProfile/list", { cwd = cwd }, nil, function(err, res)
    local map = {}
    if not err and type(res) == "table" and type(res.data) == "table" then
      for _, p in ipairs(res.data) do
        if type(p) == "table" and type(p.id) == "string" then map[p.id] = p end
      end
    end
    profiles[client] = map
    cb(map)
  end)
end

local function redraw() require("codex.ui.util").redraw_bars() end

--- Sets the chat's mode (after the user confirmed full access): from its next turn on.
---@param chat codex.Chat
---@param key string
---@param cb fun(ok: boolean)|nil
function M.apply(chat, key, cb)
  local m = M.get(key)
  if not m then return cb and cb(false) end
  local client = chat.thread and chat.thread.client or require("codex.session").client()
  list_profiles(client, chat.cwd, function(map)
    local p = map[m.profile]
    if p and p.allowed == false then
      util.notify(("%s is not allowed by this machine's requirements"):format(m.label), vim.log.levels.WARN)
      return cb and cb(false)
    end
    chat.mode, chat.mode_profile = m.key, p and m.profile or nil
    redraw()
    util.notify(("%s from the next turn%s"):format(m.label,
      m.key == "full" and ": commands and edits run without asking, outside the sandbox" or ""))
    if cb then cb(true) end
  end)
end

--- Asks which mode (unless key says), confirms full access, then applies it.
---@param chat codex.Chat
---@param key string|nil
function M.choose(chat, key)
  local function confirm_then_apply(m)
    if m.key ~= "full" then return M.apply(chat, m.key) end
    local yes = "Switch to full access (no sandbox, no approvals)"
    vim.ui.select({ yes, "Cancel" }, {
      prompt = "Agent (full access): the agent runs every command and edit without asking you. Switch?",
    }, function(choice)
      if choice == yes then M.apply(chat, "full") else util.notify("mode unchanged") end
    end)
  end
  if key then
    local m = M.get(key)
    if not m then
      return util.notify(("unknown mode %q: read-only, agent or full"):format(key), vim.log.levels.WARN)
    end
    return confirm_then_apply(m)
  end
  local current = M.bar_word(chat)
  vim.ui.select(M.MODES, {
    prompt = "Codex mode",
    format_item = function(m) return m.label .. (m.bar == current and "  (current)" or "") end,
  }, function(m) if m then confirm_then_apply(m) end end)
end

--- Turns plan mode on or off for the chat's next turns (the presets of collaborationMode/list).
---@param chat codex.Chat
---@param on boolean|nil nil: the other way round
function M.plan(chat, on)
  if on == nil then on = not M.planning(chat) end
  local client = chat.thread and chat.thread.client or require("codex.session").client()
  local function set(preset)
    chat.plan, chat.plan_preset = on, preset
    redraw()
    util.notify(on and "plan mode from the next turn: codex plans (and may ask you questions) before it acts"
      or "plan mode off from the next turn")
  end
  if presets[client] then return set(presets[client][on and "plan" or "default"]) end
  client:request("collaborationMode/list", {}, nil, function(err, res)
    if err then
      return util.notify("plan mode needs collaborationMode/list: " .. util.err_text(err), vim.log.levels.WARN)
    end
    local map = {}
    for _, p in ipairs(type(res) == "table" and type(res.data) == "table" and res.data or {}) do
      if type(p) == "table" and type(p.mode) == "string" then map[p.mode] = p end
    end
    if not map.plan then return util.notify("this app-server offers no plan mode", vim.log.levels.WARN) end
    presets[client] = map
    set(map[on and "plan" or "default"])
  end)
end

return M
