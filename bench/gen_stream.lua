-- bench/gen_stream.lua: writes the benchmark inputs, deterministically, into an output
-- directory (default build/bench/, which git ignores):
--
--   stream.jsonl   200,000 notifications in app-server wire format (one JSON object per line):
--                  ~97.8% item/agentMessage/delta (~200 B), 2% item/completed (~2 KB, nested
--                  items), 0.2% account/rateLimits/updated (global, no turn), plus ONE ~8 MB
--                  response to request id 1 (a thread/read result: turns[] of items[]),
--                  inserted after notification 50,000.
--   line8.jsonl    {"id":1,"result":{"data":"<8,000,000 bytes>"}}   (one line)
--   line64.jsonl   {"id":1,"result":{"data":"<64,000,000 bytes>"}}  (one line, < 64 MiB max_line)
--   meta.lua       counts and sizes, read back by bench/router.lua
--
-- Usage: lua5.4 bench/gen_stream.lua [outdir]
-- No randomness from the runtime: a fixed LCG drives every choice, and JSON is written by
-- hand in a fixed key order, so the files are byte-identical on every run.

local M = {}

M.VERSION = 3 -- bump when the output changes, so router.lua regenerates
M.NOTIFICATIONS = 200000
M.RESPONSE_AFTER = 50000 -- the thread/read response goes after this many notifications
M.TURNS = { "turn-1", "turn-2", "turn-3", "turn-4" }
M.THREAD = "thr_0197f3c2-5b1e-7a40-9c4e-2d8f1a6b3e90"
M.BIG_RESPONSE_BYTES = 8000000 -- the thread/read line grows to at least this
M.BIG_LINES = { line8 = 8000000, line64 = 64000000 } -- payload bytes of the one-string lines

-- ---- deterministic pseudo-randomness ------------------------------------------------------

local seed = 20240611
local function rnd(n) -- 0 .. n-1
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 8) % n
end

-- ---- text ---------------------------------------------------------------------------------

local WORDS = {
  "the", "function", "returns", "a", "table", "of", "lines", "and", "we", "should", "check",
  "whether", "buffer", "is", "empty", "before", "calling", "it", "I'll", "update", "tests",
  "so", "that", "they", "cover", "edge", "case", "when", "server", "closes", "stdout",
  "early", "config", "value", "`max_line`", "in", "src/client.c", "error", "handling",
  "looks", "correct", "but", "naming", "could", "be", "clearer", "—", "café", "→", "résumé",
  "Let", "me", "run", "`cmake", "--build`", "again.", "OK,", "now", "passes:", "3/3",
}
local PUNCT = { " ", " ", " ", " ", " ", " ", ", ", ". ", "\n", " \"", "\" ", "\t", ": " }

local function esc(s)
  return (s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\n" then return "\\n" end
    if c == "\t" then return "\\t" end
    if c == "\r" then return "\\r" end
    return string.format("\\u%04x", c:byte())
  end))
end

-- Text whose JSON-escaped form is about n bytes.
local function text(n)
  local parts, len = {}, 0
  while len < n do
    local w = WORDS[rnd(#WORDS) + 1] .. PUNCT[rnd(#PUNCT) + 1]
    local e = esc(w)
    parts[#parts + 1] = e
    len = len + #e
  end
  return table.concat(parts)
end

local function code_output(n)
  local parts, len = {}, 0
  while len < n do
    local l = esc(string.format('src/client.c:%d:  lua_getfield(L, s, "%s");\n', 100 + rnd(1300), WORDS[rnd(#WORDS) + 1]))
    parts[#parts + 1] = l
    len = len + #l
  end
  return table.concat(parts)
end

local function diff(n)
  local parts, len = { "@@ -120,7 +120,9 @@ static void route_stream(cx_client *c)\\n" }, 0
  while len < n do
    local sign = ({ " ", " ", "-", "+" })[rnd(4) + 1]
    local l = sign .. "  " .. text(30 + rnd(40)):gsub("\\[nt]", " ") .. "\\n"
    parts[#parts + 1] = l
    len = len + #l
  end
  return table.concat(parts)
end

-- ---- items (the shapes of codex app-server v2 ThreadItem) --------------------------------

local item_seq = 0
local function next_id(prefix)
  item_seq = item_seq + 1
  return string.format("%s_%08x%04x", prefix, item_seq * 2654435761 % 4294967296, item_seq % 65536)
end

local function user_message()
  return string.format('{"type":"userMessage","id":"%s","content":[{"type":"text","text":"%s","text_elements":[]}]}',
    next_id("um"), text(120 + rnd(300)))
end

local function agent_message(n)
  return string.format('{"type":"agentMessage","id":"%s","text":"%s","phase":null}', next_id("msg"), text(n))
end

local function reasoning()
  return string.format('{"type":"reasoning","id":"%s","summary":["%s","%s"],"content":[]}', next_id("rs"),
    text(100 + rnd(200)), text(80 + rnd(200)))
end

local function command(n)
  local q = WORDS[rnd(#WORDS) + 1]:gsub("[^%w]", "")
  if q == "" then q = "buffer" end
  return string.format(
    '{"type":"commandExecution","id":"%s","command":"/bin/bash -lc \'rg -n %s src\'","cwd":"/home/dev/codex.nvim",' ..
      '"processId":"%d","status":"completed","commandActions":[{"type":"search","command":"rg -n %s src",' ..
      '"query":"%s","path":"src"},{"type":"read","command":"sed -n 1,80p src/client.c","name":"client.c",' ..
      '"path":"src/client.c"}],"aggregatedOutput":"%s","exitCode":%d,"durationMs":%d}',
    next_id("call"), q, 10000 + rnd(50000), q, q, code_output(n), rnd(4) == 0 and 1 or 0, 5 + rnd(3000))
end

local function file_change(n)
  local changes = {}
  local k = 1 + rnd(3)
  for i = 1, k do
    changes[i] = string.format('{"path":"/home/dev/codex.nvim/src/%s.c","kind":{"type":"update","move_path":null},"diff":"%s"}',
      ({ "client", "framer", "json", "proc" })[rnd(4) + 1], diff(n // k))
  end
  return string.format('{"type":"fileChange","id":"%s","changes":[%s],"status":"completed"}', next_id("call"),
    table.concat(changes, ","))
end

local function completed_item()
  local r = rnd(3)
  if r == 0 then return agent_message(1700 + rnd(300)) end
  if r == 1 then return command(1200 + rnd(300)) end
  return file_change(1300 + rnd(300))
end

-- ---- lines ---------------------------------------------------------------------------------

local t_ms = 1718000000000

local function delta_line(turn)
  t_ms = t_ms + rnd(7)
  return string.format(
    '{"method":"item/agentMessage/delta","params":{"threadId":"%s","turnId":"%s","itemId":"msg-1","delta":"%s"},"emittedAtMs":%d}',
    M.THREAD, turn, text(8 + rnd(36)), t_ms)
end

local function completed_line(turn)
  t_ms = t_ms + rnd(7)
  return string.format('{"method":"item/completed","params":{"item":%s,"threadId":"%s","turnId":"%s"},"emittedAtMs":%d}',
    completed_item(), M.THREAD, turn, t_ms)
end

local function rate_limits_line()
  t_ms = t_ms + rnd(7)
  return string.format(
    '{"method":"account/rateLimits/updated","params":{"rateLimits":{"primary":{"usedPercent":%d.5,' ..
      '"windowDurationMins":300,"resetsAt":%d},"secondary":{"usedPercent":%d.25,"windowDurationMins":10080,' ..
      '"resetsAt":%d}}},"emittedAtMs":%d}',
    rnd(100), t_ms // 1000 + 3600, rnd(100), t_ms // 1000 + 86400, t_ms)
end

-- The thread/read response: {"id":1,"result":{"thread":{…,"turns":[{…,"items":[…]}…]}}}
local function thread_read_line(min_bytes)
  local head = string.format(
    '{"id":1,"result":{"thread":{"id":"%s","preview":"%s","modelProvider":"openai","createdAt":1717990000,' ..
      '"updatedAt":1718000000,"path":"/home/dev/.codex/sessions/2024/06/10/rollout-%s.jsonl",' ..
      '"cwd":"/home/dev/codex.nvim","cliVersion":"0.171.0","source":"cli","gitInfo":{"sha":"f9ffa3d",' ..
      '"branch":"main","originUrl":null},"turns":[',
    M.THREAD, text(80), M.THREAD)
  local tail = ']}}}'
  local turns, size, n = {}, #head + #tail, 0
  while size < min_bytes do
    n = n + 1
    local items = { user_message(), reasoning() }
    for _ = 1, 12 + rnd(20) do
      local r = rnd(5)
      if r <= 1 then items[#items + 1] = command(400 + rnd(2500))
      elseif r == 2 then items[#items + 1] = file_change(600 + rnd(2500))
      elseif r == 3 then items[#items + 1] = reasoning()
      else items[#items + 1] = agent_message(200 + rnd(800)) end
    end
    items[#items + 1] = agent_message(800 + rnd(1500))
    local turn = string.format('{"id":"turn-h%d","status":"completed","error":null,"items":[%s]}', n,
      table.concat(items, ","))
    turns[#turns + 1] = turn
    size = size + #turn + 1
  end
  return head .. table.concat(turns, ",") .. tail, n
end

-- One line {"id":1,"result":{"data":"…"}} whose string payload is exactly `bytes` bytes of
-- escaped JSON (source-like text with \n, \" and \t escapes).
local function big_string_line(bytes)
  local unit = {}
  local len = 0
  while len < 65536 do
    local l = esc(string.format('    lua_getfield(L, %d, "%s"); /* %s */\n', rnd(9), WORDS[rnd(#WORDS) + 1],
      WORDS[rnd(#WORDS) + 1]))
    unit[#unit + 1] = l
    len = len + #l
  end
  unit = table.concat(unit)
  local reps = bytes // #unit
  local rest = bytes - reps * #unit
  -- pad with plain bytes so no escape sequence is cut in half
  return '{"id":1,"result":{"data":"' .. unit:rep(reps) .. string.rep("x", rest) .. '"}}'
end

function M.generate(outdir)
  os.execute("mkdir -p '" .. outdir .. "'")
  local meta = { version = M.VERSION, turns = M.TURNS, counts = {}, notifications = 0 }
  local f = assert(io.open(outdir .. "/stream.jsonl", "wb"))
  local buf, bn = {}, 0
  local bytes, lines = 0, 0
  local function put(line)
    bn = bn + 1
    buf[bn] = line
    bytes = bytes + #line + 1
    lines = lines + 1
    if bn >= 2000 then
      buf[bn + 1] = ""
      f:write(table.concat(buf, "\n", 1, bn + 1))
      buf, bn = {}, 0
    end
  end
  local per_turn = {}
  for _, t in ipairs(M.TURNS) do per_turn[t] = 0 end
  for i = 1, M.NOTIFICATIONS do
    local method
    if i % 500 == 0 then
      put(rate_limits_line())
      method = "account/rateLimits/updated"
    else
      local turn = M.TURNS[rnd(#M.TURNS) + 1]
      per_turn[turn] = per_turn[turn] + 1
      if i % 50 == 25 then
        put(completed_line(turn))
        method = "item/completed"
      else
        put(delta_line(turn))
        method = "item/agentMessage/delta"
      end
    end
    meta.counts[method] = (meta.counts[method] or 0) + 1
    meta.notifications = meta.notifications + 1
    if i == M.RESPONSE_AFTER then
      local line, nturns = thread_read_line(M.BIG_RESPONSE_BYTES)
      put(line)
      meta.response_bytes = #line
      meta.response_turns = nturns
    end
  end
  if bn > 0 then
    buf[bn + 1] = ""
    f:write(table.concat(buf, "\n", 1, bn + 1))
  end
  f:close()
  meta.per_turn = per_turn
  meta.bytes = bytes
  meta.lines = lines
  meta.messages = lines -- notifications + the one response
  meta.big = {}
  for name, n in pairs(M.BIG_LINES) do
    local line = big_string_line(n)
    local g = assert(io.open(outdir .. "/" .. name .. ".jsonl", "wb"))
    g:write(line, "\n")
    g:close()
    meta.big[name] = { payload = n, bytes = #line + 1 }
  end
  -- meta.lua, written last: its presence means the set is complete
  local out = { "return {" }
  local function ser(v)
    if type(v) == "table" then
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      local s = {}
      for _, k in ipairs(keys) do
        s[#s + 1] = (type(k) == "number" and "[" .. k .. "]" or string.format("[%q]", k)) .. "=" .. ser(v[k])
      end
      return "{" .. table.concat(s, ",") .. "}"
    end
    return type(v) == "string" and string.format("%q", v) or tostring(v)
  end
  out[#out + 1] = ser(meta):sub(2, -2)
  out[#out + 1] = "}"
  local mf = assert(io.open(outdir .. "/meta.lua", "wb"))
  mf:write(table.concat(out, "\n"), "\n")
  mf:close()
  return meta
end

-- Usage: lua5.4 bench/gen_stream.lua [outdir]
local outdir = arg and arg[1]
if not outdir then
  local here = (arg and arg[0] or ""):match("^(.*)/bench/[^/]*$") or "."
  outdir = here .. "/build/bench"
end
local t = os.clock()
local meta = M.generate(outdir)
io.write(string.format("wrote %s/stream.jsonl: %d lines, %.1f MB (thread/read response %.1f MB, %d turns) in %.1f s\n",
  outdir, meta.lines, meta.bytes / 1e6, meta.response_bytes / 1e6, meta.response_turns, os.clock() - t))
