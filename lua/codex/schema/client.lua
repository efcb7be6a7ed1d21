---@mod codex.schema.client  The options of codex.new() and codex.rpc.new(), each once.
---
--- Rows as codex.schema describes. They drive codex.new()'s validation, rpc.lua's defaults,
--- the LuaCATS class codex.ClientOptions (lua/codex/types/options.lua) and the option list
--- of |codex.rpc.new()| in doc/codex.txt: after a change, run `lua5.4 scripts/gen_options.lua`.
local rows = {
  { "codex_bin", "string", doc = "executable (see |codex-build|)" },
  { "args", "table", lua = "string[]", tag = "codex-rpc-args",
    doc = 'replaces the whole argv, e.g. `{ "ssh", "host", "codex", "app-server" }`' },
  { "config", "table", lua = "table<string, any>",
    doc = "`--config key=value` overrides; values are TOML-encoded, keys must be `[A-Za-z0-9_-]`"
      .. " segments joined by dots" },
  { "app_server_args", "table", lua = "string[]", doc = "extra arguments after `app-server`" },
  { "env", "table", lua = "table<string, string|false>", doc = "merged over the environment; `false` unsets" },
  { "cwd", "string", doc = "working directory of the process" },
  { "client_info", "table", lua = "{name: string, title: string|nil, version: string}",
    default_text = "codex_nvim, codex.nvim, the plugin's version",
    doc = "`{ name, title, version }` sent in `initialize`" },
  { "experimental_api", "boolean", default = true, doc = "ask for the experimental API" },
  { "opt_out_notifications", "table", lua = "string[]", doc = "notification methods the server should not send" },
  { "request_timeout_ms", "number", nonneg = true, default = 120000, doc = "0 or `math.huge` disables" },
  { "start_timeout_ms", "number", nonneg = true, default = 30000, doc = "the handshake's timeout" },
  -- The C core applies these defaults (src/client.c): default_text documents them.
  { "max_line", "number", nonneg = true, default_text = "64 MiB", doc = "largest accepted line in bytes; `math.huge`: no limit" },
  { "retry", "table", lua = "{attempts: integer, initial_ms: number, max_ms: number, jitter: number}",
    default_text = "`{ attempts = 3, initial_ms = 250, max_ms = 2000, jitter = 0.2 }`", doc = "overload retries" },
  { "kill_grace_ms", "number", nonneg = true, default_text = "500", doc = "wait after closing stdin before SIGTERM" },
  { "restart", "boolean", doc = "respawn on the next call after the process died" },
  { "approval_handler", "function", lua = "fun(req: codex.ServerRequest): table|nil",
    default_text = "`codex.approvals.decline_all`", doc = "see |codex-approvals|" },
  { "on_protocol_error", "function", lua = "fun(err: codex.Error)",
    default_text = "|vim.notify()|", doc = "function(err) for malformed lines" },
  { "on_warning", "function", lua = "fun(msg: string, details: table)",
    default_text = "|vim.notify()|, or stderr in plain Lua",
    doc = "function(msg, details) for a codex outside the supported range (|codex-versions|), once per client;"
      .. ' details: `{ kind = "codex_version", version, status = "old"|"new", min, max_tested }`' },
}

-- Every client option is optional.
for _, row in ipairs(rows) do row.allow_nil = true end

return rows
