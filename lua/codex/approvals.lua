---@mod codex.approvals  Approval handlers for server requests.
---
--- A handler is function(req) -> answer|nil (see codex.ServerRequest). Nothing is approved
--- unless the handler says so: decline_all is the default; accept_all must be chosen by name.
local elicitation = require("codex.elicitation")
local server_requests = require("codex.server_requests")

local M = {}

local COMMAND = "item/commandExecution/requestApproval"
local FILE = "item/fileChange/requestApproval"
local PERMISSIONS = "item/permissions/requestApproval"
local ELICITATION = "mcpServer/elicitation/request"

--- Declines every approval; every other request gets its safe answer. The default.
M.decline_all = server_requests.decline_all

--- Accepts every command and file change and grants every requested permission for the
--- turn. Only for sandboxes and throwaway machines: named so that nobody uses it by accident.
---@param req codex.ServerRequest
---@return table|nil
function M.accept_all(req)
  if req.method == COMMAND or req.method == FILE then return { decision = "accept" } end
  if req.method == PERMISSIONS then return { permissions = req.params.permissions or {}, scope = "turn" } end
  return server_requests.decline_all(req)
end

local function matches(patterns, s)
  if type(s) ~= "string" then return false end
  for _, p in ipairs(patterns) do
    if s:find(p) then return true end
  end
  return false
end

---@class codex.ApprovalPolicy
---@field commands boolean|string[]|(fun(req: codex.ServerRequest): boolean|table)|nil accept commands matching these Lua patterns (against the command line)
---@field file_changes boolean|string[]|(fun(req: codex.ServerRequest): boolean|table)|nil accept patches whose every path matches
---@field permissions boolean|(fun(req: codex.ServerRequest): boolean|table)|nil grant requested permissions
---@field mcp_tools boolean|string[]|(fun(req: codex.ServerRequest): boolean|table)|nil allow MCP tool calls (approval elicitations) once whose "server/tool" matches
---@field otherwise (fun(req: codex.ServerRequest): table|nil)|nil handler for what the rules do not accept (default: decline_all)

local function decide(rule, req, subjects)
  if rule == true then return true end
  if type(rule) == "function" then return rule(req) end
  if type(rule) == "table" then
    if #subjects == 0 then return false end
    for _, s in ipairs(subjects) do
      if not matches(rule, s) then return false end
    end
    return true
  end
  return false
end

--- A handler from rules. A rule that says true accepts once ("accept"); a rule function may
--- also return a full answer table. Anything else goes to `otherwise` (default: decline).
---@param rules codex.ApprovalPolicy
---@return fun(req: codex.ServerRequest): table|nil
function M.policy(rules)
  rules = rules or {}
  local otherwise = rules.otherwise or M.decline_all
  return function(req)
    local verdict
    if req.method == COMMAND then
      verdict = decide(rules.commands, req, { req.params.command })
    elseif req.method == FILE then
      local paths = {}
      local item = req.item
      for _, ch in ipairs(item and item.changes or {}) do paths[#paths + 1] = ch.path end
      verdict = decide(rules.file_changes, req, paths)
    elseif req.method == PERMISSIONS then
      verdict = decide(rules.permissions, req, {})
      if verdict == true then return { permissions = req.params.permissions or {}, scope = "turn" } end
    elseif req.method == ELICITATION and elicitation.is_tool_approval(req.params) then
      -- only tool-call approvals; a form asks for data, which no rule can make up
      local info = elicitation.tool_info(req.params)
      verdict = decide(rules.mcp_tools, req, info.tool and { info.server .. "/" .. info.tool } or {})
      if verdict == true then return elicitation.tool_answer("once") end
    end
    if type(verdict) == "table" then return verdict end
    if verdict == true then return { decision = "accept" } end
    return otherwise(req)
  end
end

return M
