# shellcheck shell=bash
# A private PostgreSQL 15 server for integration tests and benchmarks (source this file).
#
#   source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/postgres.sh"
#   pg_require_or_skip                 # exit 77 unless Debian's postgresql-15 server is installed
#   pg_start                           # initdb + pg_ctl start; exports PGHOST, PGPORT, PGPASSFILE
#   pg_create_role NAME                # a LOGIN role with a random password, added to PGPASSFILE
#   pg_admin_psql DB -c "SQL"          # psql as the cluster's superuser (PG_ADMIN)
#   pg_uri ROLE DB                     # postgresql://ROLE@/DB?host=…&port=… (no password in it)
#   pg_kill_server / pg_restart        # stop -m immediate (a crash) / start again on the same data
#   pg_stop                            # also done by the exit trap
#
# The server runs as an unprivileged user (as root: `postgres` when that system user exists,
# else `nobody`, through runuser; otherwise as the calling user) from a fresh temporary folder:
# initdb with scram-sha-256 for every connection, no TCP (listen_addresses = ''), a private Unix
# socket folder and a free port number (the socket's name). Passwords live only in a 0600
# PGPASSFILE. An EXIT trap stops the server and removes the folder, also on failure; it runs any
# EXIT trap that was installed before pg_start afterwards (so lab.sh's trap still runs: call
# lab_start before pg_start). A watchdog stops the server if the test shell dies without running
# its traps (SIGKILL). CARDHARNESS_KEEP_TEST_DIRS=1 keeps the folder (server.log) for debugging.

PG_BIN=${CARDHARNESS_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_DATA=""
PG_LOG=""
PG_ADMIN=ch_admin
PG_OS_USER=""
PG_WATCHDOG_PID=""
_PG_PREV_EXIT_TRAP=""

pg_skip() {
    echo "SKIPPED: $*" >&2
    exit 77
}

pg_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

pg_require_or_skip() {
    local tool
    for tool in initdb pg_ctl postgres; do
        [ -x "$PG_BIN/$tool" ] || pg_skip "PostgreSQL 15 server not installed ($PG_BIN/$tool missing: apt-get install postgresql-15)"
    done
    command -v psql >/dev/null 2>&1 || pg_skip "psql not found (apt-get install postgresql-client-15)"
    if [ "$(id -u)" -eq 0 ]; then
        command -v runuser >/dev/null 2>&1 || pg_skip "runuser not found (util-linux)"
    fi
}

# Runs a server binary as the unprivileged server user.
_pg_as_server() {
    if [ -n "$PG_OS_USER" ]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

_pg_port_in_use() {
    local port_hex
    port_hex=$(printf '%04X' "$1")
    awk -v p=":$port_hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

_pg_random_secret() {
    od -An -N18 -tx1 /dev/urandom | tr -d ' \n'
}

# pg_start [postgres -c options...]: initdb and start; exports PGHOST, PGPORT, PGPASSFILE and
# unsets every other PG* variable of the caller (PGUSER, PGDATABASE, PGPASSWORD...).
pg_start() {
    [ -z "$PG_DIR" ] || { echo "pg_start: already started" >&2; return 2; }
    unset PGUSER PGDATABASE PGPASSWORD PGSERVICE PGSSLMODE PGOPTIONS PGAPPNAME
    if [ "$(id -u)" -eq 0 ]; then
        if id postgres >/dev/null 2>&1; then PG_OS_USER=postgres; else PG_OS_USER=nobody; fi
    fi
    # Short path: the socket name (<dir>/.s.PGSQL.<port>) must fit in 107 bytes.
    PG_DIR=$(mktemp -d /tmp/chpg.XXXXXX)
    PG_DATA=$PG_DIR/data
    PG_LOG=$PG_DIR/server.log
    local options=("$@") prev
    prev=$(trap -p EXIT)
    if [ -n "$prev" ]; then
        eval "set -- ${prev#trap }"
        [ "$1" = -- ] && shift
        _PG_PREV_EXIT_TRAP=$1
    fi
    trap _pg_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local port tries
    for tries in $(seq 1 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        [ -e "$PG_DIR/.s.PGSQL.$port" ] || _pg_port_in_use "$port" || break
    done
    export PGHOST=$PG_DIR PGPORT=$port
    export PGPASSFILE=$PG_DIR/pgpass
    local admin_password
    admin_password=$(_pg_random_secret)
    printf '%s\n' "$admin_password" >"$PG_DIR/admin.pw"
    (umask 077 && printf '*:*:*:%s:%s\n' "$PG_ADMIN" "$admin_password" >"$PGPASSFILE")
    if [ -n "$PG_OS_USER" ]; then
        chown "$PG_OS_USER" "$PG_DIR" "$PG_DIR/admin.pw"
        chmod 0700 "$PG_DIR"
    fi
    _pg_as_server "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_ADMIN" --pwfile="$PG_DIR/admin.pw" \
        --auth=scram-sha-256 -E UTF8 --no-locale --no-sync --no-instructions \
        >"$PG_DIR/initdb.log" 2>&1 || {
        cat "$PG_DIR/initdb.log" >&2
        pg_fail "initdb failed"
    }
    rm -f "$PG_DIR/admin.pw"
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$PG_DIR'"
        echo "unix_socket_permissions = 0700"
        echo "port = $port"
        echo "max_connections = 30"
        echo "shared_buffers = 32MB"
        echo "fsync = off"
        echo "full_page_writes = off"
        echo "log_min_messages = warning"
        echo "log_min_error_statement = panic"
        local opt
        for opt in "${options[@]}"; do echo "$opt"; done
    } | _pg_as_server tee -a "$PG_DATA/postgresql.conf" >/dev/null

    # The watchdog stops the server if this shell disappears without running its traps.
    (
        trap - EXIT INT TERM
        while kill -0 "$$" 2>/dev/null; do sleep 1; done
        [ -f "$PG_DATA/postmaster.pid" ] &&
            _pg_as_server "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -s >/dev/null 2>&1
        [ "${CARDHARNESS_KEEP_TEST_DIRS:-0}" = 1 ] || rm -rf "$PG_DIR"
    ) >/dev/null 2>&1 </dev/null &
    PG_WATCHDOG_PID=$!
    pg_restart
}

# Starts the server on the existing data folder (after pg_start, or after pg_kill_server).
pg_restart() {
    _pg_as_server "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s >/dev/null ||
        {
            tail -n 30 "$PG_LOG" >&2
            pg_fail "pg_ctl start failed"
        }
}

# A crash: every server process is killed at once (no shutdown checkpoint).
pg_kill_server() {
    _pg_as_server "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -s >/dev/null 2>&1 || true
}

pg_stop() {
    [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 0
    _pg_as_server "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -t 30 -s >/dev/null 2>&1 ||
        _pg_as_server "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -s >/dev/null 2>&1 || true
}

# pg_admin_psql DB [psql args...]: psql as the superuser, quiet, stop on the first error.
pg_admin_psql() {
    local db=$1
    shift
    psql -X -q -v ON_ERROR_STOP=1 -U "$PG_ADMIN" -d "$db" "$@"
}

# pg_psql_as ROLE DB [psql args...]
pg_psql_as() {
    local role=$1 db=$2
    shift 2
    psql -X -q -v ON_ERROR_STOP=1 -U "$role" -d "$db" "$@"
}

# pg_value DB SQL: one value, as the superuser.
pg_value() {
    psql -X -q -At -v ON_ERROR_STOP=1 -U "$PG_ADMIN" -d "$1" -c "$2"
}

# pg_create_role NAME [role options...]: a LOGIN role with a random password in PGPASSFILE.
pg_create_role() {
    local name=$1 password
    shift
    password=$(_pg_random_secret)
    pg_admin_psql postgres -c "CREATE ROLE \"$name\" LOGIN PASSWORD '$password' $*"
    printf '*:*:*:%s:%s\n' "$name" "$password" >>"$PGPASSFILE"
}

# pg_uri ROLE DB: a connection URI for a role (the password comes from PGPASSFILE).
pg_uri() {
    printf 'postgresql://%s@/%s?host=%s&port=%s\n' "$1" "$2" "$PGHOST" "$PGPORT"
}

_pg_cleanup() {
    local status=$?
    set +e
    trap - EXIT
    if [ -n "$PG_DIR" ]; then
        if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && [ -f "$PG_LOG" ]; then
            echo "---- PostgreSQL server log (last 40 lines) ----" >&2
            tail -n 40 "$PG_LOG" >&2
        fi
        pg_stop
        if [ -n "$PG_WATCHDOG_PID" ]; then
            kill "$PG_WATCHDOG_PID" 2>/dev/null || true
            wait "$PG_WATCHDOG_PID" 2>/dev/null || true
        fi
        if [ "${CARDHARNESS_KEEP_TEST_DIRS:-0}" = 1 ]; then
            echo "kept $PG_DIR" >&2
        else
            rm -rf "$PG_DIR"
        fi
    fi
    if [ -n "$_PG_PREV_EXIT_TRAP" ]; then
        (exit "$status")
        eval "$_PG_PREV_EXIT_TRAP"
    fi
    exit "$status"
}
