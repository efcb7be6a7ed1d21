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
---@field initial_page codex.TurnsPage|nil the page resume returned for opts.initial_turns_page
local Thread = {}
Thread.__index = Thread

local M = {}

---@class codex.TurnsPage
---@field turns table[] codex.proto.Turn objects, in the order asked for (default: newest first)
---@field next_cursor string|nil continues in the same direction; nil after the last page
---@field backwards_cursor string|nil continues in the other direction (sort_direction reversed)

--- A thread/turns/list result (or resume's initialTurnsPage) as a codex.TurnsPage. The
--- server sends JSON null for "no more": only strings count as cursors.
---@param raw table|nil
---@return codex.TurnsPage
function M.page(raw)
  raw = type(raw) == "table" and raw or {}
  local turns = {}
  for _, t in ipairs(type(raw.data) == "table" and raw.data or {}) do
    if type(t) == "table" then turns[#turns + 1] = t end
  end
  local function cursor(v) return type(v) == "string" and v or nil end
  return { turns = turns, next_cursor = cursor(raw.nextCursor), backwards_cursor = cursor(raw.backwardsCursor) }
end

---@param client codex.Client
---@param result table a thread/start, resume or fork result
---@return codex.Thread
function M.new(client, result)
  local t = setmetatable({ client = client, id = result.thread.id, info = result.thread, settings = result }, Thread)
  -- thread/resume with initial_turns_page: the newest turns, and the cursor to older ones
  if type(result.initialTurnsPage) == "table" then t.initial_page = M.page(result.initialTurnsPage) end
  return t
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
---@field collaboration_mode table|nil {mode = "plan"|"default", settings = {model, reasoning_effort, developer_instructions}} (collaborationMode/list)
---@field permissions string|nil a permission profile id (permissionProfile/list: ":read-only", ":workspace", ":danger-full-access"); not with sandbox_policy
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
  self:_keep_diff(t)
  return t
end, 2)

--- Calls fn(turn) for each turn of this thread that this client did not start with
--- Thread:turn/run/review (compaction, shell commands, turns of another client, raw
--- requests): see Client:on_thread_turn. Returns the unsubscribe function.
---@param fn fun(turn: codex.Turn)
---@return fun() unsubscribe
function Thread:on_turn(fn)
  return self.client:on_thread_turn(self.id, fn)
end

--- Runs a shell command in the thread (thread/shellCommand) as a turn of its own: it runs
--- UNSANDBOXED, with the user's full rights (ask the user first). Its turn reaches
--- Thread:on_turn watchers (a commandExecution item with source "userShell").
---@param command string
---@param opts {timeout_ms: number|nil}|nil timeout_ms: the command's own limit
---@param cb fun(err: codex.Error|nil, result: table|nil)|nil
Thread.shell = await.wrap(function(self, command, opts)
  if type(command) ~= "string" or command == "" then error(errors.new("invalid_argument", "shell: a command is required"), 0) end
  return self.client:request("thread/shellCommand", { threadId = self.id, command = command, timeoutMs = opts and opts.timeout_ms or nil })
end, 2)

---@class codex.ReviewOptions
---@field delivery "inline"|nil where the review runs (0.171.0 knows only "inline": this thread)
---@field timeout_ms number|nil for the review/start request

--- Starts a code review (review/start) as a turn of this thread and returns it once the
--- server accepted it. Its TurnResult has `review` (the review text) and `findings`. A review
--- turn cannot be steered (turn.review is true).
---@param target codex.ReviewTarget|nil "uncommitted" (the default), {branch=}, {commit=, title=} or {instructions=}
---@param opts codex.ReviewOptions|nil
---@param cb fun(err: codex.Error|nil, turn: codex.Turn|nil)|nil
---@return codex.Turn
Thread.review = await.wrap(function(self, target, opts)
  local t, why = require("codex.review").target(target)
  if not t then error(errors.new("invalid_argument", why), 0) end
  local params = { threadId = self.id, target = t, delivery = opts and opts.delivery or nil }
  local result, stream = self.client.rpc:request_stream("review/start", params, { timeout_ms = opts and opts.timeout_ms })
  local turn = turn_mod.new(self.client, self.id, result, stream)
  turn.review = true
  self.client:_track_turn(turn)
  self:_keep_diff(turn)
  return turn
end, 2)

--- Keeps the turn's latest aggregated diff (turn/diff/updated) for undo: it knows what a
--- file held before the turn, which a stored fileChange "add" does not.
---@param t codex.Turn
function Thread:_keep_diff(t)
  self.turn_diffs = self.turn_diffs or {}
  t.stream:observe(function(msg)
    local p = type(msg) == "table" and msg.method == "turn/diff/updated" and msg.params
    if type(p) == "table" and type(p.diff) == "string" then self.turn_diffs[t.id] = p.diff end
  end)
end

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

---@class codex.UndoOptions
---@field turn_id string|nil  the first turn undone (default: the last turn); it and every later turn go
---@field force boolean|nil  undo even with conflicts: the hunks that no longer apply are left as they are
---@field skip table<string, boolean>|nil  files (absolute paths) left as they are
---@field dry_run boolean|nil  only the plan: nothing is written or reverted
---@field io {read: fun(path: string): string|nil, write: fun(path: string, text: string|false): boolean|nil, string|nil}|nil how files are read and written (default codex.undo.file_io; the editor passes its buffers)

---@class codex.UndoResult
---@field done boolean  false: nothing was changed (dry_run, or conflicts without force)
---@field turn_id string  the first turn undone
---@field turns integer  how many turns the conversation lost (that one and every later one)
---@field files codex.UndoFile[]  what happens (happened) to each file
---@field conflicts codex.UndoConflict[]  hunks that no longer apply (the user edited the file since)
---@field commands boolean  the turns ran commands or tools: files they changed outside the diff are not undone
---@field method string|nil  "thread/revert", or "thread/rollback" on a server without it
---@field written string[]|nil  the files written or removed
---@field errors {path: string, message: string}[]|nil  files that could not be written
---@field plan codex.UndoPlan

--- The stored turns from turn_id (default: the last) to the last, oldest first (newest pages
--- of thread/turns/list until that turn; thread/read on a server without it).
local function turns_from(self, turn_id)
  local ok, out = pcall(function()
    local acc, cursor = {}, nil
    repeat
      local page = self:turns({ cursor = cursor, limit = turn_id and 20 or 1, items_view = "full" })
      for _, t in ipairs(page.turns) do
        table.insert(acc, 1, t)
        if turn_id == nil or t.id == turn_id then return acc end
      end
      cursor = page.next_cursor
    until not cursor
    return acc
  end)
  if ok then return out end
  local read = self:read({ include_turns = true })
  return type(read) == "table" and type(read.thread) == "table" and read.thread.turns or {}
end

--- Undoes the last turn (or opts.turn_id and every turn after it): reverse-applies their file
--- changes (codex.undo: never blind) and reverts the conversation to before that turn
--- (thread/revert; thread/rollback on a server that has that instead). When a hunk no longer
--- applies (the file changed since), nothing is done unless opts.force or opts.skip says so:
--- the result has done = false and the conflicts. thread:redo() re-applies the files.
---@param opts codex.UndoOptions|nil
---@param cb fun(err: codex.Error|nil, result: codex.UndoResult|nil)|nil
---@return codex.UndoResult
Thread.undo = await.wrap(function(self, opts)
  opts = opts or {}
  local undo = require("codex.undo")
  local fio = opts.io or undo.file_io
  local turns, why = undo.from_turn(turns_from(self, opts.turn_id), opts.turn_id)
  if not turns then error(errors.new("invalid_argument", why), 0) end
  if turns[#turns].status == "inProgress" then
    error(errors.new("invalid_argument", "a turn is running: undo once it has ended"), 0)
  end
  local cwd = type(self.info.cwd) == "string" and self.info.cwd or nil
  local plan = undo.plan(turns, fio, { cwd = cwd, diffs = self.turn_diffs, force = opts.force, skip = opts.skip })
  local result = { done = false, turn_id = turns[1].id, turns = #turns, files = plan.files, conflicts = plan.conflicts,
    commands = plan.commands, plan = plan }
  if opts.dry_run or (#plan.conflicts > 0 and not opts.force) then return result end
  -- The conversation first: the server may refuse (then no file was touched).
  local ok, err = pcall(self.client.request, self.client, "thread/revert", { threadId = self.id, beforeTurnId = result.turn_id })
  if ok then
    result.method = "thread/revert"
  elseif undo.method_missing(err) then
    self.client:request("thread/rollback", { threadId = self.id, numTurns = #turns })
    result.method = "thread/rollback"
  else
    error(err, 0)
  end
  result.written, result.errors = undo.write(plan, fio)
  result.done = true
  self.last_undo = result
  return result
end, 1)

---@class codex.RedoOptions
---@field undo codex.UndoResult|nil  the undo to redo (default: the thread's last)
---@field force boolean|nil  redo even with conflicts (hunks that no longer apply are left)
---@field dry_run boolean|nil
---@field io table|nil  as codex.UndoOptions.io

--- Re-applies the files of the last undo (the conversation stays reverted). Conflicts as for
--- undo: nothing is written unless opts.force.
---@param opts codex.RedoOptions|nil
---@param cb fun(err: codex.Error|nil, result: codex.UndoResult|nil)|nil
---@return codex.UndoResult
Thread.redo = await.wrap(function(self, opts)
  opts = opts or {}
  local undo = require("codex.undo")
  local fio = opts.io or undo.file_io
  local last = opts.undo or self.last_undo
  if not last then error(errors.new("invalid_argument", "nothing to redo: no undo in this session"), 0) end
  local plan = undo.redo_plan(last.plan.applied, fio, { force = opts.force })
  local result = { done = false, turn_id = last.turn_id, turns = 0, files = plan.files, conflicts = plan.conflicts,
    commands = false, plan = plan }
  if opts.dry_run or (#plan.conflicts > 0 and not opts.force) then return result end
  result.written, result.errors = undo.write(plan, fio)
  result.done = true
  if self.last_undo == last then self.last_undo = nil end
  return result
end, 1)

--- Sets the thread's name (thread/name/set). Needs at least one turn first.
Thread.set_name = await.wrap(function(self, name)
  if type(name) ~= "string" then error(errors.new("invalid_argument", "name must be a string"), 0) end
  return self.client:request("thread/name/set", { threadId = self.id, name = name })
end, 1)

--- Starts compaction of the thread's history (thread/compact/start). The compaction runs as
--- a turn of the thread: Thread:on_turn watchers get it.
Thread.compact = await.wrap(function(self)
  return self.client:request("thread/compact/start", { threadId = self.id })
end, 0)

--- Reads the thread (thread/read); opts.include_turns for its turns and items.
Thread.read = await.wrap(function(self, opts)
  return self.client:thread_read(self.id, opts)
end, 1)

---@class codex.TurnsOptions
---@field cursor string|nil a next_cursor (or backwards_cursor) of an earlier page
---@field limit integer|nil page size (server default 25; 0 gives 1)
---@field sort_direction "desc"|"asc"|nil default "desc": newest turn first
---@field items_view "full"|"summary"|"notLoaded"|nil default "summary" (user and agent messages only); "full" as in thread/read

--- One page of the thread's stored turns (thread/turns/list). Items inside a turn are in
--- their order; the turns are newest first unless opts.sort_direction = "asc".
---@param opts codex.TurnsOptions|nil
---@param cb fun(err: codex.Error|nil, page: codex.TurnsPage|nil)|nil
---@return codex.TurnsPage
Thread.turns = await.wrap(function(self, opts)
  return self.client:thread_turns(self.id, opts)
end, 1)

--- Forks the thread into a new one (thread/fork); returns the new Thread.
Thread.fork = await.wrap(function(self, opts)
  return self.client:thread_fork(self.id, opts)
end, 1)

--- Archives / unarchives the thread.
Thread.archive = await.wrap(function(self) return self.client:thread_archive(self.id) end, 0)
Thread.unarchive = await.wrap(function(self) return self.client:thread_unarchive(self.id) end, 0)

return M
