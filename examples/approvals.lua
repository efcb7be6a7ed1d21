-- examples/approvals.lua: let the agent run only the commands you allow.
-- Commands that start with `touch` or `echo` are accepted; everything else is declined, and
-- file changes are accepted only inside ./notes/.
local codex = require("codex")

local client = codex.new({
  approval_handler = codex.approvals.policy({
    commands = { "^/bin/bash %-c '?touch ", "^touch ", "^/bin/bash %-c '?echo ", "^echo " },
    file_changes = { "/notes/[^/]+$" },
    otherwise = function(req)
      io.stdout:write("declined: ", req.method, " ", tostring(req.params.command or ""), "\n")
      return codex.approvals.decline_all(req)
    end,
  }),
})
local thread = client:thread_start({ approval_policy = "untrusted", sandbox = "read-only" })
local result = thread:run((arg and arg[1]) or os.getenv("CODEX_QUESTION") or "Create approved.txt")
for _, item in ipairs(result.items) do
  if item.type == "commandExecution" then
    io.stdout:write(("command %s: %s\n"):format(item.status, item.command))
  end
end
io.stdout:write(result.final_response or "", "\n")
client:close()
