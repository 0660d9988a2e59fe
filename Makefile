# warmset — build, run the sample, test, benchmark.
# `make run` and `make test` install what is missing (Debian/Ubuntu, apt-get) first.

SWIFT        ?= swift
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Build: C libraries behind the system-library targets.
BUILD_PACKAGES := pkg-config zlib1g-dev libisal-dev libpcre2-dev libhiredis-dev libmemcached-dev gzip
# Tests: chromium (headless) to render the HTML report; redis-server, redis-cli and python3
# (the test HTTP origin) for the Redis warmer; memcached for the memcached warmer; redis-sentinel for
# Sentinel failover, openssl for the test CA of Redis over TLS, nginx-core for proxy_cache nodes.
APT_PACKAGES := $(BUILD_PACKAGES) chromium redis-server redis-tools python3 memcached redis-sentinel openssl nginx-core
BIN          := .build/debug/warmset
# Release builds link the Swift runtime and Foundation statically: the binary then runs where no
# Swift toolchain is installed, and starts about 14 ms sooner (no 20-odd shared libraries to map
# and bind; docs/benchmarks.md).
RELEASE      := -c release --static-swift-stdlib

.PHONY: deps build-deps build run test release clean bench fuzz

# `make deps` installs what the tests need; `make build-deps` only what building needs.
deps: PACKAGES = $(APT_PACKAGES)
build-deps: PACKAGES = $(BUILD_PACKAGES)
deps build-deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make: installing$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: build-deps
	$(SWIFT) build

# The main job on the bundled sample: a day of a shop's traffic (20,000 lines, gzipped).
run: build
	$(BIN) analyze fixtures/sample/access.log.gz --rules fixtures/sample/rules.yaml --top 15 --output-format tsv

test: deps
	$(SWIFT) build
	$(SWIFT) test

release: deps
	$(SWIFT) build $(RELEASE)

clean:
	rm -rf .build

# Speed against the peers (igzip, pigz, gzip, awk|sort|uniq) on a generated 5M-line log, and
# backtest (three strategies) against analyze on it.
# Writes docs/benchmarks.md. Not run by CI; nothing fails on speed.
bench: deps
	@missing=""; for p in isal pigz time gawk gcc; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	$(SWIFT) build $(RELEASE)
	scripts/bench.sh
	scripts/bench-backtest.sh

# The per-line stages one at a time (split, parse, key, hash, sketch) on lines in memory, with
# malloc counts. Writes docs/microbenchmarks.md. Not run by CI; nothing fails on speed.
.PHONY: microbench
microbench: deps
	@dpkg -s gcc >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc; }
	$(SWIFT) build $(RELEASE) --product warmset-micro
	scripts/microbench.sh

# Sketch accuracy at the issue's size (10^7 requests over 10^6 keys, s = 0.8/1.0/1.2) in a
# release build: prints the precision-vs-memory table and records it in docs/sketch.md.
ACCURACY_TABLE := .build/accuracy-table.md
.PHONY: accuracy report-screenshot backtest-report-screenshot
accuracy: deps
	WARMSET_ACCURACY=full WARMSET_ACCURACY_TABLE=$(CURDIR)/$(ACCURACY_TABLE) $(SWIFT) test -c release --filter AccuracyTests
	awk -v table="$(ACCURACY_TABLE)" '/<!-- accuracy-table:end -->/ { while ((getline line < table) > 0) print line; skip = 0 } !skip { print } /<!-- accuracy-table:begin -->/ { skip = 1 }' docs/sketch.md > docs/sketch.md.new && mv docs/sketch.md.new docs/sketch.md
	@echo "make: table recorded in docs/sketch.md"

# The HTML report of the bundled sample, and a PNG of it to look at (docs/report.png).
report-screenshot: build
	$(BIN) analyze fixtures/sample/access.log.gz --rules fixtures/sample/rules.yaml --top 300 --coverage 0.9 -o /dev/null --report .build/report.html -q
	chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --window-size=1200,2000 --screenshot=$(CURDIR)/docs/report.png file://$(CURDIR)/.build/report.html
	@echo "make: docs/report.png"

# backtest's HTML report of the same sample (one day, 27 Nov 2026: two deploy times in it, the
# strategies that need no earlier day), and a PNG of it (docs/backtest-report.png).
backtest-report-screenshot: build
	$(BIN) backtest fixtures/sample/access.log.gz --rules fixtures/sample/rules.yaml --at 2026-11-27T12:00:00Z --at 2026-11-27T18:00:00Z --window 30m --top 10,30,100,300 --strategy frequency,recent:1h,recent:10m --report .build/backtest-report.html -q > /dev/null
	chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --window-size=1200,2000 --screenshot=$(CURDIR)/docs/backtest-report.png file://$(CURDIR)/.build/backtest-report.html
	@echo "make: docs/backtest-report.png"

# libFuzzer + AddressSanitizer on the format compiler, parsers, keys, rules, sketch files.
# FUZZ_SECONDS per target (default 60). Writes docs/fuzzing.md.
fuzz: deps
	scripts/fuzz.sh

# Warm 1,000,000 keys into a fresh local Redis via redis-cli --pipe and --copy-from; then the HTTP
# side (issue 20): 100,000 keys through warm --origin and warm --http from a loopback nginx, with
# wrk as the anchor (client CPU per key); prints the ratios and writes docs/benchmarks-warm.md.
# BENCH_ONLY=http runs only the HTTP side. Not run by CI.
BENCH_WARM_APT := nginx-core wrk bc time
.PHONY: bench-warm
bench-warm: deps
	@missing=""; for p in $(BENCH_WARM_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && $(SUDO) env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(SWIFT) build $(RELEASE)
	scripts/bench-warm.sh

# Load (issue 8): 1,000,000 keys from a rate-limited loopback origin into Redis and a 3-master
# Cluster; keys/s, the rate the origin saw, memory. Writes docs/load.md. Not run by CI.
.PHONY: load-warm
load-warm: deps
	@missing=""; for p in nginx-light bc time; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	$(SWIFT) build $(RELEASE)
	scripts/load-warm.sh

# ThreadSanitizer over the whole suite (issue 18): the tests, and the warmset binary they start,
# built with --sanitize=thread in .build-tsan, with .tsan-suppressions applied. Fails on a failed
# test and on any report; the full log is .build-tsan/tsan.log (docs/tsan.md).
# TSAN_FILTER=PATTERN runs only the matching tests; TSAN_JOBS=N limits the build jobs.
.PHONY: tsan
tsan: deps
	SWIFT="$(SWIFT)" TSAN_FILTER="$(TSAN_FILTER)" TSAN_JOBS="$(TSAN_JOBS)" scripts/tsan.sh

# Issue 22: examples/spark/warm_set.py on a real Spark standalone cluster (a master and two workers
# on loopback, started and stopped by tests/spark/conftest.py), against warmset on one machine.
# Installs Java 17 (apt) and pyspark (pip, pinned) when missing; the job ships the release binary.
PYSPARK_VERSION := 4.3.0
.PHONY: test-spark
test-spark: release
	@java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])' || { \
		echo "make: installing openjdk-17-jre-headless"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }
	@python3 -c 'import sys, pyspark; sys.exit(pyspark.__version__ != "$(PYSPARK_VERSION)")' 2>/dev/null || \
		PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore pyspark==$(PYSPARK_VERSION)
	@python3 -c 'import pytest' 2>/dev/null || \
		PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore pytest
	WARMSET=$(CURDIR)/.build/release/warmset python3 -m pytest -p no:cacheprovider -ra tests/spark
