---@mod codex.ui.notify  Telling a user who is elsewhere: terminal notifications and the bell.
---
--- When a turn waits for approval (or, with "always", ends) while its chat is hidden or
--- Neovim has no focus (FocusLost/FocusGained), codex.nvim can write to the terminal:
---   OSC 777 `ESC ] 777 ; notify ; title ; body BEL` where the terminal is known to take it
---   (foot, rxvt-unicode, VTE terminals), else OSC 9 `ESC ] 9 ; text BEL` (iTerm2, WezTerm,
---   kitty, Ghostty, Windows Terminal …); inside tmux wrapped in its passthrough
---   `ESC P tmux ; … ESC \` (tmux needs `set -g allow-passthrough on`), and the bell (BEL).
--- Options `notify.terminal` and `notify.bell`: "never", "approvals" (the default), "always".
--- Only with a UI attached (never in a headless or embedded-only Neovim).
local api = type(vim) == "table" and vim.api or nil -- (the sequence is pure Lua)

local M = {}

-- ---- pure: the escape sequence --------------------------------------------------------

--- Text safe inside an OSC string: no control characters (ESC or BEL would end it early).
local function clean(s)
  return (tostring(s or ""):gsub("[%c\127]", " "))
end

--- Does the terminal take OSC 777 notify (else OSC 9 is written)?
---@param env table<string, string|nil> TERM, VTE_VERSION, …
---@return boolean
function M.wants_777(env)
  local term = env.TERM or ""
  return term:find("^foot") ~= nil or term:find("^rxvt") ~= nil or (env.VTE_VERSION or "") ~= ""
end

--- The bytes that show a desktop notification (title, body) in the terminal of env, wrapped
--- for tmux when env.TMUX is set; bell: a BEL after it (outside the passthrough, so tmux
--- sees it and marks the window).
---@param title string
---@param body string
---@param env table<string, string|nil>
---@param bell boolean|nil
---@param notification boolean|nil false: the bell alone
---@return string
function M.sequence(title, body, env, bell, notification)
  local seq = ""
  if notification ~= false then
    if M.wants_777(env) then
      seq = "\27]777;notify;" .. clean(title):gsub(";", ",") .. ";" .. clean(body) .. "\7"
    else
      seq = "\27]9;" .. clean(title) .. ": " .. clean(body) .. "\7"
    end
    if (env.TMUX or "") ~= "" then seq = "\27Ptmux;" .. seq:gsub("\27", "\27\27") .. "\27\\" end
  end
  if bell then seq = seq .. "\7" end
  return seq
end

-- ---- Neovim: when, and where to write -------------------------------------------------

--- Is a UI attached (a TUI or GUI)? Tests replace it.
function M.has_ui() return #api.nvim_list_uis() > 0 end

--- Writes to the terminal: Neovim's stderr is the TUI's terminal (also on 0.10+, where the
--- TUI is its own process and the server keeps its stderr). Tests replace it.
---@param bytes string
function M.write(bytes)
  if not pcall(api.nvim_chan_send, vim.v.stderr, bytes) then
    pcall(function() io.stderr:write(bytes) io.stderr:flush() end)
  end
end

--- The environment the sequence depends on. Tests replace it.
function M.env()
  local out = {}
  for _, k in ipairs({ "TERM", "TMUX", "VTE_VERSION" }) do out[k] = os.getenv(k) end
  return out
end

local focused = true

--- Does Neovim have the focus (as FocusLost/FocusGained last said; true until told)?
---@return boolean
function M.focused() return focused end

local watching = false

--- Starts following the focus (once): FocusLost/FocusGained, and the approvals for the
--- terminal notification.
function M.watch()
  if watching then return end
  watching = true
  local group = api.nvim_create_augroup("CodexFocus", { clear = true })
  api.nvim_create_autocmd("FocusLost", { group = group, callback = function() focused = false end })
  api.nvim_create_autocmd("FocusGained", { group = group, callback = function() focused = true end })
  require("codex.events").on("ApprovalRequested", function(data) M.approval(data) end)
end

--- Does the option ("never"/"approvals"/"always") ask for this kind of event?
local function wanted(value, kind)
  if value == "always" then return true end
  return value == "approvals" and kind == "approval"
end

--- Tells the terminal (notification and/or bell, as the options say) about kind "approval"
--- or "turn". Returns the bytes written (nil: nothing).
---@param kind "approval"|"turn"
---@param title string
---@param body string
---@return string|nil
function M.terminal(kind, title, body)
  local opts = require("codex.config").get().notify or {}
  local note, bell = wanted(opts.terminal, kind), wanted(opts.bell, kind)
  if not (note or bell) or not M.has_ui() then return nil end
  local bytes = M.sequence(title, body, M.env(), bell, note)
  M.write(bytes)
  return bytes
end

--- Can the user be watching this chat? (visible, and Neovim has the focus)
---@param chat codex.Chat|nil
---@return boolean
function M.watched(chat)
  return focused and chat ~= nil and chat:visible()
end

--- An approval waits (the ApprovalRequested event): the event gets the chat's name; if the
--- user cannot be watching, the terminal is told.
---@param data table
function M.approval(data)
  local chat_mod = package.loaded["codex.ui.chat"]
  local chat = chat_mod and data.thread_id and chat_mod.find(data.thread_id) or nil
  if chat and data.name == nil then data.name = chat:title() end -- (the autocmd's data too: same table)
  if M.watched(chat) then return end
  local what = type(data.command) == "string" and ("run " .. data.command)
    or (type(data.paths) == "table" and data.paths[1] and ("change " .. table.concat(data.paths, ", ")))
    or "go on"
  M.terminal("approval", "Codex: approval needed", ("%s wants to %s"):format(data.name and ("%q"):format(data.name) or "a chat", what))
end

return M
