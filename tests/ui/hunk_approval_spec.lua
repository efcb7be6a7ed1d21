-- Per-hunk approval of a file change (codex.ui.approval + codex.ui.hunk_apply), in a real chat
-- against the real app-server and the mock's `[[update]]`: a 3-file patch (two hunks in
-- big.lua, one edit in main.lua, a new extra.txt; tests/mock/update_patch.lua).
if not (type(vim) == "table" and vim.api) then
  pending("ui: per-hunk approval (Neovim only)")
  return
end

local api = vim.api
local ui = require("lib.ui")
local env_lib = require("lib.env")
local events = require("codex.events")
local U = require("mock.update_patch")

local T = 30000

local function keys(s)
  api.nvim_feedkeys(api.nvim_replace_termcodes(s, true, false, true), "x", false)
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- The texts after each hunk of the fixture.
local BIG_1 = U.before.two:gsub("  return 1\n", "  return 10\n")
local BIG_ALL = BIG_1:gsub("  return 2\n", "  return 20\n")
local MAIN_ALL = U.before.one:gsub('print%("main"%)', 'print("main, updated")')

describe("ui: per-hunk approval of a file change", function()
  local env = ui.env()
  teardown(env.close)
  local approval = require("codex.ui.approval")
  local notes = env_lib.capture_notify({ quiet = true })
  teardown(notes.restore)
  local resolved = {}
  local unsub = events.on("ApprovalResolved", function(d) resolved[#resolved + 1] = d end)
  teardown(unsub)
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    vim.cmd("silent! %bwipeout!")
  end)

  local ws = env.workspace
  local big, main, extra = ws .. "/big.lua", ws .. "/main.lua", ws .. "/extra.txt"

  --- Writes the fixture's files, sends `[[update]]` in a new chat and waits for its prompt.
  local function ask(before_send)
    write(big, U.before.two)
    write(main, U.before.one)
    os.remove(extra)
    if before_send then before_send() end
    resolved = {}
    notes.clear()
    env.mock:reset()
    local c = ui.new_chat()
    c:send("[[update]]")
    env_lib.wait(function()
      local cur = approval.current(c.thread_id)
      return cur and cur.selection ~= nil
    end, "the file-change prompt with its hunks", T)
    -- (a proxy: the prompt is drawn again after each per-hunk key, its lines may move)
    return c, setmetatable({}, { __index = function(_, k)
      local now = approval.current(c.thread_id)
      return now and now[k]
    end })
  end

  --- The index of the hunk whose ✓/✗ line matches `pattern` (the files come in the server's order).
  local function hunk(cur, pattern)
    for i, l in ipairs(cur.hunks) do
      if api.nvim_buf_get_lines(cur.buf, l - 1, l, false)[1]:find(pattern) then return i end
    end
    error("no hunk line matches " .. pattern .. " in:\n" .. ui.text(cur.buf))
  end
  local H1, H2, HMAIN, HNEW = "@@ %-3,3 %+3,3 @@", "@@ %-18,3 %+18,3 @@", "@@ %-2,2 %+2,2 @@", "new file, 2 lines"

  local function cursor(cur) return api.nvim_win_get_cursor(cur.win)[1] end
  local function line(cur, n) return api.nvim_buf_get_lines(cur.buf, n - 1, n, false)[1] end
  local function keys_of(cur)
    local out = {}
    for _, ch in ipairs(cur.choices) do out[#out + 1] = ch.key end
    return out
  end

  --- The mock's request that carries `text` as its last user message, once it came.
  local function request_with(text)
    local found
    env_lib.wait(function()
      for _, r in ipairs(env.mock:requests()) do
        if r.path == "/v1/responses" and r.last_user_full == text then found = r end
      end
      return found ~= nil
    end, "the agent's request with the steer", T)
    return found
  end

  it("accepts some hunks and rejects others: the files hold exactly the accepted ones, the agent is told", function()
    -- big.lua is loaded (no unsaved changes): it is changed in its buffer, as one undo step, and written
    local big_buf
    local c, cur = ask(function()
      big_buf = vim.fn.bufadd(big)
      vim.fn.bufload(big_buf)
    end)
    expect.eq(#cur.hunks, 4, "two hunks in big.lua, one in main.lua, the new extra.txt")
    for _, h in ipairs({ H1, H2, HMAIN, HNEW }) do expect.match(line(cur, cur.hunks[hunk(cur, h)]), "^    ✓ " .. h) end
    expect.eq(hunk(cur, H1), 1, "big.lua's hunks in order")
    expect.eq(hunk(cur, H2), 2)
    expect.match(ui.text(cur.buf), "hunks: 4 of 4 accepted")
    expect.eq(keys_of(cur)[1], "accept", "all accepted: the request's own choices")

    approval.focus(c.thread_id)
    keys("]h")
    expect.eq(cursor(cur), cur.hunks[1], "]h: the first hunk")
    keys("]h")
    expect.eq(cursor(cur), cur.hunks[2])
    keys("r")
    expect.match(line(cur, cur.hunks[2]), "^    ✗ @@ %-18,3")
    expect.eq(cursor(cur), cur.hunks[3], "r rejects and moves on to the next hunk")
    keys("]h")
    expect.eq(cursor(cur), cur.hunks[4])
    keys("[h")
    expect.eq(cursor(cur), cur.hunks[3], "[h: back")
    api.nvim_win_set_cursor(cur.win, { cur.hunks[hunk(cur, HMAIN)] + 1, 0 })
    keys("<Tab>")
    expect.match(line(cur, cur.hunks[hunk(cur, HMAIN)]), "^    ✗ @@ %-2,2", "<Tab> on a line of a hunk toggles it")
    keys("]f")
    expect.truthy(vim.tbl_contains(cur.files, cursor(cur)), "]f: a file header")
    expect.match(ui.text(cur.buf), "hunks: 2 of 4 accepted")
    expect.same(keys_of(cur), { "partial", "decline", "cancel" })
    expect.match(ui.text(cur.buf), "g1  Apply only the accepted hunks %(2 of 4")
    expect.eq(read(big), U.before.two, "nothing is written before the answer")

    keys("g1")
    ui.wait_idle(c, T)
    expect.eq(read(big), BIG_1, "big.lua: only its first hunk")
    expect.eq(read(main), U.before.one, "main.lua: its rejected hunk is not there")
    expect.eq(read(extra), U.new_text, "extra.txt created")
    expect.falsy(vim.bo[big_buf].modified, "the buffer was written")
    expect.eq(table.concat(api.nvim_buf_get_lines(big_buf, 0, -1, false), "\n") .. "\n", BIG_1)
    api.nvim_buf_call(big_buf, function() vim.cmd("silent undo") end)
    expect.eq(table.concat(api.nvim_buf_get_lines(big_buf, 0, -1, false), "\n") .. "\n", U.before.two,
      "one undo step takes the hunk back")

    expect.eq(#resolved, 1)
    expect.eq(resolved[1].decision, "decline", "the request was declined")
    local steer = resolved[1].steer
    expect.truthy(steer, "the agent was told")
    expect.match(steer, "- " .. big:gsub("%p", "%%%0") .. ": applied @@ %-3,3 %+3,3 @@ %(written to disk%); rejected @@ %-18,3 %+18,3 @@")
    expect.match(steer, "- " .. main:gsub("%p", "%%%0") .. ": unchanged; rejected @@ %-2,2 %+2,2 @@")
    expect.match(steer, "- " .. extra:gsub("%p", "%%%0") .. ": applied new file, 2 lines %(created on disk%)")
    -- the agent's next request in the same turn carries it, and the chat shows it as a steer
    local r = request_with(steer)
    local asked
    for _, x in ipairs(env.mock:requests()) do
      if x.scenario == "update" then asked = x end
    end
    expect.truthy(r.turn_id and asked and r.turn_id == asked.turn_id, "the steer is in the patch's turn")
    expect.truthy(r.seq > asked.seq)
    expect.match(ui.text(c.buf), "## You %(steering%)\n\nI reviewed your patch hunk by hunk")
  end)

  it("refuses a file whose hunk no longer matches: nothing of it is written, the user and the agent are told", function()
    local c, cur = ask()
    -- the user edits big.lua after the request: its first hunk's line is no longer there
    write(big, (U.before.two:gsub("  return 1\n", "  return 100\n")))
    approval.focus(c.thread_id)
    api.nvim_win_set_cursor(cur.win, { cur.hunks[2], 0 })
    keys("r")
    expect.eq(keys_of(cur)[1], "partial")
    keys("g1")
    ui.wait_idle(c, T)
    expect.eq(read(big), (U.before.two:gsub("  return 1\n", "  return 100\n")), "big.lua as the user left it")
    expect.eq(read(main), MAIN_ALL, "main.lua got its accepted hunk")
    expect.eq(read(extra), U.new_text)
    local warned
    for _, n in ipairs(notes.list) do
      if n.msg:find("big.lua: nothing applied", 1, true) and n.msg:find("@@ -3,3 +3,3 @@ no longer matches", 1, true) then warned = n end
    end
    expect.truthy(warned, "a notification names the file and the hunk")
    expect.eq(resolved[1].decision, "decline")
    expect.match(resolved[1].steer, "big%.lua: NOT changed, nothing of it was applied: @@ %-3,3 %+3,3 @@ no longer matches")
    request_with(resolved[1].steer)
  end)

  it("applies to a buffer with unsaved edits only when the hunks match it, as one undo step, and does not write it", function()
    local buf
    local c, cur = ask(function()
      buf = vim.fn.bufadd(main)
      vim.fn.bufload(buf)
      api.nvim_buf_set_lines(buf, -1, -1, false, { "-- my unsaved line" })
      expect.truthy(vim.bo[buf].modified)
    end)
    expect.match(ui.text(cur.buf), "main%.lua has unsaved changes")
    approval.focus(c.thread_id)
    keys("R")
    expect.same(keys_of(cur), { "decline", "cancel" }, "none accepted: only decline")
    api.nvim_win_set_cursor(cur.win, { cur.hunks[hunk(cur, HMAIN)], 0 })
    keys("a")
    keys("g1")
    ui.wait_idle(c, T)
    expect.eq(read(main), U.before.one, "the file on disk is untouched")
    expect.eq(table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n") .. "\n", MAIN_ALL .. "-- my unsaved line\n")
    expect.truthy(vim.bo[buf].modified, "still unsaved")
    api.nvim_buf_call(buf, function() vim.cmd("silent undo") end)
    expect.eq(table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n") .. "\n", U.before.one .. "-- my unsaved line\n")
    expect.eq(read(big), U.before.two)
    expect.falsy(read(extra))
    expect.match(resolved[1].steer, "main%.lua: applied @@ %-2,2 %+2,2 @@ %(applied to my unsaved buffer only")
    api.nvim_buf_call(buf, function() vim.cmd("silent edit!") end)
  end)

  it("all accepted: the request is accepted (codex writes the patch), no steer", function()
    local c, cur = ask()
    approval.focus(c.thread_id)
    expect.eq(keys_of(cur)[1], "accept")
    keys("g1")
    ui.wait_idle(c, T)
    expect.eq(read(big), BIG_ALL)
    expect.eq(read(main), MAIN_ALL)
    expect.eq(read(extra), U.new_text)
    expect.eq(resolved[1].decision, "accept")
    expect.falsy(resolved[1].steer)
  end)

  it("none accepted: the request is declined, nothing written", function()
    local c, cur = ask()
    approval.focus(c.thread_id)
    keys("R")
    expect.match(ui.text(cur.buf), "hunks: 0 of 4 accepted: the patch is declined")
    keys("A")
    expect.eq(keys_of(cur)[1], "accept", "A accepts every hunk again")
    keys("R")
    expect.same(keys_of(cur), { "decline", "cancel" })
    keys("g1")
    ui.wait_idle(c, T)
    expect.eq(read(big), U.before.two)
    expect.eq(read(main), U.before.one)
    expect.falsy(read(extra))
    expect.eq(resolved[1].decision, "decline")
    expect.falsy(resolved[1].steer)
  end)
end)
