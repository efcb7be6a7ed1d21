# codex.nvim — a thin wrapper over CMake and the test runners.
#   make            build the Neovim module (lua/codex/core.so), the Lua 5.4 module when the
#                   Lua 5.4 headers are there (else one line says which package has them), and
#                   doc/tags when there is an nvim; quiet, one line per thing built. A missing
#                   package fails with CMake's message and the package to install per system.
#   make build      both modules, both required (make nvim, make lua54: one)
#   make test       install what is missing (scripts/deps.sh), build, run every test
#   make test-asan  the core suite under Lua 5.4 with ASan + UBSan
#   make test-compat CODEX_VERSION=x.y.z   the API suite against that codex release (from npm)
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (default 300)
#   make bench      benchmarks (not tests)
#   make demo       the plugin against the mock model: offline, no account
#   make protocol   regenerate lua/codex/types/protocol.lua from the pinned codex
SHELL := /bin/bash
# No "Entering directory" lines from make run under make (a parent make, cmake --build's gmake).
MAKEFLAGS += --no-print-directory
ROOT := $(CURDIR)
NVIM07 ?= nvim
NVIM010 ?= $(ROOT)/.deps/nvim-0.10/nvim
NVIM012 ?= $(ROOT)/.deps/nvim-0.12/nvim

.PHONY: all build nvim lua54 lua54-optional helptags deps test test-lua test-nvim test-asan bench bench-complete bench-ui bench-long clean protocol protocol-check

# The default (lazy.nvim's `build = "make"`, a pack/*/start clone + `make`): exits 0 once the
# Neovim module is built (scripts/build.sh).
all: nvim lua54-optional helptags
build: nvim lua54

nvim:
	@bash scripts/build.sh nvim

lua54:
	@bash scripts/build.sh lua5.4

lua54-optional:
	@bash scripts/build.sh lua5.4 --optional

helptags:
	@bash scripts/build.sh helptags

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
	@bash scripts/build.sh asan
	@bash scripts/test.sh asan

bench: deps build
	@lua5.4 bench/router.lua
	@lua5.4 bench/stream_mem.lua
	@$(MAKE) --no-print-directory bench-complete
	@$(MAKE) --no-print-directory bench-ui
	@$(MAKE) --no-print-directory bench-long

# The chat renderer under a flood of 20,000 deltas, ours vs naive (a few minutes per Neovim:
# the naive renderer is that slow). 0.12 runs with its TUI in tmux (scripts/nvim_ui_run.sh:
# 0.12.4 aborts without a UI here), in a 100x48 terminal as the bench's editor size.
# `@` completion latency on a generated 100,000-file workspace (bench/complete.lua; target p95 < 50 ms).
bench-complete: build
	@mkdir -p $(ROOT)/.testenv
	@$(NVIM010) --headless -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -l $(ROOT)/bench/complete.lua </dev/null

bench-ui: build
	@mkdir -p $(ROOT)/.testenv
	@CODEX_BENCH_LOG=$(ROOT)/.testenv/bench-ui-nvim012.txt NVIM_UI_RUN_SIZE=100x48 bash $(ROOT)/scripts/nvim_ui_run.sh \
	  $(ROOT)/.testenv/bench-ui-nvim012.txt $(NVIM012) -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -c 'luafile $(ROOT)/bench/ui.lua'
	@$(NVIM010) --headless -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -l $(ROOT)/bench/ui.lua </dev/null
	@$(NVIM07) --headless -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -c 'luafile $(ROOT)/bench/ui.lua' </dev/null

# One streamed turn at the end of a 10- and a 500-turn chat, with the bundled markdown parsers
# (issue 8; bench/README.md): 0.12 with its TUI in tmux, 0.10 headless. About 1 minute.
bench-long: build
	@mkdir -p $(ROOT)/.testenv
	@CODEX_BENCH_LOG=$(ROOT)/.testenv/bench-long-nvim012.txt bash $(ROOT)/scripts/nvim_ui_run.sh \
	  $(ROOT)/.testenv/bench-long-nvim012.txt $(NVIM012) -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -c 'luafile $(ROOT)/bench/long.lua'
	@$(NVIM010) --headless -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -c 'luafile $(ROOT)/bench/long.lua' </dev/null

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
	rm -rf build lua/codex/core.so doc/tags .testenv
