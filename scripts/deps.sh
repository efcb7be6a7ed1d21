#!/usr/bin/env bash
# Installs what building and testing codex.nvim needs, and nothing twice:
# Debian packages (when missing), the pinned Codex CLI from the npm registry into .deps/,
# and Neovim 0.10 (Debian trixie) and the newest Debian Neovim (sid: 0.12) unpacked, not
# installed, into .deps/nvim-0.10/ and .deps/nvim-0.12/ (scripts/nvim_unpack.sh; patchelf).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/.deps"
CODEX_VERSION=0.171.0
mkdir -p "$DEPS"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PKGS=(cmake pkg-config gcc make lua5.4 liblua5.4-dev luajit libluajit-5.1-dev libuv1-dev
      lua-cjson lua-luv lua-busted neovim patchelf tmux nodejs npm valgrind procps clang libclang-rt-14-dev python3)
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

# The pinned Codex CLI, local to the project.
if [ "$("$DEPS/codex/node_modules/.bin/codex" --version 2>/dev/null)" != "codex-cli $CODEX_VERSION" ]; then
  echo "deps: installing @openai/codex@$CODEX_VERSION"
  mkdir -p "$DEPS/codex"
  (cd "$DEPS/codex" && npm install --silent --no-audit --no-fund --prefix . "@openai/codex@$CODEX_VERSION" >/dev/null)
fi
# The native binary, without the npm package's node launcher in between (one process less,
# signals reach codex itself): .deps/bin/codex.
native=$(find "$DEPS/codex/node_modules/@openai" -path '*/vendor/*/bin/codex' -type f 2>/dev/null | head -n1)
if [ -z "$native" ]; then echo "deps: the codex native binary was not found in the npm package" >&2; exit 1; fi
mkdir -p "$DEPS/bin"
ln -sfn "$native" "$DEPS/bin/codex"

bash "$ROOT/scripts/nvim_unpack.sh" trixie 0.10
bash "$ROOT/scripts/nvim_unpack.sh" sid 0.12
