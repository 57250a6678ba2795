#!/usr/bin/env bash
# `cardharness atr`: JSON contract for the My Number / Juki ATRs (domain.md §7), text output,
# and exit code 2 with a clear message on bad hex.
set -euo pipefail
: "${CARDHARNESS:?set by ctest}"
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { # check JSON JQ-EXPRESSION: the expression must be true
    jq -e "$2" <<<"$1" >/dev/null || fail "expected $2 in: $(jq -c . <<<"$1" | head -c 600)"
}

contact=$("$CARDHARNESS" atr --json "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B")
check "$contact" '.atr == "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B"'
check "$contact" '.ts == "3B" and .convention == "direct"'
check "$contact" '.protocols == [1]'
check "$contact" '.fi == 372 and .di == 4 and .f_max_mhz == 5'
check "$contact" '.tck_present == true and .tck_valid == true'
check "$contact" '.historical_bytes == "80 12 39 2F 31 C1 73 C6 01 C0"'
check "$contact" '.historical.card_capabilities.command_chaining == true'
check "$contact" '.historical.card_capabilities.extended_lc_le == true'
check "$contact" '.t1.ifsc == 251'
check "$contact" '[.interface_bytes[].name] == ["TA1","TC1","TD1","TD2","TA3","TB3"]'
check "$contact" '.findings | map(.code) == ["ta1_needs_pps"]'
check "$contact" '.findings[0] | has("severity") and has("code") and has("message")'
check "$contact" '.contactless == null'
check "$contact" '.names | type == "array"'
if [[ -r /usr/share/pcsc/smartcard_list.txt ]]; then
    check "$contact" '.names | any(test("My Number"))'
fi

short=$("$CARDHARNESS" atr --json 3BC5FF8131FB458073C6010000)
check "$short" '.historical.card_capabilities.extended_lc_le == false'
check "$short" '.tck_valid == true'

juki=$("$CARDHARNESS" atr --json 3B:E0:00:FF:81:31:FE:45:14)
check "$juki" '.protocols == [1] and .t1.ifsc == 254 and .tck_valid'

for pair in "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F:10:309" \
            "3B 88 80 01 00 00 41 E0 B3 81 A1 00 3B:10:309" \
            "3B 88 80 01 00 4B 51 FF B3 81 D1 00 0F:13:2474" \
            "3B 88 80 01 00 00 14 E0 B3 81 91 00 5E:9:154"; do
    IFS=: read -r atr fwi ms <<<"$pair"
    j=$("$CARDHARNESS" atr --json --no-list "$atr")
    check "$j" '.contactless.type == "B"'
    check "$j" '.contactless.bit_rates == [106, 212, 424]'
    check "$j" '.contactless.max_frame_size == 256'
    check "$j" ".contactless.fwi == $fwi"
    check "$j" "(.contactless.fwt_us / 1000 | floor) == $ms"
    check "$j" '.protocols == [0, 1] and .tck_valid and .names == []'
done

# Text output reads like ATR_analysis.
text=$("$CARDHARNESS" atr 3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F)
grep -q "Type B" <<<"$text" || fail "text output lacks the contactless type: $text"
grep -q "TCK = 7F (correct checksum)" <<<"$text" || fail "text output lacks the TCK: $text"

# A wrong TCK is a result (exit 0), reported as a finding.
bad=$("$CARDHARNESS" atr --json --no-list "3B E0 00 FF 81 31 FE 45 15")
check "$bad" '.tck_valid == false and (.findings | map(.code) | index("tck_mismatch"))'

# Bad hex: exit 2 and a message naming the column.
for arg in "3B 8" "3B ZZ" ""; do
    set +e
    err=$("$CARDHARNESS" atr "$arg" 2>&1 >/dev/null)
    rc=$?
    set -e
    [[ $rc == 2 ]] || fail "atr '$arg' exited $rc, expected 2"
    [[ -n $err ]] || fail "atr '$arg' printed no message"
done
err=$("$CARDHARNESS" atr "3B ZZ" 2>&1 >/dev/null || true)
grep -q "column 4" <<<"$err" || fail "message lacks the column: $err"
set +e
"$CARDHARNESS" atr --list /nonexistent/list.txt 3B00 >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 2 ]] || fail "unreadable --list exited $rc, expected 2"
echo "atr_command: ok"
