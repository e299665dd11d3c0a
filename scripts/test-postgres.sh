#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL queue's tests (PostgresJobQueue).
#
#   scripts/test-postgres.sh start   initialise (first time) and start it; already running is fine
#   scripts/test-postgres.sh url     print the URL the tests connect with (HEARINGAI_TEST_POSTGRES_URL)
#   scripts/test-postgres.sh restart stop it (fast: sessions are cut) and start it again, keeping its data
#   scripts/test-postgres.sh stop    stop it and delete its files
#
# Debian's PostgreSQL server binaries (the newest under /usr/lib/postgresql: 15 on Debian 12),
# never the system's own cluster: the data directory and the unix socket live under
# $HEARINGAI_TEST_PG_DIR (by default /tmp/hearingai-pg-$UID), the server listens on the socket and
# on 127.0.0.1 at port $HEARINGAI_TEST_PG_PORT (55432), with fsync off. As root the server runs as
# the unprivileged `postgres` user the Debian package creates (PostgreSQL refuses to run as root);
# otherwise as the calling user.
#
# Authentication: the superuser `hearingai` is trusted (socket and loopback); the role
# `hearingai_pw` must give a password (SCRAM), so that the tests can check a wrong one is refused
# and never repeated in the error.
set -euo pipefail

BIN=${HEARINGAI_TEST_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
BASE=${HEARINGAI_TEST_PG_DIR:-/tmp/hearingai-pg-$(id -u)}
PORT=${HEARINGAI_TEST_PG_PORT:-55432}
DATA=$BASE/data
SOCKET=$BASE/socket
LOG=$BASE/server.log
SUPERUSER=hearingai

if [ "$(id -u)" = 0 ]; then
    RUN_AS=(runuser -u postgres --)
    OWNER=postgres
else
    RUN_AS=()
    OWNER=$(id -un)
fi

running() {
    [ -f "$DATA/PG_VERSION" ] && "${RUN_AS[@]}" "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

psql_super() {
    "${RUN_AS[@]}" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET" -p "$PORT" -U "$SUPERUSER" -d postgres "$@"
}

start() {
    if running; then
        echo "test-postgres: already running ($DATA)"
        return 0
    fi
    [ -x "$BIN/initdb" ] || {
        echo "test-postgres: no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)" >&2
        exit 1
    }
    mkdir -p "$BASE"
    chown "$OWNER" "$BASE"
    chmod 700 "$BASE"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        "${RUN_AS[@]}" mkdir -p "$SOCKET"
        "${RUN_AS[@]}" "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C.UTF-8 >"$BASE/initdb.log" 2>&1 || {
            cat "$BASE/initdb.log" >&2
            exit 1
        }
        "${RUN_AS[@]}" tee -a "$DATA/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKET'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
        # Earlier lines win: the password role first, then everyone else trusted.
        "${RUN_AS[@]}" tee "$DATA/pg_hba.conf" >/dev/null <<EOF
local   all   hearingai_pw                 scram-sha-256
host    all   hearingai_pw   127.0.0.1/32  scram-sha-256
local   all   all                          trust
host    all   all            127.0.0.1/32  trust
EOF
    fi
    "${RUN_AS[@]}" "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 >/dev/null || {
        tail -20 "$LOG" >&2
        exit 1
    }
    psql_super -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hearingai_pw') THEN CREATE ROLE hearingai_pw LOGIN; END IF;
    END \$\$;"
    echo "test-postgres: started ($DATA, port $PORT)"
}

stop() {
    if running; then
        "${RUN_AS[@]}" "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
    fi
    rm -rf "$BASE"
    echo "test-postgres: stopped"
}

restart() {
    running || { echo "test-postgres: not running" >&2; exit 1; }
    "${RUN_AS[@]}" "$BIN/pg_ctl" restart -D "$DATA" -m fast -w -t 60 -l "$LOG" >/dev/null
    echo "test-postgres: restarted"
}

url() {
    echo "postgresql://$SUPERUSER@localhost:$PORT/postgres?host=$SOCKET"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) restart ;;
url) url ;;
*)
    echo "usage: $0 start|restart|stop|url" >&2
    exit 2
    ;;
esac
