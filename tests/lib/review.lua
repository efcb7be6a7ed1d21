-- tests/lib/review.lua: a git workspace with a known uncommitted change, for review specs. The
-- mock (tests/mock, "review") answers a review with findings at app.lua lines 2 (P1) and 3
-- (P2) of the workspace unless the instructions carry a [[review]] spec.
local files = require("lib.files")
local shell = require("lib.shell")

local M = {}

M.BEFORE = "local a = 1\nreturn a\n"
M.AFTER = "local a = 1\nlocal b = nil + 1\nlocal c = b\nreturn a\n"

--- Makes dir a git repository with app.lua committed, then changed (uncommitted).
---@param dir string
function M.workspace(dir)
  local q = shell.q(dir)
  local out, rc = shell.sh("cd " .. q .. " && git init -q . && git config user.email t@example.com"
    .. " && git config user.name t && git config commit.gpgsign false")
  assert(rc == 0, out)
  files.write(dir .. "/app.lua", M.BEFORE)
  out, rc = shell.sh("cd " .. q .. " && git add app.lua && git commit -qm init")
  assert(rc == 0, out)
  files.write(dir .. "/app.lua", M.AFTER)
end

return M
