#!/usr/bin/env bash
# Agreement of `cardharness atr --json` with pcsc-tools' ATR_analysis (an outside tool, used only
# here) on wildcard-free ATRs of the installed smartcard_list.txt: offered protocols, Fi/Di from
# TA1 (defaults 372/1), TCK presence/validity and the card capabilities' command chaining and
# extended Lc/Le bits. Prints "N agree of M".
# ATR_AGREEMENT_STRIDE=k takes every k-th literal ATR (default 10: ~380 ATRs; 1 = all 3803).
# ATR_AGREEMENT_ONLY=file compares the ATRs of that file instead (plus the domain.md ones).
set -euo pipefail

list=/usr/share/pcsc/smartcard_list.txt
command -v ATR_analysis >/dev/null || { echo "SKIP: ATR_analysis (pcsc-tools) not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
[[ -r $list ]] || { echo "SKIP: $list not installed"; exit 77; }
perl -MChipcard::PCSC::Card -e 1 2>/dev/null ||
    { echo "SKIP: ATR_analysis needs the perl module Chipcard::PCSC (libpcsc-perl)"; exit 77; }
: "${CARDHARNESS:?set by ctest}"
stride=${ATR_AGREEMENT_STRIDE:-10}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Keep ATR_analysis offline: it reads $XDG_CACHE_HOME/smartcard_list.txt first and downloads a
# new one (wget/curl) when an ATR is unknown and that copy is older than 10 hours. A fresh copy
# plus failing wget/curl stubs first in PATH make sure nothing is fetched.
mkdir -p "$work/cache" "$work/bin"
cp "$list" "$work/cache/smartcard_list.txt"
touch "$work/cache/smartcard_list.txt"
for tool in wget curl; do
    printf '#!/bin/sh\necho "atr_analysis_agreement: %s blocked" >&2\nexit 1\n' "$tool" >"$work/bin/$tool"
    chmod +x "$work/bin/$tool"
done
theirs() {
    HOME=$work XDG_CACHE_HOME=$work/cache PATH="$work/bin:$PATH" ATR_analysis "$1" 2>/dev/null |
        sed 's/\x1b\[[0-9;]*m//g'
}

# Our reading, in the same shape as the one parsed from ATR_analysis below.
ours() {
    "$CARDHARNESS" atr --json --no-list "$1" | jq -r '
        [ (.protocols | map(tostring) | join(",")),
          ((.fi // "RFU" | tostring) + "/" + (.di // "RFU" | tostring)),
          (if .tck_present then (if .tck_valid then "valid" else "invalid" end) else "absent" end),
          (.historical.card_capabilities as $c
           | if $c == null or $c.third_byte == null then "-"
             else "chaining=\($c.command_chaining),extended=\($c.extended_lc_le)" end)
        ] | join(" ")'
}

# ATR_analysis prints "Protocol T = n" per TDi (T=15 marks global bytes, not a protocol; none
# means T=0), "Fi=x, Di=y" for TA1 (absent: the defaults 372/1), "+ TCK = .. (correct
# checksum)" or "WRONG CHECKSUM", and for a 3-byte card capabilities object (compact-TLV 73)
# "- Command chaining" / "- Extended Lc and Le fields" (ISO 7816-4 §8.1.1.2.7, Table 87).
parse_theirs() {
    local text=$1 protocols fidi tck cc
    protocols=$(grep -o 'Protocol T = [0-9]*' <<<"$text" | awk '$4 != 15 {print $4}' | sort -un |
        paste -sd, -)
    [[ -n $protocols ]] || protocols=0
    fidi=$(sed -n 's/.*TA(1) = .. --> Fi=\([0-9A-Z]*\), Di=\([0-9A-Z]*\).*/\1\/\2/p' <<<"$text")
    [[ -n $fidi ]] || fidi=372/1
    if grep -q '^+ TCK = .. (correct checksum)' <<<"$text"; then
        tck=valid
    elif grep -q '^+ TCK = .. WRONG CHECKSUM' <<<"$text"; then
        tck=invalid
    else
        tck=absent
    fi
    cc=-
    if grep -q 'Command chaining, length fields and logical channels:' <<<"$text"; then
        cc="chaining=false,extended=false"
        grep -q -- '- Command chaining$' <<<"$text" && cc=${cc/chaining=false/chaining=true}
        grep -q -- '- Extended Lc and Le fields$' <<<"$text" && cc=${cc/extended=false/extended=true}
    fi
    echo "$protocols $fidi $tck $cc"
}

# Disagreements examined and explained; anything else fails the test.
known_reason() {
    local atr=$1 a=$2 b=$3 ap af at ac bp bf bt bc
    read -r ap af at ac <<<"$a"
    read -r bp bf bt bc <<<"$b"
    # ATR longer than T0/TDi announce: ATR_analysis looks for TCK only when exactly K+1 bytes
    # follow the interface bytes ("ERROR! ATR is too long ... Truncating", no TCK). ISO 7816-3
    # §8.2 places TCK right after the K historical bytes whenever it is required (§8.2.5), so
    # cardharness checks that byte and reports the rest as extra_bytes.
    if [[ $ap == "$bp" && $af == "$bf" && $ac == "$bc" && $bt == absent ]] &&
        "$CARDHARNESS" atr --json --no-list "$atr" |
        jq -e '.tck_required and (.findings | map(.code) | index("extra_bytes"))' >/dev/null; then
        echo "ATR longer than announced: TCK at its ISO 7816-3 §8.2 position, ATR_analysis drops it"
        return
    fi
    [[ $ap == "$bp" && $af == "$bf" && $at == "$bt" ]] || return 0
    local findings
    findings=$("$CARDHARNESS" atr --json --no-list "$atr" | jq -r '[.findings[].code] | join(",")')
    # A card capabilities object (73) cut short by the end of the historical bytes (or by the
    # category-00 status indicator): the third software function table is absent. ATR_analysis
    # still prints its line and reads the missing byte as 00 (no chaining, no extended Lc/Le).
    if [[ $ac == - && $bc == "chaining=false,extended=false" && $findings == *compact_tlv_truncated* ]]; then
        echo "third card-capabilities byte absent (ISO 7816-4 §8.1.1.2.7); ATR_analysis reads it as 00"
        return
    fi
    # A card capabilities object longer than 3 bytes (7x, x > 3): ISO 7816-4 §8.1.1.2.7 defines
    # three bytes; cardharness reads them and reports card_capabilities_length, ATR_analysis
    # prints "wrong ATR" and skips the whole object.
    if [[ $bc == - && $ac != - && $findings == *card_capabilities_length* ]]; then
        echo "card capabilities longer than 3 bytes: ATR_analysis skips the object"
    fi
}

if [[ -n ${ATR_AGREEMENT_ONLY:-} ]]; then # a file of ATRs, one a line (to re-examine cases)
    mapfile -t atrs <"$ATR_AGREEMENT_ONLY"
else
    mapfile -t atrs < <(grep -E '^[0-9A-F]{2}( [0-9A-F]{2})*$' "$list" | awk -v s="$stride" '(NR - 1) % s == 0')
fi
# The ATRs of domain.md §7 always take part.
atrs+=("3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B"
       "3B C5 FF 81 31 FB 45 80 73 C6 01 00 00"
       "3B E0 00 FF 81 31 FE 45 14"
       "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F"
       "3B 88 80 01 00 00 41 E0 B3 81 A1 00 3B"
       "3B 88 80 01 00 4B 51 FF B3 81 D1 00 0F"
       "3B 88 80 01 00 00 14 E0 B3 81 91 00 5E")

total=0 agree=0 explained=0 unexplained=0
for atr in "${atrs[@]}"; do
    total=$((total + 1))
    a=$(ours "$atr")
    b=$(parse_theirs "$(theirs "$atr")")
    if [[ $a == "$b" ]]; then
        agree=$((agree + 1))
        continue
    fi
    reason=$(known_reason "$atr" "$a" "$b")
    if [[ -n $reason ]]; then
        explained=$((explained + 1))
        echo "documented: $atr: cardharness [$a] ATR_analysis [$b]: $reason"
    else
        unexplained=$((unexplained + 1))
        echo "DISAGREE: $atr: cardharness [$a] ATR_analysis [$b]"
    fi
done

echo "atr_analysis_agreement: $agree agree of $total (protocols, Fi/Di, TCK, chaining/extended Lc-Le);" \
    "$explained documented disagreements, $unexplained unexplained"
if [[ -z ${ATR_AGREEMENT_ONLY:-} && $stride == 10 ]] && ((total < 300)); then
    echo "FAIL: only $total ATRs compared, expected at least 300"
    exit 1
fi
((unexplained == 0))
