-- examples/device_login.lua: sign in with ChatGPT using a device code (works over SSH).
local codex = require("codex")

local client = codex.new()
local login = client:login_chatgpt_device_code()
io.stdout:write(("Open %s and enter the code %s\n"):format(login.verification_url, login.user_code))
io.stdout:flush()
local done = login:wait({ timeout_ms = 15 * 60 * 1000 })
if done.success then
  local account = client:account().account
  io.stdout:write("Signed in", type(account) == "table" and (" as " .. tostring(account.email)) or "", "\n")
else
  io.stdout:write("Login failed: ", tostring(done.error), "\n")
end
client:close()
