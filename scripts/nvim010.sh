#!/usr/bin/env bash
# Neovim 0.10 from Debian 13 (trixie), unpacked into .deps/nvim-0.10/ (see scripts/nvim_unpack.sh).
exec bash "$(dirname "$0")/nvim_unpack.sh" trixie 0.10 "$@"
