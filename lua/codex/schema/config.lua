---@mod codex.schema.config  The plugin's options (setup(), vim.g.codex), each once.
---
--- Rows as codex.schema describes. They drive codex.config (defaults and validation), the
--- LuaCATS class codex.Config (lua/codex/types/options.lua) and the tables of |codex-config|
--- and |codex-keymaps| in doc/codex.txt: after a change, run `lua5.4 scripts/gen_options.lua`.
local rows = {
  { "codex_bin", "string", allow_nil = true, doc = "else $CODEX_BIN, the plugin's .deps, PATH" },
  { "client", "table", default = {}, lua = "codex.ClientOptions",
    doc = "extra codex.new() options (env, config, …); see |codex-setup-again|" },
  { "model", "string", allow_nil = true, doc = "model for new threads (nil: codex's default)" },
  { "effort", "string", allow_nil = true, doc = "reasoning effort for turns" },
  -- Ask the user: codex asks for approval of every command that is not known safe.
  { "sandbox", "string", default = "read-only", enum = { "read-only", "workspace-write", "danger-full-access" },
    doc = "sandbox of new threads" },
  { "approval_policy", { "string", "table" }, default = "untrusted",
    lua = '"untrusted"|"on-request"|"never"|table', doc = "ask before commands and file changes" },
  { "auto_approve", { "boolean", "table" }, default = false, unknown = "is not known",
    lua = "{commands: string[]|boolean|nil, file_changes: string[]|boolean|nil}|false",
    doc = "or { commands = {patterns}, file_changes = {patterns} }: accepted without a prompt" },
  { "auto_approve.commands", { "boolean", "table" }, allow_nil = true },
  { "auto_approve.file_changes", { "boolean", "table" }, allow_nil = true },
  { "chat", "table" },
  { "chat.layout", "string", default = "vsplit", enum = { "split", "vsplit", "float", "current" } },
  { "chat.width", "number", default = 0.4, positive = true, doc = "fraction of the editor, or columns if > 1" },
  { "chat.height", "number", default = 0.4, positive = true, doc = "fraction of the editor, or lines if > 1" },
  { "chat.input_height", "number", default = 5 },
  { "chat.reuse_window", "boolean", default = true,
    doc = "`:Codex new`, `fork`, `resume` show the chat in the chat windows of this tab (the chat shown"
      .. " there is hidden, and lives on); false: new windows each time" },
  { "chat.fold_output_lines", "number", default = 12, doc = "longer command output is folded" },
  { "chat.frame_ms", "number", default = 16, doc = "at most one render per chat per frame" },
  { "chat.history_turns", "number", default = 20, min = 1,
    doc = "a resumed or forked chat shows this many newest turns; earlier ones load this many at a time"
      .. " (|codex-history|)" },
  { "notify", "table" },
  { "notify.terminal", "string", default = "approvals", enum = { "never", "approvals", "always" },
    doc = "a terminal notification (OSC 9 / OSC 777, through tmux) when a turn waits for your approval"
      .. " (\"always\": also when one ends) while its chat is hidden or Neovim has no focus (|codex-notify|)" },
  { "notify.bell", "string", default = "approvals", enum = { "never", "approvals", "always" },
    doc = "the terminal's bell, for the same events" },
  { "keymaps", "table", unknown = "is not a known keymap", collapse = true,
    doc = "see |codex-keymaps|; false disables one" },
  { "login", "table" },
  { "login.method", "string", default = "device", enum = { "device", "browser", "apikey" } },
}

-- Every key the plugin maps: name, default, what it does (the |codex-keymaps| table).
local keymaps = {
  { "send", "<CR>", "input buffer, normal mode: send (steers a running turn)" },
  { "send_insert", "<C-s>", "input buffer, insert and normal mode: send" },
  { "queue", "<C-q>", "input buffer: queue for after the current turn" },
  { "stop", "<C-c>", "chat and input, normal and insert mode: interrupt the turn" },
  { "focus_approval", "<C-a>", "chat and input: jump to the pending approval" },
  { "close", "q", "chat buffer: close the chat windows" },
  { "load_earlier", "gK", "chat buffer: load earlier turns of a resumed thread (|codex-history|)" },
  { "help", "g?", "chat and input: list the chat's keys in a float" },
  { "open_agent", "<CR>", "chat buffer: open the sub-agent's thread of the item under the cursor (|codex-chat-items|),"
    .. " or the changed file as open_file does" },
  { "open_file", "gf", "chat buffer: on a file change, open the file at its first hunk (in its diff: at the line"
    .. " under the cursor; |codex-diff|)" },
  { "approval_choose", "<CR>", "approval window: answer with the choice under the cursor (also g1 … g9: answer choice N)" },
  { "approval_next_file", "]f", "approval window: next file of a diff" },
  { "approval_prev_file", "[f", "approval window: previous file" },
  { "approval_next_hunk", "]h", "approval window: next hunk of a diff (|codex-approval-hunks|)" },
  { "approval_prev_hunk", "[h", "approval window: previous hunk" },
  { "approval_toggle_hunk", "<Tab>", "approval window: accept or reject the hunk under the cursor" },
  { "approval_accept_hunk", "a", "approval window: accept the hunk under the cursor, go to the next" },
  { "approval_reject_hunk", "r", "approval window: reject the hunk under the cursor, go to the next" },
  { "approval_accept_all", "A", "approval window: accept every hunk" },
  { "approval_reject_all", "R", "approval window: reject every hunk" },
  { "approval_back", "<Esc>", "approval window: go back without answering" },
  { "login_cancel", "q", "login window: cancel the login" },
}
local at -- the keymap rows go right after the "keymaps" row
for i, row in ipairs(rows) do if row[1] == "keymaps" then at = i end end
for i, k in ipairs(keymaps) do
  table.insert(rows, at + i, { "keymaps." .. k[1], { "string", "false" }, default = k[2], doc = k[3], keymap = true })
end

return rows
