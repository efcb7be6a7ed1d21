---@mod codex.ui.approval_content  What an approval prompt says: choices, lines, highlights (pure).
---
--- Pure functions of a request: no vim.*, no windows, so they run (and are tested) under
--- plain Lua as well as in Neovim. What only the editor knows comes in through `ctx`
--- (codex.ApprovalContext): the keymaps, how a path is shown, how a table is shown as JSON.
--- Payloads are read defensively: a field may be missing, JSON null or of another type.
local M = {}

--- method → kind, for the requests shown as an approval prompt.
M.KINDS = {
  ["item/commandExecution/requestApproval"] = "command",
  ["item/fileChange/requestApproval"] = "patch",
  ["item/permissions/requestApproval"] = "permissions",
}

--- What each kind asks for, for notifications ("wants to <what>").
M.WHAT = { command = "run a command", patch = "change files", permissions = "get more permissions", mcp = "run an MCP tool" }

--- The highlight groups of a prompt and the groups they link to by default.
M.HL = {
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
  CodexApprovalHunkAccepted = "String", -- the ✓ of an accepted hunk
  CodexApprovalHunkRejected = "WarningMsg", -- the ✗ of a rejected one
  CodexApprovalHunkDimmed = "Comment", -- the lines of a rejected hunk
}

M.MAX_DIFF_LINES = 400 -- per file; the rest is summarised

---@class codex.ApprovalContext
---@field keymaps table|nil config.keymaps (for the key hint line)
---@field display_path (fun(path: string): string)|nil how a path is shown (default: as it is)
---@field encode (fun(v: table): string)|nil a table as text (default: tostring)
---@field unsaved (fun(path: string): boolean)|nil is the file open with unsaved changes? (a warning)
---@field compact boolean|nil the choices right after a summary (the prompt does not fit)
---@field null any|nil the JSON null to send (codex.core.null; MCP decline/cancel carry content: null)
---@field hunks codex.HunkSelection|nil a patch's per-hunk choice (codex.ui.approval_hunks); nil: all or nothing
---@field hunks_why string|nil why a patch has no per-hunk choice

---@class codex.ApprovalChoice
---@field key string the decision's key ("accept", "decline", "acceptWithExecpolicyAmendment", …)
---@field label string what the prompt shows
---@field result table what is sent back
---@field group string its highlight group
---@field pick boolean|nil the answer is picked afterwards (a subset of the permissions: codex.ui.grant)
---@field partial boolean|nil decline, and the plugin applies the accepted hunks (codex.ui.hunk_apply)

-- Helpers ---------------------------------------------------------------------------------

local util = require("codex.util")
local val, list = util.val, util.list
local command_text = require("codex.ui.command_text")
local elicitation = require("codex.elicitation")
local hunk_sel = require("codex.ui.approval_hunks")

--- A value as text: strings as they are, tables through ctx.encode.
local function text(v, ctx)
  v = val(v)
  if v == nil then return nil end
  if type(v) == "string" then return v end
  if type(v) == "table" and ctx and ctx.encode then
    local ok, s = pcall(ctx.encode, v)
    if ok then return s end
  end
  return tostring(v)
end

--- The text of a command: a string, or an argv list joined with spaces.
---@param cmd any
---@return string|nil
function M.command_text(cmd) return command_text.join(cmd) end

--- The item a request is about: req.item, else the turn's item of params.itemId.
---@param req table
---@return table|nil
function M.request_item(req)
  if type(req.item) == "table" then return req.item end
  local item_id = req.params and val(req.params.itemId)
  if req.turn and item_id and type(req.turn.item) == "function" then
    local ok, it = pcall(req.turn.item, req.turn, item_id)
    if ok and type(it) == "table" then return it end
  end
  return nil
end

-- Choices ---------------------------------------------------------------------------------

local function amendment_prefix(d)
  local a = type(d) == "table" and val(d.acceptWithExecpolicyAmendment)
  local words = a and list(a.execpolicy_amendment) or {}
  return table.concat(words, " ")
end

--- The label of a decision value (the value is what gets sent; the label is only shown).
local function decision_label(d, kind, ctx)
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
      local host = text(type(a) == "table" and a.host, ctx) or "?"
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

--- The decisions offered: exactly the request's availableDecisions, with decline added
--- (before cancel) when missing; the documented set when there are none.
local function decisions_of(available)
  if type(available) ~= "table" or #available == 0 then return { (table.unpack or unpack)(DOCUMENTED) } end
  local has_decline = false
  for _, d in ipairs(available) do
    if d == "decline" then has_decline = true end
  end
  local decisions = {}
  for _, d in ipairs(available) do
    if d == "cancel" and not has_decline then
      decisions[#decisions + 1] = "decline"
      has_decline = true
    end
    decisions[#decisions + 1] = d
  end
  if not has_decline then decisions[#decisions + 1] = "decline" end
  return decisions
end

--- A prompt's choices: keyed on the decision value, never on its label. A result holds the
--- request's own values (the caller sends a copy).
---@param req table a codex.ServerRequest (method, params)
---@param kind "command"|"patch"|"permissions"|"mcp"
---@param ctx codex.ApprovalContext|nil
---@return codex.ApprovalChoice[]
function M.choices(req, kind, ctx)
  local p = req.params or {}
  if kind == "permissions" then
    local perms = val(p.permissions) or {}
    local several = #require("codex.ui.grant").pieces(perms) > 1
    local all = several and "all " or ""
    local out = {
      { key = "accept", label = ("Grant %sfor this turn"):format(all), result = { permissions = perms, scope = "turn" }, group = "CodexApprovalChoice" },
      { key = "acceptForSession", label = ("Grant %sfor this session"):format(all), result = { permissions = perms, scope = "session" }, group = "CodexApprovalChoice" },
    }
    if several then
      out[#out + 1] = { key = "acceptSubset", label = "Grant only some…", result = {}, group = "CodexApprovalChoice", pick = true }
    end
    out[#out + 1] = { key = "decline", label = "Decline (grant nothing; the agent continues)", result = { permissions = {} }, group = "CodexApprovalDecline" }
    return out
  end
  if kind == "mcp" then
    local persist = elicitation.persist_options(p)
    local null = ctx and ctx.null
    local function choice(key, label, group)
      return { key = key, label = label, result = elicitation.tool_answer(key, null), group = group or "CodexApprovalChoice" }
    end
    local out = { choice("once", "Allow once") }
    if persist.session then out[#out + 1] = choice("session", "Allow for this session") end
    if persist.always then out[#out + 1] = choice("always", "Always allow (saved in codex's config.toml)") end
    out[#out + 1] = choice("decline", "Decline (the tool does not run; the agent continues)", "CodexApprovalDecline")
    out[#out + 1] = choice("cancel", "Cancel (the tool does not run)", "CodexApprovalCancel")
    return out
  end
  local out = {}
  for _, d in ipairs(decisions_of(val(p.availableDecisions))) do
    local key = decision_key(d)
    out[#out + 1] = { key = key, label = decision_label(d, kind, ctx), result = { decision = d }, group = decision_group(key) }
  end
  if kind == "patch" and ctx and ctx.hunks then return M.hunk_choices(out, ctx.hunks) end
  return out
end

--- The choices of a patch prompt for its hunk selection: all accepted, the request's own
--- (codex applies the patch); some, "apply only the accepted hunks" (the request is declined
--- and the plugin applies them) instead of the accepting ones; none, only decline and cancel.
---@param base codex.ApprovalChoice[] the request's choices (M.choices without hunks)
---@param sel codex.HunkSelection
---@return codex.ApprovalChoice[]
function M.hunk_choices(base, sel)
  local state = hunk_sel.state(sel)
  if state == "all" then return base end
  local out = {}
  local decline
  for _, c in ipairs(base) do
    if c.key == "decline" then decline = c end
  end
  if state == "some" and decline then
    local n, total = hunk_sel.counts(sel)
    out[#out + 1] = { key = "partial", partial = true, result = decline.result, group = "CodexApprovalChoice",
      label = ("Apply only the accepted hunks (%d of %d; the editor writes them, the agent is told)"):format(n, total) }
  end
  for _, c in ipairs(base) do
    if c.key == "decline" then
      out[#out + 1] = { key = c.key, result = c.result, group = c.group,
        label = state == "none" and "Decline: all hunks rejected (the agent continues)" or "Decline all (the agent continues)" }
    elseif c.key == "cancel" then
      out[#out + 1] = c
    end
  end
  return out
end

--- What an ApprovalRequested event carries about a request: the command, the paths.
---@param req table
---@param kind string
---@return string|nil command, string[]|nil paths
function M.summary(req, kind)
  if kind == "command" then return M.command_text((req.params or {}).command), nil end
  if kind ~= "patch" then return nil, nil end
  local item, paths = M.request_item(req), {}
  for _, c in ipairs(item and list(item.changes) or {}) do
    if type(c) == "table" then paths[#paths + 1] = text(c.path) end
  end
  return nil, paths
end

--- How a notification names a thread: its name (quoted, cut at 40), else its id.
---@param name string|nil the thread's name or preview
---@param key string the thread id ("" when none)
---@return string
function M.thread_label(name, key)
  if type(name) == "string" and name ~= "" then return ("%q"):format(name:sub(1, 40)) end
  return key ~= "" and ("thread " .. key) or "a thread"
end

-- Content ---------------------------------------------------------------------------------

-- Collects lines and highlights ({row0, group, col_start, col_end}).
local function new_builder()
  local b = { lines = {}, hls = {} }
  --- Adds text (split on newlines); returns the first line number (1-based).
  function b.add(s, group, prefix)
    prefix = prefix or ""
    local first
    for line in (tostring(s) .. "\n"):gmatch("(.-)\r?\n") do
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

local function paths_text(paths, ctx)
  local out = {}
  for _, x in ipairs(list(paths)) do
    if type(x) == "table" then
      out[#out + 1] = text(val(x.path), ctx) or text(x, ctx)
    else
      out[#out + 1] = text(x, ctx)
    end
  end
  return table.concat(out, ", ")
end

--- Lines describing a permission profile ({network?, fileSystem?}); false when it has none.
local function permission_fields(b, perms, lead, ctx)
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
      b.field(lead .. "read:", paths_text(fs.read, ctx), "CodexApprovalFile")
      any = true
    end
    if #list(fs.write) > 0 then
      b.field(lead .. "write:", paths_text(fs.write, ctx), "CodexApprovalFile")
      any = true
    end
    for _, e in ipairs(list(fs.entries)) do
      if type(e) == "table" then
        local path = val(e.path) and (type(e.path) == "table" and (val(e.path.path) or e.path) or e.path)
        b.field(lead .. (text(e.access, ctx) or "access") .. ":", text(path, ctx) or "?", "CodexApprovalFile")
        any = true
      end
    end
  end
  if not any and next(perms) ~= nil then
    b.field(lead .. "permissions:", text(perms, ctx), "CodexApprovalCommand")
    any = true
  end
  return any
end

local function change_kind(change, ctx)
  local k = val(change.kind)
  if type(k) == "table" then return val(k.type) or "update", text(val(k.move_path), ctx) end
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

local function header_text(req, kind)
  local p = req.params or {}
  if kind == "command" then
    if val(p.kind) == "writeStdin" then return "Codex wants to write to a running command" end
    return "Codex wants to run a command"
  elseif kind == "patch" then
    local item = M.request_item(req)
    local n = item and #list(item.changes) or 0
    if n == 1 then return "Codex wants to change a file" end
    if n > 1 then return ("Codex wants to change %d files"):format(n) end
    return "Codex wants to change files"
  end
  if kind == "mcp" then return "Codex wants to run an MCP tool" end
  return "Codex asks for more permissions"
end

--- The hint while focus is in the float: how to answer there.
local function key_hint(kind, nchoices, k, with_hunks)
  local parts = {}
  if k.approval_choose then parts[#parts + 1] = k.approval_choose .. " on a choice" end
  parts[#parts + 1] = nchoices > 1 and ("g1-g%d"):format(math.min(nchoices, 9)) or "g1"
  local function pair(a, b, what)
    if a then parts[#parts + 1] = a .. (b and ("/" .. b) or "") .. " " .. what end
  end
  if kind == "patch" then pair(k.approval_next_file, k.approval_prev_file, "files") end
  if kind == "patch" and with_hunks then
    pair(k.approval_next_hunk, k.approval_prev_hunk, "hunks")
    local t = {}
    for _, x in ipairs({ k.approval_toggle_hunk, k.approval_accept_hunk, k.approval_reject_hunk }) do
      if x then t[#t + 1] = x end
    end
    if #t > 0 then parts[#parts + 1] = table.concat(t, "/") .. " hunk" end
    pair(k.approval_accept_all, k.approval_reject_all, "all")
  end
  if k.approval_back then parts[#parts + 1] = k.approval_back .. " back" end
  return table.concat(parts, " · ")
end

--- The hint while focus is elsewhere (the chords work only in the float): how to get there.
local function away_hint(k)
  if k.focus_approval then return k.focus_approval .. " to answer" end
  -- (text for the user, not a require: the module name is not written as one)
  return (":lua require('%s').focus() to answer"):format("codex.ui.approval")
end

local function command_of(req)
  local p = req.params or {}
  local cmd = M.command_text(p.command)
  if not cmd then
    local item = M.request_item(req)
    cmd = item and M.command_text(item.command)
  end
  return cmd
end

local SUMMARY_LINES = 3 -- of a command, above the choices when the prompt does not fit

--- The first lines of the command (above the choices of a compact prompt); true when cut.
local function command_summary(b, req)
  local script = command_text.unwrap(command_of(req) or "(command not given)")
  local shown, n = {}, 0
  for line in (script .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    if n <= SUMMARY_LINES then shown[#shown + 1] = line end
  end
  b.add(table.concat(shown, "\n"), "CodexApprovalCommand", "  $ ")
  if n > SUMMARY_LINES then b.add(("… %d more lines below"):format(n - SUMMARY_LINES), "CodexApprovalHint", "    ") end
  return n > SUMMARY_LINES
end

local function command_body(b, req, ctx, skip_script)
  local p = req.params or {}
  local cmd = command_of(req)
  local script, shell = command_text.unwrap(cmd or "(command not given)")
  if not skip_script then b.add(script, "CodexApprovalCommand", "  $ ") end
  if shell then b.field("via:", cmd, "CodexApprovalHint") end
  b.field("cwd:", text(p.cwd, ctx), "CodexApprovalFile")
  b.field("reason:", text(p.reason, ctx))
  local net = val(p.networkApprovalContext)
  if type(net) == "table" then
    local proto = text(net.protocol, ctx)
    b.field("network:", (proto and (proto .. "://") or "") .. (text(net.host, ctx) or "?"), "CodexApprovalCommand")
  end
  permission_fields(b, p.additionalPermissions, "needs ", ctx)
  local prefix = list(p.proposedExecpolicyAmendment)
  if #prefix > 0 then
    b.field("proposal:", ("always allow commands starting with `%s`"):format(table.concat(prefix, " ")))
  end
  for _, a in ipairs(list(p.proposedNetworkPolicyAmendments)) do
    if type(a) == "table" then
      b.field("proposal:", ("always %s network access to %s"):format(text(a.action, ctx) or "allow", text(a.host, ctx) or "?"))
    end
  end
end

--- One file of a patch: its header line (returned, 1-based) and its diff, cut at MAX_DIFF_LINES.
local function file_body(b, change, ctx)
  local kind, move = change_kind(change, ctx)
  local shown = ctx.display_path or function(s) return s end
  b.blank()
  local head = ("%-6s %s%s"):format(kind, shown(text(change.path, ctx) or "?"), move and (" → " .. shown(move)) or "")
  local lnum = b.add(head, "CodexApprovalFile", "  ")
  b.hls[#b.hls + 1] = { lnum - 1, "CodexApprovalLabel", 2, 2 + #kind }
  local diff = text(change.diff, ctx) or ""
  local unified = diff:find("^@@") or diff:find("^%-%-%- ") or diff:find("\n@@")
  local n = 0
  for line in (diff .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    if n > M.MAX_DIFF_LINES then break end
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
  if total > M.MAX_DIFF_LINES then
    b.add(("… %d more lines"):format(total - M.MAX_DIFF_LINES), "CodexApprovalHint", "    ")
  end
  return lnum
end

M.ACCEPTED, M.REJECTED = "✓", "✗"

--- One file of a patch, hunk by hunk: its header line, then per hunk a "✓ @@ … @@" (or ✗)
--- line and the hunk's lines (dimmed when rejected). Records the lines in `acc`: files (the
--- header lines), hunks (flat index → its mark line) and hunk_at (line → flat index).
local function hunk_file_body(b, f, ctx, acc)
  local shown = ctx.display_path or function(s) return s end
  if b.lines[#b.lines] ~= "" then b.blank() end
  local kind = f.kind
  local move = kind == "rename" and f.file.new_path and (" → " .. shown(f.file.new_path)) or ""
  local n_acc = 0
  for _, u in ipairs(f.units) do
    if u.accepted then n_acc = n_acc + 1 end
  end
  local count = #f.units > 1 and ("  (%d hunks, %d accepted)"):format(#f.units, n_acc) or ""
  local head = ("%-6s %s%s%s"):format(kind, shown(f.path), move, count)
  local lnum = b.add(head, "CodexApprovalFile", "  ")
  b.hls[#b.hls + 1] = { lnum - 1, "CodexApprovalLabel", 2, 2 + #kind }
  acc.files[#acc.files + 1] = lnum
  local shown_lines = 0
  for _, u in ipairs(f.units) do
    acc.flat = acc.flat + 1
    local idx = acc.flat
    local mark = u.accepted and M.ACCEPTED or M.REJECTED
    local title = hunk_sel.title(f, u)
    local at = b.add(("%s %s"):format(mark, title), nil, "    ")
    b.hls[#b.hls + 1] = { at - 1, u.accepted and "CodexApprovalHunkAccepted" or "CodexApprovalHunkRejected", 4, 4 + #mark }
    b.hls[#b.hls + 1] = { at - 1, u.accepted and "CodexApprovalDiffChange" or "CodexApprovalHunkDimmed", 5 + #mark, -1 }
    acc.hunks[idx] = at
    acc.hunk_at[at] = idx
    local body = u.hunk and u.hunk.lines or {}
    local skipped = 0
    for _, l in ipairs(body) do
      if shown_lines >= M.MAX_DIFF_LINES then
        skipped = skipped + 1
      else
        shown_lines = shown_lines + 1
        local line = l.op .. (l.text:gsub("\r$", ""))
        b.lines[#b.lines + 1] = "      " .. line
        acc.hunk_at[#b.lines] = idx
        local g = u.accepted and diff_group(line, "update") or "CodexApprovalHunkDimmed"
        if g then b.hls[#b.hls + 1] = { #b.lines - 1, g, 6, -1 } end
      end
    end
    if skipped > 0 then
      b.add(("… %d more lines"):format(skipped), "CodexApprovalHint", "      ")
      acc.hunk_at[#b.lines] = idx
    end
  end
end

--- "Hunks: 3 of 4 accepted." and what the answer then does.
local function hunk_summary(b, sel)
  local n, total = hunk_sel.counts(sel)
  local state = hunk_sel.state(sel)
  local what = state == "all" and "codex applies the whole patch"
    or state == "none" and "the patch is declined"
    or "the editor applies only these, and tells the agent"
  b.field("hunks:", ("%d of %d accepted: %s"):format(n, total, what))
end

--- The changes of a patch request (tables only).
local function changes_of(req)
  local item = M.request_item(req)
  local out = {}
  for _, c in ipairs(item and list(item.changes) or {}) do
    if type(c) == "table" then out[#out + 1] = c end
  end
  return out
end

--- A warning line per target file open in the editor with unsaved changes (ctx.unsaved).
local function unsaved_warnings(b, req, ctx)
  if not ctx.unsaved then return end
  local shown = ctx.display_path or function(s) return s end
  for _, change in ipairs(changes_of(req)) do
    local path = text(change.path, ctx)
    local ok, yes = pcall(ctx.unsaved, path or "")
    if path and ok and yes then
      b.add(("! %s has unsaved changes in Neovim"):format(shown(path)), "CodexApprovalDecline", "  ")
    end
  end
end

--- The files of a patch on one line (above the choices of a compact prompt).
local function patch_summary(b, req, ctx)
  local shown = ctx.display_path or function(s) return s end
  local parts = {}
  for _, change in ipairs(changes_of(req)) do
    parts[#parts + 1] = ("%s %s"):format(change_kind(change, ctx), shown(text(change.path, ctx) or "?"))
  end
  if #parts > 0 then b.field("files:", table.concat(parts, ", "), "CodexApprovalFile") end
  if ctx.hunks then hunk_summary(b, ctx.hunks) end
end

local function patch_body(b, req, ctx, files, skip_warnings)
  local p = req.params or {}
  if not skip_warnings then unsaved_warnings(b, req, ctx) end
  b.field("reason:", text(p.reason, ctx))
  b.field("grants write access to:", text(p.grantRoot, ctx), "CodexApprovalFile")
  local sel = ctx.hunks
  if sel then
    if not files.compact_summary then hunk_summary(b, sel) end
    local acc = { files = files, hunks = files.hunks, hunk_at = files.hunk_at, flat = 0 }
    for _, f in ipairs(sel.files) do hunk_file_body(b, f, ctx, acc) end
    return
  end
  b.add("The answer covers the whole patch (all files)" .. (ctx.hunks_why and (": no per-hunk choice (" .. ctx.hunks_why .. ")") or "") .. ".",
    "CodexApprovalHint", "  ")
  local changes = changes_of(req)
  if #changes == 0 then
    b.blank()
    b.add("(the diff is not available)", "CodexApprovalHint", "  ")
  end
  for _, change in ipairs(changes) do files[#files + 1] = file_body(b, change, ctx) end
end

--- "server · tool" (the tool's title when it has one), for the compact summary.
local function mcp_name(info)
  local tool = info.tool or info.title or "a tool"
  if info.title and info.tool and info.title ~= info.tool then tool = ("%s (%s)"):format(info.tool, info.title) end
  return ("%s · %s"):format(info.connector or info.server, tool)
end

local function mcp_summary(b, req)
  b.field("tool:", mcp_name(elicitation.tool_info(req.params)), "CodexApprovalCommand")
end

local function mcp_body(b, req, ctx, skip_name)
  local info = elicitation.tool_info(req.params)
  if not skip_name then b.field("tool:", mcp_name(info), "CodexApprovalCommand") end
  b.field("server:", info.server)
  if info.connector then b.field("app:", info.connector) end
  b.field("about:", info.description)
  b.field("asks:", info.message)
  if #info.args == 0 then
    b.add("(no arguments)", "CodexApprovalHint", "  ")
  else
    b.add("arguments:", "CodexApprovalLabel", "  ")
    for _, a in ipairs(info.args) do
      local v = val(a.value)
      b.field("  " .. a.name .. ":", v == nil and "null" or text(v, ctx))
    end
  end
end

local function permissions_body(b, req, ctx)
  local p = req.params or {}
  b.field("cwd:", text(p.cwd, ctx), "CodexApprovalFile")
  b.field("reason:", text(p.reason, ctx))
  if not permission_fields(b, p.permissions, "", ctx) then
    b.add("(no permissions listed)", "CodexApprovalHint", "  ")
  end
end

---@class codex.ApprovalContent
---@field lines string[]
---@field hls {[1]: integer, [2]: string, [3]: integer, [4]: integer}[] row (0-based), group, start col, end col (-1: the end)
---@field choice_at table<integer, integer> line (1-based) → choice index
---@field files integer[] lines (1-based) of the file headers
---@field hunks integer[] per hunk (the selection's flat index), the line (1-based) of its ✓/✗ mark
---@field hunk_at table<integer, integer> line (1-based) → the hunk's flat index (its mark and its lines)
---@field hint_row integer the line (1-based) of the key hint
---@field hint_in string the hint while focus is in the float (<CR>, g1-gN, files, back)
---@field hint_away string the hint while it is elsewhere (how to get there: <C-a>)
---@field choices_end integer the line (1-based) of the last choice

--- The prompt of a request: header, key hint (hint_away: focus is not in the float yet), what
--- it asks, then the choices (g1…g9). With ctx.compact (the prompt does not fit its float)
--- the choices come right after a short summary (the command's first lines, the files) and
--- the details follow them, so the choices are never scrolled out of view.
---@param req table a codex.ServerRequest
---@param kind "command"|"patch"|"permissions"|"mcp"
---@param choices codex.ApprovalChoice[]
---@param ctx codex.ApprovalContext|nil
---@return codex.ApprovalContent
function M.render(req, kind, choices, ctx)
  ctx = ctx or {}
  local k = ctx.keymaps or {}
  local b = new_builder()
  local files = { hunks = {}, hunk_at = {}, compact_summary = ctx.compact }
  b.add(header_text(req, kind), "CodexApprovalTitle", " ")
  local hint_in, hint_away = " " .. key_hint(kind, #choices, k, ctx.hunks ~= nil), " " .. away_hint(k)
  local hint_row = b.add(hint_away, "CodexApprovalHint")
  local choice_at, choices_end = {}, 0
  local function add_choices()
    for i, c in ipairs(choices) do
      local key = i <= 9 and ("g" .. i) or "  "
      local lnum = b.add(("%s  %s"):format(key, c.label), nil, "  ")
      b.hls[#b.hls + 1] = { lnum - 1, "CodexApprovalChoiceKey", 2, 2 + #key }
      b.hls[#b.hls + 1] = { lnum - 1, c.group, 4 + #key, -1 }
      choice_at[lnum] = i
      choices_end = lnum
    end
  end
  if ctx.compact then
    local cut = false
    if kind == "command" then
      cut = command_summary(b, req)
    elseif kind == "patch" then
      unsaved_warnings(b, req, ctx)
      patch_summary(b, req, ctx)
    elseif kind == "mcp" then
      mcp_summary(b, req)
    end
    add_choices()
    b.blank()
    if kind == "command" then
      command_body(b, req, ctx, not cut)
    elseif kind == "patch" then
      patch_body(b, req, ctx, files, true)
    elseif kind == "mcp" then
      mcp_body(b, req, ctx, true)
    else
      permissions_body(b, req, ctx)
    end
  else
    b.blank()
    if kind == "command" then
      command_body(b, req, ctx)
    elseif kind == "patch" then
      patch_body(b, req, ctx, files)
    elseif kind == "mcp" then
      mcp_body(b, req, ctx)
    else
      permissions_body(b, req, ctx)
    end
    b.blank()
    add_choices()
  end
  local hunks, hunk_at = files.hunks, files.hunk_at
  files.hunks, files.hunk_at, files.compact_summary = nil, nil, nil
  return {
    lines = b.lines, hls = b.hls, choice_at = choice_at, files = files, hunks = hunks, hunk_at = hunk_at,
    hint_row = hint_row, hint_in = hint_in, hint_away = hint_away, choices_end = choices_end,
  }
end

return M
