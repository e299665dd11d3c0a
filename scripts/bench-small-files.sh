#!/usr/bin/env bash
# Many small files through `hearingai watch`, against a loop of `pocketsphinx_continuous`.
#
# For each duration (0.5 s, 5 s, 30 s; separate rounds) it makes N distinct WAV files (flite
# speech in several voices and texts, 16 kHz mono, cut or padded to the duration, then padded
# with a few samples more per file so every SHA-256 differs and the service's result store
# never answers for a file), starts a fresh service (fresh directories and database), renames
# all N files into its inbox at once and times until all N sources are in processed/. Then it
# waits for the service to log that the idle decoders were released (idle_release_seconds,
# IDLE below), samples the resident size from /proc/PID/status every 100 ms throughout, and
# stops the service with SIGTERM. The baseline is `pocketsphinx_continuous -infile F` on the
# same files, one process per file, one after the other (it loads its model every time); and
# the engine warm, `pocketsphinx_batch` over the same files (the model loaded once): the CPU a
# file costs the raw engine, the floor under the service's own CPU per file. "CPU ÷ warm
# engine's" is the service's CPU per file over that floor (diarization, hashing, queue,
# outputs and the chunk overlap make up the rest).
#
# Figures: files/s and audio seconds/s (wall time from the rename to the last source in
# processed/, so it includes the settle time and intake), the service's peak RSS against the
# memory limit, RSS when the last file is done and after the idle release, and the decoder
# count and engine load time the service logged. The memory trace of each round (seconds, RSS
# MB) is kept under $ROOT with KEEP=1.
#
# Needs: flite, sox, pocketsphinx_continuous (Debian: flite, sox, pocketsphinx), python3, and a
# release build (`swift build -c release`). The binary is copied first.
#
#   scripts/bench-small-files.sh
#   N_SHORT=200 N_MEDIUM=200 N_LONG=20 IDLE=10 MEMORY_LIMIT=400 KEEP=1 scripts/bench-small-files.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N_SHORT=${N_SHORT:-200}      # 0.5 s files
N_MEDIUM=${N_MEDIUM:-200}    # 5 s files
N_LONG=${N_LONG:-20}         # 30 s files (200 take about half an hour on 2 cores; say so)
IDLE=${IDLE:-10}             # idle_release_seconds for the service
SETTLE=${SETTLE:-0.5}        # settle_seconds for the service
MEMORY_LIMIT=${MEMORY_LIMIT:-400}
BASELINE=${BASELINE:-1}      # 0: skip the pocketsphinx_continuous loop
BIN_SRC=${HEARINGAI_BIN:-.build/release/hearingai}

for tool in flite sox pocketsphinx_continuous pocketsphinx_batch python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
[[ -x $BIN_SRC ]] || { echo "build first: swift build -c release" >&2; exit 1; }

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/bench-small-files.XXXXXX")
BIN=$ROOT/hearingai
cp "$BIN_SRC" "$BIN"
SERVICE_PID=
SAMPLER_PID=

cleanup() {
    [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
    if [[ -n $SERVICE_PID ]]; then
        kill -TERM "$SERVICE_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVICE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVICE_PID" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $ROOT" >&2; else rm -rf "$ROOT"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
source "$(dirname "$0")/lib/speech-files.sh"

# make DIR COUNT SECONDS: COUNT distinct 16 kHz mono WAV files of SECONDS (+ a few samples).
make_files() {
    local dir=$1 count=$2 seconds=$3 i
    mkdir -p "$dir"
    for i in $(seq 1 "$count"); do
        SPEECH_CACHE=$ROOT/base speech_file $(( i % ${#VOICES[@]} )) $(( (i / ${#VOICES[@]}) % ${#TEXTS[@]} )) "$seconds" "$i" \
            "$dir/f$(printf %04d "$i").wav"
    done
}

# sample PID FILE: "unix_seconds rss_kb" every 100 ms while PID lives (no python here: the
# sampler must not load the machine it measures).
sample() {
    local pid=$1 out=$2
    while kill -0 "$pid" 2>/dev/null; do
        echo "$(now) $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)" >> "$out"
        sleep 0.1
    done
}

# round LABEL SECONDS COUNT: one service run; prints a table row.
round() {
    local label=$1 seconds=$2 count=$3
    local dir=$ROOT/$label files=$ROOT/$label/files
    make_files "$files" "$count" "$seconds"
    mkdir -p "$dir/svc/stage"
    cp "$files"/*.wav "$dir/svc/stage/"
    HEARINGAI_IDLE_RELEASE_SECONDS=$IDLE "$BIN" watch --inbox "$dir/svc/inbox" --outbox "$dir/svc/outbox" \
        --processed "$dir/svc/processed" --failed "$dir/svc/failed" --database "$dir/svc/queue.sqlite" \
        --settle-seconds "$SETTLE" --memory-limit "$MEMORY_LIMIT" --verbose > "$dir/stdout" 2> "$dir/stderr" &
    SERVICE_PID=$!
    for _ in $(seq 300); do grep -q "Watching the inbox" "$dir/stderr" && break; sleep 0.1; done
    sample "$SERVICE_PID" "$dir/rss.tsv" &
    SAMPLER_PID=$!
    local start end done_at cpu0 cpu1
    cpu0=$(awk '{print $14 + $15}' "/proc/$SERVICE_PID/stat")
    start=$(now)
    mv "$dir/svc/stage"/*.wav "$dir/svc/inbox/"
    while (( $(find "$dir/svc/processed" -maxdepth 1 -name '*.wav' | wc -l) < count )); do
        if ! kill -0 "$SERVICE_PID" 2>/dev/null; then echo "the service exited; see $dir/stderr" >&2; exit 1; fi
        sleep 0.05
    done
    end=$(now)
    cpu1=$(awk '{print $14 + $15}' "/proc/$SERVICE_PID/stat")
    done_at=$(calc "round($end - $start, 2)")
    local rss_done
    rss_done=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVICE_PID/status")
    for _ in $(seq $(( (IDLE + 20) * 10 ))); do grep -q "decoders released" "$dir/stderr" && break; sleep 0.1; done
    sleep 0.5
    local rss_idle released
    rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVICE_PID/status")
    released=$(grep -m1 "decoders released" "$dir/stderr" | grep -o 'idle.seconds=[0-9.]*' || echo "not released")
    kill -TERM "$SERVICE_PID"; wait "$SERVICE_PID" || true; SERVICE_PID=
    kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=

    local failed peak created load
    failed=$(find "$dir/svc/failed" -maxdepth 1 -name '*.wav' | wc -l)
    peak=$(sort -k2 -n "$dir/rss.tsv" | tail -1 | awk '{printf "%.0f", $2 / 1024}')
    # The trace as seconds since the drop and RSS MB.
    awk -v t0="$start" '{printf "%.2f\t%.1f\n", $1 - t0, $2 / 1024}' "$dir/rss.tsv" > "$dir/memory-trace.tsv"
    created=$(grep "Transcript written" "$dir/stderr" | grep -o 'decoders.created=[0-9]*' | tail -1 | cut -d= -f2)
    load=$(grep "Transcript written" "$dir/stderr" | grep -o 'engine.load_seconds=[0-9.]*' | cut -d= -f2 | python3 -c 'import sys; print(round(sum(float(x) for x in sys.stdin), 2))')
    local ps_line="skipped" batch_line="skipped" batch_cpu=""
    if [[ $BASELINE == 1 ]]; then
        local ps_secs ps_cpu
        /usr/bin/time -f "%e %U %S" -o "$dir/baseline.time" bash -c \
            'for f in "$@"; do pocketsphinx_continuous -infile "$f" -logfn /dev/null > /dev/null; done' _ "$files"/*.wav
        read -r ps_secs ps_user ps_sys < "$dir/baseline.time"
        ps_cpu=$(calc "round(($ps_user + $ps_sys) / $count, 3)")
        ps_line="$(calc "round($count / $ps_secs, 2)") files/s, $(calc "round($count * $seconds / $ps_secs, 1)") audio s/s, CPU $ps_cpu s/file"
        # The engine warm: pocketsphinx_batch loads the model once and decodes every file.
        (cd "$files" && ls ./*.wav | sed 's|^\./||; s|\.wav$||') > "$dir/batch.ctl"
        /usr/bin/time -f "%e %U %S" -o "$dir/batch.time" pocketsphinx_batch -adcin yes -adchdr 44 -cepdir "$files" \
            -cepext .wav -ctl "$dir/batch.ctl" -hyp "$dir/batch.hyp" -logfn /dev/null
        local b_secs b_user b_sys
        read -r b_secs b_user b_sys < "$dir/batch.time"
        batch_cpu=$(calc "round(($b_user + $b_sys) / $count, 3)")
        batch_line="$(calc "round($count / $b_secs, 2)") files/s, CPU $batch_cpu s/file"
    fi
    local service_cpu ratio="-"
    service_cpu=$(calc "round(($cpu1 - $cpu0) / $(getconf CLK_TCK) / $count, 3)")
    [[ -n $batch_cpu ]] && ratio=$(calc "round($service_cpu / $batch_cpu, 2)")
    printf '| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s / %s MB | %s MB → %s MB (%s) | %s | %s |\n' \
        "$label" "$count" "$done_at" "$(calc "round($count / $done_at, 2)")" "$(calc "round($count * $seconds / $done_at, 1)")" \
        "$service_cpu" "$ratio" "${created:-?}" "$load" "$peak" "$MEMORY_LIMIT" "$(calc "round($rss_done / 1024)")" \
        "$(calc "round($rss_idle / 1024)")" "$released" "$ps_line" "$batch_line"
    (( failed == 0 )) || echo "warning: $failed files failed in round $label (see $dir/stderr)" >&2
    grep "File timings" "$dir/stderr" > "$dir/timings.log" || true
}

echo "hearingai watch on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "settle ${SETTLE} s, memory limit ${MEMORY_LIMIT} MB, idle_release_seconds ${IDLE}"
echo
echo "| files | N | wall s | files/s | audio s/s | service CPU s/file | CPU ÷ warm engine's | decoders created | engine load s (sum) | peak RSS / limit | RSS done → after idle release | pocketsphinx_continuous loop | pocketsphinx_batch (warm) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
(( N_SHORT > 0 )) && round 0.5s 0.5 "$N_SHORT"
(( N_MEDIUM > 0 )) && round 5s 5 "$N_MEDIUM"
(( N_LONG > 0 )) && round 30s 30 "$N_LONG"
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ ${KEEP:-0} == 1 ]]; then
    # Median time of each per-file phase in the 0.5 s round (the service's debug "File timings").
    python3 - "$ROOT/0.5s/timings.log" <<'EOF' || true
import re, statistics, sys
phases = {}
for line in open(sys.argv[1]):
    for name, ms in re.findall(r"time\.(\w+)_ms=([0-9.]+)", line):
        phases.setdefault(name, []).append(float(ms))
print("| phase (0.5 s files) | median ms | max ms |")
print("|---|---|---|")
for name, values in phases.items():
    print(f"| {name} | {statistics.median(values):.1f} | {max(values):.1f} |")
EOF
fi
