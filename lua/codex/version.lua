---@mod codex.version  The codex releases codex.nvim supports, in one place.
---
--- `min` is the oldest release that passes the API suite (make test-compat), `max_tested`
--- the newest one tested (the newest on npm when the range was last established), `pinned`
--- the one `make deps` installs and every suite runs against. See |codex-versions|.
---
--- This file is the one source of both versions below: rpc.lua, health.lua and the tests
--- read it, and scripts/deps.sh reads `M.pinned` with sed (keep it one line, in double
--- quotes), and so does CMakeLists.txt for `M.plugin`, which the C core is compiled with
--- (core.version).
local M = {}

--- The plugin's own version (sent as clientInfo.version in `initialize`).
M.plugin = "0.1.0"

M.min = "0.155.0"
M.max_tested = "0.171.0"
M.pinned = "0.171.0"

--- "0.171.0" or "0.171.0-alpha.2" → {0, 171, 0, pre = "alpha.2"}; anything else → nil.
---@param s any
---@return {[1]: integer, [2]: integer, [3]: integer, pre: string|nil}|nil
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local a, b, c, rest = s:match("^(%d+)%.(%d+)%.(%d+)(.*)$")
  if not a then return nil end
  local pre = nil
  if rest ~= "" then
    pre = rest:match("^%-([%w%.%-]+)$")
    if not pre then return nil end
  end
  return { tonumber(a), tonumber(b), tonumber(c), pre = pre }
end

--- -1, 0 or 1 as version a is older than, the same as, or newer than b (strings or parsed);
--- nil when either does not parse. A pre-release is older than its release ("0.172.0-alpha.1"
--- < "0.172.0"); two pre-releases of one version compare as text.
---@return integer|nil
function M.compare(a, b)
  a = type(a) == "table" and a or M.parse(a)
  b = type(b) == "table" and b or M.parse(b)
  if not a or not b then return nil end
  for i = 1, 3 do
    if a[i] ~= b[i] then return a[i] < b[i] and -1 or 1 end
  end
  if a.pre == b.pre then return 0 end
  if not a.pre then return 1 end
  if not b.pre then return -1 end
  return a.pre < b.pre and -1 or 1
end

--- The server version in an initialize result's userAgent: the text after the first "/"
--- ("codex_nvim/0.171.0 (Debian 12; x86_64) …" → "0.171.0"); nil when there is none.
---@param ua any
---@return string|nil
function M.from_user_agent(ua)
  if type(ua) ~= "string" then return nil end
  return ua:match("^[^/]+/([%w%.%-]+)")
end

--- The version in `codex --version` output ("codex-cli 0.171.0" → "0.171.0"); nil when none.
---@param out any
---@return string|nil
function M.from_cli(out)
  if type(out) ~= "string" then return nil end
  local first = out:match("[^\r\n]*")
  return first:match("(%d+%.%d+%.%d+[%w%.%-]*)")
end

--- The supported range as text: "0.155.0 to 0.171.0".
---@return string
function M.range()
  return ("%s to %s"):format(M.min, M.max_tested)
end

--- Where version v stands: "ok" (in the range), "old" (older than min), "new" (newer than
--- max_tested), "dev" (0.0.x: a build from source, which has no release number), or
--- "unknown" (does not parse).
---@param v string|nil
---@return "ok"|"old"|"new"|"dev"|"unknown"
function M.status(v)
  local p = M.parse(v)
  if not p then return "unknown" end
  if p[1] == 0 and p[2] == 0 then return "dev" end
  if M.compare(p, M.min) < 0 then return "old" end
  if M.compare(p, M.max_tested) > 0 then return "new" end
  return "ok"
end

--- The one-line warning for a version outside the range (nil when there is nothing to say),
--- and its level: "warn" for an older codex, "info" for a newer one.
---@param v string|nil
---@return string|nil message, "warn"|"info"|nil level
function M.warning(v)
  local s = M.status(v)
  if s == "old" then
    return ("codex %s is older than codex.nvim supports (%s): update it (npm i -g @openai/codex) or set codex_bin")
      :format(v, M.range()), "warn"
  elseif s == "new" then
    return ("codex %s is newer than codex.nvim is tested with (%s): it probably works; report problems with both versions")
      :format(v, M.range()), "info"
  end
  return nil
end

return M
