-- tests/lib/shell.lua: running shell commands from specs (Lua 5.4 and LuaJIT alike).
local M = {}

--- s single-quoted for the shell.
function M.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- Runs a shell command (stderr into stdout, no stdin); returns its output and exit code.
function M.sh(cmd)
  local p = assert(io.popen("{ " .. cmd .. "\n} </dev/null 2>&1; echo \"__rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  return (out:gsub("__rc=%d+%s*$", "")), rc
end

return M
