#!/usr/bin/env bash
# `run --cards mynumber,juki` with one reader: the tester (here `lab insert`/`lab remove`) inserts
# each card in turn and gets one verdict per card type. Then the PIN guard on the real path: a
# lab *citizen* card (guarded as a physical card) never receives a malformed or test-only PIN, and
# its retry counters are unchanged afterwards (lab status --json).
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip

tmp_lab=$(mktemp /tmp/chlabfile.XXXXXX.csv)
printf 'slot,reader_model,card,interface,citizen\ns1,lab-ext-dual,,contact,no\n' >"$tmp_lab"
lab_start --lab "$tmp_lab"
rm -f "$tmp_lab"
work=$LAB_DIR/work
mkdir -p "$work"
r1=$(lab_reader s1)

wait_for() { # pattern file
    local _
    for _ in $(seq 1 600); do
        grep -q "$1" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    lab_fail "timed out waiting for '$1' in $2: $(tail -n 3 "$2")"
}

# 1. --cards: insert the My Number card, remove it, insert the Juki card.
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r1" --cards mynumber,juki --card-timeout 60 \
    --json --db "$work/h.db" >"$work/cards.json" 2>"$work/cards.err" </dev/null &
run_pid=$!
wait_for "Insert the mynumber card" "$work/cards.err"
"$CARDHARNESS" lab insert s1 --card mynumber --dir "$LAB_DIR"
wait_for "Remove the card" "$work/cards.err"
"$CARDHARNESS" lab remove s1 --dir "$LAB_DIR"
wait_for "Insert the juki card" "$work/cards.err"
"$CARDHARNESS" lab insert s1 --card juki --dir "$LAB_DIR"
set +e
wait "$run_pid"
rc=$?
set -e
[ "$rc" -eq 0 ] || {
    tail -n 10 "$work/cards.err" >&2
    lab_fail "--cards run should pass both cards (exit 0), got $rc"
}
jq -e '[.verdicts[] | {card_type, interface, verdict}] ==
       [{"card_type":"mynumber","interface":"contact","verdict":"compatible"},
        {"card_type":"juki","interface":"contact","verdict":"compatible"}]' "$work/cards.json" \
    >/dev/null || lab_fail "expected one compatible verdict per card: $(jq -c .verdicts "$work/cards.json")"
echo "ok: --cards gave $(jq -c '[.verdicts[] | .card_type + ":" + .verdict]' "$work/cards.json")"

# A card that never comes: the timeout gives an untested verdict, not a hang.
"$CARDHARNESS" lab remove s1 --dir "$LAB_DIR"
set +e
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r1" --cards juki --card-timeout 2 --json \
    --db "$work/h.db" >"$work/none.json" 2>"$work/none.err" </dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] || lab_fail "a card that never came should exit 1, got $rc"
jq -e '.verdicts == [.verdicts[0]] and .verdicts[0].verdict == "untested"' "$work/none.json" \
    >/dev/null || lab_fail "expected one untested verdict: $(jq -c .verdicts "$work/none.json")"

# 2. The PIN guard on a citizen card.
"$CARDHARNESS" lab insert s1 --card mynumber --citizen --dir "$LAB_DIR"
tries() { "$CARDHARNESS" lab status --dir "$LAB_DIR" --json | jq -c '.slots[0].pins'; }
before=$(tries)
jq -e '.["jpki/0018"] == 3 and .["jpki/001B"] == 5' <<<"$before" >/dev/null ||
    lab_fail "unexpected counters before: $before"
# A malformed PIN (auth is 4 digits; the signing password 6-16 A-Z 0-9) is refused unsent; the
# pin-behaviour suite's wrong-PIN steps need a test card and are skipped.
printf 'pin,value\nauth,12AB\nsign,abc\n' >"$work/pins.csv"
set +e
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r1" --suite jpki-mynumber --suite pin-behaviour \
    --pins "$work/pins.csv" --json --db "$work/h.db" >"$work/guard.json" 2>"$work/guard.err"
rc=$?
set -e
[ "$rc" -le 1 ] || lab_fail "guard run exited $rc: $(tail -n 3 "$work/guard.err")"
jq -e '.sessions[0].test_card == false' "$work/guard.json" >/dev/null ||
    lab_fail "a citizen card must not count as a test card"
jq -e '[.sessions[0].suites[].steps[] | select(.action == "verify_pin") | .reason] |
       any(test("no further attempts were made"))' "$work/guard.json" >/dev/null ||
    lab_fail "a refused PIN should be reported with 'no further attempts were made'"
jq -e '[.sessions[0].suites[] | select(.suite == "pin-behaviour") | .steps[] |
       select(.action == "verify_pin")] | all(.verdict == "skip")' "$work/guard.json" >/dev/null ||
    lab_fail "wrong-PIN steps must be skipped on a citizen card"
after=$(tries)
[ "$before" = "$after" ] || lab_fail "retry counters changed on the citizen card: $before -> $after"
echo "ok: PIN guard: citizen card counters unchanged ($after)"
