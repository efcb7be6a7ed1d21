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
