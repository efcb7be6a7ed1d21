-- Server requests the real app-server cannot send offline (MCP tool-call approvals, MCP
-- forms, permission requests), sent by the scripted fake app-server (tests/fake/app_server.lua,
-- `fake/server_request`) to a real client whose handler is the UI's (codex.ui.approval.handle).
-- Each test answers through the UI (keys in the approval float, or stubbed vim.ui.select /
-- vim.ui.input) and checks the answer the fake received, as JSON.
if not (type(vim) == "table" and vim.api) then
  pending("ui: elicitations (Neovim only)")
  return
end

local api = vim.api
local env = require("lib.env")
local fake = require("lib.fake")

local T = 5000

local function keys(s)
  api.nvim_feedkeys(api.nvim_replace_termcodes(s, true, false, true), "x", false)
end

describe("ui: server requests answered through the UI (fake app-server)", function()
  local approval = require("codex.ui.approval")
  local notes = env.capture_notify({ quiet = true })
  teardown(notes.restore)

  local c, seen
  local real_select, real_input = vim.ui.select, vim.ui.input

  before_each(function()
    seen = {}
    -- a prompt a test did not script is dismissed (never a blocking real prompt)
    vim.ui.select = function(_, _, cb) cb(nil) end
    vim.ui.input = function(_, cb) cb(nil) end
    c = fake.client({ approval_handler = function(req)
      seen[#seen + 1] = req
      return approval.handle(req)
    end })
  end)

  after_each(function()
    vim.ui.select, vim.ui.input = real_select, real_input
    pcall(function() c:close() end)
    for _, w in ipairs(api.nvim_list_wins()) do
      if w ~= api.nvim_list_wins()[1] then pcall(api.nvim_win_close, w, true) end
    end
    env.settle()
  end)

  --- Sends one server request from the fake; returns the client's request object.
  local function send(method, params)
    local n = #seen
    c:request("fake/server_request", { method = method, params = params })
    env.wait(function() return #seen > n end, "the request to reach the handler", T)
    return seen[#seen]
  end

  --- The answer the fake recorded for `req`: the decoded result and the raw line.
  local function answer_of(req)
    env.wait(function() return req.answered end, "the UI to answer", T)
    local st = c:request("fake/stats")
    for i, a in ipairs(st.answers) do
      if a.id == req.id then return a.result, st.answer_lines[i] end
    end
    error("the fake got no answer for request " .. tostring(req.id))
  end

  --- vim.ui.select that picks, at each call, the item whose label matches the next pattern.
  local function select_script(patterns, log)
    local i = 0
    vim.ui.select = function(items, opts, cb)
      i = i + 1
      local labels = {}
      for k, it in ipairs(items) do labels[k] = opts.format_item and opts.format_item(it) or tostring(it) end
      if log then log[#log + 1] = { prompt = opts.prompt, labels = labels } end
      local want = patterns[i]
      if want == nil then return cb(nil) end
      for k, l in ipairs(labels) do
        if l:find(want, 1, true) then return cb(items[k], k) end
      end
      error(("no item matches %q in %s"):format(want, table.concat(labels, " | ")))
    end
  end

  --- vim.ui.input that answers the next text at each call (nil: dismissed).
  local function input_script(texts, log)
    local i = 0
    vim.ui.input = function(opts, cb)
      i = i + 1
      if log then log[#log + 1] = opts.prompt end
      cb(texts[i])
    end
  end

  local function tool_approval(tid, persist)
    return {
      threadId = tid, turnId = "turn-1", serverName = "files", mode = "form",
      message = 'Allow the files MCP server to run tool "delete_file"?',
      requestedSchema = { type = "object", properties = vim.empty_dict() },
      _meta = {
        codex_approval_kind = "mcp_tool_call", persist = persist,
        tool_description = "Deletes a file", tool_params = { path = "/tmp/x.txt", force = true },
      },
    }
  end

  --- The prompt's choice labels, and a g-chord pressed in the float.
  local function labels(tid)
    local cur = approval.current(tid)
    local out = {}
    for i, ch in ipairs(cur.choices) do out[i] = ch.label end
    return out
  end

  local function press(tid, label)
    local cur = approval.current(tid)
    for i, ch in ipairs(cur.choices) do
      if ch.label:find(label, 1, true) then
        expect.truthy(approval.focus(tid), "focus moves into the prompt")
        keys("g" .. i)
        return
      end
    end
    error("no choice " .. label)
  end

  it("MCP tool approval: a prompt with server, tool and arguments; Allow for this session sends persist", function()
    local req = send("mcpServer/elicitation/request", tool_approval("t-mcp1", { "session", "always" }))
    approval.show("t-mcp1")
    env.wait(function() return approval.current("t-mcp1") ~= nil end, "the prompt", T)
    expect.same(labels("t-mcp1"), {
      "Allow once", "Allow for this session", "Always allow (saved in codex's config.toml)",
      "Decline (the tool does not run; the agent continues)", "Cancel (the tool does not run)",
    })
    local text = table.concat(api.nvim_buf_get_lines(approval.current("t-mcp1").buf, 0, -1, false), "\n")
    expect.match(text, "Codex wants to run an MCP tool")
    expect.match(text, "files · delete_file")
    expect.match(text, "Deletes a file")
    expect.match(text, "path: /tmp/x.txt")
    expect.match(text, "force: true")
    expect.falsy(req.answered, "never answered without the user")
    press("t-mcp1", "Allow for this session")
    local result, line = answer_of(req)
    expect.same(result, { action = "accept", content = {}, _meta = { persist = "session" } })
    expect.match(line, '"content":{}')
    expect.eq(approval.current("t-mcp1"), nil, "the prompt closed")
  end)

  it("MCP tool approval: Allow once sends no persist; Always only where offered", function()
    local req = send("mcpServer/elicitation/request", tool_approval("t-mcp2", "session"))
    approval.show("t-mcp2")
    env.wait(function() return approval.current("t-mcp2") ~= nil end, "the prompt", T)
    local l = labels("t-mcp2")
    expect.eq(#l, 4)
    expect.eq(l[2], "Allow for this session")
    press("t-mcp2", "Allow once")
    local result, line = answer_of(req)
    expect.same(result, { action = "accept", content = {} })
    expect.falsy(line:find("_meta", 1, true), "no _meta: " .. line)

    local req2 = send("mcpServer/elicitation/request", tool_approval("t-mcp3", "always"))
    approval.show("t-mcp3")
    env.wait(function() return approval.current("t-mcp3") ~= nil end, "the prompt", T)
    expect.eq(labels("t-mcp3")[2], "Always allow (saved in codex's config.toml)")
    press("t-mcp3", "Always allow")
    expect.same((answer_of(req2)), { action = "accept", content = {}, _meta = { persist = "always" } })
  end)

  it("MCP tool approval: Decline and Cancel send content null; no persist offered, no remembered choice", function()
    local req = send("mcpServer/elicitation/request", tool_approval("t-mcp4", nil))
    approval.show("t-mcp4")
    env.wait(function() return approval.current("t-mcp4") ~= nil end, "the prompt", T)
    expect.same(labels("t-mcp4"), { "Allow once", "Decline (the tool does not run; the agent continues)", "Cancel (the tool does not run)" })
    press("t-mcp4", "Decline")
    local result, line = answer_of(req)
    expect.eq(result.action, "decline")
    expect.match(line, '"content":null')
    local req2 = send("mcpServer/elicitation/request", tool_approval("t-mcp5", nil))
    approval.show("t-mcp5")
    env.wait(function() return approval.current("t-mcp5") ~= nil end, "the prompt", T)
    press("t-mcp5", "Cancel")
    local result2, line2 = answer_of(req2)
    expect.eq(result2.action, "cancel")
    expect.match(line2, '"content":null')
  end)

  it("MCP tool approval: never auto-approved by the other rules; an mcp_tools rule allows it once", function()
    local approvals = require("codex.approvals")
    pcall(function() c:close() end)
    local handled = {}
    c = fake.client({ approval_handler = function(req)
      seen[#seen + 1] = req
      return approvals.policy({ commands = true, file_changes = true, permissions = true,
        mcp_tools = { "^files/read_file$" },
        otherwise = function(r) handled[#handled + 1] = r; return approval.handle(r) end })(req)
    end })
    local req = send("mcpServer/elicitation/request", tool_approval("t-mcp6", "session"))
    expect.eq(#handled, 1, "delete_file goes to the prompt")
    approval.show("t-mcp6")
    env.wait(function() return approval.current("t-mcp6") ~= nil end, "the prompt", T)
    press("t-mcp6", "Decline")
    expect.eq((answer_of(req)).action, "decline")
    local p = tool_approval("t-mcp7", "session")
    p.message = 'Allow the files MCP server to run tool "read_file"?'
    local req2 = send("mcpServer/elicitation/request", p)
    local result, line = answer_of(req2)
    expect.same(result, { action = "accept", content = {} })
    expect.match(line, '"content":{}')
    expect.eq(#handled, 1, "the rule answered it")
    expect.eq(approval.pending("t-mcp7"), 0)
  end)

  it("a flat form is asked field by field, validated, and answered accept with its content", function()
    local prompts, inputs = {}, {}
    select_script({ "Answer (5 fields)", "Green", "Yes" }, prompts)
    input_script({ "abc", "4.5", "200", " 42 ", "", "A", "Ann", "" }, inputs)
    local req = send("mcpServer/elicitation/request", {
      threadId = "t-form", serverName = "signup", mode = "form", message = "Tell us about you",
      requestedSchema = {
        type = "object",
        required = { "name", "age", "color" },
        properties = {
          name = { type = "string", title = "Name", minLength = 2 },
          age = { type = "integer", minimum = 0, maximum = 150 },
          color = { type = "string", oneOf = { { const = "red", title = "Red" }, { const = "green", title = "Green" } } },
          subscribe = { type = "boolean", title = "Subscribe" },
          note = { type = "string", description = "anything else" },
        },
      },
    })
    local result, line = answer_of(req)
    expect.same(result, { action = "accept", content = { age = 42, color = "green", name = "Ann", subscribe = true } })
    expect.match(line, '"age":42[,}]')
    expect.match(prompts[1].prompt, "signup: Tell us about you")
    expect.match(inputs[1], "age %[required, whole number, 0–150%]")
    local problems = {}
    for _, n in ipairs(notes.list) do problems[#problems + 1] = n.msg end
    problems = table.concat(problems, "\n")
    expect.match(problems, "age must be a number")
    expect.match(problems, "age must be a whole number")
    expect.match(problems, "age must be at most 150")
    expect.match(problems, "Name is required")
    expect.match(problems, "Name needs at least 2 characters")
  end)

  it("a form dismissed at a field is cancelled; Decline declines", function()
    select_script({ "Answer (1 field)" })
    input_script({})
    local schema = { type = "object", properties = { q = { type = "string" } } }
    local req = send("mcpServer/elicitation/request", { threadId = "t-f2", serverName = "s", mode = "form", message = "Q?", requestedSchema = schema })
    local result, line = answer_of(req)
    expect.eq(result.action, "cancel")
    expect.match(line, '"content":null')
    select_script({ "Decline" })
    local req2 = send("mcpServer/elicitation/request", { threadId = "t-f2", serverName = "s", mode = "form", message = "Q?", requestedSchema = schema })
    expect.eq((answer_of(req2)).action, "decline")
  end)

  it("a form that is not flat is declined or cancelled, with a notification saying why", function()
    local log = {}
    select_script({ "Decline" }, log)
    local req = send("mcpServer/elicitation/request", { threadId = "t-f3", serverName = "s", mode = "form", message = "Pick",
      requestedSchema = { type = "object", properties = { tags = { type = "array", items = { type = "string", enum = { "a" } } } } } })
    local result, line = answer_of(req)
    expect.eq(result.action, "decline")
    expect.match(line, '"content":null')
    expect.same(log[1].labels, { "Decline", "Cancel" })
    local found = false
    for _, n in ipairs(notes.list) do
      if n.msg:find("cannot show", 1, true) and n.msg:find("tags is of type array", 1, true) then found = true end
    end
    expect.truthy(found, "a notification names the field it cannot show")
  end)

  it("permissions: Grant only some… grants the checked subset, in the request's shape", function()
    local req = send("item/permissions/requestApproval", {
      threadId = "t-perm", turnId = "turn-1", itemId = "call-1", cwd = "/w", reason = "needs them",
      permissions = { network = { enabled = true }, fileSystem = { read = { "/r" }, write = { "/a", "/b" } } },
    })
    approval.show("t-perm")
    env.wait(function() return approval.current("t-perm") ~= nil end, "the prompt", T)
    expect.same(labels("t-perm"), { "Grant all for this turn", "Grant all for this session", "Grant only some…",
      "Decline (grant nothing; the agent continues)" })
    -- dismissing the checklist answers nothing: the prompt still waits
    select_script({ "[ ] write /b" })
    press("t-perm", "Grant only some")
    env.settle()
    expect.falsy(req.answered)
    expect.truthy(approval.current("t-perm") ~= nil)
    local log = {}
    select_script({ "[ ] write /b", "[ ] network access", "[ ] read /r", "[x] read /r", "Grant the checked (2) for this session" }, log)
    press("t-perm", "Grant only some")
    local result = answer_of(req)
    expect.same(result, { permissions = { network = { enabled = true }, fileSystem = { write = { "/b" } } }, scope = "session" })
    expect.same(log[1].labels, { "[ ] network access", "[ ] read /r", "[ ] write /a", "[ ] write /b",
      "Grant the checked (0) for this turn", "Grant the checked (0) for this session" })
    expect.eq(approval.current("t-perm"), nil, "the prompt closed")
  end)

  it("permissions: one piece only offers grant / decline (nothing to pick); requestUserInput still works", function()
    local req = send("item/permissions/requestApproval", {
      threadId = "t-perm2", turnId = "turn-1", itemId = "call-2", cwd = "/w",
      permissions = { fileSystem = { write = { "/a" } } },
    })
    approval.show("t-perm2")
    env.wait(function() return approval.current("t-perm2") ~= nil end, "the prompt", T)
    expect.same(labels("t-perm2"), { "Grant for this turn", "Grant for this session", "Decline (grant nothing; the agent continues)" })
    press("t-perm2", "Grant for this turn")
    expect.same((answer_of(req)), { permissions = { fileSystem = { write = { "/a" } } }, scope = "turn" })

    select_script({ "B" })
    local q = send("item/tool/requestUserInput", { threadId = "t-q", turnId = "u", itemId = "i", isBlocking = true, questions = {
      { id = "q1", header = "Plan", question = "Which?", isOther = false, isSecret = false,
        options = { { label = "A", description = "a" }, { label = "B", description = "b" } } },
    } })
    expect.same((answer_of(q)), { answers = { q1 = { answers = { "B" } } } })
  end)
end)
