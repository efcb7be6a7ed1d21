-- codex.nvim: commands only. Nothing heavy (no C module, no process) loads until first use.
if vim.g.loaded_codex then return end
vim.g.loaded_codex = true

vim.api.nvim_create_user_command("Codex", function(opts) require("codex.commands").codex(opts) end, {
  nargs = "*",
  range = true,
  complete = function(...) return require("codex.commands").complete(...) end,
  desc = "Codex: toggle the chat, send a prompt, or a subcommand (new, resume, fork, rename, archive, stop, model, status, logout)",
})

vim.api.nvim_create_user_command("CodexLogin", function(opts) require("codex.commands").login(opts) end, {
  nargs = "?",
  complete = function(...) return require("codex.commands").login_complete(...) end,
  desc = "Codex: sign in (device code by default; browser; apikey)",
})

-- <Plug> mappings (|codex-keymaps|): the chat's default keys call the same actions; these are
-- for mapping your own keys. The functions require the UI only when used.
local function plug(modes, name, desc, fn)
  for _, mode in ipairs(modes) do
    vim.api.nvim_set_keymap(mode, "<Plug>(codex-" .. name .. ")", "", { noremap = true, silent = true, desc = "codex: " .. desc, callback = fn })
  end
end
for _, p in ipairs({
  { { "n", "i" }, "send", "send the input" },
  { { "n", "i" }, "queue", "queue the input for the next turn" },
  { { "n", "i" }, "stop", "interrupt the turn" },
  { { "n", "i" }, "approval", "answer the approval" },
  { { "n" }, "close", "close the chat" },
  { { "n" }, "help", "list the chat's keys" },
  { { "n" }, "load-earlier", "load earlier turns" },
}) do
  local name = p[2]
  plug(p[1], name, p[3], function() require("codex.ui.chat").plug(name) end)
end
plug({ "n" }, "toggle", "hide or show the chat", function() require("codex.commands").codex({ fargs = {}, range = 0 }) end)
-- ":" in visual mode gives :'<,'>, so this is `:'<,'>Codex` (the selection as a block).
vim.api.nvim_set_keymap("x", "<Plug>(codex-send-selection)", ":Codex<CR>", { noremap = true, silent = true, desc = "codex: send the selection" })
