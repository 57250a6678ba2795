#!/usr/bin/env bash
# `cardharness push` refuses what it must (a real PostgreSQL 15, started here):
# - a password in the URI, in key=value words or in PGPASSWORD: exit 2, nothing connects;
# - no password for the role in PGPASSFILE, or no server: exit 3, the runs stay pending and
#   `push --status` lists them offline;
# - a server without the schema, with an older one (migrated to version 1 only) or a newer one:
#   exit 3 with a message saying which side to upgrade; a station role cannot migrate;
# - station separation on the server: a station role cannot push as, write, change or delete
#   another station's rows, nor register a station for another role.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/central.sh"
central_require_or_skip

# TCP on the loopback too, for sslmode (libpq never uses TLS over a Unix socket).
pg_start "listen_addresses = '127.0.0.1'"
work=$PG_DIR/work
mkdir -p "$work"
pg_create_role "$CENTRAL_OWNER"
pg_create_role station_a
pg_create_role station_b
pg_admin_psql postgres -c "CREATE DATABASE central OWNER $CENTRAL_OWNER"
fixture_db "$work/a.db" 3
fixture_db "$work/b.db" 3 1 2
uri_a=$(pg_uri station_a central)

expect_rc() { # expect_rc RC WHAT-REGEX command...
    local want=$1 pattern=$2 rc=0
    shift 2
    "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -Eqi -- "$pattern" "$work/err" "$work/out"; then
        echo "--- stdout" >&2; cat "$work/out" >&2
        echo "--- stderr" >&2; cat "$work/err" >&2
        pg_fail "expected exit $want and /$pattern/ from: $*  (got $rc)"
    fi
}

# 1. Passwords are never taken from the command line or the environment.
expect_rc 2 "carries a password.*pgpass" "$CARDHARNESS" push --db "$work/a.db" \
    --to "postgresql://station_a:s3cret@/central?host=$PGHOST&port=$PGPORT"
expect_rc 2 "carries a password" "$CARDHARNESS" push --db "$work/a.db" \
    --to "postgresql://station_a@/central?host=$PGHOST&port=$PGPORT&password=s3cret"
expect_rc 2 "carries a password" "$CARDHARNESS" push --db "$work/a.db" \
    --to "host=$PGHOST port=$PGPORT dbname=central user=station_a password=s3cret"
expect_rc 2 "PGPASSWORD" env PGPASSWORD=s3cret "$CARDHARNESS" push --db "$work/a.db" --to "$uri_a"
expect_rc 2 "not a PostgreSQL connection URI" "$CARDHARNESS" push --db "$work/a.db" \
    --to "postgresql://[oops"
grep -q s3cret "$work/err" && pg_fail "the refusal repeats the password"
expect_rc 2 "connections" "$CARDHARNESS" push --db "$work/a.db" --to "$uri_a" --connections 0
echo "ok: passwords in URI, key=value and PGPASSWORD refused (exit 2)"

# 2. No password for the role / no server: exit 3, the runs stay pending, status works offline.
expect_rc 3 "pgpass" env PGPASSFILE=/dev/null "$CARDHARNESS" push --db "$work/a.db" --to "$uri_a"
dead_uri="postgresql://station_a@/central?host=$PGHOST&port=1"
expect_rc 3 "cannot reach the central server.*3 run\(s\) of station lab-a stay pending" \
    "$CARDHARNESS" push --db "$work/a.db" --to "$dead_uri" --station lab-a
"$CARDHARNESS" push --status --json --db "$work/a.db" --to "$dead_uri" --station lab-a >"$work/status.json"
jq -e '.server.reachable == false and (.pending | length) == 3 and .station == "lab-a"' \
    "$work/status.json" >/dev/null || pg_fail "offline status wrong: $(cat "$work/status.json")"
echo "ok: unreachable server: exit 3, 3 runs pending, push --status works offline"

# 3. Schema versions: none, older (version 1 only), station role cannot migrate, newer.
expect_rc 3 "no cardharness schema.*--migrate" "$CARDHARNESS" push --db "$work/a.db" --to "$uri_a"
expect_rc 3 "owner" "$CARDHARNESS" push --migrate --to "$uri_a"
"$CARDHARNESS" push --migrate --schema-version 1 --to "$(pg_uri "$CENTRAL_OWNER" central)" |
    grep -q "version 0 -> 1" || pg_fail "migrate to version 1"
expect_rc 3 "version 1, older than this cardharness writes \(4\).*--migrate" \
    "$CARDHARNESS" push --db "$work/a.db" --to "$uri_a" --station lab-a
"$CARDHARNESS" push --status --db "$work/a.db" --to "$uri_a" --station lab-a | grep "older" >/dev/null ||
    pg_fail "push --status should say the schema is older"
"$CARDHARNESS" push --migrate --to "$(pg_uri "$CENTRAL_OWNER" central)" |
    grep -q "version 1 -> 4" || pg_fail "migrate from 1 to 4"
pg_admin_psql central -c "INSERT INTO cardharness.schema_migrations (version) VALUES (99)"
expect_rc 3 "version 99, newer than this cardharness knows \(4\): upgrade cardharness" \
    "$CARDHARNESS" push --db "$work/a.db" --to "$uri_a" --station lab-a
expect_rc 3 "newer than this cardharness knows" \
    "$CARDHARNESS" push --migrate --to "$(pg_uri "$CENTRAL_OWNER" central)"
pg_admin_psql central -c "DELETE FROM cardharness.schema_migrations WHERE version = 99"
# The next version's migration, as generated for a new station column and a new table, is
# valid SQL on the real server (applied and rolled back).
"$CARDHARNESS_TOOLS_DIR/central_next_migration" >"$work/next.sql"
grep -q "ADD COLUMN failure_kind" "$work/next.sql" || pg_fail "no generated next migration"
{ echo "BEGIN;"; echo "SET ROLE $CENTRAL_OWNER;"; cat "$work/next.sql"; echo "ROLLBACK;"; } |
    pg_admin_psql central >/dev/null || pg_fail "the generated next migration does not apply"
[ "$(pg_value central "SELECT count(*) FROM cardharness.runs")" = 0 ] ||
    pg_fail "a refused push stored rows"
echo "ok: schema none/older/newer refused with which side to upgrade; station role cannot migrate"

# 4. Station separation.
central_push station_a central "$work/a.db" lab-a >/dev/null
central_push station_b central "$work/b.db" lab-b >/dev/null
expect_rc 3 "station 'lab-a' is registered .* to role 'station_a', not to 'station_b'" \
    central_push station_b central "$work/b.db" lab-a
[ "$(pg_value central "SELECT count(*) FROM cardharness.runs WHERE station = 'lab-a'")" = 3 ] ||
    pg_fail "lab-a should have its 3 runs"
# libpq's own settings pass through: the PG* variables without --to, and sslmode over TCP
# (this server has no TLS: sslmode=require must fail, disable must work, in the URI or PGSSLMODE).
PGUSER=station_a PGDATABASE=central "$CARDHARNESS" push --db "$work/a.db" --station lab-a |
    grep -q "nothing to push" || pg_fail "push through the PG* variables"
tcp_a="postgresql://station_a@127.0.0.1:$PGPORT/central"
expect_rc 3 "SSL" "$CARDHARNESS" push --db "$work/a.db" --station lab-a --to "$tcp_a?sslmode=require"
expect_rc 3 "SSL" env PGSSLMODE=require "$CARDHARNESS" push --db "$work/a.db" --station lab-a --to "$tcp_a"
"$CARDHARNESS" push --db "$work/a.db" --station lab-a --to "$tcp_a?sslmode=disable" |
    grep -q "nothing to push" || pg_fail "push over TCP with sslmode=disable"
[ "$(pg_value central "SELECT string_agg(DISTINCT pushed_by, ',') FROM cardharness.runs WHERE station = 'lab-a'")" = station_a ] ||
    pg_fail "the server should record station_a as the writer of lab-a's runs"
run_a=$(pg_value central "SELECT run_uuid FROM cardharness.runs WHERE station = 'lab-a' LIMIT 1")
as_b() { psql -X -q -At -v ON_ERROR_STOP=1 "$(pg_uri station_b central)" -c "$1" 2>&1; }
refused() { # refused SQL PATTERN: station_b's statement fails with PATTERN
    local out
    if out=$(as_b "$1"); then pg_fail "station_b was allowed: $1 ($out)"; fi
    grep -Eqi "$2" <<<"$out" || pg_fail "unexpected refusal for: $1: $out"
}
refused "INSERT INTO cardharness.runs (station, run_uuid, status) VALUES ('lab-a', 'forged', 'complete')" \
    "row-level security"
refused "INSERT INTO cardharness.steps (station, run_uuid, local_id, verdict) VALUES ('lab-a', '$run_a', 999999, 'pass')" \
    "row-level security"
refused "INSERT INTO cardharness.runs (station, run_uuid, status, pushed_by) VALUES ('lab-b', 'forged', 'complete', 'station_a')" \
    "permission denied"
refused "DELETE FROM cardharness.runs WHERE station = 'lab-a'" "permission denied"
refused "TRUNCATE cardharness.steps" "permission denied"
refused "UPDATE cardharness.steps SET verdict = 'fail' WHERE station = 'lab-a'" "permission denied"
refused "INSERT INTO cardharness.stations (station, role) VALUES ('lab-c', 'station_a')" "permission denied"
refused "UPDATE cardharness.stations SET role = 'station_b' WHERE station = 'lab-a'" "permission denied"
refused "INSERT INTO cardharness.stations (station) VALUES ('bad name!')" "check constraint"
[ "$(as_b "UPDATE cardharness.runs SET status = 'running' WHERE station = 'lab-a' RETURNING 1" | grep -c 1 || true)" = 0 ] ||
    pg_fail "station_b changed lab-a's runs"
[ "$(pg_value central "SELECT count(*) FROM cardharness.runs WHERE station = 'lab-a' AND status = 'running'")" = 0 ] ||
    pg_fail "lab-a's runs were changed"
# Reading is open to every station role (reports over all stations).
[ "$(as_b "SELECT count(*) FROM cardharness.runs")" = 6 ] || pg_fail "station_b should read all runs"
diff <(local_counts "$work/a.db") <(central_counts central lab-a) >&2 || pg_fail "lab-a's rows differ"
diff <(local_counts "$work/b.db") <(central_counts central lab-b) >&2 || pg_fail "lab-b's rows differ"
echo "ok: a station role cannot push as, insert into, change or delete another station's rows; PG* variables and sslmode pass through"
