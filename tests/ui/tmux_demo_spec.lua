-- `make demo` end to end: a real terminal Neovim in tmux, driven with send-keys and read with
-- capture-pane, against the real pinned app-server and the mock in --demo mode.
--   lua5.4 tests/run.lua tests/ui/tmux_demo_spec.lua            (CODEX_TEST_NVIM=nvim by default)
--   CODEX_TEST_NVIM=$PWD/.deps/nvim-0.12/nvim lua5.4 tests/run.lua tests/ui/tmux_demo_spec.lua
-- It runs the same under plain Lua 5.4 and inside the Neovim suites (it only drives tmux); in a
-- Neovim suite the demo runs on the Neovim under test (CODEX_TEST_NVIM: 0.7.2, 0.10, 0.12).
-- It leaves the last screen in .testenv/demo-capture.txt (and the file-change prompt in
-- .testenv/demo-capture-approval.txt, the per-hunk one in .testenv/demo-capture-hunks.txt).
local ROOT = TEST_ROOT

local shell = require("lib.shell")
local q, sh = shell.q, shell.sh

local function sleep(s) os.execute("sleep " .. s) end

if select(2, sh("command -v tmux")) ~= 0 then
  return pending("tmux demo: tmux is not installed")
end

local pid = tonumber((sh("echo $PPID"))) -- the shell's parent: this process
if type(vim) == "table" and vim.fn then pid = vim.fn.getpid() end
local SOCK = "codex-test-" .. pid
local ID = "test-" .. pid
local HOME = ROOT .. "/.testenv/demo-home-" .. ID
local WORKSPACE = ROOT .. "/.testenv/demo-workspace-" .. ID
local NVIM = os.getenv("CODEX_TEST_NVIM") or "nvim"
if NVIM:find("/") and NVIM:sub(1, 1) ~= "/" then NVIM = ROOT .. "/" .. NVIM end

local function tmux(args) return sh("tmux -u -L " .. SOCK .. " " .. args) end

local function capture()
  local out, rc = tmux("capture-pane -p -t demo")
  if rc ~= 0 then error("tmux capture-pane failed (the demo session is gone?): " .. out, 0) end
  return out
end

local function lines_of(s)
  local t = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do t[#t + 1] = l end
  return t
end

--- The screen row (1-based) of the first line containing text, or nil.
local function row_of(screen, text)
  for i, l in ipairs(lines_of(screen)) do
    if l:find(text, 1, true) then return i end
  end
end

local function cursor_row()
  local out = tmux("display-message -p -t demo '#{cursor_y}'")
  return (tonumber(out:match("%d+")) or -1) + 1
end

local function has_all(screen, texts)
  for _, t in ipairs(texts) do
    if not screen:find(t, 1, true) then return false end
  end
  return true
end

--- Polls the screen until pred(screen) holds; returns the screen. Raises with the last screen.
local function wait_screen(what, pred, timeout_s)
  local deadline = os.time() + (timeout_s or 30)
  local screen
  repeat
    screen = capture()
    if pred(screen) then return screen end
    sleep(0.05)
  until os.time() > deadline
  error(("timed out waiting for %s; the screen:\n%s"):format(what, screen), 0)
end

local function wait_texts(what, texts, timeout_s)
  return wait_screen(what, function(s) return has_all(s, texts) end, timeout_s)
end

local function wait_cursor_on(what, text)
  return wait_screen(what, function(s)
    local r = row_of(s, text)
    return r ~= nil and r == cursor_row()
  end, 10)
end

local function keys(...)
  local args = {}
  for _, k in ipairs({ ... }) do args[#args + 1] = q(k) end
  local out, rc = tmux("send-keys -t demo " .. table.concat(args, " "))
  if rc ~= 0 then error("tmux send-keys failed: " .. out, 0) end
end

local function type_text(text)
  local out, rc = tmux("send-keys -t demo -l " .. q(text))
  if rc ~= 0 then error("tmux send-keys failed: " .. out, 0) end
end

local function insert_mode(s) return s:find("-- INSERT --", 1, true) ~= nil end

--- Leaves insert mode (alone: an <Esc> followed at once by a key would read as <M-key>).
local function escape()
  keys("Escape")
  wait_screen("normal mode", function(s) return not insert_mode(s) end, 10)
end

local files = require("lib.files")
local read, write = files.read, files.write

--- The processes whose environment holds this demo's CODEX_HOME (the app-server and its
--- children): pids.
local function home_procs()
  local out = sh("grep -lsxzF " .. q("CODEX_HOME=" .. HOME) .. " /proc/[0-9]*/environ")
  local pids = {}
  for p in out:gmatch("/proc/(%d+)/environ") do pids[#pids + 1] = tonumber(p) end
  return pids
end

local function cmdline(p)
  local s = read("/proc/" .. p .. "/cmdline")
  return s and s:gsub("%z", " ") or nil
end

--- pid → cmdline of a process and all its descendants.
local function tree(root_pid)
  local out, todo = {}, { root_pid }
  while #todo > 0 do
    local p = table.remove(todo)
    out[p] = cmdline(p) or "?"
    for c in (sh("pgrep -P " .. p)):gmatch("%d+") do todo[#todo + 1] = tonumber(c) end
  end
  return out
end

local function port_open(port)
  local _, rc = sh("timeout 2 bash -c " .. q("exec 3<>/dev/tcp/127.0.0.1/" .. port))
  return rc == 0
end

local socket_path -- kill-server leaves the socket file behind

local function cleanup()
  tmux("kill-server")
  if socket_path then os.remove(socket_path) end
  sh("rm -rf " .. q(WORKSPACE) .. " " .. q(HOME))
end

describe("make demo in a real terminal (tmux)", function()
  local broken = nil -- the first failed step: later steps would only time out
  local function step(name, fn)
    it(name, function()
      if broken then error("not run: an earlier step failed (" .. broken .. ")", 0) end
      local ok, err = pcall(fn)
      if not ok then
        broken = name
        error(err, 0)
      end
    end)
  end

  local procs, port, server_pid

  tmux("kill-server") -- a stale server from a killed run of this pid
  sh("rm -rf " .. q(WORKSPACE))
  teardown(cleanup)

  step("opens a clean Neovim with the chat, on the mock", function()
    -- A placeholder first, so remain-on-exit is set before the demo can end.
    local env = ("env -u TMUX NVIM=%s CODEX_DEMO_ID=%s CODEX_DEMO_WORKSPACE=%s "):format(q(NVIM), q(ID), q(WORKSPACE))
    local out, rc = sh(env .. "tmux -u -L " .. SOCK .. " -f /dev/null new-session -d -s demo -x 160 -y 50 -c "
      .. q(ROOT) .. " 'sleep 600'")
    assert(rc == 0, "tmux new-session failed: " .. out)
    tmux("set-option -g remain-on-exit on")
    local info = tmux("display-message -p '#{pid} #{socket_path}'")
    server_pid = tonumber(info:match("^(%d+)"))
    socket_path = info:match("^%d+ (%S+)")
    assert(server_pid, "the tmux server's pid: " .. info)
    out, rc = tmux("respawn-pane -k -t demo " .. q("bash scripts/demo.sh"))
    assert(rc == 0, "tmux respawn-pane failed: " .. out)
    -- The first run may build the module.
    local s = wait_screen("the demo Neovim with the chat", function(screen)
      return has_all(screen, { "codex.nvim demo", "Codex", "idle" }) and insert_mode(screen)
    end, 180)
    expect.match(s, "No account, no network")
    expect.match(s, "<C%-a>")
  end)

  step("streams the markdown answer with its code block (<C-s> in insert mode)", function()
    type_text("Hello! What can you do?")
    keys("C-s")
    -- Streaming: the heading shows before the code block has arrived.
    local partial = false
    local s = wait_screen("the streamed markdown answer", function(screen)
      if screen:find("Hello from the demo model", 1, true) and not screen:find("print(greet", 1, true) then
        partial = true
      end
      -- (markdown markers are concealed: "```lua" shows as "lua", "## You" as "You")
      return has_all(screen, { "# Hello from the demo model", 'print(greet("neovim"))', "idle" })
    end, 60)
    expect.truthy(partial, "saw the answer before it was complete (streamed)")
    expect.match(s, "You ─")
    expect.match(s, "Hello! What can you do%?")
    expect.match(s, "%- a shell command that asks for approval")
    expect.match(s, "local function greet%(name%)")
  end)

  -- The screen with its colours: `capture-pane -e` (SGR escape sequences kept).
  local function capture_e()
    local out, rc = tmux("capture-pane -p -e -t demo")
    if rc ~= 0 then error("tmux capture-pane -e failed: " .. out, 0) end
    return out
  end

  -- The SGR sequences in effect at the first occurrence of text (searched with the escape
  -- sequences taken out), e.g. "\27[94m"; "" when none since the last reset.
  local function sgr_before(screen, text, skip)
    for l in (screen .. "\n"):gmatch("(.-)\n") do
      local plain = l:gsub("\27%[[%d;]*m", "")
      local at = plain:find(text, 1, true)
      if at then
        local codes, i, n = {}, 1, 0 -- n: plain bytes passed
        while n < at - 1 + (skip or 0) or l:find("^\27%[", i) do
          local code = l:match("^\27%[[%d;]*m", i)
          if code then
            if code == "\27[m" or code == "\27[0m" then codes = {} else codes[#codes + 1] = code end
            i = i + #code
          else
            i, n = i + 1, n + 1
          end
        end
        local out = table.concat(codes)
        -- the colour resets that follow a reset leave nothing in effect
        return (out:gsub("\27%[39m", ""):gsub("\27%[49m", "")), l
      end
    end
    error(("no %q on the screen:\n%s"):format(text, screen), 2)
  end

  step("draws who speaks apart from headings, conceals markers, colours the code (issue 9)", function()
    local s = capture_e()
    local plain = capture()
    -- role headers: "## " concealed, a rule, their own colours unlike the answer's heading
    expect.match(plain, "│You ─+", "the user's header with its rule (the chat is the right window)")
    expect.match(plain, "│Codex ─+", "the agent's header with its rule")
    local you = sgr_before(s, "│You ─", #"│") -- (at the label, after the window separator)
    local codex = sgr_before(s, "│Codex ─", #"│")
    local heading = sgr_before(s, "# Hello from the demo model")
    expect.truthy(you ~= "" and codex ~= "" and heading ~= "", ("coloured: %q %q %q"):format(you, codex, heading))
    expect.truthy(you ~= codex and you ~= heading and codex ~= heading,
      ("three looks: you %q, codex %q, heading %q"):format(you, codex, heading))
    -- bold without its stars, inline code without backticks, the fence as a label
    expect.falsy(plain:find("**approval**", 1, true), "** concealed")
    expect.truthy(sgr_before(s, "asks for approval first", #"asks for ") ~= "", "the bold word is bold")
    expect.falsy(plain:find("```lua", 1, true), "the fence's backticks concealed")
    -- the lua block's code is coloured (its parser on 0.10+, the plugin's lexer on 0.7)
    expect.truthy(sgr_before(s, "local function greet") ~= "", "`local` is coloured")
  end)

  step("asks before running a command; typed-ahead keys do not answer (<CR> in normal mode)", function()
    type_text("Run something")
    escape()
    keys("Enter")
    local s = wait_texts("the command approval", {
      "Codex wants to run a command", "$ echo demo-ok && ls -la", "g1  Run once", "Decline", "waiting for approval",
    }, 60)
    expect.truthy(row_of(s, "Run once") > row_of(s, "echo demo-ok"), "choices under the command")
    -- Keys that would answer, typed in the input: they stay text there.
    keys("i")
    type_text("y")
    keys("Enter")
    type_text("1")
    keys("Enter")
    type_text("g1 typed ahead")
    s = wait_texts("the typed-ahead text in the input", { "g1 typed ahead" }, 10)
    expect.truthy(has_all(s, { "Codex wants to run a command", "g1  Run once", "waiting for approval" }),
      "the prompt is still open:\n" .. s)
    expect.falsy(s:find("demo-ok\n", 1, true), "the command did not run")
    -- Clear the input, jump into the prompt, answer with the g1 chord.
    escape()
    keys("g", "g", "d", "G")
    wait_screen("the input cleared", function(screen) return not screen:find("typed ahead", 1, true) end, 10)
    keys("C-a")
    wait_cursor_on("the cursor in the prompt, on the first choice", "g1  Run once")
    keys("g", "1")
    s = wait_texts("the command output", { "Command output: demo-ok", "main.lua", "idle" }, 60)
    expect.falsy(s:find("Codex wants to run a command", 1, true), "the prompt closed")
    expect.match(s, "echo demo%-ok && ls %-la")
  end)

  step("asks before a file change, with its diff; <C-a> then <CR> on a choice applies it", function()
    keys("i")
    type_text("Now change a file")
    keys("C-s")
    local s = wait_texts("the file-change approval", {
      "Codex wants to change a file", "hello.lua", "+local M = {}", "+function M.greet(name)", "+return M",
      "g1  Apply the change", "waiting for approval",
    }, 60)
    write(ROOT .. "/.testenv/demo-capture-approval.txt", s)
    expect.falsy(read(WORKSPACE .. "/hello.lua"), "nothing written before the answer")
    keys("C-a")
    wait_cursor_on("the cursor in the prompt, on the first choice", "g1  Apply the change")
    keys("/")
    type_text("Apply the change")
    keys("Enter")
    wait_cursor_on("the cursor on the choice", "g1  Apply the change")
    keys("Enter")
    s = wait_texts("the patch result", { "Patch result: Success", "idle" }, 60)
    expect.falsy(s:find("Codex wants to change a file", 1, true), "the prompt closed")
    write(ROOT .. "/.testenv/demo-capture.txt", s)
    local hello = read(WORKSPACE .. "/hello.lua")
    expect.truthy(hello, "hello.lua exists in the workspace")
    expect.match(hello, "function M%.greet%(name%)")
  end)

  step("a file the agent changes is reloaded in its window; answering from insert mode shows -- INSERT --", function()
    -- reload.txt open in the left window (a new file), then the agent adds it
    escape()
    type_text(":lua vim.api.nvim_win_call(vim.fn.win_getid(1), function() vim.cmd('edit reload.txt') end)")
    keys("Enter")
    wait_texts("reload.txt in the left window", { "reload.txt" }, 10)
    keys("i")
    type_text("[[patch]] reload.txt")
    keys("C-s")
    wait_texts("the file-change approval", { "Codex wants to change a file", "reload.txt", "g1  Apply the change" }, 60)
    type_text("typing")
    keys("C-a")
    wait_cursor_on("the cursor on the first choice", "g1  Apply the change")
    keys("g", "1")
    local s = wait_screen("the buffer reloaded and insert mode shown", function(screen)
      return (lines_of(screen)[1] or ""):find("^hello from apply_patch") ~= nil
        and screen:find("add reload.txt ✓ applied", 1, true) ~= nil and insert_mode(screen)
    end, 60)
    -- nothing blocks: no W11/W12 question, no hit-enter prompt
    expect.falsy(s:find("W1[12]"), "a W11/W12 question:\n" .. s)
    expect.falsy(s:find("Press ENTER", 1, true), "a hit-enter prompt:\n" .. s)
    local left = lines_of(s)[1]
    expect.match(left, "^hello from apply_patch", "the left window shows the agent's file:\n" .. s)
    expect.match(s, "typing")
  end)

  step("colours the applied diff in the chat by its lines' first characters (issue 9, #14)", function()
    local s = capture_e()
    -- the chat's file-change block (left window): + lines coloured, unlike the context
    local add = sgr_before(s, "+local M = {}")
    expect.truthy(add ~= "", "an added line is coloured: " .. add)
  end)

  step("the demo runs the app-server and the mock as its own processes", function()
    local pane = tonumber((tmux("display-message -p -t demo '#{pane_pid}'")):match("%d+"))
    procs = tree(pane)
    local names = {}
    for _, c in pairs(procs) do names[#names + 1] = c end
    local all = table.concat(names, "\n")
    expect.match(all, "tests/mock/server%.lua %-%-demo", "the mock runs under the demo")
    expect.match(all, "nvim %-%-clean %-u " .. ROOT:gsub("%p", "%%%0") .. "/scripts/demo/init%.lua")
    expect.match(all, "codex app%-server", "the app-server runs under Neovim")
    -- The TUI runs directly (the unpacked Neovims re-exec themselves): no headless editor
    -- with a --remote-ui client beside it.
    expect.falsy(all:find("--remote-ui", 1, true), "no --remote-ui client:\n" .. all)
    expect.falsy(all:find("--headless", 1, true), "no headless editor:\n" .. all)
    local by_home = home_procs()
    expect.truthy(#by_home >= 1, "a process has the demo's CODEX_HOME")
    for _, p in ipairs(by_home) do procs[p] = procs[p] or cmdline(p) or "?" end
    port = tonumber((read(HOME .. "/config.toml") or ""):match("127%.0%.0%.1:(%d+)/v1"))
    expect.truthy(port, "the mock's port in the demo's config.toml")
    expect.truthy(port_open(port), "the mock listens")
  end)

  step(":Codex new reuses the chat windows and welcomes; <C-c> in insert mode interrupts, typing goes on", function()
    escape()
    type_text(":Codex new")
    keys("Enter")
    local s = wait_texts("the new chat's welcome", { "write in the input below", "g?", "all keys" }, 20)
    expect.falsy(s:find("Hello from the demo model", 1, true), "the old chat is hidden, not beside it:\n" .. s)
    keys("i")
    type_text("[[slow]] interrupt me")
    keys("C-s")
    wait_texts("the slow turn", { "one two" }, 30)
    keys("C-c")
    type_text("typed after")
    s = wait_texts("the interrupted turn", { "— interrupted", "typed after", "-- INSERT --" }, 30)
    expect.falsy(s:find("ten", 1, true), "the turn did not run to its end:\n" .. s)
    escape()
    keys("g", "g", "d", "G")
    wait_screen("the input cleared", function(screen) return not screen:find("typed after", 1, true) end, 10)
  end)

  step("a 3-file patch hunk by hunk: reject one, apply the others; the agent is told (issue 10)", function()
    local U = require("mock.update_patch")
    write(WORKSPACE .. "/big.lua", U.before.two)
    write(WORKSPACE .. "/main.lua", U.before.one)
    os.remove(WORKSPACE .. "/extra.txt")
    keys("i")
    type_text("[[update]]")
    keys("C-s")
    wait_texts("the per-hunk prompt", { "Codex wants to change 3 files", "hunks: 4 of 4 accepted", "g1  Apply the change" }, 60)
    keys("C-a")
    wait_cursor_on("the cursor on the first choice", "g1  Apply the change")
    keys("]", "h", "]", "h")
    wait_cursor_on("the cursor on big.lua's second hunk", "✓ @@ -18,3 +18,3 @@")
    keys("r")
    local s = wait_texts("the hunk rejected", { "✗ @@ -18,3 +18,3 @@", "hunks: 3 of 4 accepted", "g1  Apply only the accepted hunks (3 of 4" }, 10)
    write(ROOT .. "/.testenv/demo-capture-hunks.txt", s)
    expect.eq(read(WORKSPACE .. "/big.lua"), U.before.two, "nothing written before the answer")
    keys("g", "1")
    s = wait_texts("the steer in the chat", { "I reviewed your patch hunk by hunk", "idle" }, 60)
    expect.falsy(s:find("Codex wants to change 3 files", 1, true), "the prompt closed:\n" .. s)
    expect.eq(read(WORKSPACE .. "/big.lua"), (U.before.two:gsub("return 1\n", "return 10\n")), "big.lua: only its first hunk")
    expect.eq(read(WORKSPACE .. "/main.lua"), (U.before.one:gsub('print%("main"%)', 'print("main, updated")')))
    expect.eq(read(WORKSPACE .. "/extra.txt"), U.new_text)
  end)

  step(":qa! ends the demo and leaves no process, no CODEX_HOME", function()
    escape()
    type_text(":qa!")
    keys("Enter")
    local deadline, dead = os.time() + 30, nil
    repeat
      dead = (tmux("display-message -p -t demo '#{pane_dead} #{pane_dead_status} #{pane_dead_signal}'"))
      -- pane_dead comes with the pty's EOF; the exit status once tmux has reaped the process
      if dead:match("^1 +%d") then break end
      if dead:match("^1") then
        -- Debian's tmux uses libutempter, whose own SIGCHLD handler, installed while tmux
        -- closes the pane's pty, can swallow the pane's SIGCHLD: the process then stays a
        -- zombie and the status never comes (tmux/tmux#311). A SIGCHLD makes tmux reap it.
        sh("kill -CHLD " .. server_pid)
      end
      sleep(0.05)
    until os.time() > deadline
    if not dead:match("^1 0 ") then
      local alive = {}
      for p in pairs(procs) do
        if cmdline(p) then
          alive[#alive + 1] = (sh("ps -o pid=,ppid=,stat=,args= -p " .. p)):gsub("%s+$", "")
          local pp = (sh("ps -o ppid= -p " .. p)):match("%d+")
          alive[#alive + 1] = (sh("ps -o pid=,stat=,wchan=,args= -p " .. pp .. "; grep -E 'Sig|State' /proc/" .. pp .. "/status"))
        end
      end
      error(("the demo did not exit with status 0 (pane: %q); its processes still running: %s; the screen:\n%s")
        :format(dead, table.concat(alive, "; "), capture()), 0)
    end
    local s = capture()
    expect.falsy(s:find("demo: ", 1, true), "demo.sh had nothing to report (or left to stop):\n" .. s)
    local left = {}
    for p, c in pairs(procs) do
      if cmdline(p) == c then left[#left + 1] = p .. " " .. c end
    end
    expect.eq(#left, 0, "processes left: " .. table.concat(left, "; "))
    expect.eq(#home_procs(), 0, "processes with the demo's CODEX_HOME")
    expect.falsy(port_open(port), "the mock's port is closed")
    expect.falsy(read(HOME .. "/config.toml"), "the demo's CODEX_HOME is removed")
    local out, rc = tmux("kill-server")
    expect.eq(rc, 0, "kill-server: " .. out)
    local _, has = tmux("has-session -t demo")
    expect.truthy(has ~= 0, "the tmux server is gone")
  end)
end)
