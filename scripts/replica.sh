#!/usr/bin/env bash
# A streaming replica (PostgreSQL physical standby) of the primary on another port of this
# machine, for yibao's inquiries (YIBAO_REPLICA_URL). Idempotent: `setup` twice is one replica.
#
#   scripts/replica.sh setup    base backup (pg_basebackup -R) through a replication slot, start
#   scripts/replica.sh start | stop | status | remove     (remove also drops the slot)
#
# Environment: PRIMARY_HOST (127.0.0.1), PRIMARY_PORT (5432), REPLICA_PORT (5433),
# REPLICA_DIR (/var/lib/postgresql/<version>/replica-<port>), PG_OS_USER (postgres).
# The primary needs wal_level=replica (or logical) and max_wal_senders > 0, which PostgreSQL 15
# has by default; changing them needs a restart, so this script refuses instead. It adds one
# `host replication` line to the primary's pg_hba.conf if none is there, and reloads (no restart).
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
PG_OS_USER=${PG_OS_USER:-postgres}

as_pg() {
    if [ "$(id -un)" = "$PG_OS_USER" ]; then "$@"; else runuser -u "$PG_OS_USER" -- "$@"; fi
}
primary() { as_pg psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -XAtq -c "$1"; }
replica() { as_pg psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -XAtq -c "$1"; }

VERSION=$(primary "SELECT current_setting('server_version_num')::int / 10000")
PGBIN=${PGBIN:-/usr/lib/postgresql/$VERSION/bin}
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/$VERSION/replica-$REPLICA_PORT}
SLOT=${SLOT:-yibao_replica_$REPLICA_PORT}

running() { as_pg "$PGBIN/pg_ctl" -D "$REPLICA_DIR" status >/dev/null 2>&1; }

check_primary() {
    local level senders
    level=$(primary "SHOW wal_level")
    senders=$(primary "SHOW max_wal_senders")
    if [ "$level" = minimal ] || [ "$senders" -eq 0 ]; then
        echo "the primary has wal_level=$level, max_wal_senders=$senders: set wal_level=replica" \
            "and max_wal_senders=10 in postgresql.conf and restart it first" >&2
        exit 2
    fi
}

allow_replication() {
    local rules hba
    rules=$(primary "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)")
    if [ "$rules" -eq 0 ]; then
        hba=$(primary "SHOW hba_file")
        printf '# yibao streaming replica (scripts/replica.sh)\nhost replication postgres 127.0.0.1/32 trust\n' >>"$hba"
        primary "SELECT pg_reload_conf()" >/dev/null
        echo "added a replication line to $hba and reloaded the primary"
    fi
}

# Settings a hot standby must hold at least as high as its primary's.
standby_conf() {
    local name
    {
        echo "# yibao streaming replica of $PRIMARY_HOST:$PRIMARY_PORT (scripts/replica.sh)"
        echo "port = $REPLICA_PORT"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '/var/run/postgresql'"
        echo "hot_standby = on"
        echo "hot_standby_feedback = on"
        echo "max_standby_streaming_delay = 5s"
        for name in max_connections max_worker_processes max_wal_senders \
            max_prepared_transactions max_locks_per_transaction; do
            echo "$name = $(primary "SHOW $name")"
        done
    } | as_pg tee "$REPLICA_DIR/postgresql.conf" >/dev/null
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' |
        as_pg tee "$REPLICA_DIR/pg_hba.conf" >/dev/null
}

# The data directory, owned by the postgres OS user (its parent may be root's, so it is made and
# removed by whoever runs this script).
make_dir() {
    if [ "$(id -u)" -eq 0 ]; then
        install -d -o "$PG_OS_USER" -g "$PG_OS_USER" -m 700 "$REPLICA_DIR"
    else
        mkdir -p -m 700 "$REPLICA_DIR"
    fi
}

setup() {
    check_primary
    allow_replication
    if [ ! -f "$REPLICA_DIR/standby.signal" ]; then
        rm -rf "$REPLICA_DIR"
        make_dir
        if [ "$(primary "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active")" -eq 1 ]; then
            primary "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null  # a removed replica's
        fi
        as_pg "$PGBIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres \
            -D "$REPLICA_DIR" -R -X stream -c fast -C -S "$SLOT"
        standby_conf
    fi
    start
}

start() {
    if ! running; then
        as_pg "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/replica.log" -w -t 60 start >/dev/null
    fi
    status
}

stop() {
    if [ -d "$REPLICA_DIR" ] && running; then
        as_pg "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop >/dev/null
    fi
    echo "replica on port $REPLICA_PORT stopped"
}

remove() {
    stop
    rm -rf "$REPLICA_DIR"
    if [ "$(primary "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT'")" -eq 1 ]; then
        primary "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null
    fi
    echo "replica on port $REPLICA_PORT removed (data directory and slot $SLOT)"
}

status() {
    local replayed current
    replayed=$(replica "SELECT pg_last_wal_replay_lsn()")
    current=$(primary "SELECT pg_current_wal_lsn()")
    echo "replica postgresql://postgres@127.0.0.1:$REPLICA_PORT in recovery: $(replica "SELECT pg_is_in_recovery()")"
    echo "lag bytes: $(primary "SELECT greatest(pg_wal_lsn_diff('$current', '$replayed'), 0)")" \
        "(primary at $current, replayed to $replayed)"
}

case "${1:-}" in
    setup | start | stop | status | remove) "$1" ;;
    *)
        echo "usage: $0 setup|start|stop|status|remove" >&2
        exit 64
        ;;
esac
