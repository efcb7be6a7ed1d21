---@mod codex.ui.chat_item_fields  Protocol values as readable lines (pure).
---
--- Tool arguments, tool results and the fields of an item type the chat does not know are
--- decoded JSON of any shape. They are shown as "key: value" lines (nested keys joined with
--- dots, list entries numbered), never as JSON text, each value on one line and cut when
--- long; a result's content blocks as their text. No vim.*: it runs under plain Lua too.
local M = {}

local util = require("codex.util")
local str, list = util.str, util.list

--- At most this many characters of one value (the rest is "…").
M.MAX_VALUE = 160
--- At most this many lines of fields (then "… N more").
M.MAX_LINES = 40

--- The lines of a text ("" gives one empty line).
---@param s string
---@return string[]
function M.split(s)
  local out = {}
  for line in (s .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line end
  return out
end

--- s on one line (newlines as "⏎"), cut at max characters (bytes, on a UTF-8 boundary).
---@param s string
---@param max integer|nil default M.MAX_VALUE
---@return string
function M.cut(s, max)
  max = max or M.MAX_VALUE
  s = s:gsub("\r?\n", " ⏎ ")
  if #s <= max then return s end
  local n = max
  -- back off continuation bytes so that no character is split
  while n > 0 and s:byte(n + 1) and s:byte(n + 1) >= 0x80 and s:byte(n + 1) < 0xC0 do n = n - 1 end
  return s:sub(1, n) .. "…"
end

local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local sorted_keys = util.sorted_keys

--- A scalar as text: strings as they are, numbers, booleans; JSON null (any userdata) "null".
local function scalar_text(v)
  if type(v) == "string" then return v end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  if type(v) == "userdata" then return "null" end
  return nil
end

--- The "key: value" lines of a value: a table's entries (nested ones as "a.b: v" and
--- "list[1]: v", up to depth 3), a scalar as one "value" line. skip: keys left out at the top.
---@param v any
---@param opts {skip: table<string, boolean>|nil, max_lines: integer|nil, max_value: integer|nil}|nil
---@return string[]
function M.fields(v, opts)
  opts = opts or {}
  local out, more = {}, 0
  local max_lines = opts.max_lines or M.MAX_LINES
  local function add(key, text)
    if #out >= max_lines then
      more = more + 1
      return
    end
    out[#out + 1] = (key and (key .. ": ") or "") .. M.cut(text, opts.max_value)
  end
  local function walk(key, x, depth)
    local s = scalar_text(x)
    if s then return add(key, s) end
    if type(x) ~= "table" then return add(key, "(" .. type(x) .. ")") end
    if next(x) == nil then return add(key, is_array(x) and "(none)" or "(empty)") end
    if depth >= 3 then
      return add(key, is_array(x) and ("(%d entries)"):format(#x) or "(…)")
    end
    if is_array(x) then
      for i, e in ipairs(x) do walk(("%s[%d]"):format(key or "", i), e, depth + 1) end
    else
      for _, k in ipairs(sorted_keys(x)) do
        if not (depth == 0 and opts.skip and opts.skip[k]) then
          walk(key and (key .. "." .. tostring(k)) or tostring(k), x[k], depth + 1)
        end
      end
    end
  end
  walk(nil, v, 0)
  if more > 0 then out[#out + 1] = ("… %d more"):format(more) end
  return out
end

--- The text of content blocks (MCP tool results, dynamic tool output, function output):
--- text blocks as their text, images, audio and resources as a "[image …]" line.
---@param content any a list of blocks, or a string
---@return string[] texts one per block
function M.content_texts(content)
  if type(content) == "string" then return { content } end
  local out = {}
  for _, c in ipairs(list(content)) do
    if type(c) == "string" then
      out[#out + 1] = c
    elseif type(c) == "table" then
      local t = str(c.type) or "content"
      local text = str(c.text)
      if text and (t == "text" or t == "inputText" or t == "input_text" or t == "output_text") then
        out[#out + 1] = text
      elseif type(c.resource) == "table" then -- an embedded resource: its text, else its uri
        out[#out + 1] = str(c.resource.text) or ("[resource " .. M.cut(str(c.resource.uri) or "?") .. "]")
      else
        local what = str(c.uri) or str(c.imageUrl) or str(c.image_url) or str(c.audioUrl) or str(c.audio_url)
          or str(c.file_id) or str(c.mimeType) or str(c.name)
        if what and what:match("^data:") then what = what:match("^data:([^;,]*)") end -- not the bytes
        out[#out + 1] = ("[%s%s]"):format(t, what and (" " .. M.cut(what, 80)) or "")
      end
    end
  end
  return out
end

return M
