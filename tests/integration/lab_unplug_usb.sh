#!/usr/bin/env bash
# A real reader unplugged mid-run, through pcscd's and libccid's own removal path: with the lab on
# USB (`lab start --usb`), `lab unplug` hot-removes the USB device of a slot while its session
# runs a long suite. That session ends incomplete ("reader removed", verdict untested) with its
# earlier steps kept, the other readers finish, and `lab plug` brings the reader back.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_usb_or_skip
for tool in sqlite3 opensc-tool; do
    command -v "$tool" >/dev/null || lab_skip "$tool not found"
done

tmp_lab=$(mktemp /tmp/chlabfile.XXXXXX.csv)
cat >"$tmp_lab" <<'EOF'
slot,reader_model,card,interface,citizen
s1,lab-tpdu-contact,mynumber-slow,contact,no
s2,lab-ext-dual,juki,contact,no
s3,lab-tpdu-contact,mynumber,contact,no
EOF
lab_start --usb --lab "$tmp_lab"
rm -f "$tmp_lab"
work=$LAB_DIR/work
mkdir -p "$work"
r1=$(lab_reader s1)
[ -n "$r1" ] || lab_fail "no PC/SC reader for s1"

"$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 3 --json --db "$work/a.db" \
    >"$work/a.json" 2>"$work/a.err" &
run_pid=$!
# Unplug s1 while its slow card signs (1.8 s), well inside the jpki-mynumber suite.
for _ in $(seq 1 300); do
    grep -q "s1) .*[Ss]ign" "$work/a.err" 2>/dev/null && break
    sleep 0.05
done
grep -q "s1) .*[Ss]ign" "$work/a.err" || lab_fail "the run never reached a signing step on s1"
sleep 0.3
"$CARDHARNESS" lab unplug s1 --dir "$LAB_DIR"
set +e
wait "$run_pid"
rc=$?
set -e
[ "$rc" -eq 1 ] || { tail -n 20 "$work/a.err" >&2; lab_fail "a run with a reader unplugged should exit 1, got $rc"; }

s1=$(jq -c --arg r "$r1" '.sessions[] | select(.reader == $r)' "$work/a.json")
[ -n "$s1" ] || lab_fail "no session for $r1"
[ "$(jq -r .status <<<"$s1")" = incomplete ] ||
    lab_fail "s1 session should be incomplete: $(jq -c '{status, cause, failure, steps: [.suites[].steps[] | select(.verdict != "pass") | {id, verdict, failure, reason}][:4]}' <<<"$s1")"
# After the unplug pcscd answers the stale card handle with SCARD_E_INVALID_VALUE: a lost reader
# (aborted steps), never an unexplained error of the reader.
jq -e '[.suites[].steps[] | select(.verdict == "error")] | length == 0' <<<"$s1" >/dev/null ||
    lab_fail "s1 steps after the unplug should be aborted, not errors: $(jq -c '[.suites[].steps[] | select(.verdict == "error") | {id, reason}][:3]' <<<"$s1")"
jq -r .cause <<<"$s1" | grep "reader_gone" >/dev/null || lab_fail "s1 cause should name the lost reader: $(jq -r .cause <<<"$s1")"
passed=$(jq '[.suites[].steps[] | select(.verdict == "pass")] | length' <<<"$s1")
[ "$passed" -gt 3 ] || lab_fail "the steps before the unplug should be kept (passed: $passed)"
jq -e --arg r "$r1" '.verdicts[] | select(.reader == $r) |
        .verdict == "untested" and (.diagnosis | startswith("reader removed during"))' \
    "$work/a.json" >/dev/null ||
    lab_fail "an unplugged reader should be untested, reader removed: $(jq -c --arg r "$r1" '.verdicts[] | select(.reader == $r) | {verdict, diagnosis}' "$work/a.json")"
jq -e '[.sessions[] | select(.reader | test("-s[23]\\)"))] | length == 2 and all(.status == "complete")' \
    "$work/a.json" >/dev/null || lab_fail "the other readers should run to completion"
uuid=$(jq -r .uuid "$work/a.json")
n=$(sqlite3 "$work/a.db" "SELECT COUNT(*) FROM steps st JOIN sessions s ON s.id = st.session_id
    JOIN runs r ON r.id = s.run_id JOIN readers d ON d.id = s.reader_id
    WHERE r.uuid = '$uuid' AND d.pcsc_name = '$r1' AND st.verdict = 'pass'")
[ "$n" -eq "$passed" ] || lab_fail "stored passed steps ($n) differ from the printed ones ($passed)"
echo "ok s1 unplugged mid-suite: incomplete, untested, $passed earlier steps kept"

# The reader comes back as a new USB device.
"$CARDHARNESS" lab plug s1 --dir "$LAB_DIR"
back=""
for _ in $(seq 50); do
    back=$(lab_reader s1)
    [ -n "$back" ] && break
    sleep 0.1
done
[ -n "$back" ] || lab_fail "s1 not back after lab plug"
opensc-tool --reader "$back" --atr >/dev/null || lab_fail "no card answer on s1 after lab plug"
echo "ok s1 back after lab plug: $back"
