#!/usr/bin/env bash
# `cardharness suite check|list` and `cardharness import-scriptor`: every shipped suite passes
# check; bad files exit 2 with every error as file:line:column: expected …; a scriptor script
# round-trips into a suite that passes check.
set -euo pipefail
: "${CARDHARNESS:?set by ctest}"
: "${CARDHARNESS_SOURCE_DIR:?set by ctest}"

fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Shipped suites: exit 0, one summary line each.
suites=("$CARDHARNESS_SOURCE_DIR"/profiles/suites/*.csv)
out=$("$CARDHARNESS" suite check "${suites[@]}") || fail "shipped suites do not pass suite check"
[[ $(grep -c ': ok, suite ' <<<"$out") -eq ${#suites[@]} ]] || fail "summary lines: $out"
for id in identify jpki-mynumber juki transport pin-behaviour; do
    grep -q "suite $id, [0-9]* steps in [0-9]* groups, sha256 [0-9a-f]\{64\}" <<<"$out" ||
        fail "no summary for $id in: $out"
done

list=$("$CARDHARNESS" suite list --json)
if command -v jq >/dev/null; then
    jq -e 'map(.id) | index("transport") != null and index("jpki-mynumber") != null' \
        <<<"$list" >/dev/null || fail "suite list --json: $list"
    jq -e 'all(.[]; .steps > 0 and (.content_hash | test("^[0-9a-f]{64}$")))' <<<"$list" \
        >/dev/null || fail "suite list --json fields: $list"
    # the hash is SHA-256 of the file bytes
    want=$(sha256sum "$CARDHARNESS_SOURCE_DIR/profiles/suites/transport.csv" | cut -d' ' -f1)
    jq -e --arg h "$want" '.[] | select(.id == "transport") | .content_hash == $h' \
        <<<"$list" >/dev/null || fail "transport hash differs from sha256sum"
fi
"$CARDHARNESS" suite list | grep '^transport ' >/dev/null || fail "suite list text"

# The example rows of profiles/README.md are a valid suite.
awk '/^```csv/{f=1;next} /^```/{f=0} f' "$CARDHARNESS_SOURCE_DIR/profiles/README.md" >"$work/readme.csv"
[[ -s "$work/readme.csv" ]] || fail "no csv example block in profiles/README.md"
"$CARDHARNESS" suite check "$work/readme.csv" >/dev/null || fail "README example rows do not check"

# A bad file: exit 2, every error on stderr with its position, nothing on stdout.
cat >"$work/bad.csv" <<'EOF'
id,group,title_en,title_ja,action,args,expect_sw,expect_data,requires,on_fail,timeout_ms
# comment
b.one,b,Select,選択,select_aid,${aid.jpki};colour=red,,,,,
b.two,b,Read,読む,read_ef,fid=000A;chunk=999,90G0,,wifi,panic,-1
b.one,b,Again,再び,fly,,,,,,
EOF
set +e
"$CARDHARNESS" suite check "$work/bad.csv" >"$work/out" 2>"$work/err"
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "bad suite: exit $rc, expected 2"
[[ ! -s "$work/out" ]] || fail "bad suite printed on stdout: $(cat "$work/out")"
expect_err() {
    grep -qF -- "$1" "$work/err" || fail "missing error '$1' in: $(cat "$work/err")"
}
expect_err "$work/bad.csv:3:42: expected one of the keys aid, fci of action select_aid"
expect_err "$work/bad.csv:4:40: expected chunk in 1..256, found 999"
expect_err "$work/bad.csv:4:46: expected a hex digit or x, found 'G'"
expect_err "$work/bad.csv:4:50: expected a requires token"
expect_err "$work/bad.csv:4:55: expected on_fail stop, continue or skip_group"
expect_err "$work/bad.csv:4:61: expected timeout_ms as a positive integer"
expect_err "$work/bad.csv:5:1: expected a unique step id, found \"b.one\" again (first on line 3)"
expect_err "$work/bad.csv:5:18: expected an action"
[[ $(grep -c "^$work/bad.csv:[0-9]*:[0-9]*: expected" "$work/err") -eq 8 ]] ||
    fail "expected 8 errors: $(cat "$work/err")"

# Good and bad together: still exit 2, the good one summarised.
set +e
"$CARDHARNESS" suite check "${suites[0]}" "$work/bad.csv" >"$work/out" 2>"$work/err"
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "mixed: exit $rc"
grep -q ': ok, suite ' "$work/out" || fail "mixed: no summary for the good file"

# Missing file and usage errors.
set +e
"$CARDHARNESS" suite check "$work/none.csv" 2>"$work/err"; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "missing file: exit $rc"
grep -qF "$work/none.csv:1:1: expected a readable suite file" "$work/err" || fail "$(cat "$work/err")"
set +e
"$CARDHARNESS" suite check >/dev/null 2>&1; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "no FILE: exit $rc"

# import-scriptor: comments, continuation, reset, expected responses; round trip through check.
cat >"$work/smoke test.scr" <<'EOF'
# reset the card
reset
# select the transport application
00 A4 04 0C 08 \
  F0 43 48 54 45 53 54 01
< 90 00
# case 2, 4 bytes
80200000 04
< 00 01 02 03 90 00 : Normal processing.
80 10 00 00
exit
80 10 00 00
EOF
"$CARDHARNESS" import-scriptor "$work/smoke test.scr" >"$work/imported.csv"
grep -q '^smoke_test.001,smoke_test,reset the card,.*,reset,kind=warm,' "$work/imported.csv" ||
    fail "reset row: $(cat "$work/imported.csv")"
grep -q '^smoke_test.002,.*,apdu,00 A4 04 0C 08 F0 43 48 54 45 53 54 01,9000,,' \
    "$work/imported.csv" || fail "continued command: $(cat "$work/imported.csv")"
grep -q ',apdu,80 20 00 00 04,9000,00 01 02 03,' "$work/imported.csv" ||
    fail "expected response: $(cat "$work/imported.csv")"
grep -q ',apdu,80 10 00 00,any,' "$work/imported.csv" || fail "record-only step"
[[ $(grep -c ',apdu,' "$work/imported.csv") -eq 3 ]] || fail "exit not honoured"
cp "$work/imported.csv" "$work/smoke_test.csv"
"$CARDHARNESS" suite check "$work/smoke_test.csv" | grep 'ok, suite smoke_test, 4 steps' >/dev/null ||
    fail "imported suite does not pass suite check"
"$CARDHARNESS" import-scriptor "$work/smoke test.scr" --id lab-smoke --out "$work/lab-smoke.csv" \
    2>"$work/err"
grep -q 'lab-smoke.001' "$work/lab-smoke.csv" || fail "--id"
"$CARDHARNESS" suite check "$work/lab-smoke.csv" >/dev/null || fail "--out file does not check"

# A script with errors: exit 2, file:line:column; a PIN in a VERIFY is refused.
printf '00 A4 0G 00\n00 20 00 80 04 31 32 33 34\n' >"$work/bad.scr"
set +e
"$CARDHARNESS" import-scriptor "$work/bad.scr" >"$work/out" 2>"$work/err"; rc=$?
set -e
[[ $rc -eq 2 ]] || fail "bad script: exit $rc"
grep -qF "$work/bad.scr:1:8: expected a hex digit, found 'G'" "$work/err" || fail "$(cat "$work/err")"
grep -qF "$work/bad.scr:2:4: expected no PIN data in a VERIFY" "$work/err" || fail "$(cat "$work/err")"
[[ ! -s "$work/out" ]] || fail "bad script printed a suite"
echo "suite_cli: ok"
