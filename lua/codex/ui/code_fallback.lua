---@mod codex.ui.code_fallback  Colours for fenced code where Neovim has no parser (pure).
---
--- Neovim 0.7 bundles no tree-sitter parsers, and 0.10/0.12 only a few: a ```python block
--- would stay plain. This is a small lexer, the same for every language but its comment
--- leaders and keywords: strings, comments, numbers, keywords. One line at a time, O(its
--- length), no state across lines (a block comment or a long string spanning lines is drawn
--- line by line). No vim.* access: runs under plain Lua too.
local M = {}

-- Line comment leaders by language ("--", "#", "//"; a block comment /* */ on one line).
local HASH = { "#" }
local SLASH = { "//" }
local COMMENT = {
  lua = { "--" }, sql = { "--" }, haskell = { "--" },
  python = HASH, bash = HASH, sh = HASH, zsh = HASH, shell = HASH, console = HASH, ruby = HASH, perl = HASH,
  yaml = HASH, yml = HASH, toml = HASH, make = HASH, makefile = HASH, cmake = HASH, r = HASH, nix = HASH,
  dockerfile = HASH, elixir = HASH, conf = HASH, ini = { "#", ";" }, py = HASH,
  c = SLASH, cpp = SLASH, ["c++"] = SLASH, h = SLASH, go = SLASH, rust = SLASH, rs = SLASH, java = SLASH,
  javascript = SLASH, js = SLASH, typescript = SLASH, ts = SLASH, tsx = SLASH, jsx = SLASH, kotlin = SLASH,
  swift = SLASH, scala = SLASH, zig = SLASH, cs = SLASH, csharp = SLASH, php = { "//", "#" }, dart = SLASH,
  json = {}, jsonc = SLASH, vim = {}, viml = {}, vimscript = {},
}
local BLOCK = { c = true, cpp = true, ["c++"] = true, h = true, go = true, rust = true, rs = true, java = true,
  javascript = true, js = true, typescript = true, ts = true, tsx = true, jsx = true, kotlin = true, swift = true,
  scala = true, cs = true, csharp = true, php = true, dart = true, jsonc = true, css = true, zig = true }

-- One keyword list for all: words that are keywords in the languages above and rarely
-- plain identifiers.
local KEYWORDS = {}
for w in ([[
and break case catch class const continue def default defer del do elif else elseif end enum export
extends false fi finally fn for func function if impl import in interface let local loop match mod
module new nil none None not null or package pass pub raise return self static struct switch then
this throw true True False try type typedef undefined until use var void when where while with yield
async await echo done esac local function package private protected public readonly]]):gmatch("%S+") do
  KEYWORDS[w] = true
end

--- Can this fence's language be drawn here? (Everything with a comment syntax we know.)
---@param lang string
---@return boolean
function M.supports(lang) return COMMENT[lang] ~= nil or BLOCK[lang] == true end

--- The spans of one line of code: {start col (0-based), end col (exclusive), group}.
---@param line string
---@param lang string
---@return {[1]: integer, [2]: integer, [3]: string}[]
function M.line(line, lang)
  local out = {}
  local leaders = COMMENT[lang] or {}
  local block = BLOCK[lang]
  local i, n = 1, #line
  while i <= n do
    local c = line:sub(i, i)
    local done = false
    for _, lead in ipairs(leaders) do
      if line:sub(i, i + #lead - 1) == lead and (lead ~= "#" or lang ~= "bash" or i == 1 or line:sub(i - 1, i - 1):find("%s")) then
        out[#out + 1] = { i - 1, n, "CodexCodeComment" }
        return out
      end
    end
    if block and c == "/" and line:sub(i + 1, i + 1) == "*" then
      local e = line:find("*/", i + 2, true)
      local stop = e and e + 1 or n
      out[#out + 1] = { i - 1, stop, "CodexCodeComment" }
      i, done = stop + 1, true
    elseif c == '"' or c == "'" or c == "`" then
      local j = i + 1
      while j <= n do
        local d = line:sub(j, j)
        if d == "\\" then
          j = j + 2
        elseif d == c then
          break
        else
          j = j + 1
        end
      end
      local stop = math.min(j, n)
      out[#out + 1] = { i - 1, stop, "CodexCodeString" }
      i, done = stop + 1, true
    elseif c:find("%d") and not line:sub(i - 1, i - 1):find("[%w_]") then
      local num = line:match("^0[xX]%x+", i) or line:match("^%d[%d_]*%.?%d*[eE]?[-+]?%d*", i)
      out[#out + 1] = { i - 1, i - 1 + #num, "CodexCodeNumber" }
      i, done = i + #num, true
    elseif c:find("[%a_]") then
      local word = line:match("^[%w_]+", i)
      if KEYWORDS[word] and not line:sub(i - 1, i - 1):find("[%.:]") then
        out[#out + 1] = { i - 1, i - 1 + #word, "CodexCodeKeyword" }
      end
      i, done = i + #word, true
    end
    if not done then i = i + 1 end
  end
  return out
end

return M
