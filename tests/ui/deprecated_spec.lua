-- No deprecated Neovim API: every command of the plugin, used as a person would (against the
-- real app-server and the mock), calls no vim.deprecate(), and on 0.11+ `:checkhealth
-- vim.deprecated` (which lists every deprecated function called since startup) stays clean.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")

describe("no deprecated API", function()
  local env = ui.env()
  teardown(env.close)
  before_each(ui.settle_chats)
  after_each(function()
    ui.settle_chats()
    env.setup() -- :Codex model changed the configured model
  end)

  it("after every :Codex and :CodexLogin command (and :checkhealth codex)", function()
    -- Every vim.deprecate() call, with where it came from.
    local calls, orig_deprecate = {}, vim.deprecate
    finally(function() vim.deprecate = orig_deprecate end)
    if orig_deprecate then
      vim.deprecate = function(name, alt, ver, plugin, ...)
        calls[#calls + 1] = ("%s (use %s; %s %s)\n%s"):format(tostring(name), tostring(alt), tostring(plugin or "Nvim"),
          tostring(ver), debug.traceback("", 2))
        return orig_deprecate(name, alt, ver, plugin, ...)
      end
    end
    local msgs, orig_notify = {}, vim.notify
    finally(function() vim.notify = orig_notify end)
    vim.notify = function(m) msgs[#msgs + 1] = tostring(m) end
    local function wait_msg(pat)
      return wait_for(function()
        for i, m in ipairs(msgs) do if m:find(pat) then table.remove(msgs, i) return m end end
      end, 20000, function() return ("a notification matching %q; got %s"):format(pat, table.concat(msgs, " | ")) end)
    end
    local function select_first()
      local orig = vim.ui.select
      finally(function() vim.ui.select = orig end)
      vim.ui.select = function(items, _, cb) cb(items[1]) end
    end
    select_first()
    local chat_mod = require("codex.ui.chat")

    vim.fn.getcompletion("Codex ", "cmdline")
    vim.fn.getcompletion("CodexLogin ", "cmdline")
    vim.cmd("Codex") -- opens (toggles) a chat
    vim.cmd("Codex hello there")
    local c = chat_mod.current()
    ui.wait_text(c.buf, "Hello from the mock model!")
    ui.wait_idle(c)
    -- a range from a file
    vim.cmd("wincmd t")
    vim.cmd("enew")
    vim.api.nvim_buf_set_lines(0, 0, -1, false, { "local a = 1", "local b = 2" })
    vim.cmd("1,2Codex explain")
    ui.wait_text(c.buf, "explain")
    ui.wait_idle(c)
    vim.cmd("Codex status")
    wait_msg("account:")
    vim.cmd("Codex model")
    wait_msg("for the next turns")
    vim.cmd("Codex rename deprecations")
    wait_msg("thread renamed")
    vim.cmd("Codex fork")
    wait_for(function() return chat_mod.current() ~= c end, 20000, "the fork's chat")
    vim.cmd("Codex new")
    vim.cmd("Codex resume")
    local c2 = chat_mod.current()
    c2:send("[[slow]]")
    ui.wait_text(c2.buf, "## Codex\n\none ")
    vim.cmd("Codex stop")
    ui.wait_idle(c2)
    vim.cmd("Codex archive")
    vim.cmd("Codex") -- toggle
    vim.cmd("Codex")
    local orig_secret = vim.fn.inputsecret
    finally(function() vim.fn.inputsecret = orig_secret end)
    vim.fn.inputsecret = function() return "" end -- the API key prompt, cancelled
    vim.cmd("CodexLogin apikey")
    vim.cmd("Codex logout")
    wait_msg("sign")
    vim.cmd("silent checkhealth codex")
    pcall(vim.cmd, "bwipe!")
    ui.flush()

    expect.eq(table.concat(calls, "\n"), "", "vim.deprecate() calls")
    if vim.fn.has("nvim-0.11") == 1 then
      vim.cmd("silent checkhealth vim.deprecated")
      local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
      pcall(vim.cmd, "bwipe!")
      local text = table.concat(lines, "\n")
      expect.match(text, "No deprecated functions detected", ":checkhealth vim.deprecated")
      expect.falsy(text:find("WARNING", 1, true), ":checkhealth vim.deprecated warns:\n" .. text)
    end
  end)
end)
