#!/usr/bin/env bash
# `cardharness describe --ccid-dump FILE | --descriptor-hex HEX [--json]`: text like the CCID
# driver's parse, JSON contract keys, exit 2 with file:line:column on bad input.
set -euo pipefail

: "${CARDHARNESS:?CARDHARNESS (the binary) must be set}"
command -v jq >/dev/null || { echo "SKIPPED: jq not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. A hand-made short-APDU descriptor (dwMaxCCIDMessageLength 261), no shared data needed.
short_hex="36 21 10 01 00 07 03 00 00 00 A0 0F 00 00 A0 0F 00 00 00 00 2A 00 00 15 3F 05 00 00 FE 00 00 00 00 00 00 00 00 00 00 00 BA 04 02 00 05 01 00 00 FF FF 00 00 00 01"
"$CARDHARNESS" describe --descriptor-hex "$short_hex" >"$work/short.txt"
grep -q '^  dwMaxCCIDMessageLength: 261 bytes$' "$work/short.txt" || fail "parse-style line missing"
grep -q '^   02.... Short APDU level exchange$' "$work/short.txt" || fail "exchange level line missing"
grep -q 'response_258_does_not_fit' "$work/short.txt" || fail "finding missing in text"
grep -q 'not a verdict): unlikely$' "$work/short.txt" || fail "prediction missing in text"
"$CARDHARNESS" describe --descriptor-hex "$short_hex" --lang ja | grep 'マイナンバーカード対応の見込み' >/dev/null ||
    fail "Japanese text missing"
"$CARDHARNESS" describe --descriptor-hex "$short_hex" --json >"$work/short.json"
jq -e '.interfaces | length == 1' "$work/short.json" >/dev/null || fail "one interface expected"
jq -e '.interfaces[0] | .exchange_level == "short_apdu" and .max_message_length == 261
       and .protocols == [0,1] and .slots == 1 and (.features | index("auto_pps") != null)
       and .prediction.likelihood == "unlikely"
       and ([.findings[].code] | index("short_apdu_message_too_small") != null)' \
    "$work/short.json" >/dev/null || fail "JSON contract of --descriptor-hex"
jq -e '.vid == null and .source == "descriptor-hex"' "$work/short.json" >/dev/null || fail "no identity for hex"

# dwProtocols bits other than T=0/T=1 (0x00020003, seen on real readers): a finding, not "T=17".
reserved_hex=${short_hex/03 00 00 00 A0/03 00 02 00 A0}
"$CARDHARNESS" describe --descriptor-hex "$reserved_hex" --json >"$work/reserved.json"
jq -e '.interfaces[0] | .protocols == [0,1]
       and ([.findings[].code] | index("reserved_protocol_bits") != null)' \
    "$work/reserved.json" >/dev/null || fail "reserved dwProtocols bits"
! "$CARDHARNESS" describe --descriptor-hex "$reserved_hex" | grep 'T=17' >/dev/null || fail "T=17 printed"

# A configuration descriptor: interface class 0xFF with the CCID descriptor after the endpoints.
config_hex="09 02 3C 00 01 01 00 80 32  09 04 00 00 02 FF 00 00 00  07 05 81 02 40 00 00  07 05 02 02 40 00 00  $short_hex"
"$CARDHARNESS" describe --descriptor-hex "$config_hex" --json >"$work/config.json"
jq -e '.interfaces[0] | .descriptor_placement == "after_endpoints" and .interface_class == 255
       and ([.findings[].code] | index("vendor_class_interface") != null and index("descriptor_after_endpoints") != null)' \
    "$work/config.json" >/dev/null || fail "configuration walk"

# 2. Usage and data errors: exit 2 with a clear message.
expect_exit2() {
    local pattern=$1
    shift
    set +e
    "$CARDHARNESS" describe "$@" >"$work/out" 2>"$work/err"
    local rc=$?
    set -e
    [[ $rc -eq 2 ]] || fail "describe $* exited $rc, expected 2"
    grep -Eq "$pattern" "$work/err" || fail "describe $*: stderr lacks /$pattern/: $(cat "$work/err")"
}
expect_exit2 'exactly one source'
expect_exit2 'exactly one source' --descriptor-hex "$short_hex" --ccid-dump "$work/none.txt"
expect_exit2 'column 2' --descriptor-hex "3G"
expect_exit2 "$work/none.txt:1:1: expected a readable CCID descriptor dump" --ccid-dump "$work/none.txt"
expect_exit2 'expected the 54-byte CCID class descriptor' --descriptor-hex ""
expect_exit2 'expected the 54-byte CCID class descriptor' --descriptor-hex " "
printf ' idVendor: 0x072F\n  iManufacturer: ACS\n idProduct: 0x223B\n bcdDevice: 1.00 (firmware release?)\n bLength: nine\n' >"$work/bad.txt"
expect_exit2 "^cardharness: $work/bad.txt:5:11: expected " --ccid-dump "$work/bad.txt"
printf 'hello\n' >"$work/garbage.txt"
expect_exit2 "$work/garbage.txt:1:1: expected " --ccid-dump "$work/garbage.txt"

# 3. Real dumps of the CCID driver (../shared; absent in a user's clone).
dumps="${CARDHARNESS_SHARED_DIR:-}/data/ccid-readers"
if [[ ! -d "$dumps" ]]; then
    echo "SKIPPED: shared reader dumps not found at $dumps (hex and error checks passed)"
    exit 77
fi
acs="$dumps/ACS_ACR1252_Dual_Reader.txt"
"$CARDHARNESS" describe --ccid-dump "$acs" >"$work/acs.txt"
# Every "key: value" line parse printed is printed the same way (the live GET answers aside).
grep -E '^ {1,2}[a-z][A-Za-z]*: ' "$acs" | sort >"$work/want"
grep -E '^ {1,2}[a-z][A-Za-z]*: ' "$work/acs.txt" | sort >"$work/got"
diff -u "$work/want" "$work/got" || fail "parse-style lines differ for $acs"
"$CARDHARNESS" describe --ccid-dump "$acs" --json >"$work/acs.json"
jq -e '.vid == 1839 and .pid == 8763 and .bcd_device == 256 and .vid_pid == "072F:223B"
       and (.interfaces | length) == 2
       and .interfaces[0].exchange_level == "extended_apdu" and .interfaces[0].max_message_length == 522
       and .interfaces[1].exchange_level == "short_apdu" and .interfaces[1].protocols == [0,1]' \
    "$work/acs.json" >/dev/null || fail "JSON of $acs"
hex=$(jq -r '.interfaces[1].ccid_descriptor' "$work/acs.json")
"$CARDHARNESS" describe --descriptor-hex "$hex" --json |
    jq -e '.interfaces[0].descriptor.max_message_length == 288 and .interfaces[0].descriptor.default_clock_khz == 3420' \
        >/dev/null || fail "hex round trip of the ACS SAM interface"

# Every dump: exit 0; count interface blocks by exchange level (text: jq per file is slow).
declare -A levels=()
files=0
for f in "$dumps"/*.txt; do
    [[ $(basename "$f") == supported_readers.txt ]] && continue
    files=$((files + 1))
    text=$("$CARDHARNESS" describe --ccid-dump "$f") || fail "describe failed on $f"
    while read -r level; do
        levels[$level]=$((${levels[$level]:-0} + 1))
    done < <(printf '%s\n' "$text" | sed -n 's/^ Summary: \([a-z_]*\) exchange.*/\1/p')
done
summary="files $files:"
total=0
for level in character tpdu short_apdu extended_apdu; do
    summary+=" $level ${levels[$level]:-0}"
    total=$((total + ${levels[$level]:-0}))
done
echo "describe over all dumps: $summary (blocks $total)"
[[ $files -gt 600 && $total -ge 768 ]] || fail "too few dumps or blocks: $summary"
echo "OK"
