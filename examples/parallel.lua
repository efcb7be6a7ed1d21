-- examples/parallel.lua: two turns on two threads at once, on one app-server.
-- codex.all runs each function in its own coroutine and waits for both.
local codex = require("codex")

local client = codex.new()
local questions = { "First question", "Second question" }
local jobs = {}
for i, q in ipairs(questions) do
  jobs[i] = function()
    local thread = client:thread_start({ ephemeral = true })
    return thread:run(q).final_response
  end
end
local answers = codex.all(jobs)
for i, q in ipairs(questions) do io.stdout:write(q, " -> ", tostring(answers[i]), "\n") end
client:close()
