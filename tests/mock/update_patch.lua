-- tests/mock/update_patch.lua: the files and the apply_patch of the mock's `[[update]]`.
--
-- Pure data, shared by the mock (server.lua loads it from its own directory) and by the tests
-- (require("mock.update_patch")), which write M.before into the workspace first: the patch
-- updates files that must exist with exactly this text.
--
-- `[[update]] [TWO ONE NEW]` names the files (default big.lua main.lua extra.txt):
--   TWO  two hunks far apart: `return 1` → `return 10` (in first()), `return 2` → `return 20` (in second())
--   ONE  one edit: `print("main")` → `print("main, updated")`
--   NEW  a new file: "extra line 1\nextra line 2\n"
local M = {}

M.DEFAULT = { "big.lua", "main.lua", "extra.txt" }

local filler = {}
for i = 1, 12 do filler[#filler + 1] = ("-- filler %d\n"):format(i) end

--- The text of each role's file before the patch (NEW does not exist).
M.before = {
  two = "local M = {}\n\nfunction M.first()\n  return 1\nend\n" .. table.concat(filler)
    .. "function M.second()\n  return 2\nend\n\nreturn M\n",
  one = 'local big = require("big")\nprint(big.first())\nprint("main")\n',
}

--- The new file's content.
M.new_text = "extra line 1\nextra line 2\n"

--- The file names for the magic word's argument (missing ones: the defaults).
---@param rest string|nil the text after `[[update]]`
---@return string[] names {two, one, new}
function M.names(rest)
  local out = {}
  for w in (rest or ""):gmatch("%S+") do
    if #out < 3 then out[#out + 1] = w end
  end
  for i = #out + 1, 3 do out[i] = M.DEFAULT[i] end
  return out
end

--- The apply_patch (freeform) input for the files `names`.
---@param names string[]
---@return string
function M.patch(names)
  return table.concat({
    "*** Begin Patch",
    "*** Update File: " .. names[1],
    "@@ function M.first()",
    "-  return 1",
    "+  return 10",
    "@@ function M.second()",
    "-  return 2",
    "+  return 20",
    "*** Update File: " .. names[2],
    "@@",
    " print(big.first())",
    '-print("main")',
    '+print("main, updated")',
    "*** Add File: " .. names[3],
    "+extra line 1",
    "+extra line 2",
    "*** End Patch",
  }, "\n")
end

return M
