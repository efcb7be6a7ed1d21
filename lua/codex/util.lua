---@mod codex.util  Small helpers of the Lua API, one per need (the UI's are in codex.ui.util).
---
--- Pure Lua (plain Lua 5.4 and LuaJIT): no vim.*, and codex.core only on first use of
--- val(), so the plugin's config can use it before the core is built.
local M = {}

--- A deep copy that keeps metatables (the JSON array marker among them). Shared tables are
--- copied once per reference; tables must not be cyclic (options and protocol values are not).
---@generic T
---@param v T
---@return T
function M.deep_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = M.deep_copy(x) end
  return setmetatable(out, getmetatable(v))
end

local null = nil

--- v, or nil for JSON null (codex.core.null, which is vim.NIL in Neovim).
---@generic T
---@param v T
---@return T|nil
function M.val(v)
  null = null or require("codex.core").null
  if v == null then return nil end
  return v
end

--- v if it is a string, else nil (JSON null, or a payload drifted to another type).
---@param v any
---@return string|nil
function M.str(v) return type(v) == "string" and v or nil end

--- v if it is a table (a JSON array or object), else an empty table.
---@param v any
---@return table
function M.list(v) return type(v) == "table" and v or {} end

--- Calls fn(...) protected; on an error, report("codex: error in <what>: <error>") and
--- returns false. For user callbacks: one failing callback must not break the delivery
--- that called it.
---@param report fun(msg: string)
---@param what string
---@param fn function
---@return boolean ok, any result_or_error
function M.safe_call(report, what, fn, ...)
  local ok, res = pcall(fn, ...)
  if not ok then report(("codex: error in %s: %s"):format(what, tostring(res))) end
  return ok, res
end

---@class codex.Subscribers
---@field fns function[] the current subscribers; never changed in place
local Subscribers = {}
Subscribers.__index = Subscribers

--- A subscriber list with copy-on-write semantics: add() and its unsubscribe function
--- replace `fns` instead of changing it, so a delivery (which iterates the list it started
--- with) calls every subscriber that was there when it started, whatever the callbacks
--- add or remove meanwhile.
---@return codex.Subscribers
function M.subscribers()
  return setmetatable({ fns = {} }, Subscribers)
end

--- Adds fn; returns the function that removes it (idempotent).
---@param fn function
---@return fun()
function Subscribers:add(fn)
  local copy = { (table.unpack or unpack)(self.fns) }
  copy[#copy + 1] = fn
  self.fns = copy
  return function()
    local out = {}
    for _, f in ipairs(self.fns) do
      if f ~= fn then out[#out + 1] = f end
    end
    self.fns = out
  end
end

--- Calls every subscriber with ..., each through safe_call(report, what).
---@param report fun(msg: string)
---@param what string
function Subscribers:emit(report, what, ...)
  for _, fn in ipairs(self.fns) do M.safe_call(report, what, fn, ...) end
end

return M
