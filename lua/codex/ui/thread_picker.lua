---@mod codex.ui.thread_picker  The thread lists of `:Codex resume` and `:Codex unarchive`.
---
--- One line a thread: "● open" for a thread with a chat open here, the time of its last
--- change, its name (else its first message), the first message too when it has a name, and
--- "fork of …" for a fork (the server's forkedFromId, else the forks made here).
local util = require("codex.ui.util")

local M = {}

--- Forks made here this session: fork id -> original id (for a server that does not say).
---@type table<string, string>
M.forks = {}

local function text(v) return type(v) == "string" and v:match("%S") and v or nil end
local function short(s, n) return require("codex.ui.chat_bar").short(s, n) end

--- A listed thread's name, else its first message, else its id.
---@param t table a codex.proto.Thread
---@return string
function M.label(t)
  local s = text(t.name) or text(t.preview)
  return s and short(s, 50) or tostring(t.id)
end

--- Whose fork the thread is (an id), if it is one.
local function original(t)
  return text(t.forkedFromId) or M.forks[t.id]
end

--- The line of a thread in the list. by_id: the listed threads by id (to name an original).
---@param t table a codex.proto.Thread
---@param by_id table<string, table>
---@return string
function M.format(t, by_id)
  local open = require("codex.ui.chat").find(t.id)
  local parts = { open and "● open" or "      " }
  if type(t.updatedAt) == "number" then parts[#parts + 1] = os.date("%Y-%m-%d %H:%M", t.updatedAt) end
  parts[#parts + 1] = M.label(t)
  if text(t.name) and text(t.preview) and vim.trim(t.name) ~= vim.trim(t.preview) then
    parts[#parts + 1] = "— " .. short(t.preview, 40)
  end
  local from = original(t)
  if from then
    local o = by_id[from]
    local oc = not o and require("codex.ui.chat").find(from)
    local name = o and M.label(o) or (oc and oc:title()) or from:sub(-8)
    parts[#parts + 1] = ("(fork of %q)"):format(name)
  end
  return table.concat(parts, "  ")
end

--- Lists threads (thread/list with list_opts, the newest 50) and lets the user pick one with
--- vim.ui.select; on_pick(thread) with the choice. With none listed, notifies `none`.
---@param list_opts table|nil codex.Client.thread_list options (archived, cwd, …)
---@param prompt string
---@param none string
---@param on_pick fun(thread: table)
function M.pick(list_opts, prompt, none, on_pick)
  local opts = { limit = 50 }
  for k, v in pairs(list_opts or {}) do opts[k] = v end
  require("codex.session").client():thread_list(opts, function(err, page)
    if err then return util.notify("thread/list failed: " .. util.err_text(err), vim.log.levels.ERROR) end
    local threads, by_id = {}, {}
    for _, t in ipairs(type(page) == "table" and type(page.data) == "table" and page.data or {}) do
      if type(t) == "table" and type(t.id) == "string" then
        threads[#threads + 1] = t
        by_id[t.id] = t
      end
    end
    if #threads == 0 then return util.notify(none) end
    vim.ui.select(threads, { prompt = prompt, format_item = function(t) return M.format(t, by_id) end }, function(t)
      if t then on_pick(t) end
    end)
  end)
end

return M
