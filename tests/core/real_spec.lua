-- The real pinned codex app-server (0.171.0), offline: spawn, handshake, account/read,
-- model/list, thread/start, and a clean close that leaves no process behind.
local rpc = require("codex.rpc")
local host = require("codex.host")
local mock = require("mock.launch") -- only its CODEX_HOME helpers: no mock runs here

local function alive(pid)
  local r = os.execute("kill -0 " .. pid .. " 2>/dev/null")
  return r == true or r == 0 -- Lua 5.4 / LuaJIT
end

local function children(pid)
  local p = io.popen("pgrep -P " .. pid)
  local out = {}
  for l in p:lines() do out[#out + 1] = tonumber(l) end
  p:close()
  return out
end

describe("real codex app-server", function()
  local home, c
  before_each(function()
    home = mock.create_home(9) -- the discard port: nothing listens, nothing leaves the machine
    c = rpc.new({ env = mock.env(home, 9), app_server_args = { "--strict-config" }, cwd = home })
  end)
  after_each(function()
    if c then pcall(c.close, c) end
    mock.remove_home(home)
  end)

  it("is the pinned binary, found in .deps", function()
    expect.match(host.codex_bin(), "/%.deps/bin/codex$")
  end)

  it("starts, initializes once, and reports version 0.171.0", function()
    local t0 = os.clock()
    local info = c:start()
    expect.eq(info.server_version, rpc.PINNED_CODEX)
    expect.match(info.userAgent, "^codex_nvim/")
    expect.eq(info.codexHome, home)
    expect.eq(c:start(), info, "a second start returns the same result")
    expect.lt(os.clock() - t0, 10)
  end)

  it("answers account/read (no account offline) and model/list", function()
    local acct = c:request("account/read", {})
    expect.truthy(acct.account == nil or acct.account == require("codex.core").null)
    expect.eq(acct.requiresOpenaiAuth, false)
    local models = c:request("model/list", {})
    expect.eq(type(models.data), "table")
    for _, m in ipairs(models.data) do expect.eq(type(m.id), "string") end
  end)

  it("starts a thread and delivers thread/started", function()
    local started
    c:on("thread/started", function(p) started = p.thread end)
    local r = c:request("thread/start", { cwd = home, approvalsReviewer = "user" })
    expect.eq(type(r.thread.id), "string")
    expect.eq(r.sandbox.type, "readOnly")
    expect.truthy(host.wait(5000, function() return started ~= nil end), "thread/started")
    expect.eq(started.id, r.thread.id)
  end)

  it("rejects a request with bad params as an rpc error and keeps going", function()
    c:start()
    local err = expect.raises(function() c:request("thread/read", { nope = 1 }) end)
    expect.eq(err.kind, "rpc")
    expect.eq(err.code, -32600)
    expect.eq(err.method, "thread/read")
    expect.truthy(c:request("account/read", {}))
  end)

  it("closes cleanly with no process left behind", function()
    c:start()
    local pid = c:status().pid
    local kids = children(pid)
    local st = c:close()
    expect.eq(st.code, 0, "exit code")
    expect.falsy(alive(pid), "app-server still running")
    expect.truthy(host.wait(3000, function()
      for _, k in ipairs(kids) do if alive(k) then return false end end
      return true
    end), "a child of app-server is still running")
    c = nil
  end)
end)
