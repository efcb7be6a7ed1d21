-- :Codex subcommands under protocol drift: thread and model lists whose fields are null or of
-- the wrong type (the fake app-server's canned results, through the real core and client).
-- Whatever can be listed is listed; nothing raises or is reported as an error.
if not vim then return pending("Neovim only") end

describe("commands under protocol drift", function()
  local session = require("codex.session")
  session.reset()
  require("codex").setup({
    client = { args = { "lua5.4", TEST_ROOT .. "/tests/fake/app_server.lua" }, request_timeout_ms = 10000 },
  })
  local client = session.client()
  teardown(function()
    pcall(function() client:close() end)
    session.reset()
  end)

  local notes, cap, orig_select
  before_each(function()
    cap, orig_select = require("lib.env").capture_notify({ quiet = true }), vim.ui.select
    notes = cap.list
  end)
  after_each(function()
    cap.restore()
    vim.ui.select = orig_select
    for _, n in ipairs(notes) do
      expect.falsy(n.level == vim.log.levels.ERROR, "error reported: " .. n.msg)
    end
  end)

  local function can(method, result_json)
    client.rpc:request("fake/canned", { method = method, result = vim.json.decode(result_json) })
  end
  local function noted(pattern)
    for _, n in ipairs(notes) do if n.msg:find(pattern) then return true end end
    return false
  end

  it(":Codex resume with a null thread list says there are none", function()
    can("thread/list", '{"data":null,"nextCursor":null}')
    vim.cmd("Codex resume")
    wait_for(function() return noted("no stored threads") end, 5000, "the 'no stored threads' message")
  end)

  it(":Codex resume lists the threads it can, whatever their odd fields", function()
    can("thread/list", '{"data":[{"id":"thr-x","name":null,"preview":null,"updatedAt":"yesterday"},5,null,{"name":"no id"}]}')
    local shown
    vim.ui.select = function(items, opts, cb)
      shown = {}
      for i, t in ipairs(items) do shown[i] = opts.format_item(t) end
      cb(nil)
    end
    vim.cmd("Codex resume")
    wait_for(function() return shown ~= nil end, 5000, "the thread picker")
    expect.eq(#shown, 1, "threads listed")
    expect.match(shown[1], "thr%-x")
  end)

  it(":Codex model survives null names and reasoning efforts", function()
    can("model/list", '{"data":[{"id":"m1","displayName":null,"supportedReasoningEfforts":null},'
      .. '{"id":"m2","isDefault":null,"supportedReasoningEfforts":[null,7,{"reasoningEffort":"low","description":null}]},null],'
      .. '"nextCursor":null}')
    local pickers = {}
    vim.ui.select = function(items, opts, cb)
      local shown = {}
      for i, x in ipairs(items) do shown[i] = opts.format_item(x) end
      pickers[#pickers + 1] = shown
      cb(items[#items])
    end
    vim.cmd("Codex model")
    wait_for(function() return noted("model m2, effort low") end, 5000, "the model to be applied")
    expect.same(pickers[1], { "m1", "m2" })
    expect.same(pickers[2], { "low" })
  end)
end)
