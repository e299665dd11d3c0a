#!/usr/bin/env bash
# kill -9 soak of several `hearingai watch` nodes on one PostgreSQL queue and one shared inbox
# (issue 17): nothing lost, nothing twice, resumed transcripts identical to a clean run's, while
# nodes are killed and restarted under the files and PostgreSQL itself is restarted mid-run.
#
# It makes PER_LENGTH distinct WAV files of each length in LENGTHS (as soak-kill.sh does),
# transcribes each once with `hearingai transcribe` (the clean run), starts a throwaway
# PostgreSQL cluster and NODES nodes (n1, n2, …) on shared directories with a short lease
# (LEASE s), and then, KILLS times: drops the next FILES_PER_CYCLE files into the inbox at a
# random moment of a random KILL_MIN..KILL_MAX s wait, kills a random node with SIGKILL at its
# end, and restarts it
# RESTART_MIN..RESTART_MAX s later (so its jobs are taken back by a live node when its lease
# expires, or by itself on restart, whichever comes first). At the kill numbered PG_RESTART_AT
# the PostgreSQL server is restarted as well (fast: every session is cut). Then it waits until
# every file is in processed/ or failed/ and the queue is idle (or FINAL_TIMEOUT s pass) and
# stops the nodes with SIGTERM.
#
# The table: files dropped, completed (source in processed/ with one output set), lost,
# duplicated (two output sets), quarantined (in failed/), kill -9 points, jobs taken back from a
# dead holder (by a node's sweep: "Requeued a job its dead owner left running"), leases lost
# (a node that found its job taken: "Lease lost"), sources intact, transcripts identical to the
# clean run (all, and those taken back at least once), and the lister changes.
#
# Needs: the PostgreSQL server binaries (Debian: postgresql), flite, sox, python3, and a
# release build (`make build`). The binary is copied first.
#
#   scripts/soak-cluster.sh                                     (~20 minutes on 2 cores)
#   NODES=3 KILLS=24 PER_LENGTH=15 LENGTHS="5 30" LEASE=6 PG_RESTART_AT=12 SEED=17 KEEP=1 scripts/soak-cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-3}
KILLS=${KILLS:-24}
PER_LENGTH=${PER_LENGTH:-15}
LENGTHS=${LENGTHS:-"5 30"}
KILL_MIN=${KILL_MIN:-3}
KILL_MAX=${KILL_MAX:-15}
RESTART_MIN=${RESTART_MIN:-0}
RESTART_MAX=${RESTART_MAX:-10}
FILES_PER_CYCLE=${FILES_PER_CYCLE:-2}
LEASE=${LEASE:-6}
PG_RESTART_AT=${PG_RESTART_AT:-$(( (KILLS + 1) / 2 ))}
SETTLE=${SETTLE:-0.5}
FINAL_TIMEOUT=${FINAL_TIMEOUT:-1800}
SEED=${SEED:-17}
BIN_SRC=${HEARINGAI_BIN:-.build/release/hearingai}

for tool in flite sox soxi python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install flite sox python3)" >&2; exit 1; }
done
[[ -x $BIN_SRC ]] || { echo "build first: make build" >&2; exit 1; }

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/soak-cluster.XXXXXX")
chmod 755 "$ROOT"
BIN=$ROOT/hearingai
cp "$BIN_SRC" "$BIN"
SVC=$ROOT/svc
mkdir -p "$SVC"/{stage,inbox,outbox,processed,failed} "$ROOT/files" "$ROOT/clean" "$ROOT/logs"
export HEARINGAI_TEST_PG_DIR=$ROOT/pg HEARINGAI_TEST_PG_PORT=${PG_PORT:-55498}
declare -A PID RUNS

cleanup() {
    for node in "${!PID[@]}"; do kill -TERM "${PID[$node]}" 2>/dev/null || true; done
    for node in "${!PID[@]}"; do wait "${PID[$node]}" 2>/dev/null || true; done
    scripts/test-postgres.sh stop >/dev/null 2>&1 || true
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $ROOT" >&2; else rm -rf "$ROOT"; fi
}
trap cleanup EXIT

RANDOM=$SEED
source "$(dirname "$0")/lib/speech-files.sh"
random_between() { calc "$1 + ($2 - $1) * $(( RANDOM % 10001 )) / 10000"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------- files and the clean run
soak_files_and_clean_run

# ---------------------------------------------------------------- the cluster
scripts/test-postgres.sh start >/dev/null
URL=$(scripts/test-postgres.sh url | sed 's|/postgres?|/soak?|')
PSQL=("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -X -q -A -t -v ON_ERROR_STOP=1)
[[ $(id -u) = 0 ]] && PSQL=(runuser -u postgres -- "${PSQL[@]}")
sql() { "${PSQL[@]}" -h "$ROOT/pg/socket" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$1" -c "$2"; }
sql postgres "CREATE DATABASE soak" >/dev/null
chmod -R 777 "$SVC"

start_node() {
    local node=$1
    RUNS[$node]=$(( ${RUNS[$node]:-0} + 1 ))
    HEARINGAI_LEASE_SECONDS=$LEASE "$BIN" watch --database "$URL" --node-name "$node" --inbox "$SVC/inbox" \
        --outbox "$SVC/outbox" --processed "$SVC/processed" --failed "$SVC/failed" --settle-seconds "$SETTLE" --verbose \
        >/dev/null 2>"$ROOT/logs/$node-run$(printf %03d "${RUNS[$node]}").stderr" &
    PID[$node]=$!
}

NEXT=0
drop_next() {
    local n
    for (( n = 0; n < FILES_PER_CYCLE && NEXT < TOTAL; n++ )); do
        cp "$ROOT/files/${FILES[$NEXT]}" "$SVC/stage/"
        mv "$SVC/stage/${FILES[$NEXT]}" "$SVC/inbox/"
        NEXT=$(( NEXT + 1 ))
    done
}

for n in $(seq "$NODES"); do start_node "n$n"; done
SOAK_START=$(date +%s)
log "soak: $NODES nodes, $KILLS kill -9 points ${KILL_MIN}-${KILL_MAX} s apart, PostgreSQL restarted at kill $PG_RESTART_AT"
for cycle in $(seq 1 "$KILLS"); do
    # Files go in at a random moment before the kill, so that most kills find work in flight.
    delay=$(random_between "$KILL_MIN" "$KILL_MAX")
    before=$(random_between 0 "$delay")
    sleep "$before"
    drop_next
    sleep "$(calc "max(0, $delay - $before)")"
    victim=n$(( RANDOM % NODES + 1 ))
    kill -KILL "${PID[$victim]}" 2>/dev/null || true
    wait "${PID[$victim]}" 2>/dev/null || true
    if (( cycle == PG_RESTART_AT )); then
        scripts/test-postgres.sh restart >/dev/null
        log "kill $cycle/$KILLS: $victim, and PostgreSQL restarted (dropped $NEXT/$TOTAL)"
    else
        log "kill $cycle/$KILLS: $victim (dropped $NEXT/$TOTAL)"
    fi
    sleep "$(random_between "$RESTART_MIN" "$RESTART_MAX")"
    start_node "$victim"
done
FILES_PER_CYCLE=$TOTAL
drop_next
log "final: waiting until all $TOTAL files are in processed/ or failed/"
deadline=$(( $(date +%s) + FINAL_TIMEOUT ))
while (( $(date +%s) < deadline )); do
    done_count=$(find "$SVC/processed" "$SVC/failed" -maxdepth 1 -name '*.wav' 2>/dev/null | wc -l)
    busy=$(sql soak "SELECT count(*) FROM job WHERE state IN ('queued', 'running')" 2>/dev/null || echo 1)
    (( done_count >= TOTAL && busy == 0 )) && break
    sleep 1
done
sleep 2
STOP_STATUS=0
for node in "${!PID[@]}"; do kill -TERM "${PID[$node]}" 2>/dev/null || true; done
for node in "${!PID[@]}"; do wait "${PID[$node]}" || STOP_STATUS=$?; done
PID=()
SOAK_SECONDS=$(( $(date +%s) - SOAK_START ))
sql soak "SELECT convert_from(name, 'UTF8'), state, attempts, coalesce(node, '-') FROM job ORDER BY id" > "$ROOT/jobs.txt"

# ---------------------------------------------------------------- the tally
python3 - "$ROOT" "$KILLS" "$SOAK_SECONDS" "$CLEAN_SECONDS" "$STOP_STATUS" "$AUDIO" "$NODES" <<'PY'
import glob, hashlib, os, re, sys

root, kills, soak_seconds, clean_seconds, stop_status, audio, nodes = sys.argv[1:8]
svc = os.path.join(root, "svc")
files = sorted(os.listdir(os.path.join(root, "files")))
sha = lambda path: hashlib.sha256(open(path, "rb").read()).hexdigest()
names = lambda d: set(os.listdir(os.path.join(svc, d)))
processed, failed, outbox = names("processed"), names("failed"), names("outbox")
jobs = [line.split("|") for line in open(os.path.join(root, "jobs.txt")).read().splitlines() if line]
by_name = {}
for name, state, attempts, node in jobs:
    by_name.setdefault(name, []).append((state, attempts, node))
busy = sum(1 for _, state, _, _ in jobs if state in ("queued", "running"))

text = "".join(open(p, errors="replace").read() for p in sorted(glob.glob(os.path.join(root, "logs", "n*.stderr"))))
lines = text.splitlines()
requeued = [l for l in lines if "Requeued a job its dead owner left running" in l]
resumed = {m.group(1) for l in requeued for m in [re.search(r"file\.name=(\S+)", l)] if m}
leases_lost = [l for l in lines if "Lease lost" in l]
listings = [l for l in lines if "Listing the shared inbox" in l]

completed, lost, duplicated, quarantined, intact, identical, identical_resumed = [], [], [], [], 0, 0, 0
for name in files:
    stem = name[:-4]
    sets = [o for o in outbox if o.endswith(".txt") and (o == stem + ".txt" or o.startswith(stem + " ("))]
    if len(sets) > 1 or len(by_name.get(name, [])) > 1:
        duplicated.append(name)
    if name in processed:
        completed.append(name)
        intact += sha(os.path.join(svc, "processed", name)) == sha(os.path.join(root, "files", name))
        out = os.path.join(svc, "outbox", stem + ".txt")
        same = os.path.exists(out) and open(out, "rb").read() == open(os.path.join(root, "clean", stem + ".txt"), "rb").read()
        identical += same
        identical_resumed += same and name in resumed
    elif name in failed:
        quarantined.append(name)
    else:
        lost.append(name)
resumed_completed = len([n for n in completed if n in resumed])
per_node = {}
for _, state, _, node in jobs:
    if state == "done":
        per_node[node] = per_node.get(node, 0) + 1

print(f"\nsoak: {root}  ({nodes} nodes; soak {soak_seconds} s, clean run {clean_seconds} s, {audio} s of audio)")
print(f"final SIGTERM exit status: {stop_status}; jobs: {len(jobs)}, still queued or running: {busy}; done by node: "
      + ", ".join(f"{k} {v}" for k, v in sorted(per_node.items())) + "\n")
print("| nodes | files dropped | completed | lost | duplicated | quarantined | kill -9 points | jobs taken back from a dead holder | leases lost | inbox lister changes | sources intact | transcripts = clean run | taken-back ones = clean |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {nodes} | {len(files)} | {len(completed)} | {len(lost)} | {len(duplicated)} | {len(quarantined)} | {kills} + PostgreSQL restart | {len(requeued)} | {len(leases_lost)} | {len(listings)} | {intact}/{len(completed)} | {identical}/{len(completed)} | {identical_resumed}/{resumed_completed} |")
for label, items in [("lost", lost), ("duplicated", duplicated), ("quarantined", quarantined)]:
    for name in items:
        print(f"{label}: {name} (jobs: {by_name.get(name)})")
for name in completed:
    out = os.path.join(svc, "outbox", name[:-4] + ".txt")
    if not os.path.exists(out) or open(out, "rb").read() != open(os.path.join(root, "clean", name[:-4] + ".txt"), "rb").read():
        print(f"differs from the clean run: {name}")
PY
