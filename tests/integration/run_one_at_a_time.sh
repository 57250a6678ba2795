#!/usr/bin/env bash
# One run at a time per lab or reader (issue 8 §3): while a `run --all` tests a lab, a second
# `run --all` (or a run on one of its readers, or a second `run --lab` on the same lab folder)
# exits 3 before any session starts, naming the holder (host, pid, start time); runs on distinct
# readers still run side by side. And `run --lab` stops the lab it started on SIGTERM.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found"

labfile=$(mktemp /tmp/chlabfile.XXXXXX.csv)
cat >"$labfile" <<'EOF'
slot,reader_model,card,interface,citizen
s1,lab-tpdu-contact,mynumber-slow,contact,no
s2,lab-ext-dual,juki,contact,no
s3,lab-tpdu-contact,mynumber,contact,no
EOF
lab_start --lab "$labfile"
rm -f "$labfile"
work=$LAB_DIR/work
mkdir -p "$work"
host=$(hostname)
r1=$(lab_reader s1)
r3=$(lab_reader s3)

expect_refused() { # label db command...: exit 3, the holder named, no run recorded
    local label=$1 db=$2
    shift 2
    set +e
    "$@" --db "$db" >"$work/b.out" 2>"$work/b.err"
    local rc=$?
    set -e
    [ "$rc" -eq 3 ] || lab_fail "$label: expected exit 3, got $rc: $(tail -n 3 "$work/b.err")"
    grep -q "pid $A_PID" "$work/b.err" || lab_fail "$label: the holder's pid is not named: $(cat "$work/b.err")"
    grep -q "host $host" "$work/b.err" || lab_fail "$label: the holder's host is not named: $(cat "$work/b.err")"
    grep -qE "started [0-9]{4}-[0-9]{2}-[0-9]{2}T" "$work/b.err" || lab_fail "$label: the holder's start time is not named"
    grep -q "$A_UUID" "$work/b.err" || lab_fail "$label: the holder's run id is not named"
    if [ -f "$db" ]; then
        [ "$(sqlite3 "$db" "SELECT COUNT(*) FROM runs")" -eq 0 ] || lab_fail "$label: the refused run recorded a run"
    fi
    echo "ok $label: exit 3 — $(head -n 1 "$work/b.err")"
}

# Run A: every reader of the lab.
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 1 --json --db "$work/a.db" >"$work/a.json" 2>"$work/a.err" &
A_PID=$!
for _ in $(seq 1 400); do
    A_UUID=$(sqlite3 "$work/a.db" "SELECT uuid FROM runs WHERE status = 'running'" 2>/dev/null || true)
    [ -n "$A_UUID" ] && break
    sleep 0.05
done
[ -n "$A_UUID" ] || lab_fail "run A never started"

expect_refused "second run --all" "$work/b.db" "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all
expect_refused "a run on one of its readers" "$work/c.db" "$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r3"
expect_refused "a run on another of its readers" "$work/a2.db" "$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r1"

set +e
wait "$A_PID"
rc=$?
set -e
[ "$rc" -eq 0 ] || lab_fail "run A should pass every reader, exit $rc: $(jq -c '[.verdicts[] | {reader, verdict, diagnosis}]' "$work/a.json")"
jq -e '[.verdicts[] | select(.verdict == "compatible")] | length == 3' "$work/a.json" >/dev/null ||
    lab_fail "run A's verdicts are wrong: $(jq -c .verdicts "$work/a.json")"
echo "ok: run A unharmed ($(jq -r '[.verdicts[].verdict] | join(" ")' "$work/a.json"))"

# Distinct readers run side by side; the lock is released when a run ends.
"$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r1" --suite identify --db "$work/d.db" >"$work/d1.out" 2>"$work/d1.err" &
p1=$!
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r3" --suite identify --db "$work/d.db" >"$work/d2.out" 2>"$work/d2.err" &
p2=$!
set +e
wait "$p1"
rc1=$?
wait "$p2"
rc2=$?
set -e
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] || lab_fail "runs on distinct readers exited $rc1 and $rc2: $(cat "$work/d1.err" "$work/d2.err" | tail -n 4)"
echo "ok: runs on distinct readers ran side by side"

# `run --lab`: a second one on the same lab folder is refused, and SIGTERM stops the lab.
lab2=$(mktemp -d /tmp/chlab2.XXXXXX)
cleanup2() {
    if [ -f "$lab2/state.json" ]; then
        timeout 20 "$CARDHARNESS" lab stop --dir "$lab2" >/dev/null 2>&1 || true
    fi
    rm -rf "$lab2"
}
trap 'cleanup2; lab_cleanup' EXIT
"$CARDHARNESS" run --lab --lab-dir "$lab2" --all --no-matrix --jobs 1 --db "$work/l.db" >"$work/l.out" 2>"$work/l.err" &
A_PID=$!
for _ in $(seq 1 600); do
    grep -q "\[5/" "$work/l.err" 2>/dev/null && break
    sleep 0.05
done
grep -q "\[5/" "$work/l.err" || lab_fail "run --lab never reached its suites: $(tail -n 5 "$work/l.err")"
A_UUID=$(sqlite3 "$work/l.db" "SELECT uuid FROM runs WHERE status = 'running'")
lab_pid=$(jq -r .pid "$lab2/state.json")
lab_pcscd=$(jq -r .pcscd_pid "$lab2/state.json")
expect_refused "a second run --lab on the same lab" "$work/l2.db" "$CARDHARNESS" run --lab --lab-dir "$lab2" --all
kill -TERM "$A_PID"
set +e
wait "$A_PID"
set -e
for _ in $(seq 1 100); do
    kill -0 "$lab_pid" 2>/dev/null || kill -0 "$lab_pcscd" 2>/dev/null || break
    sleep 0.1
done
! kill -0 "$lab_pid" 2>/dev/null || lab_fail "run --lab left its lab (pid $lab_pid) running after SIGTERM"
! kill -0 "$lab_pcscd" 2>/dev/null || lab_fail "run --lab left the lab's pcscd (pid $lab_pcscd) running after SIGTERM"
status=$(sqlite3 "$work/l.db" "SELECT status FROM runs WHERE uuid = '$A_UUID'")
[ "$status" = incomplete ] || lab_fail "the signalled run is $status, not incomplete"
echo "ok: SIGTERM ended run --lab cleanly (run $status) and stopped its lab"
