#!/usr/bin/env bash
# The HTTP API of `hearingai watch` (issue 16): its overhead on a transcription, and how it
# answers reads while a transcription runs.
#
# 1. A file through `POST /v1/audio/transcriptions` (curl, response_format=text) against the
#    same file through `hearingai transcribe` (same defaults, a fresh --cache-dir each run),
#    one after the other, RUNS times each, for each of FILES. Every run sends different bytes
#    (the file plus a tag after its data chunk: the same audio, another SHA-256), so neither the
#    service's result store nor transcribe's cache answers. The service is warm (one request
#    first): it keeps its decoders loaded between files, while every `transcribe` loads its
#    model, so the table also gives `transcribe`'s own model load (from its JSON metadata)
#    and the ratio with that taken out.
# 2. While one long transcription runs through the API, `wrk` (Debian) on `GET /v1/jobs/ID`
#    and `GET /metrics` (when the build serves it): requests/s and latency percentiles.
#
# Needs: curl, wrk, python3, sox (for the tag), and a release build. The binary is copied
# first.
#
#   scripts/bench-api.sh
#   RUNS=5 FILES="speech/short.wav speech/conversation.wav" WRK_SECONDS=10 scripts/bench-api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
FILES=${FILES:-"speech/short.wav speech/conversation.wav"}
FIXTURES=${HEARINGAI_FIXTURES:-fixtures}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
BIN_SRC=${HEARINGAI_BIN:-.build/release/hearingai}

for tool in curl wrk python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install curl wrk python3)" >&2; exit 1; }
done
[[ -x $BIN_SRC ]] || { echo "build first: swift build -c release" >&2; exit 1; }

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/bench-api.XXXXXX")
BIN=$ROOT/hearingai
cp "$BIN_SRC" "$BIN"
SERVICE_PID=
cleanup() {
    if [[ -n $SERVICE_PID ]]; then
        kill -TERM "$SERVICE_PID" 2>/dev/null || true
        wait "$SERVICE_PID" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $ROOT" >&2; else rm -rf "$ROOT"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
# tagged FILE N: FILE with "HEARINGAI-BENCH-N" appended (same audio, another SHA-256).
tagged() {
    local out=$ROOT/tagged/$2-$(basename "$1")
    mkdir -p "$ROOT/tagged"
    { cat "$1"; printf 'HEARINGAI-BENCH-%s' "$2"; } >"$out"
    echo "$out"
}

svc=$ROOT/svc
mkdir -p "$svc"
"$BIN" watch --inbox "$svc/inbox" --outbox "$svc/outbox" --processed "$svc/processed" --failed "$svc/failed" \
    --database "$svc/queue.sqlite" --listen 127.0.0.1:0 --api-insecure-no-auth 2>"$ROOT/service.log" >/dev/null &
SERVICE_PID=$!
for _ in $(seq 600); do grep -q "API listening" "$ROOT/service.log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*api[.]port=\([0-9]*\).*API listening.*/\1/p' "$ROOT/service.log" | head -1)
[[ -n $PORT ]] || { echo "the service did not start:" >&2; tail -5 "$ROOT/service.log" >&2; exit 1; }
BASE=http://127.0.0.1:$PORT

api() { curl -sS --fail-with-body --max-time 1800 -F "file=@$1" -F response_format=text "$BASE/v1/audio/transcriptions" >/dev/null; }
# Warm: the service loads its decoders once.
api "$(tagged "$FIXTURES/speech/short.wav" warm)"

echo "## A file through the API against hearingai transcribe (wall seconds, median of $RUNS)"
echo
echo "| file | audio s | API | transcribe | API ÷ transcribe | transcribe's model load | API ÷ (transcribe − load) |"
echo "|---|---|---|---|---|---|---|"
for file in $FILES; do
    path=$FIXTURES/$file
    audio=$(soxi -D "$path" 2>/dev/null || echo "?")
    api_times=()
    cli_times=()
    loads=()
    for run in $(seq "$RUNS"); do
        input=$(tagged "$path" "api-$run")
        t0=$(now); api "$input"; t1=$(now)
        api_times+=("$(echo "$t1 - $t0" | bc -l)")
        input=$(tagged "$path" "cli-$run")
        out=$ROOT/cli-$run
        mkdir -p "$out"
        t0=$(now)
        "$BIN" transcribe "$input" --output "$out" --format json --cache-dir "$ROOT/cache-$run-$(basename "$file")" >/dev/null 2>&1
        t1=$(now)
        cli_times+=("$(echo "$t1 - $t0" | bc -l)")
        loads+=("$(python3 -c 'import json,sys,glob; print(json.load(open(glob.glob(sys.argv[1]+"/*.json")[0]))["metadata"]["timings"]["engineLoad"])' "$out")")
    done
    python3 - "$file" "$audio" "${api_times[*]}" "${cli_times[*]}" "${loads[*]}" <<'EOF'
import statistics, sys
name, audio = sys.argv[1], sys.argv[2]
api = statistics.median(map(float, sys.argv[3].split()))
cli = statistics.median(map(float, sys.argv[4].split()))
load = statistics.median(map(float, sys.argv[5].split()))
print(f"| {name} | {float(audio):.1f} | {api:.2f} | {cli:.2f} | {api / cli:.2f} | {load:.2f} | {api / max(cli - load, 1e-9):.2f} |")
EOF
done

echo
echo "## Reads while a transcription runs (wrk, $WRK_CONNECTIONS connections, ${WRK_SECONDS} s each)"
echo
long=$(tagged "$FIXTURES/speech/long.wav" wrk)
job=$(curl -sS -F "file=@$long" "$BASE/v1/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 300); do
    state=$(curl -sS "$BASE/v1/jobs/$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    [[ $state == running ]] && break
    sleep 0.1
done
echo "| route | requests/s | p50 | p90 | p99 | errors |"
echo "|---|---|---|---|---|---|"
routes=("/v1/jobs/$job")
curl -sf "$BASE/metrics" >/dev/null 2>&1 && routes+=("/metrics")
for route in "${routes[@]}"; do
    out=$(wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency "$BASE$route")
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    p50=$(echo "$out" | awk '$1=="50%"{print $2}')
    p90=$(echo "$out" | awk '$1=="90%"{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    errors=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
    echo "| GET $route | $rps | $p50 | $p90 | $p99 | ${errors:-0} |"
done
state=$(curl -sS "$BASE/v1/jobs/$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
echo
echo "The transcription was $state when the reads ended (it must still be running for the figures to count)."
