---@mod codex.ui.user_input  Server requests that ask the user, not for an approval.
---
--- `item/tool/requestUserInput` asks each question with vim.ui.select / vim.ui.input
--- (vim.fn.inputsecret for secrets). MCP elicitations in url mode offer to open the URL; a
--- form with a flat schema is asked field by field (codex.ui.elicitation); other forms, which
--- the plugin cannot render, offer only "Decline" or "Cancel", saying why. (MCP tool-call
--- approvals are approval prompts: codex.ui.approval.) Each request is answered once, and not
--- at all when the server settled it first.
local util = require("codex.ui.util")

local M = {}

local val, list = require("codex.util").val, require("codex.util").list

local function str(v)
  v = val(v)
  if v == nil then return nil end
  if type(v) == "string" then return v end
  if type(v) == "table" then
    local ok, s = pcall(vim.json.encode, v)
    if ok then return s end
  end
  return tostring(v)
end

local function open(req) return not req.answered and not req.resolved end

--- Asks for free text, then cb(text) in a scheduled context.
local function input(prompt, cb)
  vim.ui.input({ prompt = prompt .. " " }, function(text) vim.schedule(function() cb(text) end) end)
end

--- One question with options: a pick (or "Other…", then text), cb(answer or nil).
local function select_option(q, prompt, cb)
  local items = {}
  for _, o in ipairs(list(q.options)) do items[#items + 1] = { label = str(o.label) or "?", description = str(o.description) } end
  if val(q.isOther) ~= false then items[#items + 1] = { label = "Other…", other = true } end
  vim.ui.select(items, {
    prompt = prompt,
    format_item = function(it) return it.description and (it.label .. " — " .. it.description) or it.label end,
  }, function(choice)
    vim.schedule(function()
      if choice and choice.other then return input(prompt, cb) end
      cb(choice and choice.label or nil)
    end)
  end)
end

--- item/tool/requestUserInput: the questions one after another, then one answer with all.
---@param req codex.ServerRequest
function M.ask(req)
  local questions = list(req.params.questions)
  local answers = {}
  local i = 0
  local step
  local function record(q, value)
    if value ~= nil and value ~= "" then answers[str(q.id) or tostring(i)] = { answers = { value } } end
  end
  step = function()
    if not open(req) then return end
    i = i + 1
    local q = questions[i]
    if not q then
      req:respond({ answers = answers })
      return
    end
    if type(q) ~= "table" then return step() end
    local prompt = table.concat(vim.tbl_filter(function(s) return s ~= "" end, { str(q.header) or "", str(q.question) or "" }), ": ")
    if prompt == "" then prompt = "Codex asks" end
    local function answered(value)
      record(q, value)
      step()
    end
    if val(q.isSecret) == true then
      local ok, v = pcall(vim.fn.inputsecret, prompt .. " ")
      record(q, ok and v or nil)
      return vim.schedule(step)
    end
    if #list(q.options) > 0 then return select_option(q, prompt, answered) end
    input(prompt, answered)
  end
  vim.schedule(step)
end

--- mcpServer/elicitation/request: url mode opens the link on "Open"; a flat form is asked
--- field by field; other forms can only be declined (the tool call goes on without the data)
--- or cancelled.
---@param req codex.ServerRequest
function M.elicit(req)
  local p = req.params
  local server = str(p.serverName) or "an MCP server"
  local function answer(action)
    if open(req) then req:respond({ action = action, content = vim.NIL }) end
  end
  vim.schedule(function()
    if not open(req) then return end
    if p.mode == "url" then
      local url = str(p.url) or ""
      vim.ui.select({ "Open", "Decline", "Cancel" }, {
        prompt = ("%s: %s — %s"):format(server, str(p.message) or "open a link", url),
      }, function(choice)
        vim.schedule(function()
          if choice == "Open" then
            local problem = util.open_url(url)
            if problem then util.notify(("could not open %s: %s"):format(url, problem), vim.log.levels.WARN) end
            answer("accept")
          else
            answer(choice == "Cancel" and "cancel" or "decline")
          end
        end)
      end)
      return
    end
    local why
    if p.mode == "form" then
      local fields, problem = require("codex.elicitation").fields(p.requestedSchema)
      if fields then return require("codex.ui.elicitation").ask(req, fields) end
      why = problem
    else
      why = ("its mode %s is not supported"):format(str(p.mode) or "?")
    end
    -- other modes (openai/form, openai/userVerification) and forms that are not flat:
    -- codex.nvim cannot render them.
    local msg = str(p.message) or str(p.title) or str(p.description) or "asks for input"
    util.notify(("%s sent a form codex.nvim cannot show (%s): decline or cancel it"):format(server, why), vim.log.levels.WARN)
    vim.ui.select({ "Decline", "Cancel" }, {
      prompt = ("%s: %s (codex.nvim cannot show this form)"):format(server, msg),
    }, function(choice)
      vim.schedule(function() answer(choice == "Cancel" and "cancel" or "decline") end)
    end)
  end)
end

return M
