#!/usr/bin/env bash
# Benchmark of the OpenAI-compatible engine (`--engine openai`) against the same loopback server
# (scripts/openai-server.py) called directly.
#
#  1. Per-chunk request overhead: the server answers at once without decoding (--no-decode),
#     so the time is the request path: hearingai reads and resamples the file, cuts CHUNK-second
#     chunks, encodes each as a 16 kHz WAV, POSTs it as multipart, parses verbose_json and
#     writes the transcript. The reference posts the same number of WAVs of the same length,
#     pre-cut by sox, over one keep-alive connection (Python's http.client). 1 worker.
#  2. End to end: the server decodes every upload with pocketsphinx_continuous (so its answers
#     are real words). The reference sends the whole file in one request; hearingai sends
#     30 s chunks with 1, 2 and 4 workers (the server handles requests in parallel, so workers
#     overlap decoding on the 2 cores). WER against the script the speech was made from.
# Runs alternate in order each round; medians of ROUNDS. Ratios, not seconds, are the result:
# this machine is shared.
#
#   scripts/bench-openai.sh                 (~4 minutes on 2 cores)
#   ROUNDS=3 CHUNK=10 AUDIO=fixtures/speech/long.wav scripts/bench-openai.sh
set -euo pipefail
cd "$(dirname "$0")/.."
AUDIO=${AUDIO:-fixtures/speech/long.wav}
REFERENCE=${REFERENCE:-${AUDIO%.wav}.txt}
[ -x .build/release/hearingai ] || swift build -c release
BIN=$(mktemp -d)/hearingai
cp .build/release/hearingai "$BIN"
python3 scripts/bench_openai.py "$BIN" "$AUDIO" "$REFERENCE"
