---@mod codex.commands  `:Codex` and `:CodexLogin`: subcommands and completion.
local api = vim.api

local M = {}

local function chat_mod() return require("codex.ui.chat") end
local function client() return require("codex.session").client() end
local util = require("codex.ui.util")
local notify, err_text = util.notify, util.err_text

--- Loads the C core before a command needs it. Without it (not built, or failing to load),
--- one notification says why and what to run (see codex.not_built_error), and false.
local function core_ready()
  require("codex") -- makes a missing core one "not_built" error
  local ok, err = pcall(require, "codex.core")
  if ok then return true end
  notify((tostring(err):gsub("%s*\n%s*", " ")), vim.log.levels.ERROR) -- a loader's message has a line per path
  return false
end

--- Is the codex binary there? (Not checked behind client.args: that command is the user's.)
--- Without it, one notification says how to install it, and false.
local function codex_ready()
  local cfg = require("codex.config").get()
  local copts = cfg.client or {}
  if copts.args then return true end
  local host = require("codex.host")
  local ok, msg = host.codex_installed(host.codex_bin(copts.codex_bin or cfg.codex_bin))
  if not ok then notify(msg, vim.log.levels.ERROR) end
  return ok
end

--- The current chat with a thread, or a notification.
local function current_thread_chat()
  local c = chat_mod().current()
  if not c or not c.thread then
    notify("no chat with a thread here (send a message first, or :Codex resume)", vim.log.levels.WARN)
    return nil
  end
  return c
end

--- Selected lines as a fenced block with the file path and line range.
local function selection_block(line1, line2)
  local buf = api.nvim_get_current_buf()
  local lines = api.nvim_buf_get_lines(buf, line1 - 1, line2, false)
  local name = api.nvim_buf_get_name(buf)
  name = name ~= "" and vim.fn.fnamemodify(name, ":~:.") or "[No Name]"
  local out = { ("%s:%d-%d"):format(name, line1, line2), "```" .. (vim.bo[buf].filetype or "") }
  vim.list_extend(out, lines)
  out[#out + 1] = "```"
  return table.concat(out, "\n")
end

-- Shapes from the server are checked, never assumed: a null or odd field is left out.
local function tbl(v) return type(v) == "table" and v or nil end
local function num(v) return type(v) == "number" and v or 0 end
--- The turns of a thread/read result, if it has them.
local function turns_of(read) return tbl(tbl(read) and tbl(read.thread) and read.thread.turns) end

local function open_thread_chat(thread, turns, cursor)
  chat_mod().open({ thread = thread, turns = turns, cursor = cursor, cwd = type(thread.info.cwd) == "string" and thread.info.cwd or nil })
end

--- The chat shows this many newest turns at first; a page of them is all that is fetched.
local function page_size() return require("codex.config").get().chat.history_turns end

--- A page's turns (newest first) oldest first, as the chat renders them.
local function oldest_first(page)
  local out = {}
  for i = #page.turns, 1, -1 do out[#out + 1] = page.turns[i] end
  return out
end

--- Opens a thread's chat with its whole history from thread/read (a server without paging).
local function open_read(thread, fallback_turns)
  client():thread_read(thread.id, { include_turns = true }, function(derr, read)
    open_thread_chat(thread, (not derr and turns_of(read)) or fallback_turns)
  end)
end

--- Resumes a thread with only its newest turns transferred (initialTurnsPage); a server that
--- rejects or ignores paging gets the whole thread (resume, then thread/read).
local function resume_paged(id)
  local paged = { exclude_turns = true, initial_turns_page = { limit = page_size(), items_view = "full" } }
  client():thread_resume(id, paged, function(perr, thread)
    if not perr and thread.initial_page then
      return open_thread_chat(thread, oldest_first(thread.initial_page), thread.initial_page.next_cursor)
    end
    if not perr then return open_read(thread, tbl(thread.info.turns)) end
    client():thread_resume(id, nil, function(rerr, plain)
      if rerr then return notify("resume failed: " .. err_text(rerr), vim.log.levels.ERROR) end
      open_read(plain, tbl(plain.info.turns))
    end)
  end)
end

--- Shows a thread's chat: the open one, else the thread resumed with its newest turns (as
--- :Codex resume does; a sub-agent's item in the chat opens its thread this way too).
---@param id string
function M.open_thread(id)
  local existing = chat_mod().find(id)
  if existing then return existing:show() end
  resume_paged(id)
end

local function picker() return require("codex.ui.thread_picker") end

--- Sends a prompt to the current chat: a new one when there is none for this directory (or
--- the current one was archived: chat.remove takes it out of "current").
---@param prompt string
---@param chat codex.Chat|nil
local function send_prompt(prompt, chat)
  local cm = chat_mod()
  local c = chat or cm.current()
  if not c or c.removed or c.cwd ~= vim.fn.getcwd() then
    c = cm.open({ cwd = vim.fn.getcwd(), show = false })
  end
  c:show()
  c:send(prompt)
end

--- The prompt of a command line: its words, and the selection (a range) after them.
local function prompt_of(words, opts)
  local prompt = table.concat(words, " ")
  if opts and opts.range and opts.range > 0 then
    local block = selection_block(opts.line1, opts.line2)
    prompt = prompt ~= "" and (prompt .. "\n\n" .. block) or block
  end
  return prompt
end

M.sub = {}

--- Completions of a subcommand's arguments: subcommand -> fn(arglead, words) (words: the
--- command line split, words[1] = "Codex").
M.complete_args = {}

--- What a subcommand does with the words after it: "prompt" (sent), "name"; nil: nothing,
--- so more words (or a selection) make the whole line a prompt instead (M.codex).
M.takes = { new = "prompt", rename = "name", review = "target", mode = "mode", plan = "on|off", mcp = "action", undo = "turn" }

--- :Codex new [prompt]: a new chat; the words (and a selection) after it are its first message.
function M.sub.new(args, opts)
  local c = chat_mod().open({ cwd = vim.fn.getcwd() })
  local prompt = prompt_of(args or {}, opts)
  if prompt ~= "" then send_prompt(prompt, c) end
end

function M.sub.resume()
  picker().pick(nil, "Resume a Codex thread", "no stored threads yet", function(t)
    local existing = chat_mod().find(t.id)
    if existing then
      -- Already open here: show it and say so (picking it must do something visible).
      existing:show()
      return notify(("%q is open: shown"):format(existing:title() or picker().label(t)))
    end
    resume_paged(t.id)
  end)
end

function M.sub.unarchive()
  picker().pick({ archived = true }, "Unarchive a Codex thread", "no archived threads", function(t)
    client():thread_unarchive(t.id, function(err)
      if err then return notify("unarchive failed: " .. err_text(err), vim.log.levels.ERROR) end
      notify(("unarchived %q: :Codex resume opens it"):format(picker().label(t)))
    end)
  end)
end

--- Forks the chat's thread (opts: thread/fork options, e.g. last_turn_id) into a new chat.
---@param c codex.Chat
---@param opts table|nil
function M.fork_chat(c, opts)
  opts = vim.tbl_extend("force", { exclude_turns = true }, opts or {})
  -- The fork's turns are not sent back with it; its newest page is fetched (thread/read without paging).
  c.thread:fork(opts, function(err, fork)
    if err then return notify("fork failed: " .. err_text(err), vim.log.levels.ERROR) end
    picker().forks[fork.id] = c.thread_id
    fork:turns({ limit = page_size(), items_view = "full" }, function(perr, page)
      if perr then return open_read(fork, nil) end
      open_thread_chat(fork, oldest_first(page), page.next_cursor)
    end)
  end)
end

function M.sub.fork()
  local c = current_thread_chat()
  if c then M.fork_chat(c) end
end

--- The thread's name, else what the chat is called (for the rename prompt's default).
local function current_name(c)
  local info = c.thread and c.thread.info
  local name = type(info) == "table" and type(info.name) == "string" and info.name or nil
  return name or (c.first_text and require("codex.ui.chat_bar").short(c.first_text, 40)) or ""
end

--- :Codex rename [name]: without a name, asks for one (vim.ui.input, the current name first).
function M.sub.rename(args)
  local c = current_thread_chat()
  if not c then return end
  local function apply(name)
    name = name and vim.trim(name) or ""
    if name == "" then return end
    c.thread:set_name(name, function(err)
      if err then return notify("rename failed: " .. err_text(err), vim.log.levels.ERROR) end
      c:set_name(name) -- the bar and buffer names now (thread/name/updated follows)
      notify("thread renamed to " .. name)
    end)
  end
  local name = table.concat(args or {}, " ")
  if name ~= "" then return apply(name) end
  vim.ui.input({ prompt = "Thread name: ", default = current_name(c) }, apply)
end

--- :Codex archive: asks first; then the chat closes and is no longer current (the next
--- :Codex {prompt} goes to another chat, or a new one).
function M.sub.archive()
  local c = current_thread_chat()
  if not c then return end
  if c.state ~= "idle" then
    return notify("a turn is running in this chat: stop it first (:Codex stop)", vim.log.levels.WARN)
  end
  local title = c:title() or c.thread_id
  vim.ui.select({ "Archive", "Cancel" }, { prompt = ("Archive %q? (:Codex unarchive brings it back)"):format(title) }, function(choice)
    if choice ~= "Archive" then return end
    c.thread:archive(function(err)
      if err then return notify("archive failed: " .. err_text(err), vim.log.levels.ERROR) end
      chat_mod().remove(c)
      notify(("archived %q (:Codex unarchive brings it back)"):format(title))
    end)
  end)
end

function M.sub.stop()
  local c = chat_mod().current()
  if c then c:stop() else notify("no chat") end
end

--- Writes codex's default model (and effort) to its config.toml (config/value/write).
local function save_model(model, effort)
  local writes = { { "model", model } }
  if effort then writes[2] = { "model_reasoning_effort", effort } end
  local function write(i)
    if not writes[i] then
      return notify(("saved as codex's default: model %s%s"):format(model, effort and (", effort " .. effort) or ""))
    end
    client():request("config/value/write", { keyPath = writes[i][1], value = writes[i][2], mergeStrategy = "replace" }, nil,
      function(err)
        if err then return notify("could not save the default: " .. err_text(err), vim.log.levels.WARN) end
        write(i + 1)
      end)
  end
  write(1)
end

--- After :Codex model: for this session only, or saved as codex's default (asked).
---@param model string
---@param effort string|nil
function M.offer_save(model, effort)
  local session_only, save = "For this session", "Save as the default (codex's config.toml)"
  vim.ui.select({ session_only, save }, {
    prompt = "Keep " .. model .. (effort and (" (" .. effort .. ")") or ""),
    format_item = function(x) return x end,
  }, function(choice)
    if choice == save then save_model(model, effort) end
  end)
end

function M.sub.model()
  client():models(nil, function(err, models)
    if err then return notify("model/list failed: " .. err_text(err), vim.log.levels.ERROR) end
    vim.ui.select(models, {
      prompt = "Codex model",
      format_item = function(m)
        local name = type(m.displayName) == "string" and m.displayName or tostring(m.id)
        return ("%s%s"):format(name, m.isDefault == true and " (default)" or "")
      end,
    }, function(m)
      if not m then return end
      local efforts = {}
      for _, e in ipairs(tbl(m.supportedReasoningEfforts) or {}) do
        if type(e) == "table" and type(e.reasoningEffort) == "string" then efforts[#efforts + 1] = e end
      end
      local function apply(effort)
        local c = chat_mod().current()
        require("codex.config").get().model = m.id
        require("codex.config").get().effort = effort
        if c then c.model, c.effort = m.id, effort end
        notify(("model %s%s for the next turns"):format(m.id, effort and (", effort " .. effort) or ""))
        pcall(vim.cmd, "redrawstatus!")
        M.offer_save(m.id, effort)
      end
      if #efforts == 0 then return apply(nil) end
      vim.ui.select(efforts, {
        prompt = "Reasoning effort",
        format_item = function(e)
          return e.reasoningEffort .. (e.reasoningEffort == m.defaultReasoningEffort and " (default)" or "")
            .. (type(e.description) == "string" and ("  " .. e.description) or "")
        end,
      }, function(e) if e then apply(e.reasoningEffort) end end)
    end)
  end)
end

--- The chat a mode applies to: the current one, else a new one for this directory (its
--- first message then starts in that mode).
local function mode_chat()
  local cm = chat_mod()
  local c = cm.current()
  if c and not c.removed then return c end
  return cm.open({ cwd = vim.fn.getcwd(), show = false })
end

--- :Codex mode [read-only|agent|full]: the chat's approval/sandbox mode (codex.ui.modes);
--- full access is confirmed first.
function M.sub.mode(args)
  if args and #args > 1 then return notify("usage: :Codex mode [read-only|agent|full]", vim.log.levels.WARN) end
  require("codex.ui.modes").choose(mode_chat(), args and args[1])
end

function M.complete_args.mode(arglead, words)
  if #words - (arglead == "" and 0 or 1) ~= 2 then return {} end
  return vim.tbl_filter(function(w) return w:find("^" .. vim.pesc(arglead)) end, { "agent", "full", "read-only" })
end

--- :Codex plan [on|off]: plan mode for the chat's next turns (toggles without a word).
function M.sub.plan(args)
  local word = args and args[1]
  if (args and #args > 1) or (word and word ~= "on" and word ~= "off") then
    return notify("usage: :Codex plan [on|off]", vim.log.levels.WARN)
  end
  local on = nil
  if word then on = word == "on" end
  require("codex.ui.modes").plan(mode_chat(), on)
end

function M.complete_args.plan(arglead, words)
  if #words - (arglead == "" and 0 or 1) ~= 2 then return {} end
  return vim.tbl_filter(function(w) return w:find("^" .. vim.pesc(arglead)) end, { "off", "on" })
end

--- :Codex mcp [reload | login {server}]: the MCP servers (codex.ui.mcp).
function M.sub.mcp(args)
  local mcp = require("codex.ui.mcp")
  local c = chat_mod().current()
  local cl = (c and c.thread and c.thread.client) or client()
  local word = args and args[1]
  if word == nil then return mcp.open(cl, c and c.thread_id) end
  if word == "reload" and #args == 1 then return mcp.reload(cl) end
  if word == "login" and #args == 2 then return mcp.login(cl, args[2], c and c.thread_id) end
  notify("usage: :Codex mcp [reload | login {server}]", vim.log.levels.WARN)
end

function M.complete_args.mcp(arglead, words)
  if #words - (arglead == "" and 0 or 1) ~= 2 then return {} end
  return vim.tbl_filter(function(w) return w:find("^" .. vim.pesc(arglead)) end, { "login", "reload" })
end

function M.sub.status()
  local c = chat_mod().current()
  local lines = {}
  local cl = client()
  cl:account(nil, function(err, acct)
    -- The same words as :checkhealth codex (codex.health.account_text).
    lines[#lines + 1] = "account: " .. (err and err_text(err) or require("codex.health").account_text(acct).text)
    if c then
      lines[#lines + 1] = "chat: " .. c:status_text()
      local t = c.tokens
      if tbl(t) and tbl(t.total) then
        lines[#lines + 1] = ("tokens: %d total (in %d, out %d)%s"):format(num(t.total.totalTokens),
          num(t.total.inputTokens), num(t.total.outputTokens),
          type(t.modelContextWindow) == "number" and (", context window " .. t.modelContextWindow) or "")
      end
    end
    cl:rate_limits(function(rerr, rl)
      if not rerr and type(rl.rateLimits) == "table" then
        for _, k in ipairs({ "primary", "secondary" }) do
          local w = rl.rateLimits[k]
          if type(w) == "table" then
            local reset = type(w.resetsAt) == "number" and (", resets " .. os.date("%Y-%m-%d %H:%M", w.resetsAt)) or ""
            lines[#lines + 1] = ("rate limit (%s min): %s%% used%s"):format(tostring(w.windowDurationMins), tostring(w.usedPercent), reset)
          end
        end
      end
      notify(table.concat(lines, "\n"))
    end)
  end)
end

--- :Codex review [branch {name} | commit {sha} [title] | {instructions…}]: a code review in
--- the current chat (a new one for another directory); findings to quickfix and diagnostics.
function M.sub.review(args)
  local kind, target = args[1], nil
  if kind == nil or (kind == "uncommitted" and #args == 1) then
    target = "uncommitted"
  elseif (kind == "branch" or kind == "commit") and #args == 1 then
    return notify(("usage: :Codex review %s {%s}"):format(kind, kind == "branch" and "name" or "sha"), vim.log.levels.WARN)
  elseif kind == "branch" then
    target = { branch = args[2] }
  elseif kind == "commit" then
    target = { commit = args[2], title = #args > 2 and table.concat(args, " ", 3) or nil }
  else
    target = { instructions = table.concat(args, " ") }
  end
  local chat = chat_mod()
  local c = chat.current()
  if not c or c.cwd ~= vim.fn.getcwd() then c = chat.open({ cwd = vim.fn.getcwd(), show = false }) end
  c:show()
  c:start_review(target)
end

--- :Codex undo [turn]: undo the last turn (or that turn id, or the last N turns) of the
--- current chat: its files and the conversation, after a confirmation (codex.ui.undo).
function M.sub.undo(args)
  local c = current_thread_chat()
  if not c then return end
  if #args > 1 then return notify("usage: :Codex undo [turn id | N]", vim.log.levels.WARN) end
  require("codex.ui.undo").undo(c, args[1])
end

--- :Codex redo: re-apply the files of the chat's last undo (the conversation stays reverted).
function M.sub.redo()
  local c = current_thread_chat()
  if not c then return end
  require("codex.ui.undo").redo(c)
end

--- :Codex compact: compacts the current chat's thread; the compaction turn shows in the chat.
function M.sub.compact()
  local c = current_thread_chat()
  if c then c:compact() end
end

--- :Codex !{cmd}: runs cmd in the current chat's thread (thread/shellCommand: unsandboxed,
--- so the chat asks first). The command is the command line's text after "!", as typed.
---@param opts table the :Codex command's opts (args: the raw text)
function M.shell(opts)
  local raw = type(opts.args) == "string" and opts.args ~= "" and opts.args or table.concat(opts.fargs or {}, " ")
  local cmd = vim.trim((vim.trim(raw):gsub("^!", "", 1)))
  if cmd == "" then return notify("usage: :Codex !{command}", vim.log.levels.WARN) end
  local chat = chat_mod()
  local c = chat.current()
  if not c or c.removed or c.cwd ~= vim.fn.getcwd() then c = chat.open({ cwd = vim.fn.getcwd(), show = false }) end
  c:show()
  c:run_shell(cmd)
end

--- Lines of a git command in the current directory ({} outside a repository).
local function git_lines(cmd)
  local out = vim.fn.systemlist("git " .. cmd .. " 2>/dev/null")
  return vim.v.shell_error == 0 and out or {}
end

function M.complete_args.review(arglead, words)
  local n = #words - (arglead == "" and 0 or 1) -- the words before the one being completed
  local cands = {}
  if n == 2 then
    cands = { "branch", "commit", "uncommitted" }
  elseif n == 3 and words[3] == "branch" then
    cands = git_lines("branch --format='%(refname:short)'")
  elseif n == 3 and words[3] == "commit" then
    cands = git_lines("log --format=%h -n 30")
  end
  return vim.tbl_filter(function(w) return w:find("^" .. vim.pesc(arglead)) end, cands)
end

--- The current chat's newest turn diff (notifying when there is none).
local function chat_diff()
  local c = chat_mod().current()
  local d = c and c.last_diff
  if not d or d.diff == "" then
    notify(c and "no turn of this chat changed files yet" or "no chat yet (:Codex opens one)", vim.log.levels.WARN)
    return nil
  end
  return c, d.diff
end

--- :Codex diff: the current (or last) turn's diff of the current chat in a diff buffer.
function M.sub.diff()
  local c, diff = chat_diff()
  if not c then return end
  require("codex.ui.diff_view").open(diff, { name = c.thread_id or c.key, cwd = c.cwd })
end

--- :Codex changes: that diff's hunks in the quickfix list ("Codex changes").
function M.sub.changes()
  local c, diff = chat_diff()
  if not c then return end
  local n, err = require("codex.ui.diff_view").quickfix(diff, c.cwd)
  if not n then notify("the turn's diff could not be read: " .. tostring(err), vim.log.levels.WARN) end
end
--- :Codex image {path}: attaches an image file to the current chat's next message.
function M.sub.image(args)
  local path = table.concat(args or {}, " ")
  if path == "" then return notify("usage: :Codex image {path}", vim.log.levels.WARN) end
  local cm = chat_mod()
  local c = cm.current()
  if not c or c.removed then c = cm.open({ cwd = vim.fn.getcwd(), show = false }) end
  if require("codex.ui.composer").add_image(c, path) then
    c:show()
    notify("image attached to the next message: " .. vim.fn.fnamemodify(path, ":t"))
  end
end
M.takes.image = "path"
function M.complete_args.image(arglead) return vim.fn.getcompletion(arglead, "file") end

function M.sub.logout()
  require("codex.ui.login").logout()
end

--- :Codex [subcommand|prompt]. A subcommand's words never vanish: one that takes nothing
--- (stop, status, …), given more words or a selection, sends the whole line as a prompt and
--- says so; with a selection, only `new` is a subcommand.
function M.codex(opts)
  if not core_ready() or not codex_ready() then return end
  local args = opts.fargs or {}
  local sub = args[1]
  if sub and sub:sub(1, 1) == "!" then return M.shell(opts) end
  local ranged = opts.range ~= nil and opts.range > 0
  if sub and M.sub[sub] then
    local rest = vim.list_slice(args, 2)
    local takes = M.takes[sub]
    if takes == "prompt" then return M.sub[sub](rest, opts) end
    if not ranged and (takes or #rest == 0) then return M.sub[sub](rest) end
    notify(("%q is sent as a prompt (`:Codex %s` alone runs the subcommand)"):format(table.concat(args, " "), sub))
  end
  if #args == 0 and not ranged then return chat_mod().toggle() end
  send_prompt(prompt_of(args, opts))
end

function M.complete(arglead, cmdline)
  local words = vim.split(cmdline, "%s+", { trimempty = true })
  local args_of = M.complete_args[words[2] or ""]
  if args_of and (#words > 2 or arglead == "") then return args_of(arglead, words) end
  if #words > 2 or (#words == 2 and arglead == "") then return {} end
  local out = {}
  for name in pairs(M.sub) do
    if name:find("^" .. vim.pesc(arglead)) then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end

--- :CodexLogin [device|browser|apikey]
function M.login(opts)
  if not core_ready() or not codex_ready() then return end
  require("codex.ui.login").start(opts.fargs[1])
end

function M.login_complete(arglead)
  return vim.tbl_filter(function(m) return m:find("^" .. vim.pesc(arglead)) end, { "device", "browser", "apikey" })
end

return M
