-- The chat's markdown highlighting, as each Neovim really draws it: tree-sitter (the bundled
-- markdown, markdown_inline and lua parsers, found on the runtimepath as an installed Neovim
-- finds them) from 0.8 on where the parser loads, else the syntax files (0.7: syntax/codex.vim
-- on top of syntax/markdown.vim). An answer from the mock ([[markdown]]: a heading, inline code,
-- a ```lua fence) in a real chat.
if not vim then return pending("Neovim only") end
local ui = require("lib.ui")

local v = vim.version()
local version = ("%d.%d"):format(v.major, v.minor)
local has_ts = vim.treesitter ~= nil and vim.treesitter.start ~= nil and vim.treesitter.get_captures_at_pos ~= nil

-- Row (0-based) and column of the first line that contains text, at the text.
local function find(buf, text)
  for i, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local col = l:find(text, 1, true)
    if col then return i - 1, col - 1 end
  end
  error(("no line with %q in the chat:\n%s"):format(text, ui.text(buf)), 2)
end

local function captures(buf, row, col)
  local out = {}
  for _, c in ipairs(vim.treesitter.get_captures_at_pos(buf, row, col)) do
    out[#out + 1] = (c.lang or "?") .. ":" .. c.capture
  end
  return out
end

local function has(list, x)
  for _, y in ipairs(list) do if y == x then return true end end
  return false
end

local function syn_stack(row, col) -- 0-based row/col, as above
  local names = {}
  for _, id in ipairs(vim.fn.synstack(row + 1, col + 1)) do names[#names + 1] = vim.fn.synIDattr(id, "name") end
  return names
end

describe("chat markdown highlighting (Neovim " .. version .. ")", function()
  local env = ui.env()
  teardown(env.close)
  before_each(ui.settle_chats)
  after_each(ui.settle_chats)

  -- A chat with the mock's markdown answer, shown.
  local function markdown_chat()
    local c = ui.new_chat()
    c:send("[[markdown]]")
    ui.wait_text(c.buf, "```\n")
    ui.wait_idle(c)
    expect.truthy(c:visible(), "the chat is shown")
    return c
  end

  if vim.fn.has("nvim-0.10") == 1 then
    it("finds the bundled markdown parsers on the runtimepath, as an installed Neovim", function()
      for _, lang in ipairs({ "markdown", "markdown_inline", "lua" }) do
        local files = vim.api.nvim_get_runtime_file("parser/" .. lang .. ".so", false)
        expect.truthy(files[1], "parser/" .. lang .. ".so on the runtimepath (" .. vim.o.runtimepath .. ")")
        local ok, r = pcall(vim.treesitter.language.add, lang)
        expect.truthy(ok and r ~= false, lang .. " parser loads: " .. tostring(r))
      end
    end)

    -- The capture names are the same on 0.10 and 0.12 (both use the markup.* names).
    local want = {
      heading = "markdown:markup.heading.1",
      fence = "markdown:markup.raw.block",
      inline = "markdown_inline:markup.raw",
      code = "lua:keyword", -- the fence's lua injection
    }

    it("highlights the chat with tree-sitter: a heading, a code fence, inline code, the fence's language", function()
      local c = markdown_chat()
      expect.truthy(vim.treesitter.highlighter.active[c.buf], "a tree-sitter highlighter on the chat buffer")
      local probes = {
        heading = { find(c.buf, "# Mock heading") },
        fence = { find(c.buf, "```lua") },
        inline = { find(c.buf, "inline code`") },
        code = { find(c.buf, "local function greet") },
      }
      local got
      -- The highlighter parses what it draws (0.12: asynchronously): show each probe's line
      -- in the chat window and wait for its capture.
      got = {}
      wait_for(function()
        for k, name in pairs(want) do
          if not has(got[k] or {}, name) then
            vim.api.nvim_win_set_cursor(c.win, { probes[k][1] + 1, probes[k][2] })
            vim.cmd("redraw")
            got[k] = captures(c.buf, probes[k][1], probes[k][2])
            if not has(got[k], name) then return false end
          end
        end
        return true
      end, 10000, function() return "the captures " .. require("lib.runner").dump(want) .. "; got " .. require("lib.runner").dump(got) end)
      -- The role header is a heading too, and the text outside code is not raw.
      local r, col = find(c.buf, "## Codex")
      expect.truthy(has(captures(c.buf, r, col), "markdown:markup.heading.2"), "## Codex is a level-2 heading")
      r, col = find(c.buf, "Some **bold**")
      expect.falsy(has(captures(c.buf, r, col), "markdown_inline:markup.raw"), "plain text is not raw")
    end)
  else
    -- As in a user's Neovim (the suites run with -u NONE, which leaves syntax off).
    if vim.g.syntax_on == nil then
      vim.cmd("syntax on")
      teardown(function() vim.cmd("syntax off") end)
    end

    it("has no tree-sitter highlighting to start (before 0.8): the chat uses the syntax files", function()
      expect.falsy(has_ts and vim.fn.has("nvim-0.8") == 1, "vim.treesitter.start exists")
      local c = markdown_chat()
      expect.eq(vim.bo[c.buf].filetype, "codex")
      expect.eq(vim.bo[c.buf].syntax, "codex")
    end)

    it("highlights the chat with syntax/codex.vim (markdown): a heading, a code fence, inline code", function()
      local c = markdown_chat()
      local function at(text, off) -- synstack() reads the current buffer: the chat's window's
        local r, col = find(c.buf, text)
        return vim.api.nvim_win_call(c.win, function() return syn_stack(r, col + (off or 0)) end)
      end
      local got = {
        heading = at("# Mock heading", 2),
        fence = at("```lua"),
        inline = at("inline code`"),
        code = at("local function greet"),
        role = at("## Codex", 3),
      }
      local dump = require("lib.runner").dump
      expect.truthy(has(got.heading, "markdownH1"), "heading: " .. dump(got.heading))
      expect.truthy(has(got.fence, "markdownCodeDelimiter"), "fence: " .. dump(got.fence))
      expect.truthy(has(got.inline, "markdownCode"), "inline code: " .. dump(got.inline))
      expect.truthy(has(got.code, "markdownCode"), "code in the fence: " .. dump(got.code))
      expect.truthy(has(got.role, "markdownH2"), "## Codex: " .. dump(got.role))
    end)
  end
end)
