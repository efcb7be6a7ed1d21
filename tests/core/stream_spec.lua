-- A stream holds an event only while somebody may still read it (issue 8: a turn of millions
-- of deltas must cost what its readers have not consumed, not its length), and a Turn's result
-- is gathered as events pass, keeping item texts, not deltas.
local stream = require("codex.stream")
local turn_mod = require("codex.turn")

local function delta(i, item)
  return { method = "item/agentMessage/delta", params = { itemId = item or "m1", delta = "d" .. i .. " " } }
end
local function completed(id) return { method = "turn/completed", params = { turn = { id = id or "t1", status = "completed" } } } end

-- Lua heap in KiB after full collections.
local function heap()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count")
end

describe("stream retention", function()
  it("keeps every event until the stream is claimed; its first reader starts at the first", function()
    local s = stream.new("turn:t1", "turn/completed")
    for i = 1, 5 do s:push(delta(i)) end
    expect.eq(s:held(), 5)
    local r = s:reader()
    expect.eq(r:next().params.delta, "d1 ")
  end)

  it("drops what every live reader has read", function()
    local s = stream.new("turn:t1", "turn/completed")
    local a, b = s:reader(), s:reader()
    for i = 1, 4 do s:push(delta(i)) end
    expect.eq(s:held(), 4)
    a:next(); a:next(); a:next()
    expect.eq(s:held(), 4, "b has read nothing yet")
    b:next(); b:next()
    expect.eq(s:held(), 2, "both read the first two")
    b:next(); b:next(); a:next()
    expect.eq(s:held(), 0)
    local late = s:reader()
    s:push(delta(5))
    expect.eq(late:next().params.delta, "d5 ", "a later reader starts at the oldest event still held")
  end)

  it("a reader nobody references any more stops holding events", function()
    local s = stream.new("turn:t1", "turn/completed")
    local r = s:reader()
    for i = 1, 3 do s:push(delta(i)) end
    expect.eq(s:held(), 3)
    r = nil -- luacheck: ignore
    collectgarbage("collect")
    s:push(delta(4))
    expect.eq(s:held(), 0)
  end)

  it("with subscribers only, holds nothing; on() replays what was held before it", function()
    local s = stream.new("turn:t1", "turn/completed")
    s:push(delta(1))
    local seen = {}
    s:on(function(msg) seen[#seen + 1] = msg.params.delta end, true)
    expect.eq(s:held(), 0, "the replayed event is dropped")
    for i = 2, 50 do s:push(delta(i)) end
    expect.eq(#seen, 50)
    expect.eq(s:held(), 0)
  end)

  it("observe() does not claim: the events wait for the first reader", function()
    local s = stream.new("turn:t1", "turn/completed")
    local n = 0
    s:observe(function() n = n + 1 end)
    for i = 1, 3 do s:push(delta(i)) end
    expect.eq(n, 3)
    expect.eq(s:held(), 3)
  end)

  it("finished() waits for the end without reading, and fails with the stream's error", function()
    local s = stream.new("turn:t1", "turn/completed")
    local r = s:reader()
    local done
    s:finished(nil, function(err) done = err or true end)
    s:push(delta(1))
    s:push(completed())
    expect.truthy(wait_for(function() return done end, 2000, "finished"))
    expect.eq(done, true)
    expect.eq(r:next().params.delta, "d1 ", "finished() read nothing")
    local f = stream.new("turn:t2", "turn/completed")
    local ferr
    f:finished(nil, function(err) ferr = err end)
    f:push(nil, { kind = "transport_closed", message = "gone" })
    expect.truthy(wait_for(function() return ferr end, 2000, "failed"))
    expect.eq(ferr.kind, "transport_closed")
  end)
end)

describe("a long turn keeps memory flat", function()
  local N = 200000

  local function turn_of(s) return turn_mod.new({}, "th", { turn = { id = "t1" } }, s) end

  it("through turn:on(): the stream holds no delta, the heap does not grow with the turn", function()
    local s = stream.new("turn:t1", "turn/completed")
    local t = turn_of(s)
    local chars = 0
    t:on("item/agentMessage/delta", function(p) chars = chars + #p.delta end)
    local before = heap()
    for i = 1, N do s:push(delta(i % 1000)) end
    expect.eq(s:held(), 0)
    -- The in-progress message's text (~1.2 MB) is kept for partial_response, in few strings;
    -- the deltas themselves (N tables) would be tens of MB.
    expect.lt(heap() - before, 4 * 1024, "KiB of growth over " .. N .. " deltas")
    expect.truthy(chars > 0)
  end)

  it("through turn:events(): a reader keeps up, the stream holds at most what it has not read", function()
    local s = stream.new("turn:t1", "turn/completed")
    local t = turn_of(s)
    local it = t:events()
    local most, before = 0, heap()
    for i = 1, N do
      s:push(delta(i % 1000))
      if s:held() > most then most = s:held() end
      it()
    end
    expect.eq(most, 1)
    expect.eq(s:held(), 0)
    expect.lt(heap() - before, 4 * 1024, "KiB of growth over " .. N .. " deltas")
  end)

  it("the TurnResult keeps item texts, not deltas: partial text of a cut message, nothing of completed ones", function()
    local s = stream.new("turn:t1", "turn/completed")
    local t = turn_of(s)
    s:claim()
    for i = 1, 3 do s:push(delta(i, "done-item")) end
    s:push({ method = "item/completed", params = { item = { id = "done-item", type = "agentMessage", text = "d1 d2 d3 " } } })
    for i = 1, 1000 do s:push(delta(i, "cut-item")) end
    s:push({ method = "turn/completed", params = { turn = { id = "t1", status = "interrupted" } } })
    local r = t:result()
    expect.eq(r.status, "interrupted")
    local want = {}
    for i = 1, 1000 do want[i] = "d" .. i .. " " end
    expect.eq(r.partial_response, table.concat(want))
    expect.eq(#r.items, 1)
    expect.eq(r.final_response, "d1 d2 d3 ")
  end)
end)
