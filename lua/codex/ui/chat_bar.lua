---@mod codex.ui.chat_bar  The chat's bar and name: winbar (statusline on 0.7) model · state ·
--- context · tokens, then the thread's name; the chat window's statusline and buffer names.
---
--- Chat:status_text, Chat:title and the name methods are methods of codex.Chat (mixed in by
--- codex.ui.chat); redraw() and tick() are what the chat calls when the bar's text changes.
local api = vim.api
local uv = vim.uv or vim.loop

---@class codex.Chat
local Chat = {}
local M = { methods = Chat }

-- "%<" last: a bar wider than its window is cut from the right ("…>"), so the model and the
-- state (first) stay and the name (right-aligned, last) goes first. (The default cuts the
-- start, the model and state.)
--- The bar of the window being drawn, as a 'winbar'/'statusline' expression.
M.EXPR = "%{v:lua.require'codex.ui.chat_bar'.bar()}%= %{v:lua.require'codex.ui.chat_bar'.name()}%<"

--- The chat window's 'statusline' on 0.8+ (the bar is the winbar there): the thread's name,
--- not the buffer's codex:// name.
M.STATUS_EXPR = "%{v:lua.require'codex.ui.chat_bar'.name()}%< %=%l/%L"

local chat_of ---@type fun(buf: integer): codex.Chat|nil

--- How the bar finds a buffer's chat (codex.ui.chat sets it; this module never requires it).
---@param lookup fun(buf: integer): codex.Chat|nil
function M.set_lookup(lookup) chat_of = lookup end

local function drawn() return chat_of and chat_of(api.nvim_get_current_buf()) end

--- The bar text of the chat shown in the window being drawn.
---@return string
function M.bar()
  local c = drawn()
  return c and c:status_text() or ""
end

--- The name of the chat shown in the window being drawn ("" without one).
---@return string
function M.name()
  local c = drawn()
  return c and c:title() or ""
end

local function text(v) return type(v) == "string" and v:match("%S") and v or nil end

--- One line, at most n characters (UTF-8 aware), with "…" when cut.
local function short(s, n)
  s = vim.trim((s:gsub("%s+", " "):gsub("%c", "")))
  if vim.fn.strchars(s) > n then s = vim.fn.strcharpart(s, 0, n - 1) .. "…" end
  return s
end
M.short = short

--- The chat's name for people: the thread's name, else the first words of its first message
--- (sent here, or the server's preview), with " (fork)" for a fork; nil when nothing is known
--- (a new chat before its first message). Never the thread id.
---@return string|nil
function Chat:title()
  local info = self.thread and type(self.thread.info) == "table" and self.thread.info or {}
  local name = text(info.name) or self.first_text or text(info.preview)
  if not name then return nil end
  name = short(name, 40)
  if not text(info.name) and (text(info.forkedFromId) or self.forked_from) then name = name .. " (fork)" end
  return name
end

--- The last 8 characters of the thread id: UUID v7 ids start with the time, so two threads
--- made within a minute share their first characters, never their last.
---@return string|nil
function Chat:short_id()
  return self.thread_id and self.thread_id:sub(-8) or nil
end

--- The name of the chat's buffer of that kind ("thread" or "input"): codex://thread/<title>
--- (<short id>), readable and unique; codex://thread/<id or key> while there is no title.
---@param kind "thread"|"input"
---@return string
function Chat:buf_name(kind)
  local title = self:title()
  if title and self.thread_id then
    return ("codex://%s/%s (%s)"):format(kind, (title:gsub("/", "∕")), self:short_id())
  end
  return ("codex://%s/%s"):format(kind, self.key)
end

--- Names the chat's buffers after its title (after set_thread, a rename, a name update) and
--- redraws the bars. A name another buffer holds (two chats of the same title and short id)
--- falls back to the id.
function Chat:apply_names()
  for _, pair in ipairs({ { self.buf, "thread" }, { self.input_buf, "input" } }) do
    local buf, kind = pair[1], pair[2]
    if buf and api.nvim_buf_is_valid(buf) then
      local old, want = api.nvim_buf_get_name(buf), self:buf_name(kind)
      if old ~= want then
        if not pcall(api.nvim_buf_set_name, buf, want) and self.thread_id then
          pcall(api.nvim_buf_set_name, buf, ("codex://%s/%s"):format(kind, self.thread_id))
        end
        -- Renaming leaves an unloaded buffer with the old name behind (the alternate file).
        for _, b in ipairs(api.nvim_list_bufs()) do
          if b ~= buf and not api.nvim_buf_is_loaded(b) and api.nvim_buf_get_name(b) == old then
            pcall(api.nvim_buf_delete, b, { force = true })
          end
        end
      end
    end
  end
  M.redraw()
end

--- The thread got a name (:Codex rename, or thread/name/updated from the server).
---@param name string|nil
function Chat:set_name(name)
  if not (self.thread and type(self.thread.info) == "table") then return end
  self.thread.info.name = text(name) and name or nil
  self:apply_names()
end

-- The models' default efforts (model/list), per client: a thread the server reports no
-- reasoningEffort for (none configured) runs at its model's default.
local default_efforts = setmetatable({}, { __mode = "k" }) ---@type table<table, table<string, string>|false>

--- Learns the default efforts of the chat's client (one model/list per client), then redraws.
function Chat:learn_default_effort()
  local client = self.thread and self.thread.client
  if type(client) ~= "table" or type(client.models) ~= "function" or default_efforts[client] ~= nil then return end
  default_efforts[client] = false -- asked
  -- Scheduled: the turn/start this thread was made for goes to the server first.
  vim.schedule(function() pcall(client.models, client, nil, function(err, models)
    if err or type(models) ~= "table" then return end
    local map = {}
    for _, m in ipairs(models) do
      if type(m) == "table" and type(m.id) == "string" and type(m.defaultReasoningEffort) == "string" then
        map[m.id] = m.defaultReasoningEffort
      end
    end
    default_efforts[client] = map
    M.redraw()
  end) end)
end

--- The effort of the chat's next turn, when known: chosen (setup, :Codex model), the
--- thread's, else its model's default.
---@return string|nil
function Chat:effective_effort(model)
  if self.effort or self.server_effort then return self.effort or self.server_effort end
  local client = self.thread and self.thread.client
  local map = client and default_efforts[client]
  return map and model and map[model] or nil
end

local function tokens_text(total)
  return total >= 1000 and ("%.1fk tokens used"):format(total / 1000) or (total .. " tokens used")
end

local function window_name(mins)
  if type(mins) ~= "number" or mins <= 0 then return nil end
  if mins % 10080 == 0 then return math.floor(mins / 10080) .. "w" end
  if mins % 1440 == 0 then return math.floor(mins / 1440) .. "d" end
  if mins % 60 == 0 then return math.floor(mins / 60) .. "h" end
  return mins .. "m"
end

--- A rate-limit snapshot (account/rateLimits/updated) in words: the fuller of its windows,
--- "5h limit 42%, resets 14:05" (a reset more than a day away: "resets Dec 03"); nil without one.
---@param rl table|nil codex.proto.RateLimitSnapshot
---@param now integer|nil unix seconds (default os.time())
---@return string|nil
function M.limit_text(rl, now)
  if type(rl) ~= "table" then return nil end
  local w
  for _, k in ipairs({ "primary", "secondary" }) do
    local x = rl[k]
    if type(x) == "table" and type(x.usedPercent) == "number" and (not w or x.usedPercent > w.usedPercent) then w = x end
  end
  if not w then return nil end
  local name = window_name(w.windowDurationMins)
  local out = ("%slimit %d%%"):format(name and (name .. " ") or "", math.floor(w.usedPercent + 0.5))
  if type(w.resetsAt) == "number" then
    now = now or os.time()
    out = out .. ", resets " .. os.date(w.resetsAt - now < 86400 and "%H:%M" or "%b %d", w.resetsAt)
  end
  return out
end

--- The rate limits the chat's client last reported (codex.ui.notices), else the session's.
function Chat:rate_limits()
  local client = self.thread and self.thread.client
  return require("codex.ui.notices").rate_limits(client) or require("codex.session").rate_limits
end

--- Status for bars: model (effort) · state · queue · mode · plan · context used · rate limit
--- · tokens used (the thread's).
function Chat:status_text()
  local parts = { "Codex" }
  local model = self.model or self.server_model
  local effort = self:effective_effort(model)
  if model then parts[#parts + 1] = model .. (effort and (" (" .. effort .. ")") or "") end
  if self.approval_waiting then
    parts[#parts + 1] = "waiting for approval"
  elseif self.state == "running" and self.started then
    parts[#parts + 1] = ("running %d s"):format(math.floor((uv.now() - self.started) / 1000))
  elseif self.state == "starting" then
    parts[#parts + 1] = "starting"
  else
    parts[#parts + 1] = "idle"
  end
  if #self.queue > 0 then parts[#parts + 1] = #self.queue .. " queued" end
  local modes = require("codex.ui.modes")
  local mode = modes.bar_word(self)
  if mode then parts[#parts + 1] = mode end
  if modes.planning(self) then parts[#parts + 1] = "plan" end
  local t = type(self.tokens) == "table" and self.tokens or {}
  -- Context used: the last request's tokens (all of the context it sent, and its answer) of
  -- the model's window.
  local last = type(t.last) == "table" and t.last.totalTokens
  local window = t.modelContextWindow
  if type(last) == "number" and type(window) == "number" and window > 0 then
    parts[#parts + 1] = ("ctx %d%%"):format(math.floor(last * 100 / window + 0.5))
  end
  local limit = M.limit_text(self:rate_limits())
  if limit then parts[#parts + 1] = limit end
  local total = type(t.total) == "table" and t.total.totalTokens
  if type(total) == "number" then parts[#parts + 1] = tokens_text(total) end
  return table.concat(parts, " · ")
end

--- Redraws the bars once the current work is done (codex.ui.util.redraw_bars).
M.redraw = require("codex.ui.util").redraw_bars

-- A 1 s tick keeps "running N s" current while any chat runs.
local ticker

--- Starts the 1 s tick (if it is not running): it redraws the bars, and stops once running()
--- says no chat runs any more.
---@param running fun(): boolean
function M.tick(running)
  if ticker then return end
  ticker = uv.new_timer()
  ticker:start(1000, 1000, function()
    vim.schedule(function()
      M.redraw()
      if not running() and ticker then
        ticker:stop()
        ticker:close()
        ticker = nil
      end
    end)
  end)
end

function Chat:set_approval_waiting(on)
  self.approval_waiting = on and true or false
  M.redraw()
end

--- Follows the server's thread/name/updated for this chat's thread (a rename from here, from
--- another client, or the server's own), so the bar and buffer names change at once.
function Chat:watch_name()
  if self.unwatch_name then self.unwatch_name() end
  self.unwatch_name = nil
  local client, id = self.thread and self.thread.client, self.thread_id
  if type(client) ~= "table" or type(client.on) ~= "function" then return end
  self.unwatch_name = client:on("thread/name/updated", function(p)
    if type(p) == "table" and p.threadId == id then self:set_name(p.threadName) end
  end)
end

local ENDS = { completed = "is done", interrupted = "was interrupted", failed = "failed" }

--- A turn ended: if the user cannot be watching (the chat is hidden, focus is in another
--- window, or Neovim has no focus), a notification says so, naming the chat (Chat:title,
--- never the thread id); the terminal is told too when `notify.terminal` / `notify.bell` say
--- "always" (codex.ui.notify).
---@param turn table the turn/completed turn
function Chat:announce_end(turn)
  local cur = api.nvim_get_current_win()
  local tell = require("codex.ui.notify")
  if tell.focused() and self:visible() and (cur == self.win or cur == self.input_win) then return end
  local status = type(turn) == "table" and turn.status
  local what = ENDS[status] or ENDS.completed
  local err = type(turn) == "table" and type(turn.error) == "table" and type(turn.error.message) == "string" and turn.error.message
  local msg = ("%s %s%s"):format(self:title() and ("%q"):format(self:title()) or "the chat", what,
    (status == "failed" and err) and (": " .. short(err, 80)) or "")
  local body = msg
  msg = msg .. (self:visible() and "" or " (:Codex resume shows it)")
  require("codex.ui.util").notify(msg, status == "failed" and vim.log.levels.WARN or vim.log.levels.INFO)
  tell.terminal("turn", "Codex", body)
end

return M
