-- scripts/demo/init.lua: the Neovim of `make demo` (scripts/demo.sh), run as
--   nvim --clean -u scripts/demo/init.lua
-- in the scratch workspace. Only this plugin is loaded; the real pinned `codex app-server`
-- talks to this repository's mock model (tests/mock/server.lua --demo) through a throwaway
-- CODEX_HOME. demo.sh sets CODEX_DEMO_ROOT, CODEX_DEMO_HOME and CODEX_DEMO_PORT.
local root = assert(os.getenv("CODEX_DEMO_ROOT"), "run this through scripts/demo.sh (make demo)")
local home = assert(os.getenv("CODEX_DEMO_HOME"))
local port = assert(tonumber(os.getenv("CODEX_DEMO_PORT")))

vim.opt.rtp:prepend(root)
vim.cmd("runtime! plugin/codex.lua")
vim.o.swapfile = false
vim.o.termguicolors = false

-- The child env of the test suites: this CODEX_HOME, no real keys or endpoints, the login
-- issuer pointed at the mock.
package.path = root .. "/tests/?.lua;" .. package.path
local env = require("mock.launch").env(home, port)

require("codex").setup({
  codex_bin = root .. "/.deps/bin/codex",
  client = { env = env, app_server_args = { "--strict-config" } },
  chat = { width = 0.5 },
})

local BANNER = {
  "# codex.nvim demo",
  "",
  "No account, no network: the real `codex app-server` (0.171.0) talks to this",
  "repository's mock model. The chat is on the right.",
  "",
  "## Chat",
  "",
  "Type a message in the input (bottom right), then",
  "- `<C-s>` sends it (insert or normal mode),",
  "- or `<Esc>` then `<CR>`.",
  "",
  "Each message you send plays the next step:",
  "1. a streamed markdown answer with a code block",
  "2. a command that asks for approval",
  "3. a file change (`hello.lua`) that asks for approval, with its diff",
  "",
  "## Approvals",
  "",
  "- `<C-a>` jumps into the prompt (typing in the input never answers it),",
  "- `<CR>` on a choice, or `g1` `g2` …, answers,",
  "- `<Esc>` goes back without answering.",
  "",
  "## More",
  "",
  "- `:Codex stop` interrupts; `:Codex new`, `:Codex resume`",
  "- magic words: `[[markdown]]`, `[[exec]] <cmd>`, `[[patch]] <file>`, `[[slow]]`",
  "- `:qa` quits (the demo cleans up after itself)",
  "",
  "With a real account (`codex login`, or `OPENAI_API_KEY`), install the plugin",
  "and run `nvim`; `:Codex` opens the chat.",
}

-- On UIEnter: when Neovim runs as a server with a --remote-ui TUI (see demo.sh), the
-- screen size is known only once the UI is attached.
vim.api.nvim_create_autocmd(vim.fn.exists("##UIEnter") == 1 and "UIEnter" or "VimEnter", {
  once = true,
  callback = function()
    local buf = vim.api.nvim_get_current_buf()
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, BANNER)
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "hide"
    vim.bo[buf].modified = false
    vim.bo[buf].filetype = "markdown"
    pcall(vim.api.nvim_buf_set_name, buf, "codex-demo")
    vim.cmd("Codex")
    vim.cmd("startinsert")
  end,
})
