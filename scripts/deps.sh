#!/usr/bin/env bash
# Installs what building and testing codex.nvim needs, and nothing twice:
# Debian packages (when missing), the pinned Codex CLI from the npm registry into .deps/,
# and Neovim 0.10 (Debian trixie) and the newest Debian Neovim (sid: 0.12) unpacked, not
# installed, into .deps/nvim-0.10/ and .deps/nvim-0.12/ (scripts/nvim_unpack.sh; patchelf).
# `scripts/deps.sh codex X.Y.Z` installs only that Codex release, into .deps/codex-X.Y.Z/;
# `scripts/deps.sh pinned` prints the pinned release (from lua/codex/version.lua) and exits.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/.deps"
# The pinned Codex release: its one source is lua/codex/version.lua (M.pinned = "x.y.z").
CODEX_VERSION=$(sed -n 's/^M\.pinned = "\([^"]*\)".*/\1/p' "$ROOT/lua/codex/version.lua")
[ -n "$CODEX_VERSION" ] || { echo "deps: no M.pinned in lua/codex/version.lua" >&2; exit 1; }
mkdir -p "$DEPS"

# install_codex VERSION DIR BINDIR: @openai/codex@VERSION from npm into DIR (unless DIR already
# holds that version), its native binary linked as BINDIR/codex. Idempotent.
install_codex() {
  local version=$1 dir=$2 bindir=$3 native
  find_native() { # the platform package's binary: vendor/<triple>/bin/codex, or vendor/<triple>/codex/codex (0.130)
    { find "$dir/node_modules/@openai" -path '*/vendor/*/bin/codex' -type f
      find "$dir/node_modules/@openai" -path '*/vendor/*/codex/codex' -type f; } 2>/dev/null | head -n1 || true
  }
  native=$(find_native)
  if [ -z "$native" ] || [ "$("$native" --version 2>/dev/null)" != "codex-cli $version" ]; then
    echo "deps: installing @openai/codex@$version"
    mkdir -p "$dir"
    (cd "$dir" && npm install --silent --no-audit --no-fund --prefix . "@openai/codex@$version" >/dev/null)
    native=$(find_native)
  fi
  if [ -z "$native" ]; then echo "deps: the codex native binary was not found in the npm package" >&2; return 1; fi
  mkdir -p "$bindir"
  ln -sfn "$native" "$bindir/codex"
}

# scripts/deps.sh codex X.Y.Z: only that release, into .deps/codex-X.Y.Z/ (make test-compat);
# prints the binary's path.
# scripts/deps.sh pinned: prints the pinned release (for tests and scripts).
if [ "${1:-}" = pinned ]; then echo "$CODEX_VERSION"; exit 0; fi

if [ "${1:-}" = codex ]; then
  v=${2:?usage: scripts/deps.sh codex X.Y.Z}
  [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "deps: not a version: $v" >&2; exit 2; }
  install_codex "$v" "$DEPS/codex-$v" "$DEPS/codex-$v/bin" >&2
  echo "$DEPS/codex-$v/bin/codex"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PKGS=(cmake pkg-config gcc make lua5.4 liblua5.4-dev luajit libluajit-5.1-dev libuv1-dev
      lua-cjson lua-luv lua-busted luarocks neovim patchelf tmux nodejs npm valgrind procps clang libclang-rt-14-dev python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs from another origin may provide npm itself.
if command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == npm || $p == nodejs ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The pinned Codex CLI, local to the project: .deps/codex/, its native binary linked as
# .deps/bin/codex (without the npm package's node launcher in between: one process less,
# signals reach codex itself).
install_codex "$CODEX_VERSION" "$DEPS/codex" "$DEPS/bin"

bash "$ROOT/scripts/nvim_unpack.sh" trixie 0.10
bash "$ROOT/scripts/nvim_unpack.sh" sid 0.12
