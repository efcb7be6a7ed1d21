# codex.nvim — a thin wrapper over CMake and the test runners.
#   make            build the Neovim module (lua/codex/core.so) and the Lua 5.4 module
#   make test       install what is missing (scripts/deps.sh), build, run every test
#   make test-asan  the core suite under Lua 5.4 with ASan + UBSan
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (default 300)
#   make bench      benchmarks (not tests)
#   make demo       the plugin against the mock model: offline, no account
#   make protocol   regenerate lua/codex/types/protocol.lua from the pinned codex
SHELL := /bin/bash
ROOT := $(CURDIR)
NVIM07 ?= nvim
NVIM010 ?= $(ROOT)/.deps/nvim-0.10/nvim
NVIM012 ?= $(ROOT)/.deps/nvim-0.12/nvim

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

test-asan: deps
	@cmake -S . -B build/asan -DCODEX_FLAVOR=lua5.4 -DCODEX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build/asan
	@bash scripts/test.sh asan

bench: deps build
	@lua5.4 bench/router.lua
	@$(MAKE) --no-print-directory bench-ui

# The chat renderer under a flood of 20,000 deltas, ours vs naive (a few minutes per Neovim:
# the naive renderer is that slow). 0.12 runs with its TUI in tmux (scripts/nvim_ui_run.sh:
# 0.12.4 aborts without a UI here), in a 100x48 terminal as the bench's editor size.
bench-ui: build
	@mkdir -p $(ROOT)/.testenv
	@CODEX_BENCH_LOG=$(ROOT)/.testenv/bench-ui-nvim012.txt NVIM_UI_RUN_SIZE=100x48 bash $(ROOT)/scripts/nvim_ui_run.sh \
	  $(ROOT)/.testenv/bench-ui-nvim012.txt $(NVIM012) -u NONE -i NONE --cmd 'set rtp^=$(ROOT)' -c 'luafile $(ROOT)/bench/ui.lua'
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
