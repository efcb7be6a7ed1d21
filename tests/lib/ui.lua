-- tests/lib/ui.lua: the plugin inside this headless Neovim, pointed at the mock and the real
-- app-server (one mock + CODEX_HOME per spec file).
local mock = require("mock.launch")

local M = {}

function M.env(opts)
  local e = mock.sandbox(opts)
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
    if c then vim.wait(5000, function() return not c:status().alive end, 10) end
    vim.cmd("cd " .. vim.fn.fnameescape(old_cwd))
    close_sandbox()
  end
  e.setup()
  return e
end

--- The text of a buffer.
function M.text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

--- Waits until the buffer's text matches the pattern.
function M.wait_text(buf, pattern, ms)
  local ok = vim.wait(ms or 20000, function() return M.text(buf):find(pattern) ~= nil end, 10)
  if not ok then error(("buffer never matched %q; it holds:\n%s"):format(pattern, M.text(buf)), 2) end
end

--- Closes every window but one and wipes the chat buffers' windows.
function M.reset_windows()
  vim.cmd("silent! only")
end

return M
