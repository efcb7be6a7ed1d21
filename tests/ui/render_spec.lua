-- The renderer's frame: the first text after a quiet frame is written at once (a turn's first
-- token must not wait for a timer), what follows within the frame is coalesced into one write.
if not vim then return pending("Neovim only") end
local render = require("codex.ui.render")

describe("renderer frame", function()
  local buf, r, writes, detach
  before_each(function()
    buf = vim.api.nvim_create_buf(false, true)
    writes = 0
    vim.api.nvim_buf_attach(buf, false, { on_lines = function()
      if detach then return true end
      writes = writes + 1
    end })
    detach = false
    r = render.new(buf, { frame_ms = 50, windows = function() return {} end })
    r:open_block("m", { "## Codex", "" })
  end)
  after_each(function()
    detach = true
    vim.api.nvim_buf_delete(buf, { force = true })
  end)

  local function text() return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") end

  it("writes the first delta at once, without a timer", function()
    local before = writes
    r:append("m", "Hello")
    expect.eq(writes, before + 1, "written inside append()")
    expect.match(text(), "Hello$")
    expect.falsy(r.scheduled, "no timer is left armed")
  end)

  it("coalesces what follows within the frame into one write at its end", function()
    r:append("m", "a")
    local after_first = writes
    for i = 1, 20 do r:append("m", tostring(i % 10)) end
    expect.eq(writes, after_first, "nothing more written inside the frame")
    expect.truthy(r.scheduled)
    expect.truthy(wait_for(function() return not r.scheduled end, 2000, "the frame's flush"))
    expect.eq(writes, after_first + 1, "one write for the rest of the frame")
    expect.match(text(), "a12345678901234567890$")
  end)

  it("writes at once again after a quiet frame", function()
    r:append("m", "x")
    r:append("m", "y")
    expect.truthy(wait_for(function() return not r.scheduled end, 2000, "the frame's flush"))
    local t0 = (vim.uv or vim.loop).hrtime()
    -- Let a whole frame pass with nothing written (waiting on the clock, not on a sleep).
    expect.truthy(wait_for(function() return ((vim.uv or vim.loop).hrtime() - t0) / 1e6 > 60 end, 2000, "a quiet frame"))
    local before = writes
    r:append("m", "z")
    expect.eq(writes, before + 1)
    expect.match(text(), "xyz$")
  end)
end)
