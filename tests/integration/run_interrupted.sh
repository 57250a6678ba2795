#!/usr/bin/env bash
# Interrupted runs keep their evidence: `lab remove` in the middle of a suite aborts that reader's
# session (incomplete, with its cause, earlier steps kept) while the next reader still runs; a
# run killed with SIGKILL stays visible as not complete, with the sessions stored before it.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found"

tmp_lab=$(mktemp /tmp/chlabfile.XXXXXX.csv)
cat >"$tmp_lab" <<'EOF'
slot,reader_model,card,interface,citizen
s1,lab-tpdu-contact,mynumber-slow,contact,no
s2,lab-ext-dual,juki,contact,no
s3,lab-tpdu-contact,mynumber-slow,contact,no
EOF
lab_start --lab "$tmp_lab"
rm -f "$tmp_lab"
work=$LAB_DIR/work
mkdir -p "$work"
r1=$(lab_reader s1)

# 1. The card is removed while the slow card signs (1.8 s): that session is aborted cleanly.
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 1 --json --db "$work/a.db" \
    >"$work/a.json" 2>"$work/a.err" &
run_pid=$!
for _ in $(seq 1 300); do
    grep -q "s1) .*signature\|s1) .*[Ss]ign" "$work/a.err" 2>/dev/null && break
    sleep 0.05
done
grep -q "s1) .*[Ss]ign" "$work/a.err" || lab_fail "the run never reached a signing step on s1"
sleep 0.3
"$CARDHARNESS" lab remove s1 --dir "$LAB_DIR"
set +e
wait "$run_pid"
rc=$?
set -e
[ "$rc" -eq 1 ] || lab_fail "a run with an aborted session should exit 1, got $rc"
s1=$(jq -c --arg r "$r1" '.sessions[] | select(.reader == $r)' "$work/a.json")
[ "$(jq -r .status <<<"$s1")" = incomplete ] || lab_fail "s1 session should be incomplete"
jq -r .cause <<<"$s1" | grep -i "remov" >/dev/null || lab_fail "s1 cause should name the removal: $(jq -r .cause <<<"$s1")"
passed=$(jq '[.suites[].steps[] | select(.verdict == "pass")] | length' <<<"$s1")
[ "$passed" -gt 3 ] || lab_fail "the steps before the removal should be kept (passed: $passed)"
jq -e '[.suites[].steps[] | select(.verdict == "aborted" or .verdict == "error" or .verdict == "fail")] | length > 0' \
    <<<"$s1" >/dev/null || lab_fail "the interrupted step should be recorded"
jq -e --arg r "$r1" '.verdicts[] | select(.reader == $r) | .verdict == "untested"' "$work/a.json" \
    >/dev/null || lab_fail "a removed card leaves its reader untested"
jq -e '.sessions | map(select(.reader_model == "lab-ext-dual")) | .[0].status == "complete"' \
    "$work/a.json" >/dev/null || lab_fail "the next reader should still run to completion"
uuid=$(jq -r .uuid "$work/a.json")
[ "$(sqlite3 "$work/a.db" "SELECT status FROM runs WHERE uuid='$uuid'")" = incomplete ] ||
    lab_fail "the stored run should be incomplete"
n=$(sqlite3 "$work/a.db" "SELECT COUNT(*) FROM steps st JOIN sessions s ON s.id = st.session_id
    WHERE s.status = 'incomplete' AND st.verdict = 'pass'")
[ "$n" -gt 3 ] || lab_fail "stored incomplete session lacks its earlier steps ($n)"
echo "ok: removal mid-suite: session incomplete ($(jq -r .cause <<<"$s1")), $passed steps kept"
"$CARDHARNESS" lab insert s1 --dir "$LAB_DIR"

# 2. SIGKILL after the first reader's session is stored: the run stays visible, not complete,
#    with that session's steps kept.
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 1 --db "$work/k.db" \
    >"$work/k.out" 2>"$work/k.err" &
run_pid=$!
stored=0
for _ in $(seq 1 400); do
    stored=$(sqlite3 "$work/k.db" "SELECT COUNT(*) FROM sessions" 2>/dev/null || echo 0)
    [ "${stored:-0}" -ge 1 ] && break
    sleep 0.05
done
kill -KILL "$run_pid"
wait "$run_pid" 2>/dev/null || true
[ "${stored:-0}" -ge 1 ] || lab_fail "no session was stored before the kill"
status=$(sqlite3 "$work/k.db" "SELECT status || '|' || ended_at FROM runs")
[ "$status" = "running|" ] || lab_fail "a killed run should stay 'running' with no end (got $status)"
n=$(sqlite3 "$work/k.db" "SELECT COUNT(*) FROM steps")
[ "$n" -gt 3 ] || lab_fail "the killed run lost the steps of its stored session ($n)"
echo "ok: killed run visible as not complete ($status) with $n steps kept"
