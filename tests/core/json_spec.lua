-- The JSON encoding rules (identical under Lua 5.4 and in Neovim) and decoding via cjson.
local core = require("codex.core")

describe("json encode", function()
  it("encodes an empty table as an object unless marked as an array", function()
    expect.eq(core.encode({}), "{}")
    expect.eq(core.encode(core.array()), "[]")
    expect.eq(core.encode(core.array({})), "[]")
    expect.eq(core.encode({ a = core.array() }), '{"a":[]}')
  end)

  it("encodes sequences as arrays and other tables as objects", function()
    expect.eq(core.encode({ 1, 2, 3 }), "[1,2,3]")
    expect.same(core.decode(core.encode({ [1] = "a", [3] = "c" })), { ["1"] = "a", ["3"] = "c" })
    local s = core.encode({ x = 1, y = "z" })
    expect.truthy(s == '{"x":1,"y":"z"}' or s == '{"y":"z","x":1}', s)
  end)

  it("encodes the null sentinel and nil as null", function()
    expect.eq(core.encode(core.null), "null")
    expect.eq(core.encode({ core.null, 1 }), "[null,1]")
    expect.eq(core.encode({ a = core.null }), '{"a":null}')
    if vim then expect.eq(core.null, vim.NIL) end
  end)

  it("keeps integers integers and floats round-tripping", function()
    expect.eq(core.encode(3), "3")
    expect.eq(core.encode(-42), "-42")
    expect.eq(core.encode(2 ^ 53), "9007199254740992")
    expect.eq(core.encode(1.5), "1.5")
    expect.eq(core.encode(0.1), "0.1")
    expect.eq(core.encode(1 / 3), "0.33333333333333331")
    expect.truthy(select(2, core.encode(0 / 0)):find("NaN"))
    expect.truthy(select(2, core.encode(math.huge)):find("infinite"))
  end)

  it("passes UTF-8 through and escapes control characters", function()
    expect.eq(core.encode("héllo ✓ 😀"), '"héllo ✓ 😀"')
    expect.eq(core.encode('q"b\\n\n\t\1'), '"q\\"b\\\\n\\n\\t\\u0001"')
    local v, err, code = core.encode("bad \255 byte")
    expect.eq(v, nil)
    expect.match(err, "UTF%-8")
    expect.eq(code, "EINVAL")
    expect.eq(core.encode("\237\160\128"), nil, "a UTF-16 surrogate is not UTF-8")
  end)

  it("rejects functions, cycles and odd keys with a clear error", function()
    local _, e1 = core.encode({ f = print })
    expect.match(e1, "function")
    local t = {}
    t.self = t
    local _, e2 = core.encode(t)
    expect.match(e2, "deeper")
    local _, e3 = core.encode({ [true] = 1 })
    expect.match(e3, "key")
  end)
end)

describe("json encode: tables that have no faithful JSON form", function()
  local function rejects(v, pattern, what)
    local out, err, code = core.encode(v)
    expect.eq(out, nil, what)
    expect.match(err, pattern, what)
    expect.eq(code, "EINVAL", what)
  end

  it("rejects an array-marked table whose keys are not exactly 1..n", function()
    rejects(core.array({ 1, x = 2 }), 'array.*"x"', "a string key")
    rejects(core.array({ 1, 2, [4] = 4 }), "array", "a hole")
    rejects(core.array({ [2] = "b" }), "array", "no [1]")
    rejects(core.array({ 1, [1.5] = 2 }), "array", "a float key")
    rejects(core.array({ [0] = 0, 1 }), "array", "key 0")
    rejects({ a = { core.array({ 1, [true] = 2 }) } }, "array", "nested")
    local mt = getmetatable(core.array())
    rejects(setmetatable({ 1, nil, 3 }, mt), "array", "holes, via array_mt")
    expect.eq(core.encode(core.array({ 1, 2, 3 })), "[1,2,3]")
    expect.eq(core.encode(core.array({ core.null, 2 })), "[null,2]")
    expect.eq(core.encode(setmetatable({}, core.array_mt)), "[]")
    for _, v in ipairs({ core.array({ 1, x = 2 }), core.array({ 1, [3] = 3 }) }) do
      local out, err, code = core.toml(v)
      expect.eq(out, nil, "toml")
      expect.match(err, "array")
      expect.eq(code, "EINVAL")
    end
    expect.eq(core.toml(core.array({ "a" })), '["a"]')
  end)

  it("rejects a table with both an integer key and the same key as a string", function()
    rejects({ [1] = "a", ["1"] = "b" }, 'key "1"', "1 and \"1\"")
    rejects({ x = 1, [-7] = "a", ["-7"] = "b" }, 'key "%-7"', "-7")
    rejects({ list = { { [3] = 1, ["3"] = 2 } } }, 'key "3"', "nested")
    expect.same(core.decode(core.encode({ [1] = "a", ["01"] = "b", [" 1"] = "c" })), { ["1"] = "a", ["01"] = "b", [" 1"] = "c" })
    expect.eq(core.encode({ [2] = "a" }), '{"2":"a"}')
  end)

  it("fails such a request with invalid_argument before anything is sent", function()
    local c = require("lib.fake").client()
    for _, params in ipairs({ core.array({ 1, x = 2 }), { [1] = "a", ["1"] = "b" } }) do
      local err = expect.raises(function() c:request("fake/echo", params) end)
      expect.eq(err.kind, "invalid_argument")
      expect.match(err.message, "fake/echo")
    end
    expect.same(c:request("fake/echo", { a = core.array({ 1 }) }), { a = { 1 } })
    c:close()
  end)
end)

-- The reference decoder of the host: vim.json in Neovim, lua-cjson under Lua 5.4.
local ok_cjson, host_json = pcall(function() return vim and vim.json or require("cjson") end)

describe("json decode", function()
  it("decodes null as core.null and keeps integers integers", function()
    local v = core.decode('{"a":null,"n":7,"f":1.25,"s":"é","l":[1,2]}')
    expect.eq(v.a, core.null)
    expect.eq(v.n, 7)
    if math.type then expect.eq(math.type(v.n), "integer") end
    expect.eq(v.f, 1.25)
    expect.eq(v.s, "é")
    expect.same(v.l, { 1, 2 })
  end)

  it("returns nil, message (with the position) for invalid JSON", function()
    for _, bad in ipairs({ "{nope", "[1,2", '{"a" 1}', '"unterminated', "01", "1.", "-", "tru", "[1,]x",
                           '{"a":1} trailing', '"ctl\1char"', '"bad \\q escape"', "" }) do
      local v, err, code = core.decode(bad)
      expect.eq(v, nil, bad)
      expect.match(err, "at character %d+", bad)
      expect.eq(code, "EINVAL")
    end
  end)

  it("decodes a string that starts with an escape while the scratch buffer is empty", function()
    -- Regression (fuzz review, defect 7): the copy path appended the empty plain prefix to a
    -- still-unallocated scratch buffer, memcpy(NULL, s, 0), which halts the UBSan build. A
    -- string over 1 MiB with an escape makes the decoder free its scratch buffer afterwards,
    -- so the next escaped string finds it empty whatever ran before.
    local big = '"' .. ("x"):rep(1100000) .. '\\n"'
    expect.eq(#core.decode(big), 1100001)
    expect.eq(core.decode('"\\n"'), "\n")
    expect.eq(#core.decode(big), 1100001)
    expect.eq(core.decode('["\\u00e9",{"\\t":"\\\\"}]')[1], "\195\169")
    expect.eq(#core.decode(big), 1100001)
    expect.same(core.decode('{"\\t":"\\\\"}'), { ["\t"] = "\\" })
  end)

  it("decodes escapes, surrogate pairs and raw UTF-8", function()
    expect.eq(core.decode([["a\"b\\c\/d\n\t\r\b\f"]]), 'a"b\\c/d\n\t\r\b\f')
    expect.eq(core.decode([["\u00e9\u2713\ud83d\ude00"]]), "é✓😀")
    expect.eq(core.decode('"raw é ✓"'), "raw é ✓")
    expect.eq(core.decode('"\255\254 invalid bytes pass through"'), "\255\254 invalid bytes pass through")
  end)

  it("rejects lone and reversed surrogate escapes, as cjson does", function()
    for _, bad in ipairs({ [["\ud83d"]], [["\ude00"]], [["lone \ud83d surrogate"]], [["\ude00\ud83d"]],
                           [["\ud83d\u0041"]], [["\ud83d\ud83d\ude00"]], [["\udbff\"]], [["\uDFFF"]],
                           [["x\ud800"]], [[{"\udc00":1}]], [["\ud83d\ude0"]] }) do
      local v, err, code = core.decode(bad)
      expect.eq(v, nil, bad)
      expect.match(err, "at character %d+", bad)
      expect.eq(code, "EINVAL", bad)
    end
    expect.match(select(2, core.decode([["ab\ud83d"]])), "surrogate at character 4")
    expect.eq(core.decode([["\ud800\udc00\udbff\udfff"]]), "\240\144\128\128\244\143\191\191")
  end)

  it("decodes -0 as the float -0.0 (sign kept), as cjson does", function()
    local function negzero(x) return x == 0 and 1 / x == -math.huge end
    expect.truthy(negzero(core.decode("-0")), "-0")
    expect.truthy(negzero(core.decode("[-0]")[1]), "[-0]")
    expect.truthy(negzero(core.decode('{"a":-0}').a), '{"a":-0}')
    expect.truthy(negzero(core.decode("-0.0")), "-0.0")
    expect.truthy(negzero(core.decode("-0e5")), "-0e5")
    expect.eq(1 / core.decode("0"), math.huge)
    if math.type then
      expect.eq(math.type(core.decode("-0")), "float")
      expect.eq(math.type(core.decode("0")), "integer")
      expect.eq(math.type(core.decode("-1")), "integer")
    end
    -- (Neovim 0.12's vim.json decodes -0 as 0; cjson and 0.10 keep the sign, as core does.)
    if ok_cjson and not (vim and vim.fn.has("nvim-0.12") == 1) then expect.eq(1 / core.decode("-0"), 1 / host_json.decode("-0")) end
    expect.eq(core.encode(-0.0), "-0", "encodes back with the sign, as cjson does")
    expect.eq(core.encode({ 0, -0.0 }), "[0,-0]")
    expect.truthy(negzero(core.decode(core.encode(core.decode("-0")))), "round trip")
  end)

  it("allows at most 1000 nested arrays and objects, as cjson does", function()
    local function arrays(n) return ("["):rep(n) .. ("]"):rep(n) end
    local function objects(n) return ('{"a":'):rep(n) .. "1" .. ("}"):rep(n) end
    expect.truthy(core.decode(arrays(1000)), "1000 arrays")
    expect.truthy(core.decode(objects(1000)), "1000 objects")
    expect.truthy(core.decode(("["):rep(1000) .. "1" .. ("]"):rep(1000)), "a scalar inside 1000 arrays")
    expect.truthy(core.decode(('[{"a":'):rep(500) .. "1" .. ("}]"):rep(500)), "1000 mixed")
    for name, doc in pairs({ arrays = arrays(1001), objects = objects(1001),
                             mixed = ('[{"a":'):rep(500) .. "[]" .. ("}]"):rep(500) }) do
      local v, err, code = core.decode(doc)
      expect.eq(v, nil, name)
      expect.match(err, "deep", name)
      expect.eq(code, "EINVAL")
      if ok_cjson then expect.falsy(pcall(host_json.decode, doc), "the host's cjson rejects it too: " .. name) end
    end
    expect.match(select(2, core.decode(arrays(1001))), "at character 1001$")
  end)

  it("decodes numbers like the host does, with integers as integers", function()
    local v = core.decode("[0,-0,7,-42,9007199254740993,1.5,-2.5e3,1E2,123456789012345678901234,0.1]")
    expect.eq(v[3], 7)
    expect.eq(v[4], -42)
    expect.eq(v[6], 1.5)
    expect.eq(v[7], -2500)
    expect.eq(v[8], 100)
    expect.eq(v[9], 1.2345678901234568e23)
    expect.eq(v[10], 0.1)
    expect.eq(core.decode("-9223372036854775808"), -2 ^ 63, "int64's minimum")
    expect.eq(core.decode("9223372036854775808"), 2 ^ 63)
    if math.type then
      expect.eq(math.type(core.decode("-9223372036854775808")), "integer")
      expect.eq(core.decode("-9223372036854775808"), math.mininteger)
      expect.eq(math.type(core.decode("-9223372036854775809")), "float")
      expect.eq(math.type(core.decode("9223372036854775807")), "integer")
      expect.eq(math.type(core.decode("9223372036854775808")), "float")
      expect.eq(math.type(v[5]), "integer")
      expect.eq(v[5], 9007199254740993)
      expect.eq(math.type(v[8]), "float")
    end
  end)

  it("marks empty arrays so they encode back as []", function()
    local v = core.decode('{"items":[],"o":{}}')
    expect.eq(core.encode(v.items), "[]")
    expect.eq(core.encode(v.o), "{}")
  end)

  it("rejects nesting deeper than 1000 levels without crashing", function()
    local v, err = core.decode(("["):rep(5000) .. ("]"):rep(5000))
    expect.eq(v, nil)
    expect.match(err, "deep")
    expect.truthy(core.decode(("["):rep(500) .. ("]"):rep(500)))
  end)

  it("gives the same values as the host's cjson on protocol messages", function()
    if not ok_cjson then return pending("no host cjson") end
    local corpus = {
      [[{"method":"item/agentMessage/delta","params":{"threadId":"thr_1","turnId":"t1","itemId":"msg-1","delta":"He said \"hi\"\n\u00e9"},"emittedAtMs":1795970237123}]],
      '{"id":3,"result":{"thread":{"id":"x","turns":[{"id":"t","items":[{"type":"agentMessage","text":"ok","phase":null}],"status":"completed","durationMs":12}]},"sandbox":{"type":"readOnly","networkAccess":false}}}',
      '{"id":0,"method":"item/commandExecution/requestApproval","params":{"threadId":"a","turnId":"b","itemId":"c","reason":null,"availableDecisions":["accept",{"acceptWithExecpolicyAmendment":{"execpolicy_amendment":["touch","x"]}},"cancel"]}}',
      '{"id":9,"error":{"code":-32001,"message":"Server overloaded; retry later."}}',
      '{"method":"thread/tokenUsage/updated","params":{"tokenUsage":{"total":{"totalTokens":120,"inputTokens":100.5,"cachedInputTokens":0}}}}',
    }
    local function same(a, b, path)
      if type(a) ~= type(b) then error(("%s: %s vs %s"):format(path, tostring(a), tostring(b))) end
      if type(a) ~= "table" then
        if a ~= b then error(("%s: %s vs %s"):format(path, tostring(a), tostring(b))) end
        return
      end
      for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
      for k in pairs(b) do if a[k] == nil then error(path .. "." .. tostring(k) .. " missing") end end
    end
    for _, line in ipairs(corpus) do same(core.decode(line), host_json.decode(line), "$") end
  end)

  it("round-trips a protocol message", function()
    local line = '{"id":3,"method":"turn/start","params":{"input":[{"text":"hi","type":"text"}],"threadId":"t"}}'
    local back = core.decode(core.encode(core.decode(line)))
    expect.same(back, core.decode(line))
  end)
end)

describe("toml (for --config values)", function()
  it("escapes DEL (0x7f), which TOML forbids raw in basic strings", function()
    expect.eq(core.toml("a\127b"), '"a\\u007Fb"')
    expect.eq(core.toml({ ["k\127"] = { "\127" } }), '{ "k\\u007F" = ["\\u007F"] }')
    expect.eq(core.encode("a\127b"), '"a\127b"', "JSON allows it raw")
  end)


  it("quotes strings so a value cannot inject another key", function()
    expect.eq(core.toml('x"\ny = 1'), '"x\\"\\ny = 1"')
    expect.eq(core.toml(true), "true")
    expect.eq(core.toml(5), "5")
    expect.eq(core.toml({ "a", "b" }), '["a", "b"]')
    expect.eq(core.toml({ k = "v" }), '{ "k" = "v" }')
  end)
end)

describe("--config keys (rpc.argv)", function()
  local rpc = require("codex.rpc")
  local errors = require("codex.errors")

  local function bad_key(config, named)
    local argv, err = rpc.argv({ codex_bin = "codex", config = config })
    expect.eq(argv, nil, named)
    expect.match(err, "config key", named)
    expect.truthy(err:find(named, 1, true), ("%q names %s"):format(err, named))
    -- and through start(): a codex error of kind invalid_argument, nothing spawned
    local c = rpc.new({ codex_bin = "/nonexistent/codex", config = config })
    local e = expect.raises(function() c:start() end)
    expect.truthy(errors.is(e, "invalid_argument"), "invalid_argument: " .. tostring(e))
    expect.truthy(e.message:find(named, 1, true), tostring(e))
    c:close()
  end

  it("rejects the empty key and empty segments", function()
    bad_key({ [""] = 1 }, '""')
    bad_key({ ["a..b"] = 1 }, '"a..b"')
    bad_key({ [".a"] = 1 }, '".a"')
    bad_key({ ["a."] = 1 }, '"a."')
    bad_key({ ["a b"] = 1 }, '"a b"')
    bad_key({ ["a=b"] = 1 }, '"a=b"')
  end)

  it("rejects keys that are not strings, alone or mixed with strings", function()
    bad_key({ [true] = 1 }, "true")
    bad_key({ model = "x", [false] = 1 }, "false")
    bad_key({ model = "x", [1] = "y" }, "1")
    bad_key({ "a", "b" }, "1")
    bad_key({ model = "x", [2.5] = 1 }, "2.5")
  end)

  it("builds --config key=value for valid keys, sorted", function()
    local argv = rpc.argv({ codex_bin = "codex", config = { ["b.c-d"] = { "x" }, a_1 = true, model = 'q"' } })
    expect.same(argv, { "codex", "--config", "a_1=true", "--config", 'b.c-d=["x"]', "--config", 'model="q\\""',
                        "app-server", "--listen", "stdio://" })
  end)
end)
