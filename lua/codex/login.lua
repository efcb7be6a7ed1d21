---@mod codex.login  A login attempt (ChatGPT browser or device code) in progress.
local await = require("codex.await")
local errors = require("codex.errors")

---@class codex.LoginHandle
---@field login_id string
---@field type string "chatgpt"|"chatgptDeviceCode"
---@field auth_url string|nil browser login: the URL to open
---@field verification_url string|nil device code: where to enter the code
---@field user_code string|nil device code: the code to enter
---@field completion {success: boolean, error: string|nil, login_id: string}|nil once done
local Login = {}
Login.__index = Login

local M = {}

---@param client codex.Client
---@param result table the account/login/start result
---@param stream codex.Stream this login's events
---@return codex.LoginHandle
function M.new(client, result, stream)
  return setmetatable({
    client = client, stream = stream, type = result.type, login_id = result.loginId,
    auth_url = result.authUrl, verification_url = result.verificationUrl, user_code = result.userCode,
  }, Login)
end

--- Waits for the login to complete and returns {success, error, login_id}; never raises on
--- success = false. Can be called again after it returned (the completion is kept).
--- opts.timeout_ms: raise a timeout error after that long (the login goes on).
---@param opts {timeout_ms: number|nil}|nil
---@param cb fun(err: codex.Error|nil, completion: table|nil)|nil
---@return {success: boolean, error: string|nil, login_id: string}
Login.wait = await.wrap(function(self, opts)
  if self.completion then return self.completion end
  local timeout = opts and opts.timeout_ms
  local reader = self.stream:reader()
  while true do
    local msg = reader:next(timeout)
    if msg == nil then
      if self.completion then return self.completion end
      error(errors.new("transport_closed", "the login stream ended without a completion"), 0)
    end
    if msg.method == "account/login/completed" then
      local p = msg.params or {}
      local err = p.error
      if type(err) ~= "string" then err = nil end
      self.completion = { success = p.success == true, error = err, login_id = p.loginId }
      return self.completion
    end
  end
end, 1)

--- Cancels the login (account/login/cancel). Returns {status = "canceled"|"notFound"}; the
--- completion (success = false) then arrives for wait().
---@param cb fun(err: codex.Error|nil, result: table|nil)|nil
---@return {status: string}
Login.cancel = await.wrap(function(self)
  return self.client:request("account/login/cancel", { loginId = self.login_id })
end, 0)

return M
