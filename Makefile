# Two commands are all the set-up: `make demo` and `make test`. Each installs what is missing
# (pinned Foundry binaries, solc-js and the Chainlink contracts from the npm registry), builds the
# contracts, then the Rust workspace. Both are idempotent.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

NODE_STAMP := node_modules/.installed
FORGE := $(CURDIR)/node_modules/.bin/forge
ARTIFACTS_STAMP := contracts/out/.built
CONTRACT_SOURCES := $(shell find contracts/src contracts/test -name '*.sol' 2>/dev/null) contracts/foundry.toml

.PHONY: demo test test-contracts test-rust lint contracts devnet snapshot faults browser clean

demo: $(ARTIFACTS_STAMP)
	cargo run --quiet -p solvency-aggregator --bin solvency -- demo

test: test-contracts lint test-rust

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(ARTIFACTS_STAMP): $(NODE_STAMP) $(CONTRACT_SOURCES)
	cd contracts && $(FORGE) build --sizes
	touch $@

contracts: $(ARTIFACTS_STAMP)

# Fuzz tests' mean gas depends on the inputs forge happens to draw, which varies between runs
# even with a fixed seed: they are tested, but kept out of the gas snapshot. So are invariant
# tests, whose call and revert counts say nothing about gas.
SNAPSHOT_FILTER := --no-match-test '^(testFuzz|invariant)'

test-contracts: $(ARTIFACTS_STAMP)
	cd contracts && $(FORGE) fmt --check
	cd contracts && $(FORGE) test
	# Fails if .gas-snapshot or snapshots/*.json moved.
	cd contracts && FORGE_SNAPSHOT_CHECK=true $(FORGE) snapshot --check $(SNAPSHOT_FILTER)

lint: $(ARTIFACTS_STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings

test-rust: $(ARTIFACTS_STAMP) browser
	cargo test --workspace

# The dashboard's browser test drives headless Chromium, and the HTTPS test makes its
# certificates with the openssl command: Debian's packages, installed when missing (as root, or
# through sudo).
browser:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	[ -z "$$missing" ] || { \
		echo "installing Debian's$$missing package(s) for the browser and HTTPS tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; }

# Refresh the committed gas snapshots after an intended change.
snapshot: $(ARTIFACTS_STAMP)
	cd contracts && $(FORGE) snapshot $(SNAPSHOT_FILTER)

# The fault suite at length: RUNS runs of ROUNDS rounds each, faults at seeded random points;
# prints the counts. `make test` runs one short run. SEED=0x… replays a run.
RUNS ?= 50
ROUNDS ?= 8
faults: $(ARTIFACTS_STAMP)
	FAULT_RUNS=$(RUNS) FAULT_ROUNDS=$(ROUNDS) $(if $(SEED),FAULT_SEED=$(SEED)) \
		cargo test --quiet -p solvency-aggregator --test faults

# A devnet in the foreground until Ctrl-C.
devnet: $(ARTIFACTS_STAMP)
	cargo run --quiet -p solvency-aggregator --bin solvency -- devnet up --state-dir .devnet

clean:
	rm -rf contracts/out contracts/cache target
