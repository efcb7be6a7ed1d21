-- No codex installed (codex_bin, $CODEX_BIN or PATH lead nowhere): `:Codex …` and
-- `:CodexLogin` say in one line how to install it, and a send in the chat shows that line,
-- instead of a spawn error.
if type(vim) ~= "table" or not vim.api then
  pending("ui not installed: needs Neovim")
  return
end

local ui = require("lib.ui")
local session = require("codex.session")

describe(":Codex without codex installed", function()
  local old_cwd = vim.fn.getcwd()
  local dir = ("%s/.testenv/not-installed-%d-%d"):format(TEST_ROOT, vim.fn.getpid(), vim.loop.hrtime() % 1e12)
  vim.fn.mkdir(dir, "p")
  vim.cmd("cd " .. vim.fn.fnameescape(dir)) -- chats opened here belong to this spec only
  local notes, cap
  before_each(function()
    cap = require("lib.env").capture_notify({ quiet = true })
    notes = cap.list
  end)
  after_each(function()
    cap.restore()
    ui.settle_chats()
    session.reset()
    require("codex").setup({})
  end)
  teardown(function()
    vim.cmd("cd " .. vim.fn.fnameescape(old_cwd))
    vim.fn.delete(dir, "rf")
  end)

  --- Exactly one notification per command, each the install line.
  local function expect_install_lines(n, where)
    expect.eq(#notes, n, "one notification per command: " .. vim.inspect(notes))
    for _, note in ipairs(notes) do
      expect.eq(note.level, vim.log.levels.ERROR)
      expect.match(note.msg, "^Codex: codex is not installed %(")
      expect.truthy(note.msg:find(where, 1, true), "names where it looked: " .. note.msg)
      expect.truthy(note.msg:find("`npm i -g @openai/codex`", 1, true), note.msg)
      expect.truthy(note.msg:find("run `make deps` in " .. TEST_ROOT .. " ", 1, true), note.msg)
      expect.falsy(note.msg:find("\n", 1, true), "one line: " .. note.msg)
      expect.falsy(note.msg:find("no such file", 1, true), "not the spawn error: " .. note.msg)
    end
  end

  it("codex_bin pointing at a missing file: `:Codex hello`, `:Codex` and `:CodexLogin` each say how to install it", function()
    require("codex").setup({ client = { codex_bin = "/nonexistent/codex" } })
    vim.cmd("Codex hello")
    vim.cmd("Codex")
    vim.cmd("CodexLogin")
    ui.flush()
    expect_install_lines(3, "there is no /nonexistent/codex")
    for _, c in ipairs(require("codex.ui.chat").all()) do
      expect.falsy(c.cwd == dir, "no chat was opened for the prompt") -- (other specs' chats may remain)
    end
  end)

  it("no codex_bin, $CODEX_BIN at a missing file", function()
    local old = vim.env.CODEX_BIN
    vim.env.CODEX_BIN = "/nonexistent/bin/codex"
    finally(function() vim.env.CODEX_BIN = old end)
    vim.cmd("Codex hello")
    expect_install_lines(1, "there is no /nonexistent/bin/codex")
  end)

  it("codex_bin a name, PATH without it", function()
    local old = vim.env.PATH
    vim.env.PATH = dir -- (nothing in it)
    finally(function() vim.env.PATH = old end)
    require("codex").setup({ client = { codex_bin = "codex" } })
    vim.cmd("Codex hello")
    expect_install_lines(1, "no `codex` on PATH")
  end)

  it("a send from a chat opened from Lua shows the install line in the chat", function()
    require("codex").setup({ client = { codex_bin = "/nonexistent/codex" } })
    local c = require("codex.ui.chat").open({ cwd = dir })
    c:send("hello")
    ui.wait_text(c.buf, "Error:%*%* codex is not installed")
    local text = ui.text(c.buf)
    expect.truthy(text:find("`npm i -g @openai/codex`", 1, true), text)
    expect.truthy(text:find("`make deps`", 1, true), text)
    expect.falsy(text:find("no such file", 1, true), "not the spawn error: " .. text)
    expect.eq(#notes, 0, "nothing else was reported: " .. vim.inspect(notes))
  end)
end)
