---@mod codex.ui.cmp  An nvim-cmp source for the chat's input: `@` files, `#` context, `$` skills, `/` commands.
---
--- Registered as "codex" when a chat's input buffer is made and nvim-cmp is loaded (nothing
--- requires this module otherwise). Add it to the sources, e.g.
---   require("cmp").setup.filetype("markdown", { sources = { { name = "codex" }, … } })
--- (the input buffer's filetype is markdown; the source offers nothing outside a chat input).
local item = require("codex.ui.completion_item")

local source = {}
source.__index = source

function source.new() return setmetatable({}, source) end
function source:is_available() return item.in_input() end
function source:get_debug_name() return "codex" end
function source:get_trigger_characters() return { "@", "#", "$", "/" } end
function source:get_keyword_pattern() return [[\%(^/\|[@#$]\)\S*]] end

function source:complete(_, callback)
  local chat, ctx = item.here()
  if not chat then return callback({ items = {}, isIncomplete = false }) end
  require("codex.ui.complete").items(chat, ctx, function(list)
    vim.schedule(function() callback({ items = item.convert(list, ctx), isIncomplete = ctx.char == "@" }) end)
  end)
end

local M = {}
M.new = source.new

local registered = false
--- Registers the source with nvim-cmp (once; when cmp is loaded).
function M.register()
  if registered or not package.loaded["cmp"] then return end
  registered = pcall(function() require("cmp").register_source("codex", source.new()) end)
end

return M
