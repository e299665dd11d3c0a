# HearingAI: build, demo, test and benchmark on Debian 12.
# Every target installs what it needs from Debian's archive first (apt-get, as root or via sudo).

SWIFT      ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FIXTURES   ?= fixtures
DEMO_DIR   ?= demo

# Build and run: the C libraries and the embedded model.
RUNTIME_PACKAGES := pkg-config libsndfile1-dev libsoxr-dev libsqlite3-dev \
	libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
# Tests and benchmarks: speech synthesis, converters and the raw engine to compare against.
TEST_PACKAGES := flite sox libsox-fmt-all sndfile-programs opus-tools lame pocketsphinx \
	python3 file util-linux time

.PHONY: deps test-deps build release demo test fixtures bench clean

deps:
	@dpkg -s $(RUNTIME_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(RUNTIME_PACKAGES); }

test-deps: deps
	@dpkg -s $(TEST_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES); }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The main job on embedded defaults: speak a sample with flite, transcribe it, show the result.
demo: release test-deps
	@mkdir -p $(DEMO_DIR)
	@flite -voice slt -t "Welcome to hearing A I. Drop your recordings in a folder and read what was said." -o $(DEMO_DIR)/welcome.wav
	@sox $(DEMO_DIR)/welcome.wav -r 48000 -b 24 -c 2 $(DEMO_DIR)/welcome-48k.wav
	./.build/release/hearingai transcribe $(DEMO_DIR)/welcome-48k.wav -f txt,json,srt
	@echo "--- $(DEMO_DIR)/welcome-48k.txt"; cat $(DEMO_DIR)/welcome-48k.txt; echo

fixtures: test-deps
	bash scripts/make-fixtures.sh $(FIXTURES)

# Serial: the memory tests measure this process's resident set, which parallel tests would inflate.
test: fixtures build
	$(SWIFT) test --no-parallel

bench: release fixtures
	bash scripts/bench-pipeline.sh

clean:
	rm -rf .build $(FIXTURES) $(DEMO_DIR) dist
