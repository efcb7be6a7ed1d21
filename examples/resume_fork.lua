-- examples/resume_fork.lua: continue a stored thread, and branch it.
local codex = require("codex")

local client = codex.new()
local thread = client:thread_start()
thread:run("Remember the number 42")
thread:set_name("the number")

-- Later (even in another process): resume by id, and fork to try something else.
local resumed = client:thread_resume(thread.id)
local fork = resumed:fork()
local answer = fork:run("What number did I tell you?")
io.stdout:write(("thread %s forked into %s: %s\n"):format(thread.id, fork.id, tostring(answer.final_response)))
for _, t in ipairs(client:thread_list({ limit = 10 }).data) do
  io.stdout:write(("  %s  %s\n"):format(t.id, t.name ~= codex.null and t.name or t.preview))
end
client:close()
