---@mod codex.elicitation  MCP elicitations: tool-call approvals and flat forms (pure).
---
--- `mcpServer/elicitation/request` carries two different things (protocol.md §6):
---
---  * an **MCP tool-call approval**: form mode, an empty `requestedSchema`, and
---    `_meta.codex_approval_kind = "mcp_tool_call"`. `_meta` may also carry `persist`
---    ("session", "always" or both, in a list: which remembered approvals the server offers),
---    `tool_title`, `tool_description`, `tool_params` (the call's arguments),
---    `tool_params_display` ([{name, display_name, value}]) and, for app connectors,
---    `connector_name`/`connector_description`. The tool's own name is only in the message
---    ("Allow the X MCP server to run tool "Y"?"). codex reads the answer as: accept (content
---    `{}`) runs the tool once, accept with `_meta.persist = "session"` remembers it for the
---    session, with `"always"` writes the approval to config.toml; decline and cancel skip
---    the call.
---  * a **form** a server wants filled in: `requestedSchema` is an object whose properties
---    are string / number / integer / boolean / enum fields. The answer is accept with
---    `content` = {field: value}, or decline / cancel with `content: null`.
---
--- Pure functions (no vim.*): what the UI modules need to show and validate them. Payloads are
--- read defensively: a field may be missing, JSON null or of another type.
local util = require("codex.util")

local val, list, str = util.val, util.list, util.str

local M = {}

--- Is this elicitation an MCP tool-call approval (shown as an approval prompt)?
---@param params table|nil the request's params
---@return boolean
function M.is_tool_approval(params)
  if type(params) ~= "table" or params.mode ~= "form" then return false end
  local meta = val(params._meta)
  return type(meta) == "table" and meta.codex_approval_kind == "mcp_tool_call"
end

--- Which remembered approvals the server offers: {session = bool, always = bool}.
---@param params table|nil
---@return {session: boolean, always: boolean}
function M.persist_options(params)
  local meta = type(params) == "table" and val(params._meta)
  local p = type(meta) == "table" and val(meta.persist) or nil
  local out = { session = false, always = false }
  local values = type(p) == "table" and p or { p }
  for _, v in ipairs(values) do
    if v == "session" or v == "always" then out[v] = true end
  end
  return out
end

---@class codex.McpToolInfo
---@field server string
---@field tool string|nil the tool's name (from the message)
---@field title string|nil
---@field description string|nil
---@field connector string|nil an app connector's name
---@field message string|nil
---@field args {name: string, value: any}[] the call's arguments, in display order

--- What a tool-call approval is about.
---@param params table|nil
---@return codex.McpToolInfo
function M.tool_info(params)
  params = type(params) == "table" and params or {}
  local meta = val(params._meta)
  meta = type(meta) == "table" and meta or {}
  local message = str(params.message)
  local info = {
    server = str(params.serverName) or "an MCP server",
    tool = message and message:match('tool "([^"]+)"') or nil,
    title = str(meta.tool_title),
    description = str(meta.tool_description),
    connector = str(meta.connector_name),
    message = message,
    args = {},
  }
  local display = val(meta.tool_params_display)
  if type(display) == "table" and #display > 0 then
    for _, d in ipairs(display) do
      if type(d) == "table" then
        info.args[#info.args + 1] = { name = str(d.display_name) or str(d.name) or "?", value = d.value }
      end
    end
    return info
  end
  local params_v = val(meta.tool_params)
  if type(params_v) == "table" then
    local names = {}
    for k in pairs(params_v) do names[#names + 1] = tostring(k) end
    table.sort(names)
    for _, k in ipairs(names) do
      local v = params_v[k]
      if v == nil then v = params_v[tonumber(k)] end
      info.args[#info.args + 1] = { name = k, value = v }
    end
  end
  return info
end

--- The answers to a tool-call approval, keyed on what the user picks.
---@param key "once"|"session"|"always"|"decline"|"cancel"
---@param null any the JSON null of the host (codex.core.null)
---@return table
function M.tool_answer(key, null)
  if key == "once" then return { action = "accept", content = {} } end
  if key == "session" or key == "always" then
    return { action = "accept", content = {}, _meta = { persist = key } }
  end
  return { action = key == "cancel" and "cancel" or "decline", content = null }
end

-- Flat forms --------------------------------------------------------------------------------

---@class codex.FormField
---@field name string the property name (the key in `content`)
---@field kind "string"|"number"|"integer"|"boolean"|"enum"
---@field label string its title, else its name
---@field description string|nil
---@field required boolean
---@field default any
---@field options {value: string, label: string}[]|nil enum choices
---@field min number|nil minimum (numbers) or minLength (strings)
---@field max number|nil maximum (numbers) or maxLength (strings)
---@field format string|nil email, uri, date, date-time

local function enum_options(p)
  local one_of = val(p.oneOf)
  if type(one_of) == "table" and #one_of > 0 then
    local out = {}
    for _, o in ipairs(one_of) do
      if type(o) ~= "table" or type(o.const) ~= "string" then return nil end
      out[#out + 1] = { value = o.const, label = str(o.title) or o.const }
    end
    return out
  end
  local enum = val(p.enum)
  if type(enum) == "table" and #enum > 0 then
    local names, out = list(val(p.enumNames)), {}
    for i, v in ipairs(enum) do
      if type(v) ~= "string" then return nil end
      out[#out + 1] = { value = v, label = str(names[i]) or v }
    end
    return out
  end
  return nil
end

local function num(v) return type(v) == "number" and v or nil end

--- The fields of a flat form schema (each property a string, number, integer, boolean or
--- single-choice enum), sorted by name; nil and why when the schema is anything else.
---@param schema any the request's requestedSchema
---@return codex.FormField[]|nil, string|nil
function M.fields(schema)
  schema = val(schema)
  if type(schema) ~= "table" then return nil, "the form has no schema" end
  local t = val(schema.type)
  if t ~= nil and t ~= "object" then return nil, ("the form is a %s, not an object"):format(tostring(t)) end
  local props = val(schema.properties)
  if props == nil then props = {} end
  if type(props) ~= "table" then return nil, "the form's properties are not an object" end
  local required = {}
  for _, r in ipairs(list(val(schema.required))) do
    if type(r) == "string" then required[r] = true end
  end
  local names = {}
  for k in pairs(props) do
    if type(k) ~= "string" then return nil, "the form's properties are not an object" end
    names[#names + 1] = k
  end
  table.sort(names)
  local fields = {}
  for _, name in ipairs(names) do
    local p = props[name]
    if type(p) ~= "table" then return nil, ("field %s has no schema"):format(name) end
    local ptype = val(p.type)
    local f = {
      name = name, label = str(p.title) or name, description = str(p.description),
      required = required[name] == true, default = val(p.default),
    }
    local options = (ptype == "string" or ptype == nil) and enum_options(p) or nil
    if options then
      f.kind, f.options = "enum", options
    elseif ptype == "string" then
      f.kind, f.min, f.max, f.format = "string", num(val(p.minLength)), num(val(p.maxLength)), str(val(p.format))
    elseif ptype == "number" or ptype == "integer" then
      f.kind, f.min, f.max = ptype, num(val(p.minimum)), num(val(p.maximum))
    elseif ptype == "boolean" then
      f.kind = "boolean"
    else
      return nil, ("field %s is of type %s"):format(name, tostring(ptype))
    end
    fields[#fields + 1] = f
  end
  return fields
end

--- A value left out of `content` (an optional field the user left empty).
M.SKIP = setmetatable({}, { __tostring = function() return "(skip)" end })

local function chars(s) return select(2, s:gsub("[^\128-\191]", "")) end

local FORMATS = {
  email = { "^[^@%s]+@[^@%s]+$", "an e-mail address" },
  uri = { "^%a[%w+.%-]*:%S+$", "a URI (scheme:…)" },
  date = { "^%d%d%d%d%-%d%d%-%d%d$", "a date (YYYY-MM-DD)" },
  ["date-time"] = { "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d", "a date and time (YYYY-MM-DDThh:mm…)" },
}

--- Checks text typed for a string/number/integer field: the value to send (M.SKIP for an
--- optional field left empty), or nil and what is wrong.
---@param f codex.FormField
---@param text string
---@return any value, string|nil problem
function M.check(f, text)
  text = tostring(text or "")
  if f.kind == "number" or f.kind == "integer" then text = text:match("^%s*(.-)%s*$") end
  if text == "" then
    if f.required then return nil, f.label .. " is required" end
    return M.SKIP
  end
  if f.kind == "string" then
    local n = chars(text)
    if f.min and n < f.min then return nil, ("%s needs at least %d characters"):format(f.label, f.min) end
    if f.max and n > f.max then return nil, ("%s takes at most %d characters"):format(f.label, f.max) end
    local fmt = f.format and FORMATS[f.format]
    if fmt and not text:find(fmt[1]) then return nil, ("%s must be %s"):format(f.label, fmt[2]) end
    return text
  end
  local x = tonumber(text)
  if not x or x ~= x or x == math.huge or x == -math.huge then return nil, ("%s must be a number"):format(f.label) end
  if f.kind == "integer" then
    if x ~= math.floor(x) then return nil, ("%s must be a whole number"):format(f.label) end
    x = math.tointeger and math.tointeger(x) or x
  end
  if f.min and x < f.min then return nil, ("%s must be at least %s"):format(f.label, tostring(f.min)) end
  if f.max and x > f.max then return nil, ("%s must be at most %s"):format(f.label, tostring(f.max)) end
  return x
end

--- How a field is asked: "Label (description) [required, 1–10]".
---@param f codex.FormField
---@return string
function M.prompt(f)
  local notes = {}
  if f.required then notes[#notes + 1] = "required" end
  if f.kind == "integer" then notes[#notes + 1] = "whole number" end
  if f.kind == "number" then notes[#notes + 1] = "number" end
  if f.min or f.max then
    local unit = f.kind == "string" and " characters" or ""
    notes[#notes + 1] = (f.min and tostring(f.min) or "") .. "–" .. (f.max and tostring(f.max) or "") .. unit
  end
  if f.format and FORMATS[f.format] then notes[#notes + 1] = FORMATS[f.format][2] end
  local s = f.label
  if f.description then s = s .. " (" .. f.description .. ")" end
  if #notes > 0 then s = s .. " [" .. table.concat(notes, ", ") .. "]" end
  return s
end

return M
