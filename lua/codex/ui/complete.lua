---@mod codex.ui.complete  What the composer completes: `@` files, `#` context, `$` skills, `/` commands.
---
--- One set of sources for every completion engine: the built-in one (completefunc,
--- <C-x><C-u>, and as you type: codex.ui.composer), nvim-cmp (codex.ui.cmp) and blink.cmp
--- (blink.codex). Items are Vim complete-items ({word, abbr, menu, info, kind}) with
--- `equal = 1`: the server ranks files by its fuzzy match, which Vim must not filter again.
---   `@` the server's fuzzy file search over the chat's cwd (codex.ui.file_search): the TUI's
---       own ranking, in its order
---   `#` codex.ui.context_vars
---   `$` skills/list for the chat's cwd (cached per cwd)
---   `/` the `:Codex` subcommands of M.SLASH that exist (codex.commands.sub), first line only
local api = vim.api

local M = {}

--- The slash commands and what they do (listed only when codex.commands.sub has them).
M.SLASH = {
  { "new", "a new chat (the words after it are its first message)" },
  { "fork", "fork this thread into a new chat" },
  { "resume", "pick a stored thread to open" },
  { "rename", "rename this thread" },
  { "model", "pick the model and reasoning effort" },
  { "review", "review uncommitted changes (or: branch NAME, commit SHA, instructions)" },
  { "diff", "the turn's changes" },
  { "undo", "undo the last turn's file changes" },
  { "compact", "compact the thread's history" },
  { "status", "account, chat and rate limits" },
  { "mode", "pick the collaboration mode" },
  { "plan", "plan mode" },
  { "mcp", "MCP servers and their tools" },
  { "stop", "interrupt the turn" },
}

--- The slash commands that exist now: {name, description}[].
function M.slash_commands()
  local sub = require("codex.commands").sub
  local out = {}
  for _, s in ipairs(M.SLASH) do
    if sub[s[1]] then out[#out + 1] = s end
  end
  return out
end

--- The trigger before the cursor: {char, query, start} (start: the 0-based byte column of the
--- trigger character), or nil. `@`, `#` and `$` start a word (at the line's start or after
--- white space); `/` only at the very start of the input.
---@param line string the cursor line
---@param col integer 0-based byte column of the cursor
---@param lnum integer 1-based line number
---@return {char: string, query: string, start: integer}|nil
function M.context(line, col, lnum)
  local before = line:sub(1, col)
  if lnum == 1 then
    local q = before:match("^/(%S*)$")
    if q then return { char = "/", query = q, start = 0 } end
  end
  local pos, char, q = before:match("()([@#%$])([^%s@#%$]*)$")
  if not pos then return nil end
  if pos > 1 and not before:sub(pos - 1, pos - 1):match("%s") then return nil end
  return { char = char, query = q, start = pos - 1 }
end

local function client()
  local ok, c = pcall(require("codex.session").client)
  return ok and c or nil
end

--- Files: the server's matches for the query, in its order (codex.ui.file_search: a search
--- session per cwd). cb(items) (maybe later); a query a newer one replaced gets nothing.
local function files(chat, query, cb)
  local c = client()
  if not c or query == "" then return cb({}) end
  require("codex.ui.file_search").search(c, chat.cwd, query, function(found)
    if not found then return end
    local out = {}
    for _, f in ipairs(found) do
      if type(f) == "table" and type(f.path) == "string" then
        local root = type(f.root) == "string" and f.root or chat.cwd
        local dir = f.match_type == "directory"
        out[#out + 1] = {
          word = "@" .. f.path, abbr = f.path .. (dir and "/" or ""), kind = dir and "dir" or "file", equal = 1,
          menu = "[codex]", user_data = { codex = { type = "mention", name = type(f.file_name) == "string" and f.file_name or f.path,
            path = root .. "/" .. f.path }, score = f.score },
        }
      end
    end
    chat.mentions = chat.mentions or {}
    for _, it in ipairs(out) do chat.mentions[it.word] = it.user_data.codex end
    cb(out)
  end)
end

local skill_cache = {} -- cwd -> skill metadata list

--- The skills of a cwd (skills/list), cached: cb(list).
function M.skills(cwd, cb)
  if skill_cache[cwd] then return cb(skill_cache[cwd]) end
  local c = client()
  if not c then return cb({}) end
  c:request("skills/list", { cwds = { cwd } }, nil, function(err, res)
    local out = {}
    for _, entry in ipairs(not err and type(res) == "table" and type(res.data) == "table" and res.data or {}) do
      for _, s in ipairs(type(entry) == "table" and type(entry.skills) == "table" and entry.skills or {}) do
        if type(s) == "table" and type(s.name) == "string" and type(s.path) == "string" and s.enabled ~= false then
          out[#out + 1] = s
        end
      end
    end
    if not err then skill_cache[cwd] = out end
    cb(out)
  end)
end

--- A skill's one-line description.
local function short(s)
  local i = type(s.interface) == "table" and s.interface or {}
  local d = type(i.shortDescription) == "string" and i.shortDescription
    or type(s.shortDescription) == "string" and s.shortDescription or type(s.description) == "string" and s.description or ""
  d = d:gsub("%s*\n%s*", " ")
  return #d > 60 and (d:sub(1, 57) .. "...") or d
end

local function starts(s, prefix) return s:sub(1, #prefix):lower() == prefix:lower() end

local function skills(chat, query, cb)
  M.skills(chat.cwd, function(list)
    local out = {}
    for _, s in ipairs(list) do
      if starts(s.name, query) or query == "" then
        out[#out + 1] = { word = "$" .. s.name, menu = short(s), kind = "skill", equal = 1,
          info = type(s.description) == "string" and s.description or nil,
          user_data = { codex = { type = "skill", name = s.name, path = s.path } } }
      end
    end
    cb(out)
  end)
end

local function vars(_, query, cb)
  local out = {}
  for _, v in ipairs(require("codex.ui.context_vars").VARS) do
    if starts(v[1]:sub(2), query) then out[#out + 1] = { word = v[1], menu = v[2], kind = "context", equal = 1 } end
  end
  cb(out)
end

local function slash(_, query, cb)
  local out = {}
  for _, s in ipairs(M.slash_commands()) do
    if starts(s[1], query) then out[#out + 1] = { word = "/" .. s[1], menu = s[2], kind = "command", equal = 1 } end
  end
  cb(out)
end

M.sources = { ["@"] = files, ["#"] = vars, ["$"] = skills, ["/"] = slash }

--- The completions for a trigger context: cb(items).
---@param chat codex.Chat
---@param ctx {char: string, query: string}
---@param cb fun(items: table[])
function M.items(chat, ctx, cb)
  local src = M.sources[ctx.char]
  if not src then return cb({}) end
  src(chat, ctx.query, cb)
end

--- The trigger context at the cursor of the current window (insert mode), or nil.
function M.cursor_context()
  local row, col = unpack(api.nvim_win_get_cursor(0))
  return M.context(api.nvim_get_current_line(), col, row)
end

--- Asks the source for ctx's items; those that come at once are returned, those that come
--- later are shown with vim.fn.complete (if still in insert mode with the cursor unmoved).
local seq = 0 -- the newest request (an older one's answer comes too late to show)
local function request(chat, ctx)
  local buf, cursor = api.nvim_get_current_buf(), api.nvim_win_get_cursor(0)
  local sync, got = true, nil
  seq = seq + 1
  local mine = seq
  M.items(chat, ctx, function(list)
    if sync then got = list return end
    local function put()
      -- only the newest request's answer, in the same place, still typing
      if mine ~= seq or api.nvim_get_current_buf() ~= buf or not api.nvim_get_mode().mode:find("^i") then return end
      local now = api.nvim_win_get_cursor(0)
      if now[1] ~= cursor[1] or now[2] ~= cursor[2] then return end
      if #list > 0 then vim.fn.complete(ctx.start + 1, list) end
    end
    if vim.in_fast_event() then vim.schedule(put) else put() end
  end)
  sync = false
  return got
end

--- Answers still on their way are not shown (insert mode ended).
function M.cancel() seq = seq + 1 end

--- Shows completions at the cursor now or when they arrive (vim.fn.complete). Returns false
--- when there is no trigger here.
---@param chat codex.Chat
---@return boolean
function M.show(chat)
  local ctx = M.cursor_context()
  if not ctx then return false end
  local got = request(chat, ctx)
  if got and #got > 0 then vim.fn.complete(ctx.start + 1, got) end
  return true
end

--- 'completefunc' of the input buffer (<C-x><C-u>): the trigger's column, then the items,
--- or (a source that answers later) -3 now and vim.fn.complete when they arrive.
---@param findstart integer
---@param _ string
function M.completefunc(findstart, _)
  if findstart == 0 then
    local ready = M._ready or {}
    M._ready = nil
    return ready
  end
  local chat_mod = package.loaded["codex.ui.chat"] -- (no chat module loaded: no chat)
  local chat = chat_mod and chat_mod.current()
  local ctx = M.cursor_context()
  if not ctx or not chat then return -3 end
  M._ready = request(chat, ctx)
  return M._ready and ctx.start or -3
end

return M
