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
---@field fold_output_lines integer|nil close: commands (and tool results) fold from this many lines
---@field cwd string|nil the chat's directory: a command run elsewhere says where

---@class codex.ChatItemOpen
---@field lines string[] the block's header (or, with plain, the item's whole text)
---@field before string[]|nil lines written before the block: the "## Codex" header (ctx.first_in_turn)
---@field parts string[][]|nil the header split into blocks of their own (a patch: one per file), each with the status; lines is them joined
---@field plain boolean|nil the lines are all there is: no block, nothing streams into it
---@field virt codex.Chunks|nil the block's status
---@field text string|nil a user message's text (the chat drops an echo of what it sent)
---@field later boolean|nil the files of a file change come with item/completed
---@field body string|nil text written into the block's body at once (a tool's arguments)
---@field links string[]|nil threads the item is about (sub-agents): <CR> on the block opens them

---@class codex.ChatItemClose
---@field append string[]|nil texts appended to the block, in order
---@field status codex.Chunks|nil the block's new status
---@field fold integer|nil fold the body when it has this many lines or more
---@field flush boolean|nil write the appended text out before the block is finished
---@field later_done boolean|nil the late files came
---@field links string[]|nil as for open (the receivers of a collab call may come only now)

local util = require("codex.util")
local command_text = require("codex.ui.command_text")
local fields = require("codex.ui.chat_item_fields")
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
      local to = type(ch.kind) == "table" and str(ch.kind.move_path) -- an update that renames the file
      local what = path and one_line(shown(path)) or "?"
      if to then kind, what = "rename", what .. " → " .. one_line(shown(to)) end
      local lines = { ("**✎ %s %s**"):format(one_line(kind), what) }
      local diff = str(ch.diff) or ""
      if kind == "add" or kind == "delete" then
        -- For an added (deleted) file the server sends the content itself: show it as a diff.
        local sign = kind == "add" and "+" or "-"
        local out = {}
        for _, l in ipairs(split((diff:gsub("\n$", "")))) do out[#out + 1] = sign .. l end
        diff = table.concat(out, "\n")
      end
      -- (renamed with nothing else changed: no empty diff)
      files[#files + 1] = (to and diff == "") and lines or extend(lines, fenced(diff, "diff"))
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

--- A user message's inputs other than text, one line each ("- image: shot.png").
local function attachment_lines(content, ctx)
  local shown = ctx.display_path or function(p) return p end
  local out = {}
  for _, c in ipairs(list(content)) do
    local t = type(c) == "table" and str(c.type)
    if t and t ~= "text" then
      local path, name = str(c.path), str(c.name)
      local what = path and one_line(shown(path)) or str(c.url) or str(c.fileId)
      if t == "mention" or t == "skill" then
        what = (name and one_line(name) or "?") .. (path and (" (" .. one_line(shown(path)) .. ")") or "")
      end
      local label = t == "localImage" and "image" or t == "localAudio" and "audio" or one_line(t)
      out[#out + 1] = ("- %s: %s"):format(label, what and fields.cut(what) or "?")
    end
  end
  return out
end

M.ITEMS.userMessage = {
  open = function(item, ctx)
    local text = text_of(item.content)
    local lines = extend({ "", "## You", "" }, split(text))
    local more = attachment_lines(item.content, ctx)
    if #more > 0 and text == "" then lines[#lines] = nil end -- no empty text line above them
    return { lines = extend(lines, more), plain = true, text = text }
  end,
}

-- Commentary (progress narration between tool calls) carries a dim label on the blank line
-- above it; the final answer has none.
local COMMENTARY = { { "(commentary)", "Comment" } }

M.ITEMS.agentMessage = {
  open = function(item)
    return { lines = { "" }, virt = str(item.phase) == "commentary" and COMMENTARY or nil }
  end,
  close = function(item, ctx)
    return { append = ctx.empty and str(item.text) and { item.text } or nil, flush = true,
      status = str(item.phase) == "commentary" and COMMENTARY or nil }
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
--- A command's parsed actions ("read foo.lua", "search 'x' in src") and its directory when it
--- is not the chat's, as one "↳ …" line; nil when there is nothing to say.
local function command_about(item, ctx)
  local shown = ctx.display_path or function(p) return p end
  local parts = {}
  for _, a in ipairs(list(item.commandActions)) do
    local t = type(a) == "table" and str(a.type)
    local path = t and str(a.path) and one_line(shown(a.path))
    if t == "read" then
      parts[#parts + 1] = "read " .. (path or str(a.name) and one_line(a.name) or "a file")
    elseif t == "listFiles" then
      parts[#parts + 1] = "list " .. (path or "files")
    elseif t == "search" then
      local q = str(a.query)
      parts[#parts + 1] = "search" .. (q and (" '" .. one_line(q) .. "'") or "") .. (path and (" in " .. path) or "")
    end
  end
  local cwd, chat_cwd = str(item.cwd), ctx.cwd
  local function norm(p) return (p:gsub("/+$", "")) end
  if cwd and cwd ~= "" and chat_cwd and norm(cwd) ~= norm(chat_cwd) then
    local where = one_line(shown(cwd))
    parts[#parts + 1] = "in " .. ((where == "" or where == ".") and cwd or where)
  end
  if #parts == 0 then return nil end
  return "↳ " .. fields.cut(table.concat(parts, ", "), 200)
end

M.ITEMS.commandExecution = {
  stream_prefix = "```\n",
  open = function(item, ctx)
    local lines = { "", "**$ " .. command_line(val(item.command)) .. "**" }
    lines[3] = command_about(item, ctx)
    return { lines = lines, virt = command_status(item) }
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

-- Tools, agents, images, hooks, reviews ------------------------------------------------------
-- A tool's block: its name in the header with a status; its arguments in the body at once
-- (open.body), its result appended when it completes; the body folds when long.

--- "120 ms", "3.4 s"; nil without a number.
local function duration(ms)
  if type(ms) ~= "number" then return nil end
  if ms < 1000 then return ("%d ms"):format(ms) end
  return ("%.1f s"):format(ms / 1000)
end

local RUNNING = "… running"

--- A tool's status chunks: "… running", "✓ done · 12 ms", "✗ failed", "✗ interrupted", …
---@param st any the item's status
---@param ms any its durationMs
---@param ok any false: completed, but the tool said it failed
---@param pending string|nil the running text
local function tool_status(st, ms, ok, pending)
  st = str(st)
  local d = duration(ms)
  local dur = d and (" · " .. d) or ""
  if st == "completed" then
    if ok == false then return { { "✗ failed" .. dur, "DiagnosticError" } } end
    return { { "✓ done" .. dur, "DiagnosticOk" } }
  elseif st == "failed" then
    return { { "✗ failed" .. dur, "DiagnosticError" } }
  elseif st == "declined" then
    return { { "✗ declined", "DiagnosticWarn" } }
  elseif st == "interrupted" then
    return { { "✗ interrupted", "DiagnosticWarn" } }
  elseif st == nil or st == "inProgress" or st == "pending" or st == "running" then
    return { { pending or RUNNING, "Comment" } }
  end
  return { { one_line(st), "Comment" } }
end

--- Lines appended to a body: after a line break unless the body is still empty.
local function body_text(ctx, lines)
  if #lines == 0 then return nil end
  return (ctx.empty and "" or "\n") .. table.concat(lines, "\n")
end

--- "a.b" from a namespace (or server) and a tool name.
local function qualified(ns, name)
  name = str(name) and one_line(name) or "?"
  ns = str(ns)
  return ns and ns ~= "" and (one_line(ns) .. "." .. name) or name
end

--- A tool's arguments as "key: value" lines (none for an empty or missing value).
local function argument_lines(args)
  args = val(args)
  if args == nil or (type(args) == "table" and next(args) == nil) or args == "" then return {} end
  if type(args) == "string" then return split(args) end -- a freeform tool's input
  return fields.fields(args)
end

--- A result's texts in a fence (the text of a tool is not markdown of ours).
local function result_lines(texts)
  if #texts == 0 then return {} end
  return fenced(table.concat(texts, "\n"))
end

--- A tool entry: header from head(item, ctx); arguments at open; result lines at close.
local function tool(head, result, opts)
  opts = opts or {}
  return {
    open = function(item, ctx)
      local body = opts.no_args and {} or argument_lines(item.arguments)
      return { lines = { "", "**⚙ " .. head(item, ctx) .. "**" }, virt = tool_status(item.status, nil, nil, opts.pending),
        body = #body > 0 and table.concat(body, "\n") or nil }
    end,
    close = function(item, ctx)
      local lines = {}
      if ctx.empty and not opts.no_args then lines = argument_lines(item.arguments) end
      extend(lines, result(item, ctx))
      local text = body_text(ctx, lines)
      local ok = opts.ok and opts.ok(item)
      local st = opts.status and opts.status(item) or item.status
      return { append = text and { text } or nil, status = tool_status(st, item.durationMs, ok, opts.pending),
        fold = ctx.fold_output_lines }
    end,
    pending = opts.pending or RUNNING,
  }
end

M.ITEMS.mcpToolCall = tool(function(item) return qualified(item.server, item.tool) end, function(item)
  local lines = {}
  local res = val(item.result)
  if type(res) == "table" then
    local texts = fields.content_texts(res.content)
    if #texts == 0 and val(res.structuredContent) ~= nil then
      texts = fields.fields(res.structuredContent)
    end
    extend(lines, result_lines(texts))
  end
  local e = val(item.error)
  local msg = type(e) == "table" and str(e.message) or str(e)
  if msg then lines[#lines + 1] = M.error_line(msg) end
  return lines
end)

M.ITEMS.dynamicToolCall = tool(function(item) return qualified(item.namespace, item.tool) end, function(item)
  return result_lines(fields.content_texts(item.contentItems))
end, { ok = function(item) return val(item.success) end })

M.ITEMS.functionCallOutput = tool(function(item) return "output of " .. qualified(item.namespace, item.name) end,
  function(item) return result_lines(fields.content_texts(val(item.output))) end,
  { no_args = true, status = function() return "completed" end })

-- What a web search did: its query, the page it opened or searched in, its results.
local function search_lines(item)
  local lines = {}
  local a = type(item.action) == "table" and item.action or {}
  local t = str(a.type)
  if t == "openPage" then
    lines[#lines + 1] = "opened " .. (str(a.url) and fields.cut(a.url) or "a page")
  elseif t == "findInPage" then
    lines[#lines + 1] = ("searched %sin %s"):format(str(a.pattern) and ("'" .. fields.cut(a.pattern, 80) .. "' ") or "",
      str(a.url) and fields.cut(a.url) or "the page")
  elseif t == "search" then
    local qs = {}
    for _, q in ipairs(list(a.queries)) do
      if str(q) and q ~= item.query then qs[#qs + 1] = "'" .. fields.cut(q, 80) .. "'" end
    end
    if #qs > 0 then lines[#lines + 1] = "also searched " .. table.concat(qs, ", ") end
  end
  local results = list(val(item.results))
  for i, r in ipairs(results) do
    if i > 5 then
      lines[#lines + 1] = ("- … %d more"):format(#results - 5)
      break
    end
    local title = type(r) == "table" and (str(r.title) or str(r.url)) or str(r)
    local url = type(r) == "table" and str(r.title) and str(r.url)
    lines[#lines + 1] = "- " .. (title and fields.cut(title, 100) or "result") .. (url and (" (" .. fields.cut(url, 100) .. ")") or "")
  end
  return lines
end

local function query_lines(item)
  local q = str(item.query)
  return q and q ~= "" and { "query: " .. fields.cut(q) } or {}
end

M.ITEMS.webSearch = {
  open = function(item)
    local q = query_lines(item)
    return { lines = { "", "**⚙ web search**" }, virt = { { "… searching", "Comment" } }, body = q[1] }
  end,
  close = function(item, ctx)
    local lines = ctx.empty and query_lines(item) or {}
    local text = body_text(ctx, extend(lines, search_lines(item)))
    return { append = text and { text } or nil, status = { { "✓ done", "DiagnosticOk" } } }
  end,
  pending = "… searching",
}

M.ITEMS.imageView = {
  open = function(item, ctx)
    local shown = ctx.display_path or function(p) return p end
    local path = str(item.path)
    return { lines = { "", "**⚙ view image** " .. (path and one_line(shown(path)) or "?") }, plain = true }
  end,
}

-- The image itself (result: its bytes) is never written; where it was saved is.
M.ITEMS.imageGeneration = {
  open = function(item)
    return { lines = { "", "**⚙ generate image**" }, virt = tool_status(item.status, nil, nil, "… generating") }
  end,
  close = function(item, ctx)
    local shown = ctx.display_path or function(p) return p end
    local lines = {}
    local prompt = str(item.revisedPrompt)
    if prompt and prompt ~= "" then extend(lines, split("prompt: " .. prompt)) end
    local saved = str(item.savedPath)
    if saved then lines[#lines + 1] = "saved: " .. one_line(shown(saved)) end
    local f = val(item.failure)
    local st = item.status
    if type(f) == "table" then
      st = "failed"
      local why = str(f.type) == "usageLimitExceeded" and "usage limit reached" or (str(f.type) or "failed")
      lines[#lines + 1] = M.error_line(why .. (str(f.limitId) and (" (" .. f.limitId .. ")") or ""))
    end
    local text = body_text(ctx, lines)
    return { append = text and { text } or nil, status = tool_status(st, nil, nil, "… generating"), fold = ctx.fold_output_lines }
  end,
  pending = "… generating",
}

M.ITEMS.sleep = {
  open = function(item)
    local d = duration(val(item.durationMs))
    return { lines = { "", "**⚙ sleep" .. (d and (" " .. d) or "") .. "**" }, virt = { { "… sleeping", "Comment" } } }
  end,
  close = function() return { status = { { "✓ done", "DiagnosticOk" } } } end,
  pending = "… sleeping",
}

--- A block whose body is one text (markdown), written at open when known, else at close.
local function text_block(header, text_of_item, fold)
  return {
    open = function(item)
      local t = text_of_item(item)
      return { lines = { "", header }, body = t ~= "" and t or nil }
    end,
    close = function(item, ctx)
      local t = ctx.empty and text_of_item(item) or ""
      return { append = t ~= "" and { t } or nil, fold = fold and ctx.fold_output_lines or nil }
    end,
  }
end

M.ITEMS.hookPrompt = text_block("**⚙ hook prompt**", function(item)
  local parts = {}
  for _, f in ipairs(list(item.fragments)) do
    local t = type(f) == "table" and str(f.text) or str(f)
    if t then parts[#parts + 1] = t end
  end
  return table.concat(parts, "\n\n")
end, true)

M.ITEMS.enteredReviewMode = {
  open = function(item)
    local what = str(item.review)
    return { lines = { "", "**⚙ review" .. (what and what ~= "" and (": " .. one_line(what)) or "") .. "**" }, plain = true }
  end,
}

-- The review itself: markdown, not folded (it is what the user asked for).
M.ITEMS.exitedReviewMode = text_block("**⚙ review done**", function(item) return str(item.review) or "" end)

-- Sub-agents ---------------------------------------------------------------------------------

local COLLAB_LABEL = {
  spawnAgent = "spawn agent", sendInput = "send input to agent", resumeAgent = "resume agent",
  wait = "wait for agents", closeAgent = "close agent", sendMessage = "message agent",
  followupTask = "follow-up task for agent", interruptAgent = "interrupt agent", listAgents = "list agents",
}

--- The thread ids of a collab call's receivers, then of any agent it has a state for.
local function receivers(item)
  local ids, seen = {}, {}
  local function add(id)
    if str(id) and id ~= "" and not seen[id] then ids[#ids + 1], seen[id] = id, true end
  end
  for _, id in ipairs(list(item.receiverThreadIds)) do add(id) end
  local states = type(item.agentsStates) == "table" and item.agentsStates or {}
  local keys = {}
  for k in pairs(states) do if str(k) and not seen[k] then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do add(k) end
  return ids
end

local function prompt_lines(item)
  local p = str(item.prompt)
  if not p or p == "" then return {} end
  local out = {}
  for _, l in ipairs(split(p)) do out[#out + 1] = "> " .. l end
  return out
end

--- "- agent <id>: running — message" per receiver.
local function agent_lines(item)
  local states = type(item.agentsStates) == "table" and item.agentsStates or {}
  local out = {}
  for _, id in ipairs(receivers(item)) do
    local s = type(states[id]) == "table" and states[id] or {}
    local msg = str(s.message)
    out[#out + 1] = ("- agent %s%s%s"):format(one_line(id), str(s.status) and (": " .. one_line(s.status)) or "",
      msg and msg ~= "" and (" — " .. fields.cut(msg)) or "")
  end
  return out
end

local function model_suffix(item)
  local m, e = str(item.model), str(item.reasoningEffort)
  if not m and not e then return "" end
  return " (" .. one_line(table.concat({ m, e }, " ")) .. ")"
end

M.ITEMS.collabAgentToolCall = {
  open = function(item)
    local tool_name = str(item.tool)
    local label = COLLAB_LABEL[tool_name or ""] or (tool_name and one_line(tool_name)) or "agent call"
    local body = prompt_lines(item)
    local ids = receivers(item)
    return { lines = { "", "**⤷ " .. label .. model_suffix(item) .. "**" }, virt = tool_status(item.status),
      body = #body > 0 and table.concat(body, "\n") or nil, links = #ids > 0 and ids or nil }
  end,
  close = function(item, ctx)
    local lines = ctx.empty and prompt_lines(item) or {}
    extend(lines, agent_lines(item))
    local text = body_text(ctx, lines)
    local ids = receivers(item)
    return { append = text and { text } or nil, status = tool_status(item.status), links = #ids > 0 and ids or nil,
      fold = ctx.fold_output_lines }
  end,
  pending = RUNNING,
}

M.ITEMS.subAgentActivity = {
  open = function(item)
    local who = str(item.agentPath) or str(item.agentThreadId) or "?"
    local kind = str(item.kind)
    local id = str(item.agentThreadId)
    return { lines = { "", ("**⤷ agent %s%s%s**"):format(one_line(who), kind and (" " .. one_line(kind)) or "", model_suffix(item)) },
      links = id and { id } or nil }
  end,
}

-- Any other type (a newer server's): its name as the header, its status when it completes,
-- and its fields as "key: value" lines (long values cut), folded.
local OTHER_SKIP = { id = true, type = true, status = true, startedAtMs = true, completedAtMs = true }
local OTHER = {
  open = function(item) return { lines = { "", ("**⚙ %s**"):format(one_line(str(item.type) or "item")) } } end,
  close = function(item, ctx)
    local status = scalar(item.status)
    local text = body_text(ctx, fields.fields(item, { skip = OTHER_SKIP }))
    return { status = status and { { one_line(status), "Comment" } } or nil, append = text and { text } or nil,
      fold = text and 0 or nil }
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

--- What a progress notification of a running item changes: its status (an MCP tool's
--- progress message, the input a command's terminal was sent) or, for a revised patch, its
--- files (changes: the item is drawn again with them). Nil when there is nothing to show.
---@param method string
---@param params table
---@return {status: codex.Chunks|nil, changes: table[]|nil}|nil
function M.progress(method, params)
  if method == "item/mcpToolCall/progress" then
    local msg = str(params.message)
    if msg and msg ~= "" then return { status = { { "… " .. fields.cut(msg, 80), "Comment" } } } end
  elseif method == "item/commandExecution/terminalInteraction" then
    -- (empty input is the agent polling the terminal's output: nothing was typed)
    local stdin = str(params.stdin)
    if stdin and stdin ~= "" then
      return { status = { { "… running · sent " .. fields.cut((stdin:gsub("\r?\n$", "")), 40), "Comment" } } }
    end
  elseif method == "item/fileChange/patchUpdated" then
    if type(params.changes) == "table" then return { changes = params.changes } end
  end
  return nil
end

-- Turns and events --------------------------------------------------------------------------

--- The line of an error: "> **Error:** message" on one line.
---@param message string
---@return string
function M.error_line(message) return "> **Error:** " .. one_line(message) end

--- A warning from the server about this thread (or the whole session), as one quoted line:
--- "> **⚠ Config warning:** summary". label defaults to "Warning".
---@param message string
---@param label string|nil
---@return string
function M.warning_line(message, label)
  return "> **⚠ " .. (label or "Warning") .. ":** " .. one_line(tostring(message))
end

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
--- tokens it took; "interrupted". With the turn's changes (summary: "3 files changed, +40 −12",
--- codex.patch.summary_text) at its end.
---@param turn table
---@param tokens number|nil the turn's tokens (the last token usage), if known
---@param summary string|nil what the turn changed in files, if it did
---@return string
function M.footer(turn, tokens, summary)
  local changed = summary and (" · " .. one_line(summary)) or ""
  local status = str(turn.status)
  if status == "interrupted" then return "_— interrupted" .. changed .. "_" end
  local secs = type(turn.durationMs) == "number" and (" · %.1f s"):format(turn.durationMs / 1000) or ""
  return ("_— %s%s%s%s_"):format(status == "failed" and "failed" or "done", secs,
    tokens and (" · " .. tokens .. " tokens") or "", changed)
end

--- The lines that end a turn as it completes live (each after a blank line): a failed
--- turn's error, then the footer.
---@param turn table
---@param tokens number|nil
---@param summary string|nil what the turn changed in files (see M.footer)
---@return string[]
function M.end_lines(turn, tokens, summary)
  if str(turn.status) == "failed" then return { "", M.outcome_line(turn), "", M.footer(turn, tokens, summary) } end
  return { "", M.footer(turn, tokens, summary) }
end

--- The lines that end a stored turn (resumed, loaded earlier): a failed one's error, an
--- interrupted one's "interrupted", and what it changed in files; {} for a completed turn that
--- changed none (a stored turn has no time or tokens to show).
---@param turn table
---@param summary string|nil what the turn changed in files (see M.footer)
---@return string[]
function M.stored_end_lines(turn, summary)
  local status, out = str(turn.status), {}
  if status == "failed" then
    out = { "", M.outcome_line(turn) }
  elseif status == "interrupted" then
    return { "", M.footer(turn, nil, summary) }
  end
  if summary then
    out[#out + 1] = ""
    out[#out + 1] = "_— " .. one_line(summary) .. "_"
  end
  return out
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
