#!/usr/bin/env bash
# Privacy canary (issue 4 §4): every shipped suite on every card of the default lab, with every
# PIN supplied, then the database file (raw bytes and an sqlite3 dump), stdout, stderr and the
# lab's logs are searched for each persona canary value and each PIN — as text and as the hex the
# exchanges are recorded in (spaced and packed). Zero hits.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found"

persona=$CARDHARNESS_SOURCE_DIR/profiles/cards/persona.csv
value_of() { grep -E "^$1," "$persona" | head -n1 | cut -d, -f2-; }

lab_start
work=$LAB_DIR/work
mkdir -p "$work"
# The PIN file: the persona's PINs (the lab's cards are test cards; PINs reach them).
{
    echo "pin,value"
    echo "auth,$(value_of pin_auth)"
    echo "sign,$(value_of pin_sign)"
    echo "text,$(value_of pin_text)"
    echo "juki,$(value_of pin_juki_ap)"
} >"$work/pins.csv"

suites=()
for f in "$CARDHARNESS_SOURCE_DIR"/profiles/suites/*.csv; do
    suites+=(--suite "$(basename "$f" .csv)")
done
[ "${#suites[@]}" -ge 8 ] || lab_fail "expected at least 4 shipped suites"

set +e
timeout 500 "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 4 "${suites[@]}" \
    --pins "$work/pins.csv" --db "$work/h.db" --json >"$work/stdout" 2>"$work/stderr"
rc=$?
# Text output too (a second run into the same database).
CARDHARNESS_PIN_SIGN=$(value_of pin_juki_sign) timeout 500 "$CARDHARNESS" run --lab-dir "$LAB_DIR" \
    --all --jobs 4 "${suites[@]}" --db "$work/h.db" >"$work/stdout2" 2>"$work/stderr2"
rc2=$?
set -e
[ "$rc" -le 1 ] && [ "$rc2" -le 1 ] || {
    tail -n 20 "$work/stderr" >&2
    lab_fail "run exited $rc / $rc2"
}
n=$(jq '[.sessions[].suites[].steps[]] | length' "$work/stdout")
[ "$n" -gt 100 ] || lab_fail "expected the suites to run (only $n steps)"
echo "ran $n steps on $(jq '.sessions | length' "$work/stdout") reader sessions"

sqlite3 "$work/h.db" .dump >"$work/dump.sql"
# Flush the WAL into the file so the raw search sees every byte written.
sqlite3 "$work/h.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
files=("$work/h.db" "$work/dump.sql" "$work/stdout" "$work/stderr" "$work/stdout2"
    "$work/stderr2" "$LAB_DIR/lab.log")
[ -f "$work/h.db-wal" ] && files+=("$work/h.db-wal")
[ -d "$CARDHARNESS_SOURCE_DIR/reports" ] && while IFS= read -r f; do files+=("$f"); done < <(
    find "$CARDHARNESS_SOURCE_DIR/reports" -type f -newer "$work/pins.csv" 2>/dev/null)

canaries=()
for field in name name_kana address birth_date my_number pin_sign pin_juki_sign pin_visual_b; do
    v=$(value_of "$field")
    [ -n "$v" ] && canaries+=("$v")
done
# The unique ASCII tokens inside the name and address values.
while IFS= read -r token; do canaries+=("$token"); done < <(grep -oE 'CANARY-[A-Z]+-[0-9A-Z]+' "$persona")
# 4-digit PINs are searched as the bytes a VERIFY carries (hex), never as text (too common).
hex_only=("$(value_of pin_auth)" "$(value_of pin_text)" "$(value_of pin_juki_ap)")

hex_spaced() { printf '%s' "$1" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//' | tr a-f A-F; }
hex_packed() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }

hits=0
search() { # label needle
    local f
    for f in "${files[@]}"; do
        if grep -aiqF -- "$2" "$f"; then
            echo "HIT: $1 in $f" >&2
            hits=$((hits + 1))
        fi
    done
}
for v in "${canaries[@]}"; do
    search "canary '${v:0:3}…' (text)" "$v"
    search "canary '${v:0:3}…' (hex)" "$(hex_spaced "$v")"
    search "canary '${v:0:3}…' (packed hex)" "$(hex_packed "$v")"
done
for v in "${hex_only[@]}"; do
    # As the data field of a VERIFY: Lc 04 then the digits.
    search "4-digit PIN (VERIFY data)" "04 $(hex_spaced "$v")"
    search "4-digit PIN (VERIFY data, packed)" "04$(hex_packed "$v")"
done
[ "$hits" -eq 0 ] || lab_fail "$hits canary or PIN hits in outputs"
echo "no canary or PIN value in ${#files[@]} outputs (${#canaries[@]} canaries, ${#hex_only[@]} short PINs)"
