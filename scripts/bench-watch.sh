#!/usr/bin/env bash
# Watcher benchmark for `hearingai watch`: inotify (the default) against the 1-second polling
# baseline (`--poll-only --rescan-seconds 1`), both with the same `--settle-seconds`.
#
#  1. Drop-to-claim latency, idle worker: N files dropped one at a time into each service
#     (both services run side by side and drops alternate between them, the order flipping
#     every round, so load on a shared machine hits both alike). Before each drop the previous
#     job is done and there is a random 0-1 s pause, so drops do not line up with the poll
#     phase. Each file is a distinct 0.5 s cut of fixtures/speech/short.wav (unique content,
#     so dedupe plays no part; cheap to transcribe), renamed atomically into the inbox from a
#     sibling stage directory; latency = the job's `startedAt` in SQLite minus the time taken
#     just before rename(2). Run with settle 2 s (the default) and 0.5 s.
#  2. Burst: 1,000 files renamed in a tight loop; time from the first rename until all are
#     queued and all are done, and a check that each was processed exactly once. The burst
#     files are identical (measured: distinct 0.5 s files take ~0.3 s each to transcribe on
#     2 cores, ~5 min per 1,000-file run), so after the first one the service reuses the
#     stored result (dedupe) and the burst measures intake, queueing and delivery. Runs
#     alternate inotify, polling, polling, inotify, ... (BURST_ROUNDS each).
#
# Every run has fresh temp dirs and database, and ends with SIGTERM (a trap cleans up).
# Needs: python3 (standard library only: scripts/bench_watch.py reads the queue with its sqlite3
# module, so the sqlite3 CLI is not needed), and a release build (`swift build -c release`).
# The binary is copied first, so a rebuild during the run does not change what is measured.
#
#   scripts/bench-watch.sh                        (~7 minutes on 2 cores)
#   N=40 N_FAST=30 BURST=1000 BURST_ROUNDS=3 SETTLE=2 SETTLE_FAST=0.5 KEEP=1 scripts/bench-watch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-40}                 # latency drops per watcher at SETTLE
N_FAST=${N_FAST:-30}       # latency drops per watcher at SETTLE_FAST (0: skip)
SETTLE=${SETTLE:-2}        # the service's default settle time
SETTLE_FAST=${SETTLE_FAST:-0.5}
BURST=${BURST:-1000}
BURST_ROUNDS=${BURST_ROUNDS:-3}
BIN_SRC=${HEARINGAI_BIN:-.build/release/hearingai}
AUDIO=fixtures/speech/short.wav
HELPER=scripts/bench_watch.py
START=$(date +%s)

command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
python3 -c 'import sqlite3' || { echo "python3 lacks the sqlite3 module" >&2; exit 1; }
[[ -x $BIN_SRC ]] || { echo "build first: swift build -c release" >&2; exit 1; }
"$BIN_SRC" watch --help 2>/dev/null | grep -q -- --poll-only || { echo "$BIN_SRC has no 'watch --poll-only': rebuild" >&2; exit 1; }
[[ -f $AUDIO ]] || bash scripts/make-fixtures.sh fixtures >/dev/null

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/bench-watch.XXXXXX")
BIN=$ROOT/hearingai
cp "$BIN_SRC" "$BIN"
declare -A PID=()          # run directory -> service pid (only services this script started)
NOTES=$ROOT/notes          # service behaviour, one line per run

cleanup() {
    local dir
    for dir in "${!PID[@]}"; do
        kill -TERM "${PID[$dir]}" 2>/dev/null || true
    done
    for dir in "${!PID[@]}"; do
        for _ in $(seq 100); do kill -0 "${PID[$dir]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${PID[$dir]}" 2>/dev/null || true
    done
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $ROOT" >&2; else rm -rf "$ROOT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# new_run NAME: a fresh directory tree; prints its path.
new_run() {
    local dir=$ROOT/$1
    mkdir -p "$dir/stage"
    echo "$dir"
}

# start_svc DIR LABEL SETTLE: starts the service on DIR (inotify or poll) and waits until it watches.
start_svc() {
    local dir=$1 label=$2 settle=$3 extra=()
    [[ $label == poll ]] && extra=(--poll-only --rescan-seconds 1)
    "$BIN" watch --inbox "$dir/in" --outbox "$dir/out" --processed "$dir/processed" --failed "$dir/failed" \
        --database "$dir/queue.sqlite" --formats txt --settle-seconds "$settle" "${extra[@]}" >"$dir/log" 2>&1 &
    PID[$dir]=$!
    for _ in $(seq 300); do
        grep -qs "Watching the inbox" "$dir/log" && return 0
        kill -0 "${PID[$dir]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "service did not start ($dir):" >&2; cat "$dir/log" >&2; exit 1
}

# stop_svc DIR WHAT: SIGTERM, wait (up to 60 s), and note exit status, stop time and log warnings.
stop_svc() {
    local dir=$1 what=$2 pid=${PID[$1]} t0 rc=0 stopped=yes warn
    t0=$(date +%s.%N)
    kill -TERM "$pid"
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then stopped="NO (SIGKILL after 60 s)"; kill -KILL "$pid"; fi
    wait "$pid" || rc=$?
    unset "PID[$dir]"
    warn=$(grep -cE '^[^ ]+ (warning|error|critical) ' "$dir/log" || true)
    local dedupe
    dedupe=$(grep -c "Same content transcribed before" "$dir/log" || true)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$what" "$stopped" "$rc" \
        "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')" "$warn" "$dedupe" >>"$NOTES"
    if [[ $warn != 0 ]]; then
        grep -E '^[^ ]+ (warning|error|critical) ' "$dir/log" | head -5 | sed "s|^|    [$what] |" >>"$ROOT/warnings"
    fi
}

LAT=$ROOT/latency.tsv
BURSTS=$ROOT/bursts.jsonl
: >"$LAT"; : >"$BURSTS"; : >"$NOTES"; : >"$ROOT/warnings"

# ---- 1. latency: both services side by side, drops alternating between them
latency() {
    local settle=$1 n=$2 tag=$3 i p
    i=$(new_run "lat-$tag-inotify"); p=$(new_run "lat-$tag-poll")
    python3 "$HELPER" make --src "$AUDIO" --seconds 0.5 --out "$i/stage" --prefix "i$tag-" --count "$n"
    python3 "$HELPER" make --src "$AUDIO" --seconds 0.5 --out "$p/stage" --prefix "p$tag-" --count "$n"
    start_svc "$i" inotify "$settle"
    start_svc "$p" poll "$settle"
    echo "latency, settle $settle s: $n drops per watcher..." >&2
    python3 "$HELPER" latency --count "$n" --settle "$settle" --out "$LAT" \
        --svc "inotify:$i/stage:$i/in:$i/queue.sqlite" --svc "poll:$p/stage:$p/in:$p/queue.sqlite" \
        || echo "  (some latency drops misbehaved; see above)" >&2
    stop_svc "$i" "latency, settle $settle, inotify"
    stop_svc "$p" "latency, settle $settle, polling"
}
latency "$SETTLE" "$N" s1
if ((N_FAST > 0)); then latency "$SETTLE_FAST" "$N_FAST" s2; fi

# ---- 2. burst: one service at a time, alternating inotify / polling
burst() {
    local label=$1 run=$2 d res ver
    d=$(new_run "burst-$label-$run")
    python3 "$HELPER" make --src "$AUDIO" --seconds 0.5 --out "$d/stage" --prefix "$label$run-" --count "$BURST" --identical
    start_svc "$d" "$label" "$SETTLE"
    echo "burst $run, $label: $BURST files..." >&2
    res=$(python3 "$HELPER" burst --stage "$d/stage" --inbox "$d/in" --db "$d/queue.sqlite" --names "$d/names")
    stop_svc "$d" "burst $run, $([[ $label == poll ]] && echo polling || echo inotify)"
    ver=$(python3 "$HELPER" verify --names "$d/names" --db "$d/queue.sqlite" --inbox "$d/in" --outbox "$d/out" \
        --processed "$d/processed" --failed "$d/failed")
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(label=sys.argv[3], run=int(sys.argv[4]),
settle=float(sys.argv[5]), verify=json.loads(sys.argv[2])); print(json.dumps(r))' \
        "$res" "$ver" "$label" "$run" "$SETTLE" >>"$BURSTS"
}
for ((r = 1; r <= BURST_ROUNDS; r++)); do
    if ((r % 2)); then burst inotify "$r"; burst poll "$r"; else burst poll "$r"; burst inotify "$r"; fi
done

# ---- report
python3 "$HELPER" report --latency "$LAT" --burst "$BURSTS" --burst-note \
    "Burst content: $BURST identical 0.5 s WAVs, so one is transcribed and the rest reuse its stored result (dedupe by SHA-256); distinct files would add ~0.3 s of decoding each. Rounds alternate watchers (inotify first in odd rounds, polling first in even ones)."
echo
echo "### Service behaviour"
echo
echo "Every run stopped with SIGTERM; warnings/errors counted from the service log; dedupe hits = \"Same content transcribed before\" log lines (expected 0 in latency runs, $((BURST - 1)) per burst)."
echo
echo "| run | stopped on SIGTERM | exit status | stop took (s) | log warnings/errors | dedupe hits |"
echo "|---|---|---|---|---|---|"
cat "$NOTES"
if [[ -s $ROOT/warnings ]]; then echo; echo "First warnings/errors:"; echo; cat "$ROOT/warnings"; fi
echo
END=$(date +%s)
echo "Machine: $(nproc) cores ($(uname -m)), $(date -u '+%Y-%m-%d %H:%M UTC'); settle ${SETTLE} s (the default) for all runs, also ${SETTLE_FAST} s for latency; latency N=${N} (settle ${SETTLE}) and N=${N_FAST} (settle ${SETTLE_FAST}) per watcher, burst ${BURST} files x ${BURST_ROUNDS} rounds per watcher; benchmark took $((END - START)) s."
