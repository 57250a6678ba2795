#!/usr/bin/env bash
# Faults of the environment, each at several points of a lab run (real pcscd, real SQLite files),
# and what must hold after every one of them (issue 8 §3, §4):
#   - pcscd killed, or `lab stop`, mid-run: exit 3, the sessions it cut short `untested` with an
#     environment cause (pcscd_lost / lab_stopped), never a reader verdict;
#   - a full disk (a small tmpfs, filled at start, mid-run): exit 3 naming the file, the summary
#     never says "stored" for what was not, every stored verdict has its session and steps;
#   - `kill -9` of `run`: the run stays visible, `report` and `diff` show it interrupted without
#     writing the file, the next `run` marks it interrupted, `diff` fails (exit 1) on the readers
#     it lost unless --allow-missing;
#   - a corrupt page (between runs, mid-run): `run` refuses the file (exit 3, named), `report`
#     and `diff` name it (exit 3).
# After each: PRAGMA integrity_check is ok (except the corrupt file), no stored session lacks the
# steps the run printed, no verdict lacks its session.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found"
mount_ok=$(unshare -m --propagation private sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d" && rmdir "$d" && echo yes' 2>/dev/null || true)
[ "$mount_ok" = yes ] || lab_skip "cannot mount a tmpfs in a private mount namespace"

started=$(date +%s)
labfile=$(mktemp /tmp/chlabfile.XXXXXX.csv)
cat >"$labfile" <<'EOF'
slot,reader_model,card,interface,citizen
s1,lab-tpdu-contact,mynumber-slow,contact,no
s2,lab-short-261,mynumber,contact,no
s3,lab-ext-dual,juki,contact,no
EOF
lab_start --lab "$labfile"
work=$LAB_DIR/work
mkdir -p "$work"
faults=0

run_bg() { # db json-out err-out [run args...]: starts `run --all --jobs 1` in the background
    local db=$1 out=$2 err=$3
    shift 3
    "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 1 --json --db "$db" "$@" >"$out" 2>"$err" &
    RUN_PID=$!
}

finish() { # waits for RUN_PID; sets RC
    set +e
    wait "$RUN_PID"
    RC=$?
    set -e
}

sessions_in() { sqlite3 "$1" "SELECT COUNT(*) FROM sessions" 2>/dev/null || echo 0; }

wait_sessions() { # db n: until n sessions are stored (or 20 s)
    local i
    for i in $(seq 1 400); do
        [ "$(sessions_in "$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    lab_fail "no $2 stored session(s) in $1 within 20 s"
}

wait_step() { # err n: until the first reader's progress reaches step n (or 20 s)
    local i
    for i in $(seq 1 400); do
        grep -q "(s1) .*\[$2/" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$1" >&2
    lab_fail "the run never reached step $2 on s1"
}

restart_lab() {
    timeout 20 "$CARDHARNESS" lab stop --dir "$LAB_DIR" >/dev/null 2>&1 || true
    local out
    out=$(timeout 60 "$CARDHARNESS" lab start --dir "$LAB_DIR" --lab "$labfile") || lab_fail "lab restart failed"
    eval "$out"
    export PCSCLITE_CSOCK_NAME
}

# The database is whole and nothing in it is half-written: integrity ok, every verdict has its
# session, every stored session has the steps the run printed for it.
check_whole() { # db json-out label
    local db=$1 json=$2 label=$3
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || lab_fail "$label: integrity_check failed"
    local orphans
    orphans=$(sqlite3 "$db" "SELECT COUNT(*) FROM verdicts v WHERE v.session_id IS NULL
        OR NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = v.session_id)")
    [ "$orphans" -eq 0 ] || lab_fail "$label: $orphans verdict(s) without their session"
    orphans=$(sqlite3 "$db" "SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS
        (SELECT 1 FROM verdicts v WHERE v.session_id = s.id)")
    [ "$orphans" -eq 0 ] || lab_fail "$label: $orphans session(s) without their verdict"
    if [ -s "$json" ]; then
        local uuid reader want got
        uuid=$(jq -r .uuid "$json")
        while IFS=$'\t' read -r reader want; do
            got=$(sqlite3 "$db" "SELECT COUNT(*) FROM steps st JOIN sessions s ON s.id = st.session_id
                JOIN runs r ON r.id = s.run_id JOIN readers rd ON rd.id = s.reader_id
                WHERE r.uuid = '$uuid' AND rd.pcsc_name = '$reader'")
            [ "$got" -eq "$want" ] || lab_fail "$label: $reader: $got stored steps, the run printed $want"
        done < <(jq -r '.sessions[] | select(.stored) | [.reader, ([.suites[].steps[]] | length)] | @tsv' "$json")
        local claimed
        claimed=$(jq '[.sessions[] | select(.stored)] | length' "$json")
        [ "$claimed" -eq "$(jq .stored_sessions "$json")" ] || lab_fail "$label: stored_sessions disagrees"
        [ "$claimed" -eq "$(sqlite3 "$db" "SELECT COUNT(*) FROM sessions s JOIN runs r ON r.id = s.run_id WHERE r.uuid = '$uuid'")" ] ||
            lab_fail "$label: the JSON claims $claimed stored sessions, the database holds another number"
    fi
}

# An environment failure never becomes a reader verdict.
check_environment_untested() { # json label
    local json=$1 label=$2
    jq -e '[.sessions[] | select(.failure == "no_service" or .failure == "lab_stopped")] | length > 0' "$json" >/dev/null ||
        lab_fail "$label: no session carries the environment failure: $(jq -c '[.sessions[] | {reader, failure, status}]' "$json")"
    local bad
    bad=$(jq -c '[range(0; .sessions | length) as $i | select(.sessions[$i].failure == "no_service" or .sessions[$i].failure == "lab_stopped") | .verdicts[$i] | select(.verdict != "untested" or ((.causes | index("pcscd_lost")) == null and (.causes | index("lab_stopped")) == null))]' "$json")
    [ "$bad" = "[]" ] || lab_fail "$label: an environment failure became a reader verdict: $bad"
    jq -e '[.verdicts[] | select(.verdict == "incompatible" and .reader != "'"$R2"'")] | length == 0' "$json" >/dev/null ||
        lab_fail "$label: a good reader was judged incompatible: $(jq -c .verdicts "$json")"
}

R1=$(lab_reader s1)
R2=$(lab_reader s2)

# 0. A baseline: a complete run (s1 compatible, s2 incompatible: 261-byte messages, s3 compatible).
run_bg "$work/base.db" "$work/base.json" "$work/base.err"
finish
[ "$RC" -eq 1 ] || lab_fail "baseline run: expected exit 1 (one incompatible reader), got $RC"
check_whole "$work/base.db" "$work/base.json" "baseline"
"$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null

# 1. pcscd killed, and `lab stop`, at two points: during the first reader's suites, and after the
#    first session is stored.
for fault in pcscd stop; do
    for point in early later; do
        label="$fault/$point"
        db=$work/$fault-$point.db
        run_bg "$db" "$work/$fault-$point.json" "$work/$fault-$point.err"
        if [ "$point" = early ]; then wait_step "$work/$fault-$point.err" 8; else wait_sessions "$db" 1; sleep 0.2; fi
        if [ "$fault" = pcscd ]; then
            kill -KILL "$(jq -r .pcscd_pid "$LAB_DIR/state.json")"
        else
            "$CARDHARNESS" lab stop --dir "$LAB_DIR" >/dev/null 2>&1
        fi
        finish
        [ "$RC" -eq 3 ] || lab_fail "$label: expected exit 3 (environment), got $RC"
        check_environment_untested "$work/$fault-$point.json" "$label"
        check_whole "$db" "$work/$fault-$point.json" "$label"
        [ "$(sqlite3 "$db" "SELECT status FROM runs")" = incomplete ] || lab_fail "$label: run not incomplete"
        if [ "$point" = later ]; then
            # The session stored before the fault keeps its real verdict.
            jq -e --arg r "$R1" '.verdicts[] | select(.reader == $r) | .verdict == "compatible"' "$work/$fault-$point.json" >/dev/null ||
                lab_fail "$label: the session before the fault lost its verdict"
        fi
        echo "ok $label: exit 3, $(jq -r '[.verdicts[] | .verdict + "(" + (.causes | join(",")) + ")"] | join(" ")' "$work/$fault-$point.json")"
        faults=$((faults + 1))
        restart_lab
    done
done

# 2. A full disk at three points: too small to create the database, full during the second
#    session, and filled up after the first session is stored.
for point in open second filled; do
    label="disk/$point"
    disk=$work/disk-$point
    mkdir -p "$disk"
    case $point in
    open) size=24k ;;
    second) size=300k ;;
    filled) size=4m ;;
    esac
    set +e
    unshare -m --propagation private bash -c '
        set -u
        disk=$1 size=$2 point=$3
        mount -t tmpfs -o "size=$size" tmpfs "$disk" || exit 90
        "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 1 --json --db "$disk/h.db" >"$disk.json" 2>"$disk.err" &
        pid=$!
        if [ "$point" = filled ]; then
            for _ in $(seq 1 400); do
                [ "$(sqlite3 "$disk/h.db" "SELECT COUNT(*) FROM sessions" 2>/dev/null || echo 0)" -ge 1 ] && break
                sleep 0.05
            done
            dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null || true
        fi
        wait "$pid"
        rc=$?
        rm -f "$disk/filler"
        mkdir -p "$disk.copy"
        cp "$disk"/h.db* "$disk.copy/" 2>/dev/null || true
        umount "$disk"
        exit "$rc"' _ "$disk" "$size" "$point"
    RC=$?
    set -e
    [ "$RC" -ne 90 ] || lab_skip "tmpfs mount failed"
    [ "$RC" -eq 3 ] || { tail -n 5 "$disk.err" >&2; lab_fail "$label: expected exit 3, got $RC"; }
    grep -q "$disk/h.db" "$disk.err" "$disk.json" || lab_fail "$label: the database file is not named"
    if [ -s "$disk.json" ]; then
        jq -e '.store_error != null' "$disk.json" >/dev/null || lab_fail "$label: no store_error in the JSON"
        jq -e '[.sessions[] | select(.stored | not)] | length > 0 or (.not_run | length > 0)' "$disk.json" >/dev/null ||
            lab_fail "$label: every session claims to be stored on a full disk"
    fi
    if [ -f "$disk.copy/h.db" ] &&
        [ "$(sqlite3 "$disk.copy/h.db" "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'verdicts'")" = 1 ]; then
        check_whole "$disk.copy/h.db" "$disk.json" "$label"
    fi
    echo "ok $label: exit 3, $( [ -s "$disk.json" ] && jq -r '"\(.stored_sessions) stored, \([.sessions[] | select(.stored | not)] | length) not stored, \(.not_run | length) not run"' "$disk.json" || echo "refused before the run")"
    faults=$((faults + 1))
    "$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null
done
# The same full disk in the plain summary: it never says "stored in" for what was not.
disk=$work/disk-summary
mkdir -p "$disk"
set +e
unshare -m --propagation private bash -c '
    mount -t tmpfs -o size=300k tmpfs "$1" || exit 90
    "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 1 --db "$1/h.db" >"$1.out" 2>"$1.err"
    rc=$?; umount "$1"; exit $rc' _ "$disk"
RC=$?
set -e
[ "$RC" -eq 3 ] || lab_fail "disk/summary: expected exit 3, got $RC"
! grep -qE "^run [0-9a-f-]+ \([a-z]+\) stored in" "$disk.out" || lab_fail "disk/summary: the summary says \"stored\": $(cat "$disk.out")"
grep -q "NOT stored" "$disk.out" || lab_fail "disk/summary: the summary does not say what was not stored"
echo "ok disk/summary: $(grep -E '^run |^NOT' "$disk.out" | head -2 | tr '\n' ' ')"
"$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null

# 3. kill -9 of `run` at two points; `report` and `diff` show the run interrupted without writing;
#    `diff` fails on the readers it lost; the next `run` marks it interrupted.
for point in early later; do
    label="kill/$point"
    db=$work/kill-$point.db
    run_bg "$db" "$work/kill-$point.json" "$work/kill-$point.err"
    if [ "$point" = early ]; then wait_step "$work/kill-$point.err" 8; else wait_sessions "$db" 1; fi
    kill -KILL "$RUN_PID"
    finish
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || lab_fail "$label: integrity_check failed"
    [ "$(sqlite3 "$db" "SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.session_id = s.id)")" -eq 0 ] ||
        lab_fail "$label: a session without its verdict"
    [ "$(sqlite3 "$db" "SELECT status FROM runs")" = running ] || lab_fail "$label: the killed run is not left running"
    sum_before=$({ cat "$db" "$db-wal" 2>/dev/null || true; } | sha256sum)
    set +e
    "$CARDHARNESS" report --db "$db" --format json >"$work/kill-$point.report.json" 2>"$work/kill-$point.report.err"
    rc_report=$?
    "$CARDHARNESS" diff "$work/base.db" "$db" >"$work/kill-$point.diff" 2>&1
    rc_diff=$?
    "$CARDHARNESS" diff --allow-missing "$work/base.db" "$db" >"$work/kill-$point.diff2" 2>&1
    rc_allowed=$?
    set -e
    [ "$rc_report" -eq 0 ] || lab_fail "$label: report exited $rc_report: $(cat "$work/kill-$point.report.err")"
    jq -e '.runs[] | select(.status == "interrupted")' "$work/kill-$point.report.json" >/dev/null ||
        lab_fail "$label: report does not show the run interrupted: $(jq -c '[.runs[] | {uuid, status}]' "$work/kill-$point.report.json")"
    grep -q "interrupted" "$work/kill-$point.report.err" || lab_fail "$label: report does not warn about the interrupted run"
    [ "$rc_diff" -eq 1 ] || lab_fail "$label: diff against a run that lost readers exited $rc_diff: $(cat "$work/kill-$point.diff")"
    grep -q "Runs not complete" "$work/kill-$point.diff" || lab_fail "$label: diff does not show the interrupted run"
    grep -qi "missing" "$work/kill-$point.diff" || lab_fail "$label: diff does not list the missing readers"
    [ "$rc_allowed" -eq 0 ] || lab_fail "$label: diff --allow-missing exited $rc_allowed: $(cat "$work/kill-$point.diff2")"
    [ "$({ cat "$db" "$db-wal" 2>/dev/null || true; } | sha256sum)" = "$sum_before" ] || lab_fail "$label: report/diff wrote to the database"
    [ "$(sqlite3 "$db" "SELECT status FROM runs")" = running ] || lab_fail "$label: report/diff changed the run"
    # The next run on the database marks the stale run.
    "$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null
    set +e
    "$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$R2" --suite identify --json --db "$db" >"$work/kill-$point.next" 2>"$work/kill-$point.next.err"
    set -e
    grep -q "was interrupted" "$work/kill-$point.next.err" || lab_fail "$label: the next run did not say it marked the stale run"
    marked=$(sqlite3 "$db" "SELECT status || '|' || cause FROM runs ORDER BY id LIMIT 1")
    case $marked in
    "interrupted|"*"pid $RUN_PID"*) ;;
    *) lab_fail "$label: the stale run is not marked interrupted with its pid: $marked" ;;
    esac
    check_whole "$db" "" "$label"
    echo "ok $label: report/diff show it interrupted read-only, diff exit 1 (--allow-missing 0), next run marked it"
    faults=$((faults + 1))
done
"$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null

# 4. A corrupt page: between runs, and mid-run (after the first session is stored).
corrupt_page() { # db: a b-tree page of the stored steps (which every reader of a run reads)
    sqlite3 "$1" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
    local page
    page=$(sqlite3 "$1" "SELECT pageno FROM dbstat WHERE name = 'steps' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET (SELECT count(*) / 2 FROM dbstat WHERE name = 'steps' AND pagetype = 'leaf')")
    [ -n "$page" ] || lab_fail "no leaf page of the steps table to corrupt"
    head -c 4096 /dev/zero | tr '\0' 'Z' | dd of="$1" bs=4096 seek=$((page - 1)) conv=notrunc status=none
}
for point in between mid; do
    label="corrupt/$point"
    db=$work/corrupt-$point.db
    cp "$work/base.db" "$db"
    if [ "$point" = between ]; then
        corrupt_page "$db"
    else
        run_bg "$db" "$work/corrupt-$point.json" "$work/corrupt-$point.err"
        wait_sessions "$db" 1
        corrupt_page "$db"
        finish
        # The run either met the corruption (exit 3, the file named) or wrote past it.
        if [ "$RC" -eq 3 ]; then
            grep -q "$db" "$work/corrupt-$point.err" "$work/corrupt-$point.json" || lab_fail "$label: exit 3 without naming the file"
        fi
        "$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null
    fi
    for cmd in run report diff; do
        set +e
        case $cmd in
        run) "$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$R1" --db "$db" >"$work/c.out" 2>"$work/c.err" ;;
        report) "$CARDHARNESS" report --db "$db" --format json >"$work/c.out" 2>"$work/c.err" ;;
        diff) "$CARDHARNESS" diff "$work/base.db" "$db" >"$work/c.out" 2>"$work/c.err" ;;
        esac
        rc=$?
        set -e
        # `report` and `diff` read the run headers and the steps of the cells they show only
        # (model::ResultQuery): mid-run, the corrupt page may hold steps no cell shows, and then
        # what they print is whole (valid JSON / a diff); `run` (PRAGMA quick_check) refuses it.
        if [ "$point" = mid ] && [ "$cmd" != run ] && [ "$rc" -ne 3 ]; then
            case $cmd in
            report) [ "$rc" -eq 0 ] && jq -e .readers "$work/c.out" >/dev/null ||
                lab_fail "$label: report exited $rc without a whole report: $(tail -n 3 "$work/c.err")" ;;
            diff) [ "$rc" -le 1 ] || lab_fail "$label: diff exited $rc: $(tail -n 3 "$work/c.err")" ;;
            esac
            continue
        fi
        [ "$rc" -eq 3 ] || lab_fail "$label: $cmd on a corrupt database exited $rc: $(tail -n 3 "$work/c.err")"
        grep -q "$db" "$work/c.err" || lab_fail "$label: $cmd does not name the file: $(cat "$work/c.err")"
        grep -qi "corrupt" "$work/c.err" || lab_fail "$label: $cmd does not say corrupt: $(cat "$work/c.err")"
    done
    echo "ok $label: run, report and diff exit 3 naming $db"
    faults=$((faults + 1))
done

echo "ok: $faults faults survived in $(($(date +%s) - started)) s"
