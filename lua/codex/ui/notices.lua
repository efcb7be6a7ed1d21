---@mod codex.ui.notices  What the server says outside any turn: warnings, MCP servers'
--- startup, thread errors, rate limits.
---
--- attach(client) subscribes once per client (codex.session does it as it makes the shared
--- client, before the handshake: configWarning comes with initialize; a chat does it again for
--- its own client, which costs nothing). A notice about a thread that has a chat is a line in
--- that chat (chat_items.warning_line); one about no thread, or a thread without a chat, is a
--- vim.notify. The same global text is notified once per client (a config warning is repeated
--- for every thread start).
local items = require("codex.ui.chat_items")
local util = require("codex.ui.util")

local M = {}

-- Per client (weak keys: a closed client goes): what it told us.
---@class codex.NoticeState
---@field seen table<string, boolean> global texts already notified
---@field global string[] the global notices, whole (shown by :checkhealth codex)
---@field mcp table<string, table> latest mcpServer/startupStatus/updated per server name
---@field rate_limits table|nil latest account/rateLimits/updated rateLimits
---@field thread_status table<string, string> last thread/status/changed type per thread
local state = setmetatable({}, { __mode = "k" }) ---@type table<table, codex.NoticeState>

local function str(v) return type(v) == "string" and v ~= "" and v or nil end

--- The chat of a thread, if one is open (never loads the chat module for nothing).
local function chat_of(thread_id)
  if not thread_id then return nil end
  local mod = package.loaded["codex.ui.chat"]
  return mod and mod.find(thread_id) or nil
end

--- Writes a warning line at the end of a chat's transcript.
---@param chat codex.Chat
---@param text string
---@param label string|nil
function M.to_chat(chat, text, label)
  chat:ensure_buffers()
  chat.renderer:append_lines({ "", items.warning_line(text, label) })
end

--- A notice: a line in the thread's chat if it has one, else a notification (once per text
--- and client when global).
local function tell(st, thread_id, text, label, level)
  local chat = chat_of(thread_id)
  if chat then return M.to_chat(chat, text, label) end
  local msg = (label and (label:lower() .. ": ") or "") .. text
  if st.seen[msg] then return end
  st.seen[msg] = true
  -- One line that fits: a longer message would stop the editor at a hit-enter prompt
  -- (the first one comes with the app-server's start). :checkhealth codex has them whole.
  st.global[#st.global + 1] = msg
  local room = math.max(30, (tonumber(vim.v.echospace) or vim.o.columns - 12) - #util.PREFIX - 1)
  local short = util.fit(msg, room)
  if short ~= msg then short = util.fit(msg, room - #" (:checkhealth codex)") .. " (:checkhealth codex)" end
  util.notify(short, level or vim.log.levels.WARN)
end

-- Handlers per method: fn(st, params).
local handlers = {}

handlers.configWarning = function(st, p)
  local text = str(p.summary) or "a problem in the configuration"
  local where = str(p.path)
  if where and type(p.range) == "table" and type(p.range.start) == "table" and type(p.range.start.line) == "number" then
    where = where .. ":" .. p.range.start.line
  end
  if where then text = text .. " (" .. where .. ")" end
  if str(p.details) then text = text .. " — " .. p.details end
  tell(st, nil, text, "Config warning")
end

handlers.warning = function(st, p)
  tell(st, str(p.threadId), str(p.message) or "(no message)", "Warning")
end

handlers.deprecationNotice = function(st, p)
  local text = str(p.summary) or "something you use is deprecated"
  if str(p.details) then text = text .. " — " .. p.details end
  tell(st, nil, text, "Deprecated")
end

handlers.guardianWarning = function(st, p)
  tell(st, str(p.threadId), str(p.message) or "(no message)", "Guardian")
end

handlers["mcpServer/startupStatus/updated"] = function(st, p)
  local name = str(p.name)
  if not name then return end
  st.mcp[name] = p
  if p.status ~= "failed" then return end
  local text = ("MCP server %q failed to start%s"):format(name, str(p.error) and (": " .. p.error) or "")
  if p.failureReason == "reauthenticationRequired" then text = text .. " (it needs a new login: :Codex mcp)" end
  tell(st, str(p.threadId), text, "MCP")
end

handlers["mcpServer/oauthLogin/completed"] = function(_, p)
  local name = str(p.name) or "?"
  if p.success == true then
    util.notify(("MCP server %q: logged in"):format(name))
  else
    util.notify(("MCP server %q: login failed%s"):format(name, str(p.error) and (": " .. p.error) or ""),
      vim.log.levels.WARN)
  end
end

handlers["thread/status/changed"] = function(st, p)
  local id = str(p.threadId)
  local kind = type(p.status) == "table" and str(p.status.type) or nil
  if not id or not kind then return end
  local before = st.thread_status[id]
  st.thread_status[id] = kind
  if kind ~= "systemError" or before == "systemError" then return end
  local chat = chat_of(id)
  if chat then return M.to_chat(chat, "the app-server reports an error in this thread; the next message may fail", "System error") end
end

handlers["thread/settings/updated"] = function(_, p)
  local chat = chat_of(str(p.threadId))
  if not chat or type(p.threadSettings) ~= "table" then return end
  chat.server_settings = p.threadSettings -- (what the bar's mode and plan words come from)
  util.redraw_bars()
end

handlers["account/rateLimits/updated"] = function(st, p)
  if type(p.rateLimits) ~= "table" then return end
  st.rate_limits = p.rateLimits
  util.redraw_bars()
end

--- The methods attach() subscribes to.
M.METHODS = {}
for method in pairs(handlers) do M.METHODS[#M.METHODS + 1] = method end
table.sort(M.METHODS)

local function run(st, method, p)
  if type(p) ~= "table" then return end
  local ok, err = pcall(handlers[method], st, p)
  if not ok then util.notify("could not show " .. method .. ": " .. tostring(err), vim.log.levels.ERROR) end
end

--- Subscribes to the client's global notices; idempotent. Returns the client's state.
---@param client table a codex.Client (or codex.Rpc: anything with on(method, fn))
---@return codex.NoticeState|nil
function M.attach(client)
  if type(client) ~= "table" or type(client.on) ~= "function" then return nil end
  if state[client] then return state[client] end
  local st = { seen = {}, global = {}, mcp = {}, thread_status = {} }
  state[client] = st
  require("codex.ui.notify").watch() -- (focus and approvals: from the first client on)
  for _, method in ipairs(M.METHODS) do
    client:on(method, function(p)
      -- (callbacks may come in a fast event: buffers and notify need the main loop)
      if vim.in_fast_event() then return vim.schedule(function() run(st, method, p) end) end
      run(st, method, p)
    end)
  end
  return st
end

--- What the client told us so far (nil when never attached).
---@param client table|nil
---@return codex.NoticeState|nil
function M.state(client) return client and state[client] or nil end

--- The client's latest rate limits (account/rateLimits/updated), if any came.
---@param client table|nil
---@return table|nil
function M.rate_limits(client)
  local st = M.state(client)
  return st and st.rate_limits or nil
end

--- A turn's notification about its model (model/rerouted): a line in the chat.
---@param chat codex.Chat
---@param p table the params
function M.rerouted(chat, p)
  local from, to = str(p.fromModel) or "?", str(p.toModel) or "?"
  local why = str(p.reason)
  M.to_chat(chat, ("this turn was moved from %s to %s%s"):format(from, to, why and (" (" .. why .. ")") or ""), "Model rerouted")
end

return M
