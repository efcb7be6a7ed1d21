#!/usr/bin/env bash
# scripts/nvim_unpack.sh SUITE VERSION: provides Neovim VERSION from Debian SUITE on this Debian
# machine, UNPACKED, never installed, into .deps/nvim-VERSION/:
#   bash scripts/nvim_unpack.sh trixie 0.10     -> .deps/nvim-0.10/nvim   (Debian 13)
#   bash scripts/nvim_unpack.sh sid 0.12        -> .deps/nvim-0.12/nvim   (Debian unstable)
# .deps/nvim-VERSION/nvim is a small launcher (it sets $VIMRUNTIME) that execs the unpacked nvim.
#
# How: apt-get with a private configuration (own sources list, own lists/state dir, own cache, an
# empty dpkg status) resolves `neovim` and all its library dependencies against SUITE and only
# downloads them (`install --download-only`); each .deb is then unpacked with `dpkg -x`. The
# system's apt state (/var/lib/apt, /var/cache/apt, /var/lib/dpkg) is not touched and no SUITE
# package is ever installed.
#
# The unpacked binary is patched with patchelf (Debian's `patchelf`): its ELF interpreter is the
# unpacked SUITE dynamic loader (an absolute path: ELF needs one) and its DT_RPATH the unpacked
# library directories ($ORIGIN-relative), so it runs as a normal program: /proc/self/exe and
# v:progpath are nvim itself, the TUI can re-exec itself (`v:progpath --embed`), and the programs
# nvim starts get the system's own libraries (no LD_LIBRARY_PATH). Like a relocated install, it
# finds its library directory relative to the binary: root/usr/lib/nvim, where Debian's neovim
# package puts the bundled tree-sitter parsers (parser/*.so), is on the runtimepath. (The
# compiled-in /usr/share/nvim/runtime may be another Neovim's on this machine, so the launcher
# sets $VIMRUNTIME.) The script checks that the markdown parser loads.
#
# The SUITE source line is built at run time from the Debian mirror this machine is already
# configured with (its own release's entry); no mirror host is written here. NVIM_UNPACK_MIRROR /
# NVIM_UNPACK_SECURITY_MIRROR override that (NVIM010_MIRROR / NVIM010_SECURITY_MIRROR too).
#
# Trust: SUITE's Release file is verified with the machine's own Debian archive keyring. If that
# keyring is too old to verify it, the script fetches the machine's release's current
# debian-archive-keyring .deb (itself verified against the installed keyring through the
# machine's signed Release) and uses the keyring unpacked from it. Unverified download
# ([trusted=yes]) only happens when explicitly allowed with NVIM_UNPACK_ALLOW_UNVERIFIED=1.
#
# Idempotent: does nothing (no download) when .deps/nvim-VERSION/nvim --version already says
# VERSION and the tree was made by this layout (root/.layout); an older layout is unpacked
# again from the private apt cache (no .deb is downloaded twice). A moved checkout is patched
# again (the interpreter path).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${1:-}
VERSION=${2:-}
[[ -n $TARGET && $VERSION =~ ^[0-9]+\.[0-9]+$ ]] || { echo "usage: $0 SUITE MAJOR.MINOR (e.g. trixie 0.10, sid 0.12)" >&2; exit 2; }
D="$ROOT/.deps/nvim-$VERSION"
LAUNCHER="$D/nvim"
PKGS=(neovim neovim-runtime)
LAYOUT="patchelf-1" # what root/.layout says for a tree made by this version of the script
TAG="nvim-unpack $TARGET $VERSION"

say() { echo "$TAG: $*"; }
die() { echo "$TAG: error: $*" >&2; exit 1; }

# The launcher runs and reports the wanted version, and the tree has this script's layout.
have_it() {
  [ -x "$LAUNCHER" ] && [ "$(cat "$D/root/.layout" 2>/dev/null)" = "$LAYOUT" ] &&
    case $("$LAUNCHER" --version 2>/dev/null | head -n1) in "NVIM v$VERSION."*) true ;; *) false ;; esac
}

# A checkout that moved: the interpreter path (absolute) is stale; patch it again in place.
repatch_moved() {
  [ -f "$D/root/.layout" ] && [ "$(cat "$D/root/.layout")" = "$LAYOUT" ] && [ -f "$D/root/.interp" ] || return 0
  local interp
  interp="$D/root/$(cat "$D/root/.interp")"
  [ -x "$interp" ] && command -v patchelf >/dev/null || return 0
  [ "$(patchelf --print-interpreter "$D/root/usr/bin/nvim" 2>/dev/null)" = "$interp" ] && return 0
  say "the checkout moved: pointing the binary at $interp"
  patchelf --set-interpreter "$interp" "$D/root/usr/bin/nvim"
}

done_msg() { say "$("$LAUNCHER" --version | head -n1) already at ${LAUNCHER#"$ROOT"/}"; exit 0; }
repatch_moved
if have_it; then done_msg; fi

for tool in apt-get dpkg dpkg-deb awk find flock patchelf; do
  command -v "$tool" >/dev/null || die "needs '$tool' (this script expects a Debian machine; patchelf: apt-get install patchelf)"
done

mkdir -p "$D"
exec 9>"$D/.lock"
flock 9
if have_it; then done_msg; fi  # another run finished while we waited for the lock

START=$SECONDS
ARCH=$(dpkg --print-architecture)
# shellcheck disable=SC1091
CODENAME=$( . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}" )
KEYRING=${NVIM_UNPACK_KEYRING:-${NVIM010_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}}

# --- The mirror the machine already uses -------------------------------------------------------
# Prints "suite<TAB>uri" for every enabled `deb` entry, from deb822 .sources files and one-line
# .list files.
list_sources() {
  local f822=() flist=() f
  for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && f822+=("$f"); done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && flist+=("$f"); done
  if [ ${#f822[@]} -gt 0 ]; then
    awk '
      function flush(  n, m, i, j, s, u) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
          n = split(suites, s, /[ \t]+/); m = split(uris, u, /[ \t]+/)
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (s[i] != "" && u[j] != "") print s[i] "\t" u[j]
        }
        types = uris = suites = enabled = last = ""
      }
      FNR == 1 { flush() }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ {            # continuation line
        v = $0; sub(/^[ \t]+/, "", v)
        if (last == "uris") uris = uris " " v; else if (last == "suites") suites = suites " " v
        else if (last == "types") types = types " " v
        next
      }
      {
        key = tolower($0); sub(/:.*/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val); last = key
        if (key == "types") types = val; else if (key == "uris") uris = val
        else if (key == "suites") suites = val; else if (key == "enabled") enabled = val
      }
      END { flush() }' "${f822[@]}"
  fi
  if [ ${#flist[@]} -gt 0 ]; then
    awk '$1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if (i + 1 <= NF) print $(i + 1) "\t" $i
      }' "${flist[@]}"
  fi
}
SOURCES=$(list_sources)
pick_uri() { awk -F'\t' -v s="$1" '$1 == s && $2 !~ /^cdrom:/ { sub(/\/+$/, "", $2); print $2; exit }' <<<"$SOURCES"; }
MIRROR=${NVIM_UNPACK_MIRROR:-${NVIM010_MIRROR:-$(pick_uri "$CODENAME")}}
SECURITY=${NVIM_UNPACK_SECURITY_MIRROR:-${NVIM010_SECURITY_MIRROR:-$(pick_uri "$CODENAME-security")}}
[ -n "$MIRROR" ] || die "found no enabled 'deb' entry for suite '$CODENAME' in /etc/apt/sources.list{,.d/*} (set NVIM_UNPACK_MIRROR to a Debian mirror URI)"
say "using the machine's Debian mirror $MIRROR${SECURITY:+ (security: $SECURITY)}"

# --- A private apt ---------------------------------------------------------------------------------
# setup_apt DIR: makes DIR a self-contained apt configuration and sets APT=(apt-get ...) to use it.
# The machine's apt.conf.d is still read (proxies, transports), but its hooks are cleared so that
# nothing runs against the system's state, and an APT_CONFIG file pins every directory into DIR.
setup_apt() {
  local A=$1
  mkdir -p "$A/etc/sources.list.d" "$A/etc/preferences.d" "$A/state/lists/partial" \
           "$A/cache/archives/partial" "$A/dpkg/updates" "$A/dpkg/info" "$A/log"
  : >"$A/etc/preferences"
  [ -f "$A/dpkg/status" ] || : >"$A/dpkg/status"   # empty: nothing counts as installed
  cat >"$A/apt.conf" <<EOF
// Written by scripts/nvim_unpack.sh: a private apt that never touches the system's apt/dpkg state.
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
#clear DPkg::Pre-Install-Pkgs;
Dir::Etc::SourceList "$A/etc/sources.list";
Dir::Etc::SourceParts "$A/etc/sources.list.d";
Dir::Etc::Preferences "$A/etc/preferences";
Dir::Etc::PreferencesParts "$A/etc/preferences.d";
Dir::State "$A/state";
Dir::State::status "$A/dpkg/status";
Dir::Cache "$A/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Log "$A/log";
APT::Architecture "$ARCH";
APT::Architectures { "$ARCH"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Get::Download-Only "true";
Acquire::Languages "none";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled "false";
EOF
  APT=(env APT_CONFIG="$A/apt.conf" DEBIAN_FRONTEND=noninteractive apt-get -q)
}

# write_sources FILE OPTIONS: the SUITE entries, from the machine's own mirror(s). unstable
# (sid) and experimental have no -updates or -security suites.
write_sources() {
  {
    echo "# Written by scripts/nvim_unpack.sh from this machine's $CODENAME entries."
    echo "deb [$2] $MIRROR $TARGET main"
    case $TARGET in
      sid|unstable|experimental|rc-buggy) ;;
      *)
        echo "deb [$2] $MIRROR $TARGET-updates main"
        [ -z "$SECURITY" ] || echo "deb [$2] $SECURITY $TARGET-security main" ;;
    esac
  } >"$1"
}

# apt_update LOG: 0 when every configured Release was fetched AND verified.
apt_update() {
  local log=$1
  rm -f "$A/state/lists/"*Release* 2>/dev/null || true
  if ! "${APT[@]}" update >"$log" 2>&1; then return 1; fi
  if grep -Eq 'NO_PUBKEY|EXPKEYSIG|is not signed|GPG error|not verif|^(E|W): Failed to fetch' "$log"; then return 1; fi
  compgen -G "$A/state/lists/*_dists_${TARGET}_InRelease" >/dev/null ||
    compgen -G "$A/state/lists/*_dists_${TARGET}_Release.gpg" >/dev/null
}

A="$D/apt"
setup_apt "$A"

say "apt-get update (private lists under ${A#"$ROOT"/}) for $TARGET"
write_sources "$A/etc/sources.list" "signed-by=$KEYRING"
if apt_update "$A/update.log"; then
  say "$TARGET Release verified with $KEYRING"
else
  say "$TARGET Release not verifiable with $KEYRING:"
  grep -E '^(E|W):' "$A/update.log" | head -n5 | sed "s/^/$TAG:   /" || true
  # Fallback: the newest debian-archive-keyring of the machine's own release ($CODENAME), got
  # through a second private apt whose $CODENAME Release IS verified by the installed keyring.
  say "fetching $CODENAME's current debian-archive-keyring (verified via $CODENAME's signed Release)"
  KA="$D/keyring-apt"
  SAVED_APT=("${APT[@]}")
  setup_apt "$KA"
  # $CODENAME alone: keyring updates reach it with each point release.
  echo "deb [signed-by=$KEYRING] $MIRROR $CODENAME main" >"$KA/etc/sources.list"
  NEWKEYRING=""
  if "${APT[@]}" update >"$KA/update.log" 2>&1 && ! grep -Eq 'NO_PUBKEY|GPG error|is not signed' "$KA/update.log"; then
    rm -rf "$KA/deb" "$KA/root"; mkdir -p "$KA/deb"
    if (cd "$KA/deb" && "${APT[@]}" download debian-archive-keyring >"$KA/download.log" 2>&1); then
      dpkg -x "$KA"/deb/debian-archive-keyring_*.deb "$KA/root"
      [ -s "$KA/root/usr/share/keyrings/debian-archive-keyring.gpg" ] &&
        NEWKEYRING="$KA/root/usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  fi
  APT=("${SAVED_APT[@]}")
  if [ -n "$NEWKEYRING" ]; then
    write_sources "$A/etc/sources.list" "signed-by=$NEWKEYRING"
    apt_update "$A/update.log" && say "$TARGET Release verified with $CODENAME's current keyring" || NEWKEYRING=""
  fi
  if [ -z "$NEWKEYRING" ]; then
    if [ "${NVIM_UNPACK_ALLOW_UNVERIFIED:-${NVIM010_ALLOW_UNVERIFIED:-0}}" = 1 ]; then
      # Last resort, only on explicit request: no signature check at all.
      say "WARNING: NVIM_UNPACK_ALLOW_UNVERIFIED=1: using $TARGET WITHOUT signature verification ([trusted=yes])"
      write_sources "$A/etc/sources.list" "trusted=yes"
      "${APT[@]}" update >"$A/update.log" 2>&1 || { tail -n 20 "$A/update.log" >&2; die "apt-get update failed"; }
    else
      tail -n 20 "$A/update.log" >&2
      die "cannot verify $TARGET's Release; install a newer debian-archive-keyring, or set NVIM_UNPACK_ALLOW_UNVERIFIED=1 to skip verification"
    fi
  fi
fi

# --- Resolve and download --------------------------------------------------------------------------
# With the private, empty dpkg status nothing is "installed", so the resolution pulls in every
# library neovim needs from $TARGET, libc6 included.
"${APT[@]}" -s install "${PKGS[@]}" >"$A/resolve.log" 2>&1 || { cat "$A/resolve.log" >&2; die "cannot resolve ${PKGS[*]} in $TARGET"; }
# "Inst NAME (VERSION SUITE [ARCH])"
# (may be followed by " []" and other notes, so take the arch from the "[ARCH])" that ends the group)
mapfile -t INST < <(awk '$1 == "Inst" {
    v = $3; sub(/^\(/, "", v)
    if (!match($0, /\[[^]]*\]\)/)) next
    a = substr($0, RSTART + 1, RLENGTH - 3); print $2 " " v " " a }' "$A/resolve.log")
[ ${#INST[@]} -gt 0 ] || { cat "$A/resolve.log" >&2; die "resolution gave no packages"; }
say "${#INST[@]} packages: $(printf '%s\n' "${INST[@]}" | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2 }')"

say "downloading .debs (only those not already in ${A#"$ROOT"/}/cache)"
"${APT[@]}" -y install --download-only "${PKGS[@]}" >"$A/download.log" 2>&1 ||
  { tail -n 30 "$A/download.log" >&2; die "download failed"; }

# --- Unpack ------------------------------------------------------------------------------------------
NEW="$D/root.new"
rm -rf "$NEW"; mkdir -p "$NEW"
: >"$D/versions.txt.new"
for line in "${INST[@]}"; do
  read -r name ver arch <<<"$line"
  deb="$A/cache/archives/${name}_${ver//:/%3a}_${arch}.deb"
  [ -f "$deb" ] || die "missing $deb after download"
  dpkg -x "$deb" "$NEW"
  echo "$name $ver $arch" >>"$D/versions.txt.new"
done

# The binary: Debian ships /usr/bin/nvim as the real ELF file (the vi/vim/editor alternatives
# point at it); follow a symlink inside the tree just in case.
NVIM_BIN="$NEW/usr/bin/nvim"
if [ -L "$NVIM_BIN" ]; then
  t=$(readlink "$NVIM_BIN"); case $t in /*) NVIM_BIN="$NEW$t" ;; *) NVIM_BIN="$NEW/usr/bin/$t" ;; esac
fi
[ -f "$NVIM_BIN" ] || die "no usr/bin/nvim in the unpacked neovim"
[ -d "$NEW/usr/share/nvim/runtime" ] || die "no usr/share/nvim/runtime in the unpacked neovim-runtime"

# The dynamic loader from $TARGET's libc6 (merged-/usr: usr/lib/<triplet>/, or lib64 / lib).
LDSO=$(cd "$NEW" && find . \( -type f -o -type l \) -name 'ld-linux*.so.[0-9]*' | sed 's|^\./||' |
       awk '{ print (/^usr\/lib\/[^\/]+-linux-gnu\//) ? 0 : 1, $0 }' | sort | head -n1 | cut -d' ' -f2)
[ -n "$LDSO" ] || die "no ld-linux*.so in the unpacked libc6"

# (A symlink to it, e.g. an absolute one into the system's /usr, will not do: the file itself.)
[ ! -L "$NEW/$LDSO" ] || die "$LDSO is a symlink in the unpacked libc6"

# Every unpacked directory that holds shared libraries (not gconv or Lua module dirs).
LIBDIRS=$(cd "$NEW" && find . \( -type f -o -type l \) -name 'lib*.so*' -printf '%h\n' | sed 's|^\./||' |
          grep -E '(^|/)(lib|lib64|lib32|[^/]+-linux-gnu)$' | sort -u)
[ -n "$LIBDIRS" ] || die "no library directories in the unpacked tree"

# --- Patch the binary ----------------------------------------------------------------------------
# Interpreter: the unpacked loader, by its final absolute path (root.new becomes root below).
# DT_RPATH (--force-rpath; not DT_RUNPATH, which only covers nvim's direct dependencies) with
# $ORIGIN-relative entries: every library, the indirect ones too, comes from the unpacked tree,
# before the system's ld.so.cache is looked at.
NVIM_REL=${NVIM_BIN#"$NEW"/}
BIN_DIR=$(dirname "$NVIM_REL")
UP=$(printf '%s\n' "$BIN_DIR" | awk -F/ '{ s = ""; for (i = 1; i <= NF; i++) s = s "../"; print s }')
# shellcheck disable=SC2016  # $ORIGIN is for the dynamic loader
RPATH=$(printf '%s\n' "$LIBDIRS" | sed "s|^|\$ORIGIN/$UP|" | paste -sd:)
[ ! -L "$NEW/usr/bin/nvim" ] || { rm -f "$NEW/usr/bin/nvim"; cp "$NVIM_BIN" "$NEW/usr/bin/nvim"; }
patchelf --set-interpreter "$D/root/$LDSO" --force-rpath --set-rpath "$RPATH" "$NEW/usr/bin/nvim" ||
  die "patchelf failed on usr/bin/nvim"
printf '%s\n' "$LDSO" >"$NEW/.interp"
printf '%s\n' "$LAYOUT" >"$NEW/.layout"

# Where the bundled parsers are (Debian: usr/lib/nvim/parser, found relative to the binary).
PARSERS=$(cd "$NEW" && find . -path '*/nvim/parser/markdown.so' | sed 's|^\./||; s|/markdown\.so$||' | head -n1)
[ -n "$PARSERS" ] || die "no nvim/parser/markdown.so in the unpacked packages"
[ "$PARSERS" = usr/lib/nvim/parser ] ||
  say "note: the parsers are in $PARSERS, not usr/lib/nvim/parser"

rm -rf "$D/root"
mv "$NEW" "$D/root"
mv "$D/versions.txt.new" "$D/versions.txt"

# --- Launcher ---------------------------------------------------------------------------------------
# The compiled-in runtime directory (/usr/share/nvim/runtime) may belong to the system's Neovim:
# $VIMRUNTIME names the unpacked one (nvim's children, such as the TUI's --embed server, inherit
# it). Everything else is as for a relocated install: the binary itself finds its libraries
# (rpath) and its lib/nvim (parsers).
cat >"$LAUNCHER.new" <<EOF
#!/bin/sh
# Generated by scripts/nvim_unpack.sh: Neovim $VERSION from Debian $TARGET, unpacked under root/,
# not installed; root/$NVIM_REL is patched to run with $TARGET's own loader and libraries.
R=\$(CDPATH= cd -- "\$(dirname -- "\$0")" && pwd -P)/root
VIMRUNTIME="\$R/usr/share/nvim/runtime"
export VIMRUNTIME
exec "\$R/usr/bin/nvim" "\$@"
EOF
chmod 755 "$LAUNCHER.new"
mv "$LAUNCHER.new" "$LAUNCHER"

if ! have_it; then
  "$LAUNCHER" --version >&2 || true
  die "$LAUNCHER does not report NVIM v$VERSION"
fi
# As an installed Neovim: the parsers directory on the runtimepath, the markdown parser loads,
# v:progpath is nvim itself (the TUI re-execs it).
check=$("$LAUNCHER" --clean --headless -i NONE \
  -c 'lua local ok, r = pcall(vim.treesitter.language.add, "markdown"); io.stdout:write(("%s %s %s\n"):format(tostring(ok and r ~= false), vim.v.progpath, #vim.api.nvim_get_runtime_file("parser/markdown.so", true)))' \
  -c 'qa!' </dev/null 2>&1 | tail -n1)
case $check in
  "true $D/root/usr/bin/nvim "[1-9]*) ;;
  *) die "the unpacked Neovim does not load its markdown parser like an installed one: $check" ;;
esac
say "$("$LAUNCHER" --version | head -n1) ready at ${LAUNCHER#"$ROOT"/} (parsers: root/$PARSERS; $((SECONDS - START))s)"
