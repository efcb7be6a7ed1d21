-- Differential test: core.decode against the host's cjson (lua-cjson under Lua 5.4, vim.json
-- in Neovim) on 100,000 generated and mutated documents, with a fixed seed. Any difference
-- outside the documented classes (src/json_decode.c, :help codex-json) fails the test and
-- prints the first differing inputs. The documented classes:
--   nul      cjson stops at a NUL byte and accepts what came before; core rejects the rest
--   control  raw control characters in strings: cjson accepts them, core follows RFC 8259
--   number   cjson's strtod leniencies that core rejects: +1, Infinity, NaN, hex, 1., .5, 01
--   int53    Lua 5.4: core keeps integers beyond 2^53 exact, cjson rounds them to floats
--   sat64    a host that saturates integers beyond 2^63-1 (vim.json in Neovim 0.12)
local core = require("codex.core")
local R = require("lib.runner")

local ok_host, host = pcall(function() return (type(vim) == "table" and vim.json) or require("cjson") end)

local SEED, COUNT = 20261201, 100000

-- Park-Miller: exact in doubles, so the same sequence under Lua 5.1 (LuaJIT) and 5.4.
local state = SEED
local function rnd() state = (state * 16807) % 2147483647 return state end
local function rint(n) return rnd() % n + 1 end -- 1..n
local function chance(p) return rnd() % 1000 < p * 1000 end
local function pick(t) return t[rint(#t)] end

local HEX = "0123456789abcdefABCDEF"
local function hex4(lo, hi) -- a \u escape of a code unit in lo..hi
  local v = lo + rnd() % (hi - lo + 1)
  local s = ("%04x"):format(v)
  if chance(0.3) then s = s:upper() end
  return "\\u" .. s
end

local NUMBERS = {
  "0", "-0", "-0.0", "0.0", "0e0", "-0e-0", "-0E+0", "1", "-1", "7", "-42", "1.5", "-2.5e3", "1E2", "0.1", "1e-7",
  "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993", "9007199254740995",
  "9223372036854775806", "9223372036854775807", "9223372036854775808", "9223372036854775809",
  "-9223372036854775807", "-9223372036854775808", "-9223372036854775809",
  "18446744073709551615", "18446744073709551616", "18446744073709551617", "-18446744073709551616",
  "1e400", "-1e400", "1e-400", "-1e-400", "1E+308", "1.7976931348623157e308", "1.7976931348623159e308",
  "2.2250738585072014e-308", "4.9e-324", "5e-324", "2.4703282292062327e-324", "123456789012345678901234",
  "0.30000000000000004", "100000000000000000000000000000000", "1.0", "1.00000000000000011102230246251565",
}

local function digits(n)
  local t = { tostring(rint(9)) }
  for i = 2, n do t[i] = tostring(rint(10) - 1) end
  return table.concat(t)
end

local function gen_number()
  if chance(0.5) then return pick(NUMBERS) end
  local n = chance(0.05) and rint(400) or rint(22)
  local s = (chance(0.3) and "-" or "") .. (chance(0.1) and "0" or digits(n))
  if chance(0.3) then s = s .. "." .. digits(rint(chance(0.05) and 400 or 20)) end
  if chance(0.3) then s = s .. pick({ "e", "E" }) .. pick({ "", "+", "-" }) .. digits(rint(3)) end
  return s
end

local PIECES = {
  "a", "hello", " ", "é", "✓", "😀", "\239\191\189", "quote\\\"d", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
  "\\u0000", "\\u001f", "\\u0020", "\\u007f", "\\u00e9", "\\u2713", "\\uffff", "\\uFEFF", "\\ud83d\\ude00", "\\uD800\\uDC00",
  "\\udbff\\udfff",
}
local function gen_string()
  local t = { '"' }
  for _ = 1, rint(5) - 1 do
    local r = rnd() % 100
    local p
    if r < 55 then p = pick(PIECES)
    elseif r < 65 then p = hex4(0, 0xffff) -- any code unit, surrogates included
    elseif r < 72 then p = hex4(0xd800, 0xdbff) .. hex4(0xdc00, 0xdfff) -- a pair
    elseif r < 76 then p = hex4(0xd800, 0xdbff) -- lone high
    elseif r < 80 then p = hex4(0xdc00, 0xdfff) -- lone low
    elseif r < 83 then p = hex4(0xdc00, 0xdfff) .. hex4(0xd800, 0xdbff) -- reversed
    elseif r < 88 then p = pick({ "\255", "\192\128", "\237\160\128", "\224\128", "\244\144\128\128", "\128", "\254\255" }) -- not UTF-8
    elseif r < 93 then p = string.char(rint(32) - 1) -- raw control, NUL included
    elseif r < 96 then p = "\\" .. pick({ "q", "x", "U", "u12", "u12g4", "0", "'", " " }) -- bad escapes
    else p = HEX:sub(rint(#HEX), rint(#HEX)) end
    t[#t + 1] = p
  end
  t[#t + 1] = '"'
  return table.concat(t)
end

local WS = { "", "", "", "", " ", "\n", "\t", "\r\n", "  " }
local BAD_WS = { "\f", "\v", "\0", "\194\160", "\239\187\191" } -- not JSON whitespace
local function ws()
  if chance(0.01) then return pick(BAD_WS) end
  return pick(WS)
end

local gen_value
local function gen_array(depth)
  local t = { "[" }
  for i = 1, rint(5) - 1 do
    if i > 1 then t[#t + 1] = "," end
    t[#t + 1] = ws() .. gen_value(depth + 1) .. ws()
  end
  t[#t + 1] = "]"
  return table.concat(t)
end
local function gen_object(depth)
  local t, keys = { "{" }, {}
  for i = 1, rint(5) - 1 do
    if i > 1 then t[#t + 1] = "," end
    local k = (#keys > 0 and chance(0.2)) and pick(keys) or gen_string() -- duplicate keys too
    keys[#keys + 1] = k
    t[#t + 1] = ws() .. k .. ws() .. ":" .. ws() .. gen_value(depth + 1) .. ws()
  end
  t[#t + 1] = "}"
  return table.concat(t)
end
function gen_value(depth)
  local r = rnd() % 100
  if depth > 5 then r = r % 60 end
  if r < 25 then return gen_number()
  elseif r < 50 then return gen_string()
  elseif r < 60 then return pick({ "true", "false", "null" })
  elseif r < 80 then return gen_array(depth)
  else return gen_object(depth) end
end

local function gen_deep()
  local n = pick({ 998, 999, 1000, 1001, 1002, 1500 })
  local kind = rint(3)
  local inner = pick({ "", "1", '"x"', "[]", "{}", "null" })
  if kind == 1 then return ("["):rep(n) .. inner .. ("]"):rep(n) end
  if inner == "" then inner = "0" end
  if kind == 2 then return ('{"k":'):rep(n) .. inner .. ("}"):rep(n) end
  local h = math.floor(n / 2)
  return ('[{"a":'):rep(h) .. inner .. ("}]"):rep(h)
end

local GARBAGE = { " x", "x", "\0", "\0x", "\0 1", ",", "]", "}", " 1", "//c", "/*c*/", "\r\n", " ", "[", '"', "\\", "\255" }
local function mutate(doc)
  local r = rnd() % 100
  local n = #doc
  if n == 0 then return pick(GARBAGE) end
  if r < 25 then return doc:sub(1, rint(n + 1) - 1) -- truncation
  elseif r < 40 then return doc .. pick(GARBAGE) -- trailing garbage
  elseif r < 55 then -- replace a byte
    local i = rint(n)
    local c = chance(0.5) and string.char(rnd() % 256) or pick({ "\0", "\1", "\31", '"', "\\", "+", ".", "e", "x", "0", "-", " ", "\127" })
    return doc:sub(1, i - 1) .. c .. doc:sub(i + 1)
  elseif r < 70 then -- insert
    local i = rint(n + 1)
    return doc:sub(1, i - 1) .. pick({ "+", "0", "-", ".", "e", " ", "\0", "\n", ",", "Infinity", "NaN", "0x1f", "1.", "01", "\\u" }) .. doc:sub(i)
  elseif r < 80 then -- delete
    local i = rint(n)
    return doc:sub(1, i - 1) .. doc:sub(i + 1)
  elseif r < 90 then -- a lenient number in a value position
    return pick({ "+1", "Infinity", "-Infinity", "NaN", "nan", "inf", "0x1f", "-0x10", "1.", "1.e5", "-.5", "01", "-01", "00", "+0" })
        .. (chance(0.3) and " " or "")
  else -- wrap in an array so the damage is not at the top level
    return "[" .. ws() .. doc .. ws() .. "]"
  end
end

-- Comparison ---------------------------------------------------------------------------------
local is54 = math.type ~= nil
local TWO63 = 9223372036854775808.0

local function diff(a, b, path)
  -- Returns nil when equal, or (reason, class): class set when the difference is documented.
  if type(a) == "number" and type(b) == "number" then
    if a == b then
      if a == 0 and 1 / a ~= 1 / b then
        -- Neovim 0.12's vim.json decodes the integer literal -0 as 0 (cjson, 0.10 and core: -0.0).
        if 1 / b > 0 and vim and vim.fn.has("nvim-0.12") == 1 then return path, "zero0.12" end
        return path .. ": zero sign " .. tostring(a) .. " vs " .. tostring(b)
      end
      return nil
    end
    if is54 and math.type(a) == "integer" and a + 0.0 == b then return path, "int53" end
    if (b == TWO63 - 1 or b == TWO63 or b == -TWO63) and (a > TWO63 or a < -TWO63) then return path, "sat64" end
    return ("%s: %.17g vs %.17g"):format(path, a, b)
  end
  if type(a) ~= type(b) then return ("%s: %s vs %s"):format(path, tostring(a), tostring(b)) end
  if type(a) ~= "table" then
    if a ~= b then return ("%s: %q vs %q"):format(path, tostring(a), tostring(b)) end
    return nil
  end
  local class
  for k, v in pairs(a) do
    local why, c = diff(v, b[k], path .. "." .. tostring(k))
    if why and not c then return why end
    class = class or c
  end
  for k in pairs(b) do
    if a[k] == nil then return path .. "." .. tostring(k) .. " missing in core" end
  end
  if class then return path, class end
  return nil
end

local function token_at(doc, k)
  local function tok(c) return c ~= "" and c:find("^[%w%.%+%-]$") ~= nil end
  if not tok(doc:sub(k, k)) then k = k - 1 end
  if k < 1 or not tok(doc:sub(k, k)) then return "" end
  local i, j = k, k
  while i > 1 and tok(doc:sub(i - 1, i - 1)) do i = i - 1 end
  while j < #doc and tok(doc:sub(j + 1, j + 1)) do j = j + 1 end
  return doc:sub(i, j)
end

local function lenient_number(t)
  local l = t:lower()
  return l:find("^[%+%-]?inf") or l:find("^[%+%-]?nan") or t:find("^%+") or l:find("^%-?0x") or t:find("^%-?0%d")
      or t:find("%.$") or t:find("%.[^%d]") or t:find("^[%+%-]?%.")
end

-- Classifies a document that core rejects and the host accepts (nil: not documented).
local function rejected_class(doc, err)
  local k = tonumber(err:match("at character (%d+)$"))
  if not k then return nil end
  local nul = doc:find("\0", 1, true)
  if nul and k >= nul then return "nul" end
  if err:find("^control character in string") and doc:byte(k) and doc:byte(k) < 0x20 then return "control" end
  if lenient_number(token_at(doc, k)) then return "number" end
  return nil
end

local function check(doc, stats, failures)
  local a, err = core.decode(doc)
  local okh, b = pcall(host.decode, doc)
  local why, class
  if a == nil and not okh then
    stats.both_reject = stats.both_reject + 1
    return
  elseif a ~= nil and okh then
    why, class = diff(a, b, "$")
    if not why then stats.same = stats.same + 1 return end
  elseif a == nil then
    class = rejected_class(doc, err)
    why = "core rejects (" .. tostring(err) .. "), the host accepts"
  else
    why = "core accepts, the host rejects (" .. tostring(b) .. ")"
  end
  if class then
    stats[class] = (stats[class] or 0) + 1
    return
  end
  stats.differ = stats.differ + 1
  if #failures < 10 then failures[#failures + 1] = ("%q\n       %s"):format(#doc > 300 and doc:sub(1, 300) .. "..." or doc, why) end
end

-- Fixed vectors: one or more per class and per decision (src/json_decode.c).
local VECTORS = {
  '"\\n"', '"\\u00e9"', "-0", "[-0]", '{"a":-0}', "-0.0", "0", '"\\ud83d"', '"\\ude00"', '"\\ude00\\ud83d"',
  '"\\ud83d\\ude00"', '"\\ud83d\\u0041"', "914\0", "[1,2]\0xx", '"a\0b"', '"ctl\1"', "+1", "Infinity", "-Infinity",
  "NaN", "0x1f", "1.", "01", "[1.]", "1.e5", "-.5", "1e400", "-1e400", "9007199254740993", "9223372036854775807",
  "9223372036854775808", "18446744073709551616", "-9223372036854775809", ("["):rep(1000) .. ("]"):rep(1000),
  ("["):rep(1001) .. ("]"):rep(1001), ('{"a":'):rep(1000) .. "1" .. ("}"):rep(1000),
  ('{"a":'):rep(1001) .. "1" .. ("}"):rep(1001), '{"a":1,"a":2}', " \t\r\n1 \t\r\n", "\f1", "1\v", "",
}

describe("json decode vs the host's cjson (differential)", function()
  it(("agrees on %d generated and mutated documents (seed %d) but for the documented classes"):format(COUNT, SEED), function()
    if not ok_host then return pending("no host cjson") end
    state = SEED
    local stats = { same = 0, both_reject = 0, differ = 0 }
    local failures = {}
    for _, doc in ipairs(VECTORS) do check(doc, stats, failures) end
    local total = #VECTORS
    for i = 1, COUNT - #VECTORS do
      local doc
      if i % 500 == 0 then doc = gen_deep()
      else
        doc = ws() .. gen_value(0) .. ws()
        if chance(0.45) then doc = mutate(doc) end
        if chance(0.1) then doc = mutate(doc) end
      end
      check(doc, stats, failures)
      total = total + 1
    end
    local parts = {}
    for k, v in pairs(stats) do parts[#parts + 1] = k .. "=" .. v end
    table.sort(parts)
    R.print(("     %d documents: %s"):format(total, table.concat(parts, " ")))
    if #failures > 0 then
      error(("%d documents decode differently from the host's cjson; the first ones:\n     %s")
        :format(stats.differ, table.concat(failures, "\n     ")), 0)
    end
    expect.truthy(stats.same > COUNT / 10, "enough documents decode on both sides")
  end)
end)
