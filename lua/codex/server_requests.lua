---@mod codex.server_requests  Server→client requests: safe answers and the request object.
---
--- The app-server asks the client things (approve this command? this patch? grant these
--- permissions?). Every type gets a *valid* answer; without a handler that decides, the
--- answer is the safe one, which never approves anything (protocol.md §6).
local core = require("codex.core")
local errors = require("codex.errors")
local host = require("codex.host")
local util = require("codex.util")

local M = {}

local null = core.null

--- The safe answer for each request method: a result table, or {error = {code, message}}.
---@type table<string, table>
M.safe = {
  ["item/commandExecution/requestApproval"] = { decision = "decline" },
  ["item/fileChange/requestApproval"] = { decision = "decline" },
  ["item/permissions/requestApproval"] = { permissions = {} }, -- grant nothing
  ["item/tool/requestUserInput"] = { answers = {} },
  ["mcpServer/elicitation/request"] = { action = "decline", content = null },
  ["item/tool/call"] = {
    contentItems = { { type = "inputText", text = "tool unavailable" } },
    success = false,
  },
  ["account/chatgptAuthTokens/refresh"] = {
    error = { code = -32603, message = "codex.nvim does not manage external ChatGPT tokens" },
  },
  ["attestation/generate"] = { error = { code = -32603, message = "attestation is not supported" } },
  -- Legacy v1 approvals (only reachable through legacy APIs).
  ["applyPatchApproval"] = { decision = "denied" },
  ["execCommandApproval"] = { decision = "denied" },
}

local deep_copy = util.deep_copy

--- The safe answer for a method: result, or nil + error {code, message}.
---@param method string
---@return table|nil result, table|nil error
function M.safe_answer(method)
  local a = M.safe[method]
  if a == nil then return nil, { code = -32601, message = "codex.nvim does not handle " .. method } end
  if a.error then return nil, a.error end
  return deep_copy(a)
end

---@class codex.ServerRequest
---@field id integer|string JSON-RPC id
---@field method string
---@field params table
---@field thread_id string|nil
---@field turn_id string|nil
---@field answered boolean
---@field resolved boolean the server settled it (serverRequest/resolved)
local Request = {}
Request.__index = Request

--- Answers the request (once). Returns true, or nil + message.
---@param result table
---@return boolean|nil, string|nil
function Request:respond(result)
  if self.answered then return nil, "already answered" end
  self.answered = true
  return self._core:respond(self.id, result)
end

--- Answers the request with a JSON-RPC error.
---@param code integer
---@param message string
---@return boolean|nil, string|nil
function Request:reject(code, message)
  if self.answered then return nil, "already answered" end
  self.answered = true
  return self._core:reject(self.id, code, message)
end

--- Answers with the safe default for this request type.
function Request:respond_safe()
  local result, err = M.safe_answer(self.method)
  if result then return self:respond(result) end
  return self:reject(err.code, err.message)
end

--- fn() runs when the server settles the request (answered, interrupted, turn ended) or the
--- process dies; UIs close their prompt there.
---@param fn fun(req: codex.ServerRequest)
function Request:on_resolved(fn)
  if self.resolved then
    fn(self)
  else
    self._on_resolved[#self._on_resolved + 1] = fn
  end
end

function Request:_settle()
  if self.resolved then return end
  self.resolved = true
  for _, fn in ipairs(self._on_resolved) do util.safe_call(host.report, "on_resolved callback", fn, self) end
end

--- The handler that never approves anything.
---@param req codex.ServerRequest
function M.decline_all(req)
  req:respond_safe()
end

--- Builds the core's on_request sink for a client: makes request objects, calls the
--- handler (which returns an answer, or nothing and answers later), falls back to the safe
--- answer when the handler raises, and settles requests on serverRequest/resolved or death.
---@param core_client userdata
---@param get_handler fun(): fun(req: codex.ServerRequest): table|nil
---@return fun(what: string, x: table)
function M.dispatcher(core_client, get_handler)
  local live = {} ---@type table<any, codex.ServerRequest>
  return function(what, x)
    if what == "request" then
      local p = type(x.params) == "table" and x.params or {}
      local req = setmetatable({
        id = x.id, method = x.method, params = p, thread_id = p.threadId, turn_id = p.turnId,
        answered = false, resolved = false, _core = core_client, _on_resolved = {},
      }, Request)
      live[req.id] = req
      local ok, answer = pcall(get_handler() or M.decline_all, req)
      if not ok then
        host.report(("codex: approval handler failed on %s (answered with the safe default): %s"):format(req.method, tostring(answer)))
        if not req.answered then req:respond_safe() end
      elseif answer ~= nil and not req.answered then
        req:respond(answer)
      end
    elseif what == "resolved" then
      local id = type(x.params) == "table" and x.params.requestId
      local req = live[id]
      if req then
        live[id] = nil
        req:_settle()
      end
    elseif what == "closed" then
      local all = live
      live = {}
      for _, req in pairs(all) do
        req.answered = true
        req.error = errors.is(x) and x or nil
        req:_settle()
      end
    end
  end
end

return M
