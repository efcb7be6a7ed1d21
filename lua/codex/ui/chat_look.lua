---@mod codex.ui.chat_look  How the chat window draws its transcript: conceal, wrapping, folds.
---
--- Window-local options only (the user's other windows keep theirs), set when the chat shows
--- in a window (codex.ui.chat_window). The highlight groups are codex.ui.highlight's.
local M = {}

local api = vim.api

-- What a wrapped line starts with: a continuation is not a new line of code.
M.SHOWBREAK = "↳ "

--- Sets the chat window's look: concealed markdown markers (not on the cursor's line),
--- wrapped lines that visibly continue, fold lines that say what they hide, and folds of one
--- line (a one-line reasoning summary).
---@param win integer
function M.window(win)
  if not api.nvim_win_is_valid(win) then return end
  local wo = vim.wo[win]
  wo.conceallevel = 2
  wo.concealcursor = ""
  wo.breakindent = true
  wo.foldminlines = 0
  wo.foldtext = "v:lua.require'codex.ui.chat_look'.foldtext()"
  -- showbreak is global-local: setlocal, or every window would get the arrow
  api.nvim_win_call(win, function() vim.cmd("setlocal showbreak=" .. M.SHOWBREAK:gsub(" ", "\\ ")) end)
end

--- The text of a fold of n lines whose header line is above (the fold's first line - 1) and
--- whose last line is last: command output (after a fence), reasoning, or lines.
---@param above string
---@param n integer lines in the fold
---@param tail string[] the fold's last two lines (or one)
---@return string
function M.fold_label(above, n, tail)
  if above:find("^%s*```") or above:find("^%s*~~~") then
    -- the closing fence and a blank line before it are not output
    local k = #tail
    if k > 0 and tail[k]:find("^%s*[`~][`~][`~]") then
      n, k = n - 1, k - 1
      if k > 0 and tail[k] == "" then n = n - 1 end
    end
    return ("▸ %d line%s of output"):format(n, n == 1 and "" or "s")
  end
  if above:find("Reasoning", 1, true) then
    return ("▸ reasoning (%d line%s)"):format(n, n == 1 and "" or "s")
  end
  return ("▸ %d lines"):format(n)
end

--- 'foldtext' of the chat window: reads three lines (above the fold and its last two), so a
--- fold of 10,000 lines costs what one of 10 does.
---@return string
function M.foldtext()
  local first, last = vim.v.foldstart, vim.v.foldend
  local above = first > 1 and vim.fn.getline(first - 1) or ""
  local tail = vim.fn.getline(math.max(first, last - 1), last)
  if type(tail) == "string" then tail = { tail } end
  return M.fold_label(above, last - first + 1, tail)
end

return M
