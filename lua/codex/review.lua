---@mod codex.review  Code review targets and findings (review/start), for any host.
---
--- app-server 0.171.0 sends a review's outcome as text only: the `exitedReviewMode` item's
--- `review` (and an agentMessage with the same text) is the reviewer's overall explanation,
--- then, with findings, a block codex renders from the reviewer's JSON
--- (codex-rs review_format.rs):
---
---     Full review comments:            ("Review comment:" for one)
---
---     - [P1] Title — /abs/path/file.lua:12-14
---       body line
---       body line
---
--- The numeric priority and the confidence do not survive; the "[Pn]" tag the review rubric
--- asks for at the start of each title does. Other releases use " -- " for the dash, or a
--- "[x] " checkbox, or pass the reviewer's JSON through: all are read here, leniently.
local M = {}

local val = require("codex.util").val

---@alias codex.ReviewTarget
---| "uncommitted"                          # the working tree: staged, unstaged and untracked changes
---| {branch: string}                       # the current branch against this base branch
---| {commit: string, title: string|nil}    # the changes of one commit
---| {instructions: string}                 # free-form review instructions

---@class codex.ReviewFinding
---@field title string as the reviewer wrote it (with its "[Pn]" tag, if any)
---@field body string
---@field priority integer|nil 0 (drop everything) … 3 (nice to have)
---@field path string|nil the file (absolute in 0.171.0)
---@field lnum integer|nil first line (1-based)
---@field end_lnum integer|nil last line
---@field confidence number|nil 0.0-1.0 (only when the review came as JSON)

local function nonempty(s) return type(s) == "string" and s:match("%S") ~= nil end

--- The protocol's ReviewTarget for a codex.ReviewTarget (nil means "uncommitted"). A table
--- that already has a `type` is passed through as it is.
---@param target codex.ReviewTarget|table|nil
---@return table|nil target, string|nil why
function M.target(target)
  if target == nil or target == "uncommitted" or target == "uncommittedChanges" then
    return { type = "uncommittedChanges" }
  end
  if type(target) ~= "table" then
    return nil, 'review target must be "uncommitted", {branch=…}, {commit=…} or {instructions=…}'
  end
  if type(target.type) == "string" then return target end
  if nonempty(target.branch) then return { type = "baseBranch", branch = target.branch } end
  if nonempty(target.commit) then
    return { type = "commit", sha = target.commit, title = nonempty(target.title) and target.title or nil }
  end
  if nonempty(target.instructions) then return { type = "custom", instructions = target.instructions } end
  return nil, "review target needs a non-empty branch, commit or instructions"
end

--- A short description of a target, for the chat and notifications.
---@param target codex.ReviewTarget|table|nil
---@return string
function M.describe(target)
  local t = M.target(target) or {}
  if t.type == "baseBranch" then return "changes against " .. tostring(t.branch) end
  if t.type == "commit" then
    local sha = tostring(t.sha)
    return "commit " .. sha:sub(1, 12) .. (t.title and (": " .. t.title) or "")
  end
  if t.type == "custom" then return tostring(t.instructions) end
  return "uncommitted changes"
end

--- The priority of a title's "[Pn]" tag.
local function title_priority(title)
  local p = title:match("^%s*%[[Pp](%d)%]")
  return p and tonumber(p) or nil
end

local function int(v)
  v = val(v)
  if type(v) ~= "number" or v ~= v then return nil end
  return math.floor(v)
end

--- Findings from the reviewer's JSON output (review_prompt.md's schema), if text is one.
local function from_json(text)
  local first, last = text:find("{", 1, true), nil
  for i = #text, 1, -1 do
    if text:sub(i, i) == "}" then last = i break end
  end
  if not first or not last or last < first then return nil end
  local okc, core = pcall(require, "codex.core")
  if not okc or type(core.decode) ~= "function" then return nil end
  local ok, obj = pcall(core.decode, text:sub(first, last))
  if not ok or type(obj) ~= "table" or type(val(obj.findings)) ~= "table" then return nil end
  local out = {}
  for _, f in ipairs(obj.findings) do
    if type(f) == "table" then
      local loc = type(val(f.code_location)) == "table" and f.code_location or {}
      local range = type(val(loc.line_range)) == "table" and loc.line_range or {}
      local title = type(val(f.title)) == "string" and f.title or ""
      out[#out + 1] = {
        title = title,
        body = type(val(f.body)) == "string" and f.body or "",
        priority = int(f.priority) or title_priority(title),
        path = type(val(loc.absolute_file_path)) == "string" and loc.absolute_file_path or nil,
        lnum = int(range.start),
        end_lnum = int(range["end"]),
        confidence = type(val(f.confidence_score)) == "number" and f.confidence_score or nil,
      }
    end
  end
  return out
end

local DASHES = { " \226\128\148 ", " -- ", " \226\128\147 " } -- em dash, two hyphens, en dash

--- "- [x] Title — /path:12-14" → title, path, start, end (nil when the line is not one).
local function item_line(line)
  local rest = line:match("^%- (.*)$")
  if not rest then return nil end
  rest = rest:gsub("^%[[ xX]%] ", "")
  -- the last dash followed by a location: a title may contain dashes itself
  local best
  for _, d in ipairs(DASHES) do
    local from = 1
    while true do
      local s, e = rest:find(d, from, true)
      if not s then break end
      local loc = rest:sub(e + 1):gsub("%s+$", "")
      local path, a, b = loc:match("^(.+):(%d+)%-(%d+)$")
      if not path then path, a = loc:match("^(.+):(%d+)$") end
      if path and (not best or s > best.s) then
        best = { s = s, title = rest:sub(1, s - 1), path = path, a = tonumber(a), b = tonumber(b or a) }
      end
      from = s + 1
    end
  end
  if not best then return nil end
  return best.title, best.path, best.a, best.b
end

--- Findings from codex's text rendering of a review (see the module header).
local function from_text(text)
  local out, cur = {}, nil
  local function close()
    if not cur then return end
    while #cur.lines > 0 and not cur.lines[#cur.lines]:match("%S") do table.remove(cur.lines) end
    cur.finding.body = table.concat(cur.lines, "\n")
    out[#out + 1] = cur.finding
    cur = nil
  end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    local title, path, a, b = item_line(line)
    if title then
      close()
      cur = { lines = {}, finding = { title = title, body = "", priority = title_priority(title), path = path, lnum = a, end_lnum = b } }
    elseif cur and line:match("^  ") then
      cur.lines[#cur.lines + 1] = line:sub(3)
    elseif cur and line ~= "" then
      close() -- the block is over
    end
  end
  close()
  return out
end

--- The findings of a review's text: the reviewer's JSON if the text is one, else codex's text
--- rendering. A text without findings gives {}; nothing here raises.
---@param text string|nil
---@return codex.ReviewFinding[]
function M.parse(text)
  if type(text) ~= "string" or text == "" then return {} end
  local ok, found = pcall(from_json, text)
  if ok and found then return found end
  ok, found = pcall(from_text, text)
  return ok and found or {}
end

--- The text of a turn's review: the last exitedReviewMode item's `review`.
---@param items table[] completed items
---@return string|nil
function M.text_of(items)
  for i = #items, 1, -1 do
    local it = items[i]
    if type(it) == "table" and it.type == "exitedReviewMode" then
      local r = val(it.review)
      return type(r) == "string" and r or ""
    end
  end
  return nil
end

--- "[P1] Title: first line of the body" (the tag from the priority when the title has none).
---@param f codex.ReviewFinding
---@return string
function M.summary(f)
  local title = f.title ~= "" and f.title or "(untitled finding)"
  if f.priority and not title_priority(title) then title = ("[P%d] %s"):format(f.priority, title) end
  local first = (f.body or ""):match("^%s*([^\n]*)") or ""
  return first ~= "" and (title .. ": " .. first) or title
end

return M
