-- examples/models.lua: start the app-server, print the server version, the account and the
-- models it offers, then close. Runs the same way in both hosts:
--   LUA_PATH='lua/?.lua;;' LUA_CPATH='build/lua5.4/?.so;;' lua5.4 examples/models.lua
--   nvim --headless -u NONE --cmd 'set rtp^=.' -c 'luafile examples/models.lua' -c 'qa!'
local rpc = require("codex.rpc")

local client = rpc.new({ env = { CODEX_HOME = os.getenv("CODEX_HOME") } })
local info = client:start() -- blocks on the main thread, pumping the loop
local out = io.stdout
out:write(("codex app-server %s (%s)\n"):format(tostring(info.server_version), info.codexHome))

local acct = client:request("account/read", {})
local a = acct.account
out:write("account: " .. ((type(a) == "table" and a.type) or "none") .. "\n")

local models = client:request("model/list", {})
for _, m in ipairs(models.data) do
  out:write(("  %-24s %s\n"):format(m.id, m.displayName or ""))
end
client:close()
