---@mod codex.client  The Codex client: one app-server, its account, threads and turns.
local await = require("codex.await")
local errors = require("codex.errors")
local login = require("codex.login")
local options = require("codex.options")
local rpc = require("codex.rpc")
local schema = require("codex.schema")
local thread_mod = require("codex.thread")
local turn_mod = require("codex.turn")
local host = require("codex.host")
local util = require("codex.util")

-- codex.ClientOptions is generated from codex.schema.client (lua/codex/types/options.lua).
local option_rows = require("codex.schema.client")

---@class codex.Client
---@field rpc codex.Rpc
---@field opts codex.ClientOptions
local Client = {}
Client.__index = Client

local M = {}

--- Creates a client. Nothing is spawned until the first call (or start()).
---@param opts codex.ClientOptions|nil
---@return codex.Client
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error(errors.new("invalid_argument", "codex.new: options must be a table"), 2) end
  local path, problem, unknown = schema.validate(option_rows, opts)
  if path then
    local msg = unknown ~= nil and ("codex.new: unknown option %q"):format(tostring(unknown))
      or ("codex.new: option %s %s"):format(path, problem)
    error(errors.new("invalid_argument", msg), 2)
  end
  local self = setmetatable({ opts = opts, turns = setmetatable({}, { __mode = "v" }), turn_watchers = {} }, Client)
  local ropts = {}
  for k, v in pairs(opts) do ropts[k] = v end
  -- Server requests get the item they are about (req.item: the command or the file change
  -- with its diffs), from the turn that owns it. self.opts keeps the user's handler (or the
  -- one set_approval_handler sets); the wrapper reads it on every request.
  ropts.approval_handler = function(req)
    local t = req.turn_id and self.turns[req.turn_id]
    local item_id = req.params.itemId
    if t and item_id then req.item = t:item(item_id) end
    req.turn = t
    return (self.opts.approval_handler or require("codex.approvals").decline_all)(req)
  end
  self.rpc = rpc.new(ropts)
  return self
end

function Client:_track_turn(t)
  self.turns[t.id] = t
end

--- A turn of this thread that has not ended (own or offered), if any.
function Client:_running(thread_id)
  for _, t in pairs(self.turns) do
    if t.thread_id == thread_id and not t.stream.ended and not t.stream.err then return t end
  end
end

--- A turn no request of this client named: to the watchers of its thread (Thread:on_turn) as
--- a codex.Turn (foreign = true), or left alone (false) when nobody watches that thread.
function Client:_unclaimed(turn_id, msg)
  local p = type(msg) == "table" and type(msg.params) == "table" and msg.params or {}
  local subs = type(p.threadId) == "string" and self.turn_watchers[p.threadId]
  if not subs or #subs.fns == 0 then return false end
  -- A thread runs one turn at a time, so a turn starting while another of the same thread
  -- runs is not a turn of its own: codex 0.171.0 sends a review's turn/started under a
  -- second id (its items and turn/completed name the review's turn), and that id never ends.
  if self:_running(p.threadId) then return false end
  local s = self.rpc:watch("turn:" .. turn_id)
  -- turn/started carries the turn (status, items so far); any other first event only its id
  local start = type(p.turn) == "table" and p.turn.id == turn_id and p.turn or { id = turn_id }
  local t = turn_mod.new(self, p.threadId, { turn = start }, s)
  t.foreign = true
  self:_track_turn(t)
  -- Every watcher subscribes before the first event is delivered (the replay is queued), so
  -- each sees the turn from its start.
  subs:emit(host.report, "thread turn watcher", t)
  return true
end

--- Calls fn(turn) for each turn of the thread that this client did not start through
--- Thread:turn/run/review: compaction (Thread:compact), shell commands (thread/shellCommand),
--- reviews and turns started with raw requests, turns of another connection to the same
--- app-server. turn is a codex.Turn (turn.foreign is true) whose events replay from its
--- first one (turn:on, events, wait); it is offered once its first event arrived. Returns
--- the unsubscribe function. (Thread:on_turn is the same for one Thread.)
---@param thread_id string
---@param fn fun(turn: codex.Turn)
---@return fun() unsubscribe
function Client:on_thread_turn(thread_id, fn)
  if type(thread_id) ~= "string" or type(fn) ~= "function" then
    error(errors.new("invalid_argument", "on_thread_turn(thread_id, fn): a thread id and a function"), 2)
  end
  if not self.rpc.unclaimed then
    self.rpc:set_unclaimed_handler(function(turn_id, msg) return self:_unclaimed(turn_id, msg) end)
  end
  local subs = self.turn_watchers[thread_id] or util.subscribers()
  self.turn_watchers[thread_id] = subs
  return subs:add(fn)
end

--- Sets the approval handler (nil: decline everything).
---@param fn (fun(req: codex.ServerRequest): table|nil)|nil
function Client:set_approval_handler(fn)
  self.opts.approval_handler = fn
end

--- Spawns the app-server and completes the handshake; idempotent; returns the initialize
--- result (userAgent, codexHome, platformOs, server_version).
---@param cb fun(err: codex.Error|nil, info: table|nil)|nil
---@return table
function Client:start(cb) return self.rpc:start(cb) end

--- Closes the client; waits until the process has exited.
---@param cb fun(err: codex.Error|nil, status: table|nil)|nil
function Client:close(cb) return self.rpc:close(cb) end

--- Raw request (the escape hatch): any method, params as on the wire.
---@param method string
---@param params table|nil
---@param opts {timeout_ms: number|nil}|nil
---@param cb fun(err: codex.Error|nil, result: any)|nil
---@return any
function Client:request(method, params, opts, cb) return self.rpc:request(method, params, opts, cb) end

--- Raw notification.
---@param method string
---@param params table|nil
---@return boolean|nil, codex.Error|nil
function Client:notify(method, params) return self.rpc:notify(method, params) end

--- Subscribes to global notifications (not scoped to a turn or login); "*" for all.
---@param method string
---@param fn fun(params: table, msg: table)
---@return fun() unsubscribe
function Client:on(method, fn) return self.rpc:on(method, fn) end

--- The app-server's stderr tail and process status, for diagnostics.
function Client:stderr(n) return self.rpc:stderr(n) end
function Client:status() return self.rpc:status() end

--- Every model (model/list followed to the last page).
---@param opts {include_hidden: boolean|nil}|nil
---@param cb fun(err: codex.Error|nil, models: table[]|nil)|nil
---@return table[]
Client.models = await.wrap(function(self, opts)
  local out, cursor = {}, nil
  repeat
    local page = self:request("model/list", { includeHidden = opts and opts.include_hidden or nil, cursor = cursor })
    page = type(page) == "table" and page or {}
    for _, m in ipairs(type(page.data) == "table" and page.data or {}) do
      if type(m) == "table" then out[#out + 1] = m end
    end
    cursor = type(page.nextCursor) == "string" and page.nextCursor or nil
  until cursor == nil
  return out
end, 1)

--- Rate limits (account/rateLimits/read); needs a ChatGPT account.
Client.rate_limits = await.wrap(function(self)
  return self:request("account/rateLimits/read")
end, 0)

--- Logs in with an API key. The key is sent only to the app-server, over its stdin.
---@param key string
Client.login_api_key = await.wrap(function(self, key)
  if type(key) ~= "string" or key == "" then error(errors.new("invalid_argument", "login_api_key: a key is required"), 0) end
  return self:request("account/login/start", { type = "apiKey", apiKey = key })
end, 1)

local function start_login(self, kind)
  local result, stream = self.rpc:request_stream("account/login/start", { type = kind }, { timeout_ms = 60000 })
  return login.new(self, result, stream)
end

--- Starts a ChatGPT browser login: returns a handle with login_id and auth_url.
---@return codex.LoginHandle
Client.login_chatgpt = await.wrap(function(self) return start_login(self, "chatgpt") end, 0)

--- Starts a device-code login: returns a handle with login_id, verification_url, user_code.
---@return codex.LoginHandle
Client.login_chatgpt_device_code = await.wrap(function(self)
  return start_login(self, "chatgptDeviceCode")
end, 0)

--- The account (account/read): {account, requiresOpenaiAuth, …}.
---@param opts {refresh_token: boolean|nil}|nil
Client.account = await.wrap(function(self, opts)
  return self:request("account/read", { refreshToken = opts and opts.refresh_token or nil })
end, 1)

--- Logs out (account/logout).
Client.logout = await.wrap(function(self) return self:request("account/logout") end, 0)

-- This module runs in plain Lua too: no vim.deepcopy.
local function shallow_copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function with_defaults(params)
  -- Approvals always go to the user (or the script's handler), never to the server's
  -- automatic reviewer.
  if params.approvalsReviewer == nil then params.approvalsReviewer = "user" end
  return params
end

--- Starts a thread; returns a Thread.
---@param opts table|nil model, cwd, sandbox, approval_policy, approvals_reviewer (default "user"), base_instructions, developer_instructions, ephemeral, config, personality, …
---@return codex.Thread
Client.thread_start = await.wrap(function(self, opts)
  local result = self:request("thread/start", with_defaults(options.params("thread", opts)))
  return thread_mod.new(self, result)
end, 1)

--- Resumes a stored thread; returns a Thread (with its turns in .info.turns, unless
--- opts.exclude_turns). opts.initial_turns_page ({limit, sort_direction, items_view}, as for
--- Thread:turns) asks for a first page of turns: Thread.initial_page.
Client.thread_resume = await.wrap(function(self, id, opts)
  local page = opts and opts.initial_turns_page
  if page ~= nil then
    if type(page) ~= "table" or page.cursor ~= nil then
      error(errors.new("invalid_argument", "option initial_turns_page must be a table of limit, sort_direction, items_view"), 0)
    end
    opts = shallow_copy(opts)
    opts.initial_turns_page = nil
  end
  local params = options.params("thread_resume", opts)
  if page ~= nil then params.initialTurnsPage = options.params("turns", page) end
  params.threadId = id
  return thread_mod.new(self, self:request("thread/resume", with_defaults(params)))
end, 2)

--- Forks a thread; returns the new Thread.
Client.thread_fork = await.wrap(function(self, id, opts)
  local params = options.params("thread_fork", opts)
  params.threadId = id
  return thread_mod.new(self, self:request("thread/fork", with_defaults(params)))
end, 2)

--- Lists threads: {data = {thread…}, nextCursor}.
---@param opts table|nil limit, cursor, archived, cwd, search_term, sort_key, sort_direction
Client.thread_list = await.wrap(function(self, opts)
  return self:request("thread/list", options.params("thread_list", opts))
end, 1)

--- Reads a thread: {thread}. opts.include_turns for its turns.
Client.thread_read = await.wrap(function(self, id, opts)
  return self:request("thread/read", { threadId = id, includeTurns = opts and opts.include_turns or nil })
end, 2)

--- One page of a thread's stored turns (thread/turns/list); see Thread:turns.
---@param id string
---@param opts codex.TurnsOptions|nil
---@return codex.TurnsPage
Client.thread_turns = await.wrap(function(self, id, opts)
  local params = options.params("turns", opts)
  params.threadId = id
  return thread_mod.page(self:request("thread/turns/list", params))
end, 2)

Client.thread_archive = await.wrap(function(self, id)
  return self:request("thread/archive", { threadId = id })
end, 1)

Client.thread_unarchive = await.wrap(function(self, id)
  return self:request("thread/unarchive", { threadId = id })
end, 1)

return M
