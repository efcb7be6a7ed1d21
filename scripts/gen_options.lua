#!/usr/bin/env lua5.4
-- scripts/gen_options.lua: what the option schemas (lua/codex/schema/client.lua and
-- lua/codex/schema/config.lua) imply, written where it is read:
--   * lua/codex/types/options.lua: the LuaCATS classes codex.ClientOptions (alias
--     codex.RpcOptions) and codex.Config with its nested tables;
--   * doc/codex.txt: the option list of |codex.rpc.new()|, the defaults of |codex-config| and
--     the table of |codex-keymaps| (each between fixed lines of the help file).
--
--   lua5.4 scripts/gen_options.lua [--check]
--
-- --check writes nothing: it exits 1 and names what differs. Pure Lua (5.1 to 5.4, LuaJIT);
-- `dofile` returns the module without running main (tests/api/options_spec.lua).
local ROOT = (debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/scripts/[^/]*$")) or "."
package.path = ROOT .. "/lua/?.lua;" .. package.path
local client_rows = require("codex.schema.client")
local config_rows = require("codex.schema.config")

local M = { root = ROOT, types_file = ROOT .. "/lua/codex/types/options.lua", doc_file = ROOT .. "/doc/codex.txt" }

local WIDTH = 78

--- Display width: UTF-8 characters, not bytes ("…" is one column).
local function len(s) return #(s:gsub("[\128-\191]", "")) end

--- The words of text; a `code span` is one word, never broken across lines.
local function words(text)
  local out, cur, in_code = {}, "", false
  for c in text:gmatch(".") do
    if c == "`" then in_code = not in_code end
    if c:match("%s") and not in_code then
      if cur ~= "" then out[#out + 1] = cur end
      cur = ""
    else
      cur = cur .. c
    end
  end
  if cur ~= "" then out[#out + 1] = cur end
  return out
end

--- Words of text in lines: the first at most first_width wide, the others at most width
--- (a word longer than a line gets a line of its own).
local function wrap(text, first_width, width)
  local list = {}
  for _, w in ipairs(words(text)) do
    -- a code span longer than a line is broken after all, at its spaces
    if len(w) > width then
      for piece in w:gmatch("%S+") do list[#list + 1] = piece end
    else
      list[#list + 1] = w
    end
  end
  local lines, cur = {}, ""
  for _, word in ipairs(list) do
    local limit = #lines == 0 and first_width or width
    if cur ~= "" and len(cur) + 1 + len(word) > limit then
      lines[#lines + 1] = cur
      cur = word
    else
      cur = cur == "" and word or (cur .. " " .. word)
    end
  end
  lines[#lines + 1] = cur
  return lines
end

--- text at column col after prefix (padded; one space when the prefix is longer), wrapped
--- to WIDTH with continuation lines at col, each line of text after lead ("-- " for a Lua
--- comment); tag, when given, right-aligned on the first line.
local function hanging(prefix, col, text, tag, lead)
  lead = lead or ""
  local first = prefix .. (len(prefix) < col and (" "):rep(col - len(prefix)) or " ") .. lead
  local tag_room = tag and (#tag + 3) or 0
  local parts = wrap(text, WIDTH - len(first) - tag_room, WIDTH - col - #lead)
  local out = { first .. parts[1] }
  if tag then out[1] = out[1] .. (" "):rep(math.max(1, WIDTH - len(out[1]) - #tag - 2)) .. "*" .. tag .. "*" end
  for i = 2, #parts do out[#out + 1] = (" "):rep(col) .. lead .. parts[i] end
  return out
end

local function types_of(row) return type(row[2]) == "table" and row[2] or { row[2] } end
local function leaf(path) return path:match("([^.]+)$") end
local function parent(path) return path:match("^(.*)%.[^.]+$") end
local function has_children(rows, path)
  for _, r in ipairs(rows) do if parent(r[1]) == path then return true end end
  return false
end

local function lua_literal(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) == "table" then return next(v) == nil and "{}" or "{ … }" end
  return tostring(v)
end

--- A row's help text: its doc, then its default ("(default 120000)").
local function doc_text(row)
  local d = row.default_text or (row.default ~= nil and lua_literal(row.default)) or nil
  local text = row.doc or ""
  if d then text = text .. (text ~= "" and " " or "") .. "(default " .. d .. ")" end
  return text
end

---------------------------------------------------------------------------------------------
-- LuaCATS

local function lua_type(row, class)
  local t = row.lua
  if not t and row.enum then
    local alts = {}
    for _, e in ipairs(row.enum) do alts[#alts + 1] = ("%q"):format(e) end
    t = table.concat(alts, "|")
  end
  t = t or (class and class or table.concat(types_of(row), "|"))
  if row.allow_nil then
    -- `fun(): a|nil` would take the |nil as the function's result
    if t:match("^fun%(") then t = "(" .. t .. ")" end
    t = t .. "|nil"
  end
  return t
end

local function one_line(s) return (s or ""):gsub("%s+", " ") end

--- ---@class lines for rows under prefix ("" for the top), nested tables as classes of their own.
local function classes(rows, name, prefix, out)
  local fields, nested = {}, {}
  for _, row in ipairs(rows) do
    if (parent(row[1]) or "") == prefix then
      local class = has_children(rows, row[1]) and not row.lua and (name .. "." .. leaf(row[1])) or nil
      if class then nested[#nested + 1] = { class, row[1] } end
      local doc = one_line(row.doc)
      fields[#fields + 1] = ("---@field %s %s%s"):format(leaf(row[1]), lua_type(row, class), doc ~= "" and (" " .. doc) or "")
    end
  end
  out[#out + 1] = "---@class " .. name
  for _, f in ipairs(fields) do out[#out + 1] = f end
  out[#out + 1] = ""
  for _, n in ipairs(nested) do classes(rows, n[1], n[2], out) end
  return out
end

--- The generated lua/codex/types/options.lua.
---@return string
function M.types()
  local out = {
    "---@meta",
    "-- Generated by scripts/gen_options.lua from lua/codex/schema/client.lua and",
    "-- lua/codex/schema/config.lua: do not edit; change the schema and run",
    "-- `lua5.4 scripts/gen_options.lua`.",
    "",
    "-- The options of codex.new() (codex.client) and codex.rpc.new(): one set.",
  }
  classes(client_rows, "codex.ClientOptions", "", out)
  out[#out + 1] = "---@alias codex.RpcOptions codex.ClientOptions"
  out[#out + 1] = ""
  out[#out + 1] = "-- The plugin's options: require(\"codex\").setup(opts), vim.g.codex."
  classes(config_rows, "codex.Config", "", out)
  return table.concat(out, "\n")
end

---------------------------------------------------------------------------------------------
-- doc/codex.txt

--- |codex.rpc.new()|: one entry per client option.
function M.rpc_list()
  local out = {}
  for _, row in ipairs(client_rows) do
    for _, l in ipairs(hanging("      " .. row[1], 27, doc_text(row), row.tag)) do out[#out + 1] = l end
  end
  return out
end

--- |codex-config|: the defaults, as a Lua table with comments.
function M.config_block()
  local out = { "  {" }
  local function block(prefix, indent)
    for _, row in ipairs(config_rows) do
      if (parent(row[1]) or "") == prefix then
        local group = has_children(config_rows, row[1]) and row.default == nil
        local key = indent .. leaf(row[1]) .. " = "
        local comment = row.doc or (row.enum and ('"' .. table.concat(row.enum, '" | "') .. '"')) or nil
        if group and not row.collapse then
          out[#out + 1] = key .. "{"
          block(row[1], indent .. "  ")
          out[#out + 1] = indent .. "},"
        else
          local value = group and "{ … }" or lua_literal(row.default)
          if comment then
            for _, l in ipairs(hanging(key .. value .. ",", 28, comment, nil, "-- ")) do out[#out + 1] = l end
          else
            out[#out + 1] = key .. value .. ","
          end
        end
      end
    end
  end
  block("", "    ")
  out[#out + 1] = "  }"
  return out
end

--- |codex-keymaps|: key name, default, what it does.
function M.keymap_table()
  local out = { "" }
  for _, row in ipairs(config_rows) do
    if row.keymap then
      local name = leaf(row[1])
      local prefix = "  " .. name .. (" "):rep(math.max(1, 16 - #name)) .. row.default
      for _, l in ipairs(hanging(prefix, 26, row.doc)) do out[#out + 1] = l end
    end
  end
  out[#out + 1] = ""
  return out
end

-- Each generated part of the help file: after the line matching `after` (searched from the
-- line holding `tag`), up to the line matching `upto` (both kept).
M.regions = {
  { tag = "*codex.rpc.new()*", after = "{opts}:$", upto = "^    Durations and sizes", lines = M.rpc_list },
  { tag = "*codex-config*", after = "^>$", upto = "^<$", lines = M.config_block },
  { tag = "*codex-keymaps*", after = "^Every key is an option", upto = "^=====", lines = M.keymap_table },
}

--- The help file with every generated region replaced; raises when a region is not found.
---@param text string
---@return string
function M.doc(text)
  local lines = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
  if lines[#lines] == "" then lines[#lines] = nil end
  for _, r in ipairs(M.regions) do
    local i = 1
    while lines[i] and not lines[i]:find(r.tag, 1, true) do i = i + 1 end
    while lines[i] and not lines[i]:match(r.after) do i = i + 1 end
    local j = i and i + 1
    while lines[j] and not lines[j]:match(r.upto) do j = j + 1 end
    if not lines[i] or not lines[j] then error("doc/codex.txt: no region " .. r.tag .. " (" .. r.after .. ")", 0) end
    local new = {}
    for k = 1, i do new[#new + 1] = lines[k] end
    for _, l in ipairs(r.lines()) do new[#new + 1] = l end
    for k = j, #lines do new[#new + 1] = lines[k] end
    lines = new
  end
  return table.concat(lines, "\n") .. "\n"
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- {file, generated text} for each output.
function M.outputs()
  return {
    { M.types_file, M.types() .. "\n" },
    { M.doc_file, M.doc(assert(read(M.doc_file), "no doc/codex.txt")) },
  }
end

--- The outputs that differ from the files (relative names); empty when all are current.
---@return string[]
function M.stale()
  local out = {}
  for _, o in ipairs(M.outputs()) do
    if read(o[1]) ~= o[2] then out[#out + 1] = o[1]:sub(#ROOT + 2) end
  end
  return out
end

local function main(args)
  local check = args[1] == "--check"
  if args[1] and not check then
    io.stderr:write("usage: lua5.4 scripts/gen_options.lua [--check]\n")
    os.exit(2)
  end
  if check then
    local stale = M.stale()
    if #stale == 0 then return end
    io.stderr:write("stale (run `lua5.4 scripts/gen_options.lua`): " .. table.concat(stale, ", ") .. "\n")
    os.exit(1)
  end
  for _, o in ipairs(M.outputs()) do
    local f = assert(io.open(o[1], "wb"))
    f:write(o[2])
    f:close()
  end
end

if type(arg) == "table" and type(arg[0]) == "string" and arg[0]:match("gen_options%.lua$") then main(arg) end
return M
