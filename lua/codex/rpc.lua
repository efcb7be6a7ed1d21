---@mod codex.rpc  A connection to one `codex app-server`: start, requests, notifications,
--- streams, server requests, death and restart. Every waiting call is awaitable
--- (codex.await): callback, coroutine, or blocking on the main thread.
local core = require("codex.core")
local await = require("codex.await")
local errors = require("codex.errors")
local host = require("codex.host")
local stream = require("codex.stream")
local version = require("codex.version")
local schema = require("codex.schema")
local server_requests = require("codex.server_requests")
local util = require("codex.util")

local M = {}

-- The plugin's version and the pinned codex, both from codex.version (their one source).
M.VERSION = version.plugin
M.PINNED_CODEX = version.pinned

-- codex.RpcOptions is generated from codex.schema.client (lua/codex/types/options.lua); the
-- defaults applied here come from the same rows.
local D = schema.defaults(require("codex.schema.client"))

---@class codex.Rpc
---@field opts codex.RpcOptions
---@field core userdata|nil the codex.core client while a process is attached
---@field info table|nil the initialize result (+ server_version)
---@field state "new"|"starting"|"ready"|"dead"|"closed"
local Rpc = {}
Rpc.__index = Rpc

local live = setmetatable({}, { __mode = "k" }) -- every Rpc, for VimLeavePre

--- Quitting Neovim ends every child (DESIGN §2.4), waiting briefly for them to exit.
local function close_all()
  local procs = {}
  for rpc in pairs(live) do
    if rpc.core and rpc.core:status().alive then
      procs[#procs + 1] = rpc.core
      rpc.state = "closed"
      rpc.core:close()
    end
  end
  host.wait(3000, function()
    for _, c in ipairs(procs) do if c:status().alive then return false end end
    return true
  end)
end

local initialised = false
--- The first-use initialiser: requiring codex modules changes nothing in the host; the first
--- connection installs the core's reporter (host.init) and, in Neovim, the VimLeavePre
--- autocmd that ends every child.
local function init()
  if initialised then return end
  initialised = true
  host.init()
  host.on_quit("codex_core", close_all)
end

local KEY_PATTERN = "^[%w_%-]+$"

--- Builds the argv: codex [--config k=v]… app-server --listen stdio:// [extra…]
---@param opts codex.RpcOptions
---@return string[]|nil argv, string|nil err
function M.argv(opts)
  if opts.args then return opts.args end
  local argv = { host.codex_bin(opts.codex_bin) }
  local keys = {}
  for k in pairs(opts.config or {}) do
    -- A key is dotted segments of [A-Za-z0-9_-]+, checked before sorting (mixed key types
    -- cannot be compared) and before any concatenation.
    if type(k) ~= "string" then
      return nil, ("invalid config key %s (a %s; config keys are strings such as \"model\")"):format(tostring(k), type(k))
    end
    local ok = k ~= ""
    for seg in (k .. "."):gmatch("([^.]*)%.") do
      if not seg:match(KEY_PATTERN) then ok = false end
    end
    if not ok then return nil, ("invalid config key %q (dotted segments of letters, digits, _ and -)"):format(k) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v, err = core.toml(opts.config[k])
    if not v then return nil, ("config %s: %s"):format(k, err) end
    argv[#argv + 1] = "--config"
    argv[#argv + 1] = k .. "=" .. v
  end
  argv[#argv + 1] = "app-server"
  argv[#argv + 1] = "--listen"
  argv[#argv + 1] = "stdio://"
  for _, a in ipairs(opts.app_server_args or {}) do argv[#argv + 1] = a end
  return argv
end

--- Creates a connection; nothing is spawned until start() (or the first request).
---@param opts codex.RpcOptions|nil
---@return codex.Rpc
function M.new(opts)
  init()
  local self = setmetatable({ opts = opts or {}, state = "new", subs = {}, start_waiters = nil }, Rpc)
  live[self] = true
  return self
end

function Rpc:_emit(msg)
  for _, key in ipairs({ msg.method, "*" }) do
    local list = self.subs[key]
    if list then list:emit(host.report, "notification callback (" .. tostring(msg.method) .. ")", msg.params, msg) end
  end
end

--- Subscribes to global notifications (those not scoped to a turn or login); "*" for all.
--- fn(params, msg) runs scheduled. Returns an unsubscribe function; unsubscribing during a
--- delivery is safe (codex.util.subscribers).
---@param method string
---@param fn fun(params: table, msg: table)
---@return fun()
function Rpc:on(method, fn)
  self.subs[method] = self.subs[method] or util.subscribers()
  return self.subs[method]:add(fn)
end

function Rpc:_install_unclaimed(c)
  c:on_unclaimed(function(turn_id, msg)
    local ok, claimed = util.safe_call(host.report, "unclaimed turn handler", self.unclaimed, turn_id, msg)
    -- Not taken: the core keeps it as any turn nobody watches (dropped when it ends).
    if not (ok and claimed) and c == self.core then c:release("turn:" .. turn_id) end
  end)
end

--- Sets the handler of turns no request of this connection named (compaction, shell
--- commands, another client's turns…): fn(turn_id, first_event) -> true when it watched the
--- turn (Rpc:watch, at once: its events so far are replayed), else the turn is left to the
--- core's buffer (dropped when it ends). A turn whose events came while a turn-starting
--- request was in flight is offered only once no such request remains (it may be that
--- request's own turn). Without a handler nothing is offered (the core's default).
---@param fn fun(turn_id: string, msg: table): boolean|nil
function Rpc:set_unclaimed_handler(fn)
  self.unclaimed = fn
  if self.core then self:_install_unclaimed(self.core) end
end

function Rpc:_spawn()
  local opts = self.opts
  local argv, err = M.argv(opts)
  if not argv then return nil, errors.new("invalid_argument", err) end
  local c, msg, code = core.spawn({
    argv = argv, env = opts.env, cwd = opts.cwd, max_line = opts.max_line,
    timeout_ms = opts.request_timeout_ms or D.request_timeout_ms, retry = opts.retry, kill_grace_ms = opts.kill_grace_ms,
  })
  if not c then
    -- No codex where we looked: say how to install it, not "no such file or directory".
    if code == "ENOENT" and not opts.args then msg = host.codex_missing_message(argv[1]) end
    return nil, errors.new("transport_closed", msg, { code_name = code })
  end
  self.core = c
  c:on_notification(function(m) self:_emit(m) end)
  c:on_request(server_requests.dispatcher(c, function() return self.opts.approval_handler end))
  if self.unclaimed then self:_install_unclaimed(c) end
  c:on_protocol_error(function(e)
    if self.opts.on_protocol_error then return self.opts.on_protocol_error(e) end
    host.report(tostring(e))
  end)
  c:on_close(function(e)
    if self.core == c and not self.death then
      self.state = self.state == "closed" and "closed" or "dead"
      self.death = e
    end
    self:_emit({ method = "codex/closed", params = { error = e } })
  end)
  return c
end

--- Spawns the app-server and performs the handshake (initialize, then initialized), once,
--- however many callers ask at the same time. Returns the initialize result.
---@param cb fun(err: codex.Error|nil, info: table|nil)|nil
---@return table info
function Rpc:start(cb)
  return await.call(function(done) self:_start(done) end, cb, (self.opts.start_timeout_ms or D.start_timeout_ms) + 1000, "start")
end

function Rpc:_start(done)
  if self.state == "ready" then return core.timer(0, function() done(nil, self.info) end) end
  if self.state == "closed" then return core.timer(0, function() done(errors.new("closed", "the client was closed")) end) end
  if self.state == "dead" and not self.opts.restart then
    return core.timer(0, function() done(self.death) end)
  end
  if self.start_waiters then
    table.insert(self.start_waiters, done)
    return
  end
  self.start_waiters = { done }
  local function finish(err, info)
    local waiters = self.start_waiters
    self.start_waiters = nil
    for _, w in ipairs(waiters) do w(err, info) end
  end
  self.death = nil
  local c, err = self:_spawn()
  if not c then
    self.state, self.death = "dead", err
    return core.timer(0, function() finish(err) end)
  end
  self.state = "starting"
  local ci = self.opts.client_info or {}
  local experimental = self.opts.experimental_api
  if experimental == nil then experimental = D.experimental_api end
  local params = {
    clientInfo = { name = ci.name or "codex_nvim", title = ci.title or "codex.nvim", version = ci.version or M.VERSION },
    capabilities = {
      experimentalApi = experimental,
      optOutNotificationMethods = self.opts.opt_out_notifications and core.array(self.opts.opt_out_notifications) or nil,
    },
  }
  c:request("initialize", params, function(e, info)
    if e then
      -- A refused handshake leaves nothing behind; later calls fail with its error.
      self.state, self.death = "dead", e
      c:close()
      return finish(e)
    end
    if type(info) ~= "table" then info = {} end
    info.server_version = version.from_user_agent(info.userAgent)
    c:notify("initialized")
    self.info, self.state = info, "ready"
    self:_check_version(info.server_version)
    finish(nil, info)
  end, { timeout_ms = self.opts.start_timeout_ms or D.start_timeout_ms })
end

--- Once per client, after the first handshake: a codex outside the supported range (from
--- the server's own userAgent, so also behind client.args) is one warning, to opts.on_warning,
--- else host.notify (WARN when older, INFO when newer than tested).
function Rpc:_check_version(v)
  if self.version_checked then return end
  self.version_checked = true
  local msg, level = version.warning(v)
  if not msg then return end
  if self.opts.on_warning then
    util.safe_call(host.report, "on_warning", self.opts.on_warning, msg, {
      kind = "codex_version", version = v, status = version.status(v), min = version.min, max_tested = version.max_tested,
    })
  else
    host.notify(msg, level)
  end
end

--- Sends a request and waits for its result (awaitable). Starts the client if needed.
--- opts: timeout_ms, stream (a codex.Stream to register for the turn/login the result names).
---@param method string
---@param params table|nil
---@param opts {timeout_ms: number|nil, stream: codex.Stream|nil}|nil
---@param cb fun(err: codex.Error|nil, result: any)|nil
---@return any result
function Rpc:request(method, params, opts, cb)
  if type(opts) == "function" then opts, cb = nil, opts end
  opts = opts or {}
  local timeout = opts.timeout_ms or self.opts.request_timeout_ms or D.request_timeout_ms
  return await.call(function(done)
    local function send()
      self.core:request(method, params, done, {
        timeout_ms = timeout,
        stream = opts.stream and opts.stream:sink() or nil,
      })
    end
    -- On a ready client the request goes to stdin now: a hop through the loop would wait for
    -- whatever it runs first (a redraw of a long chat), and done() comes from the response
    -- anyway, never inside the caller's stack.
    if self.state == "ready" then return send() end
    self:_start(function(err)
      if err then return done(err) end
      send()
    end)
  end, cb, timeout > 0 and timeout + 1000 or nil, method)
end

--- Sends a notification. Returns true, or nil + error.
---@param method string
---@param params table|nil
---@return boolean|nil, codex.Error|nil
function Rpc:notify(method, params)
  if self.state ~= "ready" then return nil, self.death or errors.new("closed", "not started") end
  local ok, msg = self.core:notify(method, params)
  if not ok then return nil, errors.new("invalid_argument", msg) end
  return true
end

--- Starts a request whose result names a turn (result.turn.id) or a login (result.loginId),
--- and returns (result, stream). The stream is registered before the next message is read.
---@param method string
---@param params table|nil
---@param opts {timeout_ms: number|nil}|nil
---@return table result, codex.Stream stream
function Rpc:request_stream(method, params, opts)
  local s = stream.new("pending", method == "account/login/start" and "account/login/completed" or "turn/completed")
  opts = opts or {}
  local result = self:request(method, params, { timeout_ms = opts.timeout_ms, stream = s })
  if type(result) == "table" then
    if type(result.turn) == "table" and result.turn.id then s.key = "turn:" .. result.turn.id
    elseif result.loginId then s.key = "login:" .. result.loginId end
  end
  return result, s
end

--- A stream of the events of a turn or login started elsewhere ("turn:<id>"/"login:<id>"),
--- with what arrived before replayed.
---@param key string
---@return codex.Stream
function Rpc:watch(key)
  local kind = key:match("^(%w+):")
  local s = stream.new(key, kind == "login" and "account/login/completed" or "turn/completed")
  if not self.core then
    s:push(nil, self.death or errors.new("closed", "not started"))
    return s
  end
  local ok, why = self.core:watch(key, s:sink())
  if ok == false and why then s.ended = true end
  return s
end

--- Closes the connection: stdin closed, SIGTERM after a grace period, SIGKILL 2 s later.
--- Pending calls fail with kind "closed". Waits (awaitable) until the process has exited.
---@param cb fun(err: nil, status: {code: integer, signal: integer})|nil
function Rpc:close(cb)
  local c = self.core
  self.state = "closed"
  return await.call(function(done)
    if not c or not c:status().alive then
      return core.timer(0, function() done(nil, c and c:status() or {}) end)
    end
    c:on_exit(function(code, sig) done(nil, { code = code, signal = sig }) end)
    c:close()
  end, cb, 5000, "close")
end

--- The last n lines of the app-server's stderr.
---@param n integer|nil
---@return string
function Rpc:stderr(n)
  return self.core and self.core:stderr(n or 40) or ""
end

--- pid, alive, pending calls, buffered events… (see codex.core client:status()).
---@return table
function Rpc:status()
  local st = self.core and self.core:status() or {}
  st.state = self.state
  return st
end

return M
