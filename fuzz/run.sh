#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: builds the libFuzzer harnesses with clang (ASan + UBSan) into
# build/fuzz and runs each for SECONDS (default $FUZZ_SECONDS, else 300): json (decoder and
# encoder), framer, toml (then fuzz/check_toml.py over the TOML of the whole corpus and of
# 20,000 values from fuzz/toml_gen.lua). Exits
# non-zero when a harness finds a crash (the input is saved as build/fuzz/<target>-crash-*).
# Without clang it prints a notice and exits 0. FUZZ_TARGETS="json framer toml" picks some.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_EACH=${1:-${FUZZ_SECONDS:-300}}
TARGETS=${FUZZ_TARGETS:-json framer toml}
CC=${FUZZ_CC:-}
if [ -z "$CC" ]; then
  for c in clang-14 clang clang-15 clang-16 clang-17 clang-18 clang-19; do
    if command -v "$c" >/dev/null 2>&1; then CC=$c; break; fi
  done
fi
if [ -z "$CC" ]; then
  echo "fuzz: clang not found (Debian: apt-get install clang), skipping the fuzz targets"
  exit 0
fi
OUT=build/fuzz
mkdir -p "$OUT"
CFLAGS=(-std=c11 -g -O1 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc -Ifuzz)
LUA_CFLAGS=$(pkg-config --cflags lua5.4 libuv)
LUA_LIBS=$(pkg-config --libs lua5.4)
build() { # target, sources…
  local t=$1; shift
  # shellcheck disable=SC2086
  "$CC" "${CFLAGS[@]}" $LUA_CFLAGS "$@" -o "$OUT/fuzz_$t" $LUA_LIBS -lm
}
for t in $TARGETS; do
  case $t in
    json) build json fuzz/fuzz_json.c src/json.c src/json_decode.c src/strbuf.c ;;
    framer) build framer fuzz/fuzz_framer.c src/framer.c src/strbuf.c ;;
    toml) build toml fuzz/fuzz_toml.c src/json.c src/json_decode.c src/strbuf.c ;;
    *) echo "fuzz: unknown target $t"; exit 2 ;;
  esac
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in $TARGETS; do
  work="$OUT/corpus/$t"
  mkdir -p "$work"
  dict=()
  [ "$t" = framer ] || dict=(-dict=fuzz/json.dict)
  echo "=== fuzz $t for ${SECONDS_EACH}s"
  set +e
  "$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=4096 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$OUT/$t-" "$work" "fuzz/corpus/$t" >"$OUT/$t.log" 2>&1
  rc=$?
  set -e
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::average_exec_per_sec" "$OUT/$t.log" || true
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc; log: $OUT/$t.log; input: $(ls "$OUT/$t-"* 2>/dev/null | head -n1))"
    tail -n 40 "$OUT/$t.log"
    status=1
  fi
  if [ "$t" = toml ] && [ "$status" -eq 0 ]; then
    rm -f "$OUT/toml_pairs.txt"
    FUZZ_TOML_OUT="$OUT/toml_pairs.txt" "$OUT/fuzz_toml" -runs=0 "$work" fuzz/corpus/toml fuzz/corpus/json >/dev/null 2>&1
    if python3 -c 'import tomllib' 2>/dev/null; then
      python3 fuzz/check_toml.py "$OUT/toml_pairs.txt" || status=1
      if [ -f build/lua5.4/codex/core.so ]; then # 20,000 random Lua values too (make lua54)
        lua5.4 fuzz/toml_gen.lua 20000 7 >"$OUT/toml_gen.txt" && python3 fuzz/check_toml.py "$OUT/toml_gen.txt" || status=1
      fi
    else
      echo "fuzz: python3 with tomllib (3.11+) not found, skipping the TOML parse check"
    fi
  fi
done
exit $status
