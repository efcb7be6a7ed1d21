-- tests/lib/runner.lua: busted (Debian's lua-busted), set up for this project's hosts: plain
-- Lua 5.4 and Neovim 0.7.2/0.10/0.12 (LuaJIT, Debian's Lua 5.1 trees; see tests/run.lua).
-- R.main(args) is busted's own busted.runner, minus the process exit, with these changes:
--
-- * it(): every finally(fn) of a test runs (busted keeps only the last one), the last
--   registered first, before the after_each hooks. A test has a deadline (CODEX_TEST_TIMEOUT
--   seconds, 180 unless set): past it, the test's Lua code raises "timed out", so a hung test
--   fails with its name and the run goes on. Waits have their own, shorter deadlines
--   (wait_for). While a test runs, its name is in the file CODEX_TEST_RUNNING names (if set):
--   when a test hangs where no hook runs (a blocking C call; in Neovim, a loop LuaJIT has
--   compiled: its traces skip count hooks), scripts/test.sh's timeout kills the run (SIGKILL
--   30 s after SIGTERM) and names it.
-- * describe()/file: a body that raises still runs the teardown()s it registered (busted skips
--   them), so a describe that started a mock and then failed leaves nothing running.
-- * The compatibility layer the specs were written against: the global `expect` (eq, same,
--   truthy, falsy, match, raises, lt; luassert's assert is there as well) and
--   wait_for(cond, ms, what) (the same as tests/lib/env.lua's wait, with a timeout).
--
-- Output: tests/lib/output.lua ("ok …"/"FAIL …"/"SKIP …" lines) unless -o says otherwise, then
-- always "N passed, N failed[, N skipped]" (scripts/test.sh sums it). CODEX_TEST_JUNIT=file
-- also writes busted's JUnit report there.
local R = {}

-- Inside Neovim, print() goes through the message area; write lines straight to stdout, or
-- to the file CODEX_TEST_LOG names (appended: a Neovim with a UI, e.g. in tmux, has its
-- terminal on stdout).
local print = print
if type(vim) == "table" and vim.api then
  local log = os.getenv("CODEX_TEST_LOG")
  local out = log and log ~= "" and assert(io.open(log, "a")) or io.stdout
  print = function(s) out:write(tostring(s), "\n") out:flush() end
end
R.print = print

R.timeout = tonumber(os.getenv("CODEX_TEST_TIMEOUT") or "") or 180

-- The deadline of the running test (os.time()), checked by a count hook. -----------------
local deadline, running_name = nil, nil
local function hook()
  if deadline and os.time() > deadline then
    -- Raised again at every check until the test's own code gets it (a pcall in the code
    -- under test may swallow one).
    error(("timed out: the test ran for more than %d s (CODEX_TEST_TIMEOUT)"):format(R.timeout), 2)
  end
end
local function arm(name)
  running_name = name
  deadline = os.time() + R.timeout
  debug.sethook(hook, "", 10000)
  local f = os.getenv("CODEX_TEST_RUNNING")
  if f and f ~= "" then
    local h = io.open(f, "w")
    if h then h:write(name, "\n") h:close() end
  end
end
local function disarm()
  deadline = nil
  debug.sethook()
end
R.running = function() return running_name end

local current_finals = nil -- the finally() list of the running test
--- Inside a test: fn runs when the test ends, passed or failed (the last registered first,
--- before the after_each hooks).
function R.finally(fn)
  assert(current_finals, "finally() outside a test")
  current_finals[#current_finals + 1] = fn
end

--- Replaces busted's executors for it, describe and file (see the top of this file).
local function install_executors(busted)
  local block = require("busted.block")(busted)
  local executors
  for i = 1, 50 do
    local name, value = debug.getupvalue(busted.execute, i)
    if name == "executors" then executors = value break end
    if not name then break end
  end
  assert(executors, "busted.execute has no upvalue 'executors' (busted version?)")

  local function run_block(descriptor, element)
    if not element.env then element.env = {} end
    local randomize, randomseed = busted.randomize, busted.randomseed
    element.env.randomize = function(...)
      randomize = (select("#", ...) == 0 or ...)
      if randomize then randomseed = tonumber(({ ... })[1]) or tonumber(({ ... })[2]) or randomseed end
    end
    if busted.safe(descriptor, element.run, element):success() then
      if busted.sort then
        table.sort(busted.context.children(element), function(a, b)
          if a.name and b.name then return a.name < b.name end
          return b.name ~= nil
        end)
      elseif randomize then
        element.randomseed = randomseed
        require("busted.utils").shuffle(busted.context.children(element), randomseed)
      end
      if block.setup(element) then busted.execute(element) end
      block.lazyTeardown(element)
      block.teardown(element)
    else
      block.teardown(element) -- what the body registered before it raised
    end
  end

  executors.file = function(file)
    busted.wrap(file.run)
    if busted.safe_publish("file", { "file", "start" }, file) then run_block("file", file) end
    busted.safe_publish("file", { "file", "end" }, file)
  end

  executors.describe = function(describe)
    local parent = busted.context.parent(describe)
    if busted.safe_publish("describe", { "describe", "start" }, describe, parent) then
      run_block("describe", describe)
    end
    busted.safe_publish("describe", { "describe", "end" }, describe, parent)
  end

  local getFullName = function(element)
    local names = { element.name }
    local p = busted.context.parent(element)
    while p and p.name and p.descriptor ~= "file" do
      table.insert(names, 1, p.name)
      p = busted.context.parent(p)
    end
    return table.concat(names, " ")
  end

  executors.it = function(element)
    local parent = busted.context.parent(element)
    if not block.lazySetup(parent) then return end -- a setup failed: skip the test
    if not element.env then element.env = {} end
    block.rejectAll(element)
    local finals = {}
    current_finals = finals
    element.env.finally = R.finally
    element.env.pending = busted.pending
    arm(getFullName(element))
    local pass, ancestor = block.execAll("before_each", parent, true)
    if pass then
      local status = busted.status("success")
      if busted.safe_publish("test", { "test", "start" }, element, parent) then
        status:update(busted.safe("it", element.run, element))
        disarm()
        if #finals > 0 then block.reject("pending", element) end
        for i = #finals, 1, -1 do status:update(busted.safe("finally", finals[i], element)) end
      else
        status = busted.status("error")
      end
      busted.safe_publish("test", { "test", "end" }, element, parent, tostring(status))
    end
    disarm()
    current_finals = nil
    block.dexecAll("after_each", ancestor, true)
    running_name = nil
  end

  -- The same functions as globals, for helper modules (tests/lib/*) that register hooks: busted
  -- gives them to spec files only (through their environment).
  for _, k in ipairs({ "describe", "it", "pending", "before_each", "after_each", "setup", "teardown",
    "lazy_setup", "lazy_teardown", "strict_setup", "strict_teardown" }) do
    rawset(_G, k, busted.executors[k])
  end
  rawset(_G, "finally", R.finally)
end

--- Runs busted with these command-line arguments; returns the exit code (0: all passed).
function R.main(args, o)
  local path = require("pl.path")
  local options = { standalone = false, output = o.root .. "/tests/lib/output.lua" }
  local busted = require("busted.core")()
  local cli = require("busted.modules.cli")(options)
  local filterLoader = require("busted.modules.filter_loader")()
  local helperLoader = require("busted.modules.helper_loader")()
  local outputHandlerLoader = require("busted.modules.output_handler_loader")()
  require("busted")(busted)
  install_executors(busted)

  cli:set_name("tests/run.lua")
  local has_dir = false
  for _, a in ipairs(args) do if a:match("^%-C") or a:match("^%-%-directory") then has_dir = true end end
  if not has_dir then table.insert(args, 1, "--directory=" .. o.root) end
  -- CODEX_TEST_FILTER=<text>: only the tests whose full name contains the text (plain, not
  -- a pattern: the same as --filter with the text escaped).
  local plain = os.getenv("CODEX_TEST_FILTER")
  if plain and plain ~= "" then args[#args + 1] = "--filter=" .. plain:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0") end
  local cliArgs, err = cli:parse(args)
  if not cliArgs then print(err) return 1 end
  local _, cerr = path.chdir(path.normpath(cliArgs.directory))
  if cerr then print("tests/run.lua: " .. cerr) return 1 end
  if not cliArgs["auto-insulate"] then busted.register("file", "file", {}) end
  if cliArgs.lazy then
    busted.register("setup", "lazy_setup")
    busted.register("teardown", "lazy_teardown")
  end
  if #cliArgs.lpath > 0 then package.path = (cliArgs.lpath .. ";" .. package.path):gsub(";;", ";") end
  if #cliArgs.cpath > 0 then package.cpath = (cliArgs.cpath .. ";" .. package.cpath):gsub(";;", ";") end

  local counts = { passed = 0, failed = 0, skipped = 0 }
  busted.subscribe({ "test", "end" }, function(_, _, status)
    if status == "success" then counts.passed = counts.passed + 1
    elseif status == "pending" then counts.skipped = counts.skipped + 1 end
    return nil, true
  end)
  busted.subscribe({ "error" }, function() counts.failed = counts.failed + 1 return nil, true end)
  busted.subscribe({ "failure" }, function() counts.failed = counts.failed + 1 return nil, true end)

  busted.sort = cliArgs["sort-tests"]
  busted.randomize = cliArgs["shuffle-tests"]
  busted.randomseed = tonumber(cliArgs.seed) or os.time()

  local hopts = {
    defaultOutput = "plainTerminal", verbose = cliArgs.verbose, suppressPending = cliArgs["suppress-pending"],
    language = cliArgs.lang, deferPrint = cliArgs["defer-print"], arguments = cliArgs.Xoutput,
  }
  outputHandlerLoader(busted, cliArgs.output, hopts)
  local junit = os.getenv("CODEX_TEST_JUNIT")
  if junit and junit ~= "" and cliArgs.output ~= "junit" then
    local jopts = {}
    for k, v in pairs(hopts) do jopts[k] = v end
    jopts.arguments = { junit }
    outputHandlerLoader(busted, "junit", jopts)
  end
  require("busted.luajit")()
  if cliArgs.helper and cliArgs.helper ~= "" then
    local ok, herr = helperLoader(busted, cliArgs.helper, { verbose = cliArgs.verbose, language = cliArgs.lang, arguments = cliArgs.Xhelper })
    if not ok then print("tests/run.lua: the helper " .. cliArgs.helper .. " failed: " .. tostring(herr)) return 1 end
  end
  filterLoader(busted, {
    tags = cliArgs.tags, excludeTags = cliArgs["exclude-tags"], filter = cliArgs.filter,
    filterOut = cliArgs["filter-out"], list = cliArgs.list, nokeepgoing = not cliArgs["keep-going"],
    suppressPending = cliArgs["suppress-pending"],
  })
  local host = type(vim) == "table" and vim.api and ("nvim " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor)) or _VERSION
  local files = require("busted.modules.test_file_loader")(busted, cliArgs.loaders)(cliArgs.ROOT, cliArgs.pattern, {
    excludes = cliArgs["exclude-pattern"], verbose = cliArgs.verbose, recursive = cliArgs.recursive,
  })
  print(("# codex.nvim tests under %s (busted %s): %d file(s)"):format(host, busted.version, #files))
  require("busted.execute")(busted)(cliArgs["repeat"], {
    seed = cliArgs.seed, shuffle = cliArgs["shuffle-files"], sort = cliArgs["sort-files"],
  })
  busted.publish({ "exit" })
  disarm()
  -- (in Neovim, a late notification may have left the output line unfinished)
  if type(vim) == "table" then print("") end
  print(("%d passed, %d failed%s"):format(counts.passed, counts.failed,
    counts.skipped > 0 and (", %d skipped"):format(counts.skipped) or ""))
  R.results = counts
  return (counts.failed > 0 or counts.passed == 0) and 1 or 0
end

-- The compatibility layer: expect and wait_for, as globals for every spec. -------------------
local function dump(v, depth)
  depth = depth or 0
  if type(v) == "string" then return ("%q"):format(#v > 200 and v:sub(1, 200) .. "…" or v) end
  if type(v) ~= "table" or depth > 3 then return tostring(v) end
  if getmetatable(v) and getmetatable(v).__tostring then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. "=" .. dump(x, depth + 1) end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end
R.dump = dump

-- Failures go through busted.fail: reported as failures (not errors), at the spec's line.
local function fail(msg) require("busted").fail(msg, 3) end

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function prefix(what) return what and what .. ": " or "" end
expect = {}
function expect.eq(actual, expected, what)
  if actual ~= expected then fail(("%sexpected %s, got %s"):format(prefix(what), dump(expected), dump(actual))) end
end
function expect.same(actual, expected, what)
  if not deep_eq(actual, expected) then fail(("%sexpected %s, got %s"):format(prefix(what), dump(expected), dump(actual))) end
end
function expect.truthy(v, what)
  if not v then fail((what or "expected a true value") .. ", got " .. dump(v)) end
  return v
end
function expect.falsy(v, what)
  if v then fail((what or "expected a false value") .. ", got " .. dump(v)) end
end
function expect.match(s, pattern, what)
  if type(s) ~= "string" or not s:find(pattern) then fail(("%sexpected %s to match %q"):format(prefix(what), dump(s), pattern)) end
end
--- Calls fn and expects it to raise; returns the error value.
function expect.raises(fn, what)
  local ok, err = pcall(fn)
  if ok then fail((what or "expected an error") .. ", but the call succeeded") end
  return err
end
function expect.lt(a, b, what)
  if not (a < b) then fail(("%sexpected %s < %s"):format(prefix(what), dump(a), dump(b))) end
end

--- Waits, running the host's loop, until cond() returns a true value (which it returns), or
--- fails the test after ms milliseconds with a message naming what was awaited (what() is
--- called then, to describe the state it timed out in). The only way specs wait: never a fixed
--- sleep. (tests/lib/env.lua's wait(cond, what) is this with a default timeout.)
---@param cond fun(): any
---@param ms number
---@param what string|fun(): string
function wait_for(cond, ms, what)
  assert(type(cond) == "function" and type(ms) == "number" and (type(what) == "string" or type(what) == "function"),
    "wait_for(cond, ms, what)")
  local v
  local function check()
    v = cond()
    return v and true or false
  end
  local ok
  if type(vim) == "table" and vim.wait then
    ok = vim.wait(ms, check, 10)
  else
    ok = require("codex.host").wait(ms, check)
  end
  if not ok then
    fail(("timed out after %d ms waiting for %s"):format(ms, type(what) == "function" and what() or what))
  end
  return v
end
R.wait_for = wait_for

return R
