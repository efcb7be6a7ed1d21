#!/usr/bin/env bash
# scripts/nvim_ui_run.sh LOG COMMAND...: runs COMMAND (a Neovim, not --headless) with a real UI
# attached: its TUI in a detached tmux session (200x50, its own tmux server), and streams LOG
# (where the command writes its results: CODEX_TEST_LOG for tests/run.lua, CODEX_BENCH_LOG for
# bench/ui.lua) to stdout until the command ends. Exits with the command's status.
#
# Why: Neovim 0.12.4 aborts ("double free or corruption", "munmap_chunk(): invalid pointer")
# when it draws without any UI after a script changed the editor size and resized windows.
# Smallest case found: `nvim --clean --headless -l x.lua` with x.lua = `vim.o.columns = 100;
# vim.cmd("wincmd ="); vim.cmd("redraw")` (0.10.4 survives it; so does 0.12.4 with a UI, whose
# grid follows the UI). bench/ui.lua does exactly that; the issue's case is a 'winbar' with
# 'laststatus'=2 after 'columns'/'lines' were set. So the suites run every Neovim from 0.12 on
# this way (scripts/test.sh), and so does `make bench-ui`.
#
# The session ends with the command (no remain-on-exit); `tmux wait-for` waits for that, no
# polling. NVIM_UI_RUN_TIMEOUT (seconds, default 1200) bounds the command; NVIM_UI_RUN_SIZE
# (COLUMNSxLINES, default 200x50) is the terminal's size.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 LOG COMMAND..." >&2; exit 2; }
log=$1; shift
command -v tmux >/dev/null || { echo "nvim_ui_run: needs tmux" >&2; exit 1; }
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

size=${NVIM_UI_RUN_SIZE:-200x50}
cols=${size%x*} rows=${size#*x}
sock="codex-ui-run-$$"
dir=$(mktemp -d "${TMPDIR:-/tmp}/codex-ui-run.XXXXXX")
: >"$log"
rc_file="$dir/rc"
cmd="cd $(q "$PWD") && timeout --foreground ${NVIM_UI_RUN_TIMEOUT:-1200}"
for a in "$@"; do cmd+=" $(q "$a")"; done
# The environment of this script, as tmux's new server would not pass all of it reliably.
envfile="$dir/env"
export -p | grep -v -E '^declare -x (TMUX|TMUX_PANE|TERM|COLUMNS|LINES)=' >"$envfile"
script="$dir/run.sh"
cat >"$script" <<EOF
. $(q "$envfile")
unset TMUX TMUX_PANE
$cmd
echo \$? >$(q "$rc_file")
tmux -L $(q "$sock") wait-for -S done
EOF

cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null
  [ -z "${tail_pid:-}" ] || kill "$tail_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmux -L "$sock" -f /dev/null new-session -d -s run -x "$cols" -y "$rows" "bash $(q "$script")" ||
  { echo "nvim_ui_run: tmux new-session failed" >&2; exit 1; }
timeout $(( ${NVIM_UI_RUN_TIMEOUT:-1200} + 60 )) tmux -L "$sock" wait-for done &
wait_pid=$!
tail -n +1 -f --pid="$wait_pid" "$log" &
tail_pid=$!
wait "$wait_pid"
wait "$tail_pid" 2>/dev/null
tail_pid=""
rc=$(cat "$rc_file" 2>/dev/null || echo 1)
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
  echo "nvim_ui_run: the command exited with status $rc (124: timed out; 134: aborted)" >&2
fi
exit "$rc"
