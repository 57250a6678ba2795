#!/usr/bin/env bash
# `cardharness run` exit codes on the default lab (0 all compatible, 1 incompatibility, 2 usage or
# PIN-file errors with file:line:column, 3 no pcscd), and two runs writing to one database at
# once both succeed.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found"

lab_start
work=$LAB_DIR/work
mkdir -p "$work"
r01=$(lab_reader r01) # passes everything
r03=$(lab_reader r03) # short APDU, 261-byte messages: incompatible
r12=$(lab_reader r12) # extended dual reader with a Juki card: passes

expect_rc() { # expected, label, command...
    local want=$1 label=$2
    shift 2
    set +e
    "$@" >"$work/out" 2>"$work/err"
    local rc=$?
    set -e
    if [ "$rc" -ne "$want" ]; then
        tail -n 5 "$work/err" >&2
        lab_fail "$label: expected exit $want, got $rc"
    fi
    echo "ok $label: exit $rc"
}

expect_rc 0 "compatible reader" "$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r01" --db "$work/h.db"
grep -q "compatible" "$work/out" || lab_fail "summary table lacks the verdict"
expect_rc 1 "incompatible reader" "$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r03" --db "$work/h.db"
grep -q "261-byte message limit" "$work/out" || lab_fail "summary lacks the diagnosis"
expect_rc 2 "unknown reader" "$CARDHARNESS" run --reader "No Such Reader 00 00" --db "$work/h.db"
expect_rc 2 "--reader with --all" "$CARDHARNESS" run --reader "$r01" --all --db "$work/h.db"
expect_rc 2 "several readers without a choice" "$CARDHARNESS" run --db "$work/h.db"
expect_rc 2 "unknown suite" "$CARDHARNESS" run --reader "$r01" --suite no-such-suite --db "$work/h.db"
printf 'pin,value\nauth,1234\nbogus,5678\n' >"$work/pins.csv"
expect_rc 2 "bad PIN file" "$CARDHARNESS" run --reader "$r01" --pins "$work/pins.csv" --db "$work/h.db"
grep -qE "pins.csv:3:1: expected" "$work/err" || lab_fail "PIN file error lacks file:line:column: $(cat "$work/err")"
! grep -q 5678 "$work/err" || lab_fail "the PIN file error echoes a value"
expect_rc 2 "PIN as an argument is not an option" "$CARDHARNESS" run --reader "$r01" --pin 1234 --db "$work/h.db"
expect_rc 2 "--jobs 0" "$CARDHARNESS" run --all --jobs 0 --db "$work/h.db"
grep -q -- "--jobs: Value 0 not in range 1 to 64" "$work/err" || lab_fail "--jobs bound message: $(cat "$work/err")"
expect_rc 2 "--jobs 65" "$CARDHARNESS" run --all --jobs 65 --db "$work/h.db"
expect_rc 3 "no pcscd" env PCSCLITE_CSOCK_NAME="$work/none/pcscd.comm" "$CARDHARNESS" run --all --db "$work/h.db"

# Two runs writing to one database at once (pin-behaviour blocked the emulated PINs above).
"$CARDHARNESS" lab reset --dir "$LAB_DIR"
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r01" --db "$work/c.db" --json >"$work/c1" 2>"$work/c1.err" &
p1=$!
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r12" --db "$work/c.db" --json >"$work/c2" 2>"$work/c2.err" &
p2=$!
set +e
wait "$p1"
rc1=$?
wait "$p2"
rc2=$?
set -e
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] || {
    tail -n 5 "$work/c1.err" "$work/c2.err" >&2
    lab_fail "concurrent runs exited $rc1 and $rc2"
}
n=$(sqlite3 "$work/c.db" "SELECT COUNT(*) FROM runs WHERE status = 'complete'")
[ "$n" -eq 2 ] || lab_fail "expected 2 complete runs in the shared database, got $n"
for f in c1 c2; do
    uuid=$(jq -r .uuid "$work/$f")
    s=$(sqlite3 "$work/c.db" "SELECT COUNT(*) FROM steps st JOIN sessions s ON s.id = st.session_id
        JOIN runs r ON r.id = s.run_id WHERE r.uuid = '$uuid'")
    [ "$s" -eq "$(jq '[.sessions[].suites[].steps[]] | length' "$work/$f")" ] ||
        lab_fail "run $uuid: stored steps differ from the printed ones"
done
echo "ok: two concurrent runs stored complete in one database"
