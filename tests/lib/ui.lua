-- tests/lib/ui.lua: the plugin inside this headless Neovim, pointed at the mock and the real
-- app-server (one mock + CODEX_HOME per spec file).
local sandbox = require("lib.env")

local M = {}

--- tests/lib/env.lua's sandbox, with the plugin set up on it in its workspace: e.setup(extra).
function M.env(opts)
  local e = sandbox.new(opts)
  local old_cwd = vim.fn.getcwd()
  vim.cmd("cd " .. vim.fn.fnameescape(e.workspace))
  function e.setup(extra)
    local o = { client = { env = e.env, app_server_args = { "--strict-config" }, cwd = e.workspace, request_timeout_ms = 30000 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    require("codex.session").reset()
    require("codex").setup(o)
  end
  local close_sandbox = e.close
  function e.close()
    local c = require("codex.session").current()
    require("codex.session").reset()
    vim.cmd("cd " .. vim.fn.fnameescape(old_cwd))
    local ok, err = pcall(function()
      if c then wait_for(function() return not c:status().alive end, 5000, "the app-server to exit") end
    end)
    close_sandbox()
    if not ok then error(err, 0) end
  end
  e.setup()
  return e
end

--- Ends what earlier tests left: interrupts running turns, waits until every chat is idle,
--- hides the chats and closes every window but one. For before_each/after_each.
function M.settle_chats()
  local chat_mod = package.loaded["codex.ui.chat"]
  if type(chat_mod) == "table" and chat_mod.all then
    for _, c in ipairs(chat_mod.all()) do
      if c.state ~= "idle" then pcall(c.stop, c) end
    end
    wait_for(function()
      for _, c in ipairs(chat_mod.all()) do
        if c.state ~= "idle" then return false end
      end
      return true
    end, 20000, "every chat to be idle")
    for _, c in ipairs(chat_mod.all()) do pcall(c.hide, c) end
  end
  pcall(vim.cmd, "stopinsert")
  vim.cmd("silent! only")
end

--- A new chat for the current directory, shown, and the current one (`:Codex …` sends to it).
function M.new_chat()
  return require("codex.ui.chat").open({ cwd = vim.fn.getcwd() })
end

--- Waits until the chat's turn is over.
function M.wait_idle(c, ms)
  wait_for(function() return c.state == "idle" end, ms or 20000, "the chat to be idle")
end

--- Runs every callback scheduled so far (vim.schedule is first in, first out): after this,
--- whatever the keys just typed set off on the main loop has happened. For tests that check
--- that something did NOT happen, instead of sleeping.
M.flush = sandbox.settle

--- The text of a buffer.
function M.text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

--- Waits until the buffer's text matches the pattern.
function M.wait_text(buf, pattern, ms)
  local ok = vim.wait(ms or 20000, function() return M.text(buf):find(pattern) ~= nil end, 10)
  if not ok then error(("buffer never matched %q; it holds:\n%s"):format(pattern, M.text(buf)), 2) end
end

--- Closes every window but one.
function M.reset_windows()
  vim.cmd("silent! only")
end


--- A copy of the plugin without its C module (lua/codex/core.so) in .testenv: {root, close()}.
function M.unbuilt_copy()
  local root = ("%s/.testenv/unbuilt-%d-%d/codex.nvim"):format(TEST_ROOT, vim.fn.getpid(), vim.loop.hrtime() % 1e12)
  local parent = vim.fn.fnamemodify(root, ":h")
  vim.fn.mkdir(root, "p")
  local out = vim.fn.system({ "cp", "-R", TEST_ROOT .. "/lua", TEST_ROOT .. "/plugin", root })
  assert(vim.v.shell_error == 0, "cp failed: " .. out)
  os.remove(root .. "/lua/codex/core.so")
  assert(vim.fn.filereadable(root .. "/lua/codex/core.so") == 0)
  return { root = root, close = function() vim.fn.delete(parent, "rf") end }
end

--- The command that started this Neovim, up to the nvim binary (a wrapper may run it through
--- a dynamic loader: v:progpath is then the loader).
function M.nvim_argv()
  local f = io.open("/proc/" .. vim.fn.getpid() .. "/cmdline", "rb")
  local cmdline = f and f:read("*a") or ""
  if f then f:close() end
  local argv = {}
  for a in cmdline:gmatch("([^%z]*)%z") do
    argv[#argv + 1] = a
    if a:match("[^/]*$") == "nvim" then return argv end
  end
  return { vim.v.progpath }
end

--- Runs a child of this Neovim whose only codex.nvim is that copy (on the runtimepath, with
--- plugin/ sourced as at startup, no user config), with these -c commands, then :qa!;
--- returns everything it wrote (stdout and stderr).
function M.run_unbuilt(copy, commands)
  local xdg = copy.root .. "/../xdg"
  local argv = { "env", "XDG_CONFIG_HOME=" .. xdg, "XDG_DATA_HOME=" .. xdg, "XDG_STATE_HOME=" .. xdg, "XDG_CACHE_HOME=" .. xdg }
  vim.list_extend(argv, M.nvim_argv())
  vim.list_extend(argv, { "--headless", "-u", "NONE", "-i", "NONE", "--cmd", "cd " .. vim.fn.fnameescape(copy.root .. "/.."),
    "--cmd", "set rtp^=" .. vim.fn.fnameescape(copy.root), "--cmd", "runtime! plugin/codex.lua" })
  for _, c in ipairs(commands) do vim.list_extend(argv, { "-c", c }) end
  vim.list_extend(argv, { "-c", "qa!" })
  return vim.fn.system(argv)
end

local files = require("lib.files")

--- The virtual text the chat's renderer put on a 0-based row of buf, joined.
function M.virt_text(buf, row)
  local marks = vim.api.nvim_buf_get_extmarks(buf, require("codex.ui.render").ns, { row, 0 }, { row, -1 }, { details = true })
  local virt = {}
  for _, m in ipairs(marks) do
    for _, chunk in ipairs(m[4].virt_text or {}) do virt[#virt + 1] = chunk[1] end
  end
  return table.concat(virt)
end
M.read, M.write = files.read, files.write

--- From here to the end of the enclosing describe, whatever the plugin reports at ERROR
--- level (vim.notify: the core's reporter, stream callback guards) fails the test it
--- happened in.
function M.fail_on_reported_errors()
  local errors, orig = {}, vim.notify
  vim.notify = function(msg, level, o)
    if level == vim.log.levels.ERROR then errors[#errors + 1] = tostring(msg) end
    return orig(msg, level, o)
  end
  after_each(function()
    local e = errors
    errors = {}
    expect.eq(table.concat(e, "\n"), "", "errors reported")
  end)
  teardown(function() vim.notify = orig end)
end

return M
