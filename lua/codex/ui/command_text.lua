---@mod codex.ui.command_text  A command as the user reads it: the script, not the shell wrapper (pure).
---
--- codex runs commands through a shell (`/bin/bash -lc 'echo hi && ls'`); what the user asked
--- for, and what the approval and the chat show, is the script inside. No vim.*: this runs
--- under plain Lua too. Used by codex.ui.approval_content and codex.ui.chat_items, so both
--- show a command the same way.
local M = {}

local util = require("codex.util")
local val = util.val

--- A string or a number as text, else nil.
local function scalar(v)
  if type(v) == "string" then return v end
  if type(v) == "number" then return tostring(v) end
  return nil
end

--- The text of a command: a string, or an argv list joined with spaces (elements that are
--- not text are left out); nil when there is none.
---@param cmd any
---@return string|nil
function M.join(cmd)
  cmd = val(cmd)
  if type(cmd) == "table" then
    local parts = {}
    for _, a in ipairs(cmd) do parts[#parts + 1] = scalar(val(a)) end
    return table.concat(parts, " ")
  end
  return scalar(cmd)
end

--- The words of a shell command line (quotes and backslashes removed), or nil when it is not
--- a plain list of words: an unbalanced quote, or an unquoted operator, redirection,
--- expansion or glob, which would make the words mean something else.
---@param s string
---@return string[]|nil
function M.words(s)
  local out, cur, has, i, n = {}, {}, false, 1, #s
  while i <= n do
    local ch = s:sub(i, i)
    if ch == " " or ch == "\t" then
      if has then
        out[#out + 1] = table.concat(cur)
        cur, has = {}, false
      end
    elseif ch == "'" then
      local j = s:find("'", i + 1, true)
      if not j then return nil end
      cur[#cur + 1] = s:sub(i + 1, j - 1)
      has, i = true, j
    elseif ch == '"' then
      i = i + 1
      while true do
        if i > n then return nil end
        local c = s:sub(i, i)
        if c == '"' then break end
        if c == "\\" and s:sub(i + 1, i + 1):match('^["\\$`]$') then
          i = i + 1
          c = s:sub(i, i)
        elseif c == "$" or c == "`" then
          return nil -- an expansion: the word is not this text
        end
        cur[#cur + 1] = c
        i = i + 1
      end
      has = true
    elseif ch == "\\" then
      if i == n then return nil end
      cur[#cur + 1] = s:sub(i + 1, i + 1)
      has, i = true, i + 1
    elseif ch:match("[;&|<>()$`*?%[{}~#\n]") then
      return nil
    else
      cur[#cur + 1] = ch
      has = true
    end
    i = i + 1
  end
  if has then out[#out + 1] = table.concat(cur) end
  return out
end

-- A shell that takes a script with -c: sh, bash, zsh, dash, ksh (any directory).
local function is_shell(word)
  local name = word:match("([^/]+)$") or word
  return name == "sh" or name == "bash" or name == "zsh" or name == "dash" or name == "ksh"
end

-- -c, optionally with -l/-i in the same word (-lc, -cl, -ilc).
local function is_c_flag(word) return word:match("^%-[li]*c[li]*$") ~= nil end

--- The script a plain shell wrapper runs, and the shell: `bash -lc 'script'` (a string, or an
--- argv list {"/bin/bash", "-lc", "script"}) gives "script", "bash". Anything else, or a
--- wrapper whose quoting is not plain, gives the command itself (joined) and nil.
---@param cmd any a command string or an argv list
---@return string|nil script, string|nil shell
function M.unwrap(cmd)
  cmd = val(cmd)
  local words
  if type(cmd) == "table" then
    words = {}
    for _, a in ipairs(cmd) do
      a = scalar(val(a))
      if not a then return M.join(cmd), nil end
      words[#words + 1] = a
    end
  elseif type(cmd) == "string" then
    words = M.words(cmd)
  end
  if words and #words == 3 and is_shell(words[1]) and is_c_flag(words[2]) then
    return words[3], words[1]:match("([^/]+)$")
  end
  return M.join(cmd), nil
end

return M
