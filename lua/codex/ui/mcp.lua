---@mod codex.ui.mcp  `:Codex mcp`: the MCP servers codex knows, their state and tools;
--- reload them, log in to one that needs OAuth.
---
--- The list is mcpServerStatus/list (followed to its last page), with what the server said
--- about their startup (mcpServer/startupStatus/updated, kept by codex.ui.notices). A login
--- (mcpServer/oauth/login) opens the authorization URL as :CodexLogin does; its end comes as
--- mcpServer/oauthLogin/completed (a notification, codex.ui.notices).
local util = require("codex.ui.util")

local M = {}

local function str(v) return type(v) == "string" and v ~= "" and v or nil end

--- Every MCP server of the client (mcpServerStatus/list, every page): cb(err, servers).
---@param client table
---@param cb fun(err: any, servers: table[]|nil)
function M.list(client, cb)
  local out = {}
  local function page(cursor)
    client:request("mcpServerStatus/list", { cursor = cursor }, nil, function(err, res)
      if err then return cb(err, nil) end
      res = type(res) == "table" and res or {}
      for _, s in ipairs(type(res.data) == "table" and res.data or {}) do
        if type(s) == "table" and str(s.name) then out[#out + 1] = s end
      end
      local next_cursor = str(res.nextCursor)
      if next_cursor and next_cursor ~= cursor then return page(next_cursor) end
      table.sort(out, function(a, b) return a.name < b.name end)
      cb(nil, out)
    end)
  end
  page(nil)
end

--- The server's startup status as the client last heard it (nil if never).
local function startup(client, name)
  local st = require("codex.ui.notices").state(client)
  return st and st.mcp[name] or nil
end

--- The tools of a server, sorted by name.
---@param s table codex.proto.McpServerStatus
---@return table[]
function M.tools(s)
  local out = {}
  for key, t in pairs(type(s.tools) == "table" and s.tools or {}) do
    if type(t) == "table" then out[#out + 1] = { name = str(t.name) or tostring(key), description = str(t.description) } end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

--- Does the server want an OAuth login?
function M.needs_login(s, boot)
  return s.authStatus == "notLoggedIn" or s.runtimeStatus == "authenticationRequired"
    or (type(boot) == "table" and boot.failureReason == "reauthenticationRequired")
end

--- What is wrong with a server, in words; nil when nothing is.
---@param s table
---@param boot table|nil its mcpServer/startupStatus/updated
---@return string|nil
function M.problem(s, boot)
  if M.needs_login(s, boot) then return "needs a login (:Codex mcp login " .. s.name .. ")" end
  if s.runtimeStatus == "failed" or (type(boot) == "table" and boot.status == "failed") then
    return "failed to start" .. ((type(boot) == "table" and str(boot.error)) and (": " .. boot.error) or "")
  end
  if str(s.toolsError) then return "cannot list its tools: " .. s.toolsError end
  return nil
end

--- One line about a server: "name — state · auth · N tools".
---@param s table
---@param boot table|nil
---@return string
function M.line(s, boot)
  local state = str(s.runtimeStatus) or (type(boot) == "table" and str(boot.status)) or "configured"
  local parts = { state }
  if str(s.authStatus) and s.authStatus ~= "unsupported" and s.authStatus ~= "unknown" then parts[#parts + 1] = s.authStatus end
  parts[#parts + 1] = #M.tools(s) .. " tools"
  local p = M.problem(s, boot)
  return ("%s — %s%s"):format(s.name, table.concat(parts, " · "), p and (" — " .. p) or "")
end

--- Reloads the MCP configuration (config/mcpServer/reload).
function M.reload(client)
  client:request("config/mcpServer/reload", nil, nil, function(err)
    if err then return util.notify("MCP reload failed: " .. util.err_text(err), vim.log.levels.ERROR) end
    util.notify("MCP servers reloaded from the configuration")
  end)
end

--- Starts an OAuth login to a server: opens its authorization URL in the browser.
---@param client table
---@param name string
---@param thread_id string|nil
function M.login(client, name, thread_id)
  client:request("mcpServer/oauth/login", { name = name, threadId = thread_id }, nil, function(err, res)
    if err then return util.notify(("MCP login to %q failed: %s"):format(name, util.err_text(err)), vim.log.levels.ERROR) end
    local url = type(res) == "table" and str(res.authorizationUrl)
    if not url then return util.notify(("MCP login to %q: the server sent no URL"):format(name), vim.log.levels.ERROR) end
    local why = util.open_url(url)
    util.notify(("MCP login to %q: %s %s"):format(name, why and ("open this URL (" .. why .. "):") or "opened in your browser:", url))
  end)
end

--- Shows a server's tools.
local function show_tools(s)
  local lines = { ("MCP server %s: %d tools"):format(s.name, #M.tools(s)) }
  for _, t in ipairs(M.tools(s)) do
    lines[#lines + 1] = "  " .. t.name .. (t.description and ("  " .. t.description:gsub("\n.*", "")) or "")
  end
  util.notify(table.concat(lines, "\n"))
end

local RELOAD = { reload = true }

--- :Codex mcp: the servers in a picker; a server's actions (tools, log in, reload).
---@param client table
---@param thread_id string|nil
function M.open(client, thread_id)
  M.list(client, function(err, servers)
    if err then return util.notify("mcpServerStatus/list failed: " .. util.err_text(err), vim.log.levels.ERROR) end
    if #servers == 0 then
      return util.notify("no MCP servers configured ([mcp_servers] in codex's config.toml); :Codex mcp reload after editing it")
    end
    local choices = vim.list_extend({}, servers)
    choices[#choices + 1] = RELOAD
    vim.ui.select(choices, {
      prompt = "MCP servers",
      format_item = function(s) return s == RELOAD and "Reload MCP servers" or M.line(s, startup(client, s.name)) end,
    }, function(s)
      if not s then return end
      if s == RELOAD then return M.reload(client) end
      local actions = { "Show tools (" .. #M.tools(s) .. ")" }
      if M.needs_login(s, startup(client, s.name)) or s.authStatus == "oAuth" then actions[#actions + 1] = "Log in (OAuth)" end
      actions[#actions + 1] = "Reload MCP servers"
      vim.ui.select(actions, { prompt = s.name }, function(a)
        if not a then return end
        if a:find("^Show tools") then return show_tools(s) end
        if a:find("^Log in") then return M.login(client, s.name, thread_id) end
        M.reload(client)
      end)
    end)
  end)
end

return M
