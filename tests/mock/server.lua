#!/usr/bin/env lua5.4
-- tests/mock/server.lua: a local mock of the model's Responses API and of the OAuth issuer /
-- ChatGPT backend, for running the real `codex app-server` offline (protocol.md §12).
--
--   lua5.4 tests/mock/server.lua [--port N] [--log FILE] [--device-interval S]
--          [--device-pending N] [--device-disabled] [--delay-ms MS] [--catalog FILE]
--          [--backend-origin URL] [--demo] [--no-stdin] [--verbose]
--
-- Listens on 127.0.0.1 only, prints exactly one line `PORT <n>` on stdout once listening,
-- and exits when its stdin reaches EOF (so a dying test never leaves it behind), or on
-- SIGTERM/SIGINT. Requests are answered by predicate on the request (never blind FIFO):
-- see README.md beside this file for the magic words and the endpoints.
local uv = require("luv")
local cjson = require("cjson")

local HERE = (debug.getinfo(1, "S").source:gsub("^@", "")):match("^(.*)/[^/]*$") or "."
-- [[update]]'s files and patch (shared with the tests, which write its files first).
local UPDATE = dofile(HERE .. "/update_patch.lua")

---------------------------------------------------------------------------------------------
-- Options
---------------------------------------------------------------------------------------------
local opts = {
  port = 0,
  log = nil,
  device_interval = "1",
  device_pending = 1,
  device_disabled = false,
  delay_ms = 300,
  catalog = HERE .. "/catalog.json",
  backend_origin = nil,
  no_stdin = false,
  verbose = false,
  demo = false,
}

local function usage(msg)
  if msg then io.stderr:write("mock: ", msg, "\n") end
  io.stderr:write([==[
usage: lua5.4 tests/mock/server.lua [options]
  --port N              port to bind on 127.0.0.1 (default 0: ephemeral)
  --log FILE            append every request as a JSON line to FILE
  --device-interval S   the device-code poll interval the issuer announces (default "1")
  --device-pending N    how many device-token polls answer 403 "pending" first (default 1)
  --device-disabled     answer 404 to deviceauth/usercode ("device code login is not enabled")
  --delay-ms MS         the pause between the deltas of [[slow]] (default 300)
  --catalog FILE        the model catalog served on GET /v1/models (default: catalog.json here)
  --backend-origin URL  workspace_backend_origin of GET /backend-api/wham/accounts/check
  --demo                a message without a magic word plays the next step of the demo
                        (make demo): streamed markdown, a command, a file change; then
                        the default text
  --no-stdin            do not exit on stdin EOF (for running it by hand in the background)
  --verbose             log each request on stderr too
]==])
  os.exit(msg and 2 or 0)
end

do
  local i = 1
  local function val(name)
    i = i + 1
    local v = arg[i]
    if v == nil then usage("missing value for " .. name) end
    return v
  end
  while i <= #arg do
    local a = arg[i]
    if a == "--port" then opts.port = tonumber(val(a)) or usage("bad --port")
    elseif a == "--log" then opts.log = val(a)
    elseif a == "--device-interval" then opts.device_interval = val(a)
    elseif a == "--device-pending" then opts.device_pending = tonumber(val(a)) or usage("bad --device-pending")
    elseif a == "--device-disabled" then opts.device_disabled = true
    elseif a == "--delay-ms" then opts.delay_ms = tonumber(val(a)) or usage("bad --delay-ms")
    elseif a == "--catalog" then opts.catalog = val(a)
    elseif a == "--backend-origin" then opts.backend_origin = val(a)
    elseif a == "--demo" then opts.demo = true
    elseif a == "--no-stdin" then opts.no_stdin = true
    elseif a == "--verbose" then opts.verbose = true
    elseif a == "--help" or a == "-h" then usage()
    else usage("unknown argument " .. a) end
    i = i + 1
  end
end

local function warn(fmt, ...)
  io.stderr:write("mock: ", fmt:format(...), "\n")
  io.stderr:flush()
end

---------------------------------------------------------------------------------------------
-- JSON: cjson decodes; encoding is ours, so that empty arrays stay arrays ([]), keys come out
-- sorted (stable logs), and "/" is not escaped.
---------------------------------------------------------------------------------------------
local NULL = cjson.null
local ARRAY = { __name = "json-array" }
local function arr(t) return setmetatable(t or {}, ARRAY) end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function enc_string(s)
  return '"' .. s:gsub('[%c"\\]', function(ch)
    return escapes[ch] or ("\\u%04x"):format(ch:byte())
  end) .. '"'
end

local function enc(v)
  local t = type(v)
  if v == nil or v == NULL then return "null"
  elseif t == "boolean" then return tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
    return ("%.17g"):format(v)
  elseif t == "string" then return enc_string(v)
  elseif t == "table" then
    local n = #v
    if getmetatable(v) == ARRAY or n > 0 then
      local out = {}
      for i = 1, n do out[i] = enc(v[i]) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local out = {}
    for _, k in ipairs(keys) do out[#out + 1] = enc_string(k) .. ":" .. enc(v[k]) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return enc_string(tostring(v))
end

local function decode(s)
  local ok, v = pcall(cjson.decode, s)
  if ok then return v end
  return nil, v
end

local function str(v) return type(v) == "string" and v or nil end

---------------------------------------------------------------------------------------------
-- Request log (JSON lines to --log, and GET /_mock/requests)
---------------------------------------------------------------------------------------------
local T0 = uv.hrtime()
local function now_ms() return (uv.hrtime() - T0) // 1000000 end

local log_entries = {}
local log_file
if opts.log then
  log_file = io.open(opts.log, "a")
  if not log_file then usage("cannot open log file " .. opts.log) end
end

local function log_write(entry)
  if log_file then
    log_file:write(enc(entry), "\n")
    log_file:flush()
  end
  if opts.verbose then warn("%s", enc(entry)) end
end

local function excerpt(s, n)
  n = n or 200
  if not s then return nil end
  if #s <= n then return s end
  -- Cut on a UTF-8 character boundary, so the log stays valid JSON text.
  while n > 0 and (s:byte(n + 1) or 0) & 0xC0 == 0x80 do n = n - 1 end
  return s:sub(1, n) .. "..."
end

---------------------------------------------------------------------------------------------
-- HTTP/1.1 on luv TCP
---------------------------------------------------------------------------------------------
local STATUS = {
  [200] = "OK", [204] = "No Content", [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [413] = "Payload Too Large", [415] = "Unsupported Media Type",
  [429] = "Too Many Requests", [431] = "Request Header Fields Too Large", [500] = "Internal Server Error",
  [503] = "Service Unavailable",
}

local MAX_HEADER = 64 * 1024
local MAX_BODY = 64 * 1024 * 1024

local conns = {}
local conn_seq = 0

local function conn_close(c)
  if c.closed then return end
  c.closed = true
  conns[c] = nil
  if c.on_drop then
    local f = c.on_drop
    c.on_drop = nil
    f()
  end
  if not c.tcp:is_closing() then c.tcp:close() end
end

-- Closes after the queued writes have gone out.
local function conn_finish(c)
  if c.closed then return end
  c.finishing = true
  local ok = c.tcp:shutdown(function() conn_close(c) end)
  if not ok then conn_close(c) end
end

local function conn_write(c, data)
  if c.closed then return false end
  local ok, err = c.tcp:write(data, function(werr)
    if werr and not c.closed then
      if c.entry and not c.done then
        c.entry.aborted = true
        log_write({ event = "write_error", seq = c.entry.seq, error = tostring(werr) })
      end
      conn_close(c)
    end
  end)
  if not ok then
    if c.entry and not c.done then c.entry.aborted = true end
    conn_close(c)
    return false, err
  end
  return true
end

local function head(status, headers)
  local lines = { ("HTTP/1.1 %d %s"):format(status, STATUS[status] or "Status") }
  for _, h in ipairs(headers) do lines[#lines + 1] = h[1] .. ": " .. h[2] end
  return table.concat(lines, "\r\n") .. "\r\n\r\n"
end

-- A complete (Content-Length) response; keeps the connection alive when the client wants.
local function respond(c, req, status, body, ctype, extra)
  body = body or ""
  if c.entry then c.entry.status = status end
  local keep = req and req.keep_alive and not c.finishing
  local headers = {
    { "Content-Type", ctype or "application/json" },
    { "Content-Length", tostring(#body) },
    { "Connection", keep and "keep-alive" or "close" },
  }
  for _, h in ipairs(extra or {}) do headers[#headers + 1] = h end
  conn_write(c, head(status, headers) .. ((req and req.method == "HEAD") and "" or body))
  c.done = true
  if keep then
    -- Every non-streaming answer is written synchronously from c.process(), whose loop then
    -- goes on with any pipelined request already buffered.
    c.busy = false
    c.entry = nil
  else
    conn_finish(c)
  end
end

local function json(c, req, status, v, extra)
  respond(c, req, status, enc(v), "application/json", extra)
end

local function err_json(c, req, status, message, etype)
  json(c, req, status, { error = { message = message, type = etype or "invalid_request_error" } })
end

-- Server-sent events: `event: <type>` + `data: <json>` + blank line per event, written (and so
-- flushed) one at a time; no Content-Length; the connection closes at the end.
local function sse_start(c)
  if c.entry then c.entry.status = 200 end
  conn_write(c, head(200, {
    { "Content-Type", "text/event-stream" },
    { "Cache-Control", "no-cache" },
    { "Connection", "close" },
  }))
end

local function sse_event(c, ev)
  return conn_write(c, "event: " .. ev.type .. "\ndata: " .. enc(ev) .. "\n\n")
end

-- Plays a list of {delay_ms, event} steps; the client dropping the connection stops it.
local function sse_play(c, steps, final)
  sse_start(c)
  local i = 0
  local timer = uv.new_timer()
  local function finish()
    if not timer:is_closing() then timer:close() end
  end
  c.on_drop = function()
    finish()
    if c.entry and not c.done then
      c.entry.aborted = true
      log_write({ event = "client_disconnected", seq = c.entry.seq, after_events = i, of_events = #steps })
      if opts.verbose then warn("client dropped request #%d after %d/%d events", c.entry.seq, i, #steps) end
    end
  end
  local function step()
    if c.closed then return finish() end
    i = i + 1
    local s = steps[i]
    if not s then
      c.done = true
      c.on_drop = nil
      finish()
      if final then final() end
      return conn_finish(c)
    end
    local function emit()
      if c.closed then return finish() end
      if not sse_event(c, s[2]) then return finish() end
      step()
    end
    if (s[1] or 0) > 0 then timer:start(s[1], 0, emit) else emit() end
  end
  step()
end

---------------------------------------------------------------------------------------------
-- Request parsing
---------------------------------------------------------------------------------------------
local function url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_form(s)
  local out = {}
  for pair in (s or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    out[url_decode(k)] = url_decode(v)
  end
  return out
end

-- Decodes a chunked body starting at pos; returns body, next position (nil when incomplete),
-- or false + message when malformed.
local function parse_chunked(buf, pos)
  local parts = {}
  local total = 0
  while true do
    local eol = buf:find("\r\n", pos, true)
    if not eol then return nil end
    local size = tonumber((buf:sub(pos, eol - 1):match("^%s*(%x+)")), 16)
    if not size then return false, "bad chunk size line" end
    pos = eol + 2
    if size == 0 then
      -- Trailers end with an empty line.
      while true do
        local e = buf:find("\r\n", pos, true)
        if not e then return nil end
        local line = buf:sub(pos, e - 1)
        pos = e + 2
        if line == "" then return table.concat(parts), pos end
      end
    end
    if #buf < pos + size + 1 then return nil end
    parts[#parts + 1] = buf:sub(pos, pos + size - 1)
    total = total + size
    if total > MAX_BODY then return false, "body too large" end
    if buf:sub(pos + size, pos + size + 1) ~= "\r\n" then return false, "chunk not followed by CRLF" end
    pos = pos + size + 2
  end
end

-- Parses one request from c.buf; returns req, or nil (incomplete), or false + status + message.
local function parse_request(c)
  local buf = c.buf
  local he = buf:find("\r\n\r\n", 1, true)
  if not he then
    if #buf > MAX_HEADER then return false, 431, "request headers too large" end
    return nil
  end
  local lines = {}
  for line in buf:sub(1, he - 1):gmatch("[^\r\n]+") do lines[#lines + 1] = line end
  local method, target, version = (lines[1] or ""):match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return false, 400, "malformed request line" end
  local headers = {}
  for i = 2, #lines do
    local k, v = lines[i]:match("^([^:]+):%s*(.-)%s*$")
    if not k then return false, 400, "malformed header line" end
    k = k:lower()
    headers[k] = headers[k] and (headers[k] .. ", " .. v) or v
  end
  local body, nextpos = "", he + 4
  local te = (headers["transfer-encoding"] or ""):lower()
  if te:find("chunked", 1, true) then
    if headers.expect and headers.expect:lower() == "100-continue" and not c.continued then
      c.continued = true
      conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n")
    end
    local b, np = parse_chunked(buf, he + 4)
    if b == false then return false, 400, np end
    if not b then return nil end
    body, nextpos = b, np
  elseif headers["content-length"] then
    local n = tonumber(headers["content-length"])
    if not n or n < 0 then return false, 400, "bad Content-Length" end
    if n > MAX_BODY then return false, 413, "body too large" end
    if #buf < he + 3 + n then
      if headers.expect and headers.expect:lower() == "100-continue" and not c.continued then
        c.continued = true
        conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n")
      end
      return nil
    end
    body, nextpos = buf:sub(he + 4, he + 3 + n), he + 4 + n
  end
  c.buf = buf:sub(nextpos)
  c.continued = false
  local path, query = target:match("^([^?]*)%??(.*)$")
  local conn = (headers.connection or ""):lower()
  local keep
  if version == "1.0" then keep = conn:find("keep-alive", 1, true) ~= nil else keep = not conn:find("close", 1, true) end
  return {
    method = method, target = target, path = path, query = query, version = version,
    headers = headers, body = body, keep_alive = keep, chunked = te:find("chunked", 1, true) ~= nil,
  }
end

---------------------------------------------------------------------------------------------
-- Responses API: the model
---------------------------------------------------------------------------------------------
local counter = { resp = 0, msg = 0, call = 0, rs = 0 }
local function next_id(kind)
  counter[kind] = counter[kind] + 1
  return counter[kind]
end

local USAGE = {
  input_tokens = 10,
  input_tokens_details = { cached_tokens = 2 },
  output_tokens = 5,
  output_tokens_details = { reasoning_tokens = 1 },
  total_tokens = 15,
}

local COMPACTION_PROMPT = "You are performing a CONTEXT CHECKPOINT COMPACTION"
local DEFAULT_CMD = "touch approved.txt && echo done"
local DEFAULT_PATCH_FILE = "hello.txt"
-- The review sub-agent's base instructions (codex-rs/core/review_prompt.md) start with this.
local REVIEW_PROMPT = "# Review guidelines"
-- What a review answers without a [[review]] spec: two findings in <cwd>/app.lua.
local DEFAULT_REVIEW = "app.lua:2:1 app.lua:3:2"

local MARKDOWN_CHUNKS = {
  "# Mock heading\n\n",
  "Some **bold** text and `inline code`.\n\n",
  "- first item\n",
  "- second item\n",
  "- third item\n\n",
  "```lua\n",
  "local function greet(name)\n  return \"hello \" .. name\nend\n",
  "print(greet(\"mock\"))\n",
  "```\n",
}

local SLOW_WORDS = { "one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight ", "nine ", "ten " }

-- --demo (make demo): a message without a magic word plays the next step of this script.
local DEMO_DELAY_MS = 40 -- between the deltas of the markdown answer, so streaming is visible
local DEMO_MARKDOWN = table.concat({
  "# Hello from the demo model\n",
  "\n",
  "This answer is **streamed** by the mock model, a few words at a time, through the real ",
  "`codex app-server` into the chat buffer. Nothing leaves this machine.\n",
  "\n",
  "Send two more messages (any text) to see:\n",
  "\n",
  "- a shell command that asks for **approval** first,\n",
  "- a file change (`hello.lua`) that asks too, with its **diff**,\n",
  "- then plain replies; magic words such as `[[slow]]` still work.\n",
  "\n",
  "A code block:\n",
  "\n",
  "```lua\n",
  "local function greet(name)\n",
  "  return (\"hello, %s!\"):format(name)\n",
  "end\n",
  "\n",
  "print(greet(\"neovim\"))\n",
  "```\n",
})
local DEMO_CMD = "echo demo-ok && ls -la"
local DEMO_PATCH_FILE = "hello.lua"
local DEMO_PATCH_LINES = {
  "-- hello.lua: written by the codex.nvim demo (make demo)",
  "local M = {}",
  "",
  "function M.greet(name)",
  "  return (\"hello, %s!\"):format(name or \"world\")",
  "end",
  "",
  "return M",
}

-- The markdown in deltas of about three words (a line break ends a delta).
local function demo_chunks(text)
  local chunks, cur, words = {}, {}, 0
  for piece in text:gmatch("[^ \n]*[ \n]?") do
    if piece ~= "" then
      cur[#cur + 1] = piece
      words = words + 1
      if words >= 3 or piece:sub(-1) == "\n" then
        chunks[#chunks + 1] = table.concat(cur)
        cur, words = {}, 0
      end
    end
  end
  if #cur > 0 then chunks[#chunks + 1] = table.concat(cur) end
  return chunks
end

local function text_of(item)
  local content = item.content
  if type(content) == "string" then return content end
  if type(content) ~= "table" then return "" end
  local out = {}
  for _, part in ipairs(content) do
    if type(part) == "table" and type(part.text) == "string" then out[#out + 1] = part.text end
  end
  return table.concat(out)
end

local function is_message(item, role)
  return type(item) == "table" and (item.type == "message" or item.type == nil) and item.role == role
end

local function is_turn_aborted(text) return text:match("^%s*<turn_aborted>") ~= nil end

local function tool_output_text(item)
  local out = item.output
  if type(out) == "string" then return out end
  if type(out) == "table" then
    if type(out.content) == "string" then return out.content end
    local list = type(out.content) == "table" and out.content or out
    local parts = {}
    for _, p in ipairs(list) do
      if type(p) == "table" and type(p.text) == "string" then parts[#parts + 1] = p.text end
    end
    return table.concat(parts, "\n")
  end
  return ""
end

-- What the request is about: request kind, turn id, the last real user message, and a tool
-- output that answers one of our calls (after the last user message).
local function analyze(req, body)
  local info = { input_types = arr(), user_texts = arr() }
  local meta = req.headers["x-codex-turn-metadata"]
  local m = meta and decode(meta)
  if type(m) == "table" then
    info.request_kind = str(m.request_kind)
    info.turn_id = str(m.turn_id)
    info.thread_id = str(m.thread_id) or str(m.session_id)
  end
  local input = type(body) == "table" and type(body.input) == "table" and body.input or {}
  local last_user_any -- index of the last user message of any kind
  -- The review sub-agent runs with codex's review rubric as its instructions (in the body's
  -- `instructions` or as a developer/system message, depending on the release).
  if type(body) == "table" and type(body.instructions) == "string" and body.instructions:find(REVIEW_PROMPT, 1, true) then
    info.review = true
  end
  for i, item in ipairs(input) do
    info.input_types[#info.input_types + 1] = type(item) == "table" and (str(item.type) or str(item.role)) or "?"
    if is_message(item, "user") then
      last_user_any = i
      local text = text_of(item)
      info.user_texts[#info.user_texts + 1] = excerpt(text, 80)
      info.cwd = text:match("<cwd>%s*(.-)%s*</cwd>") or info.cwd
    elseif (is_message(item, "developer") or is_message(item, "system")) and text_of(item):find(REVIEW_PROMPT, 1, true) == 1 then
      info.review = true
    end
  end
  for i = #input, 1, -1 do
    local item = input[i]
    if is_message(item, "user") then
      local text = text_of(item)
      if not is_turn_aborted(text) then
        info.last_user, info.last_user_index = text, i
        break
      end
      info.saw_turn_aborted = true
    end
  end
  -- The item just before the last real user message (a steer follows the steered message).
  if info.last_user_index and info.last_user_index > 1 then
    local prev = input[info.last_user_index - 1]
    if is_message(prev, "user") then info.prev_user = text_of(prev) end
  end
  for i = #input, (last_user_any or 0) + 1, -1 do
    local item = input[i]
    if type(item) == "table" and (item.type == "function_call_output" or item.type == "custom_tool_call_output") then
      info.tool_output = { type = item.type, call_id = str(item.call_id) or "", text = tool_output_text(item) }
      break
    end
  end
  return info
end

local MAGIC = { markdown = true, exec = true, patch = true, update = true, slow = true, fail500 = true, failed = true,
  context = true, reasoning = true, truncated = true }

local function magic_word(text)
  if not text then return nil end
  local pos = 1
  while true do
    local s, e, word = text:find("%[%[(%w+)%]%]", pos)
    if not s then return nil end
    if MAGIC[word] then
      local rest = text:sub(e + 1):gsub("^%s+", ""):gsub("%s+$", "")
      return word, rest
    end
    pos = e + 1
  end
end

local function first_line(s) return (s or ""):match("^([^\n]*)") or "" end

-- "Command output: done" / "Patch result: Success…" / "Declined: …"
local function quote_tool_output(out)
  local text = out.text
  local header, body = text:match("^(.-)\nOutput:\n(.*)$")
  if not header then header, body = text:match("^(.-)Output:\n(.*)$") end
  local scope = header or text
  local lower = scope:lower()
  if lower:find("reject", 1, true) or lower:find("declined", 1, true) then
    return "Declined: " .. first_line(text)
  end
  local line = first_line(body or text)
  if out.call_id:find("^call%-exec") then return "Command output: " .. line end
  if out.call_id:find("^call%-patch") then return "Patch result: " .. line end
  return "Tool output: " .. line
end

-- Events of a streamed assistant text message (optionally after a reasoning summary).
local function text_steps(chunks, o)
  o = o or {}
  local rid = "resp-" .. next_id("resp")
  local mid = "msg-" .. next_id("msg")
  local steps = { { 0, { type = "response.created", response = { id = rid } } } }
  local out_index = 0
  if o.reasoning then
    -- Reasoning events: shapes taken from codex's source (codex-api responses SSE parser) and
    -- the public Responses API reference; (unverified) against 0.171.0 beyond what selftest shows.
    local rsid = "rs-" .. next_id("rs")
    steps[#steps + 1] = { 0, { type = "response.output_item.added", output_index = 0,
      item = { type = "reasoning", id = rsid, summary = arr() } } }
    steps[#steps + 1] = { 0, { type = "response.reasoning_summary_part.added", item_id = rsid,
      output_index = 0, summary_index = 0, part = { type = "summary_text", text = "" } } }
    local full = {}
    for _, d in ipairs(o.reasoning) do
      full[#full + 1] = d
      steps[#steps + 1] = { 0, { type = "response.reasoning_summary_text.delta", item_id = rsid,
        output_index = 0, summary_index = 0, delta = d } }
    end
    steps[#steps + 1] = { 0, { type = "response.output_item.done", output_index = 0,
      item = { type = "reasoning", id = rsid, summary = arr({ { type = "summary_text", text = table.concat(full) } }) } } }
    out_index = 1
  end
  steps[#steps + 1] = { 0, { type = "response.output_item.added", output_index = out_index,
    item = { type = "message", role = "assistant", id = mid, content = arr() } } }
  for i, ch in ipairs(chunks) do
    steps[#steps + 1] = { (i > 1 or o.first_delay) and o.delay or 0, { type = "response.output_text.delta",
      delta = ch, item_id = mid, output_index = out_index, content_index = 0 } }
  end
  local text = table.concat(chunks)
  if not o.truncated then
    steps[#steps + 1] = { o.delay or 0, { type = "response.output_item.done", output_index = out_index,
      item = { type = "message", role = "assistant", id = mid, content = arr({ { type = "output_text", text = text } }) } } }
    steps[#steps + 1] = { 0, { type = "response.completed", response = { id = rid, usage = USAGE } } }
  end
  return steps
end

local function tool_call_steps(item)
  local rid = "resp-" .. next_id("resp")
  return {
    { 0, { type = "response.created", response = { id = rid } } },
    { 0, { type = "response.output_item.done", output_index = 0, item = item } },
    { 0, { type = "response.completed", response = { id = rid, usage = USAGE } } },
  }
end

local function failed_steps(code, message)
  local rid = "resp-" .. next_id("resp")
  return {
    { 0, { type = "response.created", response = { id = rid } } },
    { 0, { type = "response.failed", response = { id = rid, error = { code = code, message = message } } } },
  }
end

local slow_turns = {} -- turn ids that got [[slow]] (a later request in the same turn is a steer)
local demo = { next = 0, turns = {} } -- --demo: the last step played; turn id -> its step

local function exec_call(cmd)
  return {
    type = "function_call", call_id = "call-exec-" .. next_id("call"), name = "exec_command",
    arguments = enc({ cmd = cmd, yield_time_ms = 10000, login = false,
      sandbox_permissions = "require_escalated", justification = "need to run a command" }),
  }
end

local function apply_patch_call(input)
  return { type = "custom_tool_call", call_id = "call-patch-" .. next_id("call"), name = "apply_patch", input = input }
end

local function patch_call(file, lines)
  local body = {}
  for _, l in ipairs(lines) do body[#body + 1] = "+" .. l .. "\n" end
  return apply_patch_call("*** Begin Patch\n*** Add File: " .. file .. "\n" .. table.concat(body) .. "*** End Patch")
end

-- The review JSON for a spec "FILE:LINE[:P] …" (P: priority 0-3, default 1), or "none" for
-- no findings; paths are relative to the workspace (<cwd> of the environment context).
-- Sent in a few deltas, as a model would.
local function review_chunks(spec, cwd)
  spec = (spec and spec:match("%S")) and spec or DEFAULT_REVIEW
  local findings = arr()
  for file, line, prio in spec:gmatch("([^%s:]+):(%d+):?(%d?)") do
    local n, p = tonumber(line), tonumber(prio) or 1
    local path = file:sub(1, 1) == "/" and file or (cwd or ".") .. "/" .. file
    findings[#findings + 1] = {
      title = ("[P%d] Mock finding %d in %s"):format(p, #findings + 1, file),
      body = ("Line %d of `%s` needs a look.\nA second line of the body."):format(n, file),
      confidence_score = 0.75,
      priority = p,
      code_location = { absolute_file_path = path, line_range = { start = n, ["end"] = n } },
    }
  end
  local text = enc({
    findings = findings,
    overall_correctness = #findings > 0 and "patch is incorrect" or "patch is correct",
    overall_explanation = #findings > 0 and ("Mock review: %d finding%s."):format(#findings, #findings == 1 and "" or "s")
      or "Mock review: no findings.",
    overall_confidence_score = 0.5,
  })
  local third = #text // 3
  return { text:sub(1, third), text:sub(third + 1, 2 * third), text:sub(2 * third + 1) }
end

-- Picks the scenario for a POST /v1/responses: returns name and a function(c, req) that answers.
local function choose(req, body, info)
  -- 1. Compaction (after a context-window failure, or thread/compact/start).
  if info.request_kind == "compaction" or (info.last_user and info.last_user:find(COMPACTION_PROMPT, 1, true) == 1) then
    return "compaction", function(c)
      sse_play(c, text_steps({ "Mock summary: ", "the conversation so far." }))
    end
  end
  -- 2. The outcome of one of our tool calls.
  if info.tool_output then
    local text = quote_tool_output(info.tool_output)
    return "tool_result", function(c) sse_play(c, text_steps({ text })) end
  end
  -- 3. The review sub-agent (review/start): a JSON review (review_prompt.md's output schema).
  if info.review then
    local spec = info.last_user and info.last_user:match("%[%[review%]%]%s*([^\n]*)")
    return "review", function(c) sse_play(c, text_steps(review_chunks(spec, info.cwd))) end
  end
  -- 4. A magic word in the last user message that isn't a <turn_aborted> marker.
  local word, rest = magic_word(info.last_user)
  if word == "markdown" then
    return word, function(c) sse_play(c, text_steps(MARKDOWN_CHUNKS)) end
  elseif word == "exec" then
    local cmd = rest ~= "" and rest or DEFAULT_CMD
    return word, function(c) sse_play(c, tool_call_steps(exec_call(cmd))) end
  elseif word == "patch" then
    local file = rest:match("^(%S+)") or DEFAULT_PATCH_FILE
    return word, function(c) sse_play(c, tool_call_steps(patch_call(file, { "hello from apply_patch" }))) end
  elseif word == "update" then
    local input = UPDATE.patch(UPDATE.names(rest))
    return word, function(c) sse_play(c, tool_call_steps(apply_patch_call(input))) end
  elseif word == "slow" then
    if info.turn_id then slow_turns[info.turn_id] = true end
    return word, function(c)
      sse_play(c, text_steps(SLOW_WORDS, { delay = opts.delay_ms, first_delay = false }))
    end
  elseif word == "fail500" then
    return word, function(c, r)
      err_json(c, r, 500, "mock internal error", "server_error")
    end
  elseif word == "failed" then
    return word, function(c) sse_play(c, failed_steps("server_error", "mock response.failed")) end
  elseif word == "context" then
    return word, function(c)
      sse_play(c, failed_steps("context_length_exceeded", "Your input exceeds the context window"))
    end
  elseif word == "reasoning" then
    return word, function(c)
      sse_play(c, text_steps({ "Thought through ", "it." }, { reasoning = { "Thinking about ", "the question." } }))
    end
  elseif word == "truncated" then
    -- The stream ends without response.completed.
    return word, function(c) sse_play(c, text_steps({ "This answer ", "is cut" }, { truncated = true })) end
  end
  -- 5. A steer: a new request in a turn that was streaming [[slow]] (or, without turn metadata,
  -- a user message right after the [[slow]] one).
  if info.last_user and ((info.turn_id and slow_turns[info.turn_id])
      or (info.prev_user and info.prev_user:find("[[slow]]", 1, true) and not is_turn_aborted(info.prev_user))) then
    local text = info.last_user
    return "steer", function(c) sse_play(c, text_steps({ "Steered: ", text })) end
  end
  -- 6. --demo: the next step of the demo (one step per turn: a repeated request in the same
  -- turn plays the same step again), then the default text.
  if opts.demo and info.last_user then
    local step = info.turn_id and demo.turns[info.turn_id]
    if not step then
      demo.next = demo.next + 1
      step = demo.next
      if info.turn_id then demo.turns[info.turn_id] = step end
    end
    if step == 1 then
      return "demo_markdown", function(c)
        sse_play(c, text_steps(demo_chunks(DEMO_MARKDOWN), { delay = DEMO_DELAY_MS }))
      end
    elseif step == 2 then
      return "demo_exec", function(c) sse_play(c, tool_call_steps(exec_call(DEMO_CMD))) end
    elseif step == 3 then
      return "demo_patch", function(c)
        sse_play(c, tool_call_steps(patch_call(DEMO_PATCH_FILE, DEMO_PATCH_LINES)))
      end
    end
  end
  -- 7. Anything else: a harmless default text.
  return "default", function(c)
    sse_play(c, text_steps({ "Hello ", "from the ", "mock model!" }))
  end
end

local function handle_responses(c, req)
  local entry = c.entry
  local enc_hdr = req.headers["content-encoding"]
  if enc_hdr and enc_hdr:lower() ~= "identity" then
    entry.scenario = "unsupported_encoding"
    return err_json(c, req, 400, ("mock: cannot decode a request body with Content-Encoding: %s "
      .. "(the mock only reads uncompressed JSON)"):format(enc_hdr))
  end
  local body, derr = decode(req.body)
  if type(body) ~= "table" then
    entry.scenario = "bad_json"
    return err_json(c, req, 400, "mock: request body is not JSON: " .. tostring(derr))
  end
  local info = analyze(req, body)
  local name, answer = choose(req, body, info)
  entry.scenario = name
  entry.request_kind = info.request_kind
  entry.turn_id = info.turn_id
  entry.thread_id = info.thread_id
  entry.last_user = excerpt(info.last_user, 200)
  entry.last_user_full = excerpt(info.last_user, 8192) -- (a steer's whole text, for the tests)
  entry.input_types = info.input_types
  entry.user_texts = info.user_texts
  entry.tool_output = info.tool_output and {
    type = info.tool_output.type, call_id = info.tool_output.call_id, text = excerpt(info.tool_output.text, 300),
  } or nil
  entry.model = str(body.model)
  local tools = arr()
  for _, t in ipairs(type(body.tools) == "table" and body.tools or {}) do
    if type(t) == "table" then tools[#tools + 1] = str(t.name) or str(t.type) or "?" end
  end
  entry.tools = tools
  answer(c, req)
end

---------------------------------------------------------------------------------------------
-- OAuth issuer and ChatGPT backend
---------------------------------------------------------------------------------------------
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local function b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local chars = c and 4 or (b and 3 or 2)
    for j = 0, chars - 1 do
      local idx = (n >> (18 - 6 * j)) & 63
      out[#out + 1] = B64:sub(idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

local ACCOUNT = {
  email = "mock@example.com",
  plan = "pro",
  account_id = "acct-mock-123",
  user_id = "user-mock",
  client_id = "app_EMoamEEZ73f0CkXaXp7hrann",
}

local bound_port
local function base_url() return ("http://127.0.0.1:%d"):format(bound_port) end

local function jwt(claims)
  return b64url(enc({ alg = "none", typ = "JWT" })) .. "." .. b64url(enc(claims)) .. "." .. b64url("mock-signature")
end

local function auth_claims()
  return {
    chatgpt_plan_type = ACCOUNT.plan,
    chatgpt_user_id = ACCOUNT.user_id,
    chatgpt_account_id = ACCOUNT.account_id,
    user_id = ACCOUNT.user_id,
  }
end

local refresh_seq = 0
local function token_set()
  local iat = os.time()
  refresh_seq = refresh_seq + 1
  return {
    id_token = jwt({
      iss = base_url(), aud = ACCOUNT.client_id, sub = ACCOUNT.user_id,
      email = ACCOUNT.email, email_verified = true, iat = iat, exp = iat + 24 * 3600,
      ["https://api.openai.com/auth"] = auth_claims(),
      ["https://api.openai.com/profile"] = { email = ACCOUNT.email, email_verified = true },
    }),
    access_token = jwt({
      iss = base_url(), aud = arr({ "https://api.openai.com/v1" }), sub = ACCOUNT.user_id,
      iat = iat, exp = iat + 24 * 3600, scp = arr({ "openid", "profile", "email", "offline_access" }),
      ["https://api.openai.com/auth"] = auth_claims(),
      ["https://api.openai.com/profile"] = { email = ACCOUNT.email, email_verified = true },
    }),
    refresh_token = "rt-mock-" .. refresh_seq,
    token_type = "Bearer",
    expires_in = 24 * 3600,
  }
end

local device_polls = {} -- device_auth_id -> polls answered so far

local function body_params(req)
  local ctype = (req.headers["content-type"] or ""):lower()
  if ctype:find("json", 1, true) then
    local v = decode(req.body)
    return type(v) == "table" and v or {}
  end
  return parse_form(req.body)
end

local routes = {}

routes["POST /api/accounts/deviceauth/usercode"] = function(c, req)
  if opts.device_disabled then
    return json(c, req, 404, { error = { message = "Not Found", code = "device_auth_disabled" } })
  end
  device_polls["dev-auth-mock-1"] = 0
  json(c, req, 200, { device_auth_id = "dev-auth-mock-1", user_code = "MOCK-CODE", interval = opts.device_interval })
end

routes["POST /api/accounts/deviceauth/token"] = function(c, req)
  local p = body_params(req)
  local id = str(p.device_auth_id) or "dev-auth-mock-1"
  local n = (device_polls[id] or 0) + 1
  device_polls[id] = n
  c.entry.poll = n
  if n <= opts.device_pending then
    return json(c, req, 403, { error = { code = "deviceauth_authorization_pending",
      message = "Device authorization is pending" } })
  end
  json(c, req, 200, { authorization_code = "mock-auth-code", code_challenge = "mock-code-challenge",
    code_verifier = "mock-code-verifier" })
end

routes["POST /oauth/token"] = function(c, req)
  local p = body_params(req)
  local grant = str(p.grant_type) or ""
  c.entry.grant_type = grant
  if grant:find("token%-exchange") then
    return json(c, req, 200, { access_token = "sk-mock" })
  end
  if grant == "authorization_code" or grant == "refresh_token" or grant == "" then
    return json(c, req, 200, token_set())
  end
  json(c, req, 400, { error = "unsupported_grant_type", error_description = "mock: unknown grant " .. grant })
end

routes["POST /oauth/revoke"] = function(c, req) json(c, req, 200, {}) end

local function usage_json()
  local t = os.time()
  return {
    plan_type = ACCOUNT.plan,
    rate_limit = {
      allowed = true,
      limit_reached = false,
      primary_window = { used_percent = 12, limit_window_seconds = 18000, reset_after_seconds = 3600, reset_at = t + 3600 },
      secondary_window = { used_percent = 3, limit_window_seconds = 604800, reset_after_seconds = 86400, reset_at = t + 86400 },
    },
    credits = { has_credits = false, unlimited = false, balance = NULL },
  }
end

routes["GET /backend-api/wham/usage"] = function(c, req) json(c, req, 200, usage_json()) end
routes["GET /backend-api/api/codex/usage"] = routes["GET /backend-api/wham/usage"]

routes["GET /backend-api/wham/accounts/check"] = function(c, req)
  json(c, req, 200, { accounts = arr({ {
    id = ACCOUNT.account_id,
    workspace_backend_origin = opts.backend_origin or ("https://127.0.0.1:%d"):format(bound_port),
    account_routing_override = "us",
  } }) })
end

local catalog_text
routes["GET /v1/models"] = function(c, req)
  if not catalog_text then
    local f = io.open(opts.catalog, "r")
    if not f then return err_json(c, req, 500, "mock: cannot read catalog " .. opts.catalog, "server_error") end
    catalog_text = f:read("a")
    f:close()
  end
  respond(c, req, 200, catalog_text, "application/json", { { "ETag", '"mock-catalog-1"' } })
end

routes["POST /v1/responses"] = handle_responses
routes["POST /responses"] = handle_responses -- a base_url without /v1

routes["GET /_mock/requests"] = function(c, req) json(c, req, 200, arr(log_entries)) end
routes["POST /_mock/reset"] = function(c, req)
  log_entries = {}
  device_polls = {}
  slow_turns = {}
  demo = { next = 0, turns = {} }
  json(c, req, 200, { ok = true })
end
routes["GET /_mock/health"] = function(c, req) json(c, req, 200, { ok = true, port = bound_port }) end

local log_seq = 0
local function dispatch(c, req)
  local internal = req.path:find("^/_mock/") ~= nil
  local entry = {
    method = req.method, path = req.path, query = req.query ~= "" and req.query or nil,
    t_ms = now_ms(), content_type = req.headers["content-type"],
    content_encoding = req.headers["content-encoding"], chunked = req.chunked or nil,
    body_excerpt = excerpt(req.body, 200), originator = req.headers["originator"],
    authorization = req.headers["authorization"] and true or nil,
    chatgpt_account_id = req.headers["chatgpt-account-id"],
  }
  local meta = req.headers["x-codex-turn-metadata"]
  local m = meta and decode(meta)
  if type(m) == "table" then entry.request_kind = str(m.request_kind) end
  c.entry, c.done = entry, false
  if not internal then
    log_seq = log_seq + 1
    entry.seq = log_seq
    log_entries[#log_entries + 1] = entry
  end
  local route = routes[req.method .. " " .. req.path]
  local ok, err = xpcall(function()
    if route then
      route(c, req)
    else
      local known_path = false
      for k in pairs(routes) do if k:match("^%u+ (.*)$") == req.path then known_path = true end end
      if known_path then
        err_json(c, req, 405, ("mock: %s not allowed on %s"):format(req.method, req.path))
      else
        err_json(c, req, 404, ("mock: no route for %s %s"):format(req.method, req.path))
      end
    end
  end, debug.traceback)
  if not ok then
    warn("handler error on %s %s: %s", req.method, req.path, tostring(err))
    entry.error = tostring(err)
    if not c.closed and not c.done and not entry.status then
      err_json(c, req, 500, "mock handler error: " .. tostring(err), "server_error")
    end
  end
  if not internal then log_write(entry) end
end

---------------------------------------------------------------------------------------------
-- Connections, listening, lifetime
---------------------------------------------------------------------------------------------
local function on_connection(client)
  conn_seq = conn_seq + 1
  local c = { tcp = client, buf = "", closed = false, busy = false, id = conn_seq }
  conns[c] = true
  pcall(client.nodelay, client, true)
  function c.process()
    while not c.closed and not c.busy and #c.buf > 0 do
      local req, status, msg = parse_request(c)
      if req == nil then return end
      if req == false then
        c.busy = true
        local entry = { method = "?", path = "?", t_ms = now_ms(), status = status, error = msg }
        log_seq = log_seq + 1
        entry.seq = log_seq
        log_entries[#log_entries + 1] = entry
        log_write(entry)
        c.entry = entry
        return err_json(c, nil, status, "mock: " .. msg)
      end
      c.busy = true
      dispatch(c, req)
    end
  end
  client:read_start(function(err, data)
    if err or not data then
      return conn_close(c)
    end
    if c.finishing then return end
    c.buf = c.buf .. data
    local ok, perr = xpcall(c.process, debug.traceback)
    if not ok then
      warn("connection error: %s", tostring(perr))
      conn_close(c)
    end
  end)
end

local server = uv.new_tcp()
do
  local ok, err = server:bind("127.0.0.1", opts.port)
  if not ok then
    warn("cannot bind 127.0.0.1:%s: %s", tostring(opts.port), tostring(err))
    os.exit(1)
  end
  ok, err = server:listen(128, function(lerr)
    if lerr then return warn("accept error: %s", tostring(lerr)) end
    local client = uv.new_tcp()
    if server:accept(client) then on_connection(client) else client:close() end
  end)
  if not ok then
    warn("cannot listen: %s", tostring(err))
    os.exit(1)
  end
  bound_port = server:getsockname().port
end

local function shutdown(why)
  if opts.verbose then warn("exiting (%s)", why) end
  if log_file then log_file:close() end
  os.exit(0, false)
end

-- A write to a socket the client already closed must not kill us.
local sigpipe = uv.new_signal()
sigpipe:start("sigpipe", function() end)
for _, sig in ipairs({ "sigterm", "sigint" }) do
  local h = uv.new_signal()
  h:start(sig, function() shutdown(sig) end)
end

if not opts.no_stdin then
  local kind = uv.guess_handle(0)
  local stdin
  if kind == "pipe" then
    stdin = uv.new_pipe(false)
    stdin:open(0)
  elseif kind == "tty" then
    stdin = uv.new_tty(0, true)
  end
  if stdin then
    stdin:read_start(function(err, data)
      if err or not data then shutdown("stdin closed") end
    end)
  else
    -- A regular file or /dev/null: its EOF says nothing about the parent; keep running.
    if opts.verbose then warn("stdin is a %s: not watching it for EOF", tostring(kind)) end
  end
end

io.stdout:write(("PORT %d\n"):format(bound_port))
io.stdout:flush()

uv.run("default")
