#!/usr/bin/env bash
# Provides Neovim 0.10.x from Debian 13 (trixie) on a Debian 12 (bookworm) machine, UNPACKED,
# never installed: .deps/nvim-0.10/nvim is a launcher that runs the unpacked nvim through the
# unpacked trixie dynamic loader, with the unpacked libraries and runtime.
#
# How: apt-get with a private configuration (own sources list, own lists/state dir, own cache, an
# empty dpkg status) resolves `neovim` and all its library dependencies against trixie and only
# downloads them (`install --download-only`); each .deb is then unpacked with `dpkg -x`. The
# system's apt state (/var/lib/apt, /var/cache/apt, /var/lib/dpkg) is not touched and no trixie
# package is ever installed.
#
# The trixie source line is built at run time from the Debian mirror this machine is already
# configured with (its bookworm entry); no mirror host is written here. NVIM010_MIRROR /
# NVIM010_SECURITY_MIRROR override that.
#
# Trust: trixie's Release file is verified with the machine's own Debian archive keyring
# (bookworm's debian-archive-keyring >= 2023.3+deb12u1 carries the trixie keys). If that keyring
# is too old to verify trixie, the script fetches bookworm's current debian-archive-keyring .deb
# (itself verified against the installed keyring through bookworm's signed Release) and uses the
# keyring unpacked from it. Unverified download ([trusted=yes]) only happens when explicitly
# allowed with NVIM010_ALLOW_UNVERIFIED=1.
#
# Idempotent: does nothing (no download) when .deps/nvim-0.10/nvim --version already says 0.10.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
D="$ROOT/.deps/nvim-0.10"
LAUNCHER="$D/nvim"
TARGET=trixie
PKGS=(neovim neovim-runtime)

say() { echo "nvim010: $*"; }
die() { echo "nvim010: error: $*" >&2; exit 1; }

have_010() {
  [ -x "$LAUNCHER" ] && "$LAUNCHER" --version 2>/dev/null | head -n1 | grep -q '^NVIM v0\.10\.'
}

if have_010; then
  say "$("$LAUNCHER" --version | head -n1) already at $LAUNCHER"
  exit 0
fi

for tool in apt-get dpkg dpkg-deb awk find flock; do
  command -v "$tool" >/dev/null || die "needs '$tool' (this script expects a Debian machine)"
done

mkdir -p "$D"
exec 9>"$D/.lock"
flock 9
if have_010; then  # another run finished while we waited for the lock
  say "$("$LAUNCHER" --version | head -n1) already at $LAUNCHER"
  exit 0
fi

START=$SECONDS
ARCH=$(dpkg --print-architecture)
# shellcheck disable=SC1091
CODENAME=$( . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}" )
KEYRING=${NVIM010_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

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
MIRROR=${NVIM010_MIRROR:-$(pick_uri "$CODENAME")}
SECURITY=${NVIM010_SECURITY_MIRROR:-$(pick_uri "$CODENAME-security")}
[ -n "$MIRROR" ] || die "found no enabled 'deb' entry for suite '$CODENAME' in /etc/apt/sources.list{,.d/*} (set NVIM010_MIRROR to a Debian mirror URI)"
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
// Written by scripts/nvim010.sh: a private apt that never touches the system's apt/dpkg state.
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

# write_sources FILE OPTIONS: the trixie entries, from the machine's own mirror(s).
write_sources() {
  {
    echo "# Written by scripts/nvim010.sh from this machine's $CODENAME entries."
    echo "deb [$2] $MIRROR $TARGET main"
    echo "deb [$2] $MIRROR $TARGET-updates main"
    [ -z "$SECURITY" ] || echo "deb [$2] $SECURITY $TARGET-security main"
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
  grep -E '^(E|W):' "$A/update.log" | head -n5 | sed 's/^/nvim010:   /' || true
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
    if [ "${NVIM010_ALLOW_UNVERIFIED:-0}" = 1 ]; then
      # Last resort, only on explicit request: no signature check at all.
      say "WARNING: NVIM010_ALLOW_UNVERIFIED=1: using $TARGET WITHOUT signature verification ([trusted=yes])"
      write_sources "$A/etc/sources.list" "trusted=yes"
      "${APT[@]}" update >"$A/update.log" 2>&1 || { tail -n 20 "$A/update.log" >&2; die "apt-get update failed"; }
    else
      tail -n 20 "$A/update.log" >&2
      die "cannot verify $TARGET's Release; install a newer debian-archive-keyring, or set NVIM010_ALLOW_UNVERIFIED=1 to skip verification"
    fi
  fi
fi

# --- Resolve and download --------------------------------------------------------------------------
# With the private, empty dpkg status nothing is "installed", so the resolution pulls in every
# library neovim needs from trixie, libc6 included.
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

# The dynamic loader from trixie's libc6 (merged-/usr: usr/lib/<triplet>/, or lib64 / lib).
LDSO=$(cd "$NEW" && find . \( -type f -o -type l \) -name 'ld-linux*.so.[0-9]*' | sed 's|^\./||' |
       awk '{ print (/^usr\/lib\/[^\/]+-linux-gnu\//) ? 0 : 1, $0 }' | sort | head -n1 | cut -d' ' -f2)
[ -n "$LDSO" ] || die "no ld-linux*.so in the unpacked libc6"

# Every unpacked directory that holds shared libraries (not gconv or Lua module dirs).
LIBDIRS=$(cd "$NEW" && find . \( -type f -o -type l \) -name 'lib*.so*' -printf '%h\n' | sed 's|^\./||' |
          grep -E '(^|/)(lib|lib64|lib32|[^/]+-linux-gnu)$' | sort -u)
[ -n "$LIBDIRS" ] || die "no library directories in the unpacked tree"
# shellcheck disable=SC2016  # "$R" stays literal here: the launcher expands it
LIBPATH=$(printf '%s\n' "$LIBDIRS" | sed 's|^|$R/|' | paste -sd:)

NVIM_REL=${NVIM_BIN#"$NEW"/}
rm -rf "$D/root"
mv "$NEW" "$D/root"
mv "$D/versions.txt.new" "$D/versions.txt"

# --- Launcher ---------------------------------------------------------------------------------------
# Paths are relative to the launcher's own directory so the checkout can move.
# Only this process gets the trixie libraries (ld.so --library-path, no LD_LIBRARY_PATH), so the
# programs nvim starts (shell, git, ...) run with the system's own libraries.
cat >"$LAUNCHER.new" <<EOF
#!/bin/sh
# Generated by scripts/nvim010.sh: Neovim 0.10 from Debian $TARGET, unpacked under root/, not installed.
# Runs the unpacked nvim through $TARGET's own dynamic loader and libraries.
R=\$(CDPATH= cd -- "\$(dirname -- "\$0")" && pwd -P)/root
VIMRUNTIME="\$R/usr/share/nvim/runtime"
export VIMRUNTIME
exec "\$R/$LDSO" --library-path "$LIBPATH" "\$R/$NVIM_REL" "\$@"
EOF
chmod 755 "$LAUNCHER.new"
mv "$LAUNCHER.new" "$LAUNCHER"

if ! have_010; then
  "$LAUNCHER" --version >&2 || true
  die "$LAUNCHER does not report NVIM v0.10"
fi
say "$("$LAUNCHER" --version | head -n1) ready at $LAUNCHER ($((SECONDS - START))s)"
