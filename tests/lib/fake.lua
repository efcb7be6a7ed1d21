-- tests/lib/fake.lua: starts the scripted fake app-server (tests/fake/app_server.lua) behind
-- a real codex.rpc client, over real pipes.
local rpc = require("codex.rpc")
local M = {}

--- opts: anything codex.rpc.new takes; env is merged; approval_handler etc.
function M.client(opts)
  opts = opts or {}
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }
  o.env = o.env or {}
  o.request_timeout_ms = o.request_timeout_ms or 10000
  return rpc.new(o)
end

return M
