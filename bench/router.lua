-- bench/router.lua: throughput of codex.core's router against the in-process decode limit and
-- a typical pure-Lua (luv) client. A benchmark, not a test: it prints figures and targets.
--
--   lua5.4 bench/router.lua [runs]        (default 5 runs of every variant; best is reported)
--
-- Exit status: 0 whether or not the targets are met (it is a benchmark, not a test); 1 if a
-- variant did not deliver every message, or a worker failed.
--
-- The parent process only orchestrates: every measurement runs in a fresh child
-- (`lua5.4 bench/router.lua --worker <variant>`), so no variant inherits another's heap, and
-- the variants are interleaved run by run so slow drift of the machine hits all of them.
-- See bench/README.md for what is measured and how to read it.

local script = arg[0]
-- absolute, from the real working directory ($PWD can be stale, e.g. under `make -C`)
if script:sub(1, 1) ~= "/" then script = require("luv").cwd() .. "/" .. script end
local ROOT = script:match("^(.*)/bench/[^/]*$") or "."
local DIR = ROOT .. "/build/bench"
package.cpath = ROOT .. "/build/lua5.4/?.so;" .. package.cpath
package.path = ROOT .. "/lua/?.lua;" .. package.path

local GEN_VERSION = (function() -- regenerate the inputs whenever gen_stream.lua's version moves
  local f = assert(io.open(ROOT .. "/bench/gen_stream.lua", "rb"))
  local v = tonumber(f:read("a"):match("M%.VERSION = (%d+)"))
  f:close()
  return v
end)()

local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The feeder: wait for one request line on stdin, then dump the file as fast as the pipe goes.
local function feeder_cmd(file) return "head -n1 >/dev/null; exec cat " .. shq(file) end

local function load_meta()
  local ok, meta = pcall(dofile, DIR .. "/meta.lua")
  if ok and type(meta) == "table" and meta.version == GEN_VERSION then return meta end
  return nil
end

-- ---- workers ---------------------------------------------------------------------------------

local function emit(t)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  table.sort(parts)
  io.write("RESULT ", table.concat(parts, " "), "\n")
  io.flush()
end

local function clock()
  local uv = require("luv")
  return function() return uv.hrtime() / 1e9 end
end

-- (a) codex.core: spawn → request id 1 → watch each turn → step until every message has
-- reached a Lua callback and the feeder exited.
local function worker_core(meta)
  local core = require("codex.core")
  local now = clock()
  local file = DIR .. "/stream.jsonl"
  local counts, total = {}, 0
  local response_turns
  local exited = false
  local t0 = now()
  local c = assert(core.spawn({ argv = { "sh", "-c", feeder_cmd(file) } }))
  c:on_exit(function() exited = true end)
  c:on_protocol_error(function(err) io.stderr:write("protocol error: ", tostring(err), "\n") end)
  for _, turn in ipairs(meta.turns) do
    local k = turn
    counts[k] = 0
    assert(c:watch("turn:" .. turn, function(msg)
      if msg then
        counts[k] = counts[k] + 1
        total = total + 1
      end
    end))
  end
  counts.global = 0
  c:on_notification(function(msg)
    counts.global = counts.global + 1
    total = total + 1
  end)
  local id = c:request("thread/read", { threadId = meta.thread or "thr", includeTurns = true }, function(err, result)
    assert(not err, err)
    response_turns = #result.thread.turns
    total = total + 1
  end)
  assert(id == 1, "the thread/read request must be id 1")
  local t_last, seen = t0, 0
  local steps = 0
  while total < meta.messages or not exited do
    core.step(1000)
    steps = steps + 1
    if total ~= seen then
      seen = total
      t_last = now()
    end
    if exited and total < meta.messages and now() - t_last > 5 then break end
  end
  local st = c:status()
  c:close()
  emit({ variant = "core", secs = t_last - t0, messages = total, expected = meta.messages,
    response_turns = response_turns, dropped = st.dropped_events, protocol_errors = st.protocol_errors,
    steps = steps })
end

-- (b) the in-process limit: cjson.decode over the lines already in memory.
local function worker_decode(meta)
  local cjson = require("cjson")
  local decode = cjson.decode
  local now = clock()
  local f = assert(io.open(DIR .. "/stream.jsonl", "rb"))
  local data = f:read("a")
  f:close()
  local lines, n, pos = {}, 0, 1
  while true do
    local nl = data:find("\n", pos, true)
    if not nl then break end
    n = n + 1
    lines[n] = data:sub(pos, nl - 1)
    pos = nl + 1
  end
  data = nil
  collectgarbage()
  local t0 = now()
  for i = 1, n do
    local _ = decode(lines[i])
  end
  local t1 = now()
  emit({ variant = "decode", secs = t1 - t0, messages = n, expected = meta.messages })
end

-- (c) a pure-Lua client of the kind most plugins use: luv spawn, read_start, string
-- concatenation + string.find framing, cjson.decode, dispatch by params.turnId in Lua.
local function worker_luv(meta, mode)
  local naive, deferred = mode == "naive", mode == "deferred"
  local uv = require("luv")
  local cjson = require("cjson")
  local now = clock()
  local file = DIR .. "/stream.jsonl"

  -- the client ---------------------------------------------------------------------------
  local Client = {}
  Client.__index = Client

  local function new_client(cmd, args, on_exit)
    local self = setmetatable({ next_id = 0, pending = {}, turn_handlers = {}, global_handlers = {}, buffer = "", queue = {} }, Client)
    self.stdin, self.stdout, self.stderr = uv.new_pipe(false), uv.new_pipe(false), uv.new_pipe(false)
    local handle
    handle = uv.spawn(cmd, { args = args, stdio = { self.stdin, self.stdout, self.stderr } }, function(code, signal)
      handle:close()
      on_exit(code, signal)
    end)
    assert(handle, "spawn failed")
    self.stdout:read_start(function(err, chunk) self:_on_stdout(err, chunk) end)
    self.stderr:read_start(function(_, chunk) if not chunk then self.stderr:close() end end)
    return self
  end

  function Client:_on_stdout(err, chunk)
    assert(not err, err)
    if not chunk then
      self.stdout:close()
      return
    end
    self.buffer = self.buffer .. chunk
    if naive then
      -- (c') the other common shape: re-slice the buffer after every line
      while true do
        local nl = self.buffer:find("\n", 1, true)
        if not nl then break end
        local line = self.buffer:sub(1, nl - 1)
        self.buffer = self.buffer:sub(nl + 1)
        if #line > 0 then
          local ok, msg = pcall(cjson.decode, line)
          if ok and type(msg) == "table" then self:_dispatch(msg) end
        end
      end
      return
    end
    local start = 1
    while true do
      local nl = self.buffer:find("\n", start, true)
      if not nl then break end
      local line = self.buffer:sub(start, nl - 1)
      start = nl + 1
      if #line > 0 then
        local ok, msg = pcall(cjson.decode, line)
        if ok and type(msg) == "table" then
          if deferred then
            self.queue[#self.queue + 1] = msg
          else
            self:_dispatch(msg)
          end
        end
      end
    end
    if start > 1 then self.buffer = self.buffer:sub(start) end
  end

  function Client:_dispatch(msg)
    if msg.method == nil then -- a response
      local cb = self.pending[msg.id]
      self.pending[msg.id] = nil
      if cb then cb(msg.error, msg.result) end
      return
    end
    local params = msg.params
    local turn_id = type(params) == "table" and (params.turnId or (type(params.turn) == "table" and params.turn.id))
    if turn_id then
      local handlers = self.turn_handlers[turn_id]
      if handlers then
        for i = 1, #handlers do handlers[i](msg) end
      end
      return
    end
    for i = 1, #self.global_handlers do self.global_handlers[i](msg) end
  end

  function Client:request(method, params, cb)
    self.next_id = self.next_id + 1
    self.pending[self.next_id] = cb
    self.stdin:write(cjson.encode({ id = self.next_id, method = method, params = params }) .. "\n")
    return self.next_id
  end

  function Client:watch(turn_id, fn)
    local list = self.turn_handlers[turn_id] or {}
    list[#list + 1] = fn
    self.turn_handlers[turn_id] = list
  end

  function Client:on_notification(fn) self.global_handlers[#self.global_handlers + 1] = fn end

  -- the run ----------------------------------------------------------------------------------
  local counts, total = {}, 0
  local response_turns
  local exited = false
  local t0 = now()
  local c = new_client("sh", { "-c", feeder_cmd(file) }, function() exited = true end)
  for _, turn in ipairs(meta.turns) do
    local k = turn
    counts[k] = 0
    c:watch(turn, function(msg)
      if msg then
        counts[k] = counts[k] + 1
        total = total + 1
      end
    end)
  end
  counts.global = 0
  c:on_notification(function(msg)
    counts.global = counts.global + 1
    total = total + 1
  end)
  c:request("thread/read", { threadId = "thr", includeTurns = true }, function(err, result)
    assert(not err, err)
    response_turns = #result.thread.turns
    total = total + 1
  end)
  local t_last, seen = t0, 0
  while total < meta.messages or not exited do
    -- uv.run returns false once no handle is active. The turn that returns false can still
    -- have read the last chunk (with the EOF and the exit in the same turn), so what it
    -- queued is dispatched before the loop may stop.
    local alive = uv.run("once")
    if deferred and #c.queue > 0 then
      -- (d) deliver after the loop turn, as the core does (it never calls Lua from a libuv
      -- callback): libuv reads up to 32 x 64 KiB per turn, so thousands of messages wait
      local q = c.queue
      c.queue = {}
      for i = 1, #q do c:_dispatch(q[i]) end
    end
    if total ~= seen then
      seen = total
      t_last = now()
    end
    if not alive then break end
  end
  if not c.stdin:is_closing() then c.stdin:close() end
  uv.run("nowait")
  emit({ variant = naive and "luv_naive" or deferred and "luv_deferred" or "luv", secs = t_last - t0, messages = total, expected = meta.messages, response_turns = response_turns })
end

-- One huge line through the core: time from request to its callback. The feeder loads the
-- line into memory first and says "ready" on stderr, so the timing covers the pipe, the framer,
-- the decode and the delivery of the line, not reading the file or starting a process.
local function worker_big(meta, name)
  local core = require("codex.core")
  local now = clock()
  local file = DIR .. "/" .. name .. ".jsonl"
  local feeder = "local f = assert(io.open(" .. string.format("%q", file) .. ", 'rb')) local d = f:read('a') f:close() " ..
    "io.stderr:write('ready\\n') io.stderr:flush() io.read('l') io.write(d) io.flush()"
  local c = assert(core.spawn({ argv = { "lua5.4", "-e", feeder } }))
  local deadline = now() + 30
  while not c:stderr():find("ready", 1, true) do
    assert(now() < deadline, "the feeder never became ready")
    core.step(5)
  end
  local got, len
  local t0 = now()
  c:request("fake/big", { bytes = meta.big[name].payload }, function(err, result)
    assert(not err, err)
    len = #result.data
    got = now()
  end)
  while not got do core.step(1000) end
  local secs = got - t0
  local st = c:status()
  c:close()
  -- for comparison: core.decode and cjson.decode of the same line in memory
  local f = assert(io.open(file, "rb"))
  local line = f:read("l")
  f:close()
  local function timed_decode(decode)
    collectgarbage()
    local d0 = now()
    local v = decode(line)
    local d = now() - d0
    assert(#v.result.data == len)
    return d
  end
  local ksecs = timed_decode(core.decode)
  local csecs = timed_decode(require("cjson").decode)
  emit({ variant = name, secs = secs, core_decode_secs = ksecs, cjson_decode_secs = csecs, bytes = meta.big[name].bytes,
    decoded_len = len, protocol_errors = st.protocol_errors })
end

-- Where the core's time goes, measured in-process on the same bytes (no pipe, no routing),
-- each component the best of 3 interleaved passes:
--   core:   core.decode of every line: the core's own decoder (src/json_decode.c), the one
--           (a) runs; in (a) it decodes in place from the read buffer, here from a Lua string
--   cjson:  cjson.decode of every line (as in b), for comparison; (a) does not call it
--   framer: core.framer over 64 KiB chunks (memchr framing + one Lua string per line)
--   copy:   one fresh Lua string per line; framer - copy estimates the framing alone, since
--           (a) frames without making a Lua string of each line
local function worker_split(meta)
  local core = require("codex.core")
  local cjson = require("cjson")
  local now = clock()
  local f = assert(io.open(DIR .. "/stream.jsonl", "rb"))
  local data = f:read("a")
  f:close()
  local chunks = {}
  for i = 1, #data, 65536 do chunks[#chunks + 1] = data:sub(i, i + 65535) end
  local lines, n, pos = {}, 0, 1
  while true do
    local nl = data:find("\n", pos, true)
    if not nl then break end
    n = n + 1
    lines[n] = data:sub(pos, nl - 1)
    pos = nl + 1
  end
  data = nil
  local function timed(fn)
    collectgarbage()
    local t0 = now()
    fn()
    return now() - t0
  end
  local cd, kd, sub = cjson.decode, core.decode, string.sub
  local parts = {
    framer = function()
      local fr, got = core.framer(), 0
      for i = 1, #chunks do got = got + #fr:feed(chunks[i]) end
      assert(got == n)
    end,
    copy = function() for i = 1, n do sub(lines[i], 2) end end,
    cjson = function() for i = 1, n do cd(lines[i]) end end,
    core = function() for i = 1, n do kd(lines[i]) end end,
  }
  local r = { variant = "split" }
  for _ = 1, 3 do
    for _, k in ipairs({ "core", "cjson", "framer", "copy" }) do
      local t = timed(parts[k])
      local key = k .. "_secs"
      if not r[key] or t < r[key] then r[key] = t end
    end
  end
  r.secs = r.core_secs
  emit(r)
end

if arg[1] == "--worker" then
  local meta = assert(load_meta(), "run bench/router.lua first (it generates the inputs)")
  local v = arg[2]
  if v == "core" then worker_core(meta)
  elseif v == "decode" then worker_decode(meta)
  elseif v == "luv" then worker_luv(meta)
  elseif v == "luv_naive" then worker_luv(meta, "naive")
  elseif v == "luv_deferred" then worker_luv(meta, "deferred")
  elseif v == "line8" or v == "line64" then worker_big(meta, v)
  elseif v == "split" then worker_split(meta)
  else error("unknown worker " .. tostring(v)) end
  os.exit(0)
end

-- ---- orchestration ---------------------------------------------------------------------------

local RUNS = tonumber(arg[1]) or 5

local meta = load_meta()
if not meta then
  io.write("generating inputs in ", DIR, " …\n")
  io.flush()
  assert(os.execute("lua5.4 " .. shq(ROOT .. "/bench/gen_stream.lua") .. " " .. shq(DIR)))
  meta = assert(load_meta(), "gen_stream.lua did not produce " .. DIR .. "/meta.lua")
end
-- warm the page cache so the first run does not pay for disk reads
for _, f in ipairs({ "stream.jsonl", "line8.jsonl", "line64.jsonl" }) do
  os.execute("cat " .. shq(DIR .. "/" .. f) .. " >/dev/null")
end

local function run_worker(v)
  local p = assert(io.popen("lua5.4 " .. shq(script) .. " --worker " .. v .. " 2>&1"))
  local out = p:read("a")
  p:close()
  local line = out:match("RESULT ([^\n]*)")
  local function fail(msg)
    io.stderr:write("\nbench/router.lua: ", msg, "\n")
    os.exit(1)
  end
  if not line then fail("worker " .. v .. " failed:\n" .. out) end
  local r = {}
  for k, val in line:gmatch("(%S+)=(%S+)") do r[k] = tonumber(val) or val end
  if r.messages and r.expected and r.messages ~= r.expected then
    fail(("worker %s delivered %s of %s messages"):format(v, r.messages, r.expected))
  end
  return r
end

local variants = { "core", "decode", "luv", "luv_naive", "luv_deferred", "line8", "line64", "split" }
local results = {}
for _, v in ipairs(variants) do results[v] = {} end
for run = 1, RUNS do
  io.stderr:write(("run %d/%d:"):format(run, RUNS))
  for _, v in ipairs(variants) do
    local r = run_worker(v)
    table.insert(results[v], r)
    io.stderr:write((" %s %.3fs"):format(v, r.secs))
  end
  io.stderr:write("\n")
end

local function best(v)
  local b
  for _, r in ipairs(results[v]) do if not b or r.secs < b.secs then b = r end end
  return b
end
local function all_secs(v)
  local s = {}
  for _, r in ipairs(results[v]) do s[#s + 1] = ("%.3f"):format(r.secs) end
  return table.concat(s, " ")
end

local function count_lines(cmd)
  local p = io.popen(cmd)
  local s = p and p:read("a") or ""
  if p then p:close() end
  return s
end
local ncpu = count_lines("nproc 2>/dev/null"):match("%d+") or "?"
local cjson_version = require("cjson")._VERSION or "?"
local libuv = require("luv").version_string()

local MB = 1e6
local msgs = meta.messages
local mb = meta.bytes / MB
local a, b, c = best("core"), best("decode"), best("luv")

local function pass(ok) return ok and "ok" or "MISSED" end

local out = {}
local function p(fmt, ...) out[#out + 1] = fmt:format(...) end
p("codex.core router benchmark: best of %d runs per variant (each run a fresh process)", RUNS)
p("host: %s CPUs, %s, lua-cjson %s, libuv %s", ncpu, _VERSION, cjson_version, libuv)
p("input: %s/stream.jsonl, %.1f MB, %d lines:", DIR, mb, meta.lines)
p("  %d item/agentMessage/delta (~200 B), %d item/completed (~2 KB), %d account/rateLimits/updated (global),",
  meta.counts["item/agentMessage/delta"], meta.counts["item/completed"], meta.counts["account/rateLimits/updated"])
p("  over turns %s; 1 thread/read response to id 1 of %.2f MB (%d turns)", table.concat(meta.turns, ","),
  meta.response_bytes / MB, meta.response_turns)
p("")
p("%-58s %9s %11s %8s   %s", "variant", "best s", "msgs/s", "MB/s", "all runs (s)")
p("%s", string.rep("-", 108))
local function row(label, r, v)
  p("%-58s %9.3f %11.0f %8.1f   %s", label, r.secs, msgs / r.secs, mb / r.secs, all_secs(v))
end
row("(a) codex.core: spawn -> last callback", a, "core")
row("(b) cjson.decode of in-memory lines (the limit)", b, "decode")
row("(c) luv + Lua framing/dispatch (typical plugin)", c, "luv")
row("(c') as c, re-slicing the buffer per line (also common)", best("luv_naive"), "luv_naive")
row("(d) as c, dispatching once per loop turn like the core", best("luv_deferred"), "luv_deferred")
p("")
local ab, ac = b.secs / a.secs, c.secs / a.secs
p("a/b (throughput of core / in-process cjson.decode) = %.2f   target >= 0.80  %s", ab, pass(ab >= 0.8))
p("a/c (throughput of core / typical luv client)      = %.2f   target >= 2     %s", ac, pass(ac >= 2))
p("a/c' (core / re-slicing luv client)                = %.2f   (for information)", best("luv_naive").secs / a.secs)
p("time(d)/time(c) = %.2f: the cost of delivering in batches after each loop turn, as the core does",
  best("luv_deferred").secs / c.secs)
p("time(c)/time(b) = %.2f: the ceiling on a/c for any router that itself calls cjson.decode", c.secs / b.secs)
p("  (a/c = a/b x time(c)/time(b); a/b <= 1 for such a router, but the core has its own decoder)")
p("")
-- breakdown: each component is the best over all runs of the split worker
local function best_field(v, field)
  local m
  for _, r in ipairs(results[v]) do if not m or r[field] < m then m = r[field] end end
  return m
end
do
  local fr, cp, cj, kd = best_field("split", "framer_secs"), best_field("split", "copy_secs"),
    best_field("split", "cjson_secs"), best_field("split", "core_secs")
  local frame = math.max(fr - cp, 0)
  local rest = a.secs - kd - frame
  p("where (a)'s time goes: components timed in-process on the same lines (best of 3 passes x %d runs),", RUNS)
  p("the rest by difference; expect +-10%% noise on this machine (bench/README.md has a perf profile)")
  local function line(label, v) p("  %-68s %6.3f s  %5.1f%% of a", label, v, 100 * v / a.secs) end
  line("core.decode of every line (the core's own decoder)", kd)
  line("framing 64 KiB reads (core.framer - one string copy per line)", frame)
  line("rest: routing, queue + drain, callbacks, GC, pipe reads, spawn", rest)
  p("  for comparison, not part of a: cjson.decode of every line %6.3f s; core.decode / cjson.decode time = %.2f",
    cj, kd / cj)
  p("")
end
local b8, b64 = best("line8"), best("line64")
p("one huge line through the core: request -> response callback (best of %d)", RUNS)
p("%-40s %9s %9s %12s %12s   %s", "line", "best s", "MB/s", "core.decode", "cjson.decode", "all runs (s)")
p("%s", string.rep("-", 108))
local function big_row(label, r, v)
  p("%-40s %9.3f %9.1f %12.3f %12.3f   %s", label, r.secs, r.bytes / MB / r.secs, best_field(v, "core_decode_secs"),
    best_field(v, "cjson_decode_secs"), all_secs(v))
end
big_row(("8 MB   (%d bytes)"):format(b8.bytes), b8, "line8")
big_row(("64 MB  (%d bytes)"):format(b64.bytes), b64, "line64")
local r = b64.secs / b8.secs
p("64 MB / 8 MB time = %.2f  (bytes ratio %.1f)   target <= 10, ideally ~8  %s", r, b64.bytes / b8.bytes, pass(r <= 10))
p("(core.decode, cjson.decode: best s to decode the same line in memory, for comparison; not part of the timing)")
print(table.concat(out, "\n"))
