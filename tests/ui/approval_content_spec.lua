-- codex.ui.approval_content: what an approval prompt says (choices, lines, highlights). Pure:
-- runs under Lua 5.4 as inside Neovim, without windows.
local content = require("codex.ui.approval_content")

local function req(method, params, extra)
  local r = { method = method, params = params }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local CMD = "item/commandExecution/requestApproval"
local PATCH = "item/fileChange/requestApproval"
local PERMS = "item/permissions/requestApproval"

local function keys_of(choices)
  local out = {}
  for i, c in ipairs(choices) do out[i] = c.key end
  return out
end

local function text(c) return table.concat(c.lines, "\n") end

-- The text a highlight covers, as "text:group".
local function spans(c)
  local out = {}
  for _, h in ipairs(c.hls) do
    local line = c.lines[h[1] + 1]
    out[#out + 1] = line:sub(h[3] + 1, h[4] == -1 and #line or h[4]) .. ":" .. h[2]
  end
  return out
end

local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

local KEYMAPS = { focus_approval = "<C-a>", approval_choose = "<CR>", approval_back = "<Esc>",
  approval_next_file = "]f", approval_prev_file = "[f" }

describe("codex.ui.approval_content", function()
  it("knows the three approval methods", function()
    expect.eq(content.KINDS[CMD], "command")
    expect.eq(content.KINDS[PATCH], "patch")
    expect.eq(content.KINDS[PERMS], "permissions")
    expect.eq(content.KINDS["item/tool/requestUserInput"], nil)
  end)

  it("choices are exactly availableDecisions, decline added before cancel, keyed on the value", function()
    local amend = { acceptWithExecpolicyAmendment = { execpolicy_amendment = { "npm", "test" } } }
    local ch = content.choices(req(CMD, { availableDecisions = { "accept", amend, "cancel" } }), "command")
    expect.same(keys_of(ch), { "accept", "acceptWithExecpolicyAmendment", "decline", "cancel" })
    expect.eq(ch[1].label, "Run once")
    expect.eq(ch[2].label, "Always allow commands starting with `npm test`")
    expect.same(ch[2].result, { decision = amend })
    expect.eq(ch[3].group, "CodexApprovalDecline")
    expect.eq(ch[4].group, "CodexApprovalCancel")
    expect.same(keys_of(content.choices(req(CMD, { availableDecisions = { "accept" } }), "command")), { "accept", "decline" })
  end)

  it("without availableDecisions: the documented set; patch labels say apply", function()
    local ch = content.choices(req(PATCH, {}), "patch")
    expect.same(keys_of(ch), { "accept", "acceptForSession", "decline", "cancel" })
    expect.eq(ch[1].label, "Apply the change")
    expect.match(ch[2].label, "allow changes to these files")
  end)

  it("network amendments name the host; permissions grant per turn or session", function()
    local net = { applyNetworkPolicyAmendment = { network_policy_amendment = { host = "example.com", action = "deny" } } }
    local ch = content.choices(req(CMD, { availableDecisions = { net } }), "command")
    expect.eq(ch[1].label, "Always deny network access to example.com")
    local perms = { network = { enabled = true } }
    local pc = content.choices(req(PERMS, { permissions = perms }), "permissions")
    expect.same(keys_of(pc), { "accept", "acceptForSession", "decline" })
    expect.same(pc[1].result, { permissions = perms, scope = "turn" })
    expect.same(pc[2].result.scope, "session")
    expect.same(pc[3].result, { permissions = {} })
  end)

  it("a command prompt: header, key hint, the script out of its shell wrapper, fields, choices", function()
    local r = req(CMD, { command = "/bin/bash -lc 'ls -la'", cwd = "/w", reason = "look around",
      proposedExecpolicyAmendment = { "ls" } })
    local ch = content.choices(r, "command")
    local c = content.render(r, "command", ch, { keymaps = KEYMAPS })
    expect.eq(c.lines[1], " Codex wants to run a command")
    -- the hint says how to get to the prompt (the chords work only there); the float swaps
    -- in hint_in while focus is in it
    expect.eq(c.hint_row, 2)
    expect.eq(c.lines[2], " <C-a> to answer")
    expect.eq(c.hint_away, " <C-a> to answer")
    expect.eq(c.hint_in, " <CR> on a choice · g1-g4 · <Esc> back")
    local t = text(c)
    expect.match(t, "\n  %$ ls %-la\n")
    expect.match(t, "  via: /bin/bash %-lc 'ls %-la'")
    expect.match(t, "  cwd: /w")
    expect.match(t, "  reason: look around")
    expect.match(t, "proposal: always allow commands starting with `ls`")
    local s = spans(c)
    expect.truthy(has(s, "Codex wants to run a command:CodexApprovalTitle"))
    expect.truthy(has(s, "ls -la:CodexApprovalCommand"))
    expect.truthy(has(s, "cwd::CodexApprovalLabel"))
    -- choices: the last lines, each mapped to its index
    for i = 1, #ch do
      local lnum = #c.lines - #ch + i
      expect.eq(c.choice_at[lnum], i)
      expect.eq(c.lines[lnum], ("  g%d  %s"):format(i, ch[i].label))
    end
    expect.same(c.files, {})
  end)

  it("the command comes from the item when the request has none; JSON null is no value", function()
    -- The decoder's null: vim.NIL in Neovim, codex.core.null under plain Lua (both userdata;
    -- any userdata where the C core is not built for this Lua, e.g. a bare LuaJIT).
    local null = type(vim) == "table" and vim.NIL
      or (function() local ok, core = pcall(require, "codex.core") return ok and core.null or io.stdout end)()
    local r = req(CMD, { command = null, reason = null, cwd = null }, { item = { command = { "echo", "hi" } } })
    local t = text(content.render(r, "command", content.choices(r, "command"), nil))
    expect.match(t, "%$ echo hi")
    expect.falsy(t:find("reason:", 1, true), "a null field is not shown")
    expect.falsy(t:find("cwd:", 1, true))
    local ch = content.choices(req(CMD, { availableDecisions = null }), "command")
    expect.same(keys_of(ch), { "accept", "acceptForSession", "decline", "cancel" })
  end)

  it("a patch prompt: one header line per file (in files), its diff highlighted, long diffs cut", function()
    local long = {}
    for i = 1, content.MAX_DIFF_LINES + 5 do long[i] = "line " .. i end
    local item = { changes = {
      { path = "/w/a.txt", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-old\n+new\n" },
      { path = "/w/b.txt", kind = "add", diff = table.concat(long, "\n") },
    } }
    local r = req(PATCH, { reason = "fix" }, { item = item })
    local ch = content.choices(r, "patch")
    local c = content.render(r, "patch", ch, { keymaps = KEYMAPS, display_path = function(p) return (p:gsub("^/w/", "")) end })
    expect.eq(c.lines[1], " Codex wants to change 2 files")
    expect.match(c.hint_in, "%]f/%[f files")
    expect.eq(#c.files, 2)
    expect.eq(c.lines[c.files[1]], "  update a.txt")
    expect.eq(c.lines[c.files[2]], "  add    b.txt")
    local s = spans(c)
    expect.truthy(has(s, "-old:CodexApprovalDiffDelete"))
    expect.truthy(has(s, "+new:CodexApprovalDiffAdd"))
    expect.truthy(has(s, "@@ -1 +1 @@:CodexApprovalDiffChange"))
    expect.truthy(has(s, "+line 1:CodexApprovalDiffAdd"), "an added file's content is shown as added lines")
    expect.match(text(c), "… 5 more lines")
    expect.falsy(text(c):find("line " .. (content.MAX_DIFF_LINES + 1), 1, true))
    expect.match(text(c), "The answer covers the whole patch")
  end)

  it("compact: the choices right after a summary (command's first lines, the files), the details below", function()
    local script = "set -e\nstep one\nstep two\nstep three\nstep four"
    local r = req(CMD, { command = "/bin/bash -lc '" .. script .. "'", cwd = "/w", reason = "build" })
    local ch = content.choices(r, "command")
    local c = content.render(r, "command", ch, { keymaps = KEYMAPS, compact = true })
    expect.eq(c.lines[3], "  $ set -e")
    expect.eq(c.lines[5], "  $ step two")
    expect.eq(c.lines[6], "    … 2 more lines below")
    expect.eq(c.choice_at[7], 1, "the first choice right after the summary")
    expect.eq(c.choices_end, 6 + #ch)
    local after = table.concat(c.lines, "\n", c.choices_end + 1)
    expect.match(after, "%$ set %-e\n  %$ step one\n.*step four", "the whole command is in the details")
    expect.match(after, "reason: build")
    -- a short command is not repeated below
    local short = req(CMD, { command = "ls", reason = "look" })
    local sc = content.render(short, "command", content.choices(short, "command"), { compact = true })
    expect.eq(sc.lines[3], "  $ ls")
    expect.eq(sc.choice_at[4], 1)
    expect.falsy(table.concat(sc.lines, "\n", sc.choices_end + 1):find("$ ls", 1, true))
    -- a patch: the files on one line, the choices, then the diffs (files point into them)
    local item = { changes = {
      { path = "/w/a.txt", kind = { type = "update" }, diff = "@@ -1 +1 @@\n-old\n+new\n" },
      { path = "/w/b.txt", kind = "add", diff = "x\n" },
    } }
    local pr = req(PATCH, { reason = "fix" }, { item = item })
    local pc = content.render(pr, "patch", content.choices(pr, "patch"), { compact = true,
      display_path = function(p) return (p:gsub("^/w/", "")) end })
    expect.eq(pc.lines[3], "  files: update a.txt, add b.txt")
    expect.eq(pc.choice_at[4], 1)
    expect.truthy(pc.files[1] > pc.choices_end and pc.files[2] > pc.files[1])
    expect.eq(pc.lines[pc.files[1]], "  update a.txt")
  end)

  it("a patch prompt warns about target files open with unsaved changes", function()
    local item = { changes = { { path = "/w/main.lua", kind = "update", diff = "@@ -1 +1 @@\n-a\n+b\n" },
      { path = "/w/other.lua", kind = "update", diff = "@@ -1 +1 @@\n-a\n+b\n" } } }
    local r = req(PATCH, {}, { item = item })
    local ctx = { display_path = function(p) return (p:gsub("^/w/", "")) end,
      unsaved = function(p) return p == "/w/main.lua" end }
    for _, compact in ipairs({ false, true }) do
      ctx.compact = compact
      local c = content.render(r, "patch", content.choices(r, "patch"), ctx)
      local t = text(c)
      expect.match(t, "! main%.lua has unsaved changes in Neovim")
      expect.falsy(t:find("other.lua has unsaved", 1, true))
      local row
      for i, l in ipairs(c.lines) do if l:find("unsaved", 1, true) then row = i end end
      expect.truthy(row < c.choices_end, "the warning comes before the choices")
      expect.truthy(has(spans(c), "! main.lua has unsaved changes in Neovim:CodexApprovalDecline"))
    end
  end)

  it("a patch without its item says the diff is not available", function()
    local r = req(PATCH, {})
    local c = content.render(r, "patch", content.choices(r, "patch"))
    expect.eq(c.lines[1], " Codex wants to change files")
    expect.match(text(c), "%(the diff is not available%)")
  end)

  it("the item can come from the turn (params.itemId)", function()
    local turn = { item = function(_, id) return id == "i1" and { changes = { { path = "x", diff = "+a" } } } or nil end }
    local r = req(PATCH, { itemId = "i1" }, { turn = turn })
    expect.eq(content.render(r, "patch", content.choices(r, "patch")).lines[1], " Codex wants to change a file")
    local _, paths = content.summary(r, "patch")
    expect.same(paths, { "x" })
  end)

  it("a permissions prompt lists network and file system access; odd shapes go through encode", function()
    local r = req(PERMS, { cwd = "/w", permissions = { network = { enabled = true }, fileSystem = { read = { "/data" }, write = { { path = "/out" } } } } })
    local t = text(content.render(r, "permissions", content.choices(r, "permissions")))
    expect.match(t, "Codex asks for more permissions")
    expect.match(t, "  network: enabled")
    expect.match(t, "  read: /data")
    expect.match(t, "  write: /out")
    local odd = req(PERMS, { permissions = { something = 1 } })
    local ot = text(content.render(odd, "permissions", content.choices(odd, "permissions"), { encode = function() return "{json}" end }))
    expect.match(ot, "permissions: {json}")
    local none = req(PERMS, {})
    expect.match(text(content.render(none, "permissions", content.choices(none, "permissions"))), "%(no permissions listed%)")
  end)

  it("summary and thread labels for notifications", function()
    expect.eq((content.summary(req(CMD, { command = { "ls", "-l" } }), "command")), "ls -l")
    expect.eq(content.thread_label("my thread", "t1"), '"my thread"')
    expect.eq(content.thread_label(("x"):rep(50), "t1"), '"' .. ("x"):rep(40) .. '"')
    expect.eq(content.thread_label(nil, "t1"), "thread t1")
    expect.eq(content.thread_label("", ""), "a thread")
  end)

  it("MCP tool approvals: choices as persist offers them, answers as codex reads them", function()
    local NULL = {}
    local function mcp(persist)
      return req("mcpServer/elicitation/request", { threadId = "t", serverName = "files", mode = "form",
        message = 'Allow the files MCP server to run tool "rm"?', requestedSchema = { type = "object", properties = {} },
        _meta = { codex_approval_kind = "mcp_tool_call", persist = persist, tool_title = "Remove",
          tool_params_display = { { name = "path", display_name = "Path", value = "/x" } } } })
    end
    expect.same(keys_of(content.choices(mcp(nil), "mcp", { null = NULL })), { "once", "decline", "cancel" })
    expect.same(keys_of(content.choices(mcp("always"), "mcp", { null = NULL })), { "once", "always", "decline", "cancel" })
    local all = content.choices(mcp({ "session", "always" }), "mcp", { null = NULL })
    expect.same(keys_of(all), { "once", "session", "always", "decline", "cancel" })
    expect.same(all[1].result, { action = "accept", content = {} })
    expect.same(all[2].result, { action = "accept", content = {}, _meta = { persist = "session" } })
    expect.same(all[3].result, { action = "accept", content = {}, _meta = { persist = "always" } })
    expect.eq(all[4].result.action, "decline")
    expect.eq(all[4].result.content, NULL, "content: null")
    expect.eq(all[5].result.action, "cancel")
    local c = content.render(mcp("session"), "mcp", content.choices(mcp("session"), "mcp", {}), { keymaps = KEYMAPS })
    local t = text(c)
    expect.match(t, "Codex wants to run an MCP tool")
    expect.match(t, "tool: files · rm %(Remove%)")
    expect.match(t, "Path: /x")
    -- compact: the tool's name, then the choices, then the details
    local cc = content.render(mcp("session"), "mcp", content.choices(mcp("session"), "mcp", {}), { keymaps = KEYMAPS, compact = true })
    local first_choice = math.huge
    for lnum in pairs(cc.choice_at) do first_choice = math.min(first_choice, lnum) end
    local args_line
    for i, l in ipairs(cc.lines) do if l:find("Path: /x", 1, true) then args_line = i end end
    expect.truthy(args_line > first_choice, "the arguments come after the choices")
    expect.match(cc.lines[first_choice - 1], "tool: files · rm")
  end)

  it("permissions with several pieces offer a partial grant; grant.subset keeps the request's shape", function()
    local perms = { network = { enabled = true }, fileSystem = { read = { "/r" }, write = { "/a", "/b" }, globScanMaxDepth = 3,
      entries = { { path = { type = "path", path = "/e" }, access = "read" } } } }
    local ch = content.choices(req(PERMS, { threadId = "t", permissions = perms }), "permissions")
    expect.same(keys_of(ch), { "accept", "acceptForSession", "acceptSubset", "decline" })
    expect.truthy(ch[3].pick)
    local grant = require("codex.ui.grant")
    local pieces = grant.pieces(perms)
    local labels = {}
    for i, p in ipairs(pieces) do labels[i] = p.label end
    expect.same(labels, { "network access", "read /r", "write /a", "write /b", "read /e" })
    expect.same(grant.subset(perms, pieces, { [4] = true, [5] = true }),
      { fileSystem = { write = { "/b" }, entries = { { path = { type = "path", path = "/e" }, access = "read" } }, globScanMaxDepth = 3 } })
    expect.same(grant.subset(perms, pieces, { [1] = true }), { network = { enabled = true } })
    expect.same(keys_of(content.choices(req(PERMS, { threadId = "t", permissions = { network = { enabled = true } } }), "permissions")),
      { "accept", "acceptForSession", "decline" })
  end)

  it("flat form schemas: fields, checks and prompts (codex.elicitation)", function()
    local form = require("codex.elicitation")
    local fields = assert(form.fields({ type = "object", required = { "n" }, properties = {
      n = { type = "integer", minimum = 1, maximum = 5 }, s = { type = "string", maxLength = 3, format = "email" },
      e = { type = "string", enum = { "a", "b" }, enumNames = { "A", "B" } }, b = { type = "boolean", default = true },
      x = { type = "number" },
    } }))
    local kinds = {}
    for i, f in ipairs(fields) do kinds[i] = f.name .. ":" .. f.kind end
    expect.same(kinds, { "b:boolean", "e:enum", "n:integer", "s:string", "x:number" })
    expect.same(fields[2].options, { { value = "a", label = "A" }, { value = "b", label = "B" } })
    local n, s, x = fields[3], fields[4], fields[5]
    expect.eq(form.check(n, "3"), 3)
    expect.eq(select(2, form.check(n, "")), "n is required")
    expect.eq(select(2, form.check(n, "6")), "n must be at most 5")
    expect.eq(select(2, form.check(n, "0")), "n must be at least 1")
    expect.eq(select(2, form.check(n, "2.5")), "n must be a whole number")
    expect.eq(form.check(s, ""), form.SKIP, "an optional field left empty is left out")
    expect.eq(select(2, form.check(s, "abcd")), "s takes at most 3 characters")
    expect.eq(select(2, form.check(s, "ab")), "s must be an e-mail address")
    expect.eq(form.check({ name = "u", label = "u", kind = "string", max = 2 }, "éé"), "éé", "lengths count characters")
    expect.eq(form.check(x, "-1.5"), -1.5)
    expect.eq(select(2, form.check(x, "nan")), "x must be a number")
    expect.eq(form.prompt(n), "n [required, whole number, 1–5]")
    -- not flat: nested objects, arrays (multi-select), a non-object schema
    expect.eq(form.fields({ type = "object", properties = { o = { type = "object" } } }), nil)
    expect.eq(select(2, form.fields({ type = "object", properties = { t = { type = "array" } } })), "field t is of type array")
    expect.eq(form.fields({ type = "string" }), nil)
    expect.same(form.fields({ type = "object", properties = {} }), {})
    expect.truthy(form.is_tool_approval({ mode = "form", _meta = { codex_approval_kind = "mcp_tool_call" } }))
    expect.falsy(form.is_tool_approval({ mode = "url", _meta = { codex_approval_kind = "mcp_tool_call" } }))
    expect.falsy(form.is_tool_approval({ mode = "form", _meta = { codex_approval_kind = "tool_suggestion" } }))
  end)

  it("the approval modules never require the chat; the pure ones use no vim.*", function()
    local function source(name)
      local f = assert(io.open(TEST_ROOT .. "/lua/codex/ui/" .. name .. ".lua"))
      local s = f:read("a")
      f:close()
      return s
    end
    for _, m in ipairs({ "approval", "approval_content", "approval_view", "user_input", "elicitation", "grant", "approval_hunks", "hunk_apply" }) do
      expect.falsy(source(m):find("codex.ui.chat", 1, true), m .. " requires nothing of the chat")
    end
    for _, m in ipairs({ "approval_content", "chat_items", "approval_hunks" }) do
      local code = source(m):gsub("%-%-[^\n]*", "") -- (comments may name vim.NIL)
      expect.falsy(code:find("vim%."), m .. " uses no vim.*")
    end
  end)

  describe("per-hunk choice of a patch (codex.ui.approval_hunks)", function()
    local hunks = require("codex.ui.approval_hunks")
    local CHANGES = {
      { path = "/w/big.lua", kind = { type = "update" },
        diff = "@@ -3,3 +3,3 @@\n function M.first()\n-  return 1\n+  return 10\n end\n@@ -18,3 +18,3 @@\n function M.second()\n-  return 2\n+  return 20\n end\n" },
      { path = "/w/extra.txt", kind = { type = "add" }, diff = "extra line 1\nextra line 2\n" },
    }
    local function patch_req()
      return req(PATCH, { itemId = "fc", availableDecisions = { "accept", "acceptForSession", "decline", "cancel" } },
        { item = { id = "fc", changes = CHANGES } })
    end

    it("splits the changes into units, all accepted; the choices follow the selection", function()
      local sel = assert(hunks.of(CHANGES))
      expect.eq(#sel.flat, 3)
      expect.eq(hunks.state(sel), "all")
      local r = patch_req()
      expect.same(keys_of(content.choices(r, "patch", { hunks = sel })), { "accept", "acceptForSession", "decline", "cancel" })
      hunks.set(sel, 2, false)
      expect.eq(hunks.state(sel), "some")
      local ch = content.choices(r, "patch", { hunks = sel })
      expect.same(keys_of(ch), { "partial", "decline", "cancel" })
      expect.truthy(ch[1].partial)
      expect.same(ch[1].result, { decision = "decline" }, "the request itself is declined")
      expect.match(ch[1].label, "2 of 3")
      hunks.set_all(sel, false)
      expect.same(keys_of(content.choices(r, "patch", { hunks = sel })), { "decline", "cancel" })
      expect.eq(hunks.set(sel, 3), true, "set without a value toggles")
      expect.eq(hunks.counts(sel), 1)
    end)

    it("has no per-hunk choice for a change it cannot parse (all or nothing, and says why)", function()
      local sel, why = hunks.of({ { path = "/w/x", kind = { type = "update" }, diff = "garbage" } })
      expect.falsy(sel)
      expect.match(why, "/w/x")
      local r = req(PATCH, { itemId = "fc" }, { item = { id = "fc", changes = { { path = "/w/x", diff = "garbage" } } } })
      local c = content.render(r, "patch", content.choices(r, "patch", {}), { hunks_why = why })
      expect.match(text(c), "whole patch %(all files%): no per%-hunk choice")
    end)

    it("renders ✓/✗ per hunk, records the hunks' lines, dims a rejected hunk", function()
      local sel = assert(hunks.of(CHANGES))
      hunks.set(sel, 2, false)
      local r = patch_req()
      local k = { approval_next_hunk = "]h", approval_prev_hunk = "[h", approval_toggle_hunk = "<Tab>",
        approval_accept_hunk = "a", approval_reject_hunk = "r", approval_accept_all = "A", approval_reject_all = "R" }
      for name, v in pairs(KEYMAPS) do k[name] = v end
      local c = content.render(r, "patch", content.choices(r, "patch", { hunks = sel }), { keymaps = k, hunks = sel })
      expect.eq(#c.hunks, 3)
      expect.eq(c.lines[c.hunks[1]], "    ✓ @@ -3,3 +3,3 @@")
      expect.eq(c.lines[c.hunks[2]], "    ✗ @@ -18,3 +18,3 @@")
      expect.eq(c.lines[c.hunks[3]], "    ✓ new file, 2 lines")
      expect.eq(c.hunk_at[c.hunks[2] + 2], 2, "a hunk's lines belong to it")
      expect.eq(c.lines[c.hunks[2] + 2], "      -  return 2")
      expect.truthy(has(spans(c), "-  return 2:CodexApprovalHunkDimmed"), "rejected: dimmed")
      expect.truthy(has(spans(c), "-  return 1:CodexApprovalDiffDelete"), "accepted: diff colours")
      expect.match(text(c), "hunks: 2 of 3 accepted: the editor applies only these")
      expect.match(text(c), "update /w/big%.lua  %(2 hunks, 1 accepted%)")
      expect.match(c.hint_in, "%]h/%[h hunks · <Tab>/a/r hunk · A/R all")
      expect.eq(#c.files, 2)
    end)

    it("tells the agent per file what was applied and rejected, by the hunks' @@ lines", function()
      local s = hunks.steer_text({
        { path = "/w/big.lua", applied = { "@@ -3,3 +3,3 @@" }, rejected = { "@@ -18,3 +18,3 @@" }, status = "written" },
        { path = "/w/main.lua", applied = {}, rejected = { "@@ -2,2 +2,2 @@" }, status = "unchanged" },
        { path = "/w/x.lua", applied = { "@@ -1 +1 @@" }, rejected = {}, status = "refused", error = "@@ -1 +1 @@ no longer matches the file" },
        { path = "/w/u.lua", applied = { "@@ -1 +1 @@" }, rejected = {}, status = "unsaved" },
      })
      expect.match(s, "\n%- /w/big%.lua: applied @@ %-3,3 %+3,3 @@ %(written to disk%); rejected @@ %-18,3 %+18,3 @@\n")
      expect.match(s, "\n%- /w/main%.lua: unchanged; rejected @@ %-2,2 %+2,2 @@\n")
      expect.match(s, "\n%- /w/x%.lua: NOT changed, nothing of it was applied: @@ %-1 %+1 @@ no longer matches the file")
      expect.match(s, "/w/u%.lua: applied @@ %-1 %+1 @@ %(applied to my unsaved buffer only: the file on disk does not have it%)")
      expect.falsy(s:find("[[", 1, true), "no magic word of the mock")
    end)
  end)
end)
