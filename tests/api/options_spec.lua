-- The option schemas (codex.schema, lua/codex/schema/*.lua) and what is generated from them
-- (scripts/gen_options.lua: lua/codex/types/options.lua and doc/codex.txt's option tables),
-- codex.new()'s validation, and the one source of the version constants. Plain Lua and Neovim.
local schema = require("codex.schema")
local client_rows = require("codex.schema.client")
local config_rows = require("codex.schema.config")
local codex = require("codex")
local version = require("codex.version")
local files = require("lib.files")

local gen = dofile(TEST_ROOT .. "/scripts/gen_options.lua")

describe("generated from the option schemas", function()
  it("lua/codex/types/options.lua and doc/codex.txt are current", function()
    local stale = gen.stale()
    expect.same(stale, {}, "stale files; run `lua5.4 scripts/gen_options.lua`")
  end)

  it("a schema change makes both stale, and the doc is rewritten only in its regions", function()
    local row = client_rows[1]
    local doc = row.doc
    finally(function() row.doc = doc end)
    row.doc = "the codex executable, documented differently"
    expect.same(gen.stale(), { "lua/codex/types/options.lua", "doc/codex.txt" })
    local before = assert(files.read(gen.doc_file))
    local after = gen.doc(before)
    expect.match(after, "codex_bin            the codex executable, documented differently")
    -- same number of lines outside the region: only codex_bin's entry changed
    local n = 0
    for _ in before:gmatch("\n") do n = n + 1 end
    local m = 0
    for _ in after:gmatch("\n") do m = m + 1 end
    expect.eq(m, n)
  end)

  it("types every client option once: ClientOptions, with RpcOptions an alias of it", function()
    local types = gen.types()
    local class = types:match("%-%-%-@class codex.ClientOptions\n.-\n\n")
    for _, r in ipairs(client_rows) do
      local _, count = class:gsub("\n%-%-%-@field " .. r[1]:gsub("%p", "%%%0") .. " ", "")
      expect.eq(count, 1, r[1])
    end
    expect.match(types, "---@alias codex.RpcOptions codex.ClientOptions")
    expect.match(types, "---@field approval_handler %(fun%(req: codex.ServerRequest%): table|nil%)|nil")
    expect.match(types, "---@class codex.Config.chat\n---@field layout \"split\"|\"vsplit\"|\"float\"|\"current\"")
  end)
end)

describe("codex.schema", function()
  local rows = {
    { "name", "string", allow_nil = true },
    { "size", "number", default = 2, positive = true },
    { "count", "number", default = 1, min = 1 },
    { "wait", "number", allow_nil = true, nonneg = true },
    { "mode", "string", default = "a", enum = { "a", "b" } },
    { "key", { "string", "false" }, default = "x" },
    { "group", "table" },
    { "group.inner", "boolean", default = true },
    { "rules", { "boolean", "table" }, default = false, unknown = "is not a rule" },
    { "rules.one", "boolean", allow_nil = true },
  }

  it("builds defaults from the rows (groups from their children; nil defaults are absent)", function()
    expect.same(schema.defaults(rows), { size = 2, count = 1, mode = "a", key = "x", group = { inner = true }, rules = false })
    local a, b = schema.defaults(rows), schema.defaults(rows)
    expect.truthy(a.group ~= b.group, "a fresh table every call")
  end)

  it("accepts the defaults, and nil for an option without one", function()
    expect.eq(schema.validate(rows, schema.defaults(rows)), nil)
  end)

  it("names the first bad option and its problem, in row order", function()
    local function problem(change)
      local t = schema.defaults(rows)
      change(t)
      return { schema.validate(rows, t, "is not a known option") }
    end
    expect.same(problem(function(t) t.name = 5 end), { "name", "must be a string, got number" })
    expect.same(problem(function(t) t.size = 0 end), { "size", "must be positive" })
    expect.same(problem(function(t) t.size = 0 / 0 end), { "size", "must be positive" }, "NaN")
    expect.same(problem(function(t) t.count = 0 end), { "count", "must be at least 1" })
    expect.same(problem(function(t) t.wait = -1 end), { "wait", "must be a non-negative number, got -1" })
    expect.same(problem(function(t) t.mode = "c" end), { "mode", "must be one of a, b" })
    expect.same(problem(function(t) t.key = true end), { "key", "must be a string or false, got boolean" })
    expect.same(problem(function(t) t.key = false end), {})
    expect.same(problem(function(t) t.size = nil end), { "size", "must be a number, got nil" })
    expect.same(problem(function(t) t.group = "x" end), { "group", "must be a table, got string" })
    expect.same(problem(function(t) t.group.innr = 1 end), { "group.innr", "is not known", "innr" })
    expect.same(problem(function(t) t.typo, t.other = 1, 2 end), { "other", "is not a known option", "other" },
      "unknown keys in sorted order")
    expect.same(problem(function(t) t.rules = { one = true, two = true } end), { "rules.two", "is not a rule", "two" })
    expect.same(problem(function(t) t.rules = { one = 1 } end), { "rules.one", "must be a boolean, got number" })
  end)
end)

describe("codex.new() options", function()
  local function message(opts)
    local e = expect.raises(function() codex.new(opts) end)
    expect.eq(e.kind, "invalid_argument")
    return e.message
  end

  it("rejects what the schema does, with the messages it always had", function()
    expect.eq(message(5), "codex.new: options must be a table")
    expect.eq(message({ modle = "x" }), 'codex.new: unknown option "modle"')
    expect.eq(message({ cwd = 5 }), "codex.new: option cwd must be a string, got number")
    expect.eq(message({ request_timeout_ms = -1 }), "codex.new: option request_timeout_ms must be a non-negative number, got -1")
    expect.match(message({ kill_grace_ms = 0 / 0 }), "^codex.new: option kill_grace_ms must be a non%-negative number, got ")
    expect.eq(message({ approval_handler = "yes" }), "codex.new: option approval_handler must be a function, got string")
  end)

  it("accepts every option of the schema, math.huge for sizes, and spawns nothing", function()
    local c = codex.new({
      codex_bin = "codex", cwd = "/", env = {}, config = {}, args = { "false" }, app_server_args = {},
      client_info = { name = "t", version = "1" }, experimental_api = false, request_timeout_ms = math.huge,
      start_timeout_ms = 0, max_line = math.huge, retry = {}, restart = true, kill_grace_ms = 1,
      approval_handler = function() end, opt_out_notifications = {}, on_protocol_error = function() end,
      on_warning = function() end,
    })
    expect.eq(c.rpc.state, "new")
  end)
end)

describe("version constants", function()
  it("come from codex.version: rpc, the C core, scripts/deps.sh", function()
    local rpc = require("codex.rpc")
    expect.eq(rpc.VERSION, version.plugin)
    expect.eq(rpc.PINNED_CODEX, version.pinned)
    -- the C core is compiled with it (CMakeLists.txt reads lua/codex/version.lua)
    expect.eq(require("codex.core").version, version.plugin, "core.version")
    local p = io.popen("bash " .. TEST_ROOT .. "/scripts/deps.sh pinned 2>&1")
    local out = p:read("*a")
    p:close()
    expect.eq(out, version.pinned .. "\n", "scripts/deps.sh pinned")
  end)

  it("have one line each in lua/codex/version.lua", function()
    local src = assert(files.read(TEST_ROOT .. "/lua/codex/version.lua"))
    local _, n = src:gsub('\nM%.pinned = "', "")
    expect.eq(n, 1, "M.pinned lines (scripts/deps.sh reads it with sed)")
  end)
end)
