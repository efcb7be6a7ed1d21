---@mod codex.health  `:checkhealth codex` (Neovim 0.7.2 through 0.10+).
local version = require("codex.version")

local M = {}

M.TESTED_CODEX = version.pinned
local ACCOUNT_TIMEOUT_MS = 10000

--- start/ok/warn/error/info on every Neovim: vim.health (0.9+: start/ok/…; 0.8: report_*),
--- else the 0.7 `health` Lua module.
local function reporter()
  local vh = vim.health
  if type(vh) == "table" and (vh.start or vh.report_start) then
    return {
      start = vh.start or vh.report_start, ok = vh.ok or vh.report_ok, warn = vh.warn or vh.report_warn,
      error = vh.error or vh.report_error, info = vh.info or vh.report_info,
    }
  end
  local legacy = require("health")
  return {
    start = legacy.report_start, ok = legacy.report_ok, warn = legacy.report_warn,
    error = legacy.report_error, info = legacy.report_info,
  }
end

local err_text = require("codex.ui.util").err_text

local function check_nvim(h)
  local v = vim.version()
  local s = ("%d.%d.%d"):format(v.major, v.minor, v.patch)
  if vim.fn.has("nvim-0.7.2") == 1 then
    h.ok("Neovim " .. s)
  else
    h.error("Neovim " .. s .. " is too old", { "codex.nvim needs Neovim 0.7.2 or newer" })
  end
end

--- Returns the loaded core, or nil after reporting why not (one line).
local function check_core(h)
  local codex = require("codex") -- makes a missing core one "not_built" error
  local path = vim.api.nvim_get_runtime_file("lua/codex/core.so", false)[1]
  if not path and package.searchpath then path = package.searchpath("codex.core", package.cpath) end
  local ok, core = pcall(require, "codex.core")
  if not ok then
    if type(core) == "table" and core.kind == "not_built" then
      h.error(tostring(core))
    else
      h.error(("codex.core (%s) failed to load: %s"):format(path or "?", (tostring(core):gsub("%s*\n%s*", " "))),
        { "rebuild: " .. codex.not_built_error().message:match("run `make`.*$") })
    end
    return nil
  end
  local info = core.info()
  if info.host ~= "nvim" then
    h.error(("codex.core (%s) is the %s build, not the Neovim one"):format(path or "?", tostring(info.host)),
      { "rebuild: " .. codex.not_built_error().message:match("run `make`.*$") })
    return nil
  end
  h.ok(("codex.core loaded for this Neovim: %s (libuv %s)"):format(path or "(preloaded)", tostring(info.libuv)))
  return core
end

local function check_loop(h, core)
  local info = core.info()
  local uv = vim.uv or vim.loop
  local timer = uv.new_timer()
  local ok, same = pcall(core.same_loop, timer)
  timer:close()
  if info.loop == "nvim" and ok and same then
    h.ok("codex.core runs on Neovim's own event loop")
  else
    h.error(("codex.core does not run on Neovim's loop (loop = %s, same_loop = %s)"):format(tostring(info.loop), tostring(same)),
      { "rebuild with `make nvim`: the Neovim build must link neither Lua nor libuv" })
  end
end

local function check_binary(h)
  local config = require("codex.config").get()
  local copts = config.client or {}
  if copts.args then
    h.info("the app-server command is set by `client.args`: " .. table.concat(copts.args, " ")
      .. " (its version is checked when it answers, below)")
    return
  end
  local bin = require("codex.host").codex_bin(copts.codex_bin or config.codex_bin)
  local resolved = bin
  local install = ("install the Codex CLI (npm i -g @openai/codex; codex.nvim supports %s), set `codex_bin`,"
    .. " or run `make deps` in %s for the pinned copy (%s)"):format(version.range(), require("codex.host").root(), version.pinned)
  if not bin:find("/", 1, true) then
    resolved = vim.fn.exepath(bin)
    if resolved == "" then
      h.error(("the codex binary %q is not on PATH"):format(bin), { install })
      return
    end
  elseif vim.fn.executable(bin) ~= 1 then
    h.error(("the codex binary %s is missing or not executable"):format(bin), { install })
    return
  end
  local out = vim.fn.system({ resolved, "--version" })
  if vim.v.shell_error ~= 0 then
    h.error(("`%s --version` failed: %s"):format(resolved, vim.trim(out or "")))
    return
  end
  local first = vim.trim((out or ""):match("[^\n]*") or "")
  M.report_version(h, version.from_cli(out), resolved, first)
end

--- One line: the codex version v (from `codex --version`, or the app-server's userAgent), and
--- where it stands in the supported range.
function M.report_version(h, v, where, shown)
  local status, range = version.status(v), version.range()
  if status == "ok" then
    h.ok(("codex %s: %s (supported: %s)"):format(v, where, range))
  elseif status == "old" then
    h.warn(("codex %s (%s) is older than codex.nvim supports (%s)"):format(v, where, range), {
      "update it: npm i -g @openai/codex, or run `make deps` in " .. require("codex.host").root()
        .. " for the pinned copy (" .. version.pinned .. ")",
    })
  elseif status == "new" then
    h.info(("codex %s (%s) is newer than codex.nvim is tested with (%s): it probably works;"
      .. " report problems with both versions"):format(v, where, range))
  elseif status == "dev" then
    h.info(("codex %s (%s): a build from source, not checked against the supported range (%s)"):format(v, where, range))
  else
    h.warn(("cannot tell the codex version (%s) from %q: codex.nvim supports %s"):format(where, shown or "", range))
  end
end

--- The one synchronous wait of the plugin: checkhealth itself is synchronous.
local function check_account(h)
  local ok_client, client = pcall(function() return require("codex.session").client() end)
  if not ok_client then
    h.error("cannot create the Codex client: " .. err_text(client))
    return
  end
  local done, err, res, server = false, nil, nil, nil
  client:start(function(e, info)
    if e then
      done, err = true, e
      return
    end
    server = info and info.server_version
    client:account(nil, function(e2, r)
      done, err, res = true, e2, r
    end)
  end)
  -- What the client reports meanwhile (a protocol error from a binary that is no app-server,
  -- say) becomes a line of the report: vim.notify's error message would, on 0.7, abort the
  -- whole check from inside this wait.
  local reports, notify = {}, vim.notify
  vim.notify = function(msg, level) reports[#reports + 1] = { msg = tostring(msg), level = level } end
  local ok = pcall(vim.wait, ACCOUNT_TIMEOUT_MS, function() return done end, 20)
  vim.notify = notify
  for _, r in ipairs(reports) do
    -- (the client's own version warning: reported by the version line instead)
    if r.level == vim.log.levels.ERROR then h.error(r.msg)
    elseif not (server and r.msg == version.warning(server)) then h.info(r.msg) end
  end
  if not ok or not done then
    h.error(("no answer from the app-server within %d s"):format(ACCOUNT_TIMEOUT_MS / 1000))
    return
  end
  if server ~= nil and (require("codex.config").get().client or {}).args then
    M.report_version(h, server, "the app-server of `client.args`")
  end
  if err then
    local advice = {}
    if type(err) == "table" and type(err.stderr) == "string" and err.stderr ~= "" then
      advice[1] = "app-server stderr: " .. err.stderr:sub(-600)
    end
    h.error("account: " .. err_text(err), advice)
    return
  end
  if server then h.ok(("app-server %s answered"):format(tostring(server))) end
  local a = M.account_text(res)
  if a.ok then h.ok("account: " .. a.text) else h.warn("account: " .. a.text, { a.advice }) end
end

local MCP_TIMEOUT_MS = 10000

--- The MCP servers (mcpServerStatus/list): one warning per server that failed to start,
--- needs a login or cannot list its tools (codex.ui.mcp.problem), else one ok line.
local function check_mcp(h)
  local ok_client, client = pcall(function() return require("codex.session").client() end)
  if not ok_client then return h.warn("skipped: no Codex client") end
  local mcp = require("codex.ui.mcp")
  local done, err, servers = false, nil, nil
  client:start(function(e)
    if e then done, err = true, e return end
    mcp.list(client, function(e2, list) done, err, servers = true, e2, list end)
  end)
  local ok = pcall(vim.wait, MCP_TIMEOUT_MS, function() return done end, 20)
  if not ok or not done then return h.warn(("no MCP server list within %d s"):format(MCP_TIMEOUT_MS / 1000)) end
  if err then return h.warn("mcpServerStatus/list failed: " .. err_text(err)) end
  if #servers == 0 then return h.info("no MCP servers configured") end
  local st = require("codex.ui.notices").state(client)
  local failing = 0
  for _, s in ipairs(servers) do
    local boot = st and st.mcp[s.name] or nil
    local problem = mcp.problem(s, boot)
    if problem then
      failing = failing + 1
      h.warn(("MCP server %s: %s"):format(s.name, problem), { ":Codex mcp lists the servers, reloads them, logs in" })
    end
  end
  if failing == 0 then h.ok(("%d MCP server%s, none failing"):format(#servers, #servers == 1 and "" or "s")) end
end

--- How an account/read result is put in words, for :checkhealth codex and :Codex status alike.
--- ok is false only when a sign-in is needed and missing (a provider that needs no OpenAI
--- sign-in, requiresOpenaiAuth = false, reports no account and is fine).
---@param res table|nil the account/read result
---@return {ok: boolean, text: string, advice: string|nil} text follows "account: "
function M.account_text(res)
  local acct = type(res) == "table" and res.account or nil
  if type(acct) == "table" then
    local kind = acct.type == "apiKey" and "apikey" or tostring(acct.type)
    local parts = { kind }
    if type(acct.planType) == "string" then parts[#parts + 1] = acct.planType end
    if type(acct.email) == "string" then parts[#parts + 1] = acct.email end
    return { ok = true, text = "signed in (" .. table.concat(parts, ", ") .. ")" }
  elseif type(res) == "table" and res.requiresOpenaiAuth == false then
    return { ok = true, text = "the active model provider needs no OpenAI sign-in" }
  end
  return {
    ok = false, text = "not signed in: run :CodexLogin",
    advice = ":CodexLogin (device code, works over SSH), :CodexLogin browser, or :CodexLogin apikey",
  }
end

function M.check()
  local h = reporter()
  h.start("codex.nvim")
  check_nvim(h)
  local core = check_core(h)
  if core then check_loop(h, core) end
  h.start("Codex CLI")
  if core then
    check_binary(h)
  else
    h.warn("skipped: codex.core is not loaded (see above)")
  end
  h.start("Account")
  if core then
    check_account(h)
  else
    h.warn("skipped: codex.core is not loaded (see above)")
  end
  h.start("MCP servers")
  if core then
    check_mcp(h)
  else
    h.warn("skipped: codex.core is not loaded (see above)")
  end
  -- What the app-server warned about this session, whole (the notifications were one line).
  local session = package.loaded["codex.session"]
  local st = session and require("codex.ui.notices").state(session.current())
  if st and #st.global > 0 then
    h.start("Warnings from the app-server")
    for _, msg in ipairs(st.global) do h.warn(msg) end
  end
end

return M
