-- tests/mock/launch.lua: start and drive tests/mock/server.lua from a test, under plain Lua 5.4
-- (with luv) or inside Neovim (vim.uv). See README.md beside this file.
--
--   local mock = require("mock.launch")        -- package.path has "<root>/tests/?.lua"
--   local m = mock.start({ args = { "--device-interval", "0" } })
--   local home = mock.create_home(m.port)      -- CODEX_HOME with the mock provider + catalog
--   local c = rpc.new({ env = mock.env(home, m.port), app_server_args = { "--strict-config" } })
--   …
--   local log = m:requests()                   -- every request the mock saw (GET /_mock/requests)
--   m:stop(); mock.remove_home(home)
local M = {}

local nvim = type(vim) == "table" and vim.api ~= nil
local uv = nvim and (vim.uv or vim.loop) or require("luv")

local function abs(p)
  if p:sub(1, 1) == "/" then return p end
  local pwd = os.getenv("PWD") or "."
  if p == "." then return pwd end
  return pwd .. "/" .. p:gsub("^%./", "")
end

local HERE = abs((debug.getinfo(1, "S").source:gsub("^@", "")):match("^(.*)/[^/]*$") or ".")
M.DIR = HERE
M.ROOT = HERE:match("^(.*)/tests/mock$") or abs(".")
M.SERVER = HERE .. "/server.lua"
M.CATALOG = HERE .. "/catalog.json"

-- Integral numbers come back as Lua integers (cjson under Lua 5.4 gives floats: 200.0).
local function ints(v)
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = ints(x) end
  elseif math.type and math.type(v) == "float" then -- (LuaJIT has no integer subtype)
    return math.tointeger(v) or v
  end
  return v
end

local function json_decode(s)
  if nvim then return ints(vim.json.decode(s, { luanil = { object = true, array = true } })) end
  return ints(require("cjson").decode(s))
end

--- Waits until cond() or timeout_ms, running the loop the mock's handles live on (luv's
--- default loop under plain Lua, which codex.core does not run; Neovim's loop in Neovim).
local function wait(timeout_ms, cond)
  if nvim then return vim.wait(timeout_ms, cond, 5) end
  local timed_out = false
  local timer = uv.new_timer()
  timer:start(timeout_ms, 0, function() timed_out = true end)
  while not cond() and not timed_out do uv.run("once") end
  timer:stop()
  timer:close()
  uv.run("nowait")
  return cond() and true or false
end
M.wait = wait

local Mock = {}
Mock.__index = Mock

--- Starts the mock and waits for its `PORT <n>` line.
--- opts.args: extra server flags ({"--device-disabled"}, {"--delay-ms", "100"}, …);
--- opts.log: a JSON-lines log file; opts.lua: the interpreter (default $CODEX_MOCK_LUA or
--- "lua5.4"); opts.timeout_ms (default 10000).
---@return table mock {port, url, pid, log} with :requests(), :reset(), :get(path), :stop()
function M.start(opts)
  opts = opts or {}
  local argv = { M.SERVER }
  for _, a in ipairs(opts.args or {}) do argv[#argv + 1] = a end
  if opts.log then
    argv[#argv + 1] = "--log"
    argv[#argv + 1] = opts.log
  end
  local stdin, stdout = uv.new_pipe(false), uv.new_pipe(false)
  local out, exited = "", nil
  local handle, pid = uv.spawn(opts.lua or os.getenv("CODEX_MOCK_LUA") or "lua5.4", {
    args = argv, stdio = { stdin, stdout, 2 },
  }, function(code, sig) exited = { code = code, signal = sig } end)
  if not handle then
    stdin:close()
    stdout:close()
    error("mock: cannot spawn the server: " .. tostring(pid))
  end
  stdout:read_start(function(err, data)
    if data then out = out .. data end
  end)
  wait(opts.timeout_ms or 10000, function() return out:find("\n", 1, true) ~= nil or exited ~= nil end)
  stdout:read_stop()
  stdout:close()
  local port = tonumber(out:match("^PORT (%d+)\n"))
  if not port then
    if not exited then handle:kill("sigterm") end
    stdin:close()
    error(("mock: no PORT line from the server (got %q, exit %s)"):format(out, exited and exited.code or "none"))
  end
  return setmetatable({
    port = port, url = ("http://127.0.0.1:%d"):format(port), pid = pid, log = opts.log,
    _handle = handle, _stdin = stdin, _exited = function() return exited end,
  }, Mock)
end

--- A plain HTTP/1.1 request to the mock; returns status, body (nil + message on failure).
function Mock:http(method, path, body, timeout_ms)
  body = body or ""
  local tcp = uv.new_tcp()
  local resp, done, err = "", false, nil
  tcp:connect("127.0.0.1", self.port, function(cerr)
    if cerr then
      err, done = cerr, true
      return
    end
    tcp:write(("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s")
      :format(method, path, self.port, #body, body))
    tcp:read_start(function(rerr, data)
      if rerr then err = rerr end
      if data then resp = resp .. data else done = true end
    end)
  end)
  wait(timeout_ms or 5000, function() return done end)
  if not tcp:is_closing() then tcp:close() end
  if not done then return nil, "timeout" end
  if err then return nil, tostring(err) end
  local status = tonumber(resp:match("^HTTP/1%.%d (%d+)"))
  local b = resp:match("\r\n\r\n(.*)$")
  return status, b
end

--- GET path, decoded as JSON.
function Mock:get(path)
  local status, body = self:http("GET", path)
  if not status then error("mock: GET " .. path .. ": " .. tostring(body)) end
  return json_decode(body), status
end

--- Every request the mock has logged so far (oldest first): {seq, method, path, status,
--- scenario, request_kind, turn_id, last_user, tool_output, aborted, grant_type, …}.
function Mock:requests() return (self:get("/_mock/requests")) end

--- Clears the request log and the per-test state (device polls, slow turns).
function Mock:reset()
  local status = self:http("POST", "/_mock/reset", "{}")
  return status == 200
end

--- Ends the server: closes its stdin (it exits on EOF), then SIGTERM if it lingers.
function Mock:stop()
  if not self._stdin:is_closing() then self._stdin:close() end
  if not wait(2000, function() return self._exited() ~= nil end) then
    pcall(self._handle.kill, self._handle, "sigterm")
    wait(2000, function() return self._exited() ~= nil end)
  end
  if not self._handle:is_closing() then self._handle:close() end
  if not nvim then uv.run("nowait") end
  return self._exited()
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function toml_str(s) return '"' .. s:gsub('[\\"]', "\\%0") .. '"' end

--- A throwaway CODEX_HOME (under <root>/.testenv, never the temp dir) whose config points the
--- model provider, the ChatGPT backend and the model catalog at the mock (protocol.md §12.1).
--- opts.approval_policy ("on-request"), opts.sandbox_mode ("read-only"), opts.catalog
--- (default: catalog.json here; false: none), opts.requires_openai_auth, opts.extra (TOML
--- appended at the top level, before the tables).
function M.create_home(port, opts)
  opts = opts or {}
  -- pid + clock: test processes started in the same second (with the same unseeded
  -- math.random) must never share a home, or one's cleanup deletes the other's.
  local dir = ("%s/.testenv/mock-home-%d-%d-%d"):format(M.ROOT, uv.os_getpid(), uv.hrtime() % 1e12, math.random(1, 1e9))
  assert(os.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'"))
  local catalog = opts.catalog == nil and M.CATALOG or opts.catalog
  local lines = {
    'model = "mock-model"',
    'model_provider = "mock"',
    ("approval_policy = %s"):format(toml_str(opts.approval_policy or "on-request")),
    ("sandbox_mode = %s"):format(toml_str(opts.sandbox_mode or "read-only")),
    ('chatgpt_base_url = "http://127.0.0.1:%d/backend-api/"'):format(port),
    "check_for_update_on_startup = false",
  }
  if catalog then lines[#lines + 1] = "model_catalog_json = " .. toml_str(catalog) end
  if opts.extra then lines[#lines + 1] = opts.extra end
  lines[#lines + 1] = ([[

[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:%d/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false%s

[features]
plugins = false
shell_snapshot = false
apps = false

[analytics]
enabled = false
]]):format(port, opts.requires_openai_auth and "\nrequires_openai_auth = true" or "")
  write(dir .. "/config.toml", table.concat(lines, "\n"))
  return dir
end

--- The env for the real app-server: CODEX_HOME, real keys and endpoints removed, the login
--- issuer and token URLs pointed at the mock (protocol.md §12.3).
function M.env(home, port)
  local base = ("http://127.0.0.1:%d"):format(port)
  return {
    CODEX_HOME = home,
    OPENAI_API_KEY = false,
    CODEX_API_KEY = false,
    OPENAI_BASE_URL = false,
    RUST_LOG = "warn",
    CODEX_APP_SERVER_LOGIN_ISSUER = base,
    CODEX_REFRESH_TOKEN_URL_OVERRIDE = base .. "/oauth/token",
    CODEX_REVOKE_TOKEN_URL_OVERRIDE = base .. "/oauth/revoke",
  }
end

--- A test sandbox: a started mock, a CODEX_HOME pointed at it, a workspace inside that home,
--- and the child env. opts.mock_args: server flags; opts.home: create_home options.
---@return table {mock, home, workspace, env, close()}
function M.sandbox(opts)
  opts = opts or {}
  local m = M.start({ args = opts.mock_args })
  local home = M.create_home(m.port, opts.home)
  local workspace = home .. "/workspace"
  assert(os.execute("mkdir -p '" .. workspace .. "'") ~= false)
  return {
    mock = m, home = home, workspace = workspace, env = M.env(home, m.port),
    close = function()
      m:stop()
      M.remove_home(home)
    end,
  }
end

function M.remove_home(dir)
  if dir and dir:find("/.testenv/mock-home-", 1, true) then os.execute("rm -rf '" .. dir .. "'") end
end

return M
