---@mod codex.ui.approval  Approval prompts: a float anchored to the chat, answered only on purpose.
---
--- The app-server asks before it runs a command, applies a patch or widens the sandbox
--- (protocol.md §6). Each request becomes a prompt in a floating window at the bottom of
--- its thread's chat window, just above the input window:
---
---  * it never takes focus: the user keeps typing in the composer; a keystroke typed
---    there can never answer a prompt (nothing outside the float is mapped to an answer);
---  * `focus_approval` (default <C-a>, mapped by the chat and inside the float) jumps into
---    it, with the cursor on the first choice: only this explicit key brings focus in;
---  * `approval_choose` (<CR>) on a choice line, or the chords g1…g9, answer; the choices
---    are exactly the request's `availableDecisions` (plus decline), keyed on the decision
---    value, never on its label;
---  * `approval_back` (<Esc>) returns to the previous window without answering;
---  * file changes show their diff hunk by hunk, with `]f` / `[f` between files and `]h` / `[h`
---    between hunks; each hunk is accepted (✓, the default) or rejected (✗): <Tab>, a, r, and
---    A / R for all. The server's approval covers the whole patch, so: all accepted → accept;
---    none → decline; some → the choice "Apply only the accepted hunks": the request is
---    declined, the plugin applies the accepted hunks (codex.ui.hunk_apply: per file all or
---    nothing, never over a hunk that no longer matches) and tells the agent in the same turn
---    (a steer, through the host's steer() or the request's turn) what was applied and rejected.
---
--- Several prompts queue per thread; the next one shows when the current one is answered or
--- settled by the server (serverRequest/resolved, an interrupt, the process dying). A prompt
--- for a hidden chat waits, with a notification, until the chat is shown.
---
--- This module is the facade and the per-thread queue. What a prompt says is
--- codex.ui.approval_content (pure), its float codex.ui.approval_view; MCP tool-call approvals
--- (elicitations with _meta.codex_approval_kind "mcp_tool_call") are prompts here too, with
--- Allow once / for this session / always (as `persist` offers) / Decline / Cancel; a
--- permissions request can be granted in part ("Grant only some…", codex.ui.grant).
--- requestUserInput and the other MCP elicitations are codex.ui.user_input. The chat is known only through attach(): this
--- module never requires it.
local config = require("codex.config")
local events = require("codex.events")
local content = require("codex.ui.approval_content")
local deep_copy = require("codex.util").deep_copy
local elicitation = require("codex.elicitation")
local grant = require("codex.ui.grant")
local hunk_sel = require("codex.ui.approval_hunks")
local user_input = require("codex.ui.user_input")
local util = require("codex.ui.util")
local view = require("codex.ui.approval_view")

local api = vim.api
local M = {}

---@class codex.ApprovalEntry
---@field key string the queue key (thread id, or "" without one)
---@field req codex.ServerRequest
---@field kind "command"|"patch"|"permissions"|"mcp"
---@field choices codex.ApprovalChoice[]
---@field done boolean
---@field hunks codex.HunkSelection|nil a patch's per-hunk choice (nil: all or nothing, hunks_why says why)
---@field hunks_why string|nil
---@field applying boolean|nil the accepted hunks were applied, the steer is on its way

---@class codex.ApprovalHost  What a chat tells the approval UI about itself (see attach).
---@field windows fun(): integer|nil, integer|nil its chat window and input window, when shown
---@field on_waiting fun(waiting: boolean) a prompt of the thread waits (true), or none does
---@field label fun(): string|nil the thread's name for notifications (nil: its id)
---@field item_state (fun(item_id: string, state: "approval"|nil))|nil optional: an item's prompt waits
---  ("approval": shown or queued) or is over (nil: answered, resolved, interrupted, the process died)
---@field steer (fun(text: string, cb: fun(err: string|nil)))|nil optional: tells the agent `text` in the
---  running turn (turn/steer; the chat shows it as the user's), then cb(err); without it the
---  request's own turn is steered

local queues = {} ---@type table<string, codex.ApprovalEntry[]>
local hosts = {} ---@type table<string, codex.ApprovalHost>

local function keymaps() return config.get().keymaps end

--- Runs fn now in a scheduled context, or schedules it from a fast one.
local function safely(fn)
  if vim.in_fast_event() then vim.schedule(fn) else fn() end
end

--- A host callback; a failing host never breaks the prompt.
local function host_call(key, name, ...)
  local h = hosts[key]
  if not h or type(h[name]) ~= "function" then return nil end
  local ok, a, b = pcall(h[name], ...)
  if ok then return a, b end
  return nil
end

local function windows(key)
  local win, input_win = host_call(key, "windows")
  return util.win_ok(win) and win or nil, util.win_ok(input_win) and input_win or nil
end

--- Is `path` (relative: to the editor's cwd) open in a buffer with unsaved changes?
local function unsaved(path)
  local buf = require("codex.ui.reload").buffer_of(path, vim.fn.getcwd())
  return buf ~= nil and vim.bo[buf].modified
end

local function ctx(compact, entry)
  return {
    keymaps = keymaps(),
    compact = compact,
    hunks = entry and entry.hunks,
    hunks_why = entry and entry.hunks_why,
    unsaved = unsaved,
    null = vim.NIL,
    encode = vim.json.encode,
    display_path = function(path)
      local ok, p = pcall(vim.fn.fnamemodify, path, ":~:.")
      return ok and p ~= "" and p or path
    end,
  }
end

local choose, hunk_action

view.bind({
  choose = function(key, idx) choose(key, idx) end,
  hunk = function(key, action, idx) return hunk_action(key, action, idx) end,
  windows = windows,
  keymaps = keymaps,
  render = function(entry, compact) return content.render(entry.req, entry.kind, entry.choices, ctx(compact, entry)) end,
})

--- Shows the head of a thread's queue (if there is a window to show it in).
---@param force boolean|nil anchor to the editor when the chat has no window
local function display(key, force)
  local q = queues[key]
  return view.show(key, q and q[1], (windows(key)), force)
end

--- The item a prompt is about (params.itemId), for the host's item_state.
local function item_of(entry)
  if entry.kind == "permissions" then return nil end
  local id = type(entry.req.params) == "table" and entry.req.params.itemId
  return type(id) == "string" and id ~= "" and id or nil
end

--- Tells the host an item's prompt waits (state "approval") or is over (nil).
local function item_state(key, entry, state)
  local id = item_of(entry)
  if id then host_call(key, "item_state", id, state) end
end

local function remove(key, entry)
  local q = queues[key]
  if not q then return end
  for i, e in ipairs(q) do
    if e == entry then
      table.remove(q, i)
      break
    end
  end
  if #q == 0 then queues[key] = nil end
end

--- The prompt is over (answered here, or settled by the server): close it, show the next.
local function finish(entry, decision, keep_focus)
  if entry.done then return end
  entry.done = true
  local key = entry.key
  remove(key, entry)
  item_state(key, entry, nil)
  view.dismiss(key, entry, keep_focus, function() display(key) end)
  if not queues[key] then host_call(key, "on_waiting", false) end
  events.emit("ApprovalResolved", {
    thread_id = entry.req.thread_id, method = entry.req.method, decision = decision,
    request_id = entry.req.id, answered = decision ~= nil,
    steer = entry.steer_text, -- the accepted hunks were applied by the plugin, the agent told this
  })
end

--- Sends `result` for a prompt (unless the server settled it); the decision it reports.
local function answer(entry, choice, result)
  local req = entry.req
  if req.answered or req.resolved then return nil end
  local ok, err = req:respond(deep_copy(result))
  if not ok then
    util.notify("could not answer the approval: " .. tostring(err), vim.log.levels.ERROR)
    return nil
  end
  return result.decision ~= nil and result.decision or choice.key
end

--- "Grant only some…": the checklist (codex.ui.grant), then the answer; dismissing it leaves
--- the prompt waiting.
local function pick(entry, choice)
  if entry.picking then return end
  entry.picking = true
  grant.pick(entry.req.params.permissions, function(result)
    entry.picking = false
    if entry.done then return end
    if not result then
      util.notify("nothing granted yet: the prompt still waits")
      return
    end
    finish(entry, answer(entry, choice, result), true)
  end)
end

--- Tells the agent `text` in the prompt's turn: the host's steer, else the request's turn.
local function steer(entry, text, cb)
  local h = hosts[entry.key]
  local called = false
  local function once(err)
    if called then return end
    called = true
    safely(function() cb(err) end)
  end
  if h and type(h.steer) == "function" then
    local ok, err = pcall(h.steer, text, once)
    if not ok then once(tostring(err)) end
    return
  end
  local turn = entry.req.turn
  if type(turn) == "table" and type(turn.steer) == "function" then
    local ok, err = pcall(turn.steer, turn, text, function(e)
      once(e and tostring(type(e) == "table" and e.message or e) or nil)
    end)
    if not ok then once(tostring(err)) end
    return
  end
  once("no running turn to tell")
end

--- "Apply only the accepted hunks": applies them (codex.ui.hunk_apply), tells the user what
--- could not be applied, steers the agent with what happened, then declines the request (so
--- the steer is in the turn before codex goes on from the declined patch).
local function partial(entry, choice)
  if entry.applying then return end
  entry.applying = true
  local outcomes = require("codex.ui.hunk_apply").apply(entry.hunks)
  local shown = ctx().display_path
  local applied, refused = {}, 0
  for _, o in ipairs(outcomes) do
    if o.status == "refused" then
      refused = refused + 1
      util.notify(("%s: nothing applied — %s"):format(shown(o.path), o.error or "refused"), vim.log.levels.WARN)
    elseif o.status == "unsaved" then
      util.notify(("%s: applied to your unsaved buffer only (not written)"):format(shown(o.path)), vim.log.levels.WARN)
      applied[#applied + 1] = shown(o.path)
    elseif o.status ~= "unchanged" then
      applied[#applied + 1] = shown(o.path)
    end
  end
  util.notify(("applied the accepted hunks%s%s; telling the agent"):format(
    #applied > 0 and (" to " .. table.concat(applied, ", ")) or " to no file",
    refused > 0 and (" (%d file%s refused)"):format(refused, refused == 1 and "" or "s") or ""))
  local text = hunk_sel.steer_text(outcomes)
  entry.outcomes, entry.steer_text = outcomes, text
  steer(entry, text, function(err)
    if err then
      util.notify("could not tell the agent which hunks were applied: " .. err, vim.log.levels.WARN)
    end
    finish(entry, answer(entry, choice, choice.result), true)
  end)
end

choose = function(key, idx)
  local v = view.get(key)
  if not v then return end
  local entry = v.entry
  local choice = entry.choices[idx]
  if not choice or entry.done or entry.applying then return end
  if choice.pick then return pick(entry, choice) end
  if choice.partial then return partial(entry, choice) end
  finish(entry, answer(entry, choice, choice.result), true)
end

--- A per-hunk key in the float: "toggle", "accept", "reject" (hunk idx), "all", "none".
--- Re-renders the prompt (its choices follow the selection). Returns true when it changed.
hunk_action = function(key, action, idx)
  local v = view.get(key)
  local entry = v and v.entry
  if not entry or entry.done or entry.applying or not entry.hunks then return false end
  local sel = entry.hunks
  if action == "all" or action == "none" then
    hunk_sel.set_all(sel, action == "all")
  elseif not idx or hunk_sel.set(sel, idx, ({ toggle = nil, accept = true, reject = false })[action]) == nil then
    return false
  end
  entry.choices = content.choices(entry.req, entry.kind, ctx(nil, entry))
  view.refresh(key)
  return true
end

--- Tells the user a prompt waits: where it shows and the key to answer it.
local function announce(key, kind, shown)
  local n = #(queues[key] or {})
  local focus_cmd = ":lua require('codex.ui.approval').focus()"
  if shown then
    util.notify(("wants to %s%s — %s to answer"):format(content.WHAT[kind], n > 1 and (" (%d waiting)"):format(n) or "",
      keymaps().focus_approval or focus_cmd))
    return
  end
  local label = content.thread_label(host_call(key, "label"), key)
  if hosts[key] then
    util.notify(("waiting for your approval in %s: :Codex to show it"):format(label), vim.log.levels.WARN)
  else
    util.notify(("waiting for your approval in %s: %s to answer"):format(label, focus_cmd), vim.log.levels.WARN)
  end
end

local function enqueue(req, kind)
  if req.answered or req.resolved then return end
  local key = req.thread_id or ""
  local entry = { key = key, req = req, kind = kind, done = false }
  if kind == "patch" then
    local item = content.request_item(req)
    entry.hunks, entry.hunks_why = hunk_sel.of(item and item.changes)
  end
  entry.choices = content.choices(req, kind, ctx(nil, entry))
  queues[key] = queues[key] or {}
  table.insert(queues[key], entry)
  req:on_resolved(function()
    safely(function() finish(entry, nil, true) end)
  end)
  if entry.done then return end
  local command, paths = content.summary(req, kind)
  events.emit("ApprovalRequested", {
    thread_id = req.thread_id, method = req.method, command = command,
    paths = paths, request_id = req.id, turn_id = req.turn_id,
  })
  if entry.done then return end
  host_call(key, "on_waiting", true)
  item_state(key, entry, "approval")
  announce(key, kind, display(key) ~= nil)
end

-- Public API --------------------------------------------------------------------------------

--- The UI's server-request handler: returns nil at once and answers later.
---@param req codex.ServerRequest
---@return nil
function M.handle(req)
  local kind = content.KINDS[req.method]
  if kind then
    safely(function()
      local ok, err = pcall(enqueue, req, kind)
      if not ok then
        util.notify("could not show the approval (declined): " .. tostring(err), vim.log.levels.ERROR)
        if not req.answered then req:respond_safe() end
      end
    end)
  elseif req.method == "item/tool/requestUserInput" then
    user_input.ask(req)
  elseif req.method == "mcpServer/elicitation/request" and elicitation.is_tool_approval(req.params) then
    -- an MCP tool-call approval: the same prompt as a command's
    safely(function()
      local ok, err = pcall(enqueue, req, "mcp")
      if not ok then
        util.notify("could not show the approval (declined): " .. tostring(err), vim.log.levels.ERROR)
        if not req.answered then req:respond_safe() end
      end
    end)
  elseif req.method == "mcpServer/elicitation/request" then
    user_input.elicit(req)
  else
    req:respond_safe()
  end
  return nil
end

--- Attaches a thread's chat (or detaches it, host nil). The chat calls it when it has a
--- thread and whenever it shows or hides its windows: the thread's prompt is then shown in
--- the chat's windows (anchored to its chat window), or its float closes when the chat has
--- none (the prompt stays pending). The host's callbacks are called, never stored results:
--- windows() is asked each time. It says whether prompts wait (on_waiting, at once when
--- some already do) and names the thread in notifications (label).
---@param thread_id string
---@param host codex.ApprovalHost|nil
function M.attach(thread_id, host)
  if type(thread_id) ~= "string" or thread_id == "" then return end
  hosts[thread_id] = host
  if not host then return end
  if queues[thread_id] then
    host_call(thread_id, "on_waiting", true)
    for _, entry in ipairs(queues[thread_id]) do item_state(thread_id, entry, "approval") end
  end
  display(thread_id)
end

--- Shows the waiting prompt(s) of a thread (all threads when nil). Without a chat window
--- the prompt floats at the bottom of the editor.
---@param thread_id string|nil
function M.show(thread_id)
  if thread_id == nil then
    for key in pairs(queues) do display(key, true) end
    return
  end
  display(thread_id, true)
end

--- Moves the cursor into a thread's prompt (its first choice). Without thread_id: the prompt
--- of the current chat, else any. Returns true when there was one.
---@param thread_id string|nil
---@return boolean
function M.focus(thread_id)
  local key = thread_id
  if key == nil or not queues[key] then
    -- no prompt for this thread: one shown in this tab page, else (without a thread) any
    key = view.key_in_tab(api.nvim_get_current_tabpage())
    if not key and thread_id == nil then for k in pairs(queues) do key = k break end end
  end
  if not key or not queues[key] then
    local n = M.pending()
    util.notify(n > 0 and ("no approval is waiting here (%d in other chats)"):format(n) or "no approval is waiting")
    return false
  end
  local v = display(key, true)
  if not v then return false end
  view.focus(v)
  return true
end

--- The number of prompts waiting in a thread (all threads when nil).
---@param thread_id string|nil
---@return integer
function M.pending(thread_id)
  if thread_id then return #(queues[thread_id] or {}) end
  local n = 0
  for _, q in pairs(queues) do n = n + #q end
  return n
end

--- The prompt shown for a thread: {win, buf, req, choices, choice_lines, files, hunks (the
--- lines of the hunks' ✓/✗ marks), selection (codex.HunkSelection), anchor, compact, room}
--- or nil (for tests and statuslines).
---@param thread_id string
---@return table|nil
function M.current(thread_id)
  local v = view.get(thread_id)
  if not v or not util.win_ok(v.win) then return nil end
  local lines = {}
  for lnum, i in pairs(v.choice_at) do lines[i] = lnum end
  return { win = v.win, buf = v.buf, req = v.entry.req, choices = v.entry.choices, choice_lines = lines, files = v.files,
    hunks = v.hunks, selection = v.entry.hunks, anchor = v.anchor, compact = v.compact, room = v.room }
end

return M
