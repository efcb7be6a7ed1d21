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


--- A file's whole text, or nil when it cannot be read (it does not exist).
---@param path string
---@return string|nil
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local t = f:read("a")
  f:close()
  return t
end

--- Writes a file's whole text (making its directory if needed); text false removes the file.
---@param path string
---@param text string|false
---@return boolean|nil ok
---@return string|nil err
function M.write_file(path, text)
  if text == false then
    local ok, err = os.remove(path)
    return ok ~= nil, err
  end
  local f, err = io.open(path, "wb")
  if not f then
    -- (a shell only when the directory is missing)
    local dir = path:match("^(.*)/[^/]*$")
    if not dir or dir == "" then return nil, err end
    os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
    f, err = io.open(path, "wb")
    if not f then return nil, err end
  end
  local ok, werr = f:write(text)
  f:close()
  if not ok then return nil, werr end
  return true
end

--- The keys of a table, sorted by their text (a stable order for what pairs() gives).
---@param t table
---@return any[]
function M.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

return M
