#!/usr/bin/env bash
# scripts/demo.sh (make demo): codex.nvim with no account and no network.
#
# Builds the Neovim module, starts this repository's mock model server in demo mode
# (tests/mock/server.lua --demo), points a throwaway CODEX_HOME (.testenv/demo-home-*) at it,
# and opens a clean Neovim (no user config, only this plugin) on a scratch workspace with the
# chat open. The real pinned `codex app-server` runs between the two. On exit the mock is
# stopped and the CODEX_HOME removed; no process is left.
#
# Environment:
#   NVIM                  the Neovim to run (default: nvim), e.g. NVIM=.deps/nvim-0.12/nvim
#   CODEX_DEMO_ID         names the CODEX_HOME: .testenv/demo-home-<id> (default: this pid)
#   CODEX_DEMO_WORKSPACE  the scratch workspace, recreated on each run
#                         (default: .testenv/demo-workspace)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
orig_pwd=$PWD
cd "$ROOT"

# $NVIM picks the Neovim; inside a Neovim :terminal it is the parent's socket, not a program.
nvim_bin=${NVIM:-nvim}
[ ! -S "$nvim_bin" ] || nvim_bin=nvim
case $nvim_bin in */*) [ "${nvim_bin#/}" != "$nvim_bin" ] || nvim_bin="$orig_pwd/$nvim_bin" ;; esac
if ! command -v "$nvim_bin" >/dev/null 2>&1; then
  echo "demo: cannot run Neovim '$nvim_bin' (set NVIM=/path/to/nvim)" >&2
  exit 1
fi

# What is needed, and nothing twice: deps only when the pinned codex is missing.
[ -x .deps/bin/codex ] || bash scripts/deps.sh
if ! build_log=$(make --no-print-directory nvim 2>&1); then
  echo "$build_log" >&2
  echo "demo: the build failed" >&2
  exit 1
fi
"$nvim_bin" --headless -u NONE -i NONE -c 'helptags doc' -c 'qa!' </dev/null >/dev/null 2>&1 || true # :help codex

id=${CODEX_DEMO_ID:-$$}
mkdir -p .testenv
home="$ROOT/.testenv/demo-home-$id"
workspace=${CODEX_DEMO_WORKSPACE:-$ROOT/.testenv/demo-workspace}
case $workspace in /*) ;; *) workspace="$ROOT/$workspace" ;; esac
mock_pid="" mock_in=""

# The processes that got this demo's CODEX_HOME (the app-server and whatever it started).
home_procs() {
  [ -d /proc ] || return 0
  grep -lsxzF "CODEX_HOME=$home" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | grep -vx "$$" || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$mock_pid" ]; then
    [ -z "$mock_in" ] || exec {mock_in}>&- 2>/dev/null || true # the mock exits when its stdin closes
    for _ in $(seq 1 100); do kill -0 "$mock_pid" 2>/dev/null || break; sleep 0.02; done
    kill -TERM "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  # Neovim closes its app-server on exit; give a crashed one a moment, then make sure.
  local left
  for _ in $(seq 1 100); do
    left=$(home_procs)
    [ -z "$left" ] && break
    sleep 0.05
  done
  if [ -n "$left" ]; then
    echo "demo: stopping leftover processes: $(echo $left)" >&2
    kill -TERM $left 2>/dev/null || true
  fi
  rm -rf "$home"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The mock model: its stdin is a pipe from this script, so it also ends if we die.
coproc MOCK { exec lua5.4 tests/mock/server.lua --demo 2>>"$ROOT/.testenv/demo-mock.log"; }
mock_pid=$MOCK_PID mock_in=${MOCK[1]}
port_line=""
read -r -t 10 port_line <&"${MOCK[0]}" || true
port=${port_line#PORT }
if ! [[ $port =~ ^[0-9]+$ ]]; then
  echo "demo: the mock server did not start (see .testenv/demo-mock.log)" >&2
  exit 1
fi

# A throwaway CODEX_HOME with the mock's config (the shape the test suites use).
made=$(lua5.4 -e "package.path = '$ROOT/tests/?.lua;' .. package.path
  io.write(require('mock.launch').create_home($port))")
rm -rf "$home"
mv "$made" "$home"

# A scratch workspace, fresh each run.
rm -rf "$workspace"
mkdir -p "$workspace"
cat >"$workspace/main.lua" <<'EOF'
-- A scratch workspace for the codex.nvim demo.
print("hello from main.lua")
EOF

# Neovim: no user config (--clean), only this plugin; its state and cache under the
# throwaway home; no real credentials for anything it starts.
mkdir -p "$home/xdg/state" "$home/xdg/cache"
nvim_env=(env -u OPENAI_API_KEY -u CODEX_API_KEY -u OPENAI_BASE_URL
  XDG_STATE_HOME="$home/xdg/state" XDG_CACHE_HOME="$home/xdg/cache"
  CODEX_DEMO_ROOT="$ROOT" CODEX_DEMO_HOME="$home" CODEX_DEMO_PORT="$port" CODEX_DEMO_WORKSPACE="$workspace")
init="$ROOT/scripts/demo/init.lua"

# The TUI re-execs `v:progpath --embed` (0.9+): the unpacked Neovims (.deps/nvim-*/nvim) are
# patched to run directly (scripts/nvim_unpack.sh), so any Neovim runs here as it is.
set +e
(cd "$workspace" && exec "${nvim_env[@]}" "$nvim_bin" --clean -u "$init")
rc=$?
set -e
exit $rc
