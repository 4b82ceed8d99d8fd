# Cross: `make run` and `make test` are all a new machine needs (see README.md).
SWIFT ?= swift
RUN_DIR ?= run
PORT ?= 8080
SANDBOX_PORT ?= 8081

RUN_PACKAGES = nginx libfcgi-dev
TEST_PACKAGES = $(RUN_PACKAGES) systemd chromium chromium-driver php-cli python3 python3-venv curl openssl prometheus
BENCH_PACKAGES = $(RUN_PACKAGES) wrk gcc php-fpm python3
CRASH_KILLS ?= 100

.PHONY: run test build bench soak bench-dashboard deps clean

run:
	@scripts/ensure-deps $(RUN_PACKAGES)
	$(SWIFT) build
	@scripts/dev-stack $(RUN_DIR) $(PORT) $(SANDBOX_PORT)

test:
	@scripts/ensure-deps $(TEST_PACKAGES)
	$(MAKE) fuzz FUZZ_SECONDS=10
	$(SWIFT) build --build-tests
	scripts/contract-test
	$(MAKE) crash-test CRASH_KILLS=10
	$(SWIFT) test --skip-build

build:
	@scripts/ensure-deps $(RUN_PACKAGES)
	$(SWIFT) build

# The merchant API against docs/openapi.yaml: schemathesis (PyPI, in .build-venv/) on a real stack with seeded
# orders (scripts/contract-test; under a minute).
.PHONY: contract
contract:
	@scripts/ensure-deps $(RUN_PACKAGES) python3 python3-venv curl
	$(SWIFT) build
	scripts/contract-test $(CONTRACT_ARGS)

# kill -9 of `cross serve` CRASH_KILLS times (100) under a mix of orders and notifications from 4 client
# processes, then every invariant checked from the files and the API (scripts/crash-loop; ~3 minutes for 100).
.PHONY: crash-test
crash-test:
	@scripts/ensure-deps $(RUN_PACKAGES) python3
	$(SWIFT) build
	scripts/crash-loop --kills $(CRASH_KILLS)

# libFuzzer targets for every parser Cross reads from outside (fuzz/, built into .build-fuzz): each runs
# FUZZ_SECONDS (60) on its corpus, then a table of executions, executions a second and crashes (fuzz/run).
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	@scripts/ensure-deps libfcgi-dev
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run

# Rates and latencies through nginx: static file, C libfcgi and cross /healthz, checkout pages and notifications
# (cross against a PHP-FPM reference), order creation, then each at a fixed rate (bench/run; ~7 minutes).
bench:
	@scripts/ensure-deps $(BENCH_PACKAGES)
	bench/run

# A steady mix well below capacity for SOAK_MINUTES (60; SOAK_MINUTES=5 for a quick check): fails if cross's RSS at
# the end is more than SOAK_RSS_GROWTH_MB (2) above its level after the warm-up (5 minutes), or if open files,
# threads or latency grew (bench/lib/soak.py).
soak:
	@scripts/ensure-deps $(BENCH_PACKAGES)
	SOAK=1 bench/run

# The orders dashboard with 100,000 orders: each page's time and the responder's RSS (bench/dashboard/run).
bench-dashboard:
	@scripts/ensure-deps $(RUN_PACKAGES) curl
	bench/dashboard/run

clean:
	rm -rf .build $(RUN_DIR)
