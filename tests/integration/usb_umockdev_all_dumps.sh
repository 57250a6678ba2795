#!/usr/bin/env bash
# Every public reader dump becomes a umockdev device (about 690 devices on 6 buses, all in one
# test bed); `cardharness readers --json` must enumerate each through libusb and report the
# dump's vid, pid, bcd_device and per interface exchange_level, max_message_length, protocols and
# slots, keyed by bus:address (many dumps share a VID:PID).
set -euo pipefail

skip() { echo "SKIPPED: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

: "${CARDHARNESS:?}" "${CARDHARNESS_TOOLS_DIR:?}" "${CARDHARNESS_SHARED_DIR:?}"
command -v umockdev-run >/dev/null || skip "umockdev-run not installed (apt-get install umockdev)"
command -v jq >/dev/null || skip "jq not installed"
dumps=$CARDHARNESS_SHARED_DIR/data/ccid-readers
[ -d "$dumps" ] || skip "shared dumps not found at $dumps (only in developer/CI trees)"
fixture=$CARDHARNESS_TOOLS_DIR/umockdev_fixture
[ -x "$fixture" ] || fail "fixture builder $fixture not built"
"$CARDHARNESS" readers --help >/dev/null 2>&1 || skip "the readers command is not built yet"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=()
n=0
: >"$work/expected"
for dump in "$dumps"/*.txt; do
    [ "$(basename "$dump")" = supported_readers.txt ] && continue
    bus=$((n / 120 + 1))
    address=$((n % 120 + 2))
    "$fixture" "$dump" --bus "$bus" --address "$address" -o "$work/$n.umockdev" ||
        fail "umockdev_fixture failed on $dump"
    args+=(-d "$work/$n.umockdev")
    awk -v key="$bus:$address" -f "$(dirname "$0")/lib/ccid_dump_expect.awk" "$dump" >>"$work/expected"
    n=$((n + 1))
done
[ "$n" -ge 500 ] || fail "only $n dumps found in $dumps"

umockdev-run "${args[@]}" -- "$CARDHARNESS" readers --json >"$work/readers.json" ||
    fail "readers --json failed under umockdev"

jq -r '[.. | objects | select(has("vid") and has("interfaces") and has("bus"))] |
    unique_by([.bus, .address])[] |
    ("D \(.bus):\(.address) \(.vid) \(.pid) \(.bcd_device)"),
    (. as $d | .interfaces[] | select(.exchange_level != null) |
     "I \($d.bus):\($d.address) \(.number) \(.exchange_level) \(.max_message_length) \(.protocols | map(tostring) | join(",") | "[" + . + "]") \(.slots)")' \
    "$work/readers.json" | sort >"$work/reported"
sort "$work/expected" >"$work/expected.sorted"
if ! diff -u "$work/expected.sorted" "$work/reported" >"$work/diff"; then
    head -40 "$work/diff" >&2
    fail "readers --json disagrees with the dumps on $(grep -c '^[-+][DI] ' "$work/diff") lines"
fi
echo "readers --json: $n dumps, $(grep -c '^D ' "$work/expected") devices and" \
    "$(grep -c '^I ' "$work/expected") CCID interfaces enumerated through libusb match their dumps"
