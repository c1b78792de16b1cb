# oscope — make start | make test | make unit | make test-live | make build
# Every target installs what is missing first, so a fresh clone needs nothing but this machine kind.

SHELL := /bin/bash
NPM ?= npm
NODE_STAMP := node_modules/.oscope-installed

.PHONY: start test test-live test-kernels unit build native bpf deps system-deps lint typecheck bench clean

start: build
	@./scripts/start.sh

test: build
	@./scripts/ensure-test-deps.sh
	@./scripts/ensure-test-deps-console.sh
	@./scripts/ensure-test-deps-web.sh
	@./scripts/ensure-test-deps-net.sh
	@./scripts/ensure-test-deps-kernels.sh
	$(NPM) run --silent typecheck
	npx tsc -p web/tsconfig.json --noEmit
	$(NPM) run --silent lint
	$(NPM) test --silent

# The pure tests only (parsers, analyses on bundles, rendering, contracts): no root, about a minute.
# Needs the npm packages and the TypeScript build, not the native addon or the BPF objects.
unit: $(NODE_STAMP)
	$(NPM) run --silent build
	node scripts/run-tests.mjs --group unit

# The live tests (kernel scenarios, BPF, real containers, PostgreSQL, the browser), as root.
test-live: build
	@./scripts/ensure-test-deps.sh
	@./scripts/ensure-test-deps-console.sh
	@./scripts/ensure-test-deps-web.sh
	@./scripts/ensure-test-deps-net.sh
	@./scripts/ensure-test-deps-kernels.sh
	node scripts/run-tests.mjs --group live

# The second kernel: Debian's 6.1 under QEMU (kprobes, fentry, /proc/kcore, null_blk, dm-delay), as root.
test-kernels: build
	@./scripts/ensure-test-deps-kernels.sh
	node scripts/run-tests.mjs --group kernels

build: deps
	$(NPM) run --silent build
	npx vite build --config web/vite.config.mjs --logLevel warn
	@./scripts/build-native.sh
	@./scripts/build-bpf.sh

# The optional native addon (node-gyp) and the CO-RE BPF objects; `build` runs both.
native: deps
	@./scripts/build-native.sh

bpf: system-deps
	@./scripts/build-bpf.sh

deps: system-deps $(NODE_STAMP)

system-deps:
	@./scripts/ensure-system.sh

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: deps
	$(NPM) run --silent lint

typecheck: deps
	$(NPM) run --silent typecheck

bench: build
	./scripts/ensure-bench-deps.sh
	node dist/bench/run.js

clean:
	rm -rf dist node_modules native/build bpf/.output
