-- bench/stream_mem.lua: memory of one turn of 2,000,000 deltas (issue 8), through the paths a
-- user reads a turn by, side by side with the C core alone in the same run.
--
--   lua5.4 bench/stream_mem.lua [deltas]        (default 2000000; about 30 s)
--
-- Every path runs in a fresh `lua5.4 bench/stream_mem.lua --worker PATH N` against the fake
-- app-server's `fake/flood` (N item/agentMessage/delta of 300 B for one turn, as fast as the
-- pipe takes them; an item ends every 1,000 deltas, as a long agent turn's messages and
-- commands do, and the turn ends with turn/completed). Paths:
--   core    codex.core's c:watch sink that only counts (the floor)
--   on      codex.rpc watch → codex.stream → Turn:on("*") (what the chat subscribes with)
--   events  the same, read with `for ev in turn:events()` in a coroutine
-- Each prints VmRSS at the start, after every N/10 messages and at the end (MB). The target:
-- a path's growth over the turn minus the core's < 25 MB (no per-delta retention).
local script = arg and arg[0] or "bench/stream_mem.lua"
if script:sub(1, 1) ~= "/" then script = require("luv").cwd() .. "/" .. script end
local ROOT = script:match("^(.*)/bench/[^/]*$") or "."
package.cpath = ROOT .. "/build/lua5.4/?.so;" .. package.cpath
package.path = ROOT .. "/lua/?.lua;" .. package.path

local function rss_mb()
  local f = io.open("/proc/self/status", "r")
  local kb = f and f:read("a"):match("VmRSS:%s+(%d+)")
  if f then f:close() end
  return (tonumber(kb) or 0) / 1024
end

local TARGET_MB = 25

local function worker(path, n)
  local rpc = require("codex.rpc")
    local core = require("codex.core")
  local turn_mod = require("codex.turn")
  local client = rpc.new({ args = { "lua5.4", ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 600000 })
  client:start()
  collectgarbage("collect")
  local samples, seen = { rss_mb() }, 0
  local step = math.max(1, n // 10)
  local function count()
    seen = seen + 1
    if seen % step == 0 then samples[#samples + 1] = rss_mb() end
  end
  local t0 = os.clock()
  local finished = false
  if path == "core" then
    client.core:watch("turn:flood", function(msg)
      if msg then count() end
      if msg and msg.method == "turn/completed" then finished = true end
    end)
  else
    local s = client:watch("turn:flood")
    local turn = turn_mod.new(client, "t", { turn = { id = "flood" } }, s)
    if path == "on" then
      turn:on("*", count)
      turn:wait(nil, function() finished = true end)
    else
      coroutine.wrap(function()
        for _ in turn:events() do count() end
        finished = true
      end)()
    end
  end
  local done = false
  client:request("fake/flood", { count = n, turns = true, same_turn = true, bytes = 300, item_every = 1000, complete = true },
    nil, function(err)
      assert(not err, err and tostring(err.message))
      done = true
    end)
  while not (done and finished) do core.step(100) end
  collectgarbage("collect")
  samples[#samples + 1] = rss_mb()
  local parts = {}
  for _, v in ipairs(samples) do parts[#parts + 1] = ("%.1f"):format(v) end
  print(("%s %d %.2f %s"):format(path, seen, os.clock() - t0, table.concat(parts, " ")))
  client:close()
end

if arg[1] == "--worker" then return worker(arg[2], tonumber(arg[3])) end

local n = tonumber(arg[1]) or 2000000
print(("# bench/stream_mem.lua: one turn of %d deltas of 300 B, RSS in MB (start, every %d, end after GC)"):format(n, n // 10))
local rows = {}
for _, path in ipairs({ "core", "on", "events" }) do
  local p = assert(io.popen(("lua5.4 %q --worker %s %d"):format(script, path, n)))
  local line = p:read("l")
  p:close()
  local name, seen, cpu, rest = (line or ""):match("^(%S+) (%d+) (%S+) (.*)$")
  if not name then
    print("bench/stream_mem.lua failed: worker " .. path .. " printed " .. tostring(line))
    os.exit(1)
  end
  local vals = {}
  for v in rest:gmatch("%S+") do vals[#vals + 1] = tonumber(v) end
  local peak = 0
  for _, v in ipairs(vals) do peak = math.max(peak, v) end
  rows[path] = { growth = peak - vals[1], cpu = tonumber(cpu) }
  print(("%-7s %8s msgs %6.1f s cpu  peak growth %7.1f MB   %s"):format(path, seen, tonumber(cpu), peak - vals[1], rest))
end
for _, path in ipairs({ "on", "events" }) do
  local extra = rows[path].growth - rows.core.growth
  print(("turn:%s() over the core: %+.1f MB (target < %d MB): %s"):format(path, extra, TARGET_MB,
    extra < TARGET_MB and "met" or "missed"))
end
