---@mod codex.config  The plugin's options: defaults, validation, current value.
---
--- The options themselves (types, defaults, docs) are rows of codex.schema.config; this
--- module merges and checks them, and is the only place that reads vim.g.codex.
local schema = require("codex.schema")
local rows = require("codex.schema.config")
local util = require("codex.util")

local M = {}

--- The defaults (documented in doc/codex.txt, |codex-config|).
---@type codex.Config
M.defaults = schema.defaults(rows)

--- Merges over into base: tables are merged key by key, except lists (a list option such as
--- auto_approve.commands is replaced, not merged index by index).
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

--- Validates a full config; raises "codex.setup: <option> <problem>".
---@param c codex.Config
function M.validate(c)
  local path, problem = schema.validate(rows, c, "is not a known option")
  if path then fail(path, problem) end
end

local current = nil

--- Applies options over the defaults (or over vim.g.codex). Idempotent: calling it again
--- with the same options changes nothing; with new ones, replaces the config (what that
--- does to the shared client: codex.session, |codex-setup-again|).
---@param opts codex.Config|nil
---@return codex.Config
function M.setup(opts)
  -- Copies, so that later changes to the caller's tables (or vim.g.codex) change nothing.
  local c = schema.defaults(rows)
  if type(vim.g.codex) == "table" then merge(c, util.deep_copy(vim.g.codex)) end
  if opts ~= nil then
    if type(opts) ~= "table" then fail("options", "must be a table") end
    merge(c, util.deep_copy(opts))
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
