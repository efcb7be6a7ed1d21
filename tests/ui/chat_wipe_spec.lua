-- A chat whose buffer is wiped (:bd!, :bw!) by the user, idle or while a turn streams:
-- the chat's other window closes, nothing stray is left, quitting is never blocked, and the
-- next :Codex shows the whole transcript again (a running turn keeps streaming into it).
-- Headless Neovim against the real app-server and the mock.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")

local api = vim.api

describe("chat buffer wiped", function()
  -- [[slow]] streams "one" … "ten", one word per 400 ms: time enough to wipe mid-turn.
  local env = ui.env({ mock_args = { "--delay-ms", "400" } })
  local chat_mod = require("codex.ui.chat")

  local function wait(ms, cond, what)
    if not vim.wait(ms, cond, 10) then error("timed out waiting for " .. what, 2) end
  end

  local function idle(c)
    wait(20000, function() return c.state == "idle" end, "the chat to be idle")
  end

  --- Windows showing any buffer named codex://…
  local function codex_windows()
    local out = {}
    for _, w in ipairs(api.nvim_list_wins()) do
      if api.nvim_buf_get_name(api.nvim_win_get_buf(w)):find("^codex://") then out[#out + 1] = w end
    end
    return out
  end

  --- What :qa checks: no buffer that would be written is modified. The chat's buffers are
  --- scratch buffers, and not even marked modified.
  local function quit_ok()
    for _, b in ipairs(vim.fn.getbufinfo()) do
      if b.name:find("^codex://") then
        expect.eq(vim.bo[b.bufnr].buftype, "nofile", "buftype of " .. b.name)
        expect.eq(b.changed, 0, "modified flag of " .. b.name)
      end
    end
    for _, b in ipairs(vim.fn.getbufinfo({ bufmodified = 1 })) do
      expect.truthy(vim.bo[b.bufnr].buftype ~= "", "a modified file buffer would block :qa: " .. b.name)
    end
  end

  local function count(s, pat)
    return select(2, s:gsub(pat, ""))
  end

  -- Errors the plugin reports (vim.notify at ERROR, e.g. "error in stream callback").
  ui.fail_on_reported_errors()

  local function fresh_chat()
    vim.cmd("silent! only")
    vim.cmd("enew")
    local c = chat_mod.open({ cwd = env.workspace })
    expect.truthy(c:visible())
    return c
  end

  --- Wipes buf with cmd (bd!/bw!) from a window showing it, then waits until the chat's
  --- other window is gone too.
  local function wipe(c, buf, cmd)
    local win = buf == c.buf and c.win or c.input_win
    api.nvim_set_current_win(win)
    vim.cmd(cmd)
    wait(5000, function() return #codex_windows() == 0 end, "the chat's windows to close")
    expect.falsy(c:visible(), "chat hidden")
    expect.eq(#api.nvim_list_wins(), 1, "no stray window")
  end

  it(":bd! of the idle chat buffer closes the input window; :Codex shows the history again", function()
    local c = fresh_chat()
    c:send("hello")
    ui.wait_text(c.buf, "_— done")
    idle(c)
    local before, old = ui.text(c.buf), c.buf
    wipe(c, c.buf, "bd!")
    quit_ok()
    vim.cmd("Codex")
    expect.truthy(c:visible(), "shown again")
    expect.eq(chat_mod.current(), c)
    expect.eq(#api.nvim_list_wins(), 3, "the editor window, the chat and its input")
    expect.truthy(c.buf ~= old, "a new buffer")
    expect.falsy(api.nvim_buf_is_valid(old), "the unloaded buffer is gone")
    expect.eq(ui.text(c.buf), before, "the same transcript")
    expect.eq(api.nvim_buf_get_name(c.buf), c:buf_name("thread"), "the chat's name again")
    expect.match(api.nvim_buf_get_name(c.buf), "^codex://thread/.* %(" .. c.thread_id:sub(-8) .. "%)$")
    expect.eq(api.nvim_get_current_win(), c.input_win, "focus in the input")
    -- the chat goes on: send from the input buffer
    api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "again" })
    c:send_input()
    wait(20000, function() return count(ui.text(c.buf), "Hello from the mock model!") == 2 end, "the second answer")
    idle(c)
    quit_ok()
  end)

  it(":bw! of the idle input buffer closes the chat window; :Codex brings both back", function()
    local c = fresh_chat()
    c:send("hello")
    ui.wait_text(c.buf, "_— done")
    idle(c)
    local before, old = ui.text(c.buf), c.input_buf
    wipe(c, c.input_buf, "bw!")
    quit_ok()
    vim.cmd("Codex")
    expect.truthy(c:visible(), "shown again")
    expect.eq(#api.nvim_list_wins(), 3)
    expect.truthy(c.input_buf ~= old and api.nvim_buf_is_valid(c.input_buf), "a new input buffer")
    expect.eq(api.nvim_win_get_buf(c.input_win), c.input_buf)
    expect.eq(ui.text(c.buf), before, "the same transcript")
    api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "again" })
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<Esc><CR>", true, false, true), "x", false)
    wait(20000, function() return count(ui.text(c.buf), "Hello from the mock model!") == 2 end, "the second answer")
    idle(c)
    quit_ok()
  end)

  it(":bd! of the chat buffer mid-turn: reopened at once, the history is there and the turn streams on", function()
    local c = fresh_chat()
    c:send("[[slow]]")
    ui.wait_text(c.buf, "## You\n\n%[%[slow%]%]\n\n## Codex\n\none ")
    expect.eq(c.state, "running", "mid-turn")
    local old = c.buf
    wipe(c, c.buf, "bd!")
    quit_ok()
    vim.cmd("Codex")
    expect.truthy(c:visible())
    expect.truthy(c.buf ~= old)
    expect.match(ui.text(c.buf), "## You\n\n%[%[slow%]%]\n\n## Codex\n\none ")
    ui.wait_text(c.buf, "one two three four five six seven eight nine ten")
    ui.wait_text(c.buf, "_— done")
    idle(c)
    local text = ui.text(c.buf)
    expect.eq(count(text, "## You"), 1, "the user's message once")
    expect.eq(count(text, "## Codex"), 1, "one answer header")
    expect.eq(count(text, "one two three"), 1, "the answer once")
    quit_ok()
  end)

  it(":bd! of the chat buffer mid-turn, hidden until the turn ends: nothing lost, :qa not blocked", function()
    local c = fresh_chat()
    c:send("[[slow]]")
    ui.wait_text(c.buf, "## You\n\n%[%[slow%]%]\n\n## Codex\n\none ")
    expect.eq(c.state, "running", "mid-turn")
    wipe(c, c.buf, "bd!")
    idle(c) -- the rest of the turn arrives while no chat window exists
    quit_ok()
    expect.eq(#api.nvim_list_wins(), 1, "nothing opened a window")
    vim.cmd("Codex")
    expect.truthy(c:visible())
    local text = ui.text(c.buf)
    expect.match(text, "## You\n\n%[%[slow%]%]\n\n## Codex\n\none two three four five six seven eight nine ten")
    expect.match(text, "_— done[^\n]*_$")
    expect.eq(count(text, "one two three"), 1, "the answer once")
    quit_ok()
  end)

  it(":bw! of the chat buffer mid-turn: the next :Codex works and the turn completes into the buffer", function()
    local c = fresh_chat()
    c:send("[[slow]]")
    ui.wait_text(c.buf, "## Codex\n\none ")
    expect.eq(c.state, "running", "mid-turn")
    local old = c.buf
    wipe(c, c.buf, "bw!")
    expect.falsy(api.nvim_buf_is_valid(old))
    quit_ok()
    vim.cmd("Codex")
    expect.truthy(c:visible())
    ui.wait_text(c.buf, "one two three four five six seven eight nine ten")
    ui.wait_text(c.buf, "_— done")
    expect.eq(count(ui.text(c.buf), "## You\n\n%[%[slow%]%]"), 1)
    idle(c)
    quit_ok()
  end)

  it(":bd! of the input buffer mid-turn: the chat window closes, the turn completes, :Codex shows it all", function()
    local c = fresh_chat()
    c:send("[[slow]]")
    ui.wait_text(c.buf, "## Codex\n\none ")
    expect.eq(c.state, "running", "mid-turn")
    wipe(c, c.input_buf, "bd!")
    quit_ok()
    vim.cmd("Codex")
    expect.truthy(c:visible())
    expect.eq(#api.nvim_list_wins(), 3)
    ui.wait_text(c.buf, "one two three four five six seven eight nine ten")
    ui.wait_text(c.buf, "_— done")
    idle(c)
    expect.eq(count(ui.text(c.buf), "one two three"), 1)
    -- the new input buffer sends
    api.nvim_buf_set_lines(c.input_buf, 0, -1, false, { "after the wipe" })
    c:send_input()
    ui.wait_text(c.buf, "## You\n\nafter the wipe\n\n## Codex\n\nHello from the mock model!")
    idle(c)
    quit_ok()
  end)

  it(":bd! and :Codex in one go (before the editor is idle again) give one chat, no stray window", function()
    local c = fresh_chat()
    c:send("hello")
    ui.wait_text(c.buf, "_— done")
    idle(c)
    local before = ui.text(c.buf)
    api.nvim_set_current_win(c.win)
    vim.cmd("bd! | Codex")
    -- whatever the wipe scheduled has run once a callback scheduled now runs
    local flushed = false
    vim.schedule(function() flushed = true end)
    wait(5000, function() return flushed end, "the scheduled callbacks")
    expect.truthy(c:visible(), "shown")
    expect.eq(#api.nvim_list_wins(), 3, "the editor window, the chat and its input")
    expect.eq(#codex_windows(), 2)
    expect.eq(api.nvim_win_get_buf(c.input_win), c.input_buf)
    expect.eq(ui.text(c.buf), before)
    quit_ok()
  end)

  it("a chat whose buffers were wiped while hidden shows again", function()
    local c = fresh_chat()
    c:send("hello")
    ui.wait_text(c.buf, "_— done")
    idle(c)
    local before = ui.text(c.buf)
    c:hide()
    vim.cmd("silent bw! " .. c.buf .. " " .. c.input_buf)
    wait(5000, function() return api.nvim_buf_is_valid(c.buf) and api.nvim_buf_is_valid(c.input_buf) end, "new buffers")
    quit_ok()
    vim.cmd("Codex")
    expect.truthy(c:visible())
    expect.eq(ui.text(c.buf), before)
    quit_ok()
  end)

  it("statuses and folds of the transcript survive the wipe", function()
    env.setup({ auto_approve = { commands = { "seq 1 30" } } })
    local c = fresh_chat()
    c:send("[[exec]] seq 1 30")
    ui.wait_text(c.buf, "_— done")
    idle(c)
    local function header_row()
      for i, l in ipairs(api.nvim_buf_get_lines(c.buf, 0, -1, false)) do
        if l:find("^%*%*%$ .*seq 1 30") then return i - 1 end
      end
    end
    local function status() return ui.virt_text(c.buf, header_row()) end
    local function folded()
      return api.nvim_win_call(c.win, function() return vim.fn.foldclosed(header_row() + 3) end)
    end
    expect.match(status(), "✓ exit 0")
    expect.truthy(folded() > 0, "the long output is folded")
    local before = ui.text(c.buf)
    wipe(c, c.buf, "bd!")
    vim.cmd("Codex")
    expect.eq(ui.text(c.buf), before)
    expect.match(status(), "✓ exit 0")
    expect.truthy(folded() > 0, "still folded")
    -- the blocks still know where they are: a new turn appends after the transcript
    c:send("hello")
    wait(20000, function() return ui.text(c.buf):sub(1, #before) == before and ui.text(c.buf):find("Hello from the mock model!") end, "the next answer")
    idle(c)
    quit_ok()
    env.setup()
  end)

  teardown(function()
    vim.cmd("silent! only")
    env.close()
  end)
end)
