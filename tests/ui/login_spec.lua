-- codex.ui.login inside Neovim, against the real pinned app-server and the mock OAuth issuer.
if type(vim) ~= "table" or not vim.api then
  pending("ui login: needs Neovim")
  return
end

local config = require("codex.config")
local session = require("codex.session")
local events = require("codex.events")
local login = require("codex.ui.login")
local ui_flush = require("lib.ui").flush

local T = 30000

local function floats()
  local out = {}
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then out[#out + 1] = w end
  end
  return out
end

local function float_text()
  local w = floats()[1]
  if not w then return nil end
  return table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), "\n")
end

local function wait_text(needle, ms)
  local ok = vim.wait(ms or T, function()
    local t = float_text()
    return t ~= nil and t:find(needle, 1, true) ~= nil
  end, 10)
  if not ok then error(("the login float never showed %q; it shows: %s"):format(needle, tostring(float_text())), 2) end
end

local function press(key)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(key, true, false, true), "x", false)
end

local uv = vim.uv or vim.loop

--- Waits until nothing accepts connections on 127.0.0.1:port (trying every 50 ms).
local function wait_port_free(port, ms)
  local free, stop = false, false
  local function try()
    if stop then return end
    local tcp = uv.new_tcp()
    tcp:connect("127.0.0.1", port, function(err)
      tcp:close()
      if err then free = true else vim.defer_fn(try, 50) end
    end)
  end
  try()
  local ok, err = pcall(wait_for, function() return free end, ms, "port " .. port .. " to be free")
  stop = true
  if not ok then error(err, 0) end
end

--- One mock + CODEX_HOME + workspace; before each test: the plugin pointed at it, a fresh
--- shared client, notifications and LoginCompleted events recorded.
local function env(mock_args, home_opts)
  local e = require("lib.env").new({ mock_args = mock_args, home = home_opts })
  e.notes, e.completions = {}, {}
  local orig_notify, unsub
  e.setup = function(extra)
    local opts = { client = { env = e.env, app_server_args = { "--strict-config" }, cwd = e.workspace } }
    for k, v in pairs(extra or {}) do opts[k] = v end
    config.setup(opts)
    session.reset()
    e.notes, e.completions = {}, {}
    orig_notify = vim.notify
    vim.notify = function(msg, level, o)
      e.notes[#e.notes + 1] = { msg = msg, level = level }
      if e.echo_notify then return orig_notify(msg, level, o) end
    end
    unsub = events.on("LoginCompleted", function(d) e.completions[#e.completions + 1] = d end)
  end
  e.teardown = function()
    pcall(login.cancel)
    for _, w in ipairs(floats()) do pcall(vim.api.nvim_win_close, w, true) end
    if orig_notify then vim.notify = orig_notify end
    if unsub then unsub() end
    e.echo_notify = false
    session.reset()
  end
  e.note = function(pat)
    for _, n in ipairs(e.notes) do if n.msg:find(pat, 1, true) then return n end end
  end
  local close_sandbox = e.close
  e.close = function()
    session.reset()
    close_sandbox()
  end
  return e
end

describe("ui login: device code", function()
  -- Two polls one second apart: long enough to see the float before it closes.
  local e = env({ "--device-interval", "1", "--device-pending", "1" })
  teardown(e.close)
  before_each(function() e.setup() end)
  after_each(function() e.teardown() end)

  it("returns at once, shows URL and code, copies the code, completes and closes", function()
    local t0 = vim.loop.hrtime()
    login.start() -- the default method from config: device
    expect.lt((vim.loop.hrtime() - t0) / 1e6, 500, "start() returns at once")
    expect.eq(#floats(), 1, "a float is open while the code is requested")
    wait_text("MOCK-CODE")
    local text = float_text()
    expect.truthy(text:find(e.mock.url .. "/codex/device", 1, true), "the verification URL is shown")
    expect.truthy(text:find("M O C K - C O D E", 1, true), "the code in large type")
    expect.truthy(text:find("╭", 1, true) and text:find("╰", 1, true), "a box around the code")
    local reg = vim.fn.has("clipboard") == 1 and "+" or '"'
    expect.eq(vim.fn.getreg(reg), "MOCK-CODE", "the code is in register " .. reg)
    expect.truthy(text:find(reg == "+" and "clipboard" or "unnamed register", 1, true), "and the float says so")
    local cfg = vim.api.nvim_win_get_config(floats()[1])
    expect.truthy(cfg.border ~= nil, "a border")
    if vim.fn.has("nvim-0.9") == 1 then
      expect.truthy(vim.inspect(cfg.title):find("Codex login", 1, true), "the title")
    else
      expect.truthy(text:find("Codex login", 1, true), "the title line")
    end
    expect.truthy(vim.fn.hlexists("CodexLoginCode") == 1)
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "LoginCompleted")
    local d = e.completions[1]
    expect.eq(d.success, true)
    expect.eq(d.method, "device")
    expect.eq(type(d.login_id), "string")
    expect.eq(#floats(), 0, "the float closed")
    expect.truthy(vim.wait(5000, function() return e.note("signed in") ~= nil end, 10), "a notification")
    expect.match(e.note("signed in").msg, "^Codex: signed in")
    expect.eq(login.current(), nil)
  end)

  it("the spinner turns while waiting", function()
    local slow = env({ "--device-interval", "5", "--device-pending", "100" })
    finally(slow.close)
    finally(slow.teardown)
    slow.setup()
    login.start("device")
    wait_text("MOCK-CODE")
    local function status()
      for _, l in ipairs(vim.split(float_text() or "", "\n")) do
        if l:find("Waiting", 1, true) then return l end
      end
    end
    local first = status()
    expect.truthy(first, "a waiting line")
    expect.truthy(vim.wait(2000, function() return status() ~= first end, 10), "the spinner moved")
  end)
end)

describe("ui login: cancel", function()
  local e = env({ "--device-interval", "5", "--device-pending", "100" })
  teardown(e.close)
  before_each(function() e.setup() end)
  after_each(function() e.teardown() end)

  it("the cancel key closes the float; the completion is a failure", function()
    login.start("device")
    wait_text("MOCK-CODE")
    local handle = login.current().handle
    expect.truthy(handle and handle.login_id)
    press("q")
    expect.eq(#floats(), 0, "closed at once")
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "LoginCompleted")
    expect.eq(e.completions[1].success, false)
    expect.eq(e.completions[1].login_id, handle.login_id)
    expect.truthy(e.note("cancelled"), "a notification")
    expect.falsy(e.note("signed in"))
  end)

  it("honours keymaps.login_cancel, even before the code arrived", function()
    e.setup({ keymaps = { login_cancel = "x" } })
    login.start("device")
    press("x")
    expect.eq(#floats(), 0, "closed at once")
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "LoginCompleted")
    expect.eq(e.completions[1].success, false)
    expect.eq(#floats(), 0, "the float did not come back")
  end)

  it("a failed login shows the error in the float until the close key", function()
    login.start("device")
    wait_text("MOCK-CODE")
    session.current():close(function() end) -- the app-server goes away mid-login
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "LoginCompleted")
    expect.eq(e.completions[1].success, false)
    wait_text("Sign-in failed", 5000)
    local n = e.note("sign-in failed")
    expect.truthy(n, "a notification")
    expect.eq(n.level, vim.log.levels.ERROR)
    ui_flush()
    expect.eq(#floats(), 1, "still open")
    expect.truthy(float_text():find("q: close", 1, true))
    press("q")
    expect.eq(#floats(), 0)
  end)

  it("a second start replaces the first attempt (one float)", function()
    login.start("device")
    wait_text("MOCK-CODE")
    local first = login.current().handle
    login.start("device")
    expect.eq(#floats(), 1)
    expect.truthy(vim.wait(T, function()
      local c = login.current()
      return c and c.handle and c.handle.login_id ~= first.login_id
    end, 10), "the new attempt has its own login")
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "the old attempt completes")
    expect.eq(e.completions[1].login_id, first.login_id)
    expect.eq(e.completions[1].success, false)
    expect.eq(#floats(), 1, "the new float stays")
    expect.falsy(e.note("sign-in failed"), "the replaced attempt is not reported as a failure")
    press("q")
    expect.eq(#floats(), 0)
  end)
end)

describe("ui login: device code disabled", function()
  local e = env({ "--device-disabled" })
  teardown(e.close)
  before_each(function() e.setup() end)
  after_each(function() e.teardown() end)

  it("explains how to enable it in the ChatGPT security settings", function()
    login.start("device")
    wait_text("security settings")
    local text = float_text()
    expect.truthy(text:find("https://chatgpt.com/#settings/Security", 1, true), "the settings link")
    expect.truthy(text:find(":CodexLogin browser", 1, true) and text:find(":CodexLogin apikey", 1, true), "the alternatives")
    local n = e.note("security settings")
    expect.truthy(n, "a notification")
    expect.eq(n.level, vim.log.levels.ERROR)
    expect.eq(e.completions[1] and e.completions[1].success, false)
    -- it stays open until the close key
    ui_flush()
    expect.eq(#floats(), 1)
    press("q")
    expect.eq(#floats(), 0)
  end)
end)

describe("ui login: browser", function()
  local e = env({ "--device-interval", "0" })
  teardown(e.close)
  local opened, orig_open
  before_each(function()
    e.setup()
    opened = {}
    orig_open = vim.ui.open
    vim.ui.open = function(url) opened[#opened + 1] = url return nil end
  end)
  after_each(function()
    vim.ui.open = orig_open
    e.teardown()
  end)

  it("shows and opens the URL, mentions port 1455; cancel works", function()
    -- The callback port 1455 is shared by every browser login on the machine: retry while busy.
    local url_prefix = e.mock.url .. "/oauth/authorize"
    for _ = 1, 10 do
      login.start("browser")
      wait_for(function()
        local t = float_text()
        return t ~= nil and (t:find(url_prefix, 1, true) or t:find("Could not start", 1, true)) ~= nil
      end, T, function() return "the auth URL or a start failure in the float; it shows: " .. tostring(float_text()) end)
      if (float_text() or ""):find(url_prefix, 1, true) then break end
      login.cancel()
      e.completions = {}
      wait_port_free(1455, T)
    end
    local text = float_text()
    expect.truthy(text and text:find(url_prefix, 1, true), "the auth URL is shown: " .. tostring(text))
    expect.eq(#opened, 1, "the system opener was called")
    expect.truthy(opened[1]:find(url_prefix, 1, true) == 1)
    expect.truthy(text:find("1455", 1, true), "the localhost:1455 callback is mentioned")
    local handle = login.current().handle
    press("q")
    expect.eq(#floats(), 0)
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "LoginCompleted")
    expect.eq(e.completions[1].success, false)
    expect.eq(e.completions[1].method, "browser")
    expect.eq(e.completions[1].login_id, handle.login_id)
  end)
end)

describe("ui login: API key", function()
  local e = env({ "--device-interval", "0" }, { requires_openai_auth = true })
  teardown(e.close)
  local KEY = "sk-fake-codexnvim-Zq8Hx3LpW0"
  local orig
  before_each(function()
    e.setup()
    orig = vim.fn.inputsecret
    vim.fn.inputsecret = function(prompt)
      expect.match(prompt, "API key")
      return KEY
    end
  end)
  after_each(function()
    vim.fn.inputsecret = orig
    e.teardown()
  end)

  it("signs in; the key appears nowhere", function()
    e.echo_notify = true -- let notifications reach :messages too
    login.start("apikey")
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "LoginCompleted")
    expect.eq(e.completions[1].success, true)
    expect.eq(e.completions[1].method, "apikey")
    expect.truthy(e.note("signed in with an API key"))
    local acct = session.client():account()
    expect.eq(acct.account.type, "apiKey")
    expect.falsy(vim.fn.execute("messages"):find(KEY, 1, true), "not in :messages")
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) then
        local text = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), "\n")
        expect.falsy(text:find(KEY, 1, true), "not in buffer " .. b)
      end
    end
    for _, n in ipairs(e.notes) do expect.falsy(n.msg:find(KEY, 1, true), "not in a notification") end
    expect.falsy(session.client():stderr(400):find(KEY, 1, true), "not in the app-server's stderr tail")
    for _, r in ipairs({ '"', "0", "-", ":", "/" }) do
      expect.falsy(vim.fn.getreg(r):find(KEY, 1, true), "not in register " .. r)
    end
    expect.falsy(vim.fn.histget("input", -1):find(KEY, 1, true), "not in the input history")
  end)

  it("an error that quotes the key is reported with *** instead", function()
    local client = session.client()
    client.login_api_key = function(_, key, cb)
      vim.schedule(function() cb({ kind = "rpc", code = -32600, message = "rejected key " .. key .. " (" .. key .. ")" }) end)
    end
    login.start("apikey")
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10), "LoginCompleted")
    expect.eq(e.completions[1].success, false)
    local n = e.note("API-key login failed")
    expect.truthy(n, "a notification")
    expect.eq(n.msg, "Codex: API-key login failed: rejected key *** (***)")
    expect.eq(e.completions[1].error, "rejected key *** (***)")
  end)

  it("an empty answer cancels without calling the server", function()
    vim.fn.inputsecret = function() return "" end
    login.start("apikey")
    expect.truthy(e.note("cancelled"))
    ui_flush()
    expect.eq(#e.completions, 0)
    expect.eq(session.current(), nil, "no client was even created")
  end)

  it("logout signs out with a notification", function()
    login.start("apikey")
    expect.truthy(vim.wait(T, function() return #e.completions > 0 end, 10))
    login.logout()
    expect.truthy(vim.wait(T, function() return e.note("signed out") ~= nil end, 10), "a notification")
    local a = session.client():account().account
    expect.truthy(a == nil or a == vim.NIL, "no account after logout")
  end)

  it("an unknown method is reported", function()
    login.start("carrier-pigeon")
    expect.truthy(e.note("unknown login method"))
  end)
end)
