-- :Codex undo / :Codex redo in a chat (codex.ui.undo): the real app-server and the mock model
-- write files with [[patch]] (file changes auto-approved); the confirmation is vim.ui.select.
if not (type(vim) == "table" and vim.api) then
  pending("ui: undo (Neovim only)")
  return
end

local api = vim.api
local ui = require("lib.ui")
local env_lib = require("lib.env")
local uundo = require("codex.ui.undo")

local function exists(p) return vim.fn.filereadable(p) == 1 end
local function read(p) return table.concat(vim.fn.readfile(p), "\n") end

describe("ui: :Codex undo and redo", function()
  local env = ui.env()
  env.setup({ auto_approve = { commands = true, file_changes = true } })
  teardown(env.close)
  local real_select = vim.ui.select
  local notes = env_lib.capture_notify({ quiet = true })
  teardown(function()
    vim.ui.select = real_select
    notes.restore()
  end)
  local asked -- {items, prompt, preview} per vim.ui.select call
  local function answer(pick)
    asked = {}
    vim.ui.select = function(items, opts, cb)
      asked[#asked + 1] = { items = items, prompt = opts.prompt, preview = uundo.preview_text() }
      cb(pick(items))
    end
  end
  local undone = 0
  require("codex").on("ChatUndone", function() undone = undone + 1 end)
  before_each(function()
    ui.settle_chats()
    notes.clear()
  end)

  local function send(c, text)
    c:send(text)
    env_lib.wait(function() return c.state ~= "idle" end, "the turn to start")
    ui.wait_idle(c, 30000)
  end
  local function turns(c)
    return #c.thread:read({ include_turns = true }).thread.turns
  end
  local function run(cmd)
    local before = undone
    vim.cmd(cmd)
    env_lib.wait(function() return undone > before end, cmd .. " to finish", 30000)
  end

  it("undo 2: confirms with files, hunks and turns, then the files are as before, the chat shows the shorter history; redo", function()
    local a, b = env.workspace .. "/ua.txt", env.workspace .. "/ub.txt"
    local c = ui.new_chat()
    send(c, "hello")
    send(c, "[[patch]] ua.txt")
    send(c, "[[patch]] ub.txt")
    expect.truthy(exists(a) and exists(b))
    local abuf = vim.fn.bufadd(a)
    vim.fn.bufload(abuf)
    expect.match(ui.text(c.buf), "ub%.txt")

    answer(function(items) return items[1] end)
    run("Codex undo 2")
    expect.eq(#asked, 1)
    expect.same(asked[1].items, { uundo.UNDO, uundo.CANCEL })
    expect.eq(asked[1].prompt, "Undo 2 turns and 2 files?")
    local p = asked[1].preview
    expect.match(p, "the conversation from that turn on: 2 turns")
    expect.match(p, "ua%.txt: deleted, 1 hunk")
    expect.match(p, "ub%.txt: deleted, 1 hunk")
    expect.match(p, "%+hello from apply_patch")
    expect.falsy(exists(a), "ua.txt removed")
    expect.falsy(exists(b), "ub.txt removed")
    expect.falsy(api.nvim_buf_is_loaded(abuf), "its unmodified buffer went with it")
    expect.eq(turns(c), 1)
    local t = ui.text(c.buf)
    expect.match(t, "Hello from the mock model!")
    expect.falsy(t:find("[[patch]]", 1, true), "the undone turns are gone from the transcript:\n" .. t)
    expect.match(t, "Undone: 2 turns")
    expect.match(t, ":Codex redo")

    run("Codex redo")
    expect.eq(read(a), "hello from apply_patch")
    expect.eq(read(b), "hello from apply_patch")
    expect.match(ui.text(c.buf), "Redone: the files of the last undo %(ua%.txt created, ub%.txt created%)%. The conversation stays reverted")
    expect.eq(turns(c), 1)
  end)

  it("a loaded buffer gets the old text as one undo step and is saved; the commands caveat shows", function()
    local d = env.workspace .. "/ud.txt"
    vim.fn.writefile({ "old d" }, d)
    vim.cmd("silent edit " .. vim.fn.fnameescape(d))
    local dbuf = api.nvim_get_current_buf()
    local c = ui.new_chat()
    send(c, "[[exec]] echo hi")
    send(c, "[[patch]] ud.txt")
    env_lib.wait(function() return ui.text(dbuf) == "hello from apply_patch" end, "the buffer reloaded")
    answer(function(items) return items[1] end)
    run("Codex undo 2")
    expect.match(asked[1].preview, "ud%.txt: restored, 1 hunk %(%+1 −1%)")
    expect.match(asked[1].preview, "Commands ran in these turns")
    expect.eq(ui.text(dbuf), "old d")
    expect.falsy(vim.bo[dbuf].modified, "saved")
    expect.eq(read(d), "old d")
    expect.match(ui.text(c.buf), "Commands those turns ran may have changed files outside the diff")
    api.nvim_buf_call(dbuf, function() vim.cmd("silent undo") end)
    expect.eq(ui.text(dbuf), "hello from apply_patch", "one `u` brings the turn's text back")
  end)

  it("a user-edited conflicting hunk: the confirmation shows it; cancel changes nothing; skip leaves that file", function()
    local u, v = env.workspace .. "/uc.txt", env.workspace .. "/uv.txt"
    local c = ui.new_chat()
    send(c, "[[patch]] uc.txt")
    send(c, "[[patch]] uv.txt")
    local ubuf = vim.fn.bufadd(u)
    vim.fn.bufload(ubuf)
    api.nvim_buf_set_lines(ubuf, 0, -1, false, { "the user's edit" }) -- unsaved
    answer(function() return uundo.CANCEL end)
    vim.cmd("Codex undo 2")
    env_lib.wait(function() return notes.find("undo cancelled") end, "the cancel note")
    expect.same(asked[1].items, { uundo.SKIP, uundo.FORCE, uundo.CANCEL })
    expect.match(asked[1].prompt, "Conflicts")
    expect.match(asked[1].preview, "Conflicts: 1 change no longer applies")
    expect.match(asked[1].preview, "uc%.txt: hunk 1")
    expect.match(asked[1].preview, "%+hello from apply_patch")
    expect.eq(read(u), "hello from apply_patch")
    expect.eq(read(v), "hello from apply_patch")
    expect.eq(ui.text(ubuf), "the user's edit")
    expect.eq(turns(c), 2)

    answer(function() return uundo.SKIP end)
    run("Codex undo 2")
    expect.eq(ui.text(ubuf), "the user's edit")
    expect.eq(read(u), "hello from apply_patch", "the skipped file is left as it is")
    expect.falsy(exists(v), "the other file is undone")
    expect.eq(turns(c), 0)
    -- the chat goes on after its re-render
    send(c, "hello")
    ui.wait_text(c.buf, "Hello from the mock model!")
    expect.eq(turns(c), 1)
  end)

  it(":Codex undo in a chat without a thread says so; a bad turn is reported", function()
    ui.new_chat()
    vim.cmd("Codex undo")
    expect.truthy(notes.find("no chat with a thread"))
    local c = ui.new_chat()
    send(c, "hello")
    vim.cmd("Codex undo nope")
    env_lib.wait(function() return notes.find("no turn nope") end, "the unknown turn's note")
    expect.eq(turns(c), 1)
  end)
end)
