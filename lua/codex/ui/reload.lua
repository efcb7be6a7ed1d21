---@mod codex.ui.reload  Buffers of files the agent changed: reloaded, never overwritten.
---
--- When a fileChange item completes (status "completed"), each changed file that is loaded in
--- a buffer is read again from disk, so a later :w cannot write the stale text over the
--- agent's edit. Per buffer:
---
---  * no unsaved changes: reloaded at once (`:edit!` in the buffer, the undo history kept,
---    no W11/W12 question: it is not a timestamp check);
---  * unsaved changes: never overwritten on its own. The user is told (the file is named) and
---    chooses with vim.ui.select: load the agent's version (the edits stay in the undo
---    history: `u` brings them back) or keep theirs (a later :w overwrites the agent's change).
---
--- Deleted files are left to Neovim (the buffer keeps its text). The chat calls file_change()
--- for live items only (not when it renders a stored thread).
local api = vim.api
local uv = vim.uv or vim.loop
local util = require("codex.ui.util")
local list, val = require("codex.util").list, require("codex.util").val

local M = {}

M.LOAD = "Load the agent's version (your unsaved edits stay in the undo history: u brings them back)"
M.KEEP = "Keep my version (:w will overwrite the agent's change)"

--- The absolute, normalised path (symlinks resolved when the file exists).
local function absolute(path, cwd)
  local p = vim.fn.fnamemodify(util.absolute(path, cwd), ":p")
  return uv.fs_realpath(p) or p
end

--- The loaded file buffer of `path` (relative paths are relative to `cwd`), or nil.
---@param path string
---@param cwd string|nil default: the editor's cwd
---@return integer|nil
function M.buffer_of(path, cwd)
  if type(path) ~= "string" or path == "" then return nil end
  local want = absolute(path, cwd)
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(b) and vim.bo[b].buftype == "" then
      local name = api.nvim_buf_get_name(b)
      if name ~= "" and absolute(name, cwd) == want then return b end
    end
  end
  return nil
end

local function shown(buf) return vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ":~:.") end

--- Reads a buffer again from its file, keeping the undo history ('undoreload' raised for
--- this reload), so what was in the buffer is one `u` away.
---@param buf integer
---@return boolean ok, string|nil err
function M.reload(buf)
  local saved = vim.o.undoreload
  vim.o.undoreload = math.max(saved, api.nvim_buf_line_count(buf) + 1)
  local ok, err = pcall(api.nvim_buf_call, buf, function() vim.cmd("silent keepjumps edit!") end)
  vim.o.undoreload = saved
  if not ok then util.notify(("could not reload %s: %s"):format(shown(buf), tostring(err)), vim.log.levels.ERROR) end
  return ok, err and tostring(err) or nil
end

-- Buffers with unsaved changes wait here to be asked about, one question at a time.
local asking, waiting = false, {}

local ask_next

local function ask(buf)
  local name = shown(buf)
  util.notify(("the agent changed %s, which has unsaved changes in Neovim: choose which to keep"):format(name),
    vim.log.levels.WARN)
  vim.ui.select({ M.LOAD, M.KEEP }, { prompt = ("Codex changed %s on disk; the buffer has unsaved changes"):format(name) },
    function(_, idx)
      if idx == 1 and api.nvim_buf_is_loaded(buf) then
        if M.reload(buf) then
          util.notify(("%s: the agent's version is loaded; u brings your edits back"):format(name))
        end
      elseif api.nvim_buf_is_valid(buf) then
        util.notify(("%s: your version is kept; :w will overwrite the agent's change"):format(name), vim.log.levels.WARN)
      end
      vim.schedule(ask_next)
    end)
end

ask_next = function()
  asking = false
  while #waiting > 0 do
    local buf = table.remove(waiting, 1)
    if api.nvim_buf_is_loaded(buf) then
      if not vim.bo[buf].modified then
        M.reload(buf)
      else
        asking = true
        ask(buf)
        return
      end
    end
  end
end

--- The paths a file change wrote (a move: its new path; deleted files are not listed).
local function written(item)
  local out = {}
  for _, c in ipairs(list(item.changes)) do
    if type(c) == "table" then
      local kind, path = val(c.kind), val(c.path)
      local move = type(kind) == "table" and val(kind.move_path) or nil
      local k = type(kind) == "table" and val(kind.type) or kind
      if k ~= "delete" and type(move or path) == "string" then out[#out + 1] = move or path end
    end
  end
  return out
end

--- A fileChange item completed: reloads the buffers of its files (see the module's doc).
--- Relative paths are relative to `cwd` (the thread's). Runs on the next turn of the loop.
---@param item table a fileChange item (type, status, changes)
---@param cwd string|nil default: the editor's cwd
function M.file_change(item, cwd)
  if type(item) ~= "table" or val(item.type) ~= "fileChange" or val(item.status) ~= "completed" then return end
  local paths = written(item)
  if #paths == 0 then return end
  vim.schedule(function()
    for _, path in ipairs(paths) do
      local buf = M.buffer_of(path, cwd)
      if buf and not vim.bo[buf].modified then
        M.reload(buf)
      elseif buf and not vim.tbl_contains(waiting, buf) then
        waiting[#waiting + 1] = buf
      end
    end
    if not asking then ask_next() end
  end)
end

return M
