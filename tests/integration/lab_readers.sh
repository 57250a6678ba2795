#!/usr/bin/env bash
# The default lab through a real pcscd: every lab reader exists for outside tools (opensc-tool,
# pcsc_scan) and ours, with its USB identity attributes and PC/SC part 10 TLV properties; the
# Type A-only and contact-only readers see no card; `lab stop` leaves nothing running.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v opensc-tool >/dev/null || lab_skip "opensc-tool not found"
command -v pcsc_scan >/dev/null || lab_skip "pcsc_scan not found"
probe=$CARDHARNESS_TOOLS_DIR/pcsc_probe
[ -x "$probe" ] || lab_skip "pcsc_probe tool not built"

lab_start
status=$("$CARDHARNESS" lab status --dir "$LAB_DIR" --json)
slots=$(jq '.slots | length' <<<"$status")
[ "$slots" -ge 8 ] || lab_fail "expected at least 8 slots, got $slots"
[ "$(jq -r .socket <<<"$status")" = "$PCSCLITE_CSOCK_NAME" ] || lab_fail "status socket differs"
jq -e '.slots | all(has("slot") and has("pcsc_reader") and has("reader_model") and has("interface")
       and has("card") and has("citizen") and has("pins"))' <<<"$status" >/dev/null ||
    lab_fail "status slots lack required keys"
jq -e '.slots[] | select(.slot == "r01") | .pins["jpki/0018"] == 3 and .pins["jpki/001B"] == 5' \
    <<<"$status" >/dev/null || lab_fail "r01 should show the My Number PIN counters"

# Outside tool 1: opensc-tool lists every lab reader, by the name lab status gives.
listing=$(opensc-tool -l)
echo "$listing"
while IFS= read -r name; do
    grep -qF "$name" <<<"$listing" || lab_fail "opensc-tool does not list '$name'"
done < <(jq -r '.slots[].pcsc_reader' <<<"$status")

# Outside tool 2: pcsc_scan sees the readers and the My Number ATR (briefly, it never ends).
scan=$(timeout 4 pcsc_scan 2>&1 || true)
grep -q "Lab TPDU Contact 100 (r01)" <<<"$scan" || lab_fail "pcsc_scan does not show r01"
grep -q "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B" <<<"$scan" ||
    lab_fail "pcsc_scan does not show the My Number ATR"

# Ours: identity attributes and TLV properties equal each model's USB identity.
readers=$("$probe" list)
for slot in $(jq -r '.slots[].slot' <<<"$status"); do
    s=$(jq -c --arg s "$slot" '.slots[] | select(.slot == $s)' <<<"$status")
    name=$(jq -r .pcsc_reader <<<"$s")
    r=$(jq -c --arg n "$name" '.[] | select(.name == $n)' <<<"$readers")
    [ -n "$r" ] || lab_fail "pcsc_probe does not list '$name'"
    vid=$((16#$(jq -r .usb.vendor_id <<<"$s")))
    pid=$((16#$(jq -r .usb.product_id <<<"$s")))
    bcd=$((16#$(jq -r .usb.bcd_device <<<"$s")))
    [ "$(jq -r .vendor_name <<<"$r")" = "$(jq -r .usb.manufacturer <<<"$s")" ] || lab_fail "$slot: vendor name"
    [ "$(jq -r .vendor_ifd_serial <<<"$r")" = "$(jq -r .usb.serial <<<"$s")" ] || lab_fail "$slot: serial"
    [ "$(jq -r .vendor_ifd_version <<<"$r")" = "$((bcd << 16))" ] || lab_fail "$slot: IFD version"
    [ "$(jq -r .tlv_properties.id_vendor <<<"$r")" = "$vid" ] || lab_fail "$slot: TLV wIdVendor"
    [ "$(jq -r .tlv_properties.id_product <<<"$r")" = "$pid" ] || lab_fail "$slot: TLV wIdProduct"
    [ "$(jq -r '.channel_id / 65536 | floor' <<<"$r")" = "32" ] || lab_fail "$slot: channel id not USB"
    jq -e '.features | any(.name == "FEATURE_GET_TLV_PROPERTIES")' <<<"$r" >/dev/null ||
        lab_fail "$slot: no FEATURE_GET_TLV_PROPERTIES"
    echo "ok $slot: $name vid=$vid pid=$pid bcd=$bcd max_input=$(jq -r .max_input <<<"$r")"
done
# The short 261 reader announces its limit; short-APDU readers announce dwMaxAPDUDataSize 0.
r03=$(jq -c --arg n "$(lab_reader r03)" '.[] | select(.name == $n)' <<<"$readers")
[ "$(jq -r .max_input <<<"$r03")" = 251 ] || lab_fail "r03 SCARD_ATTR_MAXINPUT should be 251"
[ "$(jq -r .tlv_properties.max_apdu_data_size <<<"$r03")" = 0 ] || lab_fail "r03 dwMaxAPDUDataSize"

# The Type A-only reader (r06) and the contact-only reader with a contactless Juki card (r07)
# see no card; the others do.
for slot in r06 r07; do
    grep -E "^[0-9]+ +No +.*\($slot\)" <<<"$listing" >/dev/null || lab_fail "$slot should show no card"
done
grep -E "^[0-9]+ +Yes +.*\(r01\)" <<<"$listing" >/dev/null || lab_fail "r01 should show a card"

# Stop: the lab process and its pcscd are gone, the state file too.
lab_pid=$(jq -r .pid "$LAB_DIR/state.json")
pcscd_pid=$(jq -r .pcscd_pid "$LAB_DIR/state.json")
"$CARDHARNESS" lab stop --dir "$LAB_DIR"
lab_process_gone "$lab_pid" || lab_fail "lab process still running"
lab_process_gone "$pcscd_pid" || lab_fail "pcscd still running"
[ ! -e "$LAB_DIR/state.json" ] || lab_fail "state file left behind"
set +e
"$CARDHARNESS" lab status --dir "$LAB_DIR" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || lab_fail "lab status without a lab should exit 3, got $rc"
echo "PASS"
