---@mod codex.ui.elicitation  A flat MCP form, asked field by field.
---
--- A server's form (`mcpServer/elicitation/request`, mode "form", a flat requestedSchema: see
--- codex.elicitation.fields) is asked with vim.ui: first what the server wants (Answer /
--- Decline / Cancel), then each field in turn — enums and booleans with vim.ui.select, text
--- and numbers with vim.ui.input, checked (type, required, min/max, length, format) and asked
--- again with the problem shown until valid. Dismissing any step cancels the request; after
--- the last field it is answered accept with `content` = {field: value} (optional fields left
--- empty are left out). Answered once, and not at all when the server settled it first.
local form = require("codex.elicitation")
local util = require("codex.ui.util")

local M = {}

local SKIP_LABEL = "(leave empty)"

local function open(req) return not req.answered and not req.resolved end

local function select(items, prompt, cb)
  vim.ui.select(items, {
    prompt = prompt,
    format_item = function(it) return type(it) == "table" and it.label or tostring(it) end,
  }, function(choice) vim.schedule(function() cb(choice) end) end)
end

--- One enum or boolean field: cb(value | form.SKIP | nil when dismissed).
local function ask_choice(f, prompt, cb)
  local items = {}
  if f.kind == "boolean" then
    items = { { label = "Yes", value = true }, { label = "No", value = false } }
  else
    for _, o in ipairs(f.options) do items[#items + 1] = { label = o.label, value = o.value } end
  end
  -- the default first, so <CR> on the first entry takes it
  for i, it in ipairs(items) do
    if f.default ~= nil and it.value == f.default and i > 1 then
      table.remove(items, i)
      table.insert(items, 1, it)
      it.label = it.label .. " (default)"
      break
    end
  end
  if not f.required then items[#items + 1] = { label = SKIP_LABEL, skip = true } end
  select(items, prompt, function(choice)
    if not choice then return cb(nil) end
    cb(choice.skip and form.SKIP or choice.value)
  end)
end

--- One text or number field, asked again until it is valid: cb(value | form.SKIP | nil).
local function ask_text(f, prompt, cb, default)
  vim.ui.input({ prompt = prompt .. ": ", default = default }, function(text)
    vim.schedule(function()
      if text == nil then return cb(nil) end
      local value, problem = form.check(f, text)
      if problem then
        util.notify(problem, vim.log.levels.WARN)
        return ask_text(f, prompt, cb, text)
      end
      cb(value)
    end)
  end)
end

--- Asks a flat form (fields from codex.elicitation.fields) and answers the request.
---@param req codex.ServerRequest
---@param fields codex.FormField[]
function M.ask(req, fields)
  local p = req.params
  local server = type(p.serverName) == "string" and p.serverName or "an MCP server"
  local message = type(p.message) == "string" and p.message or "asks for input"
  local function answer(result)
    if open(req) then req:respond(result) end
  end
  local function decline(action) answer({ action = action, content = vim.NIL }) end
  local content, i = {}, 0
  local step
  step = function()
    if not open(req) then return end
    i = i + 1
    local f = fields[i]
    if not f then return answer({ action = "accept", content = content }) end
    local prompt = ("%s (%d/%d): %s"):format(server, i, #fields, form.prompt(f))
    local function got(value)
      if value == nil then return decline("cancel") end
      if value ~= form.SKIP then content[f.name] = value end
      step()
    end
    if f.kind == "enum" or f.kind == "boolean" then return ask_choice(f, prompt, got) end
    local default = f.default ~= nil and tostring(f.default) or nil
    ask_text(f, prompt, got, default)
  end
  local first = #fields > 0 and ("Answer (%d field%s)"):format(#fields, #fields == 1 and "" or "s") or "Accept"
  select({ first, "Decline", "Cancel" }, ("%s: %s"):format(server, message), function(choice)
    if not open(req) then return end
    if choice == first then return step() end
    decline(choice == "Decline" and "decline" or "cancel")
  end)
end

return M
