-- The supported codex range (codex.version) and the one warning at start for a codex outside
-- it, taken from the server's own userAgent (the scripted fake's FAKE_USER_AGENT), so it also
-- works behind client.args.
local version = require("codex.version")
local fake = require("lib.fake")
local host = require("codex.host")

describe("codex.version", function()
  it("parses releases and pre-releases, and nothing else", function()
    expect.same(version.parse("0.171.0"), { 0, 171, 0 })
    expect.same(version.parse("1.2.3-alpha.4"), { 1, 2, 3, pre = "alpha.4" })
    for _, bad in ipairs({ "0.171", "v0.171.0", "0.171.0 ", "0.171.0-", "x.y.z", "", false }) do
      expect.eq(version.parse(bad), nil, tostring(bad))
    end
  end)

  it("compares numerically, a pre-release before its release", function()
    expect.eq(version.compare("0.155.0", "0.155.0"), 0)
    expect.eq(version.compare("0.99.0", "0.155.0"), -1, "numbers, not text")
    expect.eq(version.compare("0.155.10", "0.155.9"), 1)
    expect.eq(version.compare("1.0.0", "0.999.999"), 1)
    expect.eq(version.compare("0.172.0-alpha.1", "0.172.0"), -1)
    expect.eq(version.compare("0.172.0", "0.172.0-alpha.1"), 1)
    expect.eq(version.compare("0.172.0-alpha.1", "0.172.0-alpha.2"), -1)
    expect.eq(version.compare("0.172.0-alpha.1", "0.171.0"), 1)
    expect.eq(version.compare("nope", "0.171.0"), nil)
  end)

  it("reads the version from a userAgent and from `codex --version`", function()
    expect.eq(version.from_user_agent("codex_nvim/0.171.0 (Debian 12.0.0; x86_64) xterm (codex_nvim; 0.1.0)"), "0.171.0")
    expect.eq(version.from_user_agent("my client/0.160.0-alpha.3 (x)"), "0.160.0-alpha.3")
    expect.eq(version.from_user_agent("no version here"), nil)
    expect.eq(version.from_user_agent(nil), nil)
    expect.eq(version.from_cli("codex-cli 0.171.0\n"), "0.171.0")
    expect.eq(version.from_cli("codex-cli 0.172.0-alpha.1\nmore\n"), "0.172.0-alpha.1")
    expect.eq(version.from_cli("error: something\n0.171.0"), nil, "the first line only")
  end)

  it("places versions in, below and above the range", function()
    expect.eq(version.compare(version.min, version.max_tested) <= 0, true, "min <= max_tested")
    expect.eq(version.compare(version.min, version.pinned) <= 0 and version.compare(version.pinned, version.max_tested) <= 0,
      true, "the pinned codex is in the range")
    expect.eq(version.status(version.min), "ok")
    expect.eq(version.status(version.max_tested), "ok")
    expect.eq(version.status("0.130.0"), "old")
    expect.eq(version.status("99.0.0"), "new")
    expect.eq(version.status("0.0.0"), "dev", "a build from source")
    expect.eq(version.status(nil), "unknown")
    expect.eq(version.warning(version.pinned), nil)
    expect.eq(version.warning("0.0.0"), nil)
    local old, level = version.warning("0.130.0")
    expect.eq(level, "warn")
    expect.eq(old, ("codex 0.130.0 is older than codex.nvim supports (%s to %s): update it (npm i -g @openai/codex)"
      .. " or set codex_bin"):format(version.min, version.max_tested))
    local new, nlevel = version.warning("99.0.0")
    expect.eq(nlevel, "info")
    expect.match(new, "^codex 99%.0%.0 is newer than codex%.nvim is tested with %(" .. version.min:gsub("%.", "%%.")
      .. " to " .. version.max_tested:gsub("%.", "%%.") .. "%)")
  end)
end)

describe("the version warning at start", function()
  --- A fake app-server client answering initialize with this userAgent; warnings collected.
  local function client(ua, opts)
    local got = {}
    local o = { env = { FAKE_USER_AGENT = ua }, on_warning = function(msg, d) got[#got + 1] = { msg = msg, d = d } end }
    for k, v in pairs(opts or {}) do o[k] = v end
    local c = fake.client(o)
    return c, got
  end

  it("an old codex: exactly one warning naming it and the supported range, once per client", function()
    local c, got = client("codex_nvim/0.130.0 (test)", { restart = true })
    finally(function() c:close() end)
    local info = c:start()
    expect.eq(info.server_version, "0.130.0")
    c:start()
    c:request("fake/echo", { x = 1 })
    expect.eq(#got, 1, "one warning")
    expect.truthy(got[1].msg:find("0.130.0", 1, true), got[1].msg)
    expect.truthy(got[1].msg:find(version.min .. " to " .. version.max_tested, 1, true), got[1].msg)
    expect.same(got[1].d, { kind = "codex_version", version = "0.130.0", status = "old", min = version.min,
      max_tested = version.max_tested })
    -- the process dies and the client respawns it: the same client does not warn again
    pcall(c.request, c, "fake/crash", { code = 1 })
    expect.eq(c:request("fake/echo", { y = 2 }).y, 2, "restarted")
    expect.eq(#got, 1, "still one warning after a restart")
  end)

  it("a supported codex, a build from source, a userAgent without a version: no warning", function()
    for _, ua in ipairs({ "codex_nvim/" .. version.min .. " (test)", "codex_nvim/" .. version.max_tested .. " (x)",
      "codex_nvim/0.0.0 (dev)", "fake_app_server", }) do
      local c, got = client(ua)
      c:start()
      c:close()
      expect.eq(#got, 0, ua .. ": " .. (got[1] and got[1].msg or ""))
    end
  end)

  it("a codex newer than tested: one softer note", function()
    local c, got = client("codex_nvim/99.1.0 (test)")
    finally(function() c:close() end)
    c:start()
    expect.eq(#got, 1)
    expect.eq(got[1].d.status, "new")
    expect.match(got[1].msg, "^codex 99%.1%.0 is newer than")
  end)

  it("without on_warning: one " .. (host.nvim and "vim.notify at WARN" or "report") .. ", through codex.new with client.args",
    function()
      local seen = {}
      local restore
      if host.nvim then
        local orig = vim.notify
        vim.notify = function(msg, level) seen[#seen + 1] = { msg = tostring(msg), level = level } end
        restore = function() vim.notify = orig end
      else
        local orig = host.report
        host.report = function(msg) seen[#seen + 1] = { msg = tostring(msg) } end
        restore = function() host.report = orig end
      end
      finally(restore)
      local c = require("codex").new({
        args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" },
        env = { FAKE_USER_AGENT = "codex_nvim/0.130.0 (Debian; x86_64) ssh" }, request_timeout_ms = 10000,
      })
      finally(function() c:close() end)
      c:start()
      c:request("fake/echo", {})
      restore()
      expect.eq(#seen, 1, "one warning")
      expect.match(seen[1].msg, "^codex 0%.130%.0 is older than codex%.nvim supports")
      if host.nvim then expect.eq(seen[1].level, vim.log.levels.WARN) end
    end)
end)
