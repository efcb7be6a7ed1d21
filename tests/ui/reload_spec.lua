-- Buffers of files the agent changed (codex.ui.reload): reloaded when they have no unsaved
-- changes, never overwritten when they do (the user chooses; the edits stay one `u` away).
-- Real files in a temp dir; the chat's hook is driven by the scripted fake app-server.
if not (type(vim) == "table" and vim.api) then
  pending("ui: reload (Neovim only)")
  return
end

local api = vim.api
local env_lib = require("lib.env")
local reload = require("codex.ui.reload")

local function write(path, lines) vim.fn.writefile(lines, path) end
local function text(buf) return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n") end

local function change_item(path, status, kind)
  return { type = "fileChange", id = "fc-" .. path, status = status or "completed",
    changes = { { path = path, kind = kind or { type = "update" }, diff = "@@ -1 +1 @@\n-a\n+b\n" } } }
end

describe("ui: reload of changed files", function()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  local notes = env_lib.capture_notify({ quiet = true })
  local real_select = vim.ui.select
  local asked
  teardown(function()
    notes.restore()
    vim.ui.select = real_select
    vim.cmd("silent! %bwipeout!")
    vim.fn.delete(dir, "rf")
  end)
  before_each(function()
    asked = {}
    notes.clear()
    vim.ui.select = real_select
  end)

  --- Opens path in a buffer (in the current window when shown, else loaded hidden).
  local function open(path, shown)
    if shown then
      vim.cmd("silent edit " .. vim.fn.fnameescape(path))
      return api.nvim_get_current_buf()
    end
    local buf = vim.fn.bufadd(path)
    vim.fn.bufload(buf)
    vim.bo[buf].buflisted = true
    return buf
  end

  it("reloads an unmodified buffer, shown or hidden, a relative path against the thread's cwd; no question", function()
    local a, b = dir .. "/a.lua", dir .. "/b.lua"
    write(a, { "print('old a')" })
    write(b, { "print('old b')" })
    local ba, bb = open(a, true), open(b, false)
    write(a, { "print('agent a')", "-- more" })
    write(b, { "print('agent b')" })
    vim.ui.select = function(...) asked[#asked + 1] = { ... } end
    reload.file_change(change_item(a), "/somewhere/else")
    reload.file_change(change_item("b.lua"), dir)
    env_lib.wait(function() return text(ba):find("agent a", 1, true) and text(bb):find("agent b", 1, true) end,
      "both buffers reloaded", 2000)
    expect.eq(text(ba), "print('agent a')\n-- more")
    expect.falsy(vim.bo[ba].modified)
    expect.eq(#asked, 0, "nothing asked")
    expect.eq(#notes.list, 0, "a clean reload says nothing")
  end)

  it("ignores failed or declined changes and deleted files", function()
    local c = dir .. "/c.lua"
    write(c, { "old" })
    local buf = open(c, false)
    write(c, { "new" })
    reload.file_change(change_item(c, "declined"), dir)
    reload.file_change(change_item(c, "failed"), dir)
    reload.file_change(change_item(c, "completed", { type = "delete" }), dir)
    env_lib.settle()
    expect.eq(text(buf), "old")
  end)

  it("a buffer with unsaved edits: told, asked; loading keeps the edits in undo, keeping leaves the file", function()
    local m = dir .. "/main.lua"
    write(m, { "print('hello from main.lua')" })
    local buf = open(m, true)
    api.nvim_buf_set_lines(buf, 0, -1, false, { "print('my unsaved edit')" })
    expect.truthy(vim.bo[buf].modified)
    write(m, { "print('hello, updated')" })
    vim.ui.select = function(items, opts, cb)
      asked[#asked + 1] = { items = items, prompt = opts.prompt }
      cb(items[1], 1)
    end
    reload.file_change(change_item(m), dir)
    env_lib.wait(function() return #asked == 1 end, "the question", 2000)
    expect.match(asked[1].prompt, "main%.lua")
    expect.same(asked[1].items, { reload.LOAD, reload.KEEP })
    expect.match(notes.list[1].msg, "main%.lua.*unsaved changes")
    env_lib.wait(function() return text(buf) == "print('hello, updated')" end, "the agent's version", 2000)
    expect.falsy(vim.bo[buf].modified)
    api.nvim_buf_call(buf, function() vim.cmd("silent undo") end)
    expect.eq(text(buf), "print('my unsaved edit')", "u brings the user's edits back")

    -- keep my version: the buffer and the file stay as they are
    write(m, { "print('agent again')" })
    vim.ui.select = function(items, opts, cb)
      asked[#asked + 1] = { items = items, prompt = opts.prompt }
      cb(items[2], 2)
    end
    reload.file_change(change_item(m), dir)
    env_lib.wait(function() return #asked == 2 end, "the second question", 2000)
    env_lib.settle()
    expect.eq(text(buf), "print('my unsaved edit')")
    expect.truthy(vim.bo[buf].modified)
    expect.same(vim.fn.readfile(m), { "print('agent again')" }, "the agent's file is not overwritten")
    expect.match(notes.list[#notes.list].msg, ":w will overwrite")
  end)

  it("the file-change prompt warns when a target file has unsaved changes", function()
    local m = dir .. "/warn.lua"
    write(m, { "x = 1" })
    local buf = open(m, false)
    api.nvim_buf_set_lines(buf, 0, -1, false, { "x = 2" })
    local approval = require("codex.ui.approval")
    local r = { id = "warn-1", method = "item/fileChange/requestApproval", thread_id = "reload-warn",
      params = { threadId = "reload-warn" }, answered = false, resolved = false,
      item = { changes = { { path = m, kind = "update", diff = "@@ -1 +1 @@\n-x = 1\n+x = 3\n" } } } }
    function r:respond() self.answered = true return true end
    function r:respond_safe() return self:respond() end
    function r:on_resolved() end
    approval.handle(r)
    approval.show("reload-warn")
    local cur = expect.truthy(approval.current("reload-warn"))
    expect.match(text(cur.buf), "! " .. vim.pesc(vim.fn.fnamemodify(m, ":~:.")) .. " has unsaved changes in Neovim")
    approval.focus("reload-warn")
    api.nvim_feedkeys("g3", "x", false) -- decline
    expect.truthy(r.answered)
    vim.bo[buf].modified = false
  end)

  it("the chat reloads on a live fileChange completion, not when it renders a stored thread", function()
    local session = require("codex.session")
    session.reset()
    require("codex").setup({
      client = { args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 },
    })
    local client = session.client()
    local THREAD = "thr-reload"
    local thread = require("codex.thread").new(client, { thread = { id = THREAD } })
    local f = dir .. "/live.lua"
    write(f, { "before" })
    local buf = open(f, false)
    local chat = require("codex.ui.chat").open({ thread = thread, cwd = dir })
    local orig = client.rpc.request_stream
    client.rpc.request_stream = function(self, method, params, o)
      if method == "turn/start" then
        local item = change_item("live.lua")
        params.fakeEvents = {
          { method = "turn/started", params = { threadId = THREAD, turn = { id = "$TURN", status = "inProgress" } } },
          { method = "item/started", params = { threadId = THREAD, turnId = "$TURN", item = change_item("live.lua", "inProgress") } },
          { method = "item/completed", params = { threadId = THREAD, turnId = "$TURN", item = item } },
          { method = "turn/completed", params = { threadId = THREAD, turn = { id = "$TURN", status = "completed" } } },
        }
        params.fakeEventsDelayMs = 20
      end
      return orig(self, method, params, o)
    end
    write(f, { "after" })
    chat:send("change it")
    env_lib.wait(function() return text(buf) == "after" end, "the buffer reloaded by the chat", 10000)
    client.rpc.request_stream = orig
    -- a stored thread's fileChange: no reload, no question (the buffer has unsaved edits)
    api.nvim_buf_set_lines(buf, 0, -1, false, { "mine" })
    vim.ui.select = function(...) asked[#asked + 1] = { ... } end
    chat:render_history({ { id = "old-turn", status = "completed", items = { change_item("live.lua") } } })
    env_lib.settle()
    expect.eq(#asked, 0, "history asks nothing")
    expect.eq(text(buf), "mine")
    vim.bo[buf].modified = false
    pcall(function() chat:hide() end)
    session.reset()
  end)
end)
