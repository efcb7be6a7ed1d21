-- bench/long.lua: one streamed turn at the end of a long chat (issue 8). A benchmark, not a test:
-- it prints figures and the issue's targets, and exits 0 whether or not they are met.
--
--   nvim --headless -u NONE -i NONE --cmd 'set rtp^=.' -c 'luafile bench/long.lua' </dev/null   (0.10)
--   CODEX_BENCH_LOG=out.txt bash scripts/nvim_ui_run.sh out.txt nvim -u NONE -i NONE \
--     --cmd 'set rtp^=.' -c 'luafile bench/long.lua'                                            (0.12)
--
-- Per run: a chat is opened the way resume opens one (chat.open({thread, turns}) with N
-- generated thread/read-shaped turns, ~2.3 KB of markdown each, a command every 3rd turn, a
-- diff every 5th), with the bundled markdown tree-sitter parsers (the chat starts them itself).
-- Then one more turn of ~2.3 KB (a code fence and a diff fence) streams from the fake
-- app-server (tests/fake/app_server.lua through codex.rpc and the C core) in DELTAS deltas, one
-- every DELAY ms (fakeEventsDelayMs), while the bench types into the input buffer. Sizes
-- alternate run by run (10, 500, 10, 500, ...) in one Neovim; the table has medians of RUNS.
--
-- Everything is driven from callbacks (a coroutine resumed by timers), never from vim.wait:
-- the main loop stays in its normal input wait, so it redraws and handles keys as for a user.
--
-- Environment: CODEX_BENCH_RUNS (3), CODEX_BENCH_SIZES ("10,500"), CODEX_BENCH_DELTAS (200),
-- CODEX_BENCH_DELAY_MS (10), CODEX_BENCH_KEY_MS (50), CODEX_BENCH_LOG (append the output to
-- that file, as a TUI owns stdout); for diagnosis CODEX_BENCH_PROFILE=1 and CODEX_BENCH_TRACE=1.
-- See bench/README.md.

local uv, api = vim.uv or vim.loop, vim.api
local hrtime = uv.hrtime

-- (CODEX_BENCH_LOG and the runtimepath: bench/nvim_common.lua)
local common = dofile((debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*)/[^/]*$") or ".") .. "/nvim_common.lua")
local out, ROOT = common.out, common.ROOT

local function env_num(name, default) return tonumber(os.getenv(name) or "") or default end
local RUNS = env_num("CODEX_BENCH_RUNS", 3)
local DELTAS = env_num("CODEX_BENCH_DELTAS", 200)
local DELAY = env_num("CODEX_BENCH_DELAY_MS", 10)
local KEY_MS = env_num("CODEX_BENCH_KEY_MS", 50)
local TICK_MS = 5 -- the stall timer's period
local SIZES = {}
for s in (os.getenv("CODEX_BENCH_SIZES") or "10,500"):gmatch("%d+") do SIZES[#SIZES + 1] = tonumber(s) end
local SMALL, BIG = SIZES[1], SIZES[#SIZES]
local PROMPT = "Continue with the next step."
local HEADLESS = #api.nvim_list_uis() == 0

local version = vim.version()
local NVIM = ("%d.%d.%d"):format(version.major, version.minor, version.patch)

-- ---- generated text -----------------------------------------------------------------------------

local seed = 8
local function rnd(k)
  seed = (seed * 69069 + 1) % 4294967296
  return math.floor(seed / 65536) % k
end
local WORDS = { "the", "chat", "renders", "each", "turn", "into", "one", "buffer", "while", "Neovim", "keeps",
  "responding", "to", "input", "and", "every", "delta", "is", "appended", "at", "an", "extmark", "`vim.api`",
  "**note**", "function", "returns", "value", "table", "string", "window", "cursor", "follows", "_end_", "of",
  "output", "line", "wraps", "frame", "timer", "parser", "tree", "query", "highlight", "loop", "callback",
  "é", "—", "über", "x", "=", "42" }
local function words(n)
  local t = {}
  for i = 1, n do t[i] = WORDS[rnd(#WORDS) + 1] end
  return table.concat(t, " ")
end
local function para(bytes)
  local t, len = {}, 0
  while len < bytes do
    local s = words(8 + rnd(8))
    t[#t + 1] = s
    len = len + #s + 1
  end
  return table.concat(t, " ") .. "."
end
local function code_block(lang, n)
  local l = { "```" .. lang }
  for i = 1, n do l[#l + 1] = ("local v%d = vim.tbl_extend(\"force\", opts, { n = %d }) -- %s"):format(i, rnd(1000), words(3)) end
  l[#l + 1] = "```"
  return table.concat(l, "\n")
end
local function diff_text(k, n)
  local l = { ("--- a/lua/mod%d.lua"):format(k), ("+++ b/lua/mod%d.lua"):format(k), "@@ -10,8 +10,9 @@" }
  for i = 1, n do
    local r = rnd(3)
    l[#l + 1] = (r == 0 and "-" or r == 1 and "+" or " ") .. ("  local x%d = %s"):format(i, words(4))
  end
  return table.concat(l, "\n")
end
-- ~2.3 KB of markdown: heading, paragraphs, a list, a lua block (and, for the streamed turn, a diff).
local function message(k, with_diff)
  local parts = {
    ("### Step %d: %s"):format(k, words(4)), para(330),
    "- " .. words(9) .. "\n- " .. words(11) .. "\n- " .. words(7) .. " `code`\n- " .. words(10),
    para(250), code_block("lua", 8), para(300),
  }
  if with_diff then parts[#parts + 1] = "```diff\n" .. diff_text(k, 8) .. "\n```" end
  parts[#parts + 1] = para(with_diff and 160 or 330)
  return table.concat(parts, "\n\n")
end

-- N thread/read-shaped turns.
local function gen_turns(n, tag)
  local turns = {}
  for k = 1, n do
    local id = ("%s-t%d"):format(tag, k)
    local items = {
      { type = "userMessage", id = id .. "-u", content = { { type = "text", text = "Please do step " .. k .. ": " .. words(12) } } },
    }
    if k % 3 == 0 then
      local lines = {}
      for i = 1, 20 do lines[i] = ("%3d  %s"):format(i, words(6)) end
      items[#items + 1] = { type = "commandExecution", id = id .. "-c", command = "rg -n step lua/",
        aggregatedOutput = table.concat(lines, "\n") .. "\n", status = "completed", exitCode = 0, durationMs = 12 }
    end
    if k % 5 == 0 then
      items[#items + 1] = { type = "fileChange", id = id .. "-f", status = "completed",
        changes = { { path = ("lua/mod%d.lua"):format(k), kind = { type = "update" }, diff = diff_text(k, 8) .. "\n" } } }
    end
    items[#items + 1] = { type = "agentMessage", id = id .. "-m", text = message(k, false) }
    turns[k] = { id = id, status = "completed", items = items }
  end
  return turns
end

-- The streamed turn's message, split into DELTAS deltas of (nearly) equal size.
local STREAM_TEXT = message(9999, true):gsub("[^\32-\126\n]", "-") -- ASCII: split anywhere
local STREAM_DELTAS = {}
do
  local size = math.ceil(#STREAM_TEXT / DELTAS)
  for i = 1, #STREAM_TEXT, size do STREAM_DELTAS[#STREAM_DELTAS + 1] = STREAM_TEXT:sub(i, i + size - 1) end
end
local FIRST_DELTA = STREAM_DELTAS[1]

local function stream_events(thread_id) return common.message_events(thread_id, "stream-msg", STREAM_DELTAS) end

-- ---- the client, the one shim -------------------------------------------------------------------

-- The fake stamps uv.hrtime() (CLOCK_MONOTONIC, Neovim's clock too) into STAMP just before it
-- writes a streamed turn's first delta: luv's pipe write is wrapped by a `lua5.4 -e` prelude, so
-- tests/fake stays as it is.
local STAMP = vim.fn.tempname()
local MARK = FIRST_DELTA:gsub("[^%w ]", "")
local PRELUDE = ([[
local uv = require("luv")
local p = uv.new_pipe(false)
local methods = getmetatable(p).__index
p:close()
local write, f = methods.write, assert(io.open(os.getenv("CODEX_BENCH_STAMP"), "w"))
methods.write = function(self, data, ...)
  if type(data) == "string" and data:find(%q, 1, true) then
    f:write(("%%d\n"):format(uv.hrtime()))
    f:flush()
  end
  return write(self, data, ...)
end
]]):format(MARK)
local function first_stamp_after(t) -- (the item/completed that follows holds the text too)
  local f = io.open(STAMP)
  if not f then return nil end
  local first
  for l in f:lines() do
    local x = tonumber(l)
    if x and x > t and (not first or x < first) then first = x end
  end
  f:close()
  return first
end
local client = require("codex.client").new({
  args = { "lua5.4", "-e", PRELUDE, ROOT .. "/tests/fake/app_server.lua" },
  env = { CODEX_BENCH_STAMP = STAMP },
  request_timeout_ms = 600000,
})
local thread_mod = require("codex.thread")
local chat_mod = require("codex.ui.chat")
local events = require("codex.events")
require("codex.config").setup({ chat = { layout = "vsplit" } })

local cur = nil -- the run in progress
-- turn/start carries the run's scripted events; the turn's stream gets a subscriber that notes
-- when the core delivered the first delta. Otherwise the chat's path is unchanged.
local Rpc = getmetatable(client.rpc)
client.rpc.request = function(self, method, params, opts, cb)
  if method == "turn/start" and cur and not cur.t_req then
    cur.t_req = hrtime()
    params.fakeEvents = stream_events(params.threadId)
    params.fakeEventsDelayMs = DELAY
    if type(opts) == "table" and opts.stream then
      local run = cur
      opts.stream:on(function(msg)
        if not run.t_first and msg.method == "item/agentMessage/delta" then run.t_first = hrtime() end
      end)
    end
  end
  return Rpc.request(self, method, params, opts, cb)
end
events.on("TurnCompleted", function(d)
  if cur and cur.thread_id == d.thread_id then cur.t_end = hrtime() end
end)

-- ---- probes -------------------------------------------------------------------------------------

-- Stall: a repeating TICK_MS timer stores hrtime (fast context, nothing else); a firing's
-- lateness is its gap - TICK_MS.
local ticks, nticks = {}, 0
local tick_timer = uv.new_timer()
local function ticks_reset() -- keeps the last firing, so the next gap counts
  ticks, nticks = { ticks[nticks] }, ticks[nticks] and 1 or 0
end
tick_timer:start(TICK_MS, TICK_MS, function()
  nticks = nticks + 1
  ticks[nticks] = hrtime()
end)

local function pct(sorted, p)
  if #sorted == 0 then return 0 / 0 end
  return sorted[math.max(1, math.ceil(p * #sorted))]
end
-- CODEX_BENCH_TRACE=1: LuaJIT's sampling profiler (1 ms) runs throughout; each run's report
-- names what the main thread was doing during its three longest stalls: VM state (N native,
-- I interpreted, C in C code, G garbage collector, J JIT compiler) and the Lua frames.
local TRACE = os.getenv("CODEX_BENCH_TRACE") == "1" and jit ~= nil
local samples, nsamples = {}, 0
if TRACE then
  local profile = require("jit.profile")
  profile.start("i1", function(th, n, vmstate)
    nsamples = nsamples + 1
    samples[nsamples] = { hrtime(), vmstate, profile.dumpstack(th, "pl;", 4), n }
  end)
end
local function trace_of(a, b)
  local states, frames = {}, {}
  for i = 1, nsamples do
    local smp = samples[i]
    if smp[1] > a and smp[1] <= b + 1e6 then
      states[#states + 1] = smp[2] .. (smp[4] > 1 and ("x" .. smp[4]) or "")
      frames[smp[3]] = (frames[smp[3]] or 0) + 1
    end
  end
  local fl = {}
  for f, k in pairs(frames) do fl[#fl + 1] = k .. "× " .. f end
  table.sort(fl, function(x, y) return tonumber(x:match("^%d+")) > tonumber(y:match("^%d+")) end)
  return table.concat(states, ""), table.concat(fl, " | ", 1, math.min(#fl, 4))
end

local function stalls(t0, t1)
  local late, gaps = {}, {}
  for i = 2, nticks do
    if ticks[i] > t0 and ticks[i - 1] < t1 then
      late[#late + 1] = math.max(0, (ticks[i] - ticks[i - 1]) / 1e6 - TICK_MS)
      gaps[#gaps + 1] = { late[#late], ticks[i - 1], ticks[i] }
    end
  end
  table.sort(late)
  local r = { n = #late, p50 = pct(late, 0.5), p99 = pct(late, 0.99), max = late[#late] or 0 / 0 }
  if TRACE then
    table.sort(gaps, function(x, y) return x[1] > y[1] end)
    r.trace = {}
    for k = 1, math.min(3, #gaps) do
      local st, fr = trace_of(gaps[k][2], gaps[k][3])
      r.trace[k] = ("      stall %.2f ms: states %s; %s\n"):format(gaps[k][1], st, fr)
    end
  end
  return r
end

-- Redraws: a decoration provider's on_end stamps the end of every redraw.
local draws = {}
local draw_ns = api.nvim_create_namespace("codex_bench_long")
api.nvim_set_decoration_provider(draw_ns, { on_end = function() draws[#draws + 1] = hrtime() end })
local function first_draw_after(t)
  for _, d in ipairs(draws) do if d > t then return d end end
  return nil
end

local CLK = 100 -- USER_HZ
local function proc_stat(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  local rest = s:match("%) (.*)$")
  local fields = {}
  for x in rest:gmatch("%S+") do fields[#fields + 1] = x end
  -- after "pid (comm)": state=1, ppid=2, ..., utime=12, stime=13
  return (tonumber(fields[12]) + tonumber(fields[13])) / CLK, tonumber(fields[2])
end
local SELF_PID = vim.fn.getpid()
local _, PARENT_PID = proc_stat(SELF_PID)
local function rss_kb()
  for l in io.lines("/proc/self/status") do
    local v = l:match("^VmRSS:%s+(%d+)")
    if v then return tonumber(v) end
  end
end

-- ---- CODEX_BENCH_PROFILE=1: where the turn's main-loop time goes ---------------------------------
--
-- Totals (ms, calls) during the streamed turn of: the tree-sitter highlighter's decoration
-- provider callbacks (re-registered wrapped on its namespace), LanguageTree:parse (0.10 only:
-- 0.12's parse yields inside a coroutine, so wall time around it would count the pauses) and
-- :_get_injections (outermost calls), and the chat renderer's flush. What these leave out of
-- the CPU time: 0.12's async parse slices (run from scheduled callbacks), redraw itself, the
-- core, GC.
local PROFILE = os.getenv("CODEX_BENCH_PROFILE") == "1"
local prof = nil
local PROF_KEYS = { "hl_on_win", "hl_on_line", "hl_on_range", "hl_on_start", "parse", "injections", "flush" }
local function profile_hooks()
  local function wrap(fn, key)
    local depth = 0
    return function(...)
      if not prof or depth > 0 then return fn(...) end
      depth = depth + 1
      local t = hrtime()
      local a, b, c = fn(...)
      depth = depth - 1
      local e = prof[key]
      e.n, e.ms = e.n + 1, e.ms + (hrtime() - t) / 1e6
      return a, b, c
    end
  end
  local TSH = require("vim.treesitter.highlighter")
  local name = vim.fn.has("nvim-0.11") == 1 and "nvim.treesitter.highlighter" or "treesitter/highlighter"
  local provider, prof_key_of = {}, { on_win = "hl_on_win", on_line = "hl_on_line", on_start = "hl_on_start",
    on_range = "hl_on_range" }
  for _, k in ipairs({ "on_win", "on_line", "on_start", "on_range", "_on_spell_nav", "_on_conceal_line" }) do
    local f = TSH[k:sub(1, 1) == "_" and k or "_" .. k]
    if f then provider[k] = prof_key_of[k] and wrap(f, prof_key_of[k]) or f end
  end
  api.nvim_set_decoration_provider(api.nvim_create_namespace(name), provider)
  local LT = require("vim.treesitter.languagetree")
  if vim.fn.has("nvim-0.11") == 0 then LT.parse = wrap(LT.parse, "parse") end
  LT._get_injections = wrap(LT._get_injections, "injections")
  local render = require("codex.ui.render")
  local b = api.nvim_create_buf(false, true)
  local R = getmetatable(render.new(b, { frame_ms = 16, windows = function() return {} end }))
  api.nvim_buf_delete(b, { force = true })
  R.flush = wrap(R.flush, "flush")
end
local function prof_new()
  local p = {}
  for _, k in ipairs(PROF_KEYS) do p[k] = { n = 0, ms = 0 } end
  return p
end
local function prof_line(p, wall_ms, cpu_pct)
  local parts = {}
  for _, k in ipairs(PROF_KEYS) do
    if p[k].n > 0 then parts[#parts + 1] = ("%s %.0f ms (%d)"):format(k, p[k].ms, p[k].n) end
  end
  return ("    profile over the turn's %.0f ms (CPU %.0f ms): %s\n"):format(wall_ms, cpu_pct * wall_ms / 100,
    table.concat(parts, ", "))
end

-- ---- the coroutine driver -----------------------------------------------------------------------

local co
local function fail(err)
  out("bench/long.lua failed: " .. tostring(err) .. "\n")
  pcall(function() client:close() end)
  vim.cmd("qa!")
end
local function resume()
  local ok, err = coroutine.resume(co)
  if not ok then fail(debug.traceback(co, err)) end
end
local function sleep(ms)
  vim.defer_fn(resume, ms)
  coroutine.yield()
end
local function wait_until(cond, timeout_ms, poll)
  local t0 = hrtime()
  while not cond() do
    if (hrtime() - t0) / 1e6 > timeout_ms then return false end
    sleep(poll or 10)
  end
  return true
end
local function settle()
  sleep(100)
  collectgarbage()
  collectgarbage()
  sleep(50)
end

-- ---- one run ------------------------------------------------------------------------------------

local run_no = 0
local function run(n, turns)
  run_no = run_no + 1
  vim.cmd("silent! only")
  vim.cmd("enew")
  settle()
  local r = { n = n, keys = {} }
  r.rss0 = rss_kb()
  ticks_reset()
  local thread = thread_mod.new(client, { thread = { id = ("long-%d-%d"):format(n, run_no) } })
  r.thread_id = thread.id
  -- resume: chat.open with the turns, until the first redraw after it returned
  local t0 = hrtime()
  local chat = chat_mod.open({ thread = thread, turns = turns, show = true })
  r.t_opened = hrtime()
  r.resume_open = (r.t_opened - t0) / 1e6
  if not wait_until(function() return first_draw_after(r.t_opened) ~= nil end, 30000, 1) then
    error("no redraw after chat.open")
  end
  local t_drawn = first_draw_after(r.t_opened)
  r.resume_draw = (t_drawn - t0) / 1e6
  sleep(30)
  r.resume_cb = stalls(t0, t_drawn).max
  r.lines_open = api.nvim_buf_line_count(chat.buf)
  -- Resume shows only the newest chat.history_turns; one "load earlier turns" (as gK or
  -- scrolling to the top does) puts the next ones in above, in deferred slices: from the call
  -- to the redraw after the last slice, and the longest callback over that span (all slices).
  if chat:has_earlier() then
    local done
    local t_load = hrtime()
    chat:load_earlier(function() done = hrtime() end)
    if not wait_until(function() return done ~= nil and first_draw_after(done) ~= nil end, 30000, 1) then
      error("load_earlier did not finish")
    end
    r.load_draw = (first_draw_after(done) - t_load) / 1e6
    sleep(30)
    r.load_cb = stalls(t_load, first_draw_after(done)).max
  end
  -- Then the rest, so the streamed turn goes into a buffer holding all n turns, as a chat
  -- that grew over a working day (or was scrolled back to its start) has them.
  while chat:has_earlier() do
    local done
    chat:load_earlier(function() done = true end)
    if not wait_until(function() return done end, 30000, 1) then error("load_earlier did not finish") end
  end
  r.lines = api.nvim_buf_line_count(chat.buf)
  -- Wait until Neovim is idle again (0.12 parses the opened buffer asynchronously), so the
  -- turn's CPU is the turn's: 100 ms windows until one uses < 20 ms of CPU (at most 10 s).
  do
    local t_idle = hrtime()
    for _ = 1, 100 do
      local c = proc_stat(SELF_PID)
      sleep(100)
      if proc_stat(SELF_PID) - c < 0.02 then break end
    end
    r.idle_after = (hrtime() - t_idle) / 1e6
  end
  r.rss_open = rss_kb()
  if TRACE then -- what the opened chat holds: extmarks per namespace, and the live Lua heap
    local counts = {}
    for name, id in pairs(api.nvim_get_namespaces()) do
      local k = #api.nvim_buf_get_extmarks(chat.buf, id, 0, -1, {})
      if k > 0 then counts[#counts + 1] = ("%s %d"):format(name, k) end
    end
    table.sort(counts)
    collectgarbage()
    out(("    %d turns: %d lines; extmarks %s; Lua heap %.0f KB\n"):format(n, r.lines, table.concat(counts, ", "),
      collectgarbage("count")))
  end

  -- probes on both buffers
  local chat_buf, input_buf = chat.buf, chat.input_buf
  api.nvim_buf_attach(chat_buf, false, { on_lines = function(_, b, _, first, _, last_new)
    if r.t_first_buf then return true end
    if not r.t_first then return end
    for _, l in ipairs(api.nvim_buf_get_lines(b, first, last_new, false)) do
      if l:find(FIRST_DELTA, 1, true) then
        r.t_first_buf = hrtime()
        return true
      end
    end
  end })
  local key_due, key_got = {}, {}
  api.nvim_buf_attach(input_buf, false, { on_lines = function(_, b)
    if r.keys_done then return true end
    local now = hrtime()
    local n_x = #(api.nvim_buf_get_lines(b, 0, 1, false)[1] or "")
    for k = 1, math.min(n_x, #key_due) do
      if not key_got[k] then key_got[k] = now end
    end
  end })

  -- <CR> in the input buffer (normal mode) sends the prompt
  cur = r
  api.nvim_set_current_win(chat.input_win)
  api.nvim_buf_set_lines(input_buf, 0, -1, false, { PROMPT })
  vim.cmd("stopinsert")
  sleep(50)
  ticks_reset()
  r.t_cr = hrtime()
  api.nvim_input("<CR>")
  if not wait_until(function() return r.t_write ~= nil end, 5000, 1) then error("no turn/start after <CR>") end
  api.nvim_input("i") -- insert mode in the (now empty) input buffer, for the keys
  if not wait_until(function() return r.t_first ~= nil end, 10000, 1) then error("no first delta") end
  local c0, p0 = proc_stat(SELF_PID), PARENT_PID and proc_stat(PARENT_PID)
  if PROFILE then prof = prof_new() end
  local w0 = hrtime()
  -- keys: one "x" due every KEY_MS of wall time. A one-shot timer is armed for each due time;
  -- when it fires it feeds every key that fell due by then (keys due during a stall are fed
  -- late, together, as a typist's would queue), and each key's latency counts from its due time.
  local key_timer = uv.new_timer()
  local next_due = w0 + KEY_MS * 1e6
  local function arm()
    key_timer:start(math.max(0, math.floor((next_due - hrtime()) / 1e6)), 0, function()
      if r.t_end then return end
      local now = hrtime()
      while next_due <= now + 1e6 do -- (libuv's clock is in ms: up to 1 ms early)
        key_due[#key_due + 1] = math.min(next_due, now) -- fed early: from when it was fed
        next_due = next_due + KEY_MS * 1e6
        api.nvim_input("x")
      end
      arm()
    end)
  end
  arm()
  if not wait_until(function() return r.t_end ~= nil end, 120000, 20) then error("the turn did not complete") end
  local c1, p1 = proc_stat(SELF_PID), PARENT_PID and proc_stat(PARENT_PID)
  r.prof, prof = prof, nil
  local w1 = hrtime()
  key_timer:stop()
  key_timer:close()
  r.cpu = 100 * (c1 - c0) / ((w1 - w0) / 1e9)
  r.ui_cpu = p0 and p1 and not HEADLESS and 100 * (p1 - p0) / ((w1 - w0) / 1e9) or nil
  r.turn_ms = (r.t_end - r.t_first) / 1e6
  r.stall = stalls(r.t_first, r.t_end)
  if r.stall.trace then table.insert(r.stall.trace, 1, ("      Lua heap %.0f KB\n"):format(collectgarbage("count"))) end
  r.cr_ms = (r.t_write - r.t_cr) / 1e6
  r.cr_req_ms = (r.t_req - r.t_cr) / 1e6
  r.first_buf = r.t_first_buf and (r.t_first_buf - r.t_first) / 1e6 or 0 / 0
  local t_wrote = first_stamp_after(r.t_write)
  r.first_wire = t_wrote and r.t_first_buf and t_wrote < r.t_first and (r.t_first_buf - t_wrote) / 1e6 or 0 / 0
  r.first_core = t_wrote and t_wrote < r.t_first and (r.t_first - t_wrote) / 1e6 or 0 / 0
  local fd = r.t_first_buf and first_draw_after(r.t_first_buf)
  r.first_draw = fd and t_wrote and (fd - t_wrote) / 1e6 or 0 / 0
  -- keys still in flight land within a second
  wait_until(function() return #key_got >= #key_due end, 3000, 10)
  r.keys_done = true
  -- the streamed message must be in the chat buffer, whole, followed by the done line
  do
    local lines, want = api.nvim_buf_get_lines(chat_buf, 0, -1, false), vim.split(STREAM_TEXT, "\n", { plain = true })
    local at
    for i = #lines, 1, -1 do if lines[i] == want[1] then at = i break end end
    r.text_ok = at ~= nil
    for j = 1, #want do if not at or lines[at + j - 1] ~= want[j] then r.text_ok = false break end end
    r.text_ok = r.text_ok and (lines[#lines] or ""):find("done", 1, true) ~= nil
  end
  local lat = {}
  for k = 1, #key_due do lat[k] = ((key_got[k] or hrtime()) - key_due[k]) / 1e6 end
  table.sort(lat)
  r.nkeys, r.key_lost = #lat, #key_due - #key_got
  r.key = { p50 = pct(lat, 0.5), p99 = pct(lat, 0.99), max = lat[#lat] or 0 / 0 }
  api.nvim_input("<Esc>")
  sleep(50)
  api.nvim_buf_set_lines(input_buf, 0, -1, false, { "" })
  cur = nil
  chat:hide() -- the chat lives on (as the plugin keeps it), hidden: its memory stays counted
  settle()
  r.rss1 = rss_kb()
  draws = {}
  return r
end

-- ---- report -------------------------------------------------------------------------------------

local function med(list, f)
  local v = {}
  for _, r in ipairs(list) do
    local x = f(r)
    if x == x then v[#v + 1] = x end
  end
  table.sort(v)
  if #v == 0 then return 0 / 0 end
  if #v % 2 == 1 then return v[(#v + 1) / 2] end
  return (v[#v / 2] + v[#v / 2 + 1]) / 2
end
local function f2(x) return x ~= x and "–" or ("%.2f"):format(x) end
local function f1(x) return x ~= x and "–" or ("%.1f"):format(x) end

-- Times the main thread went to sleep (voluntary context switches): each wake-up of an idle
-- event loop is one, so a timer left running shows here (uv.walk cannot list Neovim's handles).
local function sleeps()
  for l in io.lines("/proc/self/status") do
    local n = l:match("^voluntary_ctxt_switches:%s*(%d+)")
    if n then return tonumber(n) end
  end
  return 0 / 0
end

local function report(results, idle, quiet)
  local S, B = results[SMALL], results[BIG]
  local function m(list, f) return med(list, f) end
  local rows = {}
  local function row(name, fmt, small, big, target, ok, ratio_ok)
    rows[#rows + 1] = { name, small and fmt(small) or "", big and fmt(big) or "",
      (small and big and small > 0) and ("%.1f×"):format(big / small) or "", target, ok }
  end
  local sp99 = { m(S, function(r) return r.stall.p99 end), m(B, function(r) return r.stall.p99 end) }
  local smax = { m(S, function(r) return r.stall.max end), m(B, function(r) return r.stall.max end) }
  local cpu = { m(S, function(r) return r.cpu end), m(B, function(r) return r.cpu end) }
  local kp99 = { m(S, function(r) return r.key.p99 end), m(B, function(r) return r.key.p99 end) }
  local first = { m(S, function(r) return r.first_wire end), m(B, function(r) return r.first_wire end) }
  local crs = { m(S, function(r) return r.cr_ms end), m(B, function(r) return r.cr_ms end) }
  -- RSS: the first run of each size only (not a median): later chats reuse memory that the
  -- earlier ones' parses freed to malloc, so their growth is smaller (see the run lines).
  local function growth(list, f) return list[1] and f(list[1]) or 0 / 0 end
  local grow = { growth(S, function(r) return r.rss1 - r.rss0 end), growth(B, function(r) return r.rss1 - r.rss0 end) }
  local per1000 = (grow[2] - grow[1]) / (BIG - SMALL) * 1000 / 1024
  local grow_open = { growth(S, function(r) return r.rss_open - r.rss0 end), growth(B, function(r) return r.rss_open - r.rss0 end) }
  local per1000_open = (grow_open[2] - grow_open[1]) / (BIG - SMALL) * 1000 / 1024
  local res = { m(S, function(r) return r.resume_draw end), m(B, function(r) return r.resume_draw end) }
  local rescb = { m(S, function(r) return r.resume_cb end), m(B, function(r) return r.resume_cb end) }
  local function yes(b) return b and "met" or "MISSED" end
  local ratio = function(i) return ({ sp99, smax, cpu })[i][2] / ({ sp99, smax, cpu })[i][1] end
  row("stall p99 during the turn, ms", f2, sp99[1], sp99[2], "500/10 ≤ 1.5×", yes(ratio(1) <= 1.5))
  row("stall max during the turn, ms", f2, smax[1], smax[2], "500/10 ≤ 1.5×", yes(ratio(2) <= 1.5))
  row("Neovim CPU during the turn, %", f1, cpu[1], cpu[2], "500/10 ≤ 1.5×", yes(ratio(3) <= 1.5))
  row("stall p99 at " .. BIG .. ", ms", f2, nil, sp99[2], "< 8", yes(sp99[2] < 8))
  row("stall max at " .. BIG .. ", ms", f2, nil, smax[2], "< 33", yes(smax[2] < 33))
  row("keystroke → input buffer p99, ms", f2, kp99[1], kp99[2], "< 16 at " .. BIG, yes(kp99[2] < 16))
  row("first token: delta on the fake's stdout → chat buffer, ms", f2, first[1], first[2], "< 2", yes(first[2] < 2 and first[1] < 2))
  row("<CR> → turn/start on the server's stdin, ms", f2, crs[1], crs[2], "< 2, flat", yes(crs[2] < 2 and crs[1] < 2))
  rows[#rows + 1] = { "RSS per 1,000 turns: chat opened, MB (run 1)", "", f1(per1000_open), "", "< 25", yes(per1000_open < 25) }
  rows[#rows + 1] = { "RSS per 1,000 turns: + one streamed turn, MB (run 1)", "", f1(per1000), "", "< 25", yes(per1000 < 25) }
  row("resume: chat.open → first redraw done, ms", f1, res[1], res[2], "< 50 at " .. BIG, yes(res[2] < 50))
  row("resume: longest callback, ms", f1, rescb[1], rescb[2], "< 16 at " .. BIG, yes(rescb[2] < 16))
  rows[#rows + 1] = { ("idle, %d chats open: main-loop wake-ups in %d s"):format(quiet.chats, quiet.secs), "", tostring(quiet.wakeups), "", "≈ 0 (≤ 5)", yes(quiet.wakeups <= 5) }
  rows[#rows + 1] = { ("idle, %d chats open: Neovim CPU over %d s, ms"):format(quiet.chats, quiet.secs), "", ("%.0f"):format(quiet.cpu_ms), "", "≈ 0 (≤ 20)", yes(quiet.cpu_ms <= 20) }
  local loadcb = m(B, function(r) return r.load_cb or 0 / 0 end)
  rows[#rows + 1] = { "resume: load earlier turns, longest callback (slices included), ms", "", f1(loadcb), "", "< 16 at " .. BIG, yes(loadcb < 16) }

  out(("\nNeovim %s (%s), medians of %d runs; idle floor of the %d ms timer: p99 %s, max %s ms\n")
    :format(NVIM, HEADLESS and "headless" or "TUI", RUNS, TICK_MS, f2(idle.p99), f2(idle.max)))
  out(("| target | %d turns | %d turns | %d/%d | target | |\n| --- | --- | --- | --- | --- | --- |\n")
    :format(SMALL, BIG, BIG, SMALL))
  for _, x in ipairs(rows) do out(("| %s | %s | %s | %s | %s | %s |\n"):format(unpack(x))) end
  out(("(RSS growth of the first chat of each size, opened / after the turn, KB: %d / %d at %d turns, %d / %d at %d; key p50 %s / %s ms; first token drawn %s / %s ms; turn %s / %s ms)\n")
    :format(grow_open[1], grow[1], SMALL, grow_open[2], grow[2], BIG, f2(m(S, function(r) return r.key.p50 end)), f2(m(B, function(r) return r.key.p50 end)),
      f1(m(S, function(r) return r.first_draw end)), f1(m(B, function(r) return r.first_draw end)),
      f1(m(S, function(r) return r.turn_ms end)), f1(m(B, function(r) return r.turn_ms end))))
end

local function main()
  if HEADLESS then
    vim.o.columns, vim.o.lines = 200, 50
    vim.cmd("wincmd =")
  end
  vim.o.laststatus = 2
  vim.o.showmode = false -- headless: "-- INSERT --" would go to stdout
  local ts = pcall(vim.treesitter.language.add, "markdown") and pcall(vim.treesitter.language.add, "markdown_inline")
  local lf = io.open("/proc/loadavg")
  local uptime = lf and lf:read("*l") or "?"
  if lf then lf:close() end
  out(("# bench/long.lua  Neovim %s %s  %dx%d  markdown parsers: %s%s  stream: %d deltas of %d B every %d ms (%.1f KB)  keys every %d ms  load: %s\n")
    :format(NVIM, HEADLESS and "headless" or "TUI", vim.o.columns, vim.o.lines, ts and "yes" or "NO",
      "", #STREAM_DELTAS,
      #FIRST_DELTA, DELAY, #STREAM_TEXT / 1024, KEY_MS, uptime))
  client:start()
  -- <CR> → turn/start counts to the core's request (it writes to the app-server's stdin at
  -- once: uv_write on an idle pipe), past codex.rpc's and await's timer hops.
  local CoreClient = getmetatable(client.rpc.core).__index
  local core_request = CoreClient.request
  CoreClient.request = function(c, method, ...)
    if method == "turn/start" and cur and not cur.t_write then cur.t_write = hrtime() end
    return core_request(c, method, ...)
  end
  local history = {}
  for _, n in ipairs(SIZES) do history[n] = gen_turns(n, "h" .. n) end
  do
    local bytes = 0
    for _, t in ipairs(history[BIG]) do for _, it in ipairs(t.items) do bytes = bytes + #(it.text or it.aggregatedOutput or "") end end
    out(("  history: %d turns, %.2f KB of text per turn on average\n"):format(BIG, bytes / BIG / 1024))
  end
  -- warm-up: a 3-turn chat (module loading, the fake's first turn)
  run(3, gen_turns(3, "warm"))
  if PROFILE then profile_hooks() end
  settle()
  ticks_reset()
  local t0 = hrtime()
  sleep(500)
  local idle = stalls(t0, hrtime())
  local results = {}
  for _, n in ipairs(SIZES) do results[n] = {} end
  for i = 1, RUNS do
    for _, n in ipairs(SIZES) do
      local r = run(n, history[n])
      table.insert(results[n], r)
      out(("  run %d  %3d turns (%d lines): resume %s ms (open %s, longest callback %s; idle again after %s ms; load earlier %s ms, longest callback %s)  turn %s ms  stall p50 %s p99 %s max %s ms  CPU %s%%%s  keys %d: p50 %s p99 %s max %s ms%s  first token: stdout → core delivery %s → buffer %s, → drawn %s ms  <CR> → Rpc.request %s, → stdin %s ms  RSS %d → %d → %d KB%s\n")
        :format(i, n, r.lines, f1(r.resume_draw), f1(r.resume_open), f1(r.resume_cb), ("%.0f"):format(r.idle_after), f1(r.load_draw or 0 / 0), f1(r.load_cb or 0 / 0), f1(r.turn_ms), f2(r.stall.p50),
          f2(r.stall.p99), f2(r.stall.max), f1(r.cpu), r.ui_cpu and (" (TUI process %s%%)"):format(f1(r.ui_cpu)) or "",
          r.nkeys, f2(r.key.p50), f2(r.key.p99), f2(r.key.max), r.key_lost > 0 and (" (%d not arrived)"):format(r.key_lost) or "",
          f2(r.first_core), f2(r.first_wire), f1(r.first_draw), f2(r.cr_req_ms), f2(r.cr_ms), r.rss0, r.rss_open, r.rss1,
          r.text_ok and "" or "  TEXT CHECK FAILED: the streamed message is not in the chat buffer whole"))
      if r.prof then out(prof_line(r.prof, r.turn_ms, r.cpu)) end
      if r.stall.trace then out(table.concat(r.stall.trace)) end
    end
  end
  -- Idle with every chat of the runs still open (hidden): the sampler stopped, nothing runs.
  tick_timer:stop()
  settle()
  local quiet = { chats = #require("codex.ui.chat").all(), secs = 2 }
  local c0, w0 = proc_stat(SELF_PID), sleeps()
  sleep(quiet.secs * 1000)
  quiet.cpu_ms = (proc_stat(SELF_PID) - c0) * 1000
  quiet.wakeups = sleeps() - w0 - 1 -- (less the wake-up that ends this sleep)
  report(results, idle, quiet)
end

local guard = vim.defer_fn(function() fail("timed out after 600 s") end, 600000)
co = coroutine.create(function()
  main()
  guard:stop()
  tick_timer:stop()
  pcall(function() client:close() end)
  vim.schedule(function() vim.cmd("qa!") end)
end)
vim.schedule(resume)
