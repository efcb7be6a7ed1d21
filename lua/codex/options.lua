---@mod codex.options  snake_case options -> the protocol's camelCase params, validated in one
--- place so every call reports a bad option the same way.
local errors = require("codex.errors")
local schema = require("codex.schema")

local M = {}

-- option name -> {wire name, accepted Lua types}
M.specs = {
  thread = {
    model = { "model", "string" },
    model_provider = { "modelProvider", "string" },
    service_tier = { "serviceTier", "string" },
    cwd = { "cwd", "string" },
    sandbox = { "sandbox", "string" },
    approval_policy = { "approvalPolicy", "string", "table" },
    approvals_reviewer = { "approvalsReviewer", "string" },
    base_instructions = { "baseInstructions", "string" },
    developer_instructions = { "developerInstructions", "string" },
    personality = { "personality", "string" },
    ephemeral = { "ephemeral", "boolean" },
    config = { "config", "table" },
    dynamic_tools = { "dynamicTools", "table" },
  },
  thread_resume = {
    exclude_turns = { "excludeTurns", "boolean" },
  },
  thread_fork = {
    exclude_turns = { "excludeTurns", "boolean" },
    before_turn_id = { "beforeTurnId", "string" },
    last_turn_id = { "lastTurnId", "string" },
  },
  turn = {
    model = { "model", "string" },
    effort = { "effort", "string" },
    summary = { "summary", "string" },
    cwd = { "cwd", "string" },
    sandbox_policy = { "sandboxPolicy", "table" },
    approval_policy = { "approvalPolicy", "string", "table" },
    approvals_reviewer = { "approvalsReviewer", "string" },
    output_schema = { "outputSchema", "table" },
    personality = { "personality", "string" },
    service_tier = { "serviceTier", "string" },
    collaboration_mode = { "collaborationMode", "table" },
    permissions = { "permissions", "string" },
    -- handled by the caller, not sent
    timeout_ms = { false, "number" },
    raise = { false, "boolean" },
  },
  -- thread/turns/list (and thread/resume's initialTurnsPage, which takes no cursor)
  turns = {
    cursor = { "cursor", "string" },
    limit = { "limit", "number" },
    sort_direction = { "sortDirection", "string" },
    items_view = { "itemsView", "string" },
  },
  thread_list = {
    limit = { "limit", "number" },
    cursor = { "cursor", "string" },
    archived = { "archived", "boolean" },
    cwd = { "cwd", "string" },
    search_term = { "searchTerm", "string" },
    sort_key = { "sortKey", "string" },
    sort_direction = { "sortDirection", "string" },
    model_providers = { "modelProviders", "table" },
    source_kinds = { "sourceKinds", "table" },
  },
}
M.specs.thread_resume = setmetatable(M.specs.thread_resume, { __index = M.specs.thread })
M.specs.thread_fork = setmetatable(M.specs.thread_fork, { __index = M.specs.thread })

--- Checks opts against the spec of `kind` and returns the params table. Unknown options and
--- wrong types raise an invalid_argument error naming the option.
---@param kind string
---@param opts table|nil
---@return table params
function M.params(kind, opts)
  local spec, params = M.specs[kind], {}
  if opts == nil then return params end
  if type(opts) ~= "table" then error(errors.new("invalid_argument", kind .. " options must be a table"), 0) end
  for k, v in pairs(opts) do
    local s = spec[k]
    if not s then
      error(errors.new("invalid_argument", ("unknown %s option %q"):format((kind:gsub("_", " ")), tostring(k))), 0)
    end
    local problem = schema.check({ k, { (table.unpack or unpack)(s, 2) } }, v)
    if problem then error(errors.new("invalid_argument", ("option %s %s"):format(k, problem)), 0) end
    if s[1] then params[s[1]] = v end
  end
  return params
end

return M
