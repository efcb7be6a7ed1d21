---@mod codex.errors  Error objects shared by every layer.
---
--- Every failure is a table {kind, message, code?, data?, method?, stderr?, exit_code?,
--- signal?} with a __tostring. Kinds: "rpc", "transport_closed", "timeout", "overloaded",
--- "turn_failed", "invalid_argument", "closed", "protocol" (and "not_built", raised by
--- require("codex.core") when the module is missing: see codex/init.lua).
local core = require("codex.core")

local M = {}

---@class codex.Error
---@field kind string
---@field message string
---@field code integer|nil JSON-RPC error code
---@field data any
---@field method string|nil the request that failed
---@field stderr string|nil the tail of the app-server's stderr (transport errors)
---@field exit_code integer|nil
---@field signal integer|nil

M.mt = core.error_mt

--- Makes an error object.
---@param kind string
---@param message string
---@param fields table|nil extra fields
---@return codex.Error
function M.new(kind, message, fields)
  local e = fields or {}
  e.kind, e.message = kind, message
  return setmetatable(e, M.mt)
end

--- Is err an error object (of the given kind, when given)?
---@param err any
---@param kind string|nil
---@return boolean
function M.is(err, kind)
  return type(err) == "table" and getmetatable(err) == M.mt and (kind == nil or err.kind == kind)
end

return M
