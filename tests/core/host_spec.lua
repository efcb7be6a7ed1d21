-- Where the core runs: Neovim's own loop inside Neovim (never a second libuv loop), and
-- user callbacks never in a fast context; its own loop under plain Lua.
local core = require("codex.core")
local fake = require("lib.fake")
local host = require("codex.host")

describe("host", function()
  if vim then
    it("runs on Neovim's own loop", function()
      local info = core.info()
      expect.eq(info.host, "nvim")
      expect.eq(info.loop, "nvim")
      local t = vim.loop.new_timer()
      expect.truthy(core.same_loop(t), "a vim.loop timer is on the core's loop")
      t:close()
    end)

    it("fires core timers from Neovim's loop, outside fast contexts", function()
      local fired, fast
      core.timer(10, function()
        fired, fast = true, vim.in_fast_event()
        vim.api.nvim_get_current_buf() -- raises E5560 in a fast context
      end)
      expect.truthy(vim.wait(2000, function() return fired end, 5), "timer fired")
      expect.eq(fast, false)
    end)

    it("runs response, notification and stream callbacks outside fast contexts", function()
      local c = fake.client()
      local seen = {}
      c:on("configWarning", function() seen.notif = vim.in_fast_event(); vim.api.nvim_get_current_buf() end)
      c:start()
      local done
      c:request("fake/echo", { x = 1 }, nil, function(err)
        seen.response = vim.in_fast_event()
        vim.api.nvim_get_current_buf()
        done = err == nil
      end)
      expect.truthy(vim.wait(5000, function() return done end, 5))
      local s = c:watch("turn:zz")
      local r = s:reader() -- (first: a stream keeps events for its readers only)
      s:on(function() seen.stream = vim.in_fast_event() end)
      c:request("fake/interleave", { turns = { "zz" }, deltas = 3 })
      while r:next(5000) do end
      c:close()
      expect.same(seen, { notif = false, response = false, stream = false })
    end)

    it("ends the app-server when Neovim quits (VimLeavePre)", function()
      local nvim = os.getenv("CODEX_TEST_NVIM")
      if not nvim then return pending("CODEX_TEST_NVIM not set") end
      local pid_file = TEST_ROOT .. "/.testenv/quit_pid"
      os.remove(pid_file)
      local job = vim.fn.jobstart({ nvim, "--headless", "-u", "NONE", "-i", "NONE", "-c",
        "luafile " .. TEST_ROOT .. "/tests/fixtures/quit_with_client.lua" }, {
        env = { CODEX_ROOT = TEST_ROOT, CODEX_PID_FILE = pid_file },
      })
      expect.eq(vim.fn.jobwait({ job }, 20000)[1], 0, "child Neovim exit status")
      local f = assert(io.open(pid_file), "the child wrote the app-server pid")
      local pid = tonumber(f:read("*a"))
      f:close()
      -- The app-server was reaped before Neovim exited: it is gone, not a zombie or orphan.
      local stat = io.open("/proc/" .. pid .. "/stat")
      if stat then stat:close() end
      expect.falsy(stat, "app-server " .. pid .. " still exists after :qa")
    end)
  else
    it("owns a loop under plain Lua and pumps it in core.step", function()
      local info = core.info()
      expect.eq(info.host, "lua")
      expect.eq(info.loop, "own")
      local fired = false
      core.timer(5, function() fired = true end)
      expect.truthy(host.wait(2000, function() return fired end))
    end)
  end

  it("core.timer: cancel() prevents the callback, and is harmless after it ran", function()
    local ran, cancelled_ran = false, false
    local cancel_ran = core.timer(5, function() ran = true end)
    local cancel = core.timer(20, function() cancelled_ran = true end)
    cancel()
    expect.truthy(host.wait(2000, function() return ran end))
    cancel_ran() -- after firing: a no-op
    cancel()     -- twice: a no-op
    local probe = false
    core.timer(60, function() probe = true end)
    expect.truthy(host.wait(2000, function() return probe end))
    expect.eq(cancelled_ran, false)
  end)

  it("decodes escaped strings from the server intact (unescaped in place)", function()
    local c = fake.client()
    local s = 'q"b\\c/\n\t\r\b\f é ✓ 😀 ctl\1 end'
    local r = c:request("fake/echo", { s = s, list = { s, s }, [s] = s })
    expect.eq(r.s, s)
    expect.eq(r.list[2], s)
    expect.eq(r[s], s)
    local got
    c:on("fake/escapes", function(p) got = p end)
    c:request("fake/emit", { before = {
      [[{"method":"fake/escapes","params":{"pair":"\ud83d\ude00","bmp":"\u00e9\u2713","mixed":"a\\b\"c\/d"}}]],
    } })
    expect.truthy(host.wait(5000, function() return got ~= nil end))
    expect.eq(got.pair, "😀")
    expect.eq(got.bmp, "é✓")
    expect.eq(got.mixed, 'a\\b"c/d')
    c:close()
  end)

  it("delivers callbacks in order, never inside the caller's stack", function()
    local c = fake.client()
    c:start()
    local order, returned = {}, false
    for i = 1, 5 do
      c:request("fake/echo", { i = i }, nil, function(_, r) order[#order + 1] = { r.i, returned } end)
    end
    returned = true
    expect.truthy(host.wait(5000, function() return #order == 5 end))
    for i = 1, 5 do expect.same(order[i], { i, true }) end
    c:close()
  end)
end)
