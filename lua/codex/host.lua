---@mod codex.host  The host the core runs in: Neovim or a plain Lua interpreter.
---
--- The one place that knows the difference: how to report an error, how to wait while
--- pumping the loop, and where the project's pinned codex binary lives.
local core = require("codex.core")

local M = {}

---@type boolean
M.nvim = core.info().host == "nvim"

--- Reports a message (errors from callbacks, protocol problems). Never raises.
---@param msg string
function M.report(msg)
  if M.nvim then
    -- Reports always arrive in a scheduled (non-fast) context, where vim.notify is allowed.
    pcall(vim.notify, msg, vim.log.levels.ERROR)
  else
    io.stderr:write(msg, "\n")
  end
end

--- Tells the user something that is not an error (a warning, a notice): vim.notify at
--- level "warn" or "info" in Neovim, M.report (stderr) under plain Lua. Never raises.
---@param msg string
---@param level "warn"|"info"
function M.notify(msg, level)
  if M.nvim then
    pcall(vim.notify, msg, level == "warn" and vim.log.levels.WARN or vim.log.levels.INFO)
  else
    M.report(msg)
  end
end

--- Calls fn() when the host quits: Neovim's VimLeavePre (one augroup per name, so calling
--- it again replaces the hook). Under plain Lua there is no such moment: the process ends,
--- and its children see their stdin close.
---@param name string
---@param fn fun()
function M.on_quit(name, fn)
  if not M.nvim then return end
  local group = vim.api.nvim_create_augroup(name, { clear = true })
  vim.api.nvim_create_autocmd("VimLeavePre", { group = group, callback = function() fn() end })
end

local initialised = false
--- Installs the core's reporter (errors from callbacks, protocol problems): once, on first
--- use (a connection, a waiting call), not at require time. It looks M.report up on every
--- report, so whoever replaces host.report (a test, a script) gets the core's reports too.
function M.init()
  if initialised then return end
  initialised = true
  core.on_error(function(msg) M.report(msg) end)
end

--- Waits, pumping the loop, until cond() is true or timeout_ms passes.
---@param timeout_ms number|nil nil waits forever
---@param cond fun(): boolean
---@return boolean satisfied
function M.wait(timeout_ms, cond)
  if M.nvim then
    -- vim.wait runs Neovim's loop, including vim.schedule callbacks (our deliveries).
    -- (vim.wait takes an int: a longer or infinite timeout waits "forever", 24 days)
    return (vim.wait(math.min(timeout_ms or 2 ^ 31 - 1, 2 ^ 31 - 1), cond, 2))
  end
  local deadline = timeout_ms and core.now() + timeout_ms
  while not cond() do
    local left = deadline and deadline - core.now() or 1000
    if left <= 0 then return cond() end
    core.step(math.min(left, 1000))
  end
  return true
end

--- Is the caller inside a coroutine that may yield (and not the main thread)?
---@return thread|nil
function M.running_coroutine()
  local co, main = coroutine.running()
  if co == nil or main then return nil end
  if coroutine.isyieldable and not coroutine.isyieldable() then return nil end
  return co
end

local sep = package.config:sub(1, 1)
--- The directory of the plugin (the parent of lua/).
---@return string
function M.root()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)" .. sep .. "lua" .. sep .. "codex" .. sep .. "host%.lua$")
  return dir or "."
end

--- The codex binary to run: opts value, $CODEX_BIN, the project's pinned copy, or PATH.
---@param explicit string|nil
---@return string
function M.codex_bin(explicit)
  if explicit and explicit ~= "" then return explicit end
  local env = os.getenv("CODEX_BIN")
  if env and env ~= "" then return env end
  local pinned = M.root() .. "/.deps/bin/codex"
  local f = io.open(pinned, "r")
  if f then
    f:close()
    return pinned
  end
  return "codex"
end

--- The one line for a codex binary that is not there: how to install it.
---@param bin string as codex_bin() resolved it
---@return string
function M.codex_missing_message(bin)
  local what = bin:find("/", 1, true) and ("there is no " .. bin) or ("no `" .. bin .. "` on PATH")
  return ("codex is not installed (%s): install it with `npm i -g @openai/codex`, or run `make deps` in %s"
    .. " for the pinned copy"):format(what, M.root())
end

--- Is the codex binary there (a path that exists, or a name found on PATH)? true, or false and
--- codex_missing_message(bin).
---@param bin string
---@return boolean, string|nil
function M.codex_installed(bin)
  local found
  if M.nvim then
    found = vim.fn.executable(bin) == 1
  elseif bin:find("/", 1, true) then
    local f = io.open(bin, "r")
    found = f ~= nil
    if f then f:close() end
  else
    found = false
    for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
      local f = io.open(dir .. "/" .. bin, "r")
      if f then
        f:close()
        found = true
        break
      end
    end
  end
  if found then return true end
  return false, M.codex_missing_message(bin)
end

return M
