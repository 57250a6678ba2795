#!/usr/bin/env bash
# `cardharness run --lab --all` on the default lab through a real pcscd: the matrix. Every reader
# model is given the My Number and the Juki card, contact and contactless, by the lab; every cell
# gets the verdict, cause and diagnosis pinned in profiles/readers/expected_verdicts.csv (every
# cell of the run has a row there, none is untested), the run is stored with one session per cell,
# and the exit code says "not all compatible" (1). Then the story the matrix exists for: readers
# that take the Juki card but not the My Number card, each with its reason, and one that takes both.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
# --usb (run_lab_verdicts_usb.sh): the same lab as USB devices driven by the system's libccid.
usb=()
driver=cardharness
if [ "${1:-}" = --usb ]; then
    usb=(--usb)
    driver=ccid
    lab_require_usb_or_skip
else
    lab_require_or_skip
fi

LAB_DIR=$(mktemp -d /tmp/chrun.XXXXXX)
trap lab_cleanup EXIT
work=$LAB_DIR/work
mkdir -p "$work"
expected=$CARDHARNESS_SOURCE_DIR/profiles/readers/expected_verdicts.csv
lab_file=$CARDHARNESS_SOURCE_DIR/profiles/labs/default.csv

set +e
timeout 500 "$CARDHARNESS" run --lab "${usb[@]}" --lab-dir "$LAB_DIR/lab" --all --jobs 4 --json \
    --db "$work/h.db" >"$work/run.json" 2>"$work/run.err"
rc=$?
set -e
# The lab started for the run is stopped after it.
[ ! -e "$LAB_DIR/lab/state.json" ] || lab_fail "run --lab left the lab running"
if [ "$rc" -ne 1 ]; then
    tail -n 30 "$work/run.err" >&2
    lab_fail "run should exit 1 (some readers are incompatible), got $rc"
fi
jq -e . "$work/run.json" >/dev/null || lab_fail "run --json printed no JSON"
jq -e '.lab == true and .status != "running" and (.environment.harness_version | length > 0)
       and (.environment.pcsclite_version | length > 0) and (.suites | length > 0)
       and (.suites | all(.content_hash | length == 64))' "$work/run.json" >/dev/null ||
    lab_fail "run header (lab, status, environment, suites) wrong: $(jq -c '{lab,status,cause,environment,suites}' "$work/run.json")"
# Only the flaky reader cuts its session short; the run says so as its cause.
jq -e '.status == "complete" or (.cause | test("Flaky"))' "$work/run.json" >/dev/null ||
    lab_fail "unexpected run cause: $(jq -r .cause "$work/run.json")"
jq -e '.verdicts | all(has("reader") and has("reader_model") and has("card_type") and
       has("interface") and has("verdict") and has("diagnosis") and has("diagnosis_ja"))' \
    "$work/run.json" >/dev/null || lab_fail "verdict objects lack keys"

# Four cells per slot (My Number and Juki, contact and contactless): no cell left untried.
slots=$(( $(grep -v '^#' "$lab_file" | tail -n +2 | grep -c .) * 4 ))
got=$(jq '.verdicts | length' "$work/run.json")
[ "$got" -eq "$slots" ] || lab_fail "expected $slots verdicts (4 cells per slot), got $got"
[ -z "${KEEP_RUN_JSON:-}" ] || cp "$work/run.json" "$KEEP_RUN_JSON"
jq -e '[.verdicts[] | select(.verdict == "untested")] | length == 0' "$work/run.json" >/dev/null ||
    lab_fail "untested cells: $(jq -c '[.verdicts[] | select(.verdict == "untested") | {reader_model, card_type, interface, diagnosis}]' "$work/run.json")"
# Every cell of the run is pinned by a row of the expected matrix (for this driver).
while IFS=$'\t' read -r m c i; do
    grep -v '^#' "$expected" | awk -F, -v m="$m" -v c="$c" -v i="$i" -v d="$driver" \
        '$1 == m && $2 == c && $3 == i && ($7 == "" || $7 == d) { found = 1 } END { exit !found }' ||
        lab_fail "cell $m $c/$i is not pinned in expected_verdicts.csv"
done < <(jq -r '.verdicts[] | [.reader_model, .card_type, .interface] | @tsv' "$work/run.json")

failures=0
while IFS=, read -r model card iface verdict cause phrase row_driver; do
    # A row for one driver only (the `driver` column) applies to that driver's lab.
    [ -z "$row_driver" ] || [ "$row_driver" = "$driver" ] || continue
    v=$(jq -c --arg m "$model" --arg c "$card" --arg i "$iface" \
        '[.verdicts[] | select(.reader_model == $m and .card_type == $c and .interface == $i)]' \
        "$work/run.json")
    if [ "$(jq length <<<"$v")" -eq 0 ]; then
        echo "FAIL $model $card/$iface: no verdict" >&2
        failures=$((failures + 1))
        continue
    fi
    got_verdict=$(jq -r '.[0].verdict' <<<"$v")
    got_diag=$(jq -r '.[0].diagnosis' <<<"$v")
    got_causes=$(jq -r '.[0].causes | join(",")' <<<"$v")
    if [ "$got_verdict" != "$verdict" ] || ! grep -qF -- "$phrase" <<<"$got_diag" ||
        ! grep -qw -- "$cause" <<<"$got_causes"; then
        echo "FAIL $model $card/$iface: expected $verdict ($cause: $phrase)" >&2
        echo "      got $got_verdict ($got_causes: $got_diag)" >&2
        failures=$((failures + 1))
    else
        echo "ok $model $card/$iface: $got_verdict — $got_diag"
    fi
    [ -n "$(jq -r '.[0].diagnosis_ja' <<<"$v")" ] || {
        echo "FAIL $model: empty Japanese diagnosis" >&2
        failures=$((failures + 1))
    }
done < <(grep -v '^#' "$expected" | tail -n +2)
[ "$failures" -eq 0 ] || lab_fail "$failures reader models did not get their expected verdict"

# The story: at least three readers take the Juki card and not the My Number card (each with its
# quirk's diagnosis), and at least one takes both.
works() { # reader_model card: some interface compatible
    jq -e --arg m "$1" --arg c "$2" 'any(.verdicts[]; .reader_model == $m and .card_type == $c and .verdict == "compatible")' "$work/run.json" >/dev/null
}
juki_only=0 both=0
for m in $(jq -r '[.verdicts[].reader_model] | unique | .[]' "$work/run.json"); do
    if works "$m" juki && ! works "$m" mynumber; then
        juki_only=$((juki_only + 1))
        echo "ok $m: Juki yes, My Number no — $(jq -r --arg m "$m" '[.verdicts[] | select(.reader_model == $m and .card_type == "mynumber" and .interface == "contact")][0].causes | join(",")' "$work/run.json")"
    fi
    works "$m" juki && works "$m" mynumber && both=$((both + 1))
done
[ "$juki_only" -ge 3 ] || lab_fail "expected at least 3 readers with Juki but not My Number, got $juki_only"
[ "$both" -ge 1 ] || lab_fail "expected at least one reader compatible with both cards"
echo "ok the matrix: $juki_only readers only with the Juki card, $both with both"

# The database holds the run, complete, with one session per slot and its verdicts.
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found (verdicts checked, database not)"
uuid=$(jq -r .uuid "$work/run.json")
[ "$(sqlite3 "$work/h.db" "SELECT status FROM runs WHERE uuid='$uuid'")" = "$(jq -r .status "$work/run.json")" ] ||
    lab_fail "stored run status differs from the printed one"
n=$(sqlite3 "$work/h.db" "SELECT COUNT(*) FROM sessions s JOIN runs r ON r.id = s.run_id WHERE r.uuid='$uuid'")
[ "$n" -eq "$slots" ] || lab_fail "expected $slots stored sessions, got $n"
n=$(sqlite3 "$work/h.db" "SELECT COUNT(*) FROM verdicts v JOIN runs r ON r.id = v.run_id WHERE r.uuid='$uuid'")
[ "$n" -eq "$slots" ] || lab_fail "expected $slots stored verdicts, got $n"
echo "all $slots reader models got their expected verdicts"
# The driver each session went through is stored as a column of its reader.
want_driver="cardharness lab driver"
[ "$driver" = ccid ] && want_driver="libccid "
bad=$(sqlite3 "$work/h.db" "SELECT COUNT(*) FROM sessions s JOIN runs r ON r.id = s.run_id
      JOIN readers d ON d.id = s.reader_id WHERE r.uuid='$uuid' AND d.driver NOT LIKE '$want_driver%'")
[ "$bad" -eq 0 ] || lab_fail "$bad sessions did not go through the $driver driver"
if [ "$driver" = ccid ]; then
    # A failing step keeps the CCID messages the emulated firmware saw and sent, redacted: the
    # short-APDU 261 reader's overrun (bError 0xFC) is there, and no APDU data is.
    trace_where="FROM ccid_trace c JOIN steps st ON st.id = c.step_row JOIN sessions s ON
        s.id = st.session_id JOIN runs r ON r.id = s.run_id JOIN readers d ON d.id = s.reader_id
        WHERE r.uuid = '$uuid'"
    n=$(sqlite3 "$work/h.db" "SELECT COUNT(*) $trace_where AND d.reader_model = 'lab-short-261'
        AND st.verdict IN ('fail', 'error') AND c.message LIKE '80 % 40 FC 00%'")
    [ "$n" -gt 0 ] || lab_fail "no stored CCID trace shows the short-APDU reader's overrun (bError FC)"
    n=$(sqlite3 "$work/h.db" "SELECT COUNT(*) $trace_where AND st.verdict = 'pass'")
    [ "$n" -eq 0 ] || lab_fail "passing steps should store no CCID trace ($n messages)"
    # Every XfrBlock/DataBlock payload longer than a T=1 S-block, an APDU header or a status word
    # is redacted (an ATR, 3B/3F, is kept: it names the card type and is stored with the run).
    leaks=$(sqlite3 "$work/h.db" "SELECT c.message $trace_where" |
        awk -F' [|] ' 'NF > 1 && $2 !~ /redacted/ && $2 !~ /^3[BF] / && split($2, b, " ") > 5 && $1 ~ /^(6F|80) /')
    [ -z "$leaks" ] || lab_fail "CCID messages stored with unredacted data: $(head -n 3 <<<"$leaks")"
    "$CARDHARNESS" report --db "$work/h.db" --format html --view technical --out "$work/t.html" >/dev/null
    grep -q 'class="ccid"' "$work/t.html" || lab_fail "the technical report shows no CCID trace"
    echo "ok CCID traces of failing steps stored (redacted) and shown in the technical report"
fi
