---@mod codex.session  The one client the Neovim UI shares (lazily started), its account,
--- and the per-thread status the statusline shows.
local config = require("codex.config")

local M = {}

---@type codex.Client|nil
local client = nil

--- The shared client; created (not started) on first use with the current config.
--- Approvals go to the UI (codex.ui.approval) unless auto_approve rules accept them.
---@return codex.Client
function M.client()
  if client then return client end
  local codex = require("codex")
  local cfg = config.get()
  local opts = vim.deepcopy(cfg.client or {})
  opts.codex_bin = opts.codex_bin or cfg.codex_bin
  local ui = function(req) return require("codex.ui.approval").handle(req) end
  local handler = ui
  if type(cfg.auto_approve) == "table" then
    handler = codex.approvals.policy({
      commands = cfg.auto_approve.commands, file_changes = cfg.auto_approve.file_changes, otherwise = ui,
    })
  end
  opts.approval_handler = handler
  opts.client_info = opts.client_info or { name = "codex_nvim", title = "codex.nvim", version = require("codex.rpc").VERSION }
  client = codex.new(opts)
  client:on("account/updated", function(p)
    M.account_mode = p.authMode
    M.plan = p.planType
    vim.schedule(function() pcall(vim.cmd, "redrawstatus!") end)
  end)
  client:on("account/rateLimits/updated", function(p) M.rate_limits = p.rateLimits end)
  return client
end

--- The client if one exists (never creates one).
---@return codex.Client|nil
function M.current() return client end

--- Closes the shared client (the next use starts a new one).
function M.reset()
  if client then client:close(function() end) end
  client = nil
end

return M
