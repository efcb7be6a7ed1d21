-- tests/lib/files.lua: whole-file reads and writes for specs and helpers.
local M = {}

--- A file's text, or nil when it cannot be read.
function M.read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Writes text to a file, replacing it.
function M.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

function M.exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

return M
