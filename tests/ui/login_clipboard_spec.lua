-- The device login's "copied to the clipboard" claim (review ux-2026-12 #30): made only when
-- the clipboard gives the code back. Real pinned app-server + mock OAuth issuer; the clipboard
-- is a g:clipboard provider of shell commands (a file), working or failing.
if type(vim) ~= "table" or not vim.api then
  pending("ui login clipboard: needs Neovim")
  return
end

local config = require("codex.config")
local session = require("codex.session")
local login = require("codex.ui.login")

local function float_text()
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then
      return table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), "\n")
    end
  end
end

--- The clipboard provider is g:clipboard = these commands, until the test ends (then the
--- default provider again). Reloading the provider is what its own comment says to do.
local function use_clipboard(copy_cmd, paste_cmd)
  local function reload()
    vim.g.loaded_clipboard_provider = nil
    vim.cmd("runtime autoload/provider/clipboard.vim")
  end
  finally(function()
    vim.g.clipboard = nil
    reload()
  end)
  vim.g.clipboard = {
    name = "codex-test", cache_enabled = 0,
    copy = { ["+"] = copy_cmd, ["*"] = copy_cmd }, paste = { ["+"] = paste_cmd, ["*"] = paste_cmd },
  }
  reload()
  expect.eq(vim.fn.has("clipboard"), 1, "the test provider is active")
end

describe("ui login: the clipboard claim", function()
  local e = require("lib.env").new({ mock_args = { "--device-interval", "5", "--device-pending", "100" } })
  teardown(function()
    session.reset()
    e.close()
  end)
  local orig_notify
  before_each(function()
    config.setup({ client = { env = e.env, app_server_args = { "--strict-config" }, cwd = e.workspace } })
    session.reset()
    orig_notify = vim.notify
    vim.notify = function() end
  end)
  after_each(function()
    pcall(login.cancel)
    for _, w in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(w).relative ~= "" then pcall(vim.api.nvim_win_close, w, true) end
    end
    vim.notify = orig_notify
    session.reset()
  end)

  local function start()
    login.start("device")
    wait_for(function() return (float_text() or ""):find("MOCK-CODE", 1, true) ~= nil end, 30000, "the device code")
    return float_text()
  end

  it("a clipboard that fails (tmux: no current client) is not claimed; the float says how to copy", function()
    local fail = { "sh", "-c", "cat >/dev/null; echo 'no current client' >&2; exit 1" }
    use_clipboard(fail, fail)
    local text = start()
    expect.falsy(text:find("is copied to the clipboard", 1, true), "no claim:\n" .. text)
    expect.truthy(text:find("could not be copied to the clipboard", 1, true), "says the copy failed:\n" .. text)
    expect.truthy(text:find("select it above", 1, true), "says how to copy:\n" .. text)
    expect.eq(vim.fn.getreg('"'), "MOCK-CODE", "the code is in the unnamed register")
  end)

  it("a clipboard that works is claimed, and holds the code", function()
    local file = e.home .. "/clipboard.txt"
    use_clipboard({ "sh", "-c", "cat > '" .. file .. "'" }, { "cat", file })
    local text = start()
    expect.truthy(text:find("is copied to the clipboard (register +)", 1, true), "claimed:\n" .. text)
    local f = assert(io.open(file))
    expect.match(f:read("*a"), "^MOCK%-CODE")
    f:close()
  end)
end)
