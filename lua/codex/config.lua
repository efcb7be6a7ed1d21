---@mod codex.config  The plugin's options: defaults, validation (in one place), current value.
local M = {}

---@class codex.Config
---@field codex_bin string|nil the codex executable (else $CODEX_BIN, the plugin's pinned copy, PATH)
---@field client table|nil extra codex.new() options (env, config, args, cwd, …)
---@field model string|nil model for new threads (nil: codex's default)
---@field effort string|nil reasoning effort for turns (nil: the model's default)
---@field sandbox "read-only"|"workspace-write"|"danger-full-access" sandbox of new threads
---@field approval_policy string|table "untrusted"|"on-request"|"never"|{granular=…}
---@field auto_approve {commands: string[]|boolean, file_changes: string[]|boolean}|false rules that skip the prompt (off by default)
---@field chat {layout: "split"|"vsplit"|"float"|"current", width: number, height: number, input_height: integer, fold_output_lines: integer, frame_ms: integer, history_turns: integer}
---@field keymaps table<string, string|false> every key the plugin maps; false disables one
---@field login {method: "device"|"browser"|"apikey"}

--- The defaults (documented in doc/codex.txt, |codex-config|).
---@type codex.Config
M.defaults = {
  codex_bin = nil,
  client = {},
  model = nil,
  effort = nil,
  -- Ask the user: codex asks for approval of every command that is not known safe.
  sandbox = "read-only",
  approval_policy = "untrusted",
  auto_approve = false,
  chat = {
    layout = "vsplit", -- "split" | "vsplit" | "float" | "current"
    width = 0.4, -- fraction of the editor (vsplit/float) or columns when > 1
    height = 0.4, -- fraction of the editor (split/float) or lines when > 1
    input_height = 5,
    fold_output_lines = 12, -- command output longer than this is folded
    frame_ms = 16, -- at most one render per chat per frame
    history_turns = 20, -- a resumed chat shows this many newest turns; older ones load on demand, as many at a time
  },
  keymaps = {
    -- chat and input buffers (normal mode unless noted)
    send = "<CR>", -- input buffer, normal mode: send (steers while a turn runs)
    send_insert = "<C-s>", -- input buffer, insert and normal mode: send
    queue = "<C-q>", -- input buffer: queue the message for after the current turn
    stop = "<C-c>", -- chat and input: interrupt the running turn
    focus_approval = "<C-a>", -- chat and input: jump to the pending approval prompt
    close = "q", -- chat buffer: close the chat windows
    load_earlier = "gK", -- chat buffer: load earlier turns of a resumed thread (scrolling to the top does too)
    -- approval window
    approval_choose = "<CR>", -- answer with the choice under the cursor
    approval_next_file = "]f",
    approval_prev_file = "[f",
    approval_back = "<Esc>", -- leave the prompt without answering
    -- login window
    login_cancel = "q",
  },
  login = { method = "device" },
}

local function deep_copy(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = deep_copy(v) end
  return out
end

local function merge(base, over)
  for k, v in pairs(over) do
    if type(v) == "table" and type(base[k]) == "table" and not (vim.islist or vim.tbl_islist)(v) then
      merge(base[k], v)
    else
      base[k] = v
    end
  end
  return base
end

local function fail(path, msg)
  error(("codex.setup: %s %s"):format(path, msg), 0)
end

local ENUMS = {
  sandbox = { "read-only", "workspace-write", "danger-full-access" },
  ["chat.layout"] = { "split", "vsplit", "float", "current" },
  ["login.method"] = { "device", "browser", "apikey" },
}

--- Validates a full config; raises "codex.setup: <option> <problem>".
---@param c codex.Config
function M.validate(c)
  local function typ(path, v, ...)
    for _, t in ipairs({ ... }) do if type(v) == t then return end end
    fail(path, ("must be a %s, got %s"):format(table.concat({ ... }, " or "), type(v)))
  end
  typ("codex_bin", c.codex_bin, "nil", "string")
  typ("client", c.client, "table")
  typ("model", c.model, "nil", "string")
  typ("effort", c.effort, "nil", "string")
  typ("approval_policy", c.approval_policy, "string", "table")
  typ("auto_approve", c.auto_approve, "boolean", "table")
  typ("chat", c.chat, "table")
  typ("keymaps", c.keymaps, "table")
  typ("login", c.login, "table")
  for path, allowed in pairs(ENUMS) do
    local v = c
    for part in path:gmatch("[^.]+") do v = v[part] end
    if not vim.tbl_contains(allowed, v) then fail(path, "must be one of " .. table.concat(allowed, ", ")) end
  end
  for _, k in ipairs({ "width", "height" }) do
    typ("chat." .. k, c.chat[k], "number")
    if c.chat[k] <= 0 then fail("chat." .. k, "must be positive") end
  end
  for _, k in ipairs({ "input_height", "fold_output_lines", "frame_ms", "history_turns" }) do typ("chat." .. k, c.chat[k], "number") end
  if c.chat.history_turns < 1 then fail("chat.history_turns", "must be at least 1") end
  for name, key in pairs(c.keymaps) do
    if M.defaults.keymaps[name] == nil then fail("keymaps." .. name, "is not a known keymap") end
    if key ~= false and type(key) ~= "string" then fail("keymaps." .. name, "must be a key (string) or false") end
  end
  if type(c.auto_approve) == "table" then
    for k, v in pairs(c.auto_approve) do
      if k ~= "commands" and k ~= "file_changes" then fail("auto_approve." .. tostring(k), "is not known") end
      typ("auto_approve." .. k, v, "boolean", "table")
    end
  end
  -- unknown top-level keys are almost always typos
  for k in pairs(c) do
    if M.defaults[k] == nil and k ~= "codex_bin" and k ~= "model" and k ~= "effort" then fail(tostring(k), "is not a known option") end
  end
end

local current = nil

--- Applies options over the defaults (or over vim.g.codex). Idempotent: calling it again
--- with the same options changes nothing; with new ones, replaces the config.
---@param opts codex.Config|nil
---@return codex.Config
function M.setup(opts)
  local c = deep_copy(M.defaults)
  if type(vim.g.codex) == "table" then merge(c, vim.g.codex) end
  if opts ~= nil then
    if type(opts) ~= "table" then fail("options", "must be a table") end
    merge(c, deep_copy(opts))
  end
  M.validate(c)
  current = c
  return c
end

--- The current config (the defaults until setup() is called).
---@return codex.Config
function M.get()
  return current or M.setup(nil)
end

return M
