#!/usr/bin/env lua5.4
-- scripts/gen_protocol.lua: LuaCATS types for the codex app-server protocol, generated from
-- the JSON Schema bundle that the pinned binary writes itself
-- (`codex app-server generate-json-schema --out DIR --experimental`).
--
--   lua5.4 scripts/gen_protocol.lua [--codex BIN] [--out FILE] [--check]
--
-- Writes one deterministic file (default lua/codex/types/protocol.lua): `---@class` /
-- `---@alias` annotations for every schema definition (all named `codex.proto.<Name>`), and
-- a plain Lua table that maps each method to its params/result class names, returned by
-- `require("codex.types.protocol")`. --check generates in memory, compares with FILE and
-- exits 1 with a short diff summary when they differ. Needs Lua 5.4 and lua-cjson.
--
-- Schema -> LuaCATS, in short:
--   $ref                          codex.proto.<Name>  (both #/definitions/X and #/definitions/v2/X)
--   object with properties        ---@class; a field not in `required` gets `name?`
--   additionalProperties: S/true  table<string, S> for a bare map, else `---@field [string] S`
--   "null" in a type / anyOf      |codex.proto.null (the project decodes JSON null to a sentinel,
--                                 core.null / vim.NIL, not to nil)
--   enum / single-value enum      string (or integer) literal unions
--   oneOf / anyOf                 ---@alias of the alternatives; an inline object alternative
--                                 becomes the class <Parent>.<tag>, named after its discriminator
--                                 (`type`, `method`, `mode`…) or its single key; properties next to
--                                 a oneOf are shared by (merged into) every variant
--   allOf with one member         that member
--   inline object in a property   the class <Parent>.<property>
--   true / {}                     any
local cjson = require("cjson")
os.setlocale("C")

local NS = "codex.proto."
local NULL_T = NS .. "null"

---------------------------------------------------------------------------------------------
-- Result types that the schema cannot tie to a method. The schema names each request's
-- params but not its result; by convention the result of `XParams` is `XResponse`, and a
-- method without params is looked up by its own name (memory/reset -> MemoryResetResponse,
-- account/gatewayOAuth/cancel -> GatewayOAuthCancelResponse). These are the exceptions, read
-- in openai/codex sources (codex-rs/app-server-protocol/src/protocol/common.rs, whose
-- client_request_definitions! pairs each method with its response type, and the app-server
-- tests), except where marked [obs] (probed on the 0.171.0 binary).
local RESULT_OVERRIDES = {
  ["accountSession/list"] = "AccountSessionsResponse",
  ["account/logout"] = "LogoutAccountResponse",
  ["account/securitySetup/read"] = "GetAccountSecuritySetupResponse",
  ["account/workspaceMessages/read"] = "GetWorkspaceMessagesResponse",
  ["config/batchWrite"] = "ConfigWriteResponse",
  ["config/mcpServer/reload"] = "McpServerRefreshResponse",
  ["config/value/write"] = "ConfigWriteResponse",
  ["externalAgentConfig/import/readHistories"] = "ExternalAgentConfigImportHistoriesReadResponse",
  -- [obs] answers {status, version, filePath, overriddenMetadata}, i.e. ConfigWriteResponse
  ["modelProvider/default/set"] = "ConfigWriteResponse",
}

---------------------------------------------------------------------------------------------
-- command line
local function usage(msg)
  io.stderr:write((msg and (msg .. "\n") or ""),
    "usage: lua5.4 scripts/gen_protocol.lua [--codex BIN] [--out FILE] [--check]\n")
  os.exit(2)
end

local script = (arg and arg[0]) or "scripts/gen_protocol.lua"
local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return (os.getenv("PWD") or ".") .. "/" .. p
end
local ROOT
do
  local dir = absolute(script):match("^(.*)/[^/]*$") or "."
  dir = dir:gsub("/%./", "/"):gsub("/%.$", "")
  ROOT = (dir:gsub("/scripts$", ""))
end

local opts = { codex = ROOT .. "/.deps/bin/codex", out = ROOT .. "/lua/codex/types/protocol.lua" }
do
  local i = 1
  while arg and arg[i] do
    local a = arg[i]
    if a == "--check" then opts.check = true
    elseif a == "--codex" or a == "--out" then
      if not arg[i + 1] then usage(a .. " needs a value") end
      opts[a:sub(3)] = absolute(arg[i + 1])
      i = i + 1
    elseif a == "-h" or a == "--help" then usage()
    else usage("unknown argument " .. a) end
    i = i + 1
  end
end

local function q(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end
local function fail(msg)
  io.stderr:write("gen_protocol: ", msg, "\n")
  os.exit(1)
end
local function run(cmd) -- -> ok, output
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return ok == true or ok == 0, out
end
local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

---------------------------------------------------------------------------------------------
-- run the binary
local ok, version_out = run(q(opts.codex) .. " --version")
local version = ok and version_out:match("codex%-cli%s+(%S+)")
if not version then fail("cannot run " .. opts.codex .. " --version: " .. tostring(version_out)) end

local tmp
do
  -- the system temp dir: writing ~500 small files there is several times faster than in the
  -- work tree here
  local okm, out = run("mktemp -d \"${TMPDIR:-/tmp}/codex-gen-protocol.XXXXXX\"")
  tmp = okm and out:match("^(%S+)\n?$")
  if not tmp then fail("mktemp failed: " .. out) end
end
local function cleanup() os.execute("rm -rf " .. q(tmp)) end

local schema_dir = tmp .. "/schema"
do
  -- A throwaway CODEX_HOME: the user's config.toml must not influence the output.
  local cmd = ("mkdir -p %s && CODEX_HOME=%s %s app-server generate-json-schema --out %s --experimental")
    :format(q(tmp .. "/home"), q(tmp .. "/home"), q(opts.codex), q(schema_dir))
  local okg, out = run(cmd)
  if not okg then cleanup() fail("generate-json-schema failed:\n" .. out) end
end

local files = {}
do
  local p = assert(io.popen("cd " .. q(schema_dir) .. " && find . -type f -name '*.json'"))
  for l in p:lines() do files[#files + 1] = l:gsub("^%./", "") end
  p:close()
  table.sort(files)
end
if #files == 0 then cleanup() fail("the binary wrote no schema files") end

local docs = {}
for _, rel in ipairs(files) do
  local text = read_file(schema_dir .. "/" .. rel)
  local okd, doc = pcall(cjson.decode, text)
  if not okd then cleanup() fail(rel .. ": " .. tostring(doc)) end
  docs[rel] = doc
end
cleanup()

---------------------------------------------------------------------------------------------
-- helpers over decoded JSON
local null = cjson.null
local function is_tbl(v) return type(v) == "table" end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

local function is_array(t)
  if not is_tbl(t) then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local function num(v)
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return ("%d"):format(v)
  end
  return ("%.17g"):format(v)
end

local function ref_name(ref, self_name)
  if ref == "#" then return self_name end
  local name = ref:match("^#/definitions/v2/([^/]+)$") or ref:match("^#/definitions/([^/]+)$")
  if not name then error("unsupported $ref " .. ref) end
  return name
end

-- A canonical text of a schema for comparing copies: titles, $schema and nested
-- definitions are ignored, refs are reduced to their names.
local function canon(v, self_name)
  if v == null then return "null" end
  local tv = type(v)
  if tv == "string" then return ("%q"):format(v) end
  if tv == "number" then return num(v) end
  if tv ~= "table" then return tostring(v) end
  local parts = {}
  if is_array(v) and #v > 0 then
    for i = 1, #v do parts[i] = canon(v[i], self_name) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for _, k in ipairs(sorted_keys(v)) do
    if k ~= "title" and k ~= "$schema" and k ~= "definitions" then
      local x = v[k]
      if k == "$ref" then x = ref_name(x, self_name) end
      parts[#parts + 1] = ("%q:%s"):format(k, canon(x, self_name))
    end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local SCHEMA_KEYS = { "type", "properties", "oneOf", "anyOf", "allOf", "enum", "const", "$ref",
  "items", "additionalProperties" }
local function has_schema_keys(s)
  for _, k in ipairs(SCHEMA_KEYS) do if s[k] ~= nil then return true end end
  return false
end

---------------------------------------------------------------------------------------------
-- one namespace of definitions out of every file; copies must agree
local defs, origin, self_of = {}, {}, {}
local function add_def(name, schema, where, self_name)
  local c = canon(schema, self_name)
  if defs[name] then
    if origin[name].canon ~= c then
      error(("definition %s differs between %s and %s"):format(name, origin[name].where, where))
    end
    return
  end
  defs[name], self_of[name] = schema, self_name
  origin[name] = { where = where, canon = c }
end

-- definitions.v2 in the full bundle is a namespace (a table of schemas), not a schema.
local function is_namespace(s)
  if not is_tbl(s) or next(s) == nil or has_schema_keys(s) then return false end
  for k, v in pairs(s) do
    if not is_tbl(v) or k == "description" or k == "title" then return false end
  end
  return true
end

local function add_definitions(tbl, where, self_name)
  for _, k in ipairs(sorted_keys(tbl)) do
    local s = tbl[k]
    if is_namespace(s) then
      add_definitions(s, where .. "#" .. k, self_name) -- a namespace, e.g. definitions.v2
    else
      add_def(k, s, where, self_name)
    end
  end
end

-- The full bundle first (its definitions are the reference), then every other file.
local BUNDLE = "codex_app_server_protocol.schemas.json"
local order = {}
if docs[BUNDLE] then order[1] = BUNDLE end
for _, rel in ipairs(files) do if rel ~= BUNDLE then order[#order + 1] = rel end end

local okm, merr = pcall(function()
  for _, rel in ipairs(order) do
    local doc = docs[rel]
    local base = rel:match("([^/]+)%.json$")
    if is_tbl(doc.definitions) then add_definitions(doc.definitions, rel, base) end
    -- Every file but the bundles (*.schemas.json: only a container of definitions) is one
    -- type named after the file (v2/ThreadStartParams.json -> ThreadStartParams).
    if not rel:match("%.schemas%.json$") then add_def(base, doc, rel, base) end
  end
end)
if not okm then fail(tostring(merr)) end

local def_names = sorted_keys(defs)

---------------------------------------------------------------------------------------------
-- text helpers
local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat "
  .. "return then true until while"):gmatch("%a+") do KEYWORDS[w] = true end

local function sanitize(s)
  s = tostring(s):gsub("v2::", ""):gsub("[^%w_]", "_")
  if s == "" or s:match("^%d") then s = "_" .. s end
  return s
end

local function collapse(s)
  return (tostring(s):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

local SHORT = 120
-- A field description short enough for a trailing comment: the whole text, else its first
-- sentence, else a cut at a word boundary.
local function short_desc(s)
  if type(s) ~= "string" then return nil end
  s = collapse(s)
  if s == "" then return nil end
  if #s <= SHORT then return s end
  local first = s:match("^(.-[%.!?])%s")
  if first and #first <= SHORT then return first end
  local cut = s:sub(1, SHORT - 3):match("^(.*%S)%s") or s:sub(1, SHORT - 3)
  return cut .. "…"
end

-- A class/alias description: at most LONG bytes, wrapped into `--- ` lines.
local LONG, WIDTH = 400, 96
local function doc_lines(s, out)
  if type(s) ~= "string" then return end
  s = collapse(s)
  if s == "" then return end
  if #s > LONG then s = (s:sub(1, LONG - 3):match("^(.*%S)%s") or s:sub(1, LONG - 3)) .. "…" end
  local line = ""
  local function flush()
    -- a line must not start with a word that LuaLS would read as a tag (`--- @deprecated`)
    out[#out + 1] = "--- " .. line:gsub("^(@%S*)", "`%1`")
  end
  for word in s:gmatch("%S+") do
    if line ~= "" and #line + 1 + #word > WIDTH then
      flush()
      line = word
    else
      line = line == "" and word or (line .. " " .. word)
    end
  end
  if line ~= "" then flush() end
end

local function literal(v)
  if v == null then return NULL_T end
  if type(v) == "string" then
    if not v:find('"', 1, true) and not v:find("[%c\\]") then return '"' .. v .. '"' end
    if not v:find("'", 1, true) and not v:find("[%c\\]") then return "'" .. v .. "'" end
    return "string"
  end
  if type(v) == "number" then return num(v) end
  if type(v) == "boolean" then return tostring(v) end
  return "any"
end

local function join(alts)
  local out, seen, has_null = {}, {}, false
  for _, t in ipairs(alts) do
    if t == NULL_T then has_null = true
    elseif not seen[t] then seen[t] = true out[#out + 1] = t end
  end
  if seen.any then out = { "any" } end
  if has_null then out[#out + 1] = NULL_T end
  if #out == 0 then return "any" end
  return table.concat(out, "|")
end

---------------------------------------------------------------------------------------------
-- generation
local blocks = {} -- class/alias name -> list of lines
local taken = {}
for _, n in ipairs(def_names) do taken[NS .. n] = true end
taken[NULL_T] = true
-- A free class name for an inline type (definition names are reserved up front).
local function unique(name)
  local full, i = NS .. name, 2
  while taken[full] do
    full = NS .. name .. "_" .. i
    i = i + 1
  end
  taken[full] = true
  return full
end

local function is_inline_object(s)
  return is_tbl(s) and s["$ref"] == nil and s.oneOf == nil and s.anyOf == nil
    and (is_tbl(s.properties) and next(s.properties) ~= nil
      or (s.type == "object" and s.additionalProperties == false))
end

local function single_tag(p)
  if not is_tbl(p) then return nil end
  if type(p.const) == "string" then return p.const end
  if is_tbl(p.enum) and #p.enum == 1 and type(p.enum[1]) == "string" then return p.enum[1] end
  return nil
end

-- The property whose single-value enum tells the object alternatives apart.
local function discriminator(alts)
  local objs = {}
  for _, a in ipairs(alts) do
    if is_tbl(a) and is_tbl(a.properties) and next(a.properties) ~= nil then objs[#objs + 1] = a end
  end
  if #objs == 0 then return nil end
  local cands = {}
  for _, k in ipairs(sorted_keys(objs[1].properties)) do
    local seen, good = {}, true
    for _, a in ipairs(objs) do
      local v = single_tag(a.properties[k])
      if not v or seen[v] then good = false break end
      seen[v] = true
    end
    if good then cands[#cands + 1] = k end
  end
  for _, pref in ipairs({ "type", "method", "mode", "kind" }) do
    for _, k in ipairs(cands) do if k == pref then return k end end
  end
  return cands[1]
end

local function variant_name(a, i, disc, path)
  if disc and is_tbl(a.properties) and single_tag(a.properties[disc]) then
    return sanitize(single_tag(a.properties[disc]))
  end
  if is_tbl(a.properties) and is_tbl(a.required) and #a.required == 1 then
    local keys = sorted_keys(a.properties)
    if #keys == 1 and keys[1] == a.required[1] then return sanitize(keys[1]) end
  end
  if type(a.title) == "string" and a.title ~= "" then
    -- titles repeat the parent's name: "Sessionsv2::AccountSessionsSwitchResponse" -> Sessions
    local t, parent = sanitize(a.title), path:match("^[^.]+")
    if #t > #parent and t:sub(-#parent) == parent then t = t:sub(1, -#parent - 1) end
    return t
  end
  return "variant" .. i
end

local emit_class, union_alts

-- Appends the type(s) of schema s to alts; path names the classes of inline objects.
local function collect(s, path, alts, self_name)
  if s == true or (is_tbl(s) and not has_schema_keys(s)) then alts[#alts + 1] = "any" return end
  if not is_tbl(s) then alts[#alts + 1] = "any" return end
  if s["$ref"] then alts[#alts + 1] = NS .. ref_name(s["$ref"], self_name) return end
  if s.allOf then
    if #s.allOf ~= 1 then error(path .. ": allOf with " .. #s.allOf .. " members is not supported") end
    return collect(s.allOf[1], path, alts, self_name)
  end
  if s.oneOf or s.anyOf then
    for _, a in ipairs(union_alts(s, path, self_name)) do alts[#alts + 1] = a.t end
    return
  end
  local types = s.type
  if type(types) == "string" then types = { types } end
  if s.enum or s.const ~= nil then
    local vals = s.enum or { s.const }
    for _, v in ipairs(vals) do alts[#alts + 1] = literal(v) end
    if is_tbl(types) then
      for _, t in ipairs(types) do if t == "null" then alts[#alts + 1] = NULL_T end end
    end
    return
  end
  if not is_tbl(types) then alts[#alts + 1] = "any" return end
  for _, t in ipairs(types) do
    if t == "null" then alts[#alts + 1] = NULL_T
    elseif t == "string" then alts[#alts + 1] = "string"
    elseif t == "integer" then alts[#alts + 1] = "integer"
    elseif t == "number" then alts[#alts + 1] = "number"
    elseif t == "boolean" then alts[#alts + 1] = "boolean"
    elseif t == "array" then
      local elem = "any"
      if is_tbl(s.items) and not is_array(s.items) or s.items == true then
        local e = {}
        collect(s.items, path, e, self_name)
        elem = join(e)
      end
      alts[#alts + 1] = elem:find("|", 1, true) and ("(" .. elem .. ")[]") or (elem .. "[]")
    elseif t == "object" then
      if is_inline_object(s) then
        local name = unique(path)
        emit_class(name, s, nil, self_name)
        alts[#alts + 1] = name
      elseif is_tbl(s.additionalProperties) then
        local v = {}
        collect(s.additionalProperties, path, v, self_name)
        alts[#alts + 1] = "table<string, " .. join(v) .. ">"
      else
        alts[#alts + 1] = "table<string, any>"
      end
    else
      alts[#alts + 1] = "any"
    end
  end
end

local function texpr(s, path, self_name)
  local alts = {}
  collect(s, path, alts, self_name)
  return join(alts)
end

-- The alternatives of a oneOf/anyOf: list of {t = type, d = short description}.
function union_alts(s, path, self_name)
  local list = s.oneOf or s.anyOf
  local nonnull = {}
  for _, a in ipairs(list) do
    if not (is_tbl(a) and a.type == "null" and not a.enum) then nonnull[#nonnull + 1] = a end
  end
  local disc = discriminator(list)
  local out = {}
  for i, a in ipairs(list) do
    local d = is_tbl(a) and short_desc(a.description) or nil
    if is_tbl(a) and a.type == "null" and not a.enum then
      out[#out + 1] = { t = NULL_T }
    elseif is_tbl(a) and (a.oneOf or a.anyOf) and is_tbl(a.properties) then
      -- a variant that is itself a union (shared fields + sub-variants): flatten it, every
      -- sub-variant gets the fields of both levels
      local merged = { properties = {}, required = {}, oneOf = a.oneOf, anyOf = a.anyOf,
        additionalProperties = a.additionalProperties, description = a.description }
      for _, src in ipairs({ s, a }) do
        if is_tbl(src.properties) then for k, v in pairs(src.properties) do merged.properties[k] = v end end
        if is_tbl(src.required) then
          for _, k in ipairs(src.required) do merged.required[#merged.required + 1] = k end
        end
      end
      table.sort(merged.required)
      for _, x in ipairs(union_alts(merged, path .. "." .. variant_name(a, i, disc, path), self_name)) do
        out[#out + 1] = x
      end
    elseif is_tbl(a) and a["$ref"] and is_tbl(s.properties) and next(s.properties) ~= nil then
      -- a named variant plus the union's shared fields: a subclass that adds them
      local ref = ref_name(a["$ref"], self_name)
      local name = unique(path .. "." .. sanitize(ref))
      emit_class(name, {}, s, self_name, false, NS .. ref)
      out[#out + 1] = { t = name, d = d }
    elseif is_inline_object(a) then
      -- `field: {…} | null` keeps the field's own name; real unions name their variants.
      local name = #nonnull == 1 and not s.properties and path:find(".", 1, true) and unique(path)
        or unique(path .. "." .. variant_name(a, i, disc, path))
      emit_class(name, a, s, self_name)
      out[#out + 1] = { t = name, d = d }
    else
      local sub = {}
      collect(a, #nonnull == 1 and path or (path .. "." .. i), sub, self_name)
      local j = 0
      for _, t in ipairs(sub) do
        j = j + 1
        out[#out + 1] = { t = t, d = j == 1 and d or nil }
      end
    end
  end
  return out
end

-- A class for object schema s; `outer` (a oneOf/anyOf parent) may contribute shared fields.
-- `top`: a named definition; an empty one that allows any key (a Rust struct without fields,
-- or a free-form object) gets `[string] any`. `parent`: a class to inherit from.
function emit_class(full, s, outer, self_name, top, parent)
  local lines = {}
  blocks[full] = lines -- reserve first: nested classes are emitted while this one is built
  doc_lines(s.description, lines)
  lines[#lines + 1] = "---@class " .. full .. (parent and (": " .. parent) or "")
  local props, required = {}, {}
  for _, src in ipairs({ outer or {}, s }) do
    if is_tbl(src.properties) then
      for k, v in pairs(src.properties) do props[k] = v end
    end
    if is_tbl(src.required) then
      for _, k in ipairs(src.required) do required[k] = true end
    end
  end
  local base = full:sub(#NS + 1)
  for _, k in ipairs(sorted_keys(props)) do
    local p = props[k]
    local t = texpr(p, base .. "." .. sanitize(k), self_name)
    local d = is_tbl(p) and short_desc(p.description) or nil
    local opt = not required[k]
    local line
    if k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then
      line = ("---@field %s%s %s"):format(k, opt and "?" or "", t)
    else
      line = ("---@field [%s] %s"):format(literal(k), opt and (t == "any" and "any" or t .. "|nil") or t)
    end
    if d then line = line .. " # " .. d end
    lines[#lines + 1] = line
  end
  local ap = s.additionalProperties
  if outer and ap == nil then ap = outer.additionalProperties end
  if ap == true or (ap == nil and top and next(props) == nil) then
    lines[#lines + 1] = "---@field [string] any"
  elseif is_tbl(ap) then
    lines[#lines + 1] = "---@field [string] " .. texpr(ap, base .. ".value", self_name)
  end
end

local function emit_alias(full, s, alts)
  local lines = {}
  blocks[full] = lines
  doc_lines(s.description, lines)
  local simple = #alts == 1 and not alts[1].d
  if simple then
    lines[#lines + 1] = ("---@alias %s %s"):format(full, alts[1].t)
    return
  end
  lines[#lines + 1] = "---@alias " .. full
  local seen = {}
  for _, a in ipairs(alts) do
    if not seen[a.t] then
      seen[a.t] = true
      lines[#lines + 1] = "---| " .. a.t .. (a.d and (" # " .. a.d) or "")
    end
  end
end

local okg, gerr = pcall(function()
  for _, name in ipairs(def_names) do
    local s = defs[name]
    local full = NS .. name
    local self_name = self_of[name]
    if not is_tbl(s) then
      emit_alias(full, {}, { { t = "any" } })
    elseif s.oneOf or s.anyOf then
      emit_alias(full, s, union_alts(s, name, self_name))
    elseif is_inline_object(s) or (s.type == "object" and not is_tbl(s.additionalProperties)) then
      emit_class(full, s, nil, self_name, true)
    elseif s.enum then
      local alts = {}
      collect(s, name, alts, self_name)
      local list = {}
      for _, t in ipairs(alts) do list[#list + 1] = { t = t } end
      emit_alias(full, s, list)
    else
      emit_alias(full, s, { { t = texpr(s, name, self_name) } })
    end
  end
end)
if not okg then fail(tostring(gerr)) end

---------------------------------------------------------------------------------------------
-- the method index
local function params_of(variant)
  local p = is_tbl(variant.properties) and variant.properties.params
  if p == nil then return nil, false end
  if is_tbl(p) and p["$ref"] then return ref_name(p["$ref"]), false end
  if is_tbl(p) and p.type == "null" then return nil, false end
  if is_tbl(p) and (p.anyOf or p.oneOf) then
    local name, nullable
    for _, a in ipairs(p.anyOf or p.oneOf) do
      if is_tbl(a) and a["$ref"] then name = ref_name(a["$ref"])
      elseif is_tbl(a) and a.type == "null" then nullable = true end
    end
    if name then return name, nullable and true or false end
  end
  error("unsupported params schema for " .. tostring(variant.title))
end

local function method_of(variant)
  local m = is_tbl(variant.properties) and single_tag(variant.properties.method)
  if not m then error("a variant without a method: " .. tostring(variant.title)) end
  return m
end

local warnings = {}
local function result_of(method, params)
  local o = RESULT_OVERRIDES[method]
  if o and defs[o] then return o end
  if o then warnings[#warnings + 1] = ("override %s -> %s: not in the schema"):format(method, o) end
  if params and params:match("Params$") then
    local r = params:gsub("Params$", "Response")
    if defs[r] then return r end
  end
  local segs = {}
  for seg in method:gmatch("[^/]+") do segs[#segs + 1] = seg:sub(1, 1):upper() .. seg:sub(2) end
  for i = 1, #segs do
    local r = table.concat(segs, "", i) .. "Response"
    if defs[r] then return r end
  end
  warnings[#warnings + 1] = ("no result type for %s"):format(method)
  return nil
end

local index = { requests = {}, notifications = {}, server_requests = {}, client_notifications = {} }
local okx, xerr = pcall(function()
  local function each(defname, fn)
    local d = defs[defname]
    if not (is_tbl(d) and is_tbl(d.oneOf)) then error("the schema has no " .. defname) end
    for _, v in ipairs(d.oneOf) do fn(v) end
  end
  each("ClientRequest", function(v)
    local m = method_of(v)
    local p, popt = params_of(v)
    index.requests[m] = { params = p, params_optional = popt, result = result_of(m, p) }
  end)
  each("ServerRequest", function(v)
    local m = method_of(v)
    local p, popt = params_of(v)
    index.server_requests[m] = { params = p, params_optional = popt, result = result_of(m, p) }
  end)
  each("ServerNotification", function(v)
    local m = method_of(v)
    local p, popt = params_of(v)
    index.notifications[m] = { params = p, params_optional = popt }
  end)
  each("ClientNotification", function(v)
    local m = method_of(v)
    local p, popt = params_of(v)
    index.client_notifications[m] = { params = p, params_optional = popt }
  end)
end)
if not okx then fail(tostring(xerr)) end
for _, w in ipairs(warnings) do io.stderr:write("gen_protocol: warning: ", w, "\n") end

local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

---------------------------------------------------------------------------------------------
-- assemble the file
local L = {}
local function add(s) L[#L + 1] = s end

add("---JSON null as the project decodes it: core.null (vim.NIL under Neovim).")
add("---@alias " .. NULL_T .. " lightuserdata")
add("")

local function method_alias(name, title, tbl, with_result)
  add("---" .. title)
  add("---@alias " .. NS .. name)
  for _, m in ipairs(sorted_keys(tbl)) do
    local e = tbl[m]
    local d = e.params and e.params or "no params"
    if e.params and e.params_optional then d = d .. " (optional)" end
    if with_result then d = d .. " -> " .. (e.result or "?") end
    add(("---| %s # %s"):format(literal(m), d))
  end
  add("")
end
method_alias("ClientRequestMethod", "Methods of client -> server requests (params -> result).",
  index.requests, true)
method_alias("ServerNotificationMethod", "Methods of server -> client notifications (params).",
  index.notifications, false)
method_alias("ServerRequestMethod", "Methods of server -> client requests (params -> result).",
  index.server_requests, true)
method_alias("ClientNotificationMethod", "Methods of client -> server notifications.",
  index.client_notifications, false)

local block_names = sorted_keys(blocks)
for _, name in ipairs(block_names) do
  for _, l in ipairs(blocks[name]) do add(l) end
  add("")
end

add("---@class codex.proto.MethodTypes")
add("---@field params? string class of the params (nil: the method takes none)")
add("---@field params_optional? boolean the params may be omitted or null")
add("---@field result? string class of the result (requests only)")
add("")
add("---@class codex.proto.MethodIndex")
add("---@field codex_version string the codex-cli version the types were generated from")
add("---@field requests table<codex.proto.ClientRequestMethod, codex.proto.MethodTypes>")
add("---@field notifications table<codex.proto.ServerNotificationMethod, codex.proto.MethodTypes>")
add("---@field server_requests table<codex.proto.ServerRequestMethod, codex.proto.MethodTypes>")
add("---@field client_notifications table<codex.proto.ClientNotificationMethod, codex.proto.MethodTypes>")
add("")

local function entry(m, e)
  local parts = {}
  if e.params then parts[#parts + 1] = ("params = %q"):format(NS .. e.params) end
  if e.params_optional then parts[#parts + 1] = "params_optional = true" end
  if e.result then parts[#parts + 1] = ("result = %q"):format(NS .. e.result) end
  if #parts == 0 then return ("    [%q] = {},"):format(m) end
  return ("    [%q] = { %s },"):format(m, table.concat(parts, ", "))
end
add("---@type codex.proto.MethodIndex")
add("local M = {")
add(("  codex_version = %q,"):format(version))
for _, sec in ipairs({ "requests", "notifications", "server_requests", "client_notifications" }) do
  add("  " .. sec .. " = {")
  for _, m in ipairs(sorted_keys(index[sec])) do add(entry(m, index[sec][m])) end
  add("  },")
end
add("}")
add("")
add("return M")

local nclasses, naliases = 0, 0
for _, l in ipairs(L) do
  if l:match("^%-%-%-@class ") then nclasses = nclasses + 1 end
  if l:match("^%-%-%-@alias ") then naliases = naliases + 1 end
end
local header = {
  "---@meta",
  ("-- codex app-server protocol types: generated by scripts/gen_protocol.lua from codex-cli %s; do not edit.")
    :format(version),
  "-- Regenerate: lua5.4 scripts/gen_protocol.lua   Check: lua5.4 scripts/gen_protocol.lua --check",
  ("-- Source: `codex app-server generate-json-schema --experimental`: %d schema files, %d definitions.")
    :format(#files, #def_names),
  ("-- Methods: %d client requests, %d server notifications, %d server requests, %d client notifications.")
    :format(count(index.requests), count(index.notifications), count(index.server_requests),
      count(index.client_notifications)),
  ("-- Types: %d classes, %d aliases."):format(nclasses, naliases),
  "--",
  "-- Every type is named codex.proto.<SchemaName>; inline objects are <Parent>.<field> and union",
  "-- variants <Parent>.<tag>. `field?` = may be absent; `|codex.proto.null` = may be JSON null,",
  "-- which the project decodes to core.null (vim.NIL in Neovim), not to nil.",
  "-- require(\"codex.types.protocol\") returns the method index at the end of this file.",
  "",
}
local text = table.concat(header, "\n") .. "\n" .. table.concat(L, "\n") .. "\n"

---------------------------------------------------------------------------------------------
-- write or check
local function split_lines(s)
  local t = {}
  for l in (s .. (s:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do t[#t + 1] = l end
  return t
end

local function names_of(lines)
  local set = {}
  for _, l in ipairs(lines) do
    local n = l:match("^%-%-%-@class (%S+)") or l:match("^%-%-%-@alias (%S+)")
    if n then set[n] = true end
  end
  return set
end

if opts.check then
  local old = read_file(opts.out)
  if old == nil then
    io.stderr:write(("gen_protocol --check: %s does not exist; run lua5.4 scripts/gen_protocol.lua\n"):format(opts.out))
    os.exit(1)
  end
  if old == text then
    print(("gen_protocol --check: %s is up to date (codex-cli %s)"):format(opts.out, version))
    os.exit(0)
  end
  local a, b = split_lines(old), split_lines(text)
  -- A small greedy diff: walk both, and at a mismatch resync on the nearest run of 3 equal
  -- lines (within WINDOW lines of each side); enough for a summary.
  local WINDOW, RUN = 400, 3
  local function same_run(i, j)
    for k = 0, RUN - 1 do
      if a[i + k] ~= b[j + k] then return false end
      if a[i + k] == nil then return k > 0 end
    end
    return true
  end
  local hunks, i, j = {}, 1, 1
  while i <= #a or j <= #b do
    if a[i] ~= nil and a[i] == b[j] then
      i, j = i + 1, j + 1
    else
      local di, dj
      for d = 1, 2 * WINDOW do
        for x = math.max(0, d - WINDOW), math.min(d, WINDOW) do
          if same_run(i + x, j + d - x) then di, dj = x, d - x break end
        end
        if di then break end
      end
      if not di then di, dj = #a - i + 1, #b - j + 1 end
      hunks[#hunks + 1] = { i = i, ni = di, j = j, nj = dj }
      i, j = i + di, j + dj
    end
  end
  local removed, added = 0, 0
  for _, h in ipairs(hunks) do removed, added = removed + h.ni, added + h.nj end
  -- the types the hunks fall in (by the last ---@class/---@alias at or before them)
  local function owner(lines, n)
    for k = math.min(n, #lines), 1, -1 do
      local name = lines[k]:match("^%-%-%-@class (%S+)") or lines[k]:match("^%-%-%-@alias (%S+)")
      if name then return name end
      if lines[k]:match("^local M = ") then return "the method index" end
    end
    return "the header"
  end
  local changed, seen_changed = {}, {}
  for _, h in ipairs(hunks) do
    for _, n in ipairs({ owner(a, h.i + math.max(h.ni, 1) - 1), owner(b, h.j + math.max(h.nj, 1) - 1) }) do
      if not seen_changed[n] then seen_changed[n] = true changed[#changed + 1] = n end
    end
  end
  local na, nb = names_of(a), names_of(b)
  local gone, new = {}, {}
  for n in pairs(na) do if not nb[n] then gone[#gone + 1] = n end end
  for n in pairs(nb) do if not na[n] then new[#new + 1] = n end end
  table.sort(gone) table.sort(new)
  local out = {}
  out[#out + 1] = ("gen_protocol --check: %s differs from what codex-cli %s generates"):format(opts.out, version)
  out[#out + 1] = ("  checked in: %d lines; generated: %d lines; %d hunk(s), %d line(s) removed, %d added")
    :format(#a, #b, #hunks, removed, added)
  local function list(title, t)
    if #t == 0 then return end
    local shown = {}
    for k = 1, math.min(#t, 10) do shown[k] = t[k] end
    out[#out + 1] = ("  %s (%d): %s%s"):format(title, #t, table.concat(shown, ", "), #t > 10 and ", …" or "")
  end
  list("types only in the checked-in file", gone)
  list("types only in the generated output", new)
  list("changed around", changed)
  for k = 1, math.min(#hunks, 3) do
    local h = hunks[k]
    out[#out + 1] = ("  @@ checked in %d,%d  generated %d,%d"):format(h.i, h.ni, h.j, h.nj)
    for x = h.i, h.i + math.min(h.ni, 4) - 1 do out[#out + 1] = "  - " .. a[x] end
    for x = h.j, h.j + math.min(h.nj, 4) - 1 do out[#out + 1] = "  + " .. b[x] end
  end
  if #hunks > 3 then out[#out + 1] = ("  … %d more hunk(s)"):format(#hunks - 3) end
  out[#out + 1] = "  regenerate with: lua5.4 scripts/gen_protocol.lua"
  io.stderr:write(table.concat(out, "\n"), "\n")
  os.exit(1)
end

do
  local dir = opts.out:match("^(.*)/[^/]*$")
  if dir then os.execute("mkdir -p " .. q(dir)) end
  local f = io.open(opts.out, "wb")
  if not f then fail("cannot write " .. opts.out) end
  f:write(text)
  f:close()
  print(("gen_protocol: wrote %s (%d bytes, %d lines) from codex-cli %s"):format(opts.out, #text,
    #split_lines(text), version))
end
