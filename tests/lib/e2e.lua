-- tests/lib/e2e.lua: the real pinned app-server against the local mock (tests/mock), behind the
-- public API. One mock per spec file; one CODEX_HOME and workspace per environment.
local codex = require("codex")
local mock = require("mock.launch")

local M = {}

--- Starts the mock (opts.mock_args) and returns an environment:
--- {mock, home, workspace, env, client(opts), close()}.
function M.env(opts)
  local e = mock.sandbox(opts)
  e.clients = {}
  function e.client(copts)
    local o = { env = e.env, app_server_args = { "--strict-config" }, cwd = e.workspace, request_timeout_ms = 30000 }
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
