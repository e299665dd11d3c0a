#!/usr/bin/env bash
# Several `hearingai watch` nodes on one PostgreSQL queue (docs/scaling.md).
#
# 1. Claim latency: one idle node; ROWS jobs are inserted straight into the queue with psql, as
#    another node's intake would queue them, at random moments 0.3-1.3 s apart; latency is the
#    node's claim time (started_at) minus the insert time (created_at, the database's
#    clock_timestamp(); one machine, one clock). The jobs name work directories that do not
#    exist, so each is claimed, found without a source and failed at once: only the wake-up is
#    timed. Modes: LISTEN/NOTIFY (the default) against `--poll-only`, the polling reference.
# 2. Queue-only throughput: JOBS jobs inserted at once with trivial work (their work directories
#    do not exist, so each is claimed, found without a source and failed), for 1, 2 and 4 nodes:
#    jobs/s from the insert to the last one failed, as a ratio to one node.
# 3. Kill to resume: two nodes, a 60 s file with 5 s chunks; when a chunk is done the holder is
#    killed with kill -9 (not restarted) and the time until the other node holds the job is
#    taken, for leases of LEASES s: the lease (a live node waits for it) plus up to one 2 s sweep.
# 4. Throughput: FILES distinct speech files of SECONDS s dropped at once into the shared inbox
#    of 1, 2, ... NODES nodes (one decoding worker each: `--max-workers 1`); wall time from the
#    drop to the last source in processed/, as a ratio to one node. Every file must be
#    transcribed exactly once: the table says so per round. Also what the database sees: its
#    transactions per second per idle node (20 s before the drop), its transactions per file
#    (during the run, less the idle rate), and the most connections open at once (pool,
#    listener and lister of every node), the figures docs/scaling.md sizes a cluster with.
#
# Needs: the PostgreSQL server binaries (Debian: postgresql), flite, sox, python3 and a
# release build (`make build`). A throwaway cluster is started under $ROOT and removed after.
#
#   scripts/bench-shared-queue.sh
#   ROWS=40 JOBS=1000 LEASES="5 30" FILES=16 SECONDS_PER_FILE=4 NODES=3 scripts/bench-shared-queue.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-30}
JOBS=${JOBS:-500}
LEASES=${LEASES:-"5 10 30"}
FILES=${FILES:-12}
SECONDS_PER_FILE=${SECONDS_PER_FILE:-4}
NODES=${NODES:-2}
BIN_SRC=${HEARINGAI_BIN:-.build/release/hearingai}
for tool in flite sox soxi python3; do command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }; done
[[ -x $BIN_SRC ]] || { echo "build first: make build" >&2; exit 1; }

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/bench-shared-queue.XXXXXX")
chmod 755 "$ROOT"
BIN=$ROOT/hearingai
cp "$BIN_SRC" "$BIN"
export HEARINGAI_TEST_PG_DIR=$ROOT/pg HEARINGAI_TEST_PG_PORT=${PG_PORT:-55499}
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    scripts/test-postgres.sh stop >/dev/null 2>&1 || true
    [[ ${KEEP:-0} = 1 ]] || rm -rf "$ROOT"
}
trap cleanup EXIT
scripts/test-postgres.sh start >/dev/null
BASE_URL=$(scripts/test-postgres.sh url)
PSQL=("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -X -q -A -t -v ON_ERROR_STOP=1)
[[ $(id -u) = 0 ]] && PSQL=(runuser -u postgres -- "${PSQL[@]}")
SOCKET=$ROOT/pg/socket
sql() { "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$1" -c "$2"; }
calc() { python3 -c "print($1)"; }

# A fresh database and directories; prints the URL.
new_cluster() {
    local name=$1
    sql postgres "CREATE DATABASE $name" >/dev/null
    mkdir -p "$ROOT/$name"/{inbox,outbox,processed,failed}
    chmod -R 777 "$ROOT/$name"
    sed "s|/postgres?|/$name?|" <<<"$BASE_URL"
}

# start_node NAME CLUSTER URL FLAGS...: a node on the cluster's shared directories.
start_node() {
    local node=$1 cluster=$2 url=$3
    shift 3
    "$BIN" watch --database "$url" --node-name "$node" --inbox "$ROOT/$cluster/inbox" --outbox "$ROOT/$cluster/outbox" \
        --processed "$ROOT/$cluster/processed" --failed "$ROOT/$cluster/failed" --settle-seconds 0.3 "$@" \
        >"$ROOT/$cluster/$node.log" 2>&1 &
    PIDS+=($!)
}

wait_for() { # SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@"; do
        ((SECONDS < deadline)) || { echo "timed out waiting for $what" >&2; exit 1; }
        sleep 0.1
    done
}

stop_nodes() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}

echo "## Claim latency: an idle node woken by LISTEN/NOTIFY, against polling ($ROWS jobs each)"
echo
echo "| mode | jobs | min ms | median ms | p90 ms | max ms | median ÷ poll |"
echo "|---|---|---|---|---|---|---|"
declare -A MEDIAN
for mode in poll notify; do
    db=latency_$mode
    url=$(new_cluster "$db")
    flags=()
    [[ $mode = poll ]] && flags=(--poll-only)
    start_node n1 "$db" "$url" "${flags[@]}"
    wait_for 60 "node n1 in the node table" bash -c "[[ \$(\"\$0\" \"\$@\" 2>/dev/null) = 1 ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" -c "SELECT count(*) FROM node"
    sleep 3
    for i in $(seq "$ROWS"); do
        sleep "$(calc "0.3 + __import__('random').random()")"
        sql "$db" "INSERT INTO job (name, work_dir, size, mtime_ns, sha256, state, not_before, created_at, updated_at)
            VALUES ('\\x78'::bytea, 'bench-$i', 1, 1, 'sha-$i', 'queued', clock_timestamp(), clock_timestamp(), clock_timestamp())"
    done
    wait_for 60 "all $ROWS jobs claimed" bash -c "[[ \$(\"\$0\" \"\$@\") = 0 ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" -c "SELECT count(*) FROM job WHERE started_at IS NULL"
    read -r n lo med p90 hi < <(sql "$db" "SELECT count(*),
        round(min(ms)), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric),
        round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric), round(max(ms))
        FROM (SELECT EXTRACT(EPOCH FROM started_at - created_at) * 1000 AS ms FROM job) t" | tr '|' ' ')
    MEDIAN[$mode]=$med
    ratio=$(calc "f'{$med / max(1, ${MEDIAN[poll]}):.3f}x'")
    label=$([[ $mode = poll ]] && echo "--poll-only (poll every 2 s)" || echo "LISTEN/NOTIFY")
    echo "| $label | $n | $lo | $med | $p90 | $hi | $ratio |"
    stop_nodes
done

echo
echo "## Queue-only throughput: $JOBS jobs of trivial work inserted at once"
echo
echo "| nodes | jobs | seconds | jobs/s | ÷ 1 node |"
echo "|---|---|---|---|---|"
RATE1=
for nodes in 1 2 4; do
    db=queue_$nodes
    url=$(new_cluster "$db")
    for n in $(seq "$nodes"); do start_node "n$n" "$db" "$url"; done
    wait_for 60 "$nodes nodes in the node table" bash -c "[[ \$(\"\$0\" \"\$@\" 2>/dev/null) = $nodes ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" -c "SELECT count(*) FROM node"
    sleep 3
    sql "$db" "INSERT INTO job (name, work_dir, size, mtime_ns, sha256, state, not_before, created_at, updated_at)
        SELECT '\\x78'::bytea, 'trivial-' || i, 1, 1, 'sha-' || i, 'queued', clock_timestamp(), clock_timestamp(), clock_timestamp()
        FROM generate_series(1, $JOBS) i"
    wait_for 600 "$JOBS jobs failed" bash -c "[[ \$(\"\$0\" \"\$@\") = $JOBS ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" -c "SELECT count(*) FROM job WHERE state = 'failed'"
    seconds=$(sql "$db" "SELECT round(EXTRACT(EPOCH FROM max(finished_at) - min(created_at))::numeric, 2) FROM job")
    rate=$(calc "round($JOBS / $seconds, 1)")
    [[ -n $RATE1 ]] || RATE1=$rate
    echo "| $nodes | $JOBS | $seconds | $rate | $(calc "f'{$rate / $RATE1:.2f}x'") |"
    stop_nodes
done

echo
echo "## Kill -9 to resume elsewhere, against the lease"
echo
echo "| lease s | holder killed after | resumed elsewhere after s | ÷ lease |"
echo "|---|---|---|---|"
source scripts/lib/speech-files.sh
STAGE=$ROOT/stage
mkdir -p "$STAGE"
speech_file 1 2 60 0 "$STAGE/long.wav"
for lease in $LEASES; do
    db=resume_$lease
    url=$(new_cluster "$db")
    for n in 1 2; do HEARINGAI_LEASE_SECONDS=$lease start_node "n$n" "$db" "$url" --chunk-size 5 --max-workers 1; done
    wait_for 60 "2 nodes in the node table" bash -c "[[ \$(\"\$0\" \"\$@\" 2>/dev/null) = 2 ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" -c "SELECT count(*) FROM node"
    cp "$STAGE/long.wav" "$ROOT/$db/long.wav"
    mv "$ROOT/$db/long.wav" "$ROOT/$db/inbox/"
    wait_for 120 "a chunk checkpointed" bash -c "[[ \$(\"\$0\" \"\$@\") -ge 1 ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" -c "SELECT coalesce(max(chunks_done), 0) FROM job"
    holder=$(sql "$db" "SELECT node FROM job WHERE state = 'running'")
    chunks=$(sql "$db" "SELECT chunks_done FROM job")
    owner=$(sql "$db" "SELECT lease_owner FROM job")
    pid=$(cut -d: -f2 <<<"$owner")
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    t0=$(date +%s.%N)
    wait_for $((lease + 60)) "the job held by another node" bash -c "[[ \$(\"\$0\" \"\$@\") = t ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" \
        -c "SELECT state = 'running' AND lease_owner IS DISTINCT FROM '$owner' FROM job"
    t1=$(date +%s.%N)
    resumed=$(calc "round($t1 - $t0, 2)")
    echo "| $lease | $chunks chunk(s), on $holder | $resumed | $(calc "f'{$resumed / $lease:.2f}x'") |"
    stop_nodes
done

echo
echo "## Throughput: $FILES files of $SECONDS_PER_FILE s dropped at once, 1 to $NODES nodes (one worker each)"
echo
for i in $(seq "$FILES"); do speech_file $((i % 4)) $((i % 8)) "$SECONDS_PER_FILE" "$i" "$STAGE/f$i.wav"; done
echo "| nodes | files | wall s | files/s | ÷ 1 node (wall) | transcribed once each | jobs per node | idle transactions/s per node | transactions per file | peak connections |"
echo "|---|---|---|---|---|---|---|---|---|---|"
xacts() { sql postgres "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$1'"; }
backends() { sql postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'"; }
WALL1=
for nodes in $(seq "$NODES"); do
    db=throughput_$nodes
    url=$(new_cluster "$db")
    for n in $(seq "$nodes"); do start_node "n$n" "$db" "$url" --max-workers 1; done
    wait_for 60 "$nodes nodes in the node table" bash -c "[[ \$(\"\$0\" \"\$@\" 2>/dev/null) = $nodes ]]" \
        "${PSQL[@]}" -h "$SOCKET" -p "$HEARINGAI_TEST_PG_PORT" -U hearingai -d "$db" -c "SELECT count(*) FROM node"
    sleep 3
    # What idle nodes cost the database: sweeps, node heartbeats, fallback polls, lister checks.
    x0=$(xacts "$db")
    sleep 20
    x1=$(xacts "$db")
    idle=$(calc "round(($x1 - $x0) / 20 / $nodes, 2)")
    start=$(date +%s.%N)
    for i in $(seq "$FILES"); do cp "$STAGE/f$i.wav" "$ROOT/$db/f$i.wav"; mv "$ROOT/$db/f$i.wav" "$ROOT/$db/inbox/"; done
    peak=0
    deadline=$((SECONDS + 3600))
    until [[ $(ls "$ROOT/$db/processed" | wc -l) -ge $FILES ]]; do
        ((SECONDS < deadline)) || { echo "timed out waiting for $FILES sources in processed/" >&2; exit 1; }
        b=$(backends "$db")
        ((b > peak)) && peak=$b
        sleep 0.2
    done
    end=$(date +%s.%N)
    sleep 2
    x2=$(xacts "$db")
    busy_seconds=$(calc "$end - $start")
    # Transactions during the run, less what the idle nodes would have made anyway, per file.
    per_file=$(calc "round(($x2 - $x1 - ($x1 - $x0) / 20 * ($busy_seconds + 2)) / $FILES, 1)")
    wall=$(calc "round($end - $start, 1)")
    [[ -n $WALL1 ]] || WALL1=$wall
    outputs=$(ls "$ROOT/$db/outbox" | wc -l)
    # Each job done after one claim, and one output pair per file.
    once_jobs=$(sql "$db" "SELECT count(*) FROM job WHERE state = 'done' AND attempts = 1")
    jobs=$(sql "$db" "SELECT count(*) FROM job")
    once=$([[ $outputs = $((2 * FILES)) && $once_jobs = "$FILES" && $jobs = "$FILES" ]] && echo "yes" || echo "NO")
    once="$once ($jobs jobs, $once_jobs done at the first claim, $outputs outputs)"
    per_node=$(sql "$db" "SELECT string_agg(node || ' ' || n, ', ' ORDER BY node) FROM (SELECT node, count(*) n FROM job GROUP BY node) t")
    echo "| $nodes | $FILES | $wall | $(calc "round($FILES / $wall, 3)") | $(calc "f'{$WALL1 / $wall:.2f}x'") | $once | $per_node | $idle | $per_file | $peak |"
    stop_nodes
done
