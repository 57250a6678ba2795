#!/usr/bin/env bash
# A push cut short leaves nothing half-written: the server killed (pg_ctl stop -m immediate)
# while a run's transaction is open, then restarted, and separately the client killed with
# SIGKILL mid-push; pushing again ends with exactly the rows of one clean push of the same
# database into a fresh database on the same server (every row of every table compared).
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/central.sh"
central_require_or_skip

central_server
work=$PG_DIR/work
mkdir -p "$work"
central_station_role station_a
runs=30
fixture_db "$work/a.db" "$runs" 40

# The reference: one clean push into its own database.
central_new_database clean
central_push station_a clean "$work/a.db" lab-a >/dev/null
expected=$(central_digest clean)
diff <(local_counts "$work/a.db") <(central_counts clean lab-a) >&2 || pg_fail "clean push incomplete"

# A gate that holds the push in the middle of its third run's transaction, whatever the machine's
# load (polling alone could miss the moment, or the push could finish before the kill landed): a
# test-only trigger makes the third run's INSERT wait for an advisory lock that a psql session
# of the test holds. Rows are unaffected (the trigger returns them unchanged).
gate_close() { # gate_close DB: install the trigger, hold the lock in the background
    pg_admin_psql "$1" -c "CREATE FUNCTION public.ch_test_gate() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN
            IF (SELECT count(*) FROM cardharness.runs) >= 2 THEN
                PERFORM pg_advisory_xact_lock_shared(4242);
            END IF;
            RETURN NEW;
        END \$\$;
        CREATE TRIGGER ch_test_gate BEFORE INSERT ON cardharness.runs
            FOR EACH ROW EXECUTE FUNCTION public.ch_test_gate()" >/dev/null
    psql -X -q -U "$PG_ADMIN" -d "$1" -c "SELECT pg_advisory_lock(4242)" -c "SELECT pg_sleep(600)" \
        >/dev/null 2>&1 &
    GATE_PID=$!
    local i
    for i in $(seq 1 300); do
        [ "$(pg_value "$1" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND granted")" -ge 1 ] && return 0
        sleep 0.05
    done
    pg_fail "the gate's lock was never taken"
}
gate_open() { # gate_open DB: release the lock (end the psql session) and drop the trigger
    kill "$GATE_PID" 2>/dev/null || true
    wait "$GATE_PID" 2>/dev/null || true
    pg_admin_psql "$1" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$1'
        AND application_name = 'psql' AND query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
    pg_admin_psql "$1" -c "DROP TRIGGER ch_test_gate ON cardharness.runs; DROP FUNCTION public.ch_test_gate()" >/dev/null
}

# wait_mid_push DB PID: until two runs (or more: the push sends runs over two connections at once)
# are committed and the push waits at the gate, inside a later run's transaction.
wait_mid_push() {
    local db=$1 pid=$2 i committed waiting
    for i in $(seq 1 1200); do
        kill -0 "$pid" 2>/dev/null || pg_fail "the push ended before it could be interrupted"
        committed=$(pg_value "$db" "SELECT count(*) FROM cardharness.runs")
        waiting=$(pg_value "$db" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
            AND application_name = 'cardharness push' AND xact_start IS NOT NULL
            AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        [ "$committed" -ge 2 ] && [ "$waiting" -ge 1 ] && return 0
        sleep 0.05
    done
    pg_fail "the push never reached the gate after its second run"
}

# 1. The server dies in the middle of a run's transaction.
gate_close central
"$CARDHARNESS" push --to "$(pg_uri station_a central)" --db "$work/a.db" --station lab-a \
    >"$work/push1.out" 2>"$work/push1.err" &
push_pid=$!
wait_mid_push central "$push_pid"
pg_kill_server
rc=0
wait "$push_pid" || rc=$?
[ "$rc" -eq 3 ] || { cat "$work/push1.err" >&2; pg_fail "a push whose server died should exit 3, got $rc"; }
grep -Eq "lost the connection|may or may not have stored" "$work/push1.err" ||
    pg_fail "the push should say it lost the server: $(cat "$work/push1.err")"
grep -q "still pending" "$work/push1.err" || pg_fail "the push should say what is pending"
pg_restart
gate_open central
partial=$(pg_value central "SELECT count(*) FROM cardharness.runs")
[ "$partial" -ge 2 ] && [ "$partial" -lt "$runs" ] || pg_fail "expected a partial push, found $partial runs"
# Every run on the server is whole: its step count equals the station's.
incomplete=$(pg_value central "SELECT count(*) FROM cardharness.runs r WHERE (SELECT count(*)
    FROM cardharness.sessions s WHERE s.station = r.station AND s.run_uuid = r.run_uuid) = 0")
[ "$incomplete" = 0 ] || pg_fail "$incomplete runs on the server have no sessions after the crash"
pending=$("$CARDHARNESS" push --status --json --to "$(pg_uri station_a central)" --db "$work/a.db" \
    --station lab-a | jq '.pending | length')
[ "$pending" -ge $((runs - partial)) ] || pg_fail "push --status should list $((runs - partial))+ pending runs, says $pending"
central_push station_a central "$work/a.db" lab-a >/dev/null
[ "$(central_digest central)" = "$expected" ] || {
    diff <(echo "$expected") <(central_digest central) >&2
    pg_fail "after the server crash and a second push the rows differ from one clean push"
}
echo "ok: server killed mid-push ($partial of $runs runs committed); the next push completes it: same rows as one clean push"

# 2. The client is killed (SIGKILL) in the middle of a run's transaction.
central_new_database killed
gate_close killed
"$CARDHARNESS" push --to "$(pg_uri station_a killed)" --db "$work/a.db" --station lab-a \
    >/dev/null 2>&1 &
push_pid=$!
wait_mid_push killed "$push_pid"
kill -KILL "$push_pid"
wait "$push_pid" 2>/dev/null || true
partial=$(pg_value killed "SELECT count(*) FROM cardharness.runs")
[ "$partial" -lt "$runs" ] || pg_fail "the killed push had already finished"
# The server's side of the killed client ends its transaction (rolled back) once the gate opens.
gate_open killed
sqlite3 "$work/a.db" "PRAGMA integrity_check" | grep -x ok >/dev/null || pg_fail "station database damaged"
central_push station_a killed "$work/a.db" lab-a >/dev/null
[ "$(central_digest killed)" = "$expected" ] || {
    diff <(echo "$expected") <(central_digest killed) >&2
    pg_fail "after kill -9 of the client and a second push the rows differ from one clean push"
}
echo "ok: client killed mid-push ($partial of $runs runs committed); the next push completes it: same rows as one clean push"
