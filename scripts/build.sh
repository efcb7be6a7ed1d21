#!/usr/bin/env bash
# scripts/build.sh (the Makefile's build targets): configure and build one flavour of codex.core
# with CMake, quietly. On success it prints one line; on failure, CMake's (and pkg-config's,
# and the compiler's) whole output, which ends with the packages to install on each system
# (CMakeLists.txt), and exits 1.
#
#   scripts/build.sh nvim              lua/codex/core.so, for Neovim (required)
#   scripts/build.sh lua5.4            build/lua5.4/codex/core.so, for plain Lua 5.4
#   scripts/build.sh lua5.4 --optional the same, but without the Lua 5.4 headers: one line
#                                      saying which package has them, exit 0 (plain `make`:
#                                      a Neovim user does not need this module)
#   scripts/build.sh asan              build/asan: the Lua 5.4 module and an interpreter, with
#                                      ASan + UBSan (make test-asan)
#   scripts/build.sh helptags          doc/tags, with the first `nvim` on PATH; nothing without
#
# CMAKE names the cmake program (default: cmake). Runs with macOS's bash 3.2 too.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
what=${1:-}
optional=0
[ "${2:-}" != "--optional" ] || optional=1
CMAKE=${CMAKE:-cmake}

# The packages that have a program, in the shape of CMakeLists.txt's message.
missing_program() { # what, debian, fedora, arch, homebrew
  {
    echo "codex.nvim: cannot build: $1 is not installed (no '$CMAKE' on PATH)."
    echo "  Install:"
    echo "    Debian/Ubuntu:    sudo apt install $2"
    echo "    Fedora:           sudo dnf install $3"
    echo "    Arch:             sudo pacman -S $4"
    echo "    macOS (Homebrew): brew install $5"
    echo "  then run make again."
  } >&2
  exit 1
}

case $what in
  nvim) dir=build/nvim product=lua/codex/core.so label="for Neovim"
    args=(-DCODEX_FLAVOR=nvim -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  lua5.4) dir=build/lua5.4 product=build/lua5.4/codex/core.so label="for Lua 5.4"
    args=(-DCODEX_FLAVOR=lua5.4 -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build/asan product="build/asan/codex/core.so and build/asan/lua_asan" label="Lua 5.4, ASan + UBSan"
    args=(-DCODEX_FLAVOR=lua5.4 -DCODEX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
  helptags)
    # Help tags for `:help codex` (a pack/*/start install has no plugin manager to make them).
    # Skipped without a Neovim; lazy.nvim and rocks.nvim make their own.
    command -v nvim >/dev/null 2>&1 || exit 0
    if ! out=$(nvim --headless -u NONE -i NONE -c 'helptags doc' -c 'qa!' </dev/null 2>&1) || [ ! -s doc/tags ]; then
      echo "codex.nvim: could not generate doc/tags (:helptags doc): $out" >&2
      exit 0 # the plugin works without them
    fi
    echo "codex.nvim: generated doc/tags"
    exit 0 ;;
  *) echo "usage: scripts/build.sh nvim|lua5.4 [--optional]|asan|helptags" >&2; exit 2 ;;
esac

command -v "$CMAKE" >/dev/null 2>&1 || missing_program cmake cmake cmake cmake cmake

# Configure every time (cheap once configured; a changed environment is seen), then build.
# Output is kept and shown only when something fails.
log=$("$CMAKE" -S . -B "$dir" "${args[@]}" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
  log=$("$CMAKE" --build "$dir" 2>&1)
  rc=$?
  [ $rc -ne 0 ] || { echo "codex.nvim: built $product ($label)"; exit 0; }
fi

if [ $optional -eq 1 ]; then
  if printf '%s\n' "$log" | grep -q 'missing the Lua 5.4 headers'; then
    echo "codex.nvim: skipped $product (for scripts under plain Lua 5.4, not needed in Neovim): no Lua 5.4 headers; they are in liblua5.4-dev (Debian/Ubuntu), lua-devel (Fedora), lua (Arch, Homebrew)"
    exit 0
  fi
  # Some other failure in a build a Neovim user does not need: say so, and do not fail `make`.
  printf '%s\n' "$log" >&2
  echo "codex.nvim: the optional $product ($label) failed to build (above); the Neovim module is built; \`make lua54\` retries" >&2
  exit 0
fi
printf '%s\n' "$log" >&2
echo "codex.nvim: could not build $product ($label): see above" >&2
exit 1
