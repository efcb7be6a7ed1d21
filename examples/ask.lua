-- examples/ask.lua: a one-shot question. Prints the answer.
--   lua5.4 examples/ask.lua "What is a monad?"      (LUA_PATH/LUA_CPATH as in README)
--   nvim --headless -u NONE --cmd 'set rtp^=.' -c 'luafile examples/ask.lua' -c 'qa!'
local codex = require("codex")

local question = (arg and arg[1]) or os.getenv("CODEX_QUESTION") or "Say hello"
local client = codex.new()
local thread = client:thread_start({ ephemeral = true })
local result = thread:run(question)
io.stdout:write(result.final_response or "(no answer)", "\n")
client:close()
