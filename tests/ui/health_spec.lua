-- :checkhealth codex on Neovim 0.7.2 (require("health").report_*) and 0.10 (vim.health),
-- against the real pinned app-server and the mock.
if type(vim) ~= "table" or not vim.api then
  pending("ui health: needs Neovim")
  return
end

local config = require("codex.config")
local session = require("codex.session")

local T = 30000

--- Runs :checkhealth codex and returns the health buffer's lines (then wipes it).
local function checkhealth()
  vim.cmd("silent checkhealth codex")
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  pcall(vim.cmd, "bwipe!")
  return lines
end

--- The report line of that kind ("OK", "WARNING", "ERROR") containing needle.
local function find(lines, kind, needle)
  for _, l in ipairs(lines) do
    if l:find(needle, 1, true) and l:find("^%s*%- [^%w]*%s*" .. kind) then return l end
  end
end

local function expect_line(lines, kind, needle)
  local l = find(lines, kind, needle)
  if not l then
    error(("no %s line with %q in:\n%s"):format(kind, needle, table.concat(lines, "\n")), 2)
  end
  return l
end

describe("ui health", function()
  local sandbox = require("lib.env").new({ mock_args = { "--device-interval", "0" }, home = { requires_openai_auth = true } })
  local home, workspace = sandbox.home, sandbox.workspace
  teardown(function()
    session.reset()
    sandbox.close()
  end)
  local function setup(extra)
    local opts = { client = { env = sandbox.env, app_server_args = { "--strict-config" }, cwd = workspace } }
    for k, v in pairs(extra or {}) do opts[k] = v end
    config.setup(opts)
    session.reset()
  end
  before_each(function() setup() end)
  after_each(function() session.reset() end)

  it("reports Neovim, the core on Neovim's loop, codex 0.171.0 and 'not signed in'", function()
    local lines = checkhealth()
    local v = vim.version()
    expect_line(lines, "OK", ("Neovim %d.%d.%d"):format(v.major, v.minor, v.patch))
    local core_line = expect_line(lines, "OK", "codex.core loaded for this Neovim")
    expect.truthy(core_line:find("core.so", 1, true), "the .so path is shown")
    expect_line(lines, "OK", "Neovim's own event loop")
    expect_line(lines, "OK", "codex 0.171.0")
    expect_line(lines, "WARNING", "not signed in: run :CodexLogin")
  end)

  it("reports an API-key account", function()
    session.client():login_api_key("sk-fake-health-check")
    local lines = checkhealth()
    expect_line(lines, "OK", "signed in (apikey")
    expect.falsy(table.concat(lines, "\n"):find("sk-fake-health-check", 1, true), "the key is not shown")
    session.client():logout()
  end)

  it("reports a ChatGPT account with its plan", function()
    local h = session.client():login_chatgpt_device_code()
    expect.eq(h:wait({ timeout_ms = T }).success, true)
    local lines = checkhealth()
    expect_line(lines, "OK", "signed in (chatgpt, pro")
    session.client():logout()
  end)

  it("resolves a bare codex_bin on PATH", function()
    local old = vim.env.PATH
    vim.env.PATH = TEST_ROOT .. "/.deps/bin:" .. old
    setup({ codex_bin = "codex" })
    local ok, lines = pcall(checkhealth)
    vim.env.PATH = old
    assert(ok, lines)
    expect_line(lines, "OK", "codex 0.171.0: " .. TEST_ROOT .. "/.deps/bin/codex")
  end)

  --- A script that prints `codex-cli <v>` (and is no app-server).
  local function fake_codex(v)
    local fake = home .. "/fake-codex-" .. v
    local f = assert(io.open(fake, "w"))
    f:write("#!/bin/sh\necho 'codex-cli " .. v .. "'\n")
    f:close()
    vim.fn.setfperm(fake, "rwxr-xr-x")
    return fake
  end
  local range = require("codex.version").range()

  it("warns about a codex older than the supported range, naming both", function()
    setup({ codex_bin = fake_codex("0.130.0") })
    local lines = checkhealth()
    local l = expect_line(lines, "WARNING", "codex 0.130.0")
    expect.truthy(l:find("older than codex.nvim supports (" .. range .. ")", 1, true), l)
    -- that binary is no app-server: the account check reports the error (and does not hang)
    expect.truthy(find(lines, "ERROR", "account") or find(lines, "ERROR", "app-server"), "an account error")
  end)

  it("a codex inside the range other than the pinned one is fine", function()
    setup({ codex_bin = fake_codex("0.160.0") })
    local lines = checkhealth()
    expect_line(lines, "OK", "codex 0.160.0: " .. home .. "/fake-codex-0.160.0 (supported: " .. range .. ")")
  end)

  it("with client.args, checks the version the app-server reports", function()
    config.setup({ client = { args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" },
      env = { FAKE_USER_AGENT = "codex_nvim/0.130.0 (over ssh)" }, request_timeout_ms = T } })
    session.reset()
    local lines = checkhealth()
    expect.truthy(table.concat(lines, "\n"):find("set by `client.args`", 1, true), "the args are shown")
    local l = expect_line(lines, "WARNING", "codex 0.130.0 (the app-server of `client.args`)")
    expect.truthy(l:find("older than codex.nvim supports (" .. range .. ")", 1, true), l)
    local _, n = table.concat(lines, "\n"):gsub("0%.130%.0", "")
    expect.eq(n, 1, "one line names it (the client's own warning is not repeated):\n" .. table.concat(lines, "\n"))
  end)

  it("reports a missing codex binary", function()
    setup({ codex_bin = "/nonexistent/codex" })
    local lines = checkhealth()
    expect_line(lines, "ERROR", "/nonexistent/codex")
  end)
end)

-- Without the C module (not built yet): the check runs to its end and says what to run.
describe("ui health without the C module", function()
  local ui = require("lib.ui")

  it("reports the missing module in one ERROR line naming make, and does not throw", function()
    local copy = ui.unbuilt_copy()
    finally(copy.close)
    local report = copy.root .. "/../health.txt"
    local out = ui.run_unbuilt(copy, { "checkhealth codex",
      ([[lua vim.fn.writefile(vim.api.nvim_buf_get_lines(0, 0, -1, false), %q)]]):format(report) })
    local text = ui.read(report)
    expect.truthy(text, "the report was written; the child printed:\n" .. out)
    local lines = vim.split(text, "\n")
    local l = expect_line(lines, "ERROR", "codex.nvim is not built")
    expect.truthy(l:find("run `make` in " .. copy.root .. " ", 1, true), "names make and the plugin directory: " .. l)
    expect.truthy(l:find("libuv1-dev libluajit-5.1-dev", 1, true), "names the packages: " .. l)
    expect.falsy(text:find("Failed to run healthcheck", 1, true), "the check did not throw:\n" .. text)
    expect.falsy(text:find("stack traceback", 1, true), "no traceback:\n" .. text)
    expect_line(lines, "WARNING", "skipped: codex.core is not loaded")
  end)
end)
