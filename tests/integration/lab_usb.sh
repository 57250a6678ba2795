#!/usr/bin/env bash
# `lab start --usb`: the lab's readers are emulated USB CCID devices (umockdev) that the system's
# unmodified pcscd + libccid + libusb open. Checks: the real driver is in the path (pcscd maps the
# libccid.so the libccid package installed: same device and inode), every slot is a USB device
# libccid opened and pcscd lists, `readers` inside the USB environment joins each PC/SC reader to
# its libusb device (TLV VID/PID + channel id) and `describe --reader` decodes its descriptor,
# outside that environment a client sees PC/SC only, insert/remove reach pcscd through
# NotifySlotChange, and unplug/plug hot-remove and re-add the device.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_usb_or_skip
for tool in opensc-tool stat dpkg sqlite3; do
    command -v "$tool" >/dev/null || lab_skip "$tool not found"
done

# With the shared reader dumps: one more slot wears a real reader's identity and CCID descriptor
# (a descriptor_dump model: ACS ACR39U, TPDU, automatic PPS), in a private copy of the profiles.
dump=${CARDHARNESS_SHARED_DIR:-/nonexistent}/data/ccid-readers/ACS_ACR39U_ICC_Reader.txt
lab_args=(--usb)
if [ -f "$dump" ]; then
    profiles=$(mktemp -d /tmp/chprof.XXXXXX)
    cp -r "$CARDHARNESS_SOURCE_DIR/profiles/." "$profiles/"
    cat >"$profiles/readers/lab_dump_models.csv" <<EOF
id,manufacturer,product,vendor_id,product_id,bcd_device,serial,interfaces,exchange,max_message_length,protocols,pps,le_zero,chain_corrupt_above,wtx,timeout_ms,latency_us,flaky_every,status,notes,descriptor_dump
lab-dump-acr39u,,,,,,,contact,,,,,pass,,yes,10000,0,0,virtual,"ACS ACR39U as its dump describes it",$dump
EOF
    cp "$profiles/labs/default.csv" "$profiles/labs/usb.csv"
    echo "r13,lab-dump-acr39u,mynumber,contact,no" >>"$profiles/labs/usb.csv"
    export CARDHARNESS_PROFILES_DIR=$profiles
    lab_args+=(--lab "$profiles/labs/usb.csv")
fi
lab_start "${lab_args[@]}"
[ -z "${profiles:-}" ] || trap 'rc=$?; rm -rf "$profiles"; set +e; (exit $rc); lab_cleanup' EXIT
status() { "$CARDHARNESS" lab status --dir "$LAB_DIR" --json; }
status >"$LAB_DIR/status.json"
jq -e '.driver == "ccid" and (.driver_name | startswith("libccid ")) and .pcscd_pid > 0' \
    "$LAB_DIR/status.json" >/dev/null || lab_fail "status: driver/pcscd_pid wrong: $(jq -c '{driver,driver_name,pcscd_pid}' "$LAB_DIR/status.json")"
[ "${#LAB_USB_ENV[@]}" -eq 2 ] || lab_fail "lab start --usb printed no USB environment"
slots=$(jq '.slots | length' "$LAB_DIR/status.json")
jq -e '.slots | all(.usb_device.plugged and .usb_device.claimed and (.pcsc_reader | length > 0))' \
    "$LAB_DIR/status.json" >/dev/null || lab_fail "not every slot is a USB device libccid opened: $(jq -c '[.slots[] | {slot, pcsc_reader, usb_device}]' "$LAB_DIR/status.json")"

# (1) The real driver: pcscd maps a libccid.so whose device and inode are the packaged file's.
pcscd_pid=$(jq -r .pcscd_pid "$LAB_DIR/status.json")
packaged=$(dpkg -L libccid | grep '/libccid\.so$' | head -n 1)
[ -n "$packaged" ] && [ -f "$packaged" ] || lab_skip "the libccid package lists no libccid.so"
read -r maps_dev maps_inode maps_path < <(awk '$6 ~ /libccid\.so$/ {print $4, $5, $6; exit}' \
    "/proc/$pcscd_pid/maps") || lab_fail "pcscd maps no libccid.so"
want_dev=$(printf '%02x:%02x' "$(stat -c %Hd "$packaged")" "$(stat -c %Ld "$packaged")")
want_inode=$(stat -c %i "$packaged")
[ "$maps_dev" = "$want_dev" ] && [ "$maps_inode" = "$want_inode" ] ||
    lab_fail "pcscd maps $maps_path as $maps_dev/$maps_inode, the package's $packaged is $want_dev/$want_inode"
grep -q '<string>0xF1AB</string>' "$LAB_DIR/usb-drivers/ifd-ccid.bundle/Contents/Info.plist" ||
    lab_fail "the private Info.plist does not list the lab's vendor id"
echo "ok pcscd ($pcscd_pid) maps $maps_path = $packaged (dev $maps_dev inode $maps_inode)"

# (2) pcscd lists every lab reader (libccid's names: "<product> (<serial>) NN 00").
listed=$(opensc-tool --list-readers | grep -cE '\(LAB[0-9A-F]+-0001-r[0-9]+\)' || true)
[ "$listed" -eq "$slots" ] || lab_fail "pcscd lists $listed lab readers, expected $slots"

# (3) Inside the USB environment: libusb sees the devices, `readers` joins them to PC/SC.
env "${LAB_USB_ENV[@]}" "$CARDHARNESS" readers --json >"$LAB_DIR/readers.json" ||
    lab_fail "readers --json in the USB environment failed"
for slot in $(jq -r '.slots[].slot' "$LAB_DIR/status.json"); do
    name=$(jq -r --arg s "$slot" '.slots[] | select(.slot == $s) | .pcsc_reader' "$LAB_DIR/status.json")
    address=$(jq -r --arg s "$slot" '.slots[] | select(.slot == $s) | .usb_device.address' "$LAB_DIR/status.json")
    jq -e --arg n "$name" --arg s "$slot" --argjson a "$address" '.readers[] | select(.name == $n) |
        select(.join == "tlv_and_channel_id" and (.usb.vid == 61867 or $s == "r13") and .usb.bus == 1 and
               .usb.address == $a and (.usb.interfaces[0].ccid_descriptor | length > 0))' \
        "$LAB_DIR/readers.json" >/dev/null ||
        lab_fail "slot $slot ($name): not joined to USB 1/$address: $(jq -c --arg n "$name" '.readers[] | select(.name == $n) | {join, usb: (.usb | {vid, bus, address})}' "$LAB_DIR/readers.json")"
done
r03=$(jq -r '.slots[] | select(.slot == "r03") | .pcsc_reader' "$LAB_DIR/status.json")
env "${LAB_USB_ENV[@]}" "$CARDHARNESS" describe --reader "$r03" >"$LAB_DIR/describe.txt" ||
    lab_fail "describe --reader in the USB environment failed"
grep -q 'dwMaxCCIDMessageLength: 261' "$LAB_DIR/describe.txt" &&
    grep -q 'bInterfaceClass: 0x0B' "$LAB_DIR/describe.txt" ||
    lab_fail "describe --reader did not decode the short-APDU 261 reader's descriptor"
# Outside it, a client sees PC/SC only: no USB device joins a lab reader.
"$CARDHARNESS" readers --json >"$LAB_DIR/readers-outside.json" || true
jq -e --argjson n "$slots" '[.readers[] | select(.name | test("\\(LAB[0-9A-F]+-0001-r[0-9]+\\)"))] | length == $n and
        all(.join == "none")' "$LAB_DIR/readers-outside.json" >/dev/null ||
    lab_fail "outside the USB environment a lab reader was joined to a USB device"
echo "ok readers/describe join $slots lab readers through libusb"

# `run` on the hardware path (no lab known to it) in the USB environment: the diagnosis joins the
# reader's libusb descriptor, as for a real reader (outside it, only PC/SC's MAXINPUT is known).
env "${LAB_USB_ENV[@]}" CARDHARNESS_LAB_DIR=/nonexistent "$CARDHARNESS" run --reader "$r03" \
    --suite jpki-mynumber --json --db "$LAB_DIR/hw.db" >"$LAB_DIR/hw.json" 2>/dev/null || true
# (Certificates are read in chunks the descriptor's 261-byte messages carry, and the 256-byte
# read is skipped for that reason: without PINs no signature runs, so the card passes.)
jq -e '.lab == false and .verdicts[0].verdict == "compatible" and
       ([.sessions[0].suites[].steps[] | select(.id == "jpki.le256.auth.read") | .verdict] == ["skip"])' \
    "$LAB_DIR/hw.json" >/dev/null ||
    lab_fail "the hardware path did not use the libusb descriptor: $(jq -c '.verdicts[0] | {verdict, diagnosis}' "$LAB_DIR/hw.json")"
[ "$(sqlite3 "$LAB_DIR/hw.db" "SELECT product || '/' || length(ccid_descriptor) FROM readers")" = \
    "Lab Short APDU 261/54" ] || lab_fail "the hardware path stored no USB product or descriptor"
echo "ok run on the hardware path joins the libusb descriptor"

if [ -f "$dump" ]; then
    r13=$(jq -r '.slots[] | select(.slot == "r13") | .pcsc_reader' "$LAB_DIR/status.json")
    # (its dump carries a garbled iInterface string, which pcscd puts in brackets, as with the
    # real reader)
    case "$r13" in "ACS ACR39U ICC Reader "*"(LAB072FB100-0001-r13) "*) ;;
    *) lab_fail "the dump model's reader is named \"$r13\"" ;; esac
    jq -e --arg n "$r13" '.readers[] | select(.name == $n) | .usb.vid == 1839 and .usb.pid == 45312' \
        "$LAB_DIR/readers.json" >/dev/null || lab_fail "the dump model does not wear 072F:B100"
    env "${LAB_USB_ENV[@]}" "$CARDHARNESS" describe --reader "$r13" --json >"$LAB_DIR/d13.json"
    "$CARDHARNESS" describe --ccid-dump "$dump" --json >"$LAB_DIR/dump.json"
    [ "$(jq -Sc '.interfaces[0].descriptor' "$LAB_DIR/d13.json")" = \
        "$(jq -Sc '.interfaces[0].descriptor' "$LAB_DIR/dump.json")" ] ||
        lab_fail "the dump model's descriptor differs from the dump"
    [ "$(opensc-tool --reader "$r13" --atr)" = "3b:da:13:ff:81:31:fb:46:80:12:39:2f:31:c1:73:c6:01:c0:3b" ] ||
        lab_fail "no My Number ATR through the ACR39U descriptor"
    echo "ok a descriptor_dump model wears ACS ACR39U's identity and descriptor through libccid"
    # The reader's own interfaces decide before the ATR's shape: the transport test card (ATR
    # 3B 80 80 01 01, the shape of a PC/SC contactless pseudo-ATR) in the ACR39U's contact slot is
    # a contact card, through the real pcscd -> libccid -> libusb path.
    "$CARDHARNESS" lab insert r13 --card transport --dir "$LAB_DIR"
    for _ in $(seq 50); do
        [ "$(opensc-tool --reader "$r13" --atr 2>/dev/null)" = "3b:80:80:01:01" ] && break
        sleep 0.1
    done
    [ "$(opensc-tool --reader "$r13" --atr)" = "3b:80:80:01:01" ] ||
        lab_fail "the transport card's ATR did not reach pcscd through the ACR39U"
    env "${LAB_USB_ENV[@]}" "$CARDHARNESS" readers --json >"$LAB_DIR/readers13.json"
    jq -e --arg n "$r13" '.readers[] | select(.name == $n) |
        .contactless == false and .contactless_from != "atr" and .atr == "3B 80 80 01 01"' \
        "$LAB_DIR/readers13.json" >/dev/null ||
        lab_fail "readers calls the ACR39U's card contactless: $(jq -c --arg n "$r13" '.readers[] | select(.name == $n) | {contactless, contactless_from, atr}' "$LAB_DIR/readers13.json")"
    "$CARDHARNESS" identify --reader "$r13" --json >"$LAB_DIR/identify13.json" || true
    jq -e '.[0].interface == "contact"' "$LAB_DIR/identify13.json" >/dev/null ||
        lab_fail "identify calls the ACR39U's card $(jq -r '.[0].interface' "$LAB_DIR/identify13.json")"
    "$CARDHARNESS" lab insert r13 --card mynumber --dir "$LAB_DIR"
    echo "ok the ACR39U's own interfaces decide: its 3B 80 80 01 01 card is a contact card"
fi

# (4) insert/remove: NotifySlotChange, as pcscd sees it.
r01=$(jq -r '.slots[] | select(.slot == "r01") | .pcsc_reader' "$LAB_DIR/status.json")
"$CARDHARNESS" lab remove r01 --dir "$LAB_DIR"
opensc-tool --list-readers | grep -F "$r01" | grep ' No ' >/dev/null || lab_fail "r01 still shows a card after lab remove"
"$CARDHARNESS" lab insert r01 --card juki --dir "$LAB_DIR"
[ "$(opensc-tool --reader "$r01" --atr)" = "3b:e0:00:ff:81:31:fe:45:14" ] ||
    lab_fail "r01 does not show the Juki card's ATR after lab insert"

# (5) unplug / plug: pcscd's and libccid's own removal path, then a new device.
"$CARDHARNESS" lab unplug r03 --dir "$LAB_DIR"
for _ in $(seq 50); do
    opensc-tool --list-readers | grep -F "(LAB0261-0001-r03)" >/dev/null || break
    sleep 0.1
done
! opensc-tool --list-readers | grep -F "(LAB0261-0001-r03)" >/dev/null || lab_fail "r03 still listed after lab unplug"
status | jq -e '.slots[] | select(.slot == "r03") | .usb_device.plugged == false and .pcsc_reader == ""' \
    >/dev/null || lab_fail "status does not show r03 unplugged"
if "$CARDHARNESS" lab unplug r03 --dir "$LAB_DIR" 2>/dev/null; then lab_fail "a second unplug succeeded"; fi
"$CARDHARNESS" lab plug r03 --dir "$LAB_DIR"
for _ in $(seq 50); do
    r03=$(status | jq -r '.slots[] | select(.slot == "r03") | .pcsc_reader')
    [ -n "$r03" ] && break
    sleep 0.1
done
[ -n "$r03" ] || lab_fail "r03 not back after lab plug"
atr=$(opensc-tool --reader "$r03" --atr) || lab_fail "no ATR from r03 after lab plug"
[ "$atr" = "3b:da:13:ff:81:31:fb:46:80:12:39:2f:31:c1:73:c6:01:c0:3b" ] || lab_fail "r03 ATR after plug: $atr"
new_address=$(status | jq -r '.slots[] | select(.slot == "r03") | .usb_device.address')
[ "$new_address" -gt "$slots" ] || lab_fail "the re-plugged device kept its old address"
echo "ok insert/remove and unplug/plug (r03 back at USB address $new_address)"
