-- tests/lib/e2e.lua: the real pinned app-server against the local mock (tests/mock), behind the
-- public API. One mock per spec file; one CODEX_HOME and workspace per environment.
local codex = require("codex")
local sandbox = require("lib.env")

local M = {}

--- The app-server flags for the suite: --strict-config (an unknown config key fails the start)
--- where the codex under test has it. Releases before it (0.130.0 says "unexpected argument
--- '--strict-config'") run without: the suite's config then is checked by the releases that
--- know the flag. Asked once per process from `codex app-server --help`.
local server_args
function M.app_server_args()
  if not server_args then
    local bin = require("codex.host").codex_bin()
    local p = io.popen("'" .. bin:gsub("'", "'\\''") .. "' app-server --help 2>/dev/null")
    local help = p and p:read("*a") or ""
    if p then p:close() end
    server_args = help:find("--strict-config", 1, true) and { "--strict-config" } or {}
  end
  return server_args
end

--- Starts the mock (opts.mock_args) and returns an environment:
--- {mock, home, workspace, env, client(opts), close()}.
function M.env(opts)
  local e = sandbox.new(opts)
  e.clients = {}
  function e.client(copts)
    local o = { env = e.env, app_server_args = M.app_server_args(), cwd = e.workspace, request_timeout_ms = 30000 }
    for k, v in pairs(copts or {}) do o[k] = v end
    local c = codex.new(o)
    e.clients[#e.clients + 1] = c
    return c
  end
  local close_sandbox = e.close
  function e.close()
    for _, c in ipairs(e.clients) do pcall(c.close, c) end
    close_sandbox()
  end
  return e
end

local files = require("lib.files")
M.exists, M.read = files.exists, files.read

return M
