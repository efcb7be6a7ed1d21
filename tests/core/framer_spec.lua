-- The C framer: newline-delimited framing over arbitrary chunking.
local core = require("codex.core")

local function feed_all(f, chunks)
  local lines = {}
  local overflows = 0
  for _, c in ipairs(chunks) do
    local got, o = f:feed(c)
    for _, l in ipairs(got) do lines[#lines + 1] = l end
    overflows = o
  end
  return lines, overflows
end

local sample = table.concat({
  '{"id":1,"result":{}}\n',
  '{"method":"a","params":{"x":"h\\u00e9llo \xc3\xa9"}}\r\n',
  "\n", -- empty line: skipped
  '{"method":"b"}\n',
  '{"method":"c","params":{"s":"' .. ("z"):rep(300) .. '"}}\n',
})
local expected = {
  '{"id":1,"result":{}}',
  '{"method":"a","params":{"x":"h\\u00e9llo \xc3\xa9"}}',
  '{"method":"b"}',
  '{"method":"c","params":{"s":"' .. ("z"):rep(300) .. '"}}',
}

describe("framer", function()
  it("frames one chunk holding many messages", function()
    local lines = feed_all(core.framer(), { sample })
    expect.same(lines, expected)
  end)

  it("gives the same lines whatever byte the stream is split at", function()
    for i = 0, #sample do
      local lines = feed_all(core.framer(), { sample:sub(1, i), sample:sub(i + 1) })
      expect.same(lines, expected, "split at " .. i)
    end
  end)

  it("frames a stream fed one byte at a time", function()
    local chunks = {}
    for i = 1, #sample do chunks[i] = sample:sub(i, i) end
    expect.same(feed_all(core.framer(), chunks), expected)
  end)

  it("strips \\r\\n endings and skips empty lines", function()
    local lines = feed_all(core.framer(), { "a\r\n\r\n\nb\r", "\n" })
    expect.same(lines, { "a", "b" })
  end)

  it("passes a huge line (8 MiB over 1000 chunks) intact", function()
    local big = ("x"):rep(8 * 1024 * 1024)
    local f = core.framer()
    local step = math.floor(#big / 1000) + 1
    local lines = {}
    for i = 1, #big, step do
      local got = f:feed(big:sub(i, i + step - 1))
      expect.eq(#got, 0)
    end
    lines = f:feed("\nnext\n")
    expect.eq(#lines, 2)
    expect.eq(#lines[1], #big)
    expect.eq(lines[1] == big, true)
    expect.eq(lines[2], "next")
  end)

  it("drops an over-limit line, reports it once, and recovers at the next newline", function()
    local f = core.framer(100)
    local lines, overflows = feed_all(f, {
      "ok1\n", ("y"):rep(60), ("y"):rep(60), ("y"):rep(500), "\nok2\n", ("w"):rep(101) .. "\nok3\n",
    })
    expect.same(lines, { "ok1", "ok2", "ok3" })
    expect.eq(overflows, 2)
    -- the dropped bytes were not kept
    expect.lt(f:buffered(), 1024, "buffer capacity after dropping")
  end)

  it("accepts a line of exactly max_line bytes, with or without \\r", function()
    local f = core.framer(10)
    local lines, overflows = feed_all(f, { ("a"):rep(10) .. "\n", ("b"):rep(10) .. "\r\n", ("c"):rep(11) .. "\n" })
    expect.same(lines, { ("a"):rep(10), ("b"):rep(10) })
    expect.eq(overflows, 1)
  end)

  it("hands out an unterminated last line at end of stream", function()
    local f = core.framer()
    f:feed("a\npart")
    local lines = f:finish()
    expect.same(lines, { "part" })
  end)

  it("costs time linear in bytes (64 KiB chunks of a 16 MiB line vs a 2 MiB line)", function()
    local function time(n)
      local chunk = ("q"):rep(65536)
      local f = core.framer()
      local t0 = os.clock()
      for _ = 1, math.floor(n / 65536) do f:feed(chunk) end
      f:feed("\n")
      return os.clock() - t0
    end
    local function best(n) -- the best of 3: a loaded machine delays single runs
      local t = math.huge
      for _ = 1, 3 do t = math.min(t, time(n)) end
      return t
    end
    time(2 * 1024 * 1024) -- warm up
    local small, large = best(2 * 1024 * 1024), best(16 * 1024 * 1024)
    -- 8x the bytes: linear is ~8x; quadratic would be ~64x (copying the line on every chunk:
    -- about 2 GB, well over a second). Allow noise, and a floor for very fast machines.
    expect.lt(large, math.max(small, 0.005) * 20, ("16 MiB took %.4f s vs 2 MiB %.4f s"):format(large, small))
  end)
end)
