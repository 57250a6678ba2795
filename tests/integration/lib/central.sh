# shellcheck shell=bash
# Central-store (`cardharness push`) helpers over lib/postgres.sh (source this file).
#
#   central_require_or_skip            # postgres + sqlite3 + the CLI, else exit 77
#   central_server                     # pg_start, owner role ch_owner, database "central"
#                                      # migrated by `push --migrate`; sets CENTRAL_DB
#   central_station_role ROLE          # a LOGIN role for one station (password in PGPASSFILE)
#   central_new_database NAME          # another migrated database in the same server
#   central_push ROLE DB_NAME SQLITE STATION [push args...]
#   fixture_db FILE RUNS [REPEAT] [SEED]   # RUNS copies of the report fixture's runs
#   local_counts SQLITE                # "table count" lines: the rows a push of every run sends
#   central_counts DB_NAME STATION     # the same counts on the server, for one station
#   central_digest DB_NAME             # "table count md5" lines over every row (pushed_at aside)
source "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"

CENTRAL_DB=central
CENTRAL_OWNER=ch_owner
CENTRAL_TABLES=(runs run_suites readers cards sessions steps exchanges verdicts verdict_causes ccid_trace)

central_require_or_skip() {
    pg_require_or_skip
    command -v sqlite3 >/dev/null 2>&1 || pg_skip "sqlite3 not found"
    [ -n "${CARDHARNESS:-}" ] && [ -x "$CARDHARNESS" ] || pg_skip "CARDHARNESS binary not set or not built"
    [ -n "${CARDHARNESS_TOOLS_DIR:-}" ] && [ -x "$CARDHARNESS_TOOLS_DIR/store_copies" ] ||
        pg_skip "test tools not built (CARDHARNESS_TOOLS_DIR)"
}

# The setup the README describes: one owner role, one database it owns, `push --migrate`.
central_server() {
    pg_start "$@"
    pg_create_role "$CENTRAL_OWNER"
    central_new_database "$CENTRAL_DB"
}

central_new_database() {
    pg_admin_psql postgres -c "CREATE DATABASE \"$1\" OWNER $CENTRAL_OWNER"
    "$CARDHARNESS" push --migrate --to "$(pg_uri "$CENTRAL_OWNER" "$1")" >/dev/null ||
        pg_fail "push --migrate on $1 failed"
}

central_station_role() {
    pg_create_role "$1"
}

central_push() {
    local role=$1 db=$2 file=$3 station=$4
    shift 4
    "$CARDHARNESS" push --to "$(pg_uri "$role" "$db")" --db "$file" --station "$station" "$@"
}

fixture_db() {
    local file=$1 runs=$2 repeat=${3:-1} seed=${4:-1} base
    base=$(mktemp -u "${file%.db}.base.XXXXXX.db")
    "$CARDHARNESS_TOOLS_DIR/report_fixture" "$base" >/dev/null
    "$CARDHARNESS_TOOLS_DIR/store_copies" "$base" "$file" "$runs" --repeat "$repeat" --seed "$seed" >/dev/null
    rm -f "$base" "$base-wal" "$base-shm"
}

local_counts() {
    sqlite3 -separator ' ' "$1" "
        SELECT 'runs', COUNT(*) FROM runs
        UNION ALL SELECT 'run_suites', COUNT(*) FROM run_suites
        UNION ALL SELECT 'readers', COUNT(*) FROM (SELECT DISTINCT run_id, reader_id FROM sessions)
        UNION ALL SELECT 'cards', COUNT(*) FROM
            (SELECT DISTINCT run_id, card_id FROM sessions WHERE card_id IS NOT NULL)
        UNION ALL SELECT 'sessions', COUNT(*) FROM sessions
        UNION ALL SELECT 'steps', COUNT(*) FROM steps
        UNION ALL SELECT 'exchanges', COUNT(*) FROM exchanges
        UNION ALL SELECT 'verdicts', COUNT(*) FROM verdicts
        UNION ALL SELECT 'verdict_causes', COUNT(*) FROM verdict_causes
        UNION ALL SELECT 'ccid_trace', COUNT(*) FROM ccid_trace"
}

central_counts() {
    local db=$1 station=$2 t sql=""
    for t in "${CENTRAL_TABLES[@]}"; do
        [ -n "$sql" ] && sql+=" UNION ALL "
        sql+="SELECT '$t', count(*) FROM cardharness.$t WHERE station = '$station'"
    done
    psql -X -At -F ' ' -v ON_ERROR_STOP=1 -U "$PG_ADMIN" -d "$db" -c "$sql"
}

central_digest() {
    local db=$1 t sql=""
    for t in "${CENTRAL_TABLES[@]}"; do
        [ -n "$sql" ] && sql+=" UNION ALL "
        sql+="SELECT '$t', count(*), md5(coalesce(string_agg(j, E'\n' ORDER BY j), ''))
              FROM (SELECT (to_jsonb(x) - 'pushed_at')::text AS j FROM cardharness.$t x) y"
    done
    psql -X -At -F ' ' -v ON_ERROR_STOP=1 -U "$PG_ADMIN" -d "$db" -c "$sql"
}

# Total rows of every central table (all stations).
central_total_rows() {
    local t sql=""
    for t in "${CENTRAL_TABLES[@]}"; do
        [ -n "$sql" ] && sql+=" + "
        sql+="(SELECT count(*) FROM cardharness.$t)"
    done
    pg_value "$1" "SELECT $sql"
}
