-- tests/mock/selftest.lua: proves tests/mock/server.lua against the REAL pinned app-server.
--   lua5.4 tests/mock/selftest.lua [--trace]
-- (build the core first if needed: cmake --build build/lua5.4). --trace prints the JSON-RPC
-- sequence of every scenario.
local src = debug.getinfo(1, "S").source:gsub("^@", "")
local here = src:match("^(.*)/[^/]*$") or "."
if here:sub(1, 1) ~= "/" then here = (os.getenv("PWD") or ".") .. "/" .. here:gsub("^%./", "") end
local root = here:match("^(.*)/tests/mock$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/tests/?.lua;" .. package.path
package.cpath = (os.getenv("CODEX_CPATH") or (root .. "/build/lua5.4/?.so")) .. ";" .. package.cpath
TEST_ROOT = root

local TRACE, LOG = false, nil
do
  local i = 1
  while arg and arg[i] do
    if arg[i] == "--trace" then TRACE = true
    elseif arg[i] == "--log" then i = i + 1; LOG = arg[i] end
    i = i + 1
  end
end

local rpc = require("codex.rpc")
local core = require("codex.core")
local mock = require("mock.launch")

local null = core.null
local passed, failed = 0, 0

local function show(v, depth)
  depth = depth or 0
  if type(v) ~= "table" then return type(v) == "string" and ("%q"):format(v) or tostring(v) end
  if depth > 3 then return "{…}" end
  local parts, n = {}, 0
  for k, x in pairs(v) do
    n = n + 1
    if n > 12 then parts[#parts + 1] = "…" break end
    parts[#parts + 1] = tostring(k) .. "=" .. show(x, depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function check(cond, what, detail)
  if not cond then error(what .. (detail ~= nil and (": " .. show(detail)) or ""), 2) end
end

local function eq(a, b, what)
  if a ~= b then error(("%s: expected %s, got %s"):format(what, show(b), show(a)), 2) end
end

local function test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
    print("ok - " .. name)
  else
    failed = failed + 1
    print("FAIL - " .. name .. "\n  " .. tostring(err):gsub("\n", "\n  "))
  end
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

local function read(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("a")
  f:close()
  return s
end

---------------------------------------------------------------------------------------------
local m = mock.start({ args = { "--device-interval", "1", "--delay-ms", "300" }, log = LOG })
print(("# mock on %s (pid %d)"):format(m.url, m.pid))
local home = mock.create_home(m.port)
local work = home .. "/work"
os.execute("mkdir -p '" .. work .. "'")

-- The whole JSON-RPC conversation, in arrival order.
local trace = {}
local function note(dir, method, detail)
  trace[#trace + 1] = { dir = dir, method = method, detail = detail }
end
local function trace_mark() return #trace + 1 end
local function print_trace(title, from)
  if not TRACE then return end
  print("# sequence: " .. title)
  for i = from, #trace do
    local t = trace[i]
    print(("#   %s %s%s"):format(t.dir, t.method, t.detail and (" " .. t.detail) or ""))
  end
end

local function summary(msg)
  local p = msg.params or {}
  local m_ = msg.method
  if m_ == "item/started" or m_ == "item/completed" then
    local it = p.item or {}
    local s = tostring(it.type) .. (it.status and it.status ~= null and (" " .. tostring(it.status)) or "")
    if it.type == "agentMessage" then s = s .. " " .. ("%q"):format(tostring(it.text)) end
    if it.type == "userMessage" then
      local c = type(it.content) == "table" and it.content[1]
      s = s .. " " .. ("%q"):format(c and tostring(c.text) or "")
    end
    if it.type == "commandExecution" and it.exitCode ~= nil and it.exitCode ~= null then s = s .. " exitCode=" .. tostring(it.exitCode) end
    return s
  elseif m_ == "item/agentMessage/delta" then return ("%q"):format(tostring(p.delta))
  elseif m_ == "thread/status/changed" then
    local st = p.status or {}
    local flags = type(st.activeFlags) == "table" and table.concat(st.activeFlags, ",") or ""
    return tostring(st.type) .. (st.type == "active" and ("[" .. flags .. "]") or "")
  elseif m_ == "turn/completed" then
    local t = p.turn or {}
    return tostring(t.status) .. ((type(t.error) == "table") and (" error=" .. ("%q"):format(tostring(t.error.message))) or "")
  elseif m_ == "error" then return "willRetry=" .. tostring(p.willRetry)
  elseif m_ == "serverRequest/resolved" then return "requestId=" .. tostring(p.requestId)
  elseif m_ == "account/login/completed" then return "success=" .. tostring(p.success) .. " error=" .. tostring(p.error)
  elseif m_ == "account/updated" then return "authMode=" .. tostring(p.authMode) .. " planType=" .. tostring(p.planType)
  elseif m_ == "warning" or m_ == "configWarning" then return ("%q"):format(tostring(p.message or p.summary))
  end
  return nil
end

local warnings = {}
local function watch_warning(msg)
  if (msg.method == "warning" or msg.method == "configWarning") then
    local text = tostring((msg.params or {}).message or (msg.params or {}).summary or "")
    warnings[#warnings + 1] = text
  end
end

local decision = "accept"
local approvals = {}
local c = rpc.new({
  env = mock.env(home, m.port),
  app_server_args = { "--strict-config" },
  cwd = work,
  approval_handler = function(req)
    approvals[#approvals + 1] = req
    note("<=", req.method, "id=" .. tostring(req.id))
    note("->", "result", "{decision=" .. decision .. "}")
    return { decision = decision }
  end,
})
-- Global notifications (not routed to a turn or login stream). rpc:on("*") alone is not
-- enough today: Rpc:_emit iterates {subs[method], subs["*"]} with ipairs, which stops at a nil
-- subs[method], so "*" only fires for methods that also have their own subscriber.
local GLOBAL = { "thread/started", "thread/status/changed", "thread/readState/changed", "serverRequest/resolved",
  "account/rateLimits/updated", "account/updated", "account/login/completed", "warning", "configWarning",
  "remoteControl/status/changed", "skills/changed", "app/list/updated", "mcpServer/startupStatus/updated", "error",
  "thread/tokenUsage/updated", "turn/diff/updated" }
local global_set = {}
local function on_global(p, msg)
  watch_warning(msg)
  note("<-", msg.method, summary(msg))
end
for _, meth in ipairs(GLOBAL) do
  global_set[meth] = true
  c:on(meth, on_global)
end
c:on("*", function(p, msg) if not global_set[msg.method] then on_global(p, msg) end end)

local function new_thread(extra)
  local params = { cwd = work, approvalsReviewer = "user", sandbox = "read-only" }
  for k, v in pairs(extra or {}) do params[k] = v end
  local r = c:request("thread/start", params)
  return r.thread.id
end

-- Runs one turn to turn/completed; on_event(msg, turn) may act mid-turn (steer, interrupt).
local function run_turn(thread_id, text, on_event)
  local from = trace_mark()
  note("->", "turn/start", ("%q"):format(text))
  local res, s = c:request_stream("turn/start", { threadId = thread_id, input = { { type = "text", text = text } } },
    { timeout_ms = 30000 })
  local turn = { id = res.turn.id, thread_id = thread_id, events = {}, deltas = {}, items = {}, from = from }
  note("<-", "result", "turn " .. tostring(res.turn.status))
  -- Note stream events as they arrive (not as they are read), so the trace keeps the real
  -- order against global notifications and server requests.
  local seen = setmetatable({}, { __mode = "k" })
  local off = s:on(function(msg)
    seen[msg] = true
    note("<-", msg.method, summary(msg))
  end)
  while true do
    local msg = s:next(30000)
    if not msg then break end
    watch_warning(msg)
    if not seen[msg] then note("<-", msg.method, summary(msg)) end
    turn.events[#turn.events + 1] = msg
    local p = msg.params or {}
    if msg.method == "item/agentMessage/delta" then turn.deltas[#turn.deltas + 1] = p.delta
    elseif msg.method == "item/completed" then turn.items[#turn.items + 1] = p.item
    elseif msg.method == "thread/tokenUsage/updated" then turn.usage = p.tokenUsage
    elseif msg.method == "turn/completed" then turn.completed = p.turn end
    if on_event then on_event(msg, turn) end
  end
  off()
  check(turn.completed, "turn/completed arrived")
  return turn
end

local function items_of(turn, typ)
  local out = {}
  for _, it in ipairs(turn.items) do if it.type == typ then out[#out + 1] = it end end
  return out
end

local function last_agent_text(turn)
  local msgs = items_of(turn, "agentMessage")
  return msgs[#msgs] and msgs[#msgs].text
end

local function requests_since(seq0)
  local out = {}
  for _, r in ipairs(m:requests()) do if (r.seq or 0) > seq0 then out[#out + 1] = r end end
  return out
end

local function last_seq()
  local all = m:requests()
  return all[#all] and all[#all].seq or 0
end

---------------------------------------------------------------------------------------------
test("handshake, model/list lists mock-model from the catalog, no metadata warning", function()
  local from = trace_mark()
  local info = c:start()
  eq(info.server_version, "0.171.0", "server version")
  local models = c:request("model/list", {})
  local found
  for _, mo in ipairs(models.data) do if mo.id == "mock-model" or mo.model == "mock-model" then found = mo end end
  check(found, "model/list has mock-model", models.data)
  eq(found.displayName, "Mock Model", "displayName")
  eq(#found.supportedReasoningEfforts, 3, "efforts")
  for _, w in ipairs(warnings) do check(not w:find("Model metadata", 1, true), "no metadata warning", w) end
  print_trace("handshake + model/list", from)
end)

local thread
test("default text turn: 3 deltas in order, full text, usage 10/5/15", function()
  thread = new_thread()
  local seq0 = last_seq()
  local t = run_turn(thread, "hello")
  eq(t.completed.status, "completed", "status")
  eq(table.concat(t.deltas, "|"), "Hello |from the |mock model!", "deltas")
  eq(last_agent_text(t), "Hello from the mock model!", "agentMessage text")
  check(t.usage, "thread/tokenUsage/updated arrived")
  local last = t.usage.last
  eq(last.inputTokens, 10, "inputTokens")
  eq(last.outputTokens, 5, "outputTokens")
  eq(last.totalTokens, 15, "totalTokens")
  eq(last.cachedInputTokens, 2, "cachedInputTokens")
  eq(last.reasoningOutputTokens, 1, "reasoningOutputTokens")
  for _, w in ipairs(warnings) do check(not w:find("Model metadata", 1, true), "no metadata warning", w) end
  local reqs = requests_since(seq0)
  eq(#reqs, 1, "one POST")
  eq(reqs[1].scenario, "default", "scenario")
  eq(reqs[1].request_kind, "turn", "request_kind")
  eq(reqs[1].content_encoding, nil, "request body not compressed")
  print_trace("plain text", t.from)
end)

test("[[markdown]]: heading, list and a lua code block", function()
  local t = run_turn(thread, "[[markdown]] please")
  eq(t.completed.status, "completed", "status")
  local text = last_agent_text(t)
  check(text:find("^# Mock heading"), "heading", text)
  check(text:find("\n%- first item\n"), "list", text)
  check(text:find("```lua\n", 1, true), "code block", text)
  check(#t.deltas >= 5, "several deltas", t.deltas)
end)

test("[[exec]] accepted: approval asked, command ran, model quoted the output", function()
  decision = "accept"
  local th = new_thread()
  local n0 = #approvals
  local seq0 = last_seq()
  local t = run_turn(th, "[[exec]]")
  eq(t.completed.status, "completed", "status")
  eq(#approvals, n0 + 1, "one approval request")
  local a = approvals[#approvals]
  eq(a.method, "item/commandExecution/requestApproval", "approval method")
  eq(a.params.reason, "need to run a command", "reason = justification")
  check(exists(work .. "/approved.txt"), "approved.txt created")
  local cmd = items_of(t, "commandExecution")[1]
  check(cmd, "item/completed commandExecution")
  eq(cmd.status, "completed", "command status")
  eq(cmd.exitCode, 0, "exit code")
  check(tostring(cmd.aggregatedOutput):find("done", 1, true), "output has 'done'", cmd.aggregatedOutput)
  eq(last_agent_text(t), "Command output: done", "final text")
  local reqs = requests_since(seq0)
  eq(#reqs, 2, "two POSTs")
  eq(reqs[1].scenario, "exec", "first POST")
  eq(reqs[2].scenario, "tool_result", "second POST")
  eq(reqs[2].tool_output.type, "function_call_output", "tool output type")
  print_trace("exec accept", t.from)
end)

test("[[exec]] declined: not run, model told it was declined", function()
  decision = "decline"
  local th = new_thread()
  local t = run_turn(th, "[[exec]] touch declined.txt && echo nope")
  decision = "accept"
  eq(t.completed.status, "completed", "status")
  check(not exists(work .. "/declined.txt"), "declined.txt not created")
  local cmd = items_of(t, "commandExecution")[1]
  check(cmd, "item/completed commandExecution")
  eq(cmd.status, "declined", "command status")
  check(tostring(last_agent_text(t)):find("^Declined: "), "final text", last_agent_text(t))
  print_trace("exec decline", t.from)
end)

test("[[patch]] accepted (read-only sandbox): file written, model quoted the result", function()
  decision = "accept"
  local th = new_thread({ sandbox = "read-only" })
  local n0 = #approvals
  local t = run_turn(th, "[[patch]]")
  eq(t.completed.status, "completed", "status")
  eq(#approvals, n0 + 1, "one approval request")
  eq(approvals[#approvals].method, "item/fileChange/requestApproval", "approval method")
  check(exists(work .. "/hello.txt"), "hello.txt written")
  eq(read(work .. "/hello.txt"), "hello from apply_patch\n", "content")
  local fc = items_of(t, "fileChange")[1]
  check(fc, "item/completed fileChange")
  eq(fc.status, "completed", "fileChange status")
  check(tostring(last_agent_text(t)):find("^Patch result: Success"), "final text", last_agent_text(t))
  print_trace("patch accept", t.from)
end)

test("[[patch]] declined: file untouched, model told", function()
  decision = "decline"
  local th = new_thread()
  local t = run_turn(th, "[[patch]] nope.txt")
  decision = "accept"
  check(not exists(work .. "/nope.txt"), "nope.txt not written")
  eq(items_of(t, "fileChange")[1].status, "declined", "fileChange status")
  check(tostring(last_agent_text(t)):find("^Declined: "), "final text", last_agent_text(t))
end)

test("[[update]] accepted: 3 files (two hunks, one edit, a new file) as the fixture says", function()
  local U = require("mock.update_patch")
  local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
  end
  write(work .. "/big.lua", U.before.two)
  write(work .. "/main.lua", U.before.one)
  os.remove(work .. "/extra.txt")
  decision = "accept"
  local th = new_thread({ sandbox = "read-only" })
  local t = run_turn(th, "[[update]]")
  eq(t.completed.status, "completed", "status")
  eq(read(work .. "/big.lua"), (U.before.two:gsub("return 1\n", "return 10\n"):gsub("return 2\n", "return 20\n")), "big.lua")
  eq(read(work .. "/main.lua"), (U.before.one:gsub('print%("main"%)', 'print("main, updated")')), "main.lua")
  eq(read(work .. "/extra.txt"), U.new_text, "extra.txt")
  local fc = items_of(t, "fileChange")[1]
  check(fc and #fc.changes == 3, "three changes", fc)
  local hunks = 0
  for _, c in ipairs(fc.changes) do
    if tostring(c.path):find("big.lua", 1, true) then
      for _ in tostring(c.diff):gmatch("@@ %-") do hunks = hunks + 1 end
    end
  end
  eq(hunks, 2, "big.lua's diff has two hunks")
  check(tostring(last_agent_text(t)):find("^Patch result: Success"), "final text", last_agent_text(t))
  print_trace("update accept", t.from)
end)

test("[[fail500]]: turn/completed failed with the error message", function()
  local th = new_thread()
  local t = run_turn(th, "[[fail500]]")
  eq(t.completed.status, "failed", "status")
  check(type(t.completed.error) == "table", "turn.error")
  check(tostring(t.completed.error.message):find("high demand", 1, true), "message", t.completed.error.message)
  eq(t.completed.error.codexErrorInfo, "internalServerError", "codexErrorInfo")
  print_trace("HTTP 500", t.from)
end)

test("[[failed]]: response.failed → turn failed 'stream disconnected … mock response.failed'", function()
  local th = new_thread()
  local t = run_turn(th, "[[failed]]")
  eq(t.completed.status, "failed", "status")
  check(tostring(t.completed.error.message):find("mock response.failed", 1, true), "message", t.completed.error.message)
end)

test("[[truncated]]: no response.completed → turn failed", function()
  local th = new_thread()
  local t = run_turn(th, "[[truncated]]")
  eq(t.completed.status, "failed", "status")
  check(tostring(t.completed.error.message):find("response.completed", 1, true), "message", t.completed.error.message)
end)

test("[[context]]: contextWindowExceeded, then the next turn compacts (compaction POST) and answers", function()
  local th = new_thread()
  local seq0 = last_seq()
  local t = run_turn(th, "[[context]]")
  eq(t.completed.status, "failed", "status")
  eq(t.completed.error.codexErrorInfo, "contextWindowExceeded", "codexErrorInfo")
  local t2 = run_turn(th, "after the overflow")
  eq(t2.completed.status, "completed", "second turn")
  check(#items_of(t2, "contextCompaction") == 1, "contextCompaction item", t2.items)
  eq(last_agent_text(t2), "Hello from the mock model!", "answer after compaction")
  local kinds = {}
  for _, r in ipairs(requests_since(seq0)) do kinds[#kinds + 1] = tostring(r.request_kind) .. ":" .. tostring(r.scenario) end
  eq(table.concat(kinds, " "), "turn:context compaction:compaction turn:default", "POSTs")
  print_trace("turn after context window", t2.from)
end)

test("[[reasoning]]: reasoning summary deltas before the text", function()
  local th = new_thread()
  local t = run_turn(th, "[[reasoning]]")
  eq(t.completed.status, "completed", "status")
  local summary_deltas, first_reasoning, first_text = {}, nil, nil
  for i, msg in ipairs(t.events) do
    if msg.method == "item/reasoning/summaryTextDelta" then
      summary_deltas[#summary_deltas + 1] = msg.params.delta
      first_reasoning = first_reasoning or i
    elseif msg.method == "item/agentMessage/delta" then
      first_text = first_text or i
    end
  end
  eq(table.concat(summary_deltas), "Thinking about the question.", "summary deltas")
  check(first_reasoning < first_text, "reasoning before text")
  local r = items_of(t, "reasoning")[1]
  check(r, "item/completed reasoning", t.items)
  eq(last_agent_text(t), "Thought through it.", "text")
  print_trace("reasoning", t.from)
end)

test("[[slow]] + turn/interrupt: interrupted, mock saw the drop; next turn ignores <turn_aborted>", function()
  local th = new_thread()
  local seq0 = last_seq()
  local interrupted = false
  local t = run_turn(th, "[[slow]]", function(msg, turn)
    if msg.method == "item/agentMessage/delta" and not interrupted then
      interrupted = true
      note("->", "turn/interrupt")
      local r = c:request("turn/interrupt", { threadId = th, turnId = turn.id })
      note("<-", "result", show(r))
    end
  end)
  eq(t.completed.status, "interrupted", "status")
  check(#t.deltas < 10, "stopped early", t.deltas)
  local ok = mock.wait(3000, function()
    for _, r in ipairs(requests_since(seq0)) do if r.scenario == "slow" and r.aborted then return true end end
    return false
  end)
  check(ok, "mock logged the client dropping the stream")
  print_trace("interrupt (slow stream)", t.from)
  local seq1 = last_seq()
  local t2 = run_turn(th, "hello again")
  eq(last_agent_text(t2), "Hello from the mock model!", "default answer")
  local r = requests_since(seq1)[1]
  eq(r.scenario, "default", "scenario")
  eq(r.last_user, "hello again", "last user")
  local aborted_marker = false
  for _, u in ipairs(r.user_texts or {}) do if u:find("^<turn_aborted>") then aborted_marker = true end end
  check(aborted_marker, "the next request carried a <turn_aborted> user message", r.user_texts)
end)

test("[[slow]] + turn/steer: 'Steered: <text>' in the same turn", function()
  local th = new_thread()
  local steered = false
  local seq0 = last_seq()
  local t = run_turn(th, "[[slow]]", function(msg, turn)
    if msg.method == "item/agentMessage/delta" and not steered then
      steered = true
      note("->", "turn/steer", '"go left"')
      local r = c:request("turn/steer", { threadId = th, expectedTurnId = turn.id, input = { { type = "text", text = "go left" } } })
      note("<-", "result", show(r))
      eq(r.turnId, turn.id, "steer turnId")
    end
  end)
  eq(t.completed.status, "completed", "status")
  eq(last_agent_text(t), "Steered: go left", "steered answer")
  local scen = {}
  for _, r in ipairs(requests_since(seq0)) do scen[#scen + 1] = r.scenario .. (r.aborted and "(aborted)" or "") end
  eq(table.concat(scen, " "), "slow(aborted) steer", "POSTs")
  print_trace("steer mid-stream", t.from)
end)

test("review/start: the reviewer's request gets a JSON review; 0.171.0 renders its findings as text", function()
  local tid = new_thread()
  local seq0 = last_seq()
  local from = trace_mark()
  local res, s = c:request_stream("review/start", { threadId = tid,
    target = { type = "custom", instructions = "Check x. [[review]] x.lua:5:0" } }, { timeout_ms = 30000 })
  local items = {}
  while true do
    local msg = s:next(30000)
    if not msg then break end
    if msg.method == "item/completed" then items[#items + 1] = msg.params.item end
  end
  print_trace("review/start", from)
  check(res.turn and res.turn.id, "a turn", res)
  local exited
  for _, it in ipairs(items) do if it.type == "exitedReviewMode" then exited = it end end
  check(exited, "an exitedReviewMode item", items)
  local want = "Mock review: 1 finding.\n\nReview comment:\n\n- [P0] Mock finding 1 in x.lua \u{2014} " .. work .. "/x.lua:5-5\n"
    .. "  Line 5 of `x.lua` needs a look.\n  A second line of the body."
  eq(exited.review, want, "review text")
  local r = requests_since(seq0)
  eq(#r, 1, "one model request")
  eq(r[1].scenario, "review", "scenario")
end)

test("device-code login against the mock issuer", function()
  local from = trace_mark()
  local seq0 = last_seq()
  local updated
  local off = c:on("account/updated", function(p) updated = p end)
  note("->", "account/login/start", "{type=chatgptDeviceCode}")
  local res, s = c:request_stream("account/login/start", { type = "chatgptDeviceCode" }, { timeout_ms = 30000 })
  note("<-", "result", show(res))
  eq(res.type, "chatgptDeviceCode", "type")
  eq(res.userCode, "MOCK-CODE", "userCode")
  eq(res.verificationUrl, m.url .. "/codex/device", "verificationUrl")
  check(type(res.loginId) == "string", "loginId")
  local done
  while true do
    local msg = s:next(30000)
    if not msg then break end
    note("<-", msg.method, summary(msg))
    if msg.method == "account/login/completed" then done = msg.params end
  end
  check(done, "account/login/completed")
  eq(done.loginId, res.loginId, "loginId")
  eq(done.success, true, "success")
  local rpc_host = require("codex.host")
  check(rpc_host.wait(5000, function() return updated ~= nil end), "account/updated")
  off()
  eq(updated.authMode, "chatgpt", "authMode")
  eq(updated.planType, "pro", "planType")
  local paths = {}
  for _, r in ipairs(requests_since(seq0)) do
    paths[#paths + 1] = r.path .. ":" .. tostring(r.status) .. (r.grant_type and ("(" .. r.grant_type .. ")") or "")
  end
  local seen = table.concat(paths, " ")
  check(seen:find("/api/accounts/deviceauth/usercode:200 /api/accounts/deviceauth/token:403 /api/accounts/deviceauth/token:200 /oauth/token:200(authorization_code)", 1, true),
    "issuer calls", seen)
  local auth = read(home .. "/auth.json")
  check(auth:find("acct-mock-123", 1, true) or auth:find('"auth_mode"', 1, true), "auth.json written", auth)
  print_trace("device-code login", from)
  if TRACE then print("# issuer calls: " .. seen) end
end)

test("a turn after the ChatGPT login still works (request body not compressed)", function()
  local th = new_thread()
  local seq0 = last_seq()
  local t = run_turn(th, "hello after login")
  eq(t.completed.status, "completed", "status")
  eq(last_agent_text(t), "Hello from the mock model!", "text")
  local r = requests_since(seq0)
  local posts = {}
  for _, x in ipairs(r) do if x.path == "/v1/responses" then posts[#posts + 1] = x end end
  eq(#posts, 1, "one POST")
  eq(posts[1].content_encoding, nil, "Content-Encoding")
  if TRACE then
    for _, x in ipairs(r) do print(("# after login: %s %s -> %s auth=%s account=%s"):format(x.method, x.path,
      tostring(x.status), tostring(x.authorization), tostring(x.chatgpt_account_id))) end
  end
end)

test("device-code login disabled (--device-disabled): 'not enabled' error", function()
  local m2 = mock.start({ args = { "--device-disabled" } })
  local home2 = mock.create_home(m2.port)
  local c2 = rpc.new({ env = mock.env(home2, m2.port), app_server_args = { "--strict-config" }, cwd = home2 })
  local ok, err = pcall(c2.request, c2, "account/login/start", { type = "chatgptDeviceCode" }, { timeout_ms = 30000 })
  c2:close()
  m2:stop()
  mock.remove_home(home2)
  check(not ok, "start failed")
  eq(err.code, -32600, "code")
  check(tostring(err.message):find("not enabled", 1, true), "message", err.message)
end)

---------------------------------------------------------------------------------------------
local st = c:close()
if st and st.code ~= 0 then print("# app-server exit: " .. show(st)) end
local ex = m:stop()
test("mock exits on stdin EOF", function()
  check(ex ~= nil, "mock exited")
  eq(ex.code, 0, "mock exit code")
end)
if failed > 0 then print("# app-server stderr:\n" .. c:stderr(40)) end
mock.remove_home(home)
print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1, true)
