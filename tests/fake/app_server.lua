#!/usr/bin/env lua5.4
-- Scripted fake of `codex app-server` for the C core's test suite.
--
-- Speaks the app-server wire format (one JSON object per line on stdin/stdout,
-- no "jsonrpc" member) and adds `fake/*` control methods that let a test make
-- the server misbehave on demand. See tests/fake/README.md for the catalogue.
--
-- Design notes (the why):
--  * Everything runs on the luv loop so replies can be delayed and several
--    requests can be outstanding at once; stdin is never read synchronously.
--  * Each call to `send` is one uv.write of whole lines. libuv keeps writes in
--    order, so lines never interleave, and "one write" really means the
--    client has a chance to receive several messages in a single read.
--  * Debian's lua-cjson 2.1.0 is only used for *parsing*. Its encoder turns
--    empty arrays into `{}`, prints integers as floats past 14 digits and
--    escapes "/", so output is produced by a small encoder below. Values that
--    tests hand us to pass through (ids, echo payloads, scripted events, the
--    client's answers) are copied as raw JSON text from the input line, which
--    keeps them byte-exact (`[]` stays `[]`, 2^60 stays 2^60).
--  * Logs go to stderr only, and only for anomalies (set FAKE_TRACE=1 for a
--    line-by-line trace), so stderr-ring tests see just what they scripted.

local uv = require("luv")
local cjson = require("cjson")

local getenv = os.getenv

---------------------------------------------------------------------------
-- stderr
---------------------------------------------------------------------------

-- Synchronous on purpose: crash paths must get their text out before exit().
local function err_write(text)
  io.stderr:write(text)
  io.stderr:flush()
end

local function log(fmt, ...)
  err_write("[fake_app_server] " .. string.format(fmt, ...) .. "\n")
end

local TRACE = getenv("FAKE_TRACE") == "1"
local function trace(dir, text)
  if not TRACE then return end
  for line in text:gmatch("[^\n]*") do
    if line ~= "" then
      local shown = #line > 300 and (line:sub(1, 300) .. "...(" .. #line .. " bytes)") or line
      err_write("[fake_app_server] " .. dir .. " " .. shown .. "\n")
    end
  end
end

---------------------------------------------------------------------------
-- JSON output
---------------------------------------------------------------------------

local RAW = {}   -- metatable: { text } is spliced into the output verbatim
local ARRAY = {} -- metatable: encode as an array even when empty

local function raw(text) return setmetatable({ text }, RAW) end
local function array(t) return setmetatable(t or {}, ARRAY) end

-- Object with a fixed key order (nil values are dropped), so that output is
-- deterministic and matches the shapes documented for the real server.
local function obj(...)
  local t, keys = {}, {}
  for i = 1, select("#", ...), 2 do
    local k, v = select(i, ...)
    if v ~= nil then
      t[k] = v
      keys[#keys + 1] = k
    end
  end
  return setmetatable(t, { __jsonorder = keys })
end

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- Bytes >= 0x80 pass through untouched: tests may deliberately smuggle
-- invalid UTF-8 through us and must get the same bytes back.
local function quote(s)
  if s:find('[%c"\\]') then
    s = s:gsub('[%c"\\]', function(c)
      return ESCAPES[c] or string.format("\\u%04x", c:byte())
    end)
  end
  return '"' .. s .. '"'
end

local function number_text(x)
  if math.type(x) == "integer" then return string.format("%d", x) end
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  -- cjson decodes every number as a float; print whole ones as integers.
  if x == math.floor(x) and math.abs(x) < 2 ^ 53 then
    return string.format("%d", math.tointeger(x))
  end
  local s = string.format("%.14g", x)
  if tonumber(s) ~= x then s = string.format("%.17g", x) end
  return s
end

local function is_sequence(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" then return false end
    count = count + 1
  end
  return count == n
end

local function encode_into(v, buf)
  local tv = type(v)
  if tv == "string" then
    buf[#buf + 1] = quote(v)
  elseif tv == "number" then
    buf[#buf + 1] = number_text(v)
  elseif tv == "boolean" then
    buf[#buf + 1] = tostring(v)
  elseif v == nil or v == cjson.null then
    buf[#buf + 1] = "null"
  elseif tv == "table" then
    local mt = getmetatable(v)
    if mt == RAW then
      buf[#buf + 1] = v[1]
    elseif mt == ARRAY or (mt == nil and is_sequence(v)) then
      buf[#buf + 1] = "["
      for i = 1, #v do
        if i > 1 then buf[#buf + 1] = "," end
        encode_into(v[i], buf)
      end
      buf[#buf + 1] = "]"
    else
      local keys = mt and mt.__jsonorder
      if not keys then
        keys = {}
        for k in pairs(v) do keys[#keys + 1] = k end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      end
      buf[#buf + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then buf[#buf + 1] = "," end
        buf[#buf + 1] = quote(tostring(k))
        buf[#buf + 1] = ":"
        encode_into(v[k], buf)
      end
      buf[#buf + 1] = "}"
    end
  else
    error("cannot encode a " .. tv)
  end
end

local function encode(v)
  local buf = {}
  encode_into(v, buf)
  return table.concat(buf)
end

---------------------------------------------------------------------------
-- Raw JSON navigation (only ever run on lines cjson has already accepted,
-- so it skips values without validating them)
---------------------------------------------------------------------------

local function skip_ws(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

-- Index just past the JSON value that starts exactly at i.
local function value_end(s, i)
  local b = s:byte(i)
  if b == 34 then -- string
    -- Plain find for the quote, then rule out an escaped one by counting the
    -- backslashes before it: a character-class search is ~100x slower and
    -- multi-megabyte strings are a test case.
    local j = i + 1
    while true do
      local k = s:find('"', j, true)
      local bs = k - 1
      while s:byte(bs) == 92 do bs = bs - 1 end
      if (k - 1 - bs) % 2 == 0 then return k + 1 end
      j = k + 1
    end
  elseif b == 123 or b == 91 then -- object / array
    local depth, j = 0, i
    while true do
      local k = s:find('[%[%]{}"]', j)
      local c = s:byte(k)
      if c == 34 then
        j = value_end(s, k)
      else
        depth = depth + ((c == 123 or c == 91) and 1 or -1)
        j = k + 1
        if depth == 0 then return j end
      end
    end
  else -- number / true / false / null
    return s:find("[,%]} \t\r\n]", i) or #s + 1
  end
end

-- Spans of the children of the container at i: key -> {first, last} for an
-- object (last duplicate wins, as in cjson), a list of spans for an array.
local function raw_children(s, i)
  local is_obj = s:byte(i) == 123
  local out = {}
  local j = skip_ws(s, i + 1)
  if s:byte(j) == 125 or s:byte(j) == 93 then return out end
  while true do
    local key
    if is_obj then
      local ke = value_end(s, j)
      local text = s:sub(j, ke - 1)
      key = text:find("\\", 1, true) and cjson.decode(text) or text:sub(2, -2)
      j = skip_ws(s, skip_ws(s, ke) + 1) -- past ':'
    end
    local ve = value_end(s, j)
    if is_obj then out[key] = { j, ve - 1 } else out[#out + 1] = { j, ve - 1 } end
    j = skip_ws(s, ve)
    if s:byte(j) ~= 44 then return out end -- no ',' => closer
    j = skip_ws(s, j + 1)
  end
end

local function span_at(s, ...)
  local first = skip_ws(s, 1)
  local last = value_end(s, first) - 1
  for _, k in ipairs({ ... }) do
    local b = s:byte(first)
    if b ~= 123 and b ~= 91 then return nil end
    local span = raw_children(s, first)[k]
    if not span then return nil end
    first, last = span[1], span[2]
  end
  return first, last
end

-- Raw JSON text at a path of keys / 1-based indices, or nil if absent.
local function raw_get(s, ...)
  local first, last = span_at(s, ...)
  return first and s:sub(first, last)
end

-- Raw JSON texts of the elements of the array at a path ({} if not an array).
local function raw_list(s, ...)
  local first = span_at(s, ...)
  if not first or s:byte(first) ~= 91 then return {} end
  local texts = {}
  for i, span in ipairs(raw_children(s, first)) do texts[i] = s:sub(span[1], span[2]) end
  return texts
end

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, 64 do B64_VALUE[B64:byte(i)] = i - 1 end
B64_VALUE[("-"):byte()] = 62 -- accept the URL-safe alphabet too
B64_VALUE[("_"):byte()] = 63

local function b64decode(s)
  local out, acc, bits = {}, 0, 0
  for i = 1, #s do
    local v = B64_VALUE[s:byte(i)]
    if v then -- padding and whitespace are simply skipped
      acc = (acc << 6) | v
      bits = bits + 6
      if bits >= 8 then
        bits = bits - 8
        out[#out + 1] = string.char((acc >> bits) & 0xff)
      end
    end
  end
  return table.concat(out)
end

-- Text form of a decoded scalar for building strings ("1", not "1.0").
local function text_of(v)
  return type(v) == "number" and number_text(v) or tostring(v)
end

local function int(v, default)
  return (type(v) == "number" and math.tointeger(v)) or default
end

local function after(ms, fn)
  local t = uv.new_timer()
  t:start(math.max(0, ms), 0, function()
    t:close()
    fn()
  end)
end

---------------------------------------------------------------------------
-- stdout
---------------------------------------------------------------------------

local out = { handle = nil, file = false, closed = false, broken = false }

do
  local kind = uv.guess_handle(1)
  if kind == "pipe" then
    out.handle = uv.new_pipe(false)
    out.handle:open(1)
  elseif kind == "tty" then
    out.handle = uv.new_tty(1, false)
  elseif kind == "tcp" then
    out.handle = uv.new_tcp()
    out.handle:open(1)
  else
    -- Regular file / unknown: libuv cannot poll these; write synchronously.
    out.file = true
  end
end

-- Write `text` (whole lines) as a single write. `cb` runs once the bytes have
-- been handed to the kernel (or dropped), which is what exit paths wait for.
local function send(text, cb)
  trace("<-", text)
  if out.closed then
    log("stdout closed, dropping %d bytes", #text)
    if cb then cb() end
  elseif out.file then
    io.stdout:write(text)
    io.stdout:flush()
    if cb then cb() end
  else
    local ok, err = out.handle:write(text, function(werr)
      if werr and not out.broken then
        out.broken = true
        log("stdout write failed: %s", werr)
      end
      if cb then cb() end
    end)
    if not ok then
      log("stdout write failed: %s", tostring(err))
      if cb then cb() end
    end
  end
end

-- Exit once everything queued on stdout has been written. The cap keeps a
-- client that stopped reading from wedging the test run.
local function flush_and_exit(code)
  if out.closed or out.file or not out.handle then
    io.stdout:flush()
    os.exit(code)
  end
  after(5000, function()
    log("stdout did not drain within 5s; exiting anyway")
    os.exit(code)
  end)
  local ok = out.handle:shutdown(function() os.exit(code) end)
  if not ok then os.exit(code) end
end

local function close_stdout()
  if out.closed then return end
  out.closed = true
  io.stdout:flush()
  -- Neither uv_close (libuv never closes fds 0-2) nor io.stdout:close()
  -- (Lua refuses to close standard files) releases fd 1, so close it by
  -- number; only then does the client see EOF on its read end.
  if out.handle then
    out.handle:close(function() uv.fs_close(1) end)
  else
    uv.fs_close(1)
  end
end

---------------------------------------------------------------------------
-- Message builders (each returns one line including "\n")
---------------------------------------------------------------------------

local function result_line(id, result)
  return encode(obj("id", raw(id), "result", result)) .. "\n"
end

local function error_line(id, code, message, data)
  return encode(obj("id", raw(id), "error", obj("code", code, "message", message, "data", data))) .. "\n"
end

local function notif_line(method, params)
  return encode(obj("method", method, "params", params)) .. "\n"
end

local function request_line(id, method, params)
  return encode(obj("id", id, "method", method, "params", params)) .. "\n"
end

---------------------------------------------------------------------------
-- Server state
---------------------------------------------------------------------------

local state = {
  initialize = 0,            -- initialize requests received
  initialized = 0,           -- initialized notifications received
  handshake_done = false,
  answers = {},              -- raw lines of the client's responses
  received = {},             -- methods of every request / notification
  turns = 0,                 -- turn/start counter for "turn-<n>"
  overload = {},             -- fake/overload key -> attempts
  canned = {},               -- fake/canned: method -> raw result text
  next_server_request = 0,   -- ids of server -> client requests
  pending = {},              -- server request id -> { resolve, threadId }
  stay_alive_on_eof = false, -- set by fake/ignore_sigterm
  exit_scheduled = false,    -- a crash/exit is already underway
  stop_reading = false,      -- handshake refused: ignore further input
}

---------------------------------------------------------------------------
-- Scripted lines for fake/emit and turn/start's fakeEvents
---------------------------------------------------------------------------

-- One element of a script: a string is written verbatim, {raw_b64=...} is
-- decoded and written as bytes, anything else is written as its JSON text.
-- `subst` optionally rewrites the text (turn id substitution).
local function script_line(text, subst)
  local v = cjson.decode(text)
  if type(v) == "string" then
    return (subst and subst(v) or v) .. "\n"
  end
  if type(v) == "table" and text:byte(1) == 123 and type(v.raw_b64) == "string" then
    return b64decode(v.raw_b64) .. (v.newline == false and "" or "\n")
  end
  return (subst and subst(text) or text) .. "\n"
end

local function script_lines(texts, subst)
  local lines = {}
  for i, text in ipairs(texts) do lines[i] = script_line(text, subst) end
  return lines
end

-- Write lines one per timer tick, `ms` apart, so each arrives in its own read.
local function drip(lines, ms, i)
  i = i or 1
  if i > #lines then return end
  after(ms, function()
    send(lines[i])
    drip(lines, ms, i + 1)
  end)
end

---------------------------------------------------------------------------
-- Request handlers. Each receives req = { id = raw id text, method, params
-- (decoded, {} if absent), line = raw request line } and writes its own reply.
---------------------------------------------------------------------------

local handlers = {}

handlers["fake/echo"] = function(req)
  send(result_line(req.id, raw(raw_get(req.line, "params") or "null")))
end

handlers["fake/stats"] = function(req)
  local answers, lines = array(), array()
  for i, line in ipairs(state.answers) do answers[i], lines[i] = raw(line), line end
  local received = array()
  for i, m in ipairs(state.received) do received[i] = m end
  send(result_line(req.id, obj(
    "initialize", state.initialize,
    "initialized", state.initialized,
    "answers", answers,
    "answer_lines", lines,
    "received", received)))
end

handlers["fake/emit"] = function(req)
  local before = script_lines(raw_list(req.line, "params", "before"))
  local after_lines = script_lines(raw_list(req.line, "params", "after"))
  local delay = int(req.params.delay_ms)
  local head = table.concat(before) .. result_line(req.id, obj())
  if delay then
    send(head)
    if #after_lines > 0 then
      after(delay, function() send(table.concat(after_lines)) end)
    end
  else
    send(head .. table.concat(after_lines))
  end
end

handlers["turn/start"] = function(req)
  local p = req.params
  state.turns = state.turns + 1
  local turn_id = type(p.fakeTurnId) == "string" and p.fakeTurnId or ("turn-" .. state.turns)
  local thread = p.threadId
  local response = result_line(req.id, obj("turn",
    obj("id", turn_id, "status", "inProgress", "items", array(), "itemsView", "notLoaded")))

  local events
  if p.fakeEvents ~= nil then
    -- "$TURN" is replaced in the raw text; the id is JSON-escaped (without
    -- quotes) so that odd fakeTurnIds still produce valid JSON.
    local escaped = quote(turn_id):sub(2, -2):gsub("%%", "%%%%")
    local function subst(text) return (text:gsub("%$TURN", escaped)) end
    events = script_lines(raw_list(req.line, "params", "fakeEvents"), subst)
  else
    local function delta(text)
      return notif_line("item/agentMessage/delta",
        obj("threadId", thread, "turnId", turn_id, "itemId", "msg-1", "delta", text))
    end
    events = {
      notif_line("turn/started", obj("threadId", thread, "turn", obj("id", turn_id, "status", "inProgress"))),
      delta("Hel"),
      delta("lo"),
      notif_line("turn/completed", obj("threadId", thread,
        "turn", obj("id", turn_id, "status", "completed", "items", array()))),
    }
  end

  local interval = int(p.fakeEventsDelayMs)
  if interval then
    send(response)
    drip(events, interval)
  else
    send(response .. table.concat(events))
  end
end

handlers["fake/interleave"] = function(req)
  local p = req.params
  local turns = type(p.turns) == "table" and p.turns or {}
  local n = int(p.deltas, 1)
  local thread = p.threadId
  local lines = { result_line(req.id, obj()) }
  for k = 1, n do
    for _, id in ipairs(turns) do
      lines[#lines + 1] = notif_line("item/agentMessage/delta",
        obj("threadId", thread, "turnId", id, "itemId", "msg-" .. text_of(id), "delta", text_of(id) .. k))
    end
  end
  for _, id in ipairs(turns) do
    lines[#lines + 1] = notif_line("turn/completed", obj("threadId", thread,
      "turn", obj("id", id, "status", "completed", "items", array())))
  end
  send(table.concat(lines))
end

handlers["fake/overload"] = function(req)
  local key = text_of(req.params.key or "")
  local attempts = (state.overload[key] or 0) + 1
  state.overload[key] = attempts
  if attempts <= int(req.params.fail, 0) then
    send(error_line(req.id, -32001, "Server overloaded; retry later."))
  else
    send(result_line(req.id, obj("attempts", attempts)))
  end
end

handlers["fake/dup_overload"] = function(req)
  -- The first call with this key gets `dups` overload errors for its one id, in one write.
  local key = text_of(req.params.key or "")
  local calls = (state.overload[key] or 0) + 1
  state.overload[key] = calls
  if calls == 1 then
    send(string.rep(error_line(req.id, -32001, "Server overloaded; retry later."), int(req.params.dups, 2)))
  else
    send(result_line(req.id, obj("calls", calls)))
  end
end

handlers["fake/canned"] = function(req)
  -- From now on, requests for `method` get `result` (its text as sent), whatever they ask.
  state.canned[text_of(req.params.method)] = raw_get(req.line, "params", "result") or "null"
  send(result_line(req.id, obj()))
end

handlers["fake/flood"] = function(req)
  -- `count` notifications in writes of up to 4096 lines: global ones (method fake/n), or
  -- with `turns`, item/agentMessage/delta for `count` distinct turn ids nobody started.
  -- With `bytes`, each delta carries that many bytes. With `same_turn` (turn "flood"),
  -- `item_every` K ends an item every K deltas (item/completed, then a new itemId), and
  -- `complete` ends the turn (turn/completed). The result comes last.
  local p = req.params
  local count, pad = int(p.count, 0), string.rep("x", int(p.bytes, 0))
  local every = int(p.item_every, 0)
  local lines = {}
  for i = 1, count do
    if p.turns then
      local turn = p.same_turn and "flood" or ("flood-" .. i)
      local item = every > 0 and ("m" .. (i - 1) // every) or "m"
      lines[#lines + 1] = notif_line("item/agentMessage/delta",
        obj("threadId", "t", "turnId", turn, "itemId", item, "delta", pad))
      if every > 0 and (i % every == 0 or i == count) then
        lines[#lines + 1] = notif_line("item/completed", obj("threadId", "t", "turnId", turn,
          "item", obj("type", "agentMessage", "id", item, "text", "(" .. every .. " deltas)")))
      end
    else
      lines[#lines + 1] = notif_line("fake/n", obj("i", i))
    end
    if #lines == 4096 then
      send(table.concat(lines))
      lines = {}
    end
  end
  if p.turns and p.same_turn and p.complete then
    lines[#lines + 1] = notif_line("turn/completed", obj("threadId", "t", "turn", obj("id", "flood", "status", "completed")))
  end
  lines[#lines + 1] = result_line(req.id, obj("count", count))
  send(table.concat(lines))
end

handlers["fake/exit_unterminated"] = function(req)
  -- The reply without its newline, then exit: the client must still read it.
  state.exit_scheduled = true
  send(result_line(req.id, "last words"):sub(1, -2), function() os.exit(int(req.params.code, 3)) end)
end

handlers["fake/server_request"] = function(req)
  local p = req.params
  local method = type(p.method) == "string" and p.method or "fake/serverRequest"
  local params_raw = raw_get(req.line, "params", "params")
  local thread = type(p.params) == "table" and p.params.threadId or nil
  local ids, lines = array(), {}
  for _ = 1, int(p.count, 1) do
    local id = state.next_server_request
    state.next_server_request = id + 1
    state.pending[id] = { resolve = p.resolve == true, threadId = thread }
    ids[#ids + 1] = id
    lines[#lines + 1] = request_line(id, method, params_raw and raw(params_raw))
  end
  lines[#lines + 1] = result_line(req.id, obj("ids", ids))
  send(table.concat(lines))
end

handlers["fake/resolve"] = function(req)
  local requestId = raw_get(req.line, "params", "requestId")
  send(notif_line("serverRequest/resolved",
      obj("threadId", req.params.threadId, "requestId", requestId and raw(requestId)))
    .. result_line(req.id, obj()))
end

handlers["fake/big"] = function(req)
  local data = string.rep("x", int(req.params.bytes, 0))
  if req.params.where == "notification" then
    send(notif_line("fake/big", obj("data", data)) .. result_line(req.id, obj()))
  else
    send(result_line(req.id, obj("data", data)))
  end
end

handlers["fake/never"] = function() end

handlers["fake/delay"] = function(req)
  local result = raw(raw_get(req.line, "params", "result") or "{}")
  after(int(req.params.ms, 0), function() send(result_line(req.id, result)) end)
end

handlers["fake/unknown_id"] = function(req)
  send(result_line("999999", obj()) .. result_line(req.id, obj()))
end

-- Accepts "SIGKILL", "KILL", "sigkill", 9 or "9"; luv only understands the
-- lowercase "sigkill" form and silently sends signal 0 for anything else.
local function signal_name(sig)
  sig = tostring(sig)
  if tonumber(sig) then return math.tointeger(tonumber(sig)) end
  sig = sig:lower()
  return sig:sub(1, 3) == "sig" and sig or ("sig" .. sig)
end

handlers["fake/crash"] = function(req)
  local p = req.params
  state.exit_scheduled = true
  if type(p.stderr) == "table" then
    for _, line in ipairs(p.stderr) do err_write(tostring(line) .. "\n") end
  end
  if p.signal ~= nil then
    uv.kill(uv.os_getpid(), signal_name(p.signal))
    -- Only reached when the signal is caught or ignored (e.g. SIGTERM after
    -- fake/ignore_sigterm): fall through to a plain exit.
  end
  os.exit(int(p.code, 1))
end

handlers["fake/crash_mid_turn"] = function(req)
  local thread = req.params.threadId
  local turn_id = "turn-crash"
  state.exit_scheduled = true
  send(result_line(req.id, obj("turn", obj("id", turn_id)))
    .. notif_line("turn/started", obj("threadId", thread, "turn", obj("id", turn_id, "status", "inProgress")))
    .. notif_line("item/agentMessage/delta",
      obj("threadId", thread, "turnId", turn_id, "itemId", "msg-1", "delta", "partial")))
  after(50, function()
    err_write("panic: fake crash mid turn\n")
    os.exit(101)
  end)
end

handlers["fake/close_stdout"] = function(req)
  -- Close only once the reply is out, so the client still gets it.
  send(result_line(req.id, obj()), close_stdout)
end

handlers["fake/ignore_sigterm"] = function(req)
  if not state.sigterm then
    state.sigterm = uv.new_signal()
    state.sigterm:start("sigterm", function() log("SIGTERM received and ignored") end)
  end
  state.stay_alive_on_eof = true
  send(result_line(req.id, obj()))
end

handlers["fake/spawn_child"] = function(req)
  -- No stdio option: libuv gives the child /dev/null, so the grandchild does
  -- not hold our stdout pipe open. Not detached: it stays in our process
  -- group, which is what a group kill is expected to reach.
  local handle, pid
  handle, pid = uv.spawn("sleep", { args = { "30" } }, function()
    handle:close()
  end)
  if not handle then
    send(error_line(req.id, -32603, "spawn failed: " .. tostring(pid)))
    return
  end
  handle:unref()
  send(result_line(req.id, obj("pid", pid)))
end

---------------------------------------------------------------------------
-- Dispatch
---------------------------------------------------------------------------

local function on_initialize(req)
  state.initialize = state.initialize + 1
  if getenv("FAKE_REFUSE_HANDSHAKE") == "1" then
    state.stop_reading = true
    state.exit_scheduled = true
    send(error_line(req.id, -32600, "Invalid clientInfo.name: 'x'. Must be a valid HTTP header value."),
      function()
        err_write("refused handshake\n")
        os.exit(3)
      end)
  elseif state.handshake_done then
    send(error_line(req.id, -32600, "Already initialized"))
  else
    state.handshake_done = true
    send(result_line(req.id, obj(
        "userAgent", getenv("FAKE_USER_AGENT") or "fake_app_server/0.0.1 (test)",
        "codexHome", "/tmp/fake",
        "platformFamily", "unix",
        "platformOs", "linux"))
      .. notif_line("configWarning", obj("summary", "fake warning")))
  end
end

local function on_request(req)
  if req.method == "initialize" then return on_initialize(req) end
  if not state.handshake_done then
    return send(error_line(req.id, -32600, "Not initialized"))
  end
  local handler = handlers[req.method]
  if state.canned[req.method] then
    send(result_line(req.id, raw(state.canned[req.method])))
  elseif handler then
    handler(req)
  else
    send(error_line(req.id, -32600, "Invalid request: unknown variant `" .. req.method .. "`"))
  end
end

local function on_response(line, msg)
  state.answers[#state.answers + 1] = line
  local id = int(msg.id)
  local pending = id and state.pending[id]
  if not pending then
    log("response for unknown server request id %s", raw_get(line, "id"))
    return
  end
  state.pending[id] = nil
  if pending.resolve then
    send(notif_line("serverRequest/resolved", obj("threadId", pending.threadId, "requestId", id)))
  end
end

local function on_line(line)
  if state.stop_reading then return end
  if line:byte(-1) == 13 then line = line:sub(1, -2) end -- "\r\n"
  if not line:find("%S") then return end
  trace("->", line)

  local ok, msg = pcall(cjson.decode, line)
  if not ok then
    log("ignoring invalid JSON line (%s): %s", msg, line:sub(1, 200))
    return
  end
  -- cjson accepts any JSON value; only objects are messages.
  if type(msg) ~= "table" or line:byte(skip_ws(line, 1)) ~= 123 then
    log("ignoring non-object message: %s", line:sub(1, 200))
    return
  end
  -- Trim by hand: a pattern with a lazy capture can go quadratic on
  -- multi-megabyte lines.
  local first, last = skip_ws(line, 1), #line
  while last > first and line:find("^%s", last) do last = last - 1 end
  line = line:sub(first, last)

  if msg.method ~= nil then
    if type(msg.method) ~= "string" then
      log("ignoring message with non-string method: %s", line:sub(1, 200))
      return
    end
    state.received[#state.received + 1] = msg.method
    if msg.id == nil then
      if msg.method == "initialized" then
        state.initialized = state.initialized + 1
      end
      return
    end
    local params = type(msg.params) == "table" and msg.params or {}
    on_request({ id = raw_get(line, "id"), method = msg.method, params = params, line = line })
  elseif msg.id ~= nil and (msg.result ~= nil or msg.error ~= nil) then
    on_response(line, msg)
  else
    log("ignoring message that is neither request, notification nor response: %s", line:sub(1, 200))
  end
end

---------------------------------------------------------------------------
-- stdin
---------------------------------------------------------------------------

local function on_eof()
  if state.exit_scheduled then return end
  if state.stay_alive_on_eof then
    log("stdin EOF ignored (fake/ignore_sigterm)")
    -- The SIGTERM handle keeps the loop, and so the process, alive. A test
    -- that never escalates to SIGKILL (or a client that died) would leave us
    -- behind forever, so give up after a generous grace period.
    after(60000, function()
      log("still alive 60s after stdin EOF; exiting")
      os.exit(0)
    end)
    return
  end
  flush_and_exit(0)
end

-- Pieces of the current unterminated line, joined only when "\n" shows up so
-- that a multi-megabyte line arriving in small chunks stays linear.
local pending_pieces = {}

local function on_chunk(chunk)
  local start = 1
  while true do
    local nl = chunk:find("\n", start, true)
    if not nl then break end
    local piece = chunk:sub(start, nl - 1)
    if #pending_pieces > 0 then
      pending_pieces[#pending_pieces + 1] = piece
      piece = table.concat(pending_pieces)
      pending_pieces = {}
    end
    on_line(piece)
    start = nl + 1
  end
  if start <= #chunk then pending_pieces[#pending_pieces + 1] = chunk:sub(start) end
end

local function on_input_end()
  -- Like a BufRead-based reader, a final line without "\n" still counts.
  if #pending_pieces > 0 then
    local last = table.concat(pending_pieces)
    pending_pieces = {}
    on_line(last)
  end
  on_eof()
end

local function start_reading()
  local kind = uv.guess_handle(0)
  local stream
  if kind == "pipe" then
    stream = uv.new_pipe(false)
    stream:open(0)
  elseif kind == "tty" then
    stream = uv.new_tty(0, true)
  elseif kind == "tcp" then
    stream = uv.new_tcp()
    stream:open(0)
  end

  if stream then
    stream:read_start(function(err, chunk)
      if err then log("stdin read error: %s", err) end
      if chunk then
        on_chunk(chunk)
      else
        stream:read_stop()
        stream:close()
        on_input_end()
      end
    end)
  else
    -- Regular file (`< script.jsonl`): not pollable, so read it with
    -- chained async fs reads instead.
    local function read_next()
      uv.fs_read(0, 65536, -1, function(err, chunk)
        if err then log("stdin read error: %s", err) end
        if chunk and #chunk > 0 then
          on_chunk(chunk)
          read_next()
        else
          on_input_end()
        end
      end)
    end
    read_next()
  end
end

---------------------------------------------------------------------------
-- Startup
---------------------------------------------------------------------------

if getenv("FAKE_STARTUP_CRASH") == "1" then
  err_write("fatal: startup\n")
  os.exit(2)
end

do
  local n = tonumber(getenv("FAKE_STDERR_LINES") or "")
  if n and n > 0 then
    local lines = {}
    for i = 1, n do lines[i] = "stderr line " .. i .. "\n" end
    err_write(table.concat(lines))
  end
end

-- Like the real (Rust) server, survive a client that closed our stdout:
-- writes then fail with EPIPE instead of killing the process.
do
  local sigpipe = uv.new_signal()
  sigpipe:start("sigpipe", function() end)
  sigpipe:unref()
end

start_reading()
uv.run("default")
-- The loop only drains on its own once every handle is gone, i.e. nothing is
-- left to write; treat that like EOF.
io.stdout:flush()
os.exit(0)
