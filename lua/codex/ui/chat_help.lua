---@mod codex.ui.chat_help  What the chat's keys are: the welcome of an empty chat, the g? float.
---
--- Both read the keys from the config (a key set to false is not listed) and their
--- descriptions from the keymap rows of codex.schema.config, so they never disagree with
--- what is mapped.
local api = vim.api
local config = require("codex.config")
local util = require("codex.ui.util")

local M = {}

local ns = api.nvim_create_namespace("codex_chat_welcome")
M.ns = ns

--- The <Plug> name of each keymap that has one (plugin/codex.lua defines them; |codex-keymaps|).
M.PLUGS = {
  send = "<Plug>(codex-send)", send_insert = "<Plug>(codex-send)", queue = "<Plug>(codex-queue)",
  stop = "<Plug>(codex-stop)", focus_approval = "<Plug>(codex-approval)", close = "<Plug>(codex-close)",
  help = "<Plug>(codex-help)", load_earlier = "<Plug>(codex-load-earlier)",
}
--- Global ones, for the user to map (nothing maps them by default).
M.GLOBAL_PLUGS = {
  { "<Plug>(codex-toggle)", "normal mode: `:Codex` (hide or show the chat)" },
  { "<Plug>(codex-send-selection)", "visual mode: send the selection (`:'<,'>Codex`)" },
}

-- The welcome's lines: keymap, what it does (short).
local WELCOME = {
  { "send_insert", "send" },
  { "send", "send (normal mode)" },
  { "queue", "queue for after the turn" },
  { "stop", "stop the turn" },
  { "focus_approval", "answer an approval" },
  { "close", "close the chat" },
  { "help", "all keys" },
}

local function width(s) return vim.fn.strdisplaywidth(s) end

--- The welcome of an empty chat: virtual lines (never buffer text) under its one empty line,
--- listing the main keys; they go as soon as anything is written into the buffer.
---@param buf integer an empty chat buffer
function M.welcome(buf)
  if api.nvim_buf_line_count(buf) ~= 1 or api.nvim_buf_get_lines(buf, 0, 1, false)[1] ~= "" then return end
  local k = config.get().keymaps
  local shown, keyw = {}, 0
  for _, w in ipairs(WELCOME) do
    local key = k[w[1]]
    if key then
      shown[#shown + 1] = { key, w[2] }
      keyw = math.max(keyw, width(key))
    end
  end
  local lines = { { { "Codex · write in the input below", "Comment" } } }
  for _, s in ipairs(shown) do
    lines[#lines + 1] = { { "  " .. s[1] .. (" "):rep(keyw - width(s[1]) + 2), "Special" }, { s[2], "Comment" } }
  end
  -- Below row 0: virt_lines_above row 0 cannot be seen before 0.10 (nothing scrolls above it).
  api.nvim_buf_set_extmark(buf, ns, 0, 0, { virt_lines = lines })
  api.nvim_buf_attach(buf, false, {
    on_lines = function()
      -- (no API calls that change the buffer inside on_lines)
      vim.schedule(function()
        if api.nvim_buf_is_valid(buf) then api.nvim_buf_clear_namespace(buf, ns, 0, -1) end
      end)
      return true -- detach: one write is enough
    end,
  })
end

--- Is the welcome shown in buf? (its virtual lines' text, or nil)
---@param buf integer
---@return string|nil
function M.welcome_text(buf)
  local out = {}
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
    for _, line in ipairs(m[4].virt_lines or {}) do
      local t = {}
      for _, chunk in ipairs(line) do t[#t + 1] = chunk[1] end
      out[#out + 1] = table.concat(t)
    end
  end
  return #out > 0 and table.concat(out, "\n") or nil
end

--- The lines of the key list: every enabled keymap with its description and <Plug> name.
---@return string[]
function M.lines()
  local k = config.get().keymaps
  local entries, keyw = {}, 0
  local type_keys = { "i a o I A O", "chat buffer: type in the input (insert mode at its end)" }
  for _, row in ipairs(require("codex.schema.config")) do
    local name = row.keymap and row[1]:match("^keymaps%.(.+)$")
    if name and name:match("^approval_") and type_keys then -- the chat's own keys come first
      entries[#entries + 1], type_keys = type_keys, nil
    end
    if name and k[name] then
      local doc = row.doc
      if M.PLUGS[name] then doc = doc .. " · " .. M.PLUGS[name] end
      entries[#entries + 1] = { k[name], doc }
      keyw = math.max(keyw, width(k[name]))
    end
  end
  if type_keys then entries[#entries + 1] = type_keys end
  keyw = math.max(keyw, width("i a o I A O"))
  local out = {}
  for _, e in ipairs(entries) do out[#out + 1] = " " .. e[1] .. (" "):rep(keyw - width(e[1]) + 2) .. e[2] end
  out[#out + 1] = ""
  out[#out + 1] = " To map yourself (|codex-keymaps|):"
  for _, p in ipairs(M.GLOBAL_PLUGS) do out[#out + 1] = " " .. p[1] .. "  " .. p[2] end
  out[#out + 1] = ""
  out[#out + 1] = " q, <Esc>: close this list"
  return out
end

local current -- {win, buf, from}

--- Closes the key list (if open).
function M.close()
  local c = current
  current = nil
  if not c then return end
  if api.nvim_win_is_valid(c.win) then pcall(api.nvim_win_close, c.win, true) end
  if api.nvim_buf_is_valid(c.buf) then pcall(api.nvim_buf_delete, c.buf, { force = true }) end
  if c.from and api.nvim_win_is_valid(c.from) then pcall(api.nvim_set_current_win, c.from) end
end

--- The open key list's window, or nil.
---@return integer|nil
function M.win()
  return current and api.nvim_win_is_valid(current.win) and current.win or nil
end

--- Opens the key list in a float (focused; q or <Esc> closes it, and so does leaving it).
function M.open()
  M.close()
  local lines = M.lines()
  local buf = api.nvim_create_buf(false, true)
  api.nvim_buf_set_lines(buf, 0, -1, false, util.has_title and lines or vim.list_extend({ " Codex chat keys", "" }, lines))
  vim.bo[buf].modifiable = false
  local w = 0
  for _, l in ipairs(lines) do w = math.max(w, width(l) + 1) end
  w = math.min(w, vim.o.columns - 4)
  local h = math.min(api.nvim_buf_line_count(buf), vim.o.lines - 4)
  local cfg = { relative = "editor", width = w, height = h, row = math.floor((vim.o.lines - h) / 2) - 1,
    col = math.floor((vim.o.columns - w) / 2), border = "rounded", style = "minimal" }
  if util.has_title then cfg.title, cfg.title_pos = " Codex chat keys ", "center" end
  local from = api.nvim_get_current_win()
  local win = api.nvim_open_win(buf, true, cfg)
  vim.wo[win].wrap = true
  current = { win = win, buf = buf, from = from }
  for _, key in ipairs({ "q", "<Esc>", config.get().keymaps.help or "g?" }) do
    vim.keymap.set("n", key, M.close, { buffer = buf, nowait = true, silent = true, desc = "codex: close the key list" })
  end
  api.nvim_create_autocmd("WinLeave", { buffer = buf, once = true, callback = function()
    vim.schedule(function()
      if current and current.buf == buf then
        current.from = nil -- the user went elsewhere: stay there
        M.close()
      end
    end)
  end })
end

return M
