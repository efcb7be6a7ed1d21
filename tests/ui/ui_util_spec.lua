-- codex.ui.util: the UI's shared helpers (notification policy, error text, windows, keymaps).
if not (type(vim) == "table" and vim.api) then
  pending("ui: codex.ui.util (Neovim only)")
  return
end

local api = vim.api
local util = require("codex.ui.util")

describe("codex.ui.util", function()
  it("notify: every message gets the 'Codex: ' prefix and no title; INFO by default", function()
    local cap = require("lib.env").capture_notify({ quiet = true })
    finally(cap.restore)
    local seen = cap.list
    util.notify("hello")
    util.notify("bad", vim.log.levels.ERROR)
    expect.eq(seen[1].msg, "Codex: hello")
    expect.eq(seen[1].level, vim.log.levels.INFO)
    expect.eq(seen[1].opts, nil, "no title")
    expect.eq(seen[2].msg, "Codex: bad")
    expect.eq(seen[2].level, vim.log.levels.ERROR)
  end)

  it("err_text: an error object's message, else the value as text", function()
    expect.eq(util.err_text({ message = "boom", stderr = "noise" }), "boom")
    expect.eq(util.err_text({ message = 42 }), "42")
    expect.eq(util.err_text("plain"), "plain")
    local obj = setmetatable({}, { __tostring = function() return "as text" end })
    expect.eq(util.err_text(obj), "as text")
  end)

  it("first_win: the first valid window of its arguments", function()
    local cur = api.nvim_get_current_win()
    vim.cmd("split")
    local gone = api.nvim_get_current_win()
    api.nvim_win_close(gone, true)
    expect.eq(util.first_win(nil, gone, cur), cur)
    expect.eq(util.first_win(nil, gone), nil)
    expect.falsy(util.win_ok(gone))
  end)

  it("mapper: buffer-local, described with its prefix; a false key maps nothing", function()
    local buf = api.nvim_create_buf(false, true)
    finally(function() api.nvim_buf_delete(buf, { force = true }) end)
    local map = util.mapper("codex: ")
    map(buf, "n", "<F7>", function() end, "test")
    map(buf, "n", false, function() end, "off")
    local found
    for _, m in ipairs(api.nvim_buf_get_keymap(buf, "n")) do
      if m.lhs == "<F7>" then found = m end
    end
    expect.truthy(found, "mapped in the buffer")
    expect.eq(found.desc, "codex: test")
    expect.eq(#api.nvim_buf_get_keymap(buf, "n"), 1)
  end)

  it("open_url says what went wrong", function()
    local orig = vim.ui.open
    finally(function() vim.ui.open = orig end)
    vim.ui.open = function() return nil, "no opener" end
    expect.eq(util.open_url("https://example.com"), "no opener")
    vim.ui.open = function() error("broken") end
    expect.match(util.open_url("https://example.com"), "broken")
    vim.ui.open = function() return {} end
    expect.eq(util.open_url("https://example.com"), nil)
  end)
end)
