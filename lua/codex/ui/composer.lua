---@mod codex.ui.composer  The input buffer as a composer: completion, attachments, history.
---
--- attach() gives a chat's input buffer: 'completefunc' and as-you-type completion
--- (codex.ui.complete), the history keys, the paste-image key, and the preview: virtual lines
--- under the input saying what will go with the message (context variables, files, skills,
--- images; "#diagnostics: none" when one attaches nothing). prepare() turns the text into
--- what is sent: a slash command to run, or the turn's input items (the text with the `#`
--- context expanded after it, then mention, skill and localImage items) and the lines the
--- transcript shows for it.
local api = vim.api
local uv = vim.uv or vim.loop
local config = require("codex.config")
local complete = require("codex.ui.complete")
local vars = require("codex.ui.context_vars")
local util = require("codex.ui.util")

local M = {}

local ns = api.nvim_create_namespace("codex_composer")
M.ns = ns

local map = util.mapper("codex: ")
local notify = util.notify

-- ---- history ---------------------------------------------------------------------------

local all_sent = {} -- every chat's sent messages, oldest first

--- Records a sent message (this chat's, and all chats').
function M.remember(chat, text)
  chat.sent = chat.sent or {}
  for _, list in ipairs({ chat.sent, all_sent }) do
    if list[#list] ~= text then list[#list + 1] = text end
  end
  chat.hist = nil
end

--- The history walked by <Up>: this chat's messages newest first, then the other chats'.
local function history_of(chat)
  local out, seen = {}, {}
  local mine = chat.sent or {}
  for i = #mine, 1, -1 do
    if not seen[mine[i]] then seen[mine[i]] = true out[#out + 1] = mine[i] end
  end
  for i = #all_sent, 1, -1 do
    if not seen[all_sent[i]] then seen[all_sent[i]] = true out[#out + 1] = all_sent[i] end
  end
  return out
end

local function set_text(buf, text, at_end)
  local lines = vim.split(text, "\n", { plain = true })
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) == buf then
    local row = at_end and #lines or 1
    api.nvim_win_set_cursor(win, { row, at_end and #lines[#lines] or 0 })
  end
end

local function feed(key)
  api.nvim_feedkeys(api.nvim_replace_termcodes(key, true, false, true), "n", false)
end

--- <Up>/<Down> in the input: on its first (last) line and with no completion menu, the
--- previous (next) sent message; else the key's own motion. dir -1: older.
---@param chat codex.Chat
---@param dir integer
function M.walk(chat, dir)
  local buf = chat.input_buf
  local row = api.nvim_win_get_cursor(0)[1]
  local edge = dir < 0 and row == 1 or dir > 0 and row == api.nvim_buf_line_count(buf)
  if vim.fn.pumvisible() == 1 or not edge then return feed(dir < 0 and "<Up>" or "<Down>") end
  local h = chat.hist
  if not h then
    if dir > 0 then return end
    h = { i = 0, list = history_of(chat), draft = table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n") }
    chat.hist = h
  end
  local i = h.i - dir -- (older is further into the list)
  if i > #h.list then return end
  h.i = i
  if i <= 0 then
    set_text(buf, h.draft, true)
    chat.hist = nil
  else
    set_text(buf, h.list[i], dir > 0) -- (older: the cursor at the top, to go on up)
  end
  M.refresh(chat)
end

-- ---- attachments -----------------------------------------------------------------------

--- Attaches an image file (localImage) to the next message of the chat.
---@param chat codex.Chat
---@param path string
---@return boolean
function M.add_image(chat, path)
  local abs = vim.fn.fnamemodify(vim.fn.expand(path), ":p")
  if vim.fn.filereadable(abs) ~= 1 then
    notify("no such image file: " .. path, vim.log.levels.WARN)
    return false
  end
  chat.images = chat.images or {}
  if not vim.tbl_contains(chat.images, abs) then chat.images[#chat.images + 1] = abs end
  M.refresh(chat)
  return true
end

--- The clipboard tools, in the order tried: name, does it apply, the shell command writing
--- the clipboard's PNG to a file (%s: the file, shell-quoted).
M.CLIPBOARD = {
  { "pngpaste", function() return vim.fn.has("mac") == 1 end, "pngpaste %s" },
  { "wl-paste", function() return (os.getenv("WAYLAND_DISPLAY") or "") ~= "" end, "wl-paste --no-newline --type image/png > %s" },
  { "xclip", function() return (os.getenv("DISPLAY") or "") ~= "" end, "xclip -selection clipboard -target image/png -out > %s" },
}

--- Attaches the system clipboard's image (saved as a PNG under the cache directory).
---@param chat codex.Chat
function M.paste_image(chat)
  local tool
  for _, t in ipairs(M.CLIPBOARD) do
    if t[2]() and vim.fn.executable(t[1]) == 1 then tool = t break end
  end
  if not tool then
    return notify("no clipboard image tool: install wl-paste (Wayland), xclip (X11) or pngpaste (macOS), or use :Codex image {path}",
      vim.log.levels.WARN)
  end
  local dir = vim.fn.stdpath("cache") .. "/codex"
  vim.fn.mkdir(dir, "p")
  local file = ("%s/paste-%d-%d.png"):format(dir, os.time(), uv.hrtime() % 1e6)
  vim.fn.system(tool[3]:format(vim.fn.shellescape(file)))
  local size = vim.fn.getfsize(file)
  if vim.v.shell_error ~= 0 or size <= 0 then
    os.remove(file)
    return notify(("the clipboard holds no image (%s)"):format(tool[1]), vim.log.levels.WARN)
  end
  M.add_image(chat, file)
end

-- ---- what a text sends -----------------------------------------------------------------

local function exists(path) return uv.fs_stat(path) ~= nil end

--- The mention items of a text: files picked from `@` completion, and `@path` words naming
--- a file or directory under the chat's cwd.
local function mentions(chat, text)
  local out, seen = {}, {}
  local function add(word, item)
    if seen[item.path] then return end
    seen[item.path] = true
    out[#out + 1] = { word = word, item = { type = "mention", name = item.name, path = item.path } }
  end
  local padded = " " .. text .. " "
  for word, item in pairs(chat.mentions or {}) do
    local at = padded:find("%s" .. vim.pesc(word) .. "[%s%p]")
    if at then add(word, item) end
  end
  for rel in padded:gmatch("%s@([^%s]+)") do
    rel = rel:gsub("[%.,;:!?%)]+$", "")
    local abs = rel:sub(1, 1) == "/" and rel or (chat.cwd .. "/" .. rel)
    if rel ~= "" and exists(abs) then add("@" .. rel, { name = vim.fn.fnamemodify(rel, ":t"), path = abs }) end
  end
  table.sort(out, function(a, b) return (padded:find(a.word, 1, true) or 0) < (padded:find(b.word, 1, true) or 0) end)
  return out
end

--- The skill items of a text: `$name` words naming a skill of the chat's cwd (skills/list,
--- when it has been asked).
local function skills(chat, text)
  local list
  complete.skills(chat.cwd, function(l) list = l end) -- (cached: at once; else none yet)
  local by_name = {}
  for _, s in ipairs(list or {}) do by_name[s.name] = s end
  local out, seen = {}, {}
  for name in (" " .. text):gmatch("%s%$([%w_%-%.:]+)") do
    name = name:gsub("[%.:]+$", "")
    local s = by_name[name]
    if s and not seen[name] then
      seen[name] = true
      out[#out + 1] = { type = "skill", name = s.name, path = s.path }
    end
  end
  return out
end

--- What the composer holds for the text: slash command, context, mentions, skills, images.
---@return {vars: string[], mentions: table[], skills: table[], images: string[]}
local function gather(chat, text)
  return { vars = vars.used(text), mentions = mentions(chat, text), skills = skills(chat, text), images = chat.images or {} }
end

local function shown_path(p) return vim.fn.fnamemodify(p, ":~:.") end

--- The preview's lines (also the lines the transcript shows under the message).
local function summary(chat, g)
  local out = {}
  for _, name in ipairs(g.vars) do out[#out + 1] = (vars.expand(name)) end
  for _, m in ipairs(g.mentions) do out[#out + 1] = ("file: %s"):format(shown_path(m.item.path)) end
  for _, s in ipairs(g.skills) do out[#out + 1] = ("skill: %s"):format(s.name) end
  for _, p in ipairs(g.images) do out[#out + 1] = ("image: %s"):format(shown_path(p)) end
  if chat.editing then
    out[#out + 1] = "editing an earlier message: sending reverts the thread to before it (empty the input to cancel)"
  end
  return out
end

--- The slash command of a text ("/name args" on its own), if it is one that exists.
local function slash(text)
  local name, rest = text:match("^/(%S+)%s*(.-)$")
  if not name or rest:find("\n") then return nil end
  for _, s in ipairs(complete.slash_commands()) do
    if s[1] == name then return name, vim.split(rest, "%s+", { trimempty = true }) end
  end
end

---@class codex.ComposedMessage
---@field run fun()|nil a slash command's action (then nothing is sent)
---@field text string the text item sent (the message, then the expanded context)
---@field input codex.InputItem[] the turn's input items
---@field shown string[] the lines the transcript shows for it
---@field editing table|nil the earlier turn being edited (chat.editing)
---@field typed string the text as typed

--- What sending this text does.
---@param chat codex.Chat
---@param text string
---@return codex.ComposedMessage
function M.prepare(chat, text)
  local name, args = slash(text)
  if name then
    return { run = function()
      local words = { name }
      vim.list_extend(words, args)
      require("codex.commands").codex({ fargs = words, range = 0 })
    end }
  end
  local g = gather(chat, text)
  local full = text
  local blocks = {}
  for _, v in ipairs(g.vars) do
    local _, block = vars.expand(v)
    if block then blocks[#blocks + 1] = block end
  end
  if #blocks > 0 then full = text .. "\n\n" .. table.concat(blocks, "\n\n") end
  local input = { { type = "text", text = full } }
  for _, m in ipairs(g.mentions) do input[#input + 1] = m.item end
  for _, s in ipairs(g.skills) do input[#input + 1] = s end
  for _, p in ipairs(g.images) do input[#input + 1] = require("codex.input").local_image(p) end
  local shown = vim.split(text, "\n", { plain = true })
  for _, l in ipairs(summary({}, g)) do shown[#shown + 1] = "- " .. l end
  return { text = full, input = input, shown = shown, editing = chat.editing, typed = text }
end

--- After a send: the attachments are spent, the history remembers the text.
function M.sent(chat, text)
  chat.images = nil
  M.remember(chat, text)
  M.refresh(chat)
end

-- ---- the preview -----------------------------------------------------------------------

--- Redraws the preview under the input (nothing when nothing will be attached).
---@param chat codex.Chat
function M.refresh(chat)
  local buf = chat.input_buf
  if not buf or not api.nvim_buf_is_loaded(buf) then return end
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  if not config.get().composer.preview then return end
  local text = table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  if chat.editing and vim.trim(text) == "" then chat.editing = nil end -- (emptied: no longer an edit)
  local lines = summary(chat, gather(chat, text))
  if #lines == 0 then return end
  local virt = {}
  for _, l in ipairs(lines) do
    local hl = l:find(": none$") and "WarningMsg" or "Comment"
    virt[#virt + 1] = { { "  ↳ " .. l, hl } }
  end
  local n = api.nvim_buf_line_count(buf)
  api.nvim_buf_set_extmark(buf, ns, n - 1, 0, { virt_lines = virt })
end

--- The preview's lines as shown (for tests and the help).
---@param chat codex.Chat
---@return string[]
function M.preview_lines(chat)
  local out = {}
  if not chat.input_buf or not api.nvim_buf_is_loaded(chat.input_buf) then return out end
  for _, m in ipairs(api.nvim_buf_get_extmarks(chat.input_buf, ns, 0, -1, { details = true })) do
    for _, vl in ipairs(m[4].virt_lines or {}) do
      local s = {}
      for _, chunk in ipairs(vl) do s[#s + 1] = chunk[1] end
      out[#out + 1] = (table.concat(s):gsub("^  ↳ ", ""))
    end
  end
  return out
end

-- ---- the input buffer ------------------------------------------------------------------

local saved_cot -- the user's 'completeopt' while insert mode is in an input buffer

local function auto_on()
  -- nvim-cmp and blink.cmp complete with their own menus (codex.ui.cmp, codex.ui.blink)
  return config.get().composer.auto_complete and not package.loaded["cmp"] and not package.loaded["blink.cmp"]
end

--- Makes a chat's input buffer a composer (called as the buffer is made).
---@param chat codex.Chat
---@param buf integer
function M.attach(chat, buf)
  vars.track()
  if package.loaded["cmp"] then require("codex.ui.cmp").register() end
  vim.bo[buf].completefunc = "v:lua.require'codex.ui.complete'.completefunc"
  local k = config.get().keymaps
  map(buf, { "n", "i" }, k.history_prev, function() M.walk(chat, -1) end, "previous sent message")
  map(buf, { "n", "i" }, k.history_next, function() M.walk(chat, 1) end, "next sent message")
  map(buf, { "n", "i" }, k.paste_image, function() M.paste_image(chat) end, "attach the clipboard's image")
  local group = api.nvim_create_augroup("CodexComposer" .. buf, { clear = true })
  local timer
  api.nvim_create_autocmd({ "TextChangedI", "TextChangedP" }, { group = group, buffer = buf, callback = function()
    if not auto_on() then return end
    local ctx = complete.cursor_context()
    if not ctx or (ctx.query == "" and ctx.char == "@") then return end
    if timer then timer:stop() timer:close() end
    timer = uv.new_timer()
    timer:start(config.get().composer.debounce_ms, 0, vim.schedule_wrap(function()
      if timer then timer:close() timer = nil end
      if api.nvim_get_current_buf() == buf and api.nvim_get_mode().mode:find("^i") then complete.show(chat) end
    end))
  end })
  api.nvim_create_autocmd({ "TextChanged", "TextChangedI", "InsertLeave" }, { group = group, buffer = buf,
    callback = function() M.refresh(chat) end })
  -- A menu that pops up as you type must not insert its first match over what is typed: while
  -- in insert mode here, 'completeopt' (global before 0.11) has menuone and noselect; the
  -- user's value comes back as insert mode ends or the buffer is left.
  api.nvim_create_autocmd("InsertEnter", { group = group, buffer = buf, callback = function()
    if saved_cot == nil then saved_cot = vim.o.completeopt end
    local keep = {}
    for _, o in ipairs(vim.split(saved_cot, ",", { trimempty = true })) do
      if o ~= "noinsert" and o ~= "menu" and o ~= "longest" then keep[#keep + 1] = o end
    end
    for _, o in ipairs({ "menuone", "noselect" }) do
      if not vim.tbl_contains(keep, o) then keep[#keep + 1] = o end
    end
    vim.o.completeopt = table.concat(keep, ",")
  end })
  api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, { group = group, buffer = buf, callback = function()
    if saved_cot ~= nil then vim.o.completeopt = saved_cot end
    saved_cot = nil
    complete.cancel()
    if timer then timer:stop() timer:close() timer = nil end
  end })
  -- A draft kept from an input buffer the user wiped comes back in the new one.
  if chat.draft then
    api.nvim_buf_set_lines(buf, 0, -1, false, chat.draft)
    chat.draft = nil
  end
  M.refresh(chat)
end

--- The input buffer is going (wiped): keep its text for the next one.
function M.save_draft(chat, buf)
  if not api.nvim_buf_is_loaded(buf) then return end
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  if #lines > 1 or lines[1] ~= "" then chat.draft = lines end
end

return M
