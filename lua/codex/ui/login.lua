---@mod codex.ui.login  `:CodexLogin`: device-code (default), browser and API-key sign-in.
---
--- Every call returns at once: the app-server is only ever called with callbacks, and the
--- spinner's libuv timer does nothing but vim.schedule a buffer update.
local config = require("codex.config")
local session = require("codex.session")
local events = require("codex.events")

local M = {}

local uv = vim.uv or vim.loop
local ns = vim.api.nvim_create_namespace("codex_login")
local util = require("codex.ui.util")
local has_title = util.has_title

M.SECURITY_URL = "https://chatgpt.com/#settings/Security"
local TITLE = " Codex login "
local SPINNER = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" }
local METHODS = { device = true, browser = true, apikey = true }

local function define_highlights()
  vim.cmd("highlight default link CodexLoginCode Title")
  vim.cmd("highlight default link CodexLoginUrl Underlined")
  vim.cmd("highlight default link CodexLoginError ErrorMsg")
  vim.cmd("highlight default link CodexLoginHint Comment")
end

local notify, err_text = util.notify, util.err_text

-- The current login window (at most one): {id, method, buf, win, prev_win, handle, timer,
-- frame, status_line, phase = "starting"|"waiting"|"done"|"failed", cancelled, closed}.
local current = nil
local next_id = 0

local function valid_buf(st) return st.buf and vim.api.nvim_buf_is_valid(st.buf) end

local function stop_timer(st)
  if st.timer then
    local t = st.timer
    st.timer = nil
    if not t:is_closing() then
      t:stop()
      t:close()
    end
  end
end

local function display_width(s) return vim.fn.strdisplaywidth(s) end

--- Renders lines ({text, hl?} or strings) into the login float, (re)sizing and centering it.
local function render(st, items)
  if st.closed then return end
  local lines, hls = {}, {}
  if not has_title then
    items = vim.list_extend({ { "  " .. vim.trim(TITLE), "Title" }, "" }, items)
  end
  st.status_line = nil
  for i, it in ipairs(items) do
    if type(it) == "string" then it = { it } end
    lines[i] = it[1]
    if it[2] then hls[#hls + 1] = { i - 1, it[2], it.col or 0 } end
    if it.status then st.status_line = i - 1 end
  end
  local cols, rows = vim.o.columns, vim.o.lines
  local width = 20
  for _, l in ipairs(lines) do width = math.max(width, display_width(l) + 2) end
  width = math.min(width, math.max(20, cols - 6))
  local height = 0
  for _, l in ipairs(lines) do height = height + math.max(1, math.ceil(display_width(l) / width)) end
  height = math.min(height, math.max(3, rows - 6))

  if not valid_buf(st) then
    st.buf = vim.api.nvim_create_buf(false, true)
    vim.bo[st.buf].bufhidden = "wipe"
    vim.bo[st.buf].buftype = "nofile"
    vim.bo[st.buf].swapfile = false
    vim.bo[st.buf].filetype = "codexlogin"
  end
  vim.bo[st.buf].modifiable = true
  vim.api.nvim_buf_set_lines(st.buf, 0, -1, false, lines)
  vim.bo[st.buf].modifiable = false
  vim.api.nvim_buf_clear_namespace(st.buf, ns, 0, -1)
  for _, h in ipairs(hls) do vim.api.nvim_buf_add_highlight(st.buf, ns, h[2], h[1], h[3], -1) end

  local win_cfg = {
    relative = "editor", width = width, height = height,
    row = math.max(0, math.floor((rows - height) / 2) - 1), col = math.max(0, math.floor((cols - width) / 2)),
    style = "minimal", border = "rounded",
  }
  if has_title then
    win_cfg.title = TITLE
    win_cfg.title_pos = "center"
  end
  if st.win and vim.api.nvim_win_is_valid(st.win) then
    vim.api.nvim_win_set_config(st.win, win_cfg)
  else
    st.prev_win = vim.api.nvim_get_current_win()
    st.win = vim.api.nvim_open_win(st.buf, true, win_cfg)
    vim.wo[st.win].wrap = true
    vim.wo[st.win].linebreak = false
    vim.wo[st.win].cursorline = false
    util.mapper("")(st.buf, "n", config.get().keymaps.login_cancel, function() M.cancel() end, "Cancel the Codex login")
    vim.api.nvim_create_autocmd("BufWipeout", {
      buffer = st.buf, once = true,
      callback = function()
        -- Closed some other way (:q): the login goes on in the background, the spinner stops.
        st.closed = true
        stop_timer(st)
      end,
    })
  end
end

local function close(st)
  stop_timer(st)
  if current == st then current = nil end
  if st.closed then return end
  st.closed = true
  if st.win and vim.api.nvim_win_is_valid(st.win) then pcall(vim.api.nvim_win_close, st.win, true) end
  if valid_buf(st) then pcall(vim.api.nvim_buf_delete, st.buf, { force = true }) end
  if st.prev_win and vim.api.nvim_win_is_valid(st.prev_win) then pcall(vim.api.nvim_set_current_win, st.prev_win) end
end

--- Updates the spinner line only (scheduled from the timer).
local function tick(st)
  if st.closed or st.phase ~= "waiting" or not valid_buf(st) or not st.status_line then return stop_timer(st) end
  st.frame = st.frame % #SPINNER + 1
  local line = vim.api.nvim_buf_get_lines(st.buf, st.status_line, st.status_line + 1, false)[1]
  if not line then return end
  local text = line:gsub("^%s*[^%s]+", "  " .. SPINNER[st.frame], 1)
  vim.bo[st.buf].modifiable = true
  vim.api.nvim_buf_set_lines(st.buf, st.status_line, st.status_line + 1, false, { text })
  vim.bo[st.buf].modifiable = false
  vim.api.nvim_buf_add_highlight(st.buf, ns, "CodexLoginHint", st.status_line, 0, -1)
end

local function start_spinner(st)
  if st.timer then return end
  st.frame = 1
  st.timer = uv.new_timer()
  -- Fast context: only schedule; the update itself runs on the main loop.
  st.timer:start(120, 120, function() vim.schedule(function() tick(st) end) end)
end

local function cancel_line()
  local key = config.get().keymaps.login_cancel
  return key and ("  " .. key .. ": cancel") or "  (close the window to stop watching)"
end

local function close_line()
  local key = config.get().keymaps.login_cancel
  return key and ("  " .. key .. ": close") or ""
end

--- Copies text to the clipboard (register +) when there is one, else to the unnamed register;
--- returns the lines saying where it went. "Copied to the clipboard" is said only when the
--- clipboard gives the text back: a provider can exist and still fail (tmux with "no current
--- client", xclip without a display), and setreg() does not raise for it.
---@param text string
---@param what string
---@return string[]
local function copy(text, what)
  local clip = vim.fn.has("clipboard") == 1
  if clip and pcall(vim.fn.setreg, "+", text) then
    local ok, back = pcall(vim.fn.getreg, "+")
    if ok and back == text then return { ("%s is copied to the clipboard (register +)."):format(what) } end
  end
  pcall(vim.fn.setreg, '"', text)
  local out = { ("%s is in the unnamed register (paste with p)."):format(what) }
  if clip then out[1] = ("%s could not be copied to the clipboard; it is in the unnamed register (paste with p)."):format(what) end
  out[2] = "To copy it elsewhere, select it above with the mouse (or your terminal's copy mode)."
  return out
end

--- Letter-spaced code in a box drawn with box-drawing characters.
local function code_box(code)
  local spaced = table.concat(vim.split(code, ""), " ")
  local inner = display_width(spaced) + 6
  return {
    { "    ╭" .. string.rep("─", inner) .. "╮", "CodexLoginCode" },
    { "    │" .. string.rep(" ", inner) .. "│", "CodexLoginCode" },
    { "    │   " .. spaced .. "   │", "CodexLoginCode" },
    { "    │" .. string.rep(" ", inner) .. "│", "CodexLoginCode" },
    { "    ╰" .. string.rep("─", inner) .. "╯", "CodexLoginCode" },
  }
end

local function new_state(method)
  if current then
    -- A new attempt replaces the old one (the server does the same with its login).
    local old = current
    old.superseded = true
    close(old)
  end
  next_id = next_id + 1
  local st = { id = next_id, method = method, phase = "starting", frame = 1 }
  current = st
  return st
end

--- Shows a failure in the float (it stays until the close key) and notifies.
local function show_failure(st, title, detail_lines)
  st.phase = "failed"
  stop_timer(st)
  if st.superseded then return end
  local items = { "", { "  " .. title, "CodexLoginError" } }
  for _, l in ipairs(detail_lines or {}) do items[#items + 1] = l end
  items[#items + 1] = ""
  items[#items + 1] = { close_line(), "CodexLoginHint" }
  if not st.closed then render(st, items) end
end

--- The hint for a start error (device login disabled in the ChatGPT settings, …).
local function start_error_lines(msg)
  local lines = { "  " .. msg }
  if msg:find("device code login is not enabled", 1, true) then
    lines = {
      "  Device-code login is not enabled for your ChatGPT account.",
      "  Enable it first in the ChatGPT security settings:",
      { "    " .. M.SECURITY_URL, "CodexLoginUrl" },
      "",
      "  Or sign in another way:  :CodexLogin browser  or  :CodexLogin apikey",
      "",
      { "  (server: " .. msg .. ")", "CodexLoginHint" },
    }
  elseif msg:find("failed to start login server", 1, true) then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "  The browser login needs port 1455 on localhost; another login may be using it."
    lines[#lines + 1] = "  Try again in a moment, or use :CodexLogin device."
  end
  return lines
end

--- The plan line for the notification: the plan that account/updated told (if any).
local function plan_suffix(st)
  local plan = st.plan
  if type(plan) ~= "string" then plan = session.plan end
  if type(plan) == "string" and plan ~= "" then return " (plan: " .. plan .. ")" end
  return ""
end

local function finish(st, completion)
  st.phase = completion.success and "done" or "failed"
  if st.unsubscribe then
    st.unsubscribe()
    st.unsubscribe = nil
  end
  local data = {
    success = completion.success == true, method = st.method,
    login_id = completion.login_id or (st.handle and st.handle.login_id), error = completion.error,
  }
  if completion.success then
    close(st)
    local function done_notify()
      if st.notified then return end
      st.notified = true
      notify("signed in with ChatGPT" .. plan_suffix(st))
    end
    if st.plan ~= nil then
      done_notify()
    else
      -- account/updated (with the plan) follows the completion: wait for it a little.
      st.on_plan = done_notify
      vim.defer_fn(done_notify, 1500)
    end
  elseif st.cancelled then
    notify("login cancelled")
  elseif not st.superseded then
    local msg = completion.error or "the login did not complete"
    show_failure(st, "Sign-in failed.", { "  " .. msg })
    notify("sign-in failed: " .. msg, vim.log.levels.ERROR)
  end
  events.emit("LoginCompleted", data)
  pcall(vim.cmd, "redrawstatus!")
end

local function wait_for(st, client)
  -- The plan comes in account/updated, just after the completion.
  st.unsubscribe = client:on("account/updated", function(p)
    if type(p) == "table" then
      st.plan = p.planType
      if st.plan == nil then st.plan = false end
      if st.on_plan then vim.schedule(st.on_plan) end
    end
  end)
  st.handle:wait(nil, function(err, completion)
    if err then completion = { success = false, error = err_text(err) } end
    finish(st, completion)
  end)
end

local open_url = util.open_url

local function start_chatgpt(method)
  local st = new_state(method)
  local client = session.client()
  define_highlights()
  local device = method == "device"
  render(st, {
    "",
    { "  " .. SPINNER[1] .. (device and " Requesting a device code…" or " Starting the sign-in…"), "CodexLoginHint", status = true },
    "",
    { cancel_line(), "CodexLoginHint" },
  })
  st.phase = "waiting"
  start_spinner(st)
  local start = device and client.login_chatgpt_device_code or client.login_chatgpt
  start(client, function(err, handle)
    if err then
      local msg = err_text(err)
      if st.cancelled or st.superseded then return end
      show_failure(st, device and "Could not start the device-code login." or "Could not start the browser login.", start_error_lines(msg))
      if msg:find("device code login is not enabled", 1, true) then
        notify(("device-code login is not enabled for your account. Enable it in the ChatGPT security settings (%s), or use :CodexLogin browser / :CodexLogin apikey.")
          :format(M.SECURITY_URL), vim.log.levels.ERROR)
      else
        notify("login failed: " .. msg, vim.log.levels.ERROR)
      end
      events.emit("LoginCompleted", { success = false, method = method, error = msg })
      return
    end
    st.handle = handle
    if st.cancelled or st.superseded then
      handle:cancel(function() end)
      if st.cancelled then
        handle:wait(nil, function(_, completion) finish(st, completion or { success = false }) end)
      end
      return
    end
    local items
    if device then
      items = {
        "",
        "  Sign in to Codex with your ChatGPT account:",
        "",
        "  1. Open this page in any browser (it can be on another machine):",
        { "       " .. handle.verification_url, "CodexLoginUrl" },
        "  2. Enter this code:",
        "",
      }
      vim.list_extend(items, code_box(handle.user_code))
      items[#items + 1] = ""
      for _, l in ipairs(copy(handle.user_code, "The code " .. handle.user_code)) do items[#items + 1] = "  " .. l end
      items[#items + 1] = ""
    else
      local problem = open_url(handle.auth_url)
      items = {
        "",
        problem and "  Open this page in your browser to sign in:" or "  Your browser was opened to sign in. If it did not open, visit:",
        { "  " .. handle.auth_url, "CodexLoginUrl" },
        "",
      }
      for _, l in ipairs(copy(handle.auth_url, "The URL")) do items[#items + 1] = "  " .. l end
      vim.list_extend(items, {
        "  The sign-in finishes through a callback on localhost:1455: over SSH, forward",
        "  that port (ssh -L 1455:localhost:1455 …) or use :CodexLogin device instead.",
        "",
      })
      if problem then table.insert(items, 3, { "  (could not open a browser: " .. problem .. ")", "CodexLoginHint" }) end
    end
    items[#items + 1] = { "  " .. SPINNER[st.frame or 1] .. " Waiting for the sign-in to finish…", "CodexLoginHint", status = true }
    items[#items + 1] = ""
    items[#items + 1] = { cancel_line(), "CodexLoginHint" }
    render(st, items)
    wait_for(st, client)
  end)
  return st
end

local function start_apikey()
  local ok, key = pcall(vim.fn.inputsecret, "OpenAI API key: ")
  -- Clear the prompt line (the typed key is never shown: inputsecret echoes asterisks).
  pcall(vim.cmd, "redraw")
  if not ok or type(key) ~= "string" or key == "" then
    notify("API-key login cancelled")
    return
  end
  key = vim.trim(key)
  local client = session.client()
  local function scrub(text, secret)
    text = tostring(text or "")
    if secret and secret ~= "" and text:find(secret, 1, true) then
      local out, pos = {}, 1
      while true do
        local s, e = text:find(secret, pos, true)
        if not s then break end
        out[#out + 1] = text:sub(pos, s - 1) .. "***"
        pos = e + 1
      end
      out[#out + 1] = text:sub(pos)
      text = table.concat(out)
    end
    return text
  end
  -- The key lives only in this call's closure until the answer arrives, then it is dropped.
  local secret = key
  key = nil
  client:login_api_key(secret, function(err)
    local msg = err and scrub(err_text(err), secret)
    secret = nil
    if err then
      notify("API-key login failed: " .. msg, vim.log.levels.ERROR)
      events.emit("LoginCompleted", { success = false, method = "apikey", error = msg })
    else
      notify("signed in with an API key")
      events.emit("LoginCompleted", { success = true, method = "apikey" })
    end
    pcall(vim.cmd, "redrawstatus!")
  end)
end

--- Starts a login: "device" (the default from config `login.method`), "browser" or "apikey".
--- Returns at once.
---@param method string|nil
function M.start(method)
  if method == nil or method == "" then method = config.get().login.method end
  if not METHODS[method] then
    notify(("unknown login method %q (use device, browser or apikey)"):format(tostring(method)), vim.log.levels.ERROR)
    return
  end
  if method == "apikey" then return start_apikey() end
  start_chatgpt(method)
end

--- Cancels the login in progress (the cancel key in the float), or closes a failed one.
function M.cancel()
  local st = current
  if not st then return end
  if st.phase == "waiting" or st.phase == "starting" then
    st.cancelled = true
    if st.handle then
      st.handle:cancel(function(err)
        -- A closed client has no login left to cancel.
        local gone = type(err) == "table" and (err.kind == "closed" or err.kind == "transport_closed")
        if err and not gone then notify("could not cancel the login: " .. err_text(err), vim.log.levels.WARN) end
      end)
    end
  end
  close(st)
end

--- The login window in progress, if any: {method, buf, win, handle, phase}.
function M.current()
  local st = current
  if not st then return nil end
  return { method = st.method, buf = st.buf, win = st.win, handle = st.handle, phase = st.phase }
end

--- Signs out (account/logout); returns at once.
function M.logout()
  session.client():logout(function(err)
    if err then
      notify("sign-out failed: " .. err_text(err), vim.log.levels.ERROR)
    else
      notify("signed out")
    end
    pcall(vim.cmd, "redrawstatus!")
  end)
end

return M
