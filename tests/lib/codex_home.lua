-- tests/lib/codex_home.lua: a throwaway CODEX_HOME that keeps the real app-server offline
-- (protocol.md §12.1), under the project's .testenv/ (not the system temp dir, where codex
-- refuses to create its helper aliases).
local M = {}

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

--- Creates a fresh CODEX_HOME; returns its path. opts.port: the mock model server's port.
function M.create(opts)
  opts = opts or {}
  local dir = ("%s/.testenv/codex-home-%d-%d"):format(TEST_ROOT, os.time(), math.random(1, 1e9))
  assert(os.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'"))
  local port = opts.port or 9 -- the discard port: nothing listens, nothing leaves the machine
  write(dir .. "/config.toml", ([[
model = "mock-model"
model_provider = "mock"
approval_policy = "on-request"
sandbox_mode = "read-only"
chatgpt_base_url = "http://127.0.0.1:%d/backend-api/"
check_for_update_on_startup = false

[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:%d/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false

[features]
plugins = false
shell_snapshot = false
apps = false

[analytics]
enabled = false
]]):format(port, port))
  return dir
end

--- The env for the real app-server: CODEX_HOME set, real keys and endpoints removed.
function M.env(home, port)
  port = port or 9
  return {
    CODEX_HOME = home,
    OPENAI_API_KEY = false,
    CODEX_API_KEY = false,
    OPENAI_BASE_URL = false,
    RUST_LOG = "warn",
    CODEX_APP_SERVER_LOGIN_ISSUER = ("http://127.0.0.1:%d"):format(port),
    CODEX_REFRESH_TOKEN_URL_OVERRIDE = ("http://127.0.0.1:%d/oauth/token"):format(port),
    CODEX_REVOKE_TOKEN_URL_OVERRIDE = ("http://127.0.0.1:%d/oauth/revoke"):format(port),
  }
end

function M.remove(dir)
  if dir and dir:find("/.testenv/codex-home-", 1, true) then os.execute("rm -rf '" .. dir .. "'") end
end

return M
