---@mod codex.ui.approval  Approval prompts: a float anchored to the chat, answered only on purpose.
---
--- The app-server asks before it runs a command, applies a patch or widens the sandbox
--- (protocol.md §6). Each request becomes a prompt in a floating window at the bottom of
--- its thread's chat window, just above the input window:
---
---  * it never takes focus: the user keeps typing in the composer; a keystroke typed
---    there can never answer a prompt (nothing outside the float is mapped to an answer);
---  * `focus_approval` (default <C-a>, mapped by the chat and inside the float) jumps into
---    it, with the cursor on the header, so an <Enter> typed ahead answers nothing;
---  * `approval_choose` (<CR>) on a choice line, or the chords g1…g9, answer; the choices
---    are exactly the request's `availableDecisions` (plus decline), keyed on the decision
---    value, never on its label;
---  * `approval_back` (<Esc>) returns to the previous window without answering;
---  * file changes show their diff, with `]f` / `[f` between files. The server's approval
---    covers the whole patch: there is no per-hunk answer.
---
--- Several prompts queue per thread; the next one shows when the current one is answered or
--- settled by the server (serverRequest/resolved, an interrupt, the process dying). A prompt
--- for a hidden chat waits, with a notification, until the chat is shown (`M.show`).
---
--- Other server requests: `item/tool/requestUserInput` asks each question with
--- vim.ui.select / vim.ui.input (vim.fn.inputsecret for secrets); MCP elicitations in url
--- mode offer to open the URL; form modes, which the plugin cannot render, offer only
--- "Decline" or "Cancel". Everything else gets the documented safe answer.
local config = require("codex.config")
local events = require("codex.events")

local api = vim.api
local M = {}

local null = vim.NIL
local has_title = vim.fn.has("nvim-0.9") == 1

local KINDS = {
  ["item/commandExecution/requestApproval"] = "command",
  ["item/fileChange/requestApproval"] = "patch",
  ["item/permissions/requestApproval"] = "permissions",
}

local MAX_DIFF_LINES = 400 -- per file; the rest is summarised

local ns = api.nvim_create_namespace("codex_approval")

---@class codex.ApprovalEntry
---@field key string the queue key (thread id, or "" without one)
---@field req codex.ServerRequest
---@field kind "command"|"patch"|"permissions"
---@field choices {key: string, label: string, result: table, group: string}[]
---@field done boolean

---@class codex.ApprovalView
---@field entry codex.ApprovalEntry
---@field win integer
---@field buf integer
---@field anchor integer|nil the chat window (nil: anchored to the editor)
---@field choice_at table<integer, integer> line → choice index
---@field files integer[] lines of the file headers
---@field prev_win integer|nil where focus_approval came from
---@field prev_insert table|nil {row, col} when the user came from insert mode

local queues = {} ---@type table<string, codex.ApprovalEntry[]>
local views = {} ---@type table<string, codex.ApprovalView>

-- Highlights ------------------------------------------------------------------------------

local HL = {
  CodexApprovalTitle = "Title",
  CodexApprovalHint = "Comment",
  CodexApprovalLabel = "Label",
  CodexApprovalCommand = "String",
  CodexApprovalFile = "Directory",
  CodexApprovalChoice = "Function",
  CodexApprovalChoiceKey = "Number",
  CodexApprovalDecline = "WarningMsg",
  CodexApprovalCancel = "ErrorMsg",
  CodexApprovalBorder = "FloatBorder",
  CodexApprovalDiffAdd = "DiffAdd",
  CodexApprovalDiffDelete = "DiffDelete",
  CodexApprovalDiffChange = "DiffChange",
}

local function define_highlights()
  for name, link in pairs(HL) do
    vim.cmd(("highlight default link %s %s"):format(name, link))
  end
end
define_highlights()
api.nvim_create_autocmd("ColorScheme", {
  group = api.nvim_create_augroup("CodexApprovalHighlights", { clear = true }),
  callback = define_highlights,
})

-- Helpers ---------------------------------------------------------------------------------

local function val(v)
  if v == null then return nil end
  return v
end

local function list(v)
  v = val(v)
  if type(v) ~= "table" then return {} end
  return v
end

local function str(v)
  v = val(v)
  if v == nil then return nil end
  if type(v) == "string" then return v end
  if type(v) == "table" then
    local ok, s = pcall(vim.json.encode, v)
    if ok then return s end
  end
  return tostring(v)
end

local deep_copy = require("codex.server_requests").deep_copy

local function keymaps() return config.get().keymaps end

local function notify(msg, level)
  vim.notify(msg, level or vim.log.levels.INFO, { title = "codex" })
end

--- Runs fn now in a scheduled context, or schedules it from a fast one.
local function safely(fn)
  if vim.in_fast_event() then vim.schedule(fn) else fn() end
end

local function win_ok(win) return win ~= nil and api.nvim_win_is_valid(win) end

--- Back into insert mode where the user was typing (after focus_approval from insert mode).
local function restore_insert(win, pos)
  local line = api.nvim_buf_get_lines(api.nvim_win_get_buf(win), pos[1] - 1, pos[1], false)[1] or ""
  pcall(api.nvim_win_set_cursor, win, pos)
  vim.cmd(pos[2] >= #line and "startinsert!" or "startinsert")
end

local function chat_for(key)
  if key == "" then return nil end
  local ok, mod = pcall(require, "codex.ui.chat")
  if not ok or type(mod) ~= "table" or type(mod.find) ~= "function" then return nil end
  local ok2, chat = pcall(mod.find, key)
  if ok2 and type(chat) == "table" then return chat end
  return nil
end

local function set_waiting(key, on)
  local chat = chat_for(key)
  if chat and type(chat.set_approval_waiting) == "function" then pcall(chat.set_approval_waiting, chat, on) end
end

local function thread_label(key)
  local chat = chat_for(key)
  local info = chat and chat.thread and chat.thread.info
  if type(info) == "table" then
    local name = val(info.name) or val(info.preview)
    if type(name) == "string" and name ~= "" then return ("%q"):format(name:sub(1, 40)) end
  end
  return key ~= "" and ("thread " .. key) or "a thread"
end

local function command_text(cmd)
  cmd = val(cmd)
  if type(cmd) == "table" then return table.concat(cmd, " ") end
  return cmd and tostring(cmd) or nil
end

--- The script inside a plain shell wrapper (`/bin/bash -lc 'script'`), and the shell; the
--- command itself when it is not one (or when the quoting is not trivial).
local function unwrap_shell(cmd)
  local shell, script = cmd:match("^(%S*sh) %-l?c '([^']*)'$")
  if shell then return script, shell end
  return cmd, nil
end

-- Choices ---------------------------------------------------------------------------------

local function amendment_prefix(d)
  local a = type(d) == "table" and val(d.acceptWithExecpolicyAmendment)
  local words = a and list(a.execpolicy_amendment) or {}
  return table.concat(words, " ")
end

--- The label of a decision value (the value is what gets sent; the label is only shown).
local function decision_label(d, kind)
  if type(d) == "string" then
    if d == "accept" then return kind == "patch" and "Apply the change" or "Run once" end
    if d == "acceptForSession" then
      return kind == "patch" and "Apply, and allow changes to these files this session" or "Always allow this session"
    end
    if d == "decline" then return "Decline (the agent continues)" end
    if d == "cancel" then return "Cancel the turn" end
    return d
  end
  if type(d) == "table" then
    if val(d.acceptWithExecpolicyAmendment) then
      return ("Always allow commands starting with `%s`"):format(amendment_prefix(d))
    end
    local net = val(d.applyNetworkPolicyAmendment)
    if net then
      local a = type(net) == "table" and val(net.network_policy_amendment) or {}
      local host = str(type(a) == "table" and a.host) or "?"
      if type(a) == "table" and a.action == "deny" then return ("Always deny network access to %s"):format(host) end
      return ("Always allow network access to %s"):format(host)
    end
    for k in pairs(d) do return tostring(k) end
  end
  return tostring(d)
end

local function decision_key(d)
  if type(d) == "string" then return d end
  if type(d) == "table" then
    for k in pairs(d) do return tostring(k) end
  end
  return tostring(d)
end

local function decision_group(key)
  if key == "decline" then return "CodexApprovalDecline" end
  if key == "cancel" then return "CodexApprovalCancel" end
  return "CodexApprovalChoice"
end

local DOCUMENTED = { "accept", "acceptForSession", "decline", "cancel" }

--- Exactly the request's availableDecisions (plus decline), else the documented set.
local function build_choices(req, kind)
  local p = req.params or {}
  if kind == "permissions" then
    local perms = deep_copy(val(p.permissions) or {})
    return {
      { key = "accept", label = "Grant for this turn", result = { permissions = perms, scope = "turn" }, group = "CodexApprovalChoice" },
      { key = "acceptForSession", label = "Grant for this session", result = { permissions = deep_copy(perms), scope = "session" }, group = "CodexApprovalChoice" },
      { key = "decline", label = "Decline (grant nothing; the agent continues)", result = { permissions = {} }, group = "CodexApprovalDecline" },
    }
  end
  local decisions = {}
  local available = val(p.availableDecisions)
  if type(available) == "table" and #available > 0 then
    local has_decline = false
    for _, d in ipairs(available) do
      if d == "decline" then has_decline = true end
    end
    for _, d in ipairs(available) do
      if d == "cancel" and not has_decline then
        decisions[#decisions + 1] = "decline"
        has_decline = true
      end
      decisions[#decisions + 1] = d
    end
    if not has_decline then decisions[#decisions + 1] = "decline" end
  else
    decisions = vim.list_extend({}, DOCUMENTED)
  end
  local out = {}
  for _, d in ipairs(decisions) do
    local key = decision_key(d)
    out[#out + 1] = { key = key, label = decision_label(d, kind), result = { decision = deep_copy(d) }, group = decision_group(key) }
  end
  return out
end

-- Content ---------------------------------------------------------------------------------

local function new_builder()
  local b = { lines = {}, hls = {} }
  --- Adds text (split on newlines); returns the first line number (1-based).
  function b.add(text, group, prefix)
    prefix = prefix or ""
    local first
    for line in (tostring(text) .. "\n"):gmatch("(.-)\r?\n") do
      b.lines[#b.lines + 1] = prefix .. line
      first = first or #b.lines
      if group then b.hls[#b.hls + 1] = { #b.lines - 1, group, #prefix, -1 } end
    end
    return first
  end
  --- "  label  value", the label highlighted.
  function b.field(label, value, group)
    if value == nil or value == "" then return end
    local prefix = "  " .. label .. " "
    local first = true
    for line in (tostring(value) .. "\n"):gmatch("(.-)\r?\n") do
      local pre = first and prefix or string.rep(" ", #prefix)
      b.lines[#b.lines + 1] = pre .. line
      if first then b.hls[#b.hls + 1] = { #b.lines - 1, "CodexApprovalLabel", 2, 2 + #label } end
      if group then b.hls[#b.hls + 1] = { #b.lines - 1, group, #pre, -1 } end
      first = false
    end
  end
  function b.blank() b.lines[#b.lines + 1] = "" end
  return b
end

local function paths_text(paths)
  local out = {}
  for _, x in ipairs(list(paths)) do
    if type(x) == "table" then
      out[#out + 1] = str(val(x.path)) or str(x)
    else
      out[#out + 1] = str(x)
    end
  end
  return table.concat(out, ", ")
end

--- Lines describing a permission profile ({network?, fileSystem?}).
local function permission_fields(b, perms, lead)
  perms = val(perms)
  if type(perms) ~= "table" then return false end
  local any = false
  local net = val(perms.network)
  if type(net) == "table" and val(net.enabled) ~= nil then
    b.field(lead .. "network:", val(net.enabled) and "enabled" or "disabled", "CodexApprovalCommand")
    any = true
  end
  local fs = val(perms.fileSystem)
  if type(fs) == "table" then
    if #list(fs.read) > 0 then
      b.field(lead .. "read:", paths_text(fs.read), "CodexApprovalFile")
      any = true
    end
    if #list(fs.write) > 0 then
      b.field(lead .. "write:", paths_text(fs.write), "CodexApprovalFile")
      any = true
    end
    for _, e in ipairs(list(fs.entries)) do
      if type(e) == "table" then
        b.field(lead .. (str(e.access) or "access") .. ":", str(val(e.path) and (type(e.path) == "table" and (val(e.path.path) or e.path) or e.path)) or "?", "CodexApprovalFile")
        any = true
      end
    end
  end
  if not any and next(perms) ~= nil then
    b.field(lead .. "permissions:", str(perms), "CodexApprovalCommand")
    any = true
  end
  return any
end

local function change_kind(change)
  local k = val(change.kind)
  if type(k) == "table" then return val(k.type) or "update", str(val(k.move_path)) end
  return k or "update", nil
end

local function diff_group(line, kind)
  if kind == "add" then return "CodexApprovalDiffAdd" end
  if kind == "delete" then return "CodexApprovalDiffDelete" end
  local c = line:sub(1, 1)
  if line:sub(1, 3) == "+++" or line:sub(1, 3) == "---" then return "CodexApprovalHint" end
  if c == "+" then return "CodexApprovalDiffAdd" end
  if c == "-" then return "CodexApprovalDiffDelete" end
  if line:sub(1, 2) == "@@" then return "CodexApprovalDiffChange" end
  return nil
end

local function display_path(path)
  local ok, p = pcall(vim.fn.fnamemodify, path, ":~:.")
  return ok and p ~= "" and p or path
end

local function request_item(req)
  if type(req.item) == "table" then return req.item end
  local item_id = req.params and val(req.params.itemId)
  if req.turn and item_id and type(req.turn.item) == "function" then
    local ok, it = pcall(req.turn.item, req.turn, item_id)
    if ok and type(it) == "table" then return it end
  end
  return nil
end

local function header_text(entry)
  local p = entry.req.params or {}
  if entry.kind == "command" then
    local k = val(p.kind)
    if k == "writeStdin" then return "Codex wants to write to a running command" end
    return "Codex wants to run a command"
  elseif entry.kind == "patch" then
    local item = request_item(entry.req)
    local n = item and #list(item.changes) or 0
    if n == 1 then return "Codex wants to change a file" end
    if n > 1 then return ("Codex wants to change %d files"):format(n) end
    return "Codex wants to change files"
  end
  return "Codex asks for more permissions"
end

local function key_hint(entry)
  local k = keymaps()
  local parts = {}
  if k.focus_approval then parts[#parts + 1] = k.focus_approval .. " answer" end
  if k.approval_choose then parts[#parts + 1] = k.approval_choose .. " on a choice" end
  parts[#parts + 1] = ("g1-g%d"):format(math.min(#entry.choices, 9))
  if entry.kind == "patch" and k.approval_next_file then
    parts[#parts + 1] = k.approval_next_file .. (k.approval_prev_file and ("/" .. k.approval_prev_file) or "") .. " files"
  end
  if k.approval_back then parts[#parts + 1] = k.approval_back .. " back" end
  return table.concat(parts, " · ")
end

--- The prompt's lines, highlights, choice lines and file-header lines.
local function render(entry)
  local b = new_builder()
  local p = entry.req.params or {}
  local files = {}
  b.add(header_text(entry), "CodexApprovalTitle", " ")
  b.add(key_hint(entry), "CodexApprovalHint", " ")
  b.blank()
  if entry.kind == "command" then
    local cmd = command_text(p.command)
    if not cmd then
      local item = request_item(entry.req)
      cmd = item and command_text(item.command)
    end
    local script, shell = unwrap_shell(cmd or "(command not given)")
    b.add(script, "CodexApprovalCommand", "  $ ")
    if shell then b.field("via:", cmd, "CodexApprovalHint") end
    b.field("cwd:", str(p.cwd), "CodexApprovalFile")
    b.field("reason:", str(p.reason))
    local ctx = val(p.networkApprovalContext)
    if type(ctx) == "table" then
      local proto = str(ctx.protocol)
      b.field("network:", (proto and (proto .. "://") or "") .. (str(ctx.host) or "?"), "CodexApprovalCommand")
    end
    permission_fields(b, p.additionalPermissions, "needs ")
    local prefix = list(p.proposedExecpolicyAmendment)
    if #prefix > 0 then
      b.field("proposal:", ("always allow commands starting with `%s`"):format(table.concat(prefix, " ")))
    end
    for _, a in ipairs(list(p.proposedNetworkPolicyAmendments)) do
      if type(a) == "table" then
        b.field("proposal:", ("always %s network access to %s"):format(str(a.action) or "allow", str(a.host) or "?"))
      end
    end
  elseif entry.kind == "patch" then
    b.field("reason:", str(p.reason))
    b.field("grants write access to:", str(p.grantRoot), "CodexApprovalFile")
    b.add("The answer covers the whole patch (all files).", "CodexApprovalHint", "  ")
    local item = request_item(entry.req)
    local changes = item and list(item.changes) or {}
    if #changes == 0 then
      b.blank()
      b.add("(the diff is not available)", "CodexApprovalHint", "  ")
    end
    for _, change in ipairs(changes) do
      if type(change) == "table" then
        local kind, move = change_kind(change)
        b.blank()
        local path = display_path(str(change.path) or "?")
        local head = ("%-6s %s%s"):format(kind, path, move and (" → " .. display_path(move)) or "")
        local lnum = b.add(head, "CodexApprovalFile", "  ")
        b.hls[#b.hls + 1] = { lnum - 1, "CodexApprovalLabel", 2, 2 + #kind }
        files[#files + 1] = lnum
        local diff = str(change.diff) or ""
        local unified = diff:find("^@@") or diff:find("^%-%-%- ") or diff:find("\n@@")
        local n = 0
        for line in (diff .. "\n"):gmatch("(.-)\r?\n") do
          n = n + 1
          if n > MAX_DIFF_LINES then break end
          if not unified and kind == "add" then line = "+" .. line
          elseif not unified and kind == "delete" then line = "-" .. line end
          b.lines[#b.lines + 1] = "    " .. line
          local g = diff_group(line, unified and "update" or kind)
          if g then b.hls[#b.hls + 1] = { #b.lines - 1, g, 4, -1 } end
        end
        -- a trailing newline gives one empty last line: drop it
        if b.lines[#b.lines] == "    " or b.lines[#b.lines] == "    +" then
          b.lines[#b.lines] = nil
          if b.hls[#b.hls] and b.hls[#b.hls][1] == #b.lines then b.hls[#b.hls] = nil end
        end
        local total = select(2, diff:gsub("\n", "")) + 1
        if total > MAX_DIFF_LINES then
          b.add(("… %d more lines"):format(total - MAX_DIFF_LINES), "CodexApprovalHint", "    ")
        end
      end
    end
  else
    b.field("cwd:", str(p.cwd), "CodexApprovalFile")
    b.field("reason:", str(p.reason))
    if not permission_fields(b, p.permissions, "") then
      b.add("(no permissions listed)", "CodexApprovalHint", "  ")
    end
  end
  b.blank()
  local choice_at = {}
  for i, c in ipairs(entry.choices) do
    local key = i <= 9 and ("g" .. i) or "  "
    local lnum = b.add(("%s  %s"):format(key, c.label), nil, "  ")
    b.hls[#b.hls + 1] = { lnum - 1, "CodexApprovalChoiceKey", 2, 2 + #key }
    b.hls[#b.hls + 1] = { lnum - 1, c.group, 4 + #key, -1 }
    choice_at[lnum] = i
  end
  return b.lines, b.hls, choice_at, files
end

-- Windows ---------------------------------------------------------------------------------

local function float_config(anchor, nlines)
  local cfg = { style = "minimal", border = "rounded", focusable = true, zindex = 60 }
  if has_title then
    cfg.title = " Codex approval "
    cfg.title_pos = "center"
  end
  if anchor then
    local w, h = api.nvim_win_get_width(anchor), api.nvim_win_get_height(anchor)
    cfg.relative, cfg.win = "win", anchor
    cfg.width = math.max(1, w - 2)
    cfg.height = math.max(1, math.min(nlines, h - 2))
    cfg.row = math.max(0, h - cfg.height - 2)
    cfg.col = 0
  else
    local cols, lines = vim.o.columns, vim.o.lines - vim.o.cmdheight - 1
    cfg.relative = "editor"
    cfg.width = math.max(1, math.min(cols - 4, 100))
    cfg.height = math.max(1, math.min(nlines, lines - 4))
    cfg.row = math.max(0, lines - cfg.height - 3)
    cfg.col = math.max(0, math.floor((cols - cfg.width - 2) / 2))
  end
  return cfg
end

local function relayout(view)
  if not win_ok(view.win) then return end
  if view.anchor and not win_ok(view.anchor) then return end
  local cfg = float_config(view.anchor, view.nlines)
  local sig = table.concat({ cfg.width, cfg.height, cfg.row, cfg.col }, ",")
  if sig == view.sig then return end
  view.sig = sig
  pcall(api.nvim_win_set_config, view.win, cfg)
end

local choose, focus_view, back

local function map(buf, key, fn, desc)
  if key then vim.keymap.set("n", key, fn, { buffer = buf, silent = true, nowait = true, desc = "codex approval: " .. desc }) end
end

local function move_file(view, dir)
  if not win_ok(view.win) or #view.files == 0 then return end
  local cur = api.nvim_win_get_cursor(view.win)[1]
  local target
  if dir > 0 then
    for _, l in ipairs(view.files) do if l > cur then target = l break end end
    target = target or view.files[1]
  else
    for i = #view.files, 1, -1 do if view.files[i] < cur then target = view.files[i] break end end
    target = target or view.files[#view.files]
  end
  api.nvim_win_set_cursor(view.win, { target, 0 })
  pcall(vim.cmd, "normal! zt")
end

local function open_view(key, entry, anchor)
  local lines, hls, choice_at, files = render(entry)
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  for _, h in ipairs(hls) do
    pcall(api.nvim_buf_add_highlight, buf, ns, h[2], h[1], h[3], h[4])
  end
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "codex_approval"
  local cfg = float_config(anchor, #lines)
  local win = api.nvim_open_win(buf, false, cfg)
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.wo[win].cursorline = true
  vim.wo[win].winhighlight = "FloatBorder:CodexApprovalBorder"
  api.nvim_win_set_cursor(win, { 1, 0 })
  local view = {
    entry = entry, win = win, buf = buf, anchor = anchor, choice_at = choice_at, files = files,
    nlines = #lines, sig = table.concat({ cfg.width, cfg.height, cfg.row, cfg.col }, ","),
  }
  views[key] = view
  local k = keymaps()
  map(buf, k.approval_choose, function()
    local v = views[key]
    if not v or v.buf ~= buf then return end
    local idx = v.choice_at[api.nvim_win_get_cursor(0)[1]]
    if idx then
      choose(key, idx)
    else
      notify("codex: move the cursor to a choice first (or use g1-g9)")
    end
  end, "answer with the choice under the cursor")
  for i = 1, math.min(#entry.choices, 9) do
    map(buf, "g" .. i, function()
      local v = views[key]
      if v and v.buf == buf then choose(key, i) end
    end, "answer with choice " .. i)
  end
  map(buf, k.approval_next_file, function() move_file(view, 1) end, "next file")
  map(buf, k.approval_prev_file, function() move_file(view, -1) end, "previous file")
  api.nvim_create_autocmd("WinEnter", {
    buffer = buf,
    callback = function()
      -- entered some other way than focus_approval (<C-w>w, the mouse): start on the header
      -- too, and remember where the user came from
      if view.entering or views[key] ~= view then return end
      local prev = vim.fn.win_getid(vim.fn.winnr("#"))
      if prev ~= 0 and prev ~= view.win then view.prev_win, view.prev_insert = prev, nil end
      pcall(api.nvim_win_set_cursor, view.win, { 1, 0 })
    end,
  })
  map(buf, k.approval_back, function() back(key) end, "back without answering")
  map(buf, k.focus_approval, function() back(key) end, "back without answering")
  return view
end

--- Closes a view's window; focus returns to where the user came from when it was inside.
local function close_view(key, insert)
  local view = views[key]
  if not view then return end
  views[key] = nil
  if win_ok(view.win) and api.nvim_get_current_win() == view.win then
    local target = win_ok(view.prev_win) and view.prev_win or nil
    if not target then
      local chat = chat_for(key)
      target = chat and (win_ok(chat.input_win) and chat.input_win or win_ok(chat.win) and chat.win) or nil
    end
    if target then
      api.nvim_set_current_win(target)
      if insert and view.prev_insert and target == view.prev_win then restore_insert(target, view.prev_insert) end
    end
  end
  if win_ok(view.win) then pcall(api.nvim_win_close, view.win, true) end
end

--- Shows the head of a thread's queue (if there is a window to show it in).
---@param key string
---@param force boolean|nil anchor to the editor when the chat has no window
---@return codex.ApprovalView|nil
local function display(key, force)
  local q = queues[key]
  local entry = q and q[1]
  if not entry then
    close_view(key, true)
    return nil
  end
  local chat = chat_for(key)
  local anchor = chat and win_ok(chat.win) and chat.win or nil
  local view = views[key]
  if view and (view.entry ~= entry or not win_ok(view.win) or (view.anchor ~= anchor and (anchor or not win_ok(view.anchor)))) then
    -- a different prompt, or the chat window changed: rebuild (keeping where focus came from)
    local prev_win, prev_insert = view.prev_win, view.prev_insert
    local focused = win_ok(view.win) and api.nvim_get_current_win() == view.win
    close_view(key, false)
    view = nil
    if not anchor and not force then return nil end
    view = open_view(key, entry, anchor)
    if focused then
      view.entering = true
      api.nvim_set_current_win(view.win)
      view.entering = false
      view.prev_win, view.prev_insert = prev_win, prev_insert
    end
    return view
  end
  if view then
    relayout(view)
    return view
  end
  if not anchor and not force then return nil end
  return open_view(key, entry, anchor)
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
  local view = views[key]
  local shown = view and view.entry == entry
  local prev_win, prev_insert
  if shown then
    keep_focus = keep_focus and win_ok(view.win) and api.nvim_get_current_win() == view.win
    prev_win, prev_insert = view.prev_win, view.prev_insert
  end
  remove(key, entry)
  if shown then
    -- Focus goes back to where the user came from, never on to the next prompt: a chord or
    -- an <Enter> pressed twice must not answer the next one too.
    close_view(key, false)
    display(key)
    if keep_focus and prev_insert and win_ok(prev_win) and api.nvim_get_current_win() == prev_win then
      restore_insert(prev_win, prev_insert)
    end
  end
  if not queues[key] then set_waiting(key, false) end
  events.emit("ApprovalResolved", {
    thread_id = entry.req.thread_id, method = entry.req.method, decision = decision,
    request_id = entry.req.id, answered = decision ~= nil,
  })
end

choose = function(key, idx)
  local view = views[key]
  if not view then return end
  local entry = view.entry
  local choice = entry.choices[idx]
  if not choice or entry.done then return end
  local req = entry.req
  local decision = nil
  if not req.answered and not req.resolved then
    local ok, err = req:respond(deep_copy(choice.result))
    if ok then
      decision = choice.result.decision ~= nil and choice.result.decision or choice.key
    else
      notify("codex: could not answer the approval: " .. tostring(err), vim.log.levels.ERROR)
    end
  end
  finish(entry, decision, true)
end

back = function(key)
  local view = views[key]
  if not view or not win_ok(view.win) or api.nvim_get_current_win() ~= view.win then return end
  local target = win_ok(view.prev_win) and view.prev_win or nil
  if not target then
    local chat = chat_for(key)
    target = chat and (win_ok(chat.input_win) and chat.input_win or win_ok(chat.win) and chat.win) or nil
  end
  if not target then
    vim.cmd("wincmd p")
    return
  end
  api.nvim_set_current_win(target)
  if view.prev_insert and target == view.prev_win then restore_insert(target, view.prev_insert) end
  view.prev_win, view.prev_insert = nil, nil
end

focus_view = function(view)
  local cur = api.nvim_get_current_win()
  if cur ~= view.win then
    view.prev_win = cur
    local mode = api.nvim_get_mode().mode
    if mode:sub(1, 1) == "i" then
      view.prev_insert = api.nvim_win_get_cursor(cur)
      vim.cmd("stopinsert")
    else
      view.prev_insert = nil
    end
    view.entering = true
    api.nvim_set_current_win(view.win)
    view.entering = false
  end
  -- the header, never a choice: an <Enter> typed ahead answers nothing
  api.nvim_win_set_cursor(view.win, { 1, 0 })
end

-- Window events: follow the chat window's size, close with it --------------------------

local augroup = api.nvim_create_augroup("CodexApproval", { clear = true })
local function relayout_all()
  for _, view in pairs(views) do relayout(view) end
end
api.nvim_create_autocmd({ "VimResized", "WinScrolled" }, { group = augroup, callback = relayout_all })
if vim.fn.exists("##WinResized") == 1 then
  api.nvim_create_autocmd("WinResized", { group = augroup, callback = relayout_all })
end
api.nvim_create_autocmd("WinClosed", {
  group = augroup,
  callback = function(ev)
    local win = tonumber(ev.match)
    for key, view in pairs(views) do
      if view.win == win then
        views[key] = nil -- the user closed the prompt: it stays pending (M.show / focus)
      elseif view.anchor == win then
        vim.schedule(function()
          if views[key] == view then close_view(key, false) end
        end)
      end
    end
  end,
})

-- Approvals -------------------------------------------------------------------------------

local WHAT = { command = "run a command", patch = "change files", permissions = "get more permissions" }

local function enqueue(req, kind)
  if req.answered or req.resolved then return end
  local key = req.thread_id or ""
  local entry = { key = key, req = req, kind = kind, done = false }
  entry.choices = build_choices(req, kind)
  queues[key] = queues[key] or {}
  table.insert(queues[key], entry)
  req:on_resolved(function()
    safely(function() finish(entry, nil, true) end)
  end)
  if entry.done then return end
  local paths
  if kind == "patch" then
    local item = request_item(req)
    paths = {}
    for _, c in ipairs(item and list(item.changes) or {}) do
      if type(c) == "table" then paths[#paths + 1] = str(c.path) end
    end
  end
  events.emit("ApprovalRequested", {
    thread_id = req.thread_id, method = req.method, command = kind == "command" and command_text(req.params.command) or nil,
    paths = paths, request_id = req.id, turn_id = req.turn_id,
  })
  if entry.done then return end
  set_waiting(key, true)
  local view = display(key)
  local n = #(queues[key] or {})
  if view then
    local fk = keymaps().focus_approval
    notify(("Codex wants to %s%s — %s to answer"):format(WHAT[kind], n > 1 and (" (%d waiting)"):format(n) or "",
      fk or ":lua require('codex.ui.approval').focus()"))
  elseif chat_for(key) then
    notify(("Codex is waiting for your approval in %s: :Codex to show it"):format(thread_label(key)), vim.log.levels.WARN)
  else
    notify(("Codex is waiting for your approval in %s: :lua require('codex.ui.approval').focus() to answer"):format(thread_label(key)), vim.log.levels.WARN)
  end
end

-- requestUserInput and MCP elicitation -----------------------------------------------------

local function ask_user_input(req)
  local questions = list(req.params.questions)
  local answers = {}
  local i = 0
  local step
  local function record(q, value)
    if value ~= nil and value ~= "" then answers[str(q.id) or tostring(i)] = { answers = { value } } end
  end
  step = function()
    if req.answered or req.resolved then return end
    i = i + 1
    local q = questions[i]
    if not q then
      req:respond({ answers = answers })
      return
    end
    if type(q) ~= "table" then return step() end
    local prompt = table.concat(vim.tbl_filter(function(s) return s ~= "" end, { str(q.header) or "", str(q.question) or "" }), ": ")
    if prompt == "" then prompt = "Codex asks" end
    local options = list(q.options)
    if val(q.isSecret) == true then
      local ok, v = pcall(vim.fn.inputsecret, prompt .. " ")
      record(q, ok and v or nil)
      return vim.schedule(step)
    end
    if #options > 0 then
      local items = {}
      for _, o in ipairs(options) do items[#items + 1] = { label = str(o.label) or "?", description = str(o.description) } end
      if val(q.isOther) ~= false then items[#items + 1] = { label = "Other…", other = true } end
      vim.ui.select(items, {
        prompt = prompt,
        format_item = function(it) return it.description and (it.label .. " — " .. it.description) or it.label end,
      }, function(choice)
        vim.schedule(function()
          if choice and choice.other then
            vim.ui.input({ prompt = prompt .. " " }, function(text)
              vim.schedule(function()
                record(q, text)
                step()
              end)
            end)
            return
          end
          record(q, choice and choice.label or nil)
          step()
        end)
      end)
      return
    end
    vim.ui.input({ prompt = prompt .. " " }, function(text)
      vim.schedule(function()
        record(q, text)
        step()
      end)
    end)
  end
  vim.schedule(step)
end

local function open_url(url)
  if vim.ui.open then return pcall(vim.ui.open, url) end
  local cmd = vim.fn.has("mac") == 1 and "open" or "xdg-open"
  return pcall(vim.fn.jobstart, { cmd, url }, { detach = true })
end

local function elicit(req)
  local p = req.params
  local server = str(p.serverName) or "an MCP server"
  local function answer(action)
    if not req.answered and not req.resolved then req:respond({ action = action, content = null }) end
  end
  vim.schedule(function()
    if req.answered or req.resolved then return end
    if p.mode == "url" then
      local url = str(p.url) or ""
      vim.ui.select({ "Open", "Decline", "Cancel" }, {
        prompt = ("%s: %s — %s"):format(server, str(p.message) or "open a link", url),
      }, function(choice)
        vim.schedule(function()
          if choice == "Open" then
            open_url(url)
            answer("accept")
          else
            answer(choice == "Cancel" and "cancel" or "decline")
          end
        end)
      end)
      return
    end
    -- form modes (form, openai/form, openai/userVerification): codex.nvim cannot render
    -- the requested schema, so the user can only decline (the tool call goes on without the
    -- data) or cancel.
    local msg = str(p.message) or str(p.title) or str(p.description) or "asks for input"
    vim.ui.select({ "Decline", "Cancel" }, {
      prompt = ("%s: %s (codex.nvim cannot show this form)"):format(server, msg),
    }, function(choice)
      vim.schedule(function() answer(choice == "Cancel" and "cancel" or "decline") end)
    end)
  end)
end

-- Public API --------------------------------------------------------------------------------

--- The UI's server-request handler: returns nil at once and answers later.
---@param req codex.ServerRequest
---@return nil
function M.handle(req)
  local kind = KINDS[req.method]
  if kind then
    safely(function()
      local ok, err = pcall(enqueue, req, kind)
      if not ok then
        notify("codex: could not show the approval (declined): " .. tostring(err), vim.log.levels.ERROR)
        if not req.answered then req:respond_safe() end
      end
    end)
  elseif req.method == "item/tool/requestUserInput" then
    ask_user_input(req)
  elseif req.method == "mcpServer/elicitation/request" then
    elicit(req)
  else
    req:respond_safe()
  end
  return nil
end

--- Shows the waiting prompt(s) of a thread (all threads when nil): the chat calls it when it
--- opens a window. Without a chat window the prompt floats at the bottom of the editor.
---@param thread_id string|nil
function M.show(thread_id)
  if thread_id == nil then
    for key in pairs(queues) do display(key, true) end
    return
  end
  display(thread_id, true)
end

--- Moves the cursor into a thread's prompt (the header line). Without thread_id: the prompt
--- of the current chat, else any. Returns true when there was one.
---@param thread_id string|nil
---@return boolean
function M.focus(thread_id)
  local key = thread_id
  if key == nil or not queues[key] then
    -- no prompt for this thread: one shown in this tab page, else (without a thread) any
    key = nil
    local tab = api.nvim_get_current_tabpage()
    for k, v in pairs(views) do
      if win_ok(v.win) and api.nvim_win_get_tabpage(v.win) == tab then key = k break end
    end
    if not key and thread_id == nil then for k in pairs(queues) do key = k break end end
  end
  if not key or not queues[key] then
    local n = M.pending()
    notify(n > 0 and ("codex: no approval is waiting here (%d in other chats)"):format(n) or "codex: no approval is waiting")
    return false
  end
  local view = display(key, true)
  if not view then return false end
  focus_view(view)
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

--- The prompt shown for a thread: {win, buf, req, choices, choice_lines} or nil (for tests
--- and statuslines).
---@param thread_id string
function M.current(thread_id)
  local view = views[thread_id]
  if not view or not win_ok(view.win) then return nil end
  local lines = {}
  for lnum, i in pairs(view.choice_at) do lines[i] = lnum end
  return { win = view.win, buf = view.buf, req = view.entry.req, choices = view.entry.choices, choice_lines = lines, files = view.files, anchor = view.anchor }
end

return M
