#!/usr/bin/env bash
# Runs the test suites: scripts/test.sh all|lua|nvim|asan
# Each suite prints "N passed, N failed"; this script sums them and fails if any failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mode=${1:-all}
# Which spec files each host runs: the tasks in .busted (lua54, build, asan, nvim); every
# *_spec.lua under a task's directories runs (no list to keep by hand).
NVIM07=${NVIM07:-nvim}
NVIM010=${NVIM010:-$ROOT/.deps/nvim-0.10/nvim}
NVIM012=${NVIM012:-$ROOT/.deps/nvim-0.12/nvim}
mkdir -p .testenv
passed=0 failed=0 status=0

run() { # name, command…
  local name=$1; shift
  echo "=== $name"
  local log=".testenv/$(echo "$name" | tr ' /' '__').log"
  # The test running now (tests/lib/runner.lua writes its name): when the suite's timeout
  # kills a test hung where no Lua runs, the log names it.
  export CODEX_TEST_RUNNING="$ROOT/.testenv/running-$(echo "$name" | tr -c 'A-Za-z0-9.\n' '_')"
  rm -f "$CODEX_TEST_RUNNING"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && [ -s "$CODEX_TEST_RUNNING" ]; then
    echo "FAIL $(cat "$CODEX_TEST_RUNNING") (the suite timed out in this test)" | tee -a "$log"
  fi
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
    CODEX_TEST_NVIM="$1" CODEX_TEST_ARGS="--run=nvim ${CODEX_TEST_ARGS:-}")
  if [ "$(nvim_ui_mode "$1")" = tmux ]; then
    local results="$ROOT/.testenv/results-nvim-$(nvim_version "$1").txt"
    echo "# (with a UI: its TUI in a detached tmux session; results from ${results#"$ROOT"/})"
    "${env[@]}" CODEX_TEST_LOG="$results" NVIM_UI_RUN_TIMEOUT=1200 \
      bash "$ROOT/scripts/nvim_ui_run.sh" "$results" "$1" -u NONE -i NONE -c 'luafile tests/run.lua' </dev/null
  else
    "${env[@]}" timeout -k 30 1200 "$1" --headless -u NONE -i NONE -c 'luafile tests/run.lua' </dev/null
  fi
}

case $mode in
  lua|all) run "core + api (Lua 5.4)" timeout -k 30 900 lua5.4 tests/run.lua --run=lua54 ${CODEX_TEST_ARGS:-}
    run "build (Lua 5.4)" timeout -k 30 600 lua5.4 tests/run.lua --run=build ${CODEX_TEST_ARGS:-} ;;&
  nvim|all)
    for nv in "$NVIM07" "$NVIM010" "$NVIM012"; do
      run "core + api + ui (Neovim $(nvim_version "$nv"))" nvim_suite "$nv"
    done ;;
  asan)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export LSAN_OPTIONS=suppressions="$ROOT/scripts/lsan.supp":print_suppressions=0
    run "core (Lua 5.4, ASan+UBSan)" env CODEX_CPATH="$ROOT/build/asan/?.so" \
      timeout -k 30 900 "$ROOT/build/asan/lua_asan" tests/run.lua --run=asan ${CODEX_TEST_ARGS:-} ;;
esac
echo "=== total"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
