# Cross: `make run` and `make test` are all a new machine needs (see README.md).
SWIFT ?= swift
RUN_DIR ?= run
PORT ?= 8080
SANDBOX_PORT ?= 8081

RUN_PACKAGES = nginx libfcgi-dev
TEST_PACKAGES = $(RUN_PACKAGES) chromium chromium-driver

.PHONY: run test build bench deps clean

run:
	@scripts/ensure-deps $(RUN_PACKAGES)
	$(SWIFT) build
	@scripts/dev-stack $(RUN_DIR) $(PORT) $(SANDBOX_PORT)

test:
	@scripts/ensure-deps $(TEST_PACKAGES)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

build:
	@scripts/ensure-deps $(RUN_PACKAGES)
	$(SWIFT) build

bench:
	@scripts/ensure-deps $(RUN_PACKAGES) wrk gcc
	bench/run

clean:
	rm -rf .build $(RUN_DIR)
