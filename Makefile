# codex.nvim — a thin wrapper over CMake and the test runners.
#   make            build the Neovim module (lua/codex/core.so) and the Lua 5.4 module
#   make test       install what is missing (scripts/deps.sh), build, run every test
#   make test-asan  the core suite under Lua 5.4 with ASan + UBSan
#   make test-compat CODEX_VERSION=x.y.z   the API suite against that codex release (from npm)
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (default 300)
#   make bench      benchmarks (not tests)
#   make demo       the plugin against the mock model: offline, no account
#   make protocol   regenerate lua/codex/types/protocol.lua from the pinned codex
SHELL := /bin/bash
ROOT := $(CURDIR)
NVIM07 ?= nvim
NVIM010 ?= $(ROOT)/.deps/nvim-0.10/nvim

.PHONY: all build nvim lua54 deps test test-lua test-nvim test-asan bench bench-ui clean protocol protocol-check

all: build
build: nvim lua54

nvim:
	@cmake -S . -B build/nvim -DCODEX_FLAVOR=nvim -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build/nvim

lua54:
	@cmake -S . -B build/lua5.4 -DCODEX_FLAVOR=lua5.4 -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build/lua5.4

deps:
	@bash scripts/deps.sh

test: deps build
	@bash scripts/test.sh all

test-lua: build
	@bash scripts/test.sh lua

test-nvim: build
	@bash scripts/test.sh nvim

# The API suite (tests/api/e2e_spec.lua, examples/) under Lua 5.4 against another codex
# release, installed from npm into .deps/codex-$(CODEX_VERSION)/ (once). The supported range
# (lua/codex/version.lua) is what these runs established.
.PHONY: test-compat
test-compat: lua54
	@test -n "$(CODEX_VERSION)" || { echo "usage: make test-compat CODEX_VERSION=x.y.z" >&2; exit 2; }
	@bin=$$(bash scripts/deps.sh codex "$(CODEX_VERSION)") && echo "=== API suite against $$("$$bin" --version)" && \
	  CODEX_BIN="$$bin" timeout 900 lua5.4 tests/run.lua tests/api/e2e_spec.lua tests/api/examples_spec.lua

test-asan: deps
	@cmake -S . -B build/asan -DCODEX_FLAVOR=lua5.4 -DCODEX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build/asan
	@bash scripts/test.sh asan

bench: deps build
	@lua5.4 bench/router.lua
	@$(MAKE) --no-print-directory bench-ui

# The chat renderer under a flood of 20,000 deltas, ours vs naive (a few minutes per Neovim:
# the naive renderer is that slow).
bench-ui: build
	@$(NVIM010) --headless -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -l $(ROOT)/bench/ui.lua </dev/null
	@$(NVIM07) --headless -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -c 'luafile $(ROOT)/bench/ui.lua' </dev/null

# libFuzzer harnesses (fuzz/README.md): the JSON decoder/encoder, the framer and the TOML
# encoder, each for FUZZ_SECONDS under ASan + UBSan with clang; fails on a finding; skipped
# (with a notice) when clang is missing.
FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz: lua54
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

# The plugin against the mock model, offline and with no account (scripts/demo.sh).
.PHONY: demo
demo:
	@bash scripts/demo.sh

# LuaCATS types generated from the pinned app-server's JSON schema (lua/codex/types/protocol.lua);
# the test suite fails when they differ from what the pinned binary generates.
protocol: deps
	@lua5.4 scripts/gen_protocol.lua

protocol-check: deps
	@lua5.4 scripts/gen_protocol.lua --check

clean:
	rm -rf build lua/codex/core.so .testenv
