-- examples/stream.lua: stream the answer to stdout as it is written, then print the usage.
local codex = require("codex")

local client = codex.new()
local thread = client:thread_start({ ephemeral = true })
local turn = thread:turn((arg and arg[1]) or os.getenv("CODEX_QUESTION") or "Tell me a short story")
for delta in turn:text() do
  io.stdout:write(delta)
  io.stdout:flush()
end
local result = turn:wait()
local total = result.usage and result.usage.total
io.stdout:write(("\n[%s, %s tokens]\n"):format(result.status, total and total.totalTokens or "?"))
client:close()
