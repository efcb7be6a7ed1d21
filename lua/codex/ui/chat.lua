---@mod codex.ui.chat  Chat buffers: a thread rendered as it streams, with an input buffer.
---
--- A chat is a thread: buffer `codex://thread/<name> (<short id>)` (filetype "codex") in a
--- window, and an input buffer below it. Sending starts a turn; while a turn runs, sending
--- steers it, and the queue key keeps a message for the next turn. Several chats can be open.
--- Nothing here waits: every call to the app-server takes a callback.
local api = vim.api
local uv = vim.uv or vim.loop
local config = require("codex.config")
local events = require("codex.events")
local items = require("codex.ui.chat_items")
local render = require("codex.ui.render")
local session = require("codex.session")
local util = require("codex.ui.util")
local bar = require("codex.ui.chat_bar")
local history = require("codex.ui.chat_history")
local links = require("codex.ui.chat_links")
local progress = require("codex.ui.chat_progress")

local M = {}

---@type table<string, codex.Chat>
local chats = {}
---@type table<integer, codex.Chat>
local by_buf = {}
local recent = {} -- most recently used last
local counter = 0

---@class codex.Chat
---@field key string
---@field thread codex.Thread|nil
---@field thread_id string|nil
---@field cwd string
---@field buf integer chat buffer
---@field input_buf integer
---@field win integer|nil
---@field input_win integer|nil
---@field state "idle"|"starting"|"running"
---@field turn codex.Turn|nil
---@field queue string[] messages waiting for the next turn (shown below the transcript until it starts)
---@field model string|nil
---@field effort string|nil
---@field tokens table|nil last token usage
---@field last_diff {turn_id: string, diff: string}|nil the newest turn's aggregated diff (turn/diff/updated; for a stored turn, from its file changes)
local Chat = {}
Chat.__index = Chat
-- Its other methods live with what they do: windows, the bar, stored history.
for _, methods in ipairs({ require("codex.ui.chat_window"), bar.methods, history.methods,
  require("codex.ui.chat_turns").methods, require("codex.ui.chat_turn_marks").methods }) do
  for name, fn in pairs(methods) do Chat[name] = fn end
end

local notify, err_text = util.notify, util.err_text
local map = util.mapper("codex: ")

-- Protocol values read here (turn ids, lists of turns): JSON null is no value.
local val, str, list = require("codex.util").val, require("codex.util").str, require("codex.util").list

local function touch(chat)
  for i, c in ipairs(recent) do
    if c == chat then table.remove(recent, i) break end
  end
  recent[#recent + 1] = chat
end

Chat._touch = touch -- (the chat is the most recent one)

local function new_buf(name, ft)
  local buf = api.nvim_create_buf(false, true) -- unlisted scratch: nofile, bufhidden=hide
  pcall(api.nvim_buf_set_name, buf, name)
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = ft
  return buf
end

local function loaded(buf) return buf ~= nil and api.nvim_buf_is_loaded(buf) end

-- The chats' autocmds, made with the first chat (requiring this module changes nothing).
-- Scrolling a chat to its top loads earlier turns: one WinScrolled for every chat (the check
-- is cheap, and only chats with earlier turns look at their window).
local augroup
local function group()
  if augroup then return augroup end
  augroup = api.nvim_create_augroup("CodexChat", { clear = true })
  api.nvim_create_autocmd("WinScrolled", {
    group = augroup,
    callback = function()
      for _, c in pairs(chats) do
        if c:has_earlier() then c:_at_top() end
      end
    end,
  })
  return augroup
end

-- The user may wipe (:bd, :bw) either buffer of a chat at any time, even mid-turn. The chat
-- survives: the transcript is saved as the chat buffer unloads, the chat's other window
-- closes, and new buffers (with the same text) are made at once, hidden; a running turn
-- streams on into them and the next :Codex shows them.
local function watch(self, buf)
  api.nvim_create_autocmd({ "BufUnload", "BufWipeout" }, {
    group = group(), buffer = buf,
    callback = function(ev) self:_buf_gone(ev.buf) end,
  })
end

-- The keys of both buffers of a chat (normal and insert mode where typing goes on).
local function map_common(self, buf, k)
  map(buf, { "n", "i" }, k.stop, function() self:stop() end, "interrupt the turn")
  map(buf, { "n", "i" }, k.focus_approval, function() require("codex.ui.approval").focus(self.thread_id) end, "answer the approval")
  map(buf, "n", k.help, function() require("codex.ui.chat_help").open() end, "list the chat's keys")
end

-- Keys that would start typing in the (read-only) transcript type in the input instead.
local TYPE_KEYS = { "i", "a", "I", "A", "o", "O" }

--- The chat buffer (transcript): keymaps, highlighting, the wipe watch.
function Chat:_make_chat_buf()
  local k = config.get().keymaps
  local buf = new_buf(self:buf_name("thread"), "codex")
  vim.bo[buf].modifiable = false
  vim.bo[buf].undolevels = -1 -- streamed text is not the user's edit history
  -- Highlighting is the renderer's (codex.ui.highlight: extmarks set as text is written).
  -- Neither tree-sitter nor a syntax file runs here: over a buffer holding a whole thread
  -- both cost O(buffer) per redraw (issue 8). There is no syntax/codex.vim; "OFF" also keeps
  -- out one the user may have.
  vim.bo[buf].syntax = "OFF"
  map_common(self, buf, k)
  map(buf, "n", k.close, function() self:hide() end, "close the chat")
  map(buf, "n", k.load_earlier, function() self:load_earlier() end, "load earlier turns")
  require("codex.ui.chat_edit").attach(self, buf, k) -- edit and resend, fork from here
  -- <CR> on a sub-agent's item opens its thread; <CR> and gf on a file change open the file
  links.attach(self, buf, k.open_agent, k.open_file)
  for _, key in ipairs(TYPE_KEYS) do
    map(buf, "n", key, function() self:focus_input() end, "type in the input")
  end
  -- Reaching the top (the "earlier turns" line) loads more, as scrolling up does (WinScrolled
  -- below); reaching the end removes the "new output" hint.
  api.nvim_create_autocmd("CursorMoved", { group = group(), buffer = buf, callback = function()
    self:_at_top()
    self:_hint_check()
  end })
  by_buf[buf] = self
  watch(self, buf)
  require("codex.ui.chat_help").welcome(buf)
  return buf
end

--- The input buffer: send/queue/stop keymaps, the wipe watch.
function Chat:_make_input_buf()
  local k = config.get().keymaps
  local buf = new_buf(self:buf_name("input"), "markdown")
  map(buf, "n", k.send, function() self:send_input() end, "send")
  map(buf, { "n", "i" }, k.send_insert, function() self:send_input() end, "send")
  map(buf, { "n", "i" }, k.queue, function() self:send_input({ queue = true }) end, "queue for the next turn")
  map_common(self, buf, k)
  by_buf[buf] = self
  watch(self, buf)
  require("codex.ui.composer").attach(self, buf) -- completion, attachments, history
  return buf
end

--- A buffer of the chat is being unloaded or wiped (autocmd: change nothing here).
function Chat:_buf_gone(buf)
  if vim.v.exiting ~= vim.NIL then return end -- Neovim quits: nothing to keep
  if buf == self.buf and not self.buf_gone then
    self.renderer:snapshot()
    self.buf_gone = true
  elseif buf == self.input_buf and not self.input_gone then
    require("codex.ui.composer").save_draft(self, buf)
    self.input_gone = true
  else
    return
  end
  by_buf[buf] = nil
  if self.repair_scheduled then return end
  self.repair_scheduled = true
  vim.schedule(function()
    self.repair_scheduled = false
    self:ensure_buffers()
  end)
end

--- Makes the chat's buffers again if the user wiped them (the transcript comes back).
function Chat:ensure_buffers()
  local chat_ok = not self.buf_gone and loaded(self.buf)
  local input_ok = not self.input_gone and loaded(self.input_buf)
  if chat_ok and input_ok then return end
  self:hide() -- the other window goes too: a chat is shown whole or not at all
  if not chat_ok then
    local old = self.buf
    self.buf, self.buf_gone = -1, true -- (the old buffer's own autocmds must not count it)
    by_buf[old] = nil
    -- An unloaded (:bd) buffer keeps its name: wipe it so the new one can take it.
    if api.nvim_buf_is_valid(old) then pcall(api.nvim_buf_delete, old, { force = true }) end
    self.buf = self:_make_chat_buf()
    self.buf_gone = false
    self.renderer:attach(self.buf)
  end
  if not input_ok then
    local old = self.input_buf
    self.input_buf, self.input_gone = -1, true
    by_buf[old] = nil
    if api.nvim_buf_is_valid(old) then pcall(api.nvim_buf_delete, old, { force = true }) end
    self.input_buf = self:_make_input_buf()
    self.input_gone = false
  end
end

---@param opts {cwd: string|nil, thread: codex.Thread|nil}
---@return codex.Chat
local function create(opts)
  counter = counter + 1
  local self = setmetatable({
    cwd = opts.cwd or vim.fn.getcwd(), state = "idle", queue = {}, echo = {}, key = "new-" .. counter,
    model = config.get().model, effort = config.get().effort, approval_waiting = false,
    anon = {}, changes_later = {}, live = {}, early_state = {}, parts = {}, inputs = {},
  }, Chat)
  self.buf = self:_make_chat_buf()
  self.input_buf = self:_make_input_buf()
  self.renderer = render.new(self.buf, {
    frame_ms = config.get().chat.frame_ms,
    windows = function() return { self.win } end,
    ensure = function() self:ensure_buffers() end,
    on_written = function(wins) self:_show_queue(wins) end,
    on_behind = function(wins) self:_behind(wins) end,
  })
  chats[self.key] = self
  if opts.thread then self:set_thread(opts.thread) end
  return self
end

--- Empties the transcript, to render the thread's stored turns again (after an undo:
--- codex.ui.undo): the buffer's text and marks, and what the items' blocks were.
function Chat:clear_transcript()
  local r = self.renderer
  r:flush()
  r:end_top()
  if loaded(self.buf) then
    require("codex.ui.highlight").save(self.buf) -- (forgets its code blocks waiting for colour)
    for name, ns in pairs(api.nvim_get_namespaces()) do
      if name:find("^codex") then api.nvim_buf_clear_namespace(self.buf, ns, 0, -1) end
    end
    vim.bo[self.buf].modifiable = true
    api.nvim_buf_set_lines(self.buf, 0, -1, false, {})
    vim.bo[self.buf].modifiable = false
    vim.bo[self.buf].modified = false
  end
  r.saved, r.banner = nil, nil
  r:attach(self.buf) -- (without a snapshot: the blocks are forgotten)
  self.anon, self.changes_later, self.live, self.early_state, self.parts, self.links = {}, {}, {}, {}, {}, nil
  self.headed, self.older, self.older_cursor, self.oldest_turn = nil, nil, nil, nil
end

function Chat:set_thread(thread)
  self.thread, self.thread_id = thread, thread.id
  chats[self.key] = nil
  self.key = thread.id
  chats[self.key] = self
  -- A new thread is known by its first message until it has a name (Chat:title).
  if not self.first_text and type(self.echo[1]) == "string" then self.first_text = self.echo[1] end
  local s = type(thread.settings) == "table" and thread.settings or {}
  if type(s.model) == "string" then self.server_model = s.model end
  if type(s.reasoningEffort) == "string" then self.server_effort = s.reasoningEffort end
  if not self.server_effort then self:learn_default_effort() end
  self:apply_names() -- codex://thread/<title> (<short id>)
  self:watch_name()
  self:_attach_approvals()
  require("codex.ui.notices").attach(thread.client) -- (warnings for this thread come as lines here)
  self:_watch_thread() -- turns it does not start itself (codex.ui.chat_turns)
end

--- Tells the approval UI (codex.ui.approval) about this chat: the windows its prompts anchor
--- to, the waiting state for the bar, the thread's name. Called when the chat gets its
--- thread and whenever it shows or hides its windows.
function Chat:_attach_approvals()
  if not self.thread_id then return end
  self.approval_host = self.approval_host or {
    windows = function() return self.win, self.input_win end,
    on_waiting = function(on) self:set_approval_waiting(on) end,
    label = function() return self:title() end, -- a name or the first message, never the id
    -- A prompt for the item shows or waits ("approval"), or was answered or settled (nil).
    item_state = function(item_id, state)
      if vim.in_fast_event() then return vim.schedule(function() self:_item_state(item_id, state) end) end
      self:_item_state(item_id, state)
    end,
    -- The per-hunk approval tells the agent, in the running turn, which hunks it applied.
    steer = function(text, cb)
      if self.state ~= "running" or not self.turn then return cb("the turn is not running") end
      self:echo_user(text, "steer")
      self.turn:steer(text, function(err) cb(err and err_text(err) or nil) end)
    end,
  }
  require("codex.ui.approval").attach(self.thread_id, self.approval_host)
end

--- Writes the user's message now (before the server echoes it: that echo is then dropped).
function Chat:echo_user(text, kind)
  self:ensure_buffers()
  local composed = self.inputs[text] -- (the composer's: the message as typed, its attachments)
  local lines = composed and items.user_lines("", kind) or items.user_lines(text, kind)
  if composed then
    lines[#lines] = nil
    vim.list_extend(lines, composed.shown)
  end
  if api.nvim_buf_line_count(self.buf) == 1 and api.nvim_buf_get_lines(self.buf, 0, 1, false)[1] == "" then
    table.remove(lines, 1)
  end
  local row = self.renderer:append_lines(lines)
  if kind ~= "steer" then self:_mark_turn(row + (lines[1] == "" and 1 or 0), nil, composed and composed.typed or text) end
  self.echo[#self.echo + 1] = text
  self.headed = nil -- what the agent does next goes under a "## Codex" header again
end

function Chat:render_error(err)
  self.renderer:append_lines({ "", items.error_line(err_text(err)) })
end

-- The queued messages are not part of the transcript yet: they show below its end (virtual
-- lines of a mark at the buffer's end, moved there after each write: the renderer's
-- on_written), and get their "## You" entry when their turn starts, after the running
-- turn's footer.
local queue_ns = api.nvim_create_namespace("codex_chat_queue")
M.queue_ns = queue_ns -- (for tests and highlights)

--- Scrolls a window that follows the end so that the k virtual lines below it show too
--- (Neovim keeps the last line at the bottom when the cursor is on it).
local function reveal(win, n, k)
  if not api.nvim_win_is_valid(win) then return end
  api.nvim_win_call(win, function()
    local height = api.nvim_win_get_height(win)
    if vim.fn.line(".") ~= n or k + 1 >= height then return end -- a tiny window: the text first
    local info = vim.fn.getwininfo(win)[1] or {}
    local width = math.max(1, api.nvim_win_get_width(win) - (info.textoff or 0))
    local rows = vim.wo.wrap and math.max(1, math.ceil(vim.fn.strdisplaywidth(vim.fn.getline(n)) / width)) or 1
    local free = height - (vim.fn.winline() - 1) - rows
    if free < k then
      local view = vim.fn.winsaveview()
      vim.fn.winrestview({ topline = view.topline + (k - free), lnum = n, col = 0 })
    end
  end)
end

--- Shows the queued messages below the transcript's end (nothing when none wait). wins: the
--- windows that follow the end (default: the chat window, if its cursor is on the last line).
---@param wins integer[]|nil
function Chat:_show_queue(wins)
  if not self.queue_mark and #self.queue == 0 then return end
  if not loaded(self.buf) then return end
  if self.queue_mark then pcall(api.nvim_buf_del_extmark, self.buf, queue_ns, self.queue_mark) end
  self.queue_mark = nil
  if #self.queue == 0 then return end
  local virt = { { { "", "Comment" } } }
  for _, text in ipairs(self.queue) do
    local first = items.split(text)
    local more = #first > 1 and (" (+%d lines)"):format(#first - 1) or ""
    virt[#virt + 1] = { { "queued: ", "Comment" }, { first[1] .. more, "Comment" } }
  end
  local n = api.nvim_buf_line_count(self.buf)
  local last = api.nvim_buf_get_lines(self.buf, n - 1, n, false)[1] or ""
  -- right gravity at the very end: text streamed in at the end pushes it along
  self.queue_mark = api.nvim_buf_set_extmark(self.buf, queue_ns, n - 1, #last, { virt_lines = virt, right_gravity = true })
  if not wins then
    local w = self.win
    wins = w and api.nvim_win_is_valid(w) and api.nvim_win_get_buf(w) == self.buf
      and api.nvim_win_get_cursor(w)[1] >= n and { w } or {}
  end
  for _, win in ipairs(wins) do reveal(win, n, #virt) end
end

--- Sends the input buffer's text.
---@param opts {queue: boolean|nil}|nil
function Chat:send_input(opts)
  self:ensure_buffers()
  local lines = api.nvim_buf_get_lines(self.input_buf, 0, -1, false)
  local text = vim.trim(table.concat(lines, "\n"))
  if text == "" then return end
  local composer = require("codex.ui.composer")
  local msg = composer.prepare(self, text)
  api.nvim_buf_set_lines(self.input_buf, 0, -1, false, { "" })
  vim.bo[self.input_buf].modified = false
  composer.sent(self, text)
  if msg.run then return msg.run() end
  if msg.editing then return require("codex.ui.chat_edit").resend(self, msg, opts) end
  self.inputs[msg.text] = { input = msg.input, shown = msg.shown, typed = text }
  self:send(msg.text, opts)
end

--- Sends a message: a new turn when idle, a steer while a turn runs, or a queued message
--- (opts.queue, or while the turn is still starting) for when the current turn ends.
---@param text string
---@param opts {queue: boolean|nil}|nil
function Chat:send(text, opts)
  touch(self)
  -- A review (or compaction, shell command) turn cannot be steered (turn/steer refuses it):
  -- its messages wait for the next turn.
  local unsteerable = self.state == "running" and self.turn and (self.turn.review or self.turn.unsteerable)
  if (opts and opts.queue and self.state ~= "idle") or self.state == "starting" or unsteerable then
    self.queue[#self.queue + 1] = text
    self:_show_queue()
    bar.redraw()
    return
  end
  if self.state == "running" and self.turn then
    self:echo_user(text, "steer")
    local composed = self.inputs[text]
    self.inputs[text] = nil
    self.turn:steer(composed and composed.input or text, function(err)
      if err then
        -- Not steerable (review/compact turn) or already over: keep it for the next turn.
        table.remove(self.echo)
        self.inputs[text] = composed
        self.queue[#self.queue + 1] = text
        self:_show_queue()
        notify("could not steer (" .. err_text(err) .. "); queued for the next turn", vim.log.levels.WARN)
        bar.redraw()
        if self.state == "idle" then self:next_in_queue() end
      end
    end)
    return
  end
  self:start_turn(text)
end

function Chat:next_in_queue()
  if self.state ~= "idle" or #self.queue == 0 then return end
  local text = table.remove(self.queue, 1)
  self:start_turn(text, true) -- (its echo moves the rest of the queue below it)
end

--- Starts the thread if needed, then cb(err).
function Chat:ensure_thread(cb)
  if self.thread then return cb(nil) end
  local cfg = config.get()
  -- The client may not exist (codex.core not built): that is this send's error, not a raise.
  local ok, client = pcall(session.client)
  if not ok then return cb(client) end
  client:thread_start({
    cwd = self.cwd, model = cfg.model, sandbox = cfg.sandbox, approval_policy = cfg.approval_policy,
    approvals_reviewer = "user",
  }, function(err, thread)
    if err then return cb(err) end
    self:set_thread(thread)
    cb(nil)
  end)
end

--- Starts a turn with text (echoed as the user's message), or with start(cb) instead of
--- thread:turn (then text may be nil: the server's items show what was asked).
---@param text string|nil
---@param from_queue boolean|nil
---@param start fun(cb: fun(err: codex.Error|nil, turn: codex.Turn|nil))|nil
function Chat:start_turn(text, from_queue, start)
  if text then self:echo_user(text, from_queue and "queued" or nil) end
  self.state = "starting"
  self.started = uv.now()
  bar.tick(function()
    for _, c in pairs(chats) do if c.state ~= "idle" then return true end end
    return false
  end)
  bar.redraw()
  self:ensure_thread(function(err)
    if err then
      self.state = "idle"
      self:render_error(err)
      return bar.redraw()
    end
    local composed = text and self.inputs[text]
    if text then self.inputs[text] = nil end
    -- (model, effort, and the mode and plan mode the chat chose: codex.ui.modes)
    start = start or function(cb)
      self.thread:turn(composed and composed.input or text, require("codex.ui.modes").turn_options(self), cb)
    end
    start(function(terr, turn)
      if terr then
        self.state = "idle"
        self:render_error(terr)
        bar.redraw()
        return self:next_in_queue()
      end
      self.turn, self.state = turn, "running"
      self:_name_turn(turn.id) -- (the echo's turn mark gets its id)
      events.emit("TurnStarted", { thread_id = self.thread_id, turn_id = turn.id })
      turn:on("*", function(_, msg) self:on_event(msg) end)
    end)
  end)
end

--- Starts a code review of target (codex.review: "uncommitted", {branch=}, {commit=},
--- {instructions=}) as a turn of this chat's thread, shown like any turn; when it completes,
--- its findings go to the quickfix list and diagnostics (codex.ui.review). Only when idle.
---@param target codex.ReviewTarget|nil
---@return boolean started
function Chat:start_review(target)
  if self.state ~= "idle" then
    notify("a turn is running: review when it has ended", vim.log.levels.WARN)
    return false
  end
  touch(self)
  self:start_turn(nil, false, function(cb)
    self.thread:review(target, nil, function(err, turn)
      if turn then require("codex.ui.review").watch(turn, { cwd = self.cwd }) end
      cb(err, turn)
    end)
  end)
  return true
end

--- Interrupts the running turn.
function Chat:stop()
  if self.turn and self.state == "running" then
    self.turn:interrupt(function(err)
      if err then notify("interrupt failed: " .. err_text(err), vim.log.levels.WARN) end
    end)
  else
    notify("no turn is running")
  end
end

-- ---- rendering events -----------------------------------------------------------------
-- What an item or event writes is codex.ui.chat_items (pure); here: where and when.

local function display_path(path) return vim.fn.fnamemodify(path, ":~:.") end

--- The block id of an item. Without a usable id (drift), an item/completed is paired with the
--- oldest id-less item/started of the same type in the turn, else it gets a new id.
function Chat:_item_id(item, turn_id, completing)
  local id = item.id
  if (type(id) == "string" and id ~= "") or type(id) == "number" then return id end
  local k = tostring(val(turn_id)) .. "\0" .. tostring(val(item.type))
  local waiting = self.anon[k]
  if completing and waiting and #waiting > 0 then return table.remove(waiting, 1) end
  self.anon_n = (self.anon_n or 0) + 1
  id = "anon:" .. self.anon_n
  if not completing then
    self.anon[k] = waiting or {}
    table.insert(self.anon[k], id)
  end
  return id
end

--- The Codex header, once before the agent's first item of a turn (and again after a
--- message of the user's within it: a steer). Returns the ctx.first_in_turn to open with.
function Chat:_header_due(item, turn_id)
  if not items.is_agent(item) then return false end
  local key = val(turn_id) or ""
  if self.headed == key then return false end
  self.headed = key
  return true
end

--- Sets an item's status on its block and on the blocks of its other parts (files).
function Chat:_status(id, chunks)
  self.renderer:set_status(id, chunks)
  for _, pid in ipairs(self.parts[id] or {}) do self.renderer:set_status(pid, chunks) end
end

--- The approval UI's word on an item (host.item_state): "approval" while a prompt for it
--- shows or waits, nil once answered or settled. An item not started yet gets it when it starts.
function Chat:_item_state(item_id, state)
  if item_id == nil then return end
  local it = self.live[item_id]
  if not it then
    self.early_state[item_id] = state
    return
  end
  local chunks = items.pending_status(it.type, state)
  if chunks then self:_status(item_id, chunks) end
end

function Chat:item_started(item, turn_id, id)
  local r = self.renderer
  id = id or self:_item_id(item, turn_id, false)
  if r.blocks[id] then return end
  local o = items.open(item, { display_path = display_path, first_in_turn = self:_header_due(item, turn_id), cwd = self.cwd })
  if o.before then r:append_lines(o.before) end
  if o.plain then
    -- (an older turn going in above is never the echo of a message just sent)
    if o.text ~= nil and not self.prepending and self.echo[1] == o.text then
      table.remove(self.echo, 1)
    else
      local row = r:append_lines(o.lines)
      if item.type == "userMessage" then self:_mark_turn(row + (o.lines[1] == "" and 1 or 0), val(turn_id), o.text) end
      if not items.is_agent(item) then self.headed = nil end
    end
    r.blocks[id] = { skip = true }
    return
  end
  if o.later then self.changes_later[id] = true end
  local opts = o.virt and { virt = o.virt } or nil
  if o.parts then
    -- a block per file, so that each file's header shows the status; the item's own block
    -- (the last file) gets the late text and stays the end
    self.parts[id] = {}
    for i = 1, #o.parts - 1 do
      local pid = tostring(id) .. "\0file" .. i
      r:open_block(pid, o.parts[i], opts)
      r:finish(pid)
      self.parts[id][i] = pid
    end
    r:open_block(id, o.parts[#o.parts], opts)
  else
    r:open_block(id, o.lines, opts)
  end
  if o.body then r:append(id, o.body) end -- (a tool's arguments)
  links.note(self, id, o)
  links.note_files(self, id, item)
  self.live[id] = { type = str(item.type) }
  local early = self.early_state[id]
  if early ~= nil then
    self.early_state[id] = nil
    self:_item_state(id, early)
  end
end

--- Returns the item's block id.
function Chat:item_completed(item, turn_id)
  -- Buffers of the files the live turn changed are reloaded (a stored turn's are not).
  if item.type == "fileChange" and self.turn and self.turn.id == turn_id then
    require("codex.ui.reload").file_change(item, self.cwd)
  end
  local r = self.renderer
  local id = self:_item_id(item, turn_id, true)
  if not r.blocks[id] then self:item_started(item, turn_id, id) end
  self.live[id], self.early_state[id] = nil, nil
  local b = r.blocks[id]
  if not b or b.skip then return id end
  r:flush() -- streamed text still queued counts: b.empty must be true only with no deltas
  local c = items.close(item, {
    empty = b.empty, later = self.changes_later[id], display_path = display_path,
    fold_output_lines = config.get().chat.fold_output_lines,
  })
  if c.later_done then self.changes_later[id] = nil end
  for _, text in ipairs(c.append or {}) do r:append(id, text) end
  links.note(self, id, c)
  links.note_files(self, id, item)
  if c.flush then r:flush() end
  if c.status then self:_status(id, c.status) end
  if c.fold then r:fold(id, c.fold) end
  r:finish(id) -- its last line is complete now (a closing fence gets the block's colours)
  return id
end

--- Ends the blocks of items the turn ended without completing: with an interrupted or
--- failed turn, a fence left open is closed and "… running" / "… waiting" becomes
--- "✗ cancelled" / "✗ failed".
---@param status string|nil the turn's status
function Chat:_abandon(status)
  local r = self.renderer
  r:flush()
  local live = self.live
  self.live = {}
  for id, it in pairs(live) do
    local b = r.blocks[id]
    self.early_state[id] = nil
    if b and not b.skip and (status == "interrupted" or status == "failed") then
      local c = items.abandon(it.type, status, { empty = b.empty })
      for _, text in ipairs(c.append or {}) do r:append(id, text) end
      if c.status then self:_status(id, c.status) end
      r:finish(id)
    end
  end
end

--- Streamed text for an item's block; an item's first text comes after its stream prefix
--- (a command's output opens its fence).
function Chat:_stream(id, text)
  local it = id ~= nil and self.live[id]
  if it and not it.streamed and type(text) == "string" and text ~= "" then
    it.streamed = true
    text = items.stream_prefix(it.type) .. text
  end
  self.renderer:append(id, text)
end

function Chat:on_event(msg)
  if type(msg) ~= "table" then return end
  local p, m, r = type(msg.params) == "table" and msg.params or {}, msg.method, self.renderer
  if m == "item/started" and type(p.item) == "table" then
    self:item_started(p.item, p.turnId)
  elseif m == "item/completed" and type(p.item) == "table" then
    self:item_completed(p.item, p.turnId)
  elseif m == "item/agentMessage/delta" or m == "item/commandExecution/outputDelta"
      or m == "item/reasoning/summaryTextDelta" or m == "item/reasoning/textDelta" or m == "item/plan/delta" then
    self:_stream(p.itemId, str(p.delta))
  elseif m == "item/mcpToolCall/progress" or m == "item/commandExecution/terminalInteraction"
      or m == "item/fileChange/patchUpdated" then
    progress.update(self, m, p) -- (the item's status, or its files, in place)
  elseif m == "item/reasoning/summaryPartAdded" then
    local b = p.itemId ~= nil and r.blocks[p.itemId]
    if b and not b.empty then r:append(p.itemId, "\n\n") end
  elseif m == "turn/plan/updated" then
    local id = "plan:" .. tostring(val(p.turnId))
    if not r.blocks[id] then
      if self:_header_due({ type = "plan" }, p.turnId) then r:append_lines(items.CODEX_HEADER) end
      r:open_block(id, { "", "**Plan**" })
    end
    r:set_body(id, items.plan_lines(p))
  elseif m == "thread/tokenUsage/updated" then
    if type(p.tokenUsage) == "table" then self.tokens, self.tokens_turn = p.tokenUsage, val(p.turnId) end
    bar.redraw()
  elseif m == "error" then
    if val(p.willRetry) then r:append_lines({ "", items.retry_line(p.error) }) end
  elseif m == "codex/closed" then
    -- the app-server died (or the client was closed) mid-turn: the turn ends here, failed
    local e = type(p.error) == "table" and p.error or {}
    self:turn_completed({ id = self.turn and self.turn.id, status = "failed",
      error = { message = "the turn ended with the app-server: " .. err_text(e) } })
  elseif m == "turn/diff/updated" then
    -- the turn's whole diff so far: the latest one is the chat's (:Codex diff, changes)
    if type(p.diff) == "string" then self.last_diff = { turn_id = val(p.turnId), diff = p.diff } end
  elseif m == "model/rerouted" then
    require("codex.ui.notices").rerouted(self, p)
  elseif m == "turn/completed" then
    self:turn_completed(type(p.turn) == "table" and p.turn or {})
  end
end

--- The number in a token usage breakdown ("total" or "last"), if well-formed.
local function tokens_of(usage, which)
  local t = type(usage) == "table" and usage[which]
  return type(t) == "table" and type(t.totalTokens) == "number" and t.totalTokens or nil
end

function Chat:turn_completed(turn)
  local r = self.renderer
  r:flush()
  self:_abandon(str(turn.status))
  local d = self.last_diff
  local changed = d and d.turn_id ~= nil and d.turn_id == val(turn.id) and require("codex.ui.diff_view").summary(d.diff) or nil
  -- (a turn without usage of its own, a shell command, does not show the last turn's)
  local usage = (self.tokens_turn == nil or self.tokens_turn == val(turn.id)) and self.tokens or nil
  local footer = items.end_lines(turn, tokens_of(usage, "last"), changed)
  -- One blank line above the footer, also after an answer that ended with a newline.
  if footer[1] == "" and loaded(self.buf) and api.nvim_buf_get_lines(self.buf, -2, -1, false)[1] == "" then
    table.remove(footer, 1)
  end
  r:append_lines(footer)
  if (self.state ~= "idle" or self.turn and self.turn.id == turn.id) and not self:_side_turn(turn) then
    self.state, self.turn = "idle", nil
    self.echo = {}
  end
  bar.redraw()
  local e = type(turn.error) == "table" and turn.error or {}
  events.emit("TurnCompleted", {
    thread_id = self.thread_id, turn_id = val(turn.id), status = str(turn.status), name = self:title(),
    error = str(turn.status) == "failed" and (str(e.message) or "the turn failed") or nil,
  })
  self:announce_end(turn) -- when the user is elsewhere
  self:next_in_queue()
end


-- ---- module API ------------------------------------------------------------------------

--- Opens a chat: a new one, or for a given Thread (with its history rendered).
--- With turns, only the newest chat.history_turns are rendered now; opts.cursor (a
--- thread/turns/list cursor to turns older than opts.turns) lets load_earlier fetch more.
---@param opts {cwd: string|nil, thread: codex.Thread|nil, turns: table[]|nil, cursor: string|nil, show: boolean|nil}|nil
---@return codex.Chat
function M.open(opts)
  opts = opts or {}
  local existing = opts.thread and chats[opts.thread.id]
  local chat = existing or create(opts)
  if not existing and (opts.turns or opts.cursor) then chat:render_history(opts.turns or {}, { cursor = opts.cursor }) end
  if opts.show ~= false then chat:show() end
  return chat
end

--- The chat of a thread, if open.
---@param thread_id string|nil
---@return codex.Chat|nil
function M.find(thread_id)
  return thread_id and chats[thread_id] or nil
end

--- The chat of the current buffer, else the most recent one.
---@return codex.Chat|nil
function M.current()
  return by_buf[api.nvim_get_current_buf()] or recent[#recent]
end

--- Every chat, the most recently used first.
---@return codex.Chat[]
function M.recent()
  local out = {}
  for i = #recent, 1, -1 do out[#out + 1] = recent[i] end
  for _, c in pairs(chats) do
    if not vim.tbl_contains(out, c) then out[#out + 1] = c end
  end
  return out
end

--- (for the window methods, codex.ui.chat_window, which must not require this module)
Chat._chats = M.recent

--- Forgets a chat whose thread is gone from the list (archived): it is no longer current,
--- found or shown; its windows close and its buffers are wiped. Only for an idle chat.
---@param chat codex.Chat
function M.remove(chat)
  chat:hide()
  if chats[chat.key] == chat then chats[chat.key] = nil end
  for i = #recent, 1, -1 do
    if recent[i] == chat then table.remove(recent, i) end
  end
  if chat.unwatch_name then chat.unwatch_name() end
  chat:_unwatch_thread()
  local bufs = { chat.buf, chat.input_buf }
  chat.buf, chat.input_buf, chat.removed = -1, -1, true -- (so the wipes below make nothing again)
  for _, b in ipairs(bufs) do
    by_buf[b] = nil
    if api.nvim_buf_is_valid(b) then pcall(api.nvim_buf_delete, b, { force = true }) end
  end
end

--- Every chat.
function M.all()
  local out = {}
  for _, c in pairs(chats) do out[#out + 1] = c end
  return out
end

--- `:Codex` with no argument: hide the chats shown in this tab, or show the chat for the
--- current directory (the most recent one, or a new one).
function M.toggle()
  local shown = false
  for _, c in pairs(chats) do
    if c:visible() and api.nvim_win_get_tabpage(c.win) == api.nvim_get_current_tabpage() then
      c:hide()
      shown = true
    end
  end
  if shown then return end
  local cwd = vim.fn.getcwd()
  for i = #recent, 1, -1 do
    if recent[i].cwd == cwd then return recent[i]:show() end
  end
  M.open({ cwd = cwd })
end

-- What each <Plug>(codex-…) mapping of plugin/codex.lua does, to the current chat.
local plug_actions = {
  send = function(c) c:send_input() end,
  queue = function(c) c:send_input({ queue = true }) end,
  stop = function(c) c:stop() end,
  approval = function(c) require("codex.ui.approval").focus(c.thread_id) end,
  close = function(c) c:hide() end,
  ["load-earlier"] = function(c) c:load_earlier() end,
}

--- Runs a <Plug>(codex-NAME) mapping on the current chat (that of the current buffer, else
--- the most recent one); `help` needs no chat.
---@param name string
function M.plug(name)
  if name == "help" then return require("codex.ui.chat_help").open() end
  local c = M.current()
  if not c then return notify("no chat yet (:Codex opens one)") end
  plug_actions[name](c)
end

--- The bar text of the chat shown in the window being drawn (winbar/statusline).
M.bar = bar.bar
bar.set_lookup(function(buf) return by_buf[buf] end)

--- The statusline text: the current chat's status, or "" when there is none.
function M.statusline()
  local c = M.current()
  return c and c:status_text() or ""
end

return M
