---@mod codex.thread  A conversation thread and the turns in it.
local await = require("codex.await")
local errors = require("codex.errors")
local input = require("codex.input")
local options = require("codex.options")
local turn_mod = require("codex.turn")

---@class codex.Thread
---@field id string
---@field client codex.Client
---@field info table the thread object from the server (name, preview, cwd, model, …)
---@field settings table the start/resume/fork result (model, sandbox, approvalPolicy, …)
local Thread = {}
Thread.__index = Thread

local M = {}

---@param client codex.Client
---@param result table a thread/start, resume or fork result
---@return codex.Thread
function M.new(client, result)
  return setmetatable({ client = client, id = result.thread.id, info = result.thread, settings = result }, Thread)
end

---@class codex.TurnOptions
---@field model string|nil
---@field effort "none"|"minimal"|"low"|"medium"|"high"|"xhigh"|nil
---@field summary "auto"|"concise"|"detailed"|"none"|nil
---@field cwd string|nil
---@field sandbox_policy table|nil e.g. {type = "workspaceWrite", networkAccess = false}
---@field approval_policy string|table|nil "untrusted"|"on-request"|"never"|{granular=…}
---@field approvals_reviewer string|nil
---@field output_schema table|nil a JSON schema for the final answer (this turn only)
---@field personality string|nil
---@field service_tier string|nil
---@field collaboration_mode table|nil
---@field timeout_ms number|nil for the turn/start request

--- Starts a turn and returns it once the server accepted it (its events stream on).
---@param inp codex.Input
---@param opts codex.TurnOptions|nil
---@param cb fun(err: codex.Error|nil, turn: codex.Turn|nil)|nil
---@return codex.Turn
Thread.turn = await.wrap(function(self, inp, opts)
  local items, why = input.normalize(inp)
  if not items then error(errors.new("invalid_argument", why), 0) end
  local params = options.params("turn", opts)
  params.threadId, params.input = self.id, items
  local result, stream = self.client.rpc:request_stream("turn/start", params, { timeout_ms = opts and opts.timeout_ms })
  local t = turn_mod.new(self.client, self.id, result, stream)
  self.client:_track_turn(t)
  return t
end, 2)

--- Runs a turn to its end: turn() then wait(). Raises turn_failed for a failed turn.
---@param inp codex.Input
---@param opts codex.TurnOptions|nil also wait options (raise)
---@param cb fun(err: codex.Error|nil, result: codex.TurnResult|nil)|nil
---@return codex.TurnResult
Thread.run = await.wrap(function(self, inp, opts)
  local t = self:turn(inp, opts)
  -- Nobody can read this turn's events but its result, which is gathered as they pass: do
  -- not keep them (a long turn would hold every delta until it ends).
  t.stream:claim()
  return t:wait({ raise = not (opts and opts.raise == false) })
end, 2)

--- Sets the thread's name (thread/name/set). Needs at least one turn first.
Thread.set_name = await.wrap(function(self, name)
  if type(name) ~= "string" then error(errors.new("invalid_argument", "name must be a string"), 0) end
  return self.client:request("thread/name/set", { threadId = self.id, name = name })
end, 1)

--- Starts compaction of the thread's history (thread/compact/start).
Thread.compact = await.wrap(function(self)
  return self.client:request("thread/compact/start", { threadId = self.id })
end, 0)

--- Reads the thread (thread/read); opts.include_turns for its turns and items.
Thread.read = await.wrap(function(self, opts)
  return self.client:thread_read(self.id, opts)
end, 1)

--- Forks the thread into a new one (thread/fork); returns the new Thread.
Thread.fork = await.wrap(function(self, opts)
  return self.client:thread_fork(self.id, opts)
end, 1)

--- Archives / unarchives the thread.
Thread.archive = await.wrap(function(self) return self.client:thread_archive(self.id) end, 0)
Thread.unarchive = await.wrap(function(self) return self.client:thread_unarchive(self.id) end, 0)

return M
