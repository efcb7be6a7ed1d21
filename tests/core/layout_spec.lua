-- The layout is the architecture (DESIGN §1, issue 14): the API layer runs in plain Lua and
-- touches no Neovim API (codex.host is the one adapter), the Neovim glue and the UI sit on top,
-- and the UI modules depend on each other one way (approval never reaches into chat).
local files = require("lib.files")

local LUA = TEST_ROOT .. "/lua/codex/"

-- The Neovim glue: plugin config, commands, events, the UI's shared session, :checkhealth,
-- and the host adapter itself.
local GLUE = { commands = true, config = true, events = true, health = true, session = true, host = true,
  init = true } -- (init: lazy entry points into the glue, e.g. setup() and statusline())

local function ls(dir, pattern)
  local out = {}
  local p = assert(io.popen(("ls %q"):format(dir)))
  for name in p:lines() do
    if name:match(pattern) then out[#out + 1] = name end
  end
  p:close()
  table.sort(out)
  return out
end

local function api_modules()
  local out = {}
  for _, f in ipairs(ls(LUA, "%.lua$")) do
    local name = f:gsub("%.lua$", "")
    if not GLUE[name] then out[#out + 1] = { name = "codex." .. name, path = LUA .. f } end
  end
  for _, f in ipairs(ls(LUA .. "schema/", "%.lua$")) do
    out[#out + 1] = { name = "codex.schema." .. f:gsub("%.lua$", ""), path = LUA .. "schema/" .. f }
  end
  return out
end

-- Code without its comments (strings are kept: a require names a string).
local function code_of(path)
  local text = files.read(path)
  text = text:gsub("%-%-%[(=*)%[.-%]%1%]", ""):gsub("%-%-[^\n]*", "")
  return text
end

describe("layout", function()
  it("the API layer names no Neovim API (vim.api, vim.fn, vim.notify, …): codex.host adapts", function()
    local bad = {}
    for _, m in ipairs(api_modules()) do
      -- (string contents too are no code: docs name |vim.notify()|)
      local code = code_of(m.path):gsub('"[^"\n]*"', '""'):gsub("'[^'\n]*'", "''")
      for _, what in ipairs({ "vim%.api", "vim%.fn", "vim%.loop", "vim%.uv", "vim%.keymap", "vim%.cmd", "vim%.notify", "vim%.wait", "vim%.schedule" }) do
        if code:find(what) then bad[#bad + 1] = m.name .. " uses " .. what:gsub("%%", "") end
      end
    end
    expect.same(bad, {})
  end)

  if not vim then
    it("every API module loads in plain Lua", function()
      for _, m in ipairs(api_modules()) do
        local ok, err = pcall(require, m.name)
        expect.truthy(ok, m.name .. ": " .. tostring(err))
      end
    end)
  end

  it("the UI modules require each other without a cycle, and approval never requires chat", function()
    local deps = {}
    for _, f in ipairs(ls(LUA .. "ui/", "%.lua$")) do
      local name = f:gsub("%.lua$", "")
      deps[name] = {}
      for dep in code_of(LUA .. "ui/" .. f):gmatch("require%(?%s*[\"']codex%.ui%.([%w_]+)[\"']") do
        if dep ~= name then deps[name][#deps[name] + 1] = dep end -- (a keymap's own rhs)
      end
    end
    local state, cycle = {}, nil
    local function visit(n, path)
      if cycle then return end
      if state[n] == "done" then return end
      if state[n] == "open" then
        cycle = table.concat(path, " → ") .. " → " .. n
        return
      end
      state[n] = "open"
      path[#path + 1] = n
      for _, d in ipairs(deps[n] or {}) do visit(d, path) end
      path[#path] = nil
      state[n] = "done"
    end
    for n in pairs(deps) do visit(n, {}) end
    expect.eq(cycle, nil, "a require cycle among lua/codex/ui")
    for _, n in ipairs({ "approval", "approval_view", "approval_content", "user_input" }) do
      for _, d in ipairs(deps[n] or {}) do
        expect.truthy(d ~= "chat", n .. " requires codex.ui.chat: use approval.attach()")
      end
    end
  end)
end)
