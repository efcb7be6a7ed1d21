-- Every script in examples/ runs against the mock, under lua5.4 and, when this suite runs
-- inside Neovim, under that Neovim too (`-c luafile` on 0.7, `-l` on 0.10+).
local e2e = require("lib.e2e")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local env = e2e.env({ mock_args = { "--device-interval", "0" } })
teardown(env.close)

--- Runs examples/<name>.lua in the workspace with the mock's environment; returns its output.
local function run(host, name, vars)
  local parts = { "cd", q(env.workspace), "&&", "env" }
  for k, v in pairs(env.env) do -- env(1): unsets before assignments
    if v == false then parts[#parts + 1] = "-u " .. k end
  end
  for k, v in pairs(env.env) do
    if v ~= false then parts[#parts + 1] = k .. "=" .. q(v) end
  end
  for k, v in pairs(vars or {}) do parts[#parts + 1] = k .. "=" .. q(v) end
  local script = TEST_ROOT .. "/examples/" .. name .. ".lua"
  if host == "lua" then
    parts[#parts + 1] = "LUA_PATH=" .. q(TEST_ROOT .. "/lua/?.lua;" .. TEST_ROOT .. "/lua/?/init.lua;;")
    parts[#parts + 1] = "LUA_CPATH=" .. q(TEST_ROOT .. "/build/lua5.4/?.so;;")
    parts[#parts + 1] = "lua5.4 " .. q(script)
  else
    local nvim = os.getenv("CODEX_TEST_NVIM") or "nvim"
    local rtp = "--cmd " .. q("set rtp^=" .. TEST_ROOT)
    if vim.fn.has("nvim-0.9") == 1 then
      parts[#parts + 1] = ("%s --headless -u NONE -i NONE %s -l %s"):format(q(nvim), rtp, q(script))
    else
      parts[#parts + 1] = ("%s --headless -u NONE -i NONE %s -c %s -c 'qa!'"):format(q(nvim), rtp, q("luafile " .. script))
    end
  end
  local p = io.popen(table.concat(parts, " ") .. " 2>&1 </dev/null")
  local out = p:read("*a")
  p:close()
  return out
end

local hosts = { "lua" }
if vim then hosts[#hosts + 1] = "nvim" end

for _, h in ipairs(hosts) do
  describe("examples (" .. h .. ")", function()
    it("ask.lua answers a one-shot question", function()
      expect.match(run(h, "ask", { CODEX_QUESTION = "hello" }), "Hello from the mock model!\n")
    end)

    it("stream.lua streams the answer, then the usage", function()
      local out = run(h, "stream", { CODEX_QUESTION = "hello" })
      expect.match(out, "Hello from the mock model!\n%[completed, 15 tokens%]")
    end)

    it("approvals.lua accepts an allowed command and declines another", function()
      os.remove(env.workspace .. "/approved.txt")
      local out = run(h, "approvals", { CODEX_QUESTION = "[[exec]] touch approved.txt && echo done" })
      expect.match(out, "command completed: .*touch approved.txt")
      expect.truthy(e2e.exists(env.workspace .. "/approved.txt"), out)
      out = run(h, "approvals", { CODEX_QUESTION = "[[exec]] rm -f approved.txt" })
      expect.match(out, "declined: item/commandExecution/requestApproval .*rm %-f approved.txt")
      expect.truthy(e2e.exists(env.workspace .. "/approved.txt"), "the declined rm did not run")
    end)

    it("device_login.lua signs in with the mock issuer's code", function()
      local out = run(h, "device_login")
      expect.match(out, "Open http://127%.0%.0%.1:%d+/codex/device and enter the code MOCK%-CODE")
      expect.match(out, "Signed in")
    end)

    it("resume_fork.lua resumes and forks a thread", function()
      local out = run(h, "resume_fork")
      expect.match(out, "thread [%w%-]+ forked into [%w%-]+: Hello from the mock model!")
      expect.match(out, "the number")
    end)

    it("parallel.lua runs two turns on two threads at once", function()
      local out = run(h, "parallel")
      expect.match(out, "First question %-> Hello from the mock model!\nSecond question %-> Hello from the mock model!")
    end)
  end)
end
