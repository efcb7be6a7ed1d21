-- A codex binary that is not there: the start error says how to install it, in one line (the
-- API's own error, which the chat shows); behind client.args the command is the user's and its
-- spawn error is kept.
local codex = require("codex")
local host = require("codex.host")

describe("no codex installed", function()
  it("start() fails with one line naming npm i -g @openai/codex and make deps", function()
    local c = codex.new({ codex_bin = "/nonexistent/codex" })
    finally(function() c:close() end)
    local ok, err = pcall(c.start, c)
    expect.falsy(ok)
    expect.eq(err.kind, "transport_closed")
    expect.eq(err.code_name, "ENOENT")
    expect.eq(err.message, ("codex is not installed (there is no /nonexistent/codex): install it with"
      .. " `npm i -g @openai/codex`, or run `make deps` in %s for the pinned copy"):format(host.root()))
  end)

  it("host.codex_installed: a missing path, a name not on PATH, the pinned copy", function()
    expect.same({ host.codex_installed("/nonexistent/codex") }, { false, host.codex_missing_message("/nonexistent/codex") })
    local ok, msg = host.codex_installed("codex-nvim-no-such-binary")
    expect.falsy(ok)
    expect.match(msg, "^codex is not installed %(no `codex%-nvim%-no%-such%-binary` on PATH%)")
    expect.eq(host.codex_installed("sh"), true, "a name found on PATH")
    expect.eq(host.codex_installed(host.codex_bin()), true, "the codex the suites run")
  end)

  it("behind client.args, a missing command keeps its spawn error", function()
    local c = codex.new({ args = { "/nonexistent/ssh", "host", "codex", "app-server" } })
    finally(function() c:close() end)
    local ok, err = pcall(c.start, c)
    expect.falsy(ok)
    expect.eq(err.code_name, "ENOENT")
    expect.falsy(err.message:find("npm", 1, true), err.message)
  end)
end)
