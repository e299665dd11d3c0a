#!/usr/bin/env bash
# kill -9 soak for `hearingai watch` (issue 12): nothing lost, nothing twice, no good file
# quarantined, and resumed transcripts identical to a clean run's.
#
# It makes PER_LENGTH distinct WAV files of each length in LENGTHS (flite speech in four voices
# and eight texts, repeated and cut to the length, 16 kHz mono, plus i samples of silence so
# every SHA-256 differs and the result store never answers), transcribes each once with
# `hearingai transcribe` (the clean run: same defaults as the service, a fresh cache), and then
# runs one service (release build, default max_attempts and chunking, settle SETTLE s) on fresh
# directories through KILLS cycles of:
#
#   start `hearingai watch`; wait for "Watching the inbox"; after a random delay, rename the
#   next few files into the inbox; at a random moment KILL_MIN..KILL_MAX s after the start,
#   SIGKILL it (the moment falls wherever it falls: startup, intake, model load, decoding,
#   writing outputs, moving the source, idle); wait for it to be gone.
#
# Files are spread over the first cycles (FILES_PER_CYCLE at a time, shuffled), so that most
# kills find work. Then one last start runs until every dropped file is in processed/ or
# failed/ and the queue is idle (or FINAL_TIMEOUT s pass), and is stopped with SIGTERM.
#
# The table: files dropped, completed (source in processed/ with one output set), lost (neither
# in processed/ nor failed/, nor still queued), duplicated (more than one output set for a
# file), quarantined (in failed/), kill -9 points, how many kills caught a file mid-transcription
# (from the restarts' "Requeued a job its dead owner left running": with new chunks finished, not
# counted; without, counted), sources in processed/ byte-identical to what was dropped, and
# transcripts (txt) identical to the clean run's, for all files and for those resumed after a
# kill.
#
# Needs: flite, sox, python3 (standard library only), and a release build
# (`swift build -c release`). The binary is copied first, so a rebuild during the soak does
# not change what runs.
#
#   scripts/soak-kill.sh                               (~30 minutes on 2 cores)
#   KILLS=50 PER_LENGTH=16 LENGTHS="2 15 60" KILL_MIN=2 KILL_MAX=30 SEED=12 KEEP=1 scripts/soak-kill.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${KILLS:-50}                 # kill -9 points (each followed by a restart)
PER_LENGTH=${PER_LENGTH:-16}       # distinct files of each length
LENGTHS=${LENGTHS:-"2 15 60"}      # seconds
KILL_MIN=${KILL_MIN:-2}            # a kill comes KILL_MIN..KILL_MAX s after the service is up
KILL_MAX=${KILL_MAX:-30}
FILES_PER_CYCLE=${FILES_PER_CYCLE:-1}
SETTLE=${SETTLE:-0.5}
FINAL_TIMEOUT=${FINAL_TIMEOUT:-1800}
SEED=${SEED:-12}
BIN_SRC=${HEARINGAI_BIN:-.build/release/hearingai}

for tool in flite sox soxi python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install flite sox python3)" >&2; exit 1; }
done
[[ -x $BIN_SRC ]] || { echo "build first: swift build -c release" >&2; exit 1; }

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/soak-kill.XXXXXX")
BIN=$ROOT/hearingai
cp "$BIN_SRC" "$BIN"
SVC=$ROOT/svc
mkdir -p "$SVC/stage" "$ROOT/files" "$ROOT/clean" "$ROOT/logs"
SERVICE_PID=

cleanup() {
    if [[ -n $SERVICE_PID ]]; then
        kill -TERM "$SERVICE_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVICE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVICE_PID" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $ROOT" >&2; else rm -rf "$ROOT"; fi
}
trap cleanup EXIT

RANDOM=$SEED
# A random number of seconds in [lo, hi], to 0.01 s.
random_between() { calc "$1 + ($2 - $1) * $(( RANDOM % 10001 )) / 10000"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

source "$(dirname "$0")/lib/speech-files.sh"

# ---------------------------------------------------------------- files and the clean run
soak_files_and_clean_run

# ---------------------------------------------------------------- the soak
start_service() {
    local run=$1
    "$BIN" watch --inbox "$SVC/inbox" --outbox "$SVC/outbox" --processed "$SVC/processed" --failed "$SVC/failed" \
        --database "$SVC/queue.sqlite" --settle-seconds "$SETTLE" --verbose \
        > "$ROOT/logs/run$(printf %03d "$run").stdout" 2> "$ROOT/logs/run$(printf %03d "$run").stderr" &
    SERVICE_PID=$!
    for _ in $(seq 600); do
        grep -q "Watching the inbox" "$ROOT/logs/run$(printf %03d "$run").stderr" 2>/dev/null && return 0
        kill -0 "$SERVICE_PID" 2>/dev/null || { log "run $run exited before it was up"; return 1; }
        sleep 0.05
    done
    log "run $run: not up after 30 s"
    return 1
}

drop_next() {
    local n
    for (( n = 0; n < FILES_PER_CYCLE && NEXT < TOTAL; n++ )); do
        cp "$ROOT/files/${FILES[$NEXT]}" "$SVC/stage/"
        mv "$SVC/stage/${FILES[$NEXT]}" "$SVC/inbox/"
        NEXT=$(( NEXT + 1 ))
    done
}

NEXT=0
SOAK_START=$(date +%s)
log "soak: $KILLS kill -9 points, each ${KILL_MIN}-${KILL_MAX} s after a start"
for cycle in $(seq 1 "$KILLS"); do
    start_service "$cycle"
    delay=$(random_between "$KILL_MIN" "$KILL_MAX")
    before=$(random_between 0 "$delay")
    sleep "$before"
    drop_next
    sleep "$(calc "max(0, $delay - $before)")"
    kill -KILL "$SERVICE_PID"
    wait "$SERVICE_PID" 2>/dev/null || true
    while [[ -e /proc/$SERVICE_PID ]]; do sleep 0.02; done
    SERVICE_PID=
    log "kill $cycle/$KILLS at ${delay} s (dropped $NEXT/$TOTAL)"
done
# Anything not yet dropped goes in now.
FILES_PER_CYCLE=$TOTAL

FINAL=$(( KILLS + 1 ))
start_service "$FINAL"
drop_next
log "final run: waiting until all $TOTAL files are in processed/ or failed/"
deadline=$(( $(date +%s) + FINAL_TIMEOUT ))
while (( $(date +%s) < deadline )); do
    done_count=$(find "$SVC/processed" "$SVC/failed" -maxdepth 1 -name '*.wav' 2>/dev/null | wc -l)
    busy=$(python3 -c "
import sqlite3
db = sqlite3.connect('file:$SVC/queue.sqlite?mode=ro', uri=True, timeout=10)
print(db.execute(\"SELECT count(*) FROM job WHERE state IN ('queued', 'running')\").fetchone()[0])")
    (( done_count >= TOTAL && busy == 0 )) && break
    sleep 1
done
sleep 2
kill -TERM "$SERVICE_PID"
STOP_STATUS=0
wait "$SERVICE_PID" || STOP_STATUS=$?
SERVICE_PID=
SOAK_SECONDS=$(( $(date +%s) - SOAK_START ))

# ---------------------------------------------------------------- the tally
python3 - "$ROOT" "$KILLS" "$SOAK_SECONDS" "$CLEAN_SECONDS" "$STOP_STATUS" "$AUDIO" <<'EOF'
import glob, hashlib, os, re, sqlite3, sys

root, kills, soak_seconds, clean_seconds, stop_status, audio = sys.argv[1:7]
svc = os.path.join(root, "svc")
files = sorted(os.listdir(os.path.join(root, "files")))
sha = lambda path: hashlib.sha256(open(path, "rb").read()).hexdigest()

def names(directory):
    path = os.path.join(svc, directory)
    return set(os.listdir(path)) if os.path.isdir(path) else set()

processed, failed, outbox = names("processed"), names("failed"), names("outbox")
db = sqlite3.connect(f"file:{svc}/queue.sqlite?mode=ro", uri=True)
jobs = {bytes(n).decode(): (s, a) for n, s, a in db.execute("SELECT name, state, attempts FROM job")}
job_rows = db.execute("SELECT count(*) FROM job").fetchone()[0]
queued = db.execute("SELECT count(*) FROM job WHERE state IN ('queued', 'running')").fetchone()[0]

logs = sorted(glob.glob(os.path.join(root, "logs", "run*.stderr")))
text = "".join(open(p, errors="replace").read() for p in logs)
requeued = [l for l in text.splitlines() if "Requeued a job its dead owner left running" in l]
not_counted = [l for l in requeued if "attempt.counted=false" in l]
counted = [l for l in requeued if "attempt.counted=true" in l]
resumed = {m.group(1) for l in requeued for m in [re.search(r"file\.name=(\S+)", l)] if m}
warnings = [l for l in text.splitlines() if " error " in l.lower() or l.startswith("error")]

completed, lost, duplicated, quarantined, intact, identical, identical_resumed = [], [], [], [], 0, 0, 0
for name in files:
    stem = name[:-4]
    sets = [o for o in outbox if o.endswith(".txt") and (o == stem + ".txt" or o.startswith(stem + " ("))]
    if len(sets) > 1 or any(" (" in o for o in sets):
        duplicated.append(name)
    if name in processed:
        completed.append(name)
        if sha(os.path.join(svc, "processed", name)) == sha(os.path.join(root, "files", name)):
            intact += 1
        out = os.path.join(svc, "outbox", stem + ".txt")
        clean = os.path.join(root, "clean", stem + ".txt")
        same = os.path.exists(out) and open(out, "rb").read() == open(clean, "rb").read()
        identical += same
        identical_resumed += same and name in resumed
    elif name in failed:
        quarantined.append(name)
    else:
        lost.append(name)
resumed_completed = len([n for n in completed if n in resumed])

print(f"\nsoak: {root}  (soak {soak_seconds} s, clean run {clean_seconds} s, {audio} s of audio)")
print(f"final SIGTERM exit status: {stop_status}; jobs in the queue: {job_rows}, still queued or running: {queued}\n")
print("| files dropped | completed | lost | duplicated (two output sets) | quarantined | kill -9 points | kills mid-file: attempt not counted (progress) / counted (none) | sources intact in processed/ | transcripts identical to a clean run | resumed ones identical |")
print("|---|---|---|---|---|---|---|---|---|---|")
print(f"| {len(files)} | {len(completed)} | {len(lost)} | {len(duplicated)} | {len(quarantined)} | {kills} | {len(not_counted)} / {len(counted)} | {intact} of {len(completed)} | {identical} of {len(completed)} | {identical_resumed} of {resumed_completed} |")
for label, items in [("lost", lost), ("duplicated", duplicated), ("quarantined", quarantined)]:
    for name in items:
        print(f"{label}: {name} (job: {jobs.get(name)})")
if identical < len(completed):
    for name in completed:
        out = os.path.join(svc, "outbox", name[:-4] + ".txt")
        if not os.path.exists(out) or open(out, "rb").read() != open(os.path.join(root, "clean", name[:-4] + ".txt"), "rb").read():
            print(f"differs from the clean run: {name}")
EOF
