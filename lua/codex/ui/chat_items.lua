---@mod codex.ui.chat_items  Protocol items and turns → the chat's markdown lines (pure).
---
--- What the chat writes for each thread item, turn end and event: lines, and status chunks
--- ({text, highlight group} lists shown after a block's header). No vim.*: it runs under
--- plain Lua too. The chat (codex.ui.chat) decides where it goes, and when.
---
--- Each item type is one entry of M.ITEMS, {open = fn, close = fn}; a new item type is one
--- more entry. open(item, ctx) returns what starts the item's block, close(item, ctx) what
--- completes it (see codex.ChatItemOpen / codex.ChatItemClose).
---
--- Payloads are read defensively: a field the schema calls required may be missing, JSON
--- null or of another type when the server drifted. What can be shown is shown; nothing
--- here raises on a payload's shape.
local M = {}

---@alias codex.Chunks {[1]: string, [2]: string}[] virtual text: {text, highlight group}

---@class codex.ChatItemContext
---@field first_in_turn boolean|nil open: the turn's first item that is not the user's (the "## Codex" header goes before it)
---@field empty boolean|nil close: no text streamed into the block (deltas)
---@field later boolean|nil close: the file change's files were not known when it opened
---@field display_path (fun(path: string): string)|nil how a path is shown (default: as it is)
---@field fold_output_lines integer|nil close: commands fold from this many output lines

---@class codex.ChatItemOpen
---@field lines string[] the block's header (or, with plain, the item's whole text)
---@field before string[]|nil lines written before the block: the "## Codex" header (ctx.first_in_turn)
---@field parts string[][]|nil the header split into blocks of their own (a patch: one per file), each with the status; lines is them joined
---@field plain boolean|nil the lines are all there is: no block, nothing streams into it
---@field virt codex.Chunks|nil the block's status
---@field text string|nil a user message's text (the chat drops an echo of what it sent)
---@field later boolean|nil the files of a file change come with item/completed

---@class codex.ChatItemClose
---@field append string[]|nil texts appended to the block, in order
---@field status codex.Chunks|nil the block's new status
---@field fold integer|nil fold the body when it has this many lines or more
---@field flush boolean|nil write the appended text out before the block is finished
---@field later_done boolean|nil the late files came

local util = require("codex.util")
local command_text = require("codex.ui.command_text")
local val, str, list = util.val, util.str, util.list
--- A string or a number as text, else nil.
local function scalar(v)
  if type(v) == "string" then return v end
  if type(v) == "number" then return tostring(v) end
  return nil
end

--- For a single buffer line (a header): newlines become spaces.
---@param s string
---@return string
function M.one_line(s) return (s:gsub("\r?\n", " ")) end
local one_line = M.one_line

--- The lines of a text ("" gives one empty line).
---@param s string
---@return string[]
function M.split(s)
  local out = {}
  for line in (s .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line end
  return out
end
local split = M.split

local function extend(dst, src)
  for _, x in ipairs(src) do dst[#dst + 1] = x end
  return dst
end

local function text_of(content)
  local out = {}
  for _, c in ipairs(list(content)) do
    if type(c) == "table" and c.type == "text" and type(c.text) == "string" then out[#out + 1] = c.text end
  end
  return table.concat(out, "\n")
end

--- The command line as the user reads it: the script inside a shell wrapper (as the
--- approval shows it), on one line.
local function command_line(cmd) return one_line(command_text.unwrap(cmd) or "") end

local function fenced(text, lang)
  local lines = { "```" .. (lang or "") }
  extend(lines, split(text or ""))
  if lines[#lines] == "" and #lines > 1 then table.remove(lines) end
  lines[#lines + 1] = "```"
  return lines
end

local function command_status(item)
  local st = item.status
  local code = scalar(item.exitCode)
  if st == "completed" then
    local ms = scalar(item.durationMs)
    return { { ("✓ exit %s%s"):format(code or "0", ms and (" · " .. ms .. " ms") or ""), "DiagnosticOk" } }
  elseif st == "declined" then
    return { { "✗ declined", "DiagnosticWarn" } }
  elseif st == "failed" then
    return { { "✗ failed" .. (code and (" exit " .. code) or ""), "DiagnosticError" } }
  end
  return { { "… running", "Comment" } }
end

--- A file change's files: per file its header and its diff in a fence (none without changes).
---@return string[][]
local function change_files(changes, ctx)
  local files = {}
  local shown = ctx.display_path or function(p) return p end
  for _, ch in ipairs(list(changes)) do
    if type(ch) == "table" then
      local kind = type(ch.kind) == "table" and str(ch.kind.type) or str(ch.kind) or "change"
      local path = str(ch.path)
      local lines = { ("**✎ %s %s**"):format(one_line(kind), path and one_line(shown(path)) or "?") }
      local diff = str(ch.diff) or ""
      if kind == "add" or kind == "delete" then
        -- For an added (deleted) file the server sends the content itself: show it as a diff.
        local sign = kind == "add" and "+" or "-"
        local out = {}
        for _, l in ipairs(split((diff:gsub("\n$", "")))) do out[#out + 1] = sign .. l end
        diff = table.concat(out, "\n")
      end
      files[#files + 1] = extend(lines, fenced(diff, "diff"))
    end
  end
  return files
end

--- A file change's lines: the files one after the other.
local function change_lines(changes, ctx)
  local lines = {}
  for _, f in ipairs(change_files(changes, ctx)) do extend(lines, f) end
  return lines
end

-- Items -------------------------------------------------------------------------------------

---@type table<string, {open: fun(item: table, ctx: codex.ChatItemContext): codex.ChatItemOpen, close: (fun(item: table, ctx: codex.ChatItemContext): codex.ChatItemClose)|nil}>
M.ITEMS = {}

M.ITEMS.userMessage = {
  open = function(item)
    local text = text_of(item.content)
    return { lines = extend({ "", "## You", "" }, split(text)), plain = true, text = text }
  end,
}

M.ITEMS.agentMessage = {
  open = function() return { lines = { "" } } end,
  close = function(item, ctx)
    return { append = ctx.empty and str(item.text) and { item.text } or nil, flush = true }
  end,
}

M.ITEMS.reasoning = {
  open = function() return { lines = { "", "> _Reasoning_" } } end,
  close = function(item, ctx)
    local out = { fold = 0 }
    if ctx.empty then
      local parts = {}
      for _, s in ipairs(list(item.summary)) do
        parts[#parts + 1] = str(s) or type(s) == "table" and str(s.text) or nil
      end
      out.append = { table.concat(parts, "\n\n") }
    end
    return out
  end,
}

-- The output's fence opens with the first output (stream_prefix: the chat writes it before
-- the first delta), so a command that printed nothing (declined, cancelled) has no empty
-- code block.
M.ITEMS.commandExecution = {
  stream_prefix = "```\n",
  open = function(item)
    return { lines = { "", "**$ " .. command_line(val(item.command)) .. "**" }, virt = command_status(item) }
  end,
  close = function(item, ctx)
    local append, out = {}, str(item.aggregatedOutput)
    if ctx.empty and out and out ~= "" then append[1] = "```\n" .. out end
    if not ctx.empty or append[1] then append[#append + 1] = "\n```" end
    return { append = append, status = command_status(item), fold = ctx.fold_output_lines }
  end,
  -- the turn ended first: close the output's fence if it opened
  abandon = function(ctx) return { append = not ctx.empty and { "\n```" } or nil } end,
  pending = "… running",
}

-- Each file is a block of its own (parts), so each file's header shows the status.
M.ITEMS.fileChange = {
  open = function(item, ctx)
    local parts = change_files(item.changes, ctx)
    local later = #parts == 0 -- the files may come with item/completed only
    if later then parts = { { "**✎ file change**" } } end
    table.insert(parts[1], 1, "")
    local lines = {}
    for i, part in ipairs(parts) do
      if i > 1 then lines[#lines + 1] = "" end -- the body line of the block before
      extend(lines, part)
    end
    return { lines = lines, parts = #parts > 1 and parts or nil, virt = { { "… waiting", "Comment" } }, later = later }
  end,
  close = function(item, ctx)
    local out = {}
    if ctx.later then
      local lines = change_lines(item.changes, ctx)
      if #lines > 0 then out.append, out.later_done = { table.concat(lines, "\n") }, true end
    end
    local st = str(item.status)
    out.status = st == "completed" and { { "✓ applied", "DiagnosticOk" } }
      or st == "declined" and { { "✗ declined", "DiagnosticWarn" } }
      or st and { { "✗ " .. one_line(st), "DiagnosticError" } } or {}
    return out
  end,
}

M.ITEMS.fileChange.pending = "… applying"

M.ITEMS.plan = {
  open = function() return { lines = { "", "**Plan**" } } end,
  close = function(item, ctx) return { append = ctx.empty and { scalar(item.text) or "" } or nil } end,
}

M.ITEMS.contextCompaction = {
  open = function() return { lines = { "", "_(context compacted)_" }, plain = true } end,
}

-- Any other type: its name as the header, its status when it completes.
local OTHER = {
  open = function(item) return { lines = { "", ("**⚙ %s**"):format(one_line(str(item.type) or "item")) } } end,
  close = function(item)
    local status = scalar(item.status)
    return { status = status and { { one_line(status), "Comment" } } or nil }
  end,
}

local function handler(item) return M.ITEMS[str(item.type) or ""] or OTHER end

--- The header of the agent's part of a turn.
M.CODEX_HEADER = { "", "## Codex" }

--- Is the item the agent's (everything but the user's own message)? The "## Codex" header
--- goes before a turn's first such item.
---@param item table
---@return boolean
function M.is_agent(item) return str(item.type) ~= "userMessage" end

--- What starts an item's block (item/started, or a stored item).
---@param item table
---@param ctx codex.ChatItemContext|nil
---@return codex.ChatItemOpen
function M.open(item, ctx)
  ctx = ctx or {}
  local o = handler(item).open(item, ctx)
  if ctx.first_in_turn and M.is_agent(item) then o.before = M.CODEX_HEADER end
  return o
end

--- The text written into an item's block before its first streamed delta ("" for none).
---@param item_type string|nil
---@return string
function M.stream_prefix(item_type)
  local h = M.ITEMS[item_type or ""]
  return h and h.stream_prefix or ""
end

local PENDING_HL = "Comment"

--- The status of an item that is not complete yet, in a state the chat learnt of: "approval"
--- (a prompt for it waits), nil (back to running). Nil for types without such a status.
---@param item_type string|nil
---@param state "approval"|nil
---@return codex.Chunks|nil
function M.pending_status(item_type, state)
  local h = M.ITEMS[item_type or ""]
  if not h or not h.pending then return nil end
  if state == "approval" then return { { "… waiting for approval", "DiagnosticWarn" } } end
  return { { h.pending, PENDING_HL } }
end

--- What ends the block of an item the turn ended without completing (interrupted or
--- failed): its fence closed, and "✗ cancelled" / "✗ failed" for types with a status.
---@param item_type string|nil
---@param turn_status string|nil "interrupted" | "failed"
---@param ctx codex.ChatItemContext|nil (empty: nothing streamed into the block)
---@return codex.ChatItemClose
function M.abandon(item_type, turn_status, ctx)
  local h = M.ITEMS[item_type or ""]
  local out = h and h.abandon and h.abandon(ctx or {}) or {}
  out.status = M.abandoned_status(item_type, turn_status)
  return out
end

--- The status of an item whose turn ended (interrupted or failed) before it completed; nil
--- for types without a status, or for a turn that did not end so.
---@param item_type string|nil
---@param turn_status string|nil
---@return codex.Chunks|nil
function M.abandoned_status(item_type, turn_status)
  local h = M.ITEMS[item_type or ""]
  if not h or not h.pending then return nil end
  if turn_status == "failed" then return { { "✗ failed", "DiagnosticError" } } end
  if turn_status == "interrupted" then return { { "✗ cancelled", "DiagnosticWarn" } } end
  return nil
end

--- Is a stored item still under way (its turn ended before it completed)?
---@param item table
---@return boolean
function M.unfinished(item)
  local st = str(item.status)
  return st == "inProgress" or st == "pending"
end

--- What completes an item's block (item/completed, or a stored item).
---@param item table
---@param ctx codex.ChatItemContext|nil
---@return codex.ChatItemClose
function M.close(item, ctx)
  local h = handler(item)
  return h.close and h.close(item, ctx or {}) or {}
end

-- Turns and events --------------------------------------------------------------------------

--- The line of an error: "> **Error:** message" on one line.
---@param message string
---@return string
function M.error_line(message) return "> **Error:** " .. one_line(message) end

--- The line that ends a failed or interrupted turn; nil for any other status.
---@param turn table
---@return string|nil
function M.outcome_line(turn)
  local status = str(turn.status)
  if status == "failed" then
    local e = type(turn.error) == "table" and turn.error or {}
    return M.error_line(str(e.message) or "the turn failed")
  elseif status == "interrupted" then
    return "_— interrupted_"
  end
  return nil
end

--- The footer of a turn that completed live: "done" or "failed" with the time and the
--- tokens it took; "interrupted".
---@param turn table
---@param tokens number|nil the turn's tokens (the last token usage), if known
---@return string
function M.footer(turn, tokens)
  local status = str(turn.status)
  if status == "interrupted" then return "_— interrupted_" end
  local secs = type(turn.durationMs) == "number" and (" · %.1f s"):format(turn.durationMs / 1000) or ""
  return ("_— %s%s%s_"):format(status == "failed" and "failed" or "done", secs, tokens and (" · " .. tokens .. " tokens") or "")
end

--- The lines that end a turn as it completes live (each after a blank line): a failed
--- turn's error, then the footer.
---@param turn table
---@param tokens number|nil
---@return string[]
function M.end_lines(turn, tokens)
  if str(turn.status) == "failed" then return { "", M.outcome_line(turn), "", M.footer(turn, tokens) } end
  return { "", M.footer(turn, tokens) }
end

--- The user's message as the chat writes it (kind "steer"/"queued" say how it went).
---@param text string
---@param kind "steer"|"queued"|nil
---@return string[]
function M.user_lines(text, kind)
  local header = kind == "steer" and "## You (steering)" or kind == "queued" and "## You (queued)" or "## You"
  return extend({ "", header, "" }, split(text))
end

--- A turn/plan/updated's body: the explanation, then the steps as a checklist.
---@param params table
---@return string[]
function M.plan_lines(params)
  local lines = {}
  if str(params.explanation) then extend(lines, split(params.explanation)) end
  for _, step in ipairs(list(params.plan)) do
    local text = type(step) == "table" and scalar(step.step) or nil
    if text then
      local mark = step.status == "completed" and "[x]" or step.status == "inProgress" and "[~]" or "[ ]"
      lines[#lines + 1] = ("- %s %s"):format(mark, one_line(text))
    end
  end
  if #lines == 0 then lines = { "" } end
  return lines
end

--- The line of an error event the server retries after.
---@param err table|nil the event's error ({message})
---@return string
function M.retry_line(err)
  local e = type(err) == "table" and err or {}
  return "> _" .. one_line(str(e.message) or "retrying") .. " (transient, retrying)_"
end

return M
