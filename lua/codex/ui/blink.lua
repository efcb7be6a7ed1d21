---@mod codex.ui.blink  A blink.cmp source for the chat's input: `@` files, `#` context, `$` skills, `/` commands.
---
--- In blink.cmp's config (nothing requires this module otherwise):
---   sources = { default = { …, "codex" }, providers = { codex = { name = "Codex", module = "codex.ui.blink" } } }
--- It offers nothing outside a chat's input buffer.
local item = require("codex.ui.completion_item")

local source = {}
source.__index = source

function source.new(opts) return setmetatable({ opts = opts or {} }, source) end
function source:enabled() return item.in_input() end
function source:get_trigger_characters() return { "@", "#", "$", "/" } end

function source:get_completions(_, callback)
  local chat, ctx = item.here()
  if not chat then
    callback({ items = {}, is_incomplete_forward = false, is_incomplete_backward = false })
    return function() end
  end
  local cancelled = false
  require("codex.ui.complete").items(chat, ctx, function(list)
    vim.schedule(function()
      if cancelled then return end
      local inc = ctx.char == "@" -- (the server ranks each query anew)
      callback({ items = item.convert(list, ctx), is_incomplete_forward = inc, is_incomplete_backward = inc })
    end)
  end)
  return function() cancelled = true end
end

return source
