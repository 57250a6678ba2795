#!/usr/bin/env bash
# `cardharness diff` as a CI gate: a JSON baseline exported from one database, a candidate
# database in which one reader model now fails its My Number signature (report_fixture
# "regressed") -> exit 1 and the regression named; a clean candidate -> exit 0; the three kinds of
# side (database, run id in --db, JSON export) and the output formats.
set -euo pipefail
fixture=$CARDHARNESS_TOOLS_DIR/report_fixture
[ -x "$fixture" ] || { echo "SKIP: $fixture not built"; exit 77; }
work=$(mktemp -d /tmp/chdiff.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$fixture" "$work/base.db" baseline >/dev/null
"$fixture" "$work/cand.db" regressed >/dev/null
"$CARDHARNESS" report --db "$work/base.db" --format json --out "$work/baseline.json" >/dev/null

# Clean: baseline against itself, as JSON and as a database.
"$CARDHARNESS" diff "$work/baseline.json" "$work/base.db" >"$work/clean.txt" ||
    fail "clean diff should exit 0: $(cat "$work/clean.txt")"

# Regressed candidate: exit 1, regression named (reader, card, step).
set +e
"$CARDHARNESS" diff "$work/baseline.json" "$work/cand.db" >"$work/reg.txt" 2>"$work/reg.err"
rc=$?
set -e
cat "$work/reg.txt"
[ "$rc" -eq 1 ] || fail "regressed diff should exit 1, got $rc: $(cat "$work/reg.err")"
grep -q '^Regressions (2):' "$work/reg.txt" || fail "expected 2 regressions"
grep -qF 'ACS ACR39U ICC Reader (072F:B100 fw 1.00) mynumber/contact: verdict: compatible → incompatible' \
    "$work/reg.txt" || fail "verdict regression not named"
grep -qF 'step jpki.auth.sign (jpki-mynumber): pass → fail' "$work/reg.txt" ||
    fail "step regression not named"

# JSON and Markdown output say the same.
set +e
"$CARDHARNESS" diff "$work/baseline.json" "$work/cand.db" --format json >"$work/reg.json"
rc_json=$?
"$CARDHARNESS" diff "$work/baseline.json" "$work/cand.db" --format md >"$work/reg.md"
rc_md=$?
set -e
[ "$rc_json" -eq 1 ] && [ "$rc_md" -eq 1 ] || fail "json/md formats should exit 1 too"
jq -e '.regression == true and .counts.regression == 2 and
       ([.changes[] | select(.kind == "regression") | .step_id] | index("jpki.auth.sign") != null)' \
    "$work/reg.json" >/dev/null || fail "JSON diff: $(cat "$work/reg.json")"
grep -q '^## Regressions (2)' "$work/reg.md" || fail "Markdown diff lacks the regressions heading"

# Reversed, the regression is a fix: exit 0.
"$CARDHARNESS" diff "$work/cand.db" "$work/baseline.json" >"$work/fix.txt" ||
    fail "reversed diff should exit 0"
grep -q '^Fixes (2):' "$work/fix.txt" || fail "reversed diff should list 2 fixes"

# Run ids in --db: run 1 against run 2 of the regressed database.
set +e
"$CARDHARNESS" diff 00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000002 \
    --db "$work/cand.db" >"$work/runs.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "run-id diff should exit 1, got $rc"
grep -q 'jpki.auth.sign' "$work/runs.txt" || fail "run-id diff did not name the step"

# Usage errors: exit 2.
set +e
"$CARDHARNESS" diff "$work/missing.json" "$work/cand.db" >/dev/null 2>&1; r1=$?
"$CARDHARNESS" diff nosuchrun "$work/cand.db" --db "$work/cand.db" >/dev/null 2>&1; r2=$?
printf '{\n  "schema_version": 1,\n  nope\n}\n' >"$work/bad.json"
"$CARDHARNESS" diff "$work/bad.json" "$work/cand.db" >/dev/null 2>"$work/bad.err"; r3=$?
"$CARDHARNESS" diff "$work/baseline.json" >/dev/null 2>&1; r4=$?
set -e
[ "$r1" -eq 2 ] && [ "$r2" -eq 2 ] && [ "$r3" -eq 2 ] && [ "$r4" -eq 2 ] ||
    fail "usage errors should exit 2 (got $r1 $r2 $r3 $r4)"
grep -q "bad.json:3:" "$work/bad.err" || fail "bad JSON error lacks file:line: $(cat "$work/bad.err")"
echo "diff gating ok"
