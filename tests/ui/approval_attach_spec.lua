-- codex.ui.approval.attach(thread_id, host): the contract between a chat and the approval UI,
-- with a stand-in host and request objects (no app-server).
if not (type(vim) == "table" and vim.api) then
  pending("ui: approval.attach (Neovim only)")
  return
end

local api = vim.api
local approval = require("codex.ui.approval")

local next_id = 0
local function fake_req(tid)
  next_id = next_id + 1
  local r = { id = "attach-" .. next_id, method = "item/permissions/requestApproval", thread_id = tid,
    params = { threadId = tid, permissions = { network = { enabled = true } } }, answered = false, resolved = false, cbs = {} }
  function r:respond(x) self.answered, self.answer = true, x return true end
  function r:respond_safe() return self:respond({}) end
  function r:on_resolved(fn) self.cbs[#self.cbs + 1] = fn end
  return r
end

--- A host whose windows are fields, recording its calls.
local function host()
  local h = { waiting = {}, name = "my chat" }
  h.api = {
    windows = function() return h.win, h.input_win end,
    on_waiting = function(on) h.waiting[#h.waiting + 1] = on end,
    label = function() return h.name end,
  }
  return h
end

describe("ui: approval.attach", function()
  local cap = require("lib.env").capture_notify({ quiet = true })
  local notes = cap.list
  teardown(cap.restore)
  local wins = {}
  after_each(function()
    for _, w in ipairs(wins) do pcall(api.nvim_win_close, w, true) end
    wins = {}
  end)

  it("a hidden chat: pending, waiting, named; shown when it attaches with a window; closed when it hides", function()
    local tid, h = "attach-1", host()
    approval.attach(tid, h.api)
    local r = fake_req(tid)
    approval.handle(r)
    expect.eq(approval.pending(tid), 1)
    expect.falsy(approval.current(tid), "no window: not shown")
    expect.same(h.waiting, { true })
    expect.eq(notes[#notes].msg, 'Codex: waiting for your approval in "my chat": :Codex to show it')
    -- the chat shows: it attaches again, and the prompt anchors to its window
    vim.cmd("botright split")
    h.win = api.nvim_get_current_win()
    wins[#wins + 1] = h.win
    approval.attach(tid, h.api)
    local cur = expect.truthy(approval.current(tid), "shown in the chat's window")
    expect.eq(cur.anchor, h.win)
    -- the chat hides (closes its window): the float closes at once, the prompt waits
    api.nvim_win_close(h.win, true)
    h.win = nil
    approval.attach(tid, h.api)
    expect.falsy(approval.current(tid))
    expect.eq(approval.pending(tid), 1)
    -- answered: the host hears it is no longer waiting
    vim.cmd("botright split")
    h.win = api.nvim_get_current_win()
    wins[#wins + 1] = h.win
    approval.attach(tid, h.api)
    expect.truthy(approval.current(tid))
    expect.truthy(approval.focus(tid))
    vim.api.nvim_feedkeys("g3", "x", false)
    expect.same(r.answer, { permissions = {} })
    expect.eq(approval.pending(tid), 0)
    expect.eq(h.waiting[#h.waiting], false)
  end)

  it("a host attached while prompts wait hears so at once; without a host the notice says how to answer", function()
    local tid = "attach-2"
    local reqs = { fake_req(tid), fake_req(tid) }
    finally(function() -- the server settles both: nothing is left for the next spec
      for _, r in ipairs(reqs) do
        r.resolved = true
        for _, f in ipairs(r.cbs) do f(r) end
      end
      expect.eq(approval.pending(tid), 0)
      expect.falsy(approval.current(tid))
    end)
    approval.handle(reqs[1])
    expect.match(notes[#notes].msg, "^Codex: waiting for your approval in thread attach%-2: :lua require%('codex.ui.approval'%)%.focus%(%) to answer$")
    local h = host()
    h.name = nil
    approval.attach(tid, h.api)
    expect.same(h.waiting, { true })
    -- a failing host never breaks the prompt
    approval.attach(tid, { windows = function() error("gone") end, on_waiting = function() error("gone") end })
    approval.handle(reqs[2])
    expect.eq(approval.pending(tid), 2)
    expect.truthy(approval.focus(tid), "shown at the bottom of the editor")
    vim.cmd("wincmd p")
    approval.attach(tid, nil)
  end)
end)
