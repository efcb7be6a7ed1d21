-- bench/nvim_common.lua: what the Neovim benches (ui.lua, long.lua) share: where the figures
-- go (CODEX_BENCH_LOG: a file, for a Neovim whose TUI owns stdout, as scripts/nvim_ui_run.sh
-- runs 0.12) and the plugin's root, put on the runtimepath.
local uv = vim.uv or vim.loop
local M = {}

local out_file = os.getenv("CODEX_BENCH_LOG")
out_file = out_file and out_file ~= "" and assert(io.open(out_file, "a")) or io.stdout
--- Writes s to the figures' destination at once.
function M.out(s)
  out_file:write(s)
  out_file:flush()
end

local src = debug.getinfo(1, "S").source:gsub("^@", "")
if src:sub(1, 1) ~= "/" then src = uv.cwd() .. "/" .. src end
M.ROOT = src:match("^(.*)/bench/[^/]*$") or uv.cwd()
if not ("," .. vim.o.runtimepath .. ","):find("," .. M.ROOT .. ",", 1, true) then vim.opt.runtimepath:prepend(M.ROOT) end

--- The fake app-server's script for one streamed agent message (turn/start's fakeEvents):
--- turn/started, item/started, one delta per piece, item/completed with the whole text,
--- turn/completed. "$TURN" is the fake's turn id.
---@param thread_id string
---@param item string the message's item id
---@param deltas string[]
---@return table[]
function M.message_events(thread_id, item, deltas)
  local core = require("codex.core")
  local ev = {}
  ev[1] = { method = "turn/started", params = { threadId = thread_id, turn = { id = "$TURN", status = "inProgress" } } }
  ev[2] = { method = "item/started", params = { threadId = thread_id, turnId = "$TURN",
    item = { type = "agentMessage", id = item, text = "" } } }
  for i = 1, #deltas do
    ev[#ev + 1] = { method = "item/agentMessage/delta",
      params = { threadId = thread_id, turnId = "$TURN", itemId = item, delta = deltas[i] } }
  end
  ev[#ev + 1] = { method = "item/completed", params = { threadId = thread_id, turnId = "$TURN",
    item = { type = "agentMessage", id = item, text = table.concat(deltas) } } }
  ev[#ev + 1] = { method = "turn/completed", params = { threadId = thread_id,
    turn = { id = "$TURN", status = "completed", items = core.array({}) } } }
  return ev
end

return M
