---@mod codex.schema  Option schemas: one row per option, checked in one place.
---
--- A schema is a list of rows, in the order options are checked and documented
--- (codex.schema.client for codex.new(), codex.schema.config for setup()). A row:
---
---   { "chat.width", "number", default = 0.4, positive = true, doc = "…" }
---
---  [1] path        dotted: "chat.width" is t.chat.width
---  [2] types       a Lua type name or a list of them; "false" means the value false
---  allow_nil       nil is accepted (an option without a default)
---  default         applied by defaults(); a table row that has child rows and no default
---                  defaults to the table of its children's defaults
---  enum            the accepted values
---  nonneg          a number >= 0 (NaN is not)
---  positive        a number > 0
---  min             a number >= min
---  unknown         for a table row with child rows: the problem an unknown key gets
---                  (default "is not known")
---  doc, lua, tag, default_text, collapse, keymap   for the generated docs and LuaCATS
---                  types only (scripts/gen_options.lua): help text, LuaCATS type, help tag,
---                  the default as text when another layer applies it (the C core), a table
---                  shown as `{ … }` among the defaults, a row of the |codex-keymaps| table
---
--- Pure Lua: the generator and plain-Lua scripts load it too.
local M = {}

local function types_of(row)
  return type(row[2]) == "table" and row[2] or { row[2] }
end

--- The problem with value v for row (nil when there is none), e.g. "must be a number, got
--- string". mini.nvim's H.check_type, with the row's constraints.
---@param row table
---@param v any
---@return string|nil
function M.check(row, v)
  if v == nil and row.allow_nil then return nil end
  local types, ok = types_of(row), false
  for _, t in ipairs(types) do
    if type(v) == t or (t == "false" and v == false) then ok = true end
  end
  if not ok then return ("must be a %s, got %s"):format(table.concat(types, " or "), type(v)) end
  if row.enum then
    local found = false
    for _, e in ipairs(row.enum) do if v == e then found = true end end
    if not found then return "must be one of " .. table.concat(row.enum, ", ") end
  end
  if type(v) == "number" then
    -- Written as not (v >= x): NaN fails every comparison, so it fails these too.
    if row.nonneg and not (v >= 0) then return ("must be a non-negative number, got %s"):format(tostring(v)) end
    if row.positive and not (v > 0) then return "must be positive" end
    if row.min and not (v >= row.min) then return ("must be at least %s"):format(tostring(row.min)) end
  end
  return nil
end

local function parent_of(path)
  return path:match("^(.*)%.[^.]+$")
end

local function leaf_of(path)
  return path:match("([^.]+)$")
end

--- The value at a dotted path; nil (and false) when a table on the way is missing.
local function get(t, path)
  for part in path:gmatch("[^.]+") do
    if type(t) ~= "table" then return nil, false end
    t = t[part]
  end
  return t, true
end

--- children[path] = {leaf = true…} for every row that has child rows ("" is the root).
local function children(rows)
  local out = { [""] = {} }
  for _, row in ipairs(rows) do
    local p = parent_of(row[1]) or ""
    out[p] = out[p] or {}
    out[p][leaf_of(row[1])] = true
  end
  return out
end

local sorted_keys = require("codex.util").sorted_keys

--- The first unknown key of table v at path (rows known: its child rows).
local function unknown_key(known, v, path)
  for _, k in ipairs(sorted_keys(v)) do
    if not known[k] then return (path == "" and "" or path .. ".") .. tostring(k), k end
  end
end

--- Checks t against the rows, in row order; returns nil when it is valid, else the path, the
--- problem and, for an unknown key, the key itself. Unknown keys are looked for in the
--- root and in every table row that has child rows; rows below a value that is not a table
--- (auto_approve = false) are not checked.
---@param rows table[]
---@param t table
---@param root_unknown string|nil the problem of an unknown top-level key
---@return string|nil path, string|nil problem, any unknown
function M.validate(rows, t, root_unknown)
  local kids = children(rows)
  local path, key = unknown_key(kids[""], t, "")
  if path then return path, root_unknown or "is not known", key end
  for _, row in ipairs(rows) do
    local v, reachable = get(t, row[1])
    local parent = parent_of(row[1])
    if reachable and (parent == nil or type(get(t, parent)) == "table") then
      local problem = M.check(row, v)
      if problem then return row[1], problem end
      if kids[row[1]] and type(v) == "table" then
        path, key = unknown_key(kids[row[1]], v, row[1])
        if path then return path, row.unknown or "is not known", key end
      end
    end
  end
  return nil
end

--- The defaults: a fresh table (deep-copied defaults) every call.
---@param rows table[]
---@return table
function M.defaults(rows)
  local copy = require("codex.util").deep_copy
  local kids, out = children(rows), {}
  for _, row in ipairs(rows) do
    local t = out
    local parent = parent_of(row[1])
    if parent then t = get(out, parent) end
    if type(t) == "table" then
      if row.default ~= nil then
        t[leaf_of(row[1])] = copy(row.default)
      elseif kids[row[1]] then
        t[leaf_of(row[1])] = {}
      end
    end
  end
  return out
end

return M
