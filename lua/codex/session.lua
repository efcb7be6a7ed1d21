---@mod codex.session  The one client the Neovim UI shares (lazily started), its account,
--- and the per-thread status the statusline shows.
---
--- setup() called again (|codex-setup-again|): a change of `client` or `codex_bin` gives the
--- next chat, picker or login a new client with the new options; chats already open keep
--- the app-server they talk to, which ends when nothing uses it any more (or Neovim quits).
--- Everything else, `auto_approve` among it, applies at once: the approval handler reads the
--- config on every request.
local config = require("codex.config")
local util = require("codex.util")

local M = {}

---@type codex.Client|nil
local client = nil
-- The options the client was made with (compared with the config on every client() call).
local made_with = nil

--- The options that make the process: what a new client needs to see.
local function process_options(cfg)
  return { client = cfg.client, codex_bin = cfg.codex_bin }
end

local policy, policy_rules = nil, nil
--- Approvals go to the UI (codex.ui.approval) unless the current auto_approve rules accept
--- them; the policy is rebuilt when setup() replaced the rules.
local function approval_handler(req)
  local ui = function(r) return require("codex.ui.approval").handle(r) end
  local rules = config.get().auto_approve
  if type(rules) ~= "table" then return ui(req) end
  if rules ~= policy_rules then
    policy_rules = rules
    policy = require("codex").approvals.policy({
      commands = rules.commands, file_changes = rules.file_changes, otherwise = ui,
    })
  end
  return policy(req)
end

--- The shared client; created (not started) on first use with the current config, and
--- again after setup() changed `client` or `codex_bin`.
---@return codex.Client
function M.client()
  local cfg = config.get()
  if client and vim.deep_equal(made_with, process_options(cfg)) then return client end
  local opts = util.deep_copy(cfg.client or {})
  opts.codex_bin = opts.codex_bin or cfg.codex_bin
  opts.approval_handler = approval_handler
  local c = require("codex").new(opts)
  client, made_with = c, util.deep_copy(process_options(cfg))
  -- Warnings, MCP startup, rate limits: subscribed before the handshake (configWarning comes with it).
  require("codex.ui.notices").attach(c)
  -- A replaced client (still serving open chats) no longer speaks for the session.
  c:on("account/updated", function(p)
    if client ~= c then return end
    M.account_mode = p.authMode
    M.plan = p.planType
    vim.schedule(function() pcall(vim.cmd, "redrawstatus!") end)
  end)
  c:on("account/rateLimits/updated", function(p)
    if client == c then M.rate_limits = p.rateLimits end
  end)
  return c
end

--- The client if one exists (never creates one).
---@return codex.Client|nil
function M.current() return client end

--- Closes the shared client (the next use starts a new one).
function M.reset()
  if client then client:close(function() end) end
  client, made_with = nil, nil
end

return M
