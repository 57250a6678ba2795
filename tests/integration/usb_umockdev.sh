#!/usr/bin/env bash
# USB discovery on umockdev: device files are built from real CCID driver `parse` dumps, libusb
# enumerates them inside `umockdev-run`, and the fields cardharness reports (vid, pid, bcd_device,
# per interface exchange_level, max_message_length, protocols, slots) are checked against the
# dump text itself (read here with awk, independently of the C++ dump parser).
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

# Real readers: TPDU/short/extended, Sony RC-S300/S, /P and RC-S660/U, class-0xFF readers
# (Cherry, SCM NTT-Com), multi-interface (ACR1581: 3, ACR1252, AK9567), multi-slot (ACR1281U,
# GemCore POS Pro, TWN4), descriptor after the last endpoint (OZ776, Bludrive II, Reiner SCT).
names=(ACS_ACR39U_ICC_Reader SONY_FeliCa_RC-S300_S SONY_FeliCa_RC-S300_P SONY_FeliCa_RC-S660_U
    CherrySmartTerminalST2XXX SCR331-DI-NTTCom SCR3310-NTTCom ACS_ACR1581 ACS_ACR1281U Oz776S
    Oz776_7772 BludriveII ReinerSCT GemCorePOSPro HID_Global_OMNIKEY_3x21_Smart_Card_Reader
    Gemalto_IDBridge_CT30 ACS_ACR1252_Dual_Reader Alcor_Link_AK9567 Elatec_TWN4_SmartCard_NFC
    ACR122U_PICC Circle_CIR315_Dual_1S SpringCard_M519_6212 ACR38U-CCID
    Identiv_CLOUD_2980_F_Smart_Card_Reader)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Expected values from the dump text (one "D" line per device, one "I" line per interface).
expect() { awk -f "$(dirname "$0")/lib/ccid_dump_expect.awk" "$1"; }

args=()
address=2
: >"$work/expected"
for name in "${names[@]}"; do
    dump=$dumps/$name.txt
    [ -f "$dump" ] || fail "dump $dump missing"
    "$fixture" "$dump" --bus 1 --address "$address" --serial "SN$address" -o "$work/$name.umockdev" ||
        fail "umockdev_fixture failed on $name"
    args+=(-d "$work/$name.umockdev")
    expect "$dump" >>"$work/expected"
    address=$((address + 1))
done
"$fixture" --vendor-class 054C:06C1 --manufacturer SONY --product "RC-S380/S" --address "$address" \
    -o "$work/rcs380.umockdev" || fail "umockdev_fixture --vendor-class failed"
args+=(-d "$work/rcs380.umockdev")
devices=$(grep -c '^D ' "$work/expected")
interfaces=$(grep -c '^I ' "$work/expected")
[ "$devices" -ge 20 ] || fail "only $devices devices expected from the dumps"

# What cardharness reports, inside one umockdev test bed: `readers --json` when the lead's
# command exists, and `describe --usb VID:PID --json` for every device.
cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
work=$1
if "$CARDHARNESS" readers --help >/dev/null 2>&1; then
    "$CARDHARNESS" readers --json >"$work/readers.json" || echo "readers --json exit $?" >"$work/readers.err"
fi
while read -r kind _ vid pid _; do
    [ "$kind" = D ] || continue
    id=$(printf '%04X:%04X' "$vid" "$pid")
    "$CARDHARNESS" describe --usb "$id" --json >"$work/describe_$id.json" ||
        echo "describe --usb $id: exit $?" >>"$work/describe.err"
done <"$work/expected"
"$CARDHARNESS" describe --usb 054C:06C1 --json >"$work/describe_054C:06C1.json" ||
    echo "describe --usb 054C:06C1: exit $?" >>"$work/describe.err"
# Absent device: environment (3); malformed VID:PID: usage (2).
rc=0; "$CARDHARNESS" describe --usb FFFF:FFFF >/dev/null 2>"$work/absent.err" || rc=$?
[ "$rc" = 3 ] || echo "describe --usb FFFF:FFFF: exit $rc, expected 3" >>"$work/describe.err"
rc=0; "$CARDHARNESS" describe --usb 054C >/dev/null 2>"$work/bad.err" || rc=$?
[ "$rc" = 2 ] || echo "describe --usb 054C: exit $rc, expected 2" >>"$work/describe.err"
grep -q 'VID:PID' "$work/bad.err" || echo "describe --usb 054C: no clear message" >>"$work/describe.err"
INSIDE
umockdev-run "${args[@]}" -- bash "$work/inside.sh" "$work" ||
    fail "umockdev-run failed"
[ ! -s "$work/describe.err" ] || fail "$(cat "$work/describe.err")"

# Reported lines in the same shape as the expected ones.
report() {
    jq -r '[.. | objects | select(has("vid") and has("interfaces"))] | unique_by([.vid, .pid])[] |
        ("D \(.vid):\(.pid) \(.vid) \(.pid) \(.bcd_device)"),
        (. as $d | .interfaces[] | select(.exchange_level != null) |
         "I \($d.vid):\($d.pid) \(.number) \(.exchange_level) \(.max_message_length) \(.protocols | map(tostring) | join(",") | "[" + . + "]") \(.slots)")'
}
cat "$work"/describe_*.json | jq -s '.' | report | grep -v "^D $((0x054C)):$((0x06C1)) " | sort >"$work/reported_describe"
sort "$work/expected" >"$work/expected.sorted"
if ! diff -u "$work/expected.sorted" "$work/reported_describe"; then
    fail "describe --usb disagrees with the dumps (expected on the left)"
fi
echo "describe --usb: $devices devices, $interfaces CCID interfaces match their dumps"

# Every device got the serial the fixture gave it, and the placement the real reader uses.
for id in 0B97:7762 0B97:7772 1B0E:1078 0C4B:0300; do
    placement=$(jq -r '[.. | objects | select(has("descriptor_placement"))][0].descriptor_placement' \
        "$work/describe_$id.json")
    [ "$placement" = after_endpoints ] || fail "$id: placement $placement, expected after_endpoints"
done
for id in 046A:003E 04E6:5120 0C4B:0300; do
    cls=$(jq -r '[.. | objects | select(has("interface_class"))][0].interface_class' "$work/describe_$id.json")
    [ "$cls" = 255 ] || fail "$id: interface class $cls, expected 255 (vendor class with a CCID descriptor)"
done
codes() { jq -r '[.. | objects | select(has("code")) | .code] | join(" ")' "$1"; }
if [ -f /usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist ]; then
    [[ " $(codes "$work/describe_054C:0DC8.json") " == *" listed_by_ccid_driver "* ]] ||
        fail "RC-S300/S not reported as listed by the installed CCID driver"
    [[ " $(codes "$work/describe_072F:2301.json") " == *" not_listed_by_ccid_driver "* ]] ||
        fail "ACR1581 (absent from libccid 1.5.2's list) not reported as unlisted"
fi

# A vendor-class reader the CCID driver cannot drive: Sony RC-S380/S, listed by the catalogue.
rcs380=$(jq -r '.. | objects | select(has("code")) | select(.code == "non_ccid_reader") | .message' \
    "$work/describe_054C:06C1.json")
[[ "$rcs380" == *"vendor-class"* ]] || fail "RC-S380/S: no catalogue note ($rcs380)"
[ "$(jq '[.. | objects | select(has("exchange_level")) | select(.exchange_level != null)] | length' \
    "$work/describe_054C:06C1.json")" = 0 ] || fail "RC-S380/S reported with a CCID exchange level"
echo "RC-S380/S reported as a non-CCID reader with the catalogue note"

if [ -f "$work/readers.json" ]; then
    report <"$work/readers.json" | grep -v "^D $((0x054C)):$((0x06C1)) " | sort >"$work/reported_readers"
    diff -u "$work/expected.sorted" "$work/reported_readers" ||
        fail "readers --json disagrees with the dumps (expected on the left)"
    jq -e '[.. | objects | select(has("vid") and has("serial")) | select(.vid == 1356 and .pid == 3528)][0] |
        (.serial | startswith("SN")) and .listed_by_ccid_driver != false' "$work/readers.json" >/dev/null ||
        fail "readers --json: RC-S300/S serial or CCID driver listing wrong"
    jq -e '[.. | objects | select(has("vid") and has("catalogue")) | select(.vid == 1356 and .pid == 1729)][0] |
        .catalogue.note_en | contains("vendor-class")' "$work/readers.json" >/dev/null ||
        fail "readers --json: RC-S380/S without its catalogue note"
    names=$(jq -r '[.. | objects | select(has("vid") and has("interfaces")) | select(.vid == 1839 and .pid == 8961)][0] |
        .interfaces | map(.name) | join("|")' "$work/readers.json")
    [ "$names" = "ACR1581 1S Dual Reader PICC|ACR1581 1S Dual Reader ICC|ACR1581 1S Dual Reader SAM" ] ||
        fail "readers --json: ACR1581 interface names (iInterface) wrong: $names"
    echo "readers --json: $devices devices match their dumps; RC-S380/S carries its catalogue note;" \
        "interface names read"
elif [ -f "$work/readers.err" ]; then
    fail "$(cat "$work/readers.err")"
else
    echo "readers command not present yet: checked describe --usb only"
fi
