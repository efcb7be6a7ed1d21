-- fuzz/toml_gen.lua N SEED: prints N random values as "<json>\t<toml>" lines (core.encode,
-- core.toml) for fuzz/check_toml.py: strings full of quotes, newlines, '=', ']', '[s]', "'''",
-- '#', backslashes, control characters, DEL and non-ASCII; numbers at the edges; nested
-- arrays and inline tables. Run with the Lua 5.4 build: lua5.4 fuzz/toml_gen.lua 20000 7
package.cpath = "build/lua5.4/?.so;" .. package.cpath
local core = require("codex.core")
local n, state = tonumber(arg[1] or "20000"), tonumber(arg[2] or "7")
local function rnd() state = (state * 16807) % 2147483647 return state end
local function rint(k) return rnd() % k + 1 end
local function pick(t) return t[rint(#t)] end
local PIECES = { '"', "'", "'''", '"""', "\n", "\r\n", "=", "]", "[", "[s]", "[[t]]", "#", "\\", "\\n", "\\u0041",
                 "x", "key", " ", "\t", "\127", "é", "✓", "😀", "\0", "\1", "\31", "}", "{", ",", "y = 1" }
local function str()
  local t = {}
  for i = 1, rint(6) - 1 do t[i] = rint(4) == 1 and string.char(rnd() % 128) or pick(PIECES) end
  return table.concat(t)
end
local NUMS = { 0, -0.0, 1, -1, 1.5, -2.5e3, 0.1, 1e300, -1e-300, 5e-324, 2 ^ 53, 2 ^ 53 + 1, 2 ^ 63, -2 ^ 63,
               math.maxinteger, math.mininteger, 1e21, 123456789 }
local function value(depth)
  local r = rint(depth > 3 and 6 or 10)
  if r <= 3 then return str()
  elseif r == 4 then return pick(NUMS)
  elseif r == 5 then return rint(2) == 1
  elseif r == 6 then return rnd() - 1073741824
  elseif r <= 8 then
    local a = {}
    for i = 1, rint(4) - 1 do a[i] = value(depth + 1) end
    return core.array(a)
  else
    local o = {}
    for _ = 1, rint(4) - 1 do o[str()] = value(depth + 1) end
    return o
  end
end
local out = {}
for _ = 1, n do
  local v = value(0)
  local j, t = core.encode(v), core.toml(v)
  if j and t then out[#out + 1] = j .. "\t" .. t end
end
io.write(table.concat(out, "\n"), "\n")
