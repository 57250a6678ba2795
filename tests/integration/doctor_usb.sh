#!/usr/bin/env bash
# `cardharness doctor` on emulated USB readers (umockdev devices built from real CCID driver
# dumps, enumerated by the real libusb), judged against the installed libccid's reader list:
#   ACR1581 (072F:2301, not in libccid 1.5.2's list)  -> reader_not_listed_by_ccid_driver
#   SCM SCL010 firmware 1.02 (libccid wants 1.12)      -> reader_firmware_below_driver_minimum
#   Sony RC-S380/S (vendor class, the catalogue)       -> reader_needs_vendor_driver
#   Sony RC-S300/S (listed, CCID)                      -> no USB finding; with a pcscd that does
#                                                         not show it: reader_not_in_pcsc
# First without any pcscd (pcscd findings too, exit 3), then (as root) next to a lab's pcscd.
set -euo pipefail

skip() { echo "SKIPPED: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

: "${CARDHARNESS:?}" "${CARDHARNESS_TOOLS_DIR:?}" "${CARDHARNESS_SHARED_DIR:?}"
command -v umockdev-run >/dev/null || skip "umockdev-run not installed (apt-get install umockdev)"
command -v jq >/dev/null || skip "jq not installed"
dumps=$CARDHARNESS_SHARED_DIR/data/ccid-readers
[ -d "$dumps" ] || skip "shared dumps not found at $dumps (only in developer/CI trees)"
plist=/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist
[ -f "$plist" ] || skip "libccid not installed ($plist)"
grep -q '<string>0x2301</string>' "$plist" && skip "this libccid lists the ACR1581 (072F:2301): pick another unlisted reader"
fixture=$CARDHARNESS_TOOLS_DIR/umockdev_fixture
[ -x "$fixture" ] || fail "fixture builder $fixture not built"

work=$(mktemp -d /tmp/chdoc.XXXXXX)
lab_dir=""
cleanup() {
    local rc=$?
    if [ -n "$lab_dir" ] && [ -f "$lab_dir/state.json" ]; then
        timeout 20 "$CARDHARNESS" lab stop --dir "$lab_dir" >/dev/null 2>&1 || true
    fi
    rm -rf "$work" ${lab_dir:+"$lab_dir"}
    exit "$rc"
}
trap cleanup EXIT

args=()
address=2
for name in ACS_ACR1581 SCL010 SONY_FeliCa_RC-S300_S; do
    [ -f "$dumps/$name.txt" ] || fail "dump $dumps/$name.txt missing"
    "$fixture" "$dumps/$name.txt" --bus 1 --address "$address" -o "$work/$name.umockdev" ||
        fail "umockdev_fixture failed on $name"
    args+=(-d "$work/$name.umockdev")
    address=$((address + 1))
done
"$fixture" --vendor-class 054C:06C1 --manufacturer SONY --product "RC-S380/S" --address "$address" \
    -o "$work/rcs380.umockdev" || fail "umockdev_fixture --vendor-class failed"
args+=(-d "$work/rcs380.umockdev")

# doctor_in_testbed NAME [env...]: doctor --json inside the testbed; its exit code in NAME.rc
doctor_in_testbed() {
    local name=$1
    shift
    rc=0
    env "$@" umockdev-run "${args[@]}" -- "$CARDHARNESS" doctor --json >"$work/$name.json" || rc=$?
    echo "$rc" >"$work/$name.rc"
}
finding() { # finding NAME CODE: the messages of that code
    jq -r --arg c "$2" '.findings[] | select(.code == $c) | .message' "$work/$1.json"
}
expect_usb_findings() {
    local name=$1 text
    [ "$(cat "$work/$name.rc")" = 3 ] || fail "$name: doctor exit $(cat "$work/$name.rc"), expected 3"
    text=$(finding "$name" reader_not_listed_by_ccid_driver)
    [[ $text == *"072F:2301"* ]] || fail "$name: ACR1581 not reported as unlisted: $text"
    [[ $text != *"054C:0DC8"* ]] || fail "$name: RC-S300/S reported as unlisted"
    text=$(finding "$name" reader_firmware_below_driver_minimum)
    [[ $text == *"04E6:5291"*"firmware 1.02 is older than 1.12"* ]] || fail "$name: SCL010 firmware not reported: $text"
    text=$(finding "$name" reader_needs_vendor_driver)
    [[ $text == *"054C:06C1"*"vendor-class"* ]] || fail "$name: RC-S380/S not reported: $text"
    jq -e 'all(.findings[] | select(.severity == "error"); (.fix | length > 0) and (.fix_ja | length > 0) and (.message_ja | length > 0))' \
        "$work/$name.json" >/dev/null || fail "$name: an error finding without a Japanese message or fix"
}

# 1. No pcscd at all.
doctor_in_testbed alone PCSCLITE_CSOCK_NAME="$work/no-pcscd/pcscd.comm"
expect_usb_findings alone
[ -n "$(finding alone pcscd_socket_missing)" ] || fail "no pcscd: pcscd_socket_missing not reported"
[ -z "$(finding alone reader_not_in_pcsc)" ] || fail "no pcscd: reader_not_in_pcsc claimed without PC/SC"
echo "umockdev, no pcscd: unlisted ACR1581, SCL010 firmware 1.02 < 1.12, vendor-class RC-S380/S found"

# 2. Next to a pcscd that serves other readers (a lab's): the RC-S300/S is missing from PC/SC.
if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
    echo "not root: skipped the part with a lab's pcscd"
    exit 0
fi
lab_dir=$(mktemp -d /tmp/chdlab.XXXXXX)
lab=$("$CARDHARNESS" lab start --dir "$lab_dir") || fail "lab start failed"
doctor_in_testbed with_pcscd "${lab#export }"
expect_usb_findings with_pcscd
text=$(finding with_pcscd reader_not_in_pcsc)
[[ $text == *"054C:0DC8"*"PCSCLITE_CSOCK_NAME"* ]] || fail "with pcscd: RC-S300/S not reported as missing from PC/SC: $text"
[ "$(finding with_pcscd reader_not_in_pcsc | wc -l)" = 1 ] || fail "reader_not_in_pcsc for more than the RC-S300/S"
[ -n "$(finding with_pcscd pcscd_reachable)" ] || fail "with pcscd: pcscd_reachable missing"
echo "umockdev next to a pcscd: RC-S300/S reported as not in PC/SC"
