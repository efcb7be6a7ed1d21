---@mod codex.ui.undo  `:Codex undo [turn]` and `:Codex redo` in a chat.
---
--- Undo shows what it will do first (a scratch buffer: the turns, the files and their hunks,
--- conflicts) and asks (vim.ui.select); then thread:undo() reverse-applies the files (through
--- the editor's buffers: M.buffer_io) and reverts the conversation, and the chat renders its
--- shortened history with a note of what was undone. Redo re-applies the files of the last
--- undo (the conversation stays reverted). Nothing is written without the user's choice.
local api = vim.api
local config = require("codex.config")
local undo = require("codex.undo")
local util = require("codex.ui.util")
local notify, err_text = util.notify, util.err_text

local M = {}

M.UNDO = "Undo"
M.SKIP = "Undo, leaving the conflicting files as they are"
M.FORCE = "Undo, applying only the hunks that still apply"
M.REDO_FORCE = "Redo, applying only the hunks that still apply"
M.CANCEL = "Cancel"

local function display(path) return vim.fn.fnamemodify(path, ":~:.") end

-- Files through the editor -------------------------------------------------------------------

local function buffer_of(path) return require("codex.ui.reload").buffer_of(path) end

local function nl_of(buf) return vim.bo[buf].fileformat == "dos" and "\r\n" or "\n" end

--- A buffer's text as its file would hold it.
local function buf_text(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  if #lines == 1 and lines[1] == "" then return "" end
  local nl = nl_of(buf)
  return table.concat(lines, nl) .. ((vim.bo[buf].eol or vim.bo[buf].fixeol) and nl or "")
end

--- text as a buffer's lines (its ending per the buffer's fileformat) and whether it ends
--- without a newline.
local function text_lines(text, buf)
  local dos = vim.bo[buf].fileformat == "dos"
  local noeol = text ~= "" and text:sub(-1) ~= "\n"
  local lines = {}
  for line in (noeol and text .. "\n" or text):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = dos and line:gsub("\r$", "") or line
  end
  return lines, noeol
end

--- Replaces the lines that differ (one change, one undo step): marks and the cursor elsewhere stay.
local function set_text(buf, text)
  local new, noeol = text_lines(text, buf)
  local old = api.nvim_buf_get_lines(buf, 0, -1, false)
  local p = 0
  while p < #old and p < #new and old[p + 1] == new[p + 1] do p = p + 1 end
  local s = 0
  while s < #old - p and s < #new - p and old[#old - s] == new[#new - s] do s = s + 1 end
  local mid = {}
  for i = p + 1, #new - s do mid[#mid + 1] = new[i] end
  -- its own undo step, never joined to the change before (a reload, the user's last edit)
  api.nvim_buf_call(buf, function() vim.cmd("let &l:undolevels = &l:undolevels") end)
  api.nvim_buf_set_lines(buf, p, #old - s, false, mid)
  if noeol then vim.bo[buf].eol, vim.bo[buf].fixeol = false, false end
end

--- Files as the editor has them: a loaded buffer's text (its unsaved changes too), else the
--- file. A write goes into the loaded buffer (one undo step) and is saved only if the buffer
--- had no unsaved changes; without a buffer, to the file. A removed file's buffer is deleted
--- when it had no unsaved changes.
M.buffer_io = {
  read = function(path)
    local buf = buffer_of(path)
    if buf and (vim.bo[buf].modified or vim.fn.filereadable(path) == 1) then return buf_text(buf) end
    return undo.file_io.read(path)
  end,
  write = function(path, text)
    local buf = buffer_of(path)
    if not buf then return undo.file_io.write(path, text) end
    local was_modified = vim.bo[buf].modified
    if text == false then
      local ok, err = undo.file_io.write(path, false)
      if ok and not was_modified then pcall(api.nvim_buf_delete, buf, {}) end
      return ok, err
    end
    set_text(buf, text)
    if was_modified then return true end
    vim.fn.mkdir(vim.fn.fnamemodify(path, ":h"), "p")
    return pcall(api.nvim_buf_call, buf, function() vim.cmd("silent keepalt write!") end)
  end,
}

-- What is shown ------------------------------------------------------------------------------

--- The lines of the confirmation: the turns, the files (what happens, the hunks), conflicts,
--- the commands caveat.
---@param res codex.UndoResult
---@param redo boolean|nil
---@return string[]
function M.preview_lines(res, redo)
  local out = {}
  if redo then
    out[#out + 1] = "Redo: the files of the last undo (the conversation stays as it is)"
  else
    out[#out + 1] = ("Undo: the conversation from that turn on: %d turn%s"):format(res.turns, res.turns == 1 and "" or "s")
  end
  local plan = res.plan
  if #plan.files == 0 then out[#out + 1] = "Files: none (the turns changed no file)" end
  for _, line in ipairs(undo.file_lines(plan, display)) do out[#out + 1] = "File " .. line end
  if res.commands then
    out[#out + 1] = "Commands ran in these turns: they may have changed files outside the diff: those are not undone"
  end
  if #plan.conflicts > 0 then
    out[#out + 1] = ""
    out[#out + 1] = ("Conflicts: %d change%s no longer appl%s (the file changed since):"):format(#plan.conflicts,
      #plan.conflicts == 1 and "" or "s", #plan.conflicts == 1 and "ies" or "y")
    vim.list_extend(out, undo.conflict_lines(plan, display))
  end
  local shown = false
  for _, s in ipairs(plan.applied) do
    if #s.hunks > 0 then
      if not shown then
        out[#out + 1] = ""
        out[#out + 1] = redo and "Hunks re-applied:" or "Hunks reverted (as the turn made them):"
        shown = true
      end
      out[#out + 1] = display(s.new_path)
      for _, h in ipairs(s.hunks) do
        local f = { kind = "update", old_path = s.path, new_path = s.new_path, hunks = { h } }
        for line in require("codex.patch").hunk_text(f, h, { headers = false }):gmatch("([^\n]*)\n") do
          out[#out + 1] = "  " .. line
        end
      end
    end
  end
  for _, e in ipairs(plan.errors) do out[#out + 1] = "Not understood: " .. e end
  return out
end

local preview = { buf = nil, win = nil }

--- Shows lines in the preview window (a scratch split below, reused).
function M.show_preview(lines)
  if not (preview.buf and api.nvim_buf_is_valid(preview.buf)) then
    preview.buf = api.nvim_create_buf(false, true)
    pcall(api.nvim_buf_set_name, preview.buf, "codex://undo")
    vim.bo[preview.buf].bufhidden = "hide"
  end
  local buf = preview.buf
  vim.bo[buf].modifiable = true
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = "diff"
  if not util.win_ok(preview.win) then
    local cur = api.nvim_get_current_win()
    vim.cmd(("botright %dsplit"):format(math.max(3, math.min(#lines, math.floor(vim.o.lines / 3)))))
    preview.win = api.nvim_get_current_win()
    api.nvim_win_set_buf(preview.win, buf)
    if api.nvim_win_is_valid(cur) then api.nvim_set_current_win(cur) end
  end
  return buf
end

function M.close_preview()
  if util.win_ok(preview.win) and #api.nvim_list_wins() > 1 then pcall(api.nvim_win_close, preview.win, true) end
  preview.win = nil
end

--- The preview buffer's lines (tests).
function M.preview_text()
  if not (preview.buf and api.nvim_buf_is_valid(preview.buf)) then return nil end
  return table.concat(api.nvim_buf_get_lines(preview.buf, 0, -1, false), "\n")
end

--- "u1.txt deleted, b.txt restored" (or "no files").
local function files_text(res)
  local parts = {}
  for _, f in ipairs(res.files) do
    if f.hunks > 0 or f.action ~= "restored" then parts[#parts + 1] = display(f.path) .. " " .. f.action end
  end
  return #parts > 0 and table.concat(parts, ", ") or "no files"
end

--- The note the chat shows after an undo or a redo.
---@param res codex.UndoResult
---@param redo boolean|nil
---@return string
function M.note(res, redo)
  if redo then
    return ("_Redone: the files of the last undo (%s). The conversation stays reverted._"):format(files_text(res))
  end
  local s = ("_Undone: %d turn%s (the conversation from that turn on); files: %s."):format(res.turns, res.turns == 1 and "" or "s", files_text(res))
  if res.commands then s = s .. " Commands those turns ran may have changed files outside the diff: not undone." end
  return s .. " `:Codex redo` re-applies the files._"
end

-- The chat -----------------------------------------------------------------------------------

--- The chat's transcript again from the server's stored turns (the newest page), then a note.
local function rerender(chat, note)
  local n = config.get().chat.history_turns
  chat.thread:turns({ limit = n, items_view = "full" }, function(err, page)
    local turns, cursor = {}, nil
    if not err then
      for i = #page.turns, 1, -1 do turns[#turns + 1] = page.turns[i] end
      cursor = page.next_cursor
    end
    local function draw(list)
      chat:clear_transcript()
      chat:render_history(list, { cursor = cursor })
      chat.renderer:append_lines({ "", note })
      chat.renderer:flush()
      require("codex.events").emit("ChatUndone", { thread_id = chat.thread_id, redo = false })
    end
    if not err then return draw(turns) end
    -- a server without thread/turns/list: the whole thread
    chat.thread:read({ include_turns = true }, function(rerr, read)
      draw(not rerr and type(read) == "table" and type(read.thread) == "table" and read.thread.turns or {})
    end)
  end)
end

--- The choices for a result with or without conflicts.
local function choices(res, redo)
  if #res.conflicts == 0 then return { redo and "Redo" or M.UNDO, M.CANCEL } end
  if redo then return { M.REDO_FORCE, M.CANCEL } end
  return { M.SKIP, M.FORCE, M.CANCEL }
end

--- The options of the choice made.
local function opts_of(choice, res)
  if choice == M.FORCE or choice == M.REDO_FORCE then return { force = true } end
  if choice == M.SKIP then
    local skip = {}
    for _, c in ipairs(res.conflicts) do
      skip[c.path] = true
      skip[c.step.path], skip[c.step.new_path] = true, true
    end
    return { skip = skip }
  end
  return {}
end

--- The turn id of an argument: an id, or N (the Nth turn from the end: 1 the last).
local function resolve_turn(chat, arg, cb)
  if arg == nil then return cb(nil, nil) end
  local n = tonumber(arg)
  if not n or n ~= math.floor(n) or n < 1 then return cb(nil, arg) end
  chat.thread:turns({ limit = n, items_view = "notLoaded" }, function(err, page)
    if err then return cb(err) end
    local t = page.turns[n]
    if not t then return cb(("the thread has %d turn%s"):format(#page.turns, #page.turns == 1 and "" or "s")) end
    cb(nil, t.id)
  end)
end

--- :Codex undo [turn]: turn is a turn id, or N (the last N turns); default the last turn.
---@param chat codex.Chat
---@param arg string|nil
function M.undo(chat, arg)
  if chat.state ~= "idle" then return notify("a turn is running: undo once it has ended", vim.log.levels.WARN) end
  resolve_turn(chat, arg, function(rerr, turn_id)
    if rerr then return notify("undo: " .. (type(rerr) == "string" and rerr or err_text(rerr)), vim.log.levels.WARN) end
    chat.thread:undo({ turn_id = turn_id, dry_run = true, io = M.buffer_io }, function(err, res)
      if err then return notify("undo: " .. err_text(err), vim.log.levels.WARN) end
      M.show_preview(M.preview_lines(res))
      local prompt = #res.conflicts > 0 and "Conflicts (see the preview): undo anyway?"
        or ("Undo %d turn%s and %d file%s?"):format(res.turns, res.turns == 1 and "" or "s", #res.files, #res.files == 1 and "" or "s")
      vim.ui.select(choices(res), { prompt = prompt }, function(choice)
        M.close_preview()
        if not choice or choice == M.CANCEL then return notify("undo cancelled: nothing changed") end
        local o = opts_of(choice, res)
        o.turn_id, o.io = res.turn_id, M.buffer_io
        chat.thread:undo(o, function(uerr, done)
          if uerr then return notify("undo failed: " .. err_text(uerr), vim.log.levels.ERROR) end
          if not done.done then
            return notify("undo: the files changed meanwhile: nothing was done (run it again)", vim.log.levels.WARN)
          end
          for _, e in ipairs(done.errors or {}) do
            notify(("undo: could not write %s: %s"):format(display(e.path), e.message), vim.log.levels.ERROR)
          end
          rerender(chat, M.note(done))
        end)
      end)
    end)
  end)
end

--- :Codex redo: the files of the last undo again (asks only when some no longer apply).
---@param chat codex.Chat
function M.redo(chat)
  chat.thread:redo({ dry_run = true, io = M.buffer_io }, function(err, res)
    if err then return notify("redo: " .. err_text(err), vim.log.levels.WARN) end
    local function run(o)
      o.io = M.buffer_io
      chat.thread:redo(o, function(rerr, done)
        if rerr then return notify("redo failed: " .. err_text(rerr), vim.log.levels.ERROR) end
        if not done.done then return notify("redo: the files changed meanwhile: nothing was done", vim.log.levels.WARN) end
        chat.renderer:append_lines({ "", M.note(done, true) })
        chat.renderer:flush()
        require("codex.events").emit("ChatUndone", { thread_id = chat.thread_id, redo = true })
      end)
    end
    if #res.conflicts == 0 then return run({}) end
    M.show_preview(M.preview_lines(res, true))
    vim.ui.select(choices(res, true), { prompt = "Conflicts (see the preview): redo anyway?" }, function(choice)
      M.close_preview()
      if not choice or choice == M.CANCEL then return notify("redo cancelled: nothing changed") end
      run(opts_of(choice, res))
    end)
  end)
end

return M
