#!/usr/bin/env bash
# Runs the test suites: scripts/test.sh all|lua|nvim|asan
# Each suite prints "N passed, N failed"; this script sums them and fails if any failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mode=${1:-all}
CORE_SPECS="tests/core/runner_spec.lua tests/core/framer_spec.lua tests/core/json_spec.lua tests/core/json_diff_spec.lua tests/core/host_spec.lua tests/core/smoke_spec.lua tests/core/fake_spec.lua tests/core/stream_spec.lua tests/core/layout_spec.lua tests/core/faults_spec.lua tests/core/real_spec.lua tests/core/version_spec.lua tests/core/not_installed_spec.lua"
API_SPECS="tests/api/protocol_types_spec.lua tests/api/e2e_spec.lua tests/api/examples_spec.lua tests/api/options_spec.lua tests/api/util_spec.lua"
# Pure UI modules: no vim.*, so they run under Lua 5.4 as well as in every Neovim.
PURE_SPECS="tests/ui/markdown_spec.lua tests/ui/approval_content_spec.lua tests/ui/chat_items_spec.lua"
UI_SPECS="$PURE_SPECS tests/ui/render_spec.lua tests/ui/chat_spec.lua tests/ui/chat_history_spec.lua tests/ui/chat_wipe_spec.lua tests/ui/chat_drift_spec.lua tests/ui/commands_spec.lua tests/ui/commands_drift_spec.lua tests/ui/approval_spec.lua tests/ui/approval_attach_spec.lua tests/ui/ui_util_spec.lua tests/ui/login_spec.lua tests/ui/health_spec.lua tests/ui/not_installed_spec.lua tests/ui/highlight_spec.lua tests/ui/deprecated_spec.lua tests/ui/setup_spec.lua tests/ui/tmux_demo_spec.lua"
NVIM07=${NVIM07:-nvim}
NVIM010=${NVIM010:-$ROOT/.deps/nvim-0.10/nvim}
NVIM012=${NVIM012:-$ROOT/.deps/nvim-0.12/nvim}
mkdir -p .testenv
passed=0 failed=0 status=0

run() { # name, command…
  local name=$1; shift
  echo "=== $name"
  local log=".testenv/$(echo "$name" | tr ' /' '__').log"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
  if [ -z "$line" ]; then echo "$name: no result line (exit $rc)"; failed=$((failed + 1)); status=1; return; fi
  passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
  failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
  [ "$rc" -eq 0 ] || status=1
}

# "0.12.4" for a Neovim binary ("?" when it does not run).
nvim_version() { "$1" --version 2>/dev/null | head -n1 | sed -n 's/^NVIM v\([0-9][^ ]*\).*/\1/p' | grep . || echo "?"; }

# How a Neovim runs the suite: headless, or (CODEX_TEST_UI=tmux, the default from 0.12 on) with
# its TUI in a detached tmux session (scripts/nvim_ui_run.sh), the results through a log file:
# Neovim 0.12.4 aborts drawing without a UI after a script set 'columns'/'lines' and resized
# windows (see scripts/nvim_ui_run.sh).
nvim_ui_mode() {
  case ${CODEX_TEST_UI:-auto} in
    headless|tmux) echo "$CODEX_TEST_UI" ;;
    *) case $(nvim_version "$1") in 0.[0-9].*|0.1[01].*|\?) echo headless ;; *) echo tmux ;; esac ;;
  esac
}

nvim_suite() { # binary
  # Isolated XDG dirs: no user config, no shada.
  local env=(env XDG_CONFIG_HOME="$ROOT/.testenv/xdg/config" XDG_DATA_HOME="$ROOT/.testenv/xdg/data"
    XDG_STATE_HOME="$ROOT/.testenv/xdg/state" XDG_CACHE_HOME="$ROOT/.testenv/xdg/cache"
    CODEX_TEST_NVIM="$1" CODEX_TEST_FILES="$CORE_SPECS $API_SPECS $UI_SPECS")
  if [ "$(nvim_ui_mode "$1")" = tmux ]; then
    local results="$ROOT/.testenv/results-nvim-$(nvim_version "$1").txt"
    echo "# (with a UI: its TUI in a detached tmux session; results from ${results#"$ROOT"/})"
    "${env[@]}" CODEX_TEST_LOG="$results" NVIM_UI_RUN_TIMEOUT=1200 \
      bash "$ROOT/scripts/nvim_ui_run.sh" "$results" "$1" -u NONE -i NONE -c 'luafile tests/run.lua' </dev/null
  else
    "${env[@]}" timeout 1200 "$1" --headless -u NONE -i NONE -c 'luafile tests/run.lua' </dev/null
  fi
}

case $mode in
  lua|all) run "core + api (Lua 5.4)" timeout 900 lua5.4 tests/run.lua $CORE_SPECS $API_SPECS $PURE_SPECS
    run "build (Lua 5.4)" timeout 600 lua5.4 tests/run.lua tests/core/build_spec.lua ;;&
  nvim|all)
    for nv in "$NVIM07" "$NVIM010" "$NVIM012"; do
      run "core + api + ui (Neovim $(nvim_version "$nv"))" nvim_suite "$nv"
    done ;;
  asan)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export LSAN_OPTIONS=suppressions="$ROOT/scripts/lsan.supp":print_suppressions=0
    run "core (Lua 5.4, ASan+UBSan)" env CODEX_CPATH="$ROOT/build/asan/?.so" \
      timeout 900 "$ROOT/build/asan/lua_asan" tests/run.lua $CORE_SPECS ;;
esac
echo "=== total"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
