---@mod codex.ui.grant  Granting part of an item/permissions/requestApproval.
---
--- The server takes `{permissions = <the granted subset, same shape as requested>, scope}`;
--- whatever is left out is denied, whatever was not requested is ignored (protocol.md §6).
--- So a request splits into pieces the user can grant one by one: network access, each read
--- path, each write path, each `entries` element. pick() shows them as a checklist with
--- vim.ui.select (every piece starts unchecked: nothing is granted by accident), choosing a
--- piece toggles it, "Grant the checked …" answers. Dismissing the list answers nothing.
local util = require("codex.util")

local val, list = util.val, util.list

local M = {}

---@class codex.GrantPiece
---@field what "network"|"read"|"write"|"entry"
---@field index integer|nil the element of fileSystem.read/write/entries
---@field label string

local function path_text(p, encode)
  p = val(p)
  if type(p) == "string" then return p end
  if type(p) == "table" then
    local inner = val(p.path) or val(p.pattern) or val(p.value)
    if type(inner) == "string" then return inner end
    if type(inner) == "table" then return path_text(inner, encode) end
    if encode then
      local ok, s = pcall(encode, p)
      if ok then return s end
    end
  end
  return tostring(p)
end

--- The pieces of a requested permission profile, in a stable order.
---@param perms table|nil RequestPermissionProfile
---@param encode (fun(v: table): string)|nil how an odd path is shown
---@return codex.GrantPiece[]
function M.pieces(perms, encode)
  perms = val(perms)
  local out = {}
  if type(perms) ~= "table" then return out end
  local net = val(perms.network)
  if type(net) == "table" and val(net.enabled) == true then
    out[#out + 1] = { what = "network", label = "network access" }
  end
  local fs = val(perms.fileSystem)
  if type(fs) == "table" then
    for i, p in ipairs(list(val(fs.read))) do
      out[#out + 1] = { what = "read", index = i, label = "read " .. path_text(p, encode) }
    end
    for i, p in ipairs(list(val(fs.write))) do
      out[#out + 1] = { what = "write", index = i, label = "write " .. path_text(p, encode) }
    end
    for i, e in ipairs(list(val(fs.entries))) do
      if type(e) == "table" then
        local access = type(val(e.access)) == "string" and e.access or "access"
        out[#out + 1] = { what = "entry", index = i, label = access .. " " .. path_text(e.path, encode) }
      end
    end
  end
  return out
end

--- The granted profile: the requested one with only the chosen pieces (chosen[i] true for
--- pieces[i]), values copied from the request as they are.
---@param perms table|nil
---@param pieces codex.GrantPiece[]
---@param chosen table<integer, boolean>
---@return table GrantedPermissionProfile
function M.subset(perms, pieces, chosen)
  perms = val(perms) or {}
  local out = {}
  local fs_in = val(perms.fileSystem)
  local fs = {}
  local any_fs = false
  for i, piece in ipairs(pieces) do
    if chosen[i] then
      if piece.what == "network" then
        out.network = { enabled = true }
      else
        local key = piece.what == "entry" and "entries" or piece.what
        fs[key] = fs[key] or {}
        table.insert(fs[key], util.deep_copy(list(val(fs_in[key]))[piece.index]))
        any_fs = true
      end
    end
  end
  if any_fs then
    local depth = val(fs_in.globScanMaxDepth)
    if depth ~= nil then fs.globScanMaxDepth = depth end
    out.fileSystem = fs
  end
  return out
end

--- Asks which pieces to grant, then cb(result) with the answer to send, or cb(nil) when
--- the user dismissed the list (nothing answered).
---@param perms table|nil the request's permissions
---@param cb fun(result: table|nil)
function M.pick(perms, cb)
  local pieces = M.pieces(perms, vim.json.encode)
  local chosen = {}
  local function loop()
    local items = {}
    for i, piece in ipairs(pieces) do
      items[#items + 1] = { label = (chosen[i] and "[x] " or "[ ] ") .. piece.label, index = i }
    end
    local n = 0
    for i in pairs(chosen) do if chosen[i] then n = n + 1 end end
    items[#items + 1] = { label = ("Grant the checked (%d) for this turn"):format(n), scope = "turn" }
    items[#items + 1] = { label = ("Grant the checked (%d) for this session"):format(n), scope = "session" }
    vim.ui.select(items, {
      prompt = "Grant which permissions? (choose one to check or uncheck it)",
      format_item = function(it) return it.label end,
    }, function(choice)
      vim.schedule(function()
        if not choice then return cb(nil) end
        if choice.index then
          chosen[choice.index] = not chosen[choice.index] or nil
          return loop()
        end
        if n == 0 then return cb({ permissions = {} }) end
        cb({ permissions = M.subset(perms, pieces, chosen), scope = choice.scope })
      end)
    end)
  end
  loop()
end

return M
