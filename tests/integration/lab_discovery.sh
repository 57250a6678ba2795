#!/usr/bin/env bash
# Discovery and identification on the default lab through a real pcscd and our reader driver:
# `readers` shows every lab reader with the USB identity read through PC/SC (vendor name,
# bcdDevice, TLV VID/PID, channel id) joined to the lab's virtual USB device, its decoded CCID
# descriptor and the My Number prediction; `identify` names each card from SELECT + token.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
lab_start

json=$("$CARDHARNESS" readers --json)
status=$("$CARDHARNESS" lab status --dir "$LAB_DIR" --json)
n_slots=$(jq '.slots | length' <<<"$status")
n_readers=$(jq '.readers | length' <<<"$json")
[ "$n_readers" -eq "$n_slots" ] || lab_fail "readers lists $n_readers readers for $n_slots lab slots"
jq -e '.pcsc_available' <<<"$json" >/dev/null || lab_fail "PC/SC not available to readers"

models=$CARDHARNESS_SOURCE_DIR/profiles/readers
while read -r slot; do
    reader=$(jq -r --arg s "$slot" '.slots[] | select(.slot == $s) | .pcsc_reader' <<<"$status")
    row=$(jq --arg r "$reader" '.readers[] | select(.name == $r)' <<<"$json")
    [ -n "$row" ] || lab_fail "$slot: reader \"$reader\" missing from readers --json"
    # Identity through PC/SC from the lab driver, joined to the virtual USB device.
    [ "$(jq -r .join <<<"$row")" = tlv_and_channel_id ] ||
        lab_fail "$slot: joined by $(jq -r .join <<<"$row"), expected tlv_and_channel_id"
    [ "$(jq -r .pcsc.vendor_name <<<"$row")" = "$(jq -r .usb.manufacturer <<<"$row")" ] ||
        lab_fail "$slot: SCARD_ATTR_VENDOR_NAME differs from the USB manufacturer"
    [ "$(jq '.pcsc.tlv_properties.id_vendor' <<<"$row")" = "$(jq '.usb.vid' <<<"$row")" ] ||
        lab_fail "$slot: TLV wIdVendor differs from the USB VID"
    [ "$(jq '.pcsc.vendor_ifd_version / 65536 | floor' <<<"$row")" = "$(jq '.usb.bcd_device' <<<"$row")" ] ||
        lab_fail "$slot: SCARD_ATTR_VENDOR_IFD_VERSION is not bcdDevice"
    jq -e '.usb.interfaces[0] | (.exchange_level | IN("tpdu","short_apdu","extended_apdu"))
           and (.max_message_length > 0) and (.slots == 1) and (.protocols | length > 0)' \
        <<<"$row" >/dev/null || lab_fail "$slot: CCID descriptor fields missing"
    jq -e '.prediction.likelihood | IN("likely","at_risk","unlikely")' <<<"$row" >/dev/null ||
        lab_fail "$slot: no My Number prediction"
done < <(jq -r '.slots[].slot' <<<"$status")

# The short-APDU 261-byte reader is predicted unlikely, from its descriptor alone.
short=$(jq -r '.slots[] | select(.reader_model == "lab-short-261") | .pcsc_reader' <<<"$status")
jq -e --arg r "$short" '.readers[] | select(.name == $r) | .usb.interfaces[0].exchange_level ==
       "short_apdu" and .usb.interfaces[0].max_message_length == 261 and
       .prediction.likelihood == "unlikely"' <<<"$json" >/dev/null ||
    lab_fail "lab-short-261 should be short_apdu, 261 bytes, predicted unlikely"
# The text form says the same, plainly.
text=$("$CARDHARNESS" readers)
grep -q "CCID short_apdu  max message 261 bytes" <<<"$text" ||
    lab_fail "readers text lacks the short-APDU reader's descriptor line"

# describe --reader: the same descriptor through the PC/SC name; an ambiguous name is exit 2.
"$CARDHARNESS" describe --reader "$short" --json | jq -e '.interfaces[0] | .exchange_level ==
    "short_apdu" and .max_message_length == 261 and .prediction.likelihood == "unlikely"' >/dev/null ||
    lab_fail "describe --reader disagrees with readers"
rc=0
"$CARDHARNESS" describe --reader "Lab" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lab_fail "describe --reader with an ambiguous name exited $rc, expected 2"

# identify: every card by SELECT + token, never the ATR alone.
# Exit 1: the no-PPS reader cannot power its TA1=13 card, so one identification fails.
rc=0
ids=$("$CARDHARNESS" identify --json --db "$LAB_DIR/id.db") || rc=$?
[ "$rc" -le 1 ] || lab_fail "identify exited $rc"
check_card() { # slot expected_type expected_interface
    local reader
    reader=$(jq -r --arg s "$1" '.slots[] | select(.slot == $s) | .pcsc_reader' <<<"$status")
    jq -e --arg r "$reader" --arg t "$2" --arg i "$3" \
        '.[] | select(.reader == $r) | .card_type == $t and .interface == $i' <<<"$ids" >/dev/null ||
        lab_fail "$1 ($reader): expected $2/$3, got $(jq -c --arg r "$reader" '.[] | select(.reader == $r) | [.card_type, .interface]' <<<"$ids")"
}
while IFS=, read -r slot card iface; do
    check_card "$slot" "$card" "$iface"
done < <(jq -r '.slots[] | select(.card != null) | [.slot, .card, .interface] | @csv' <<<"$status" |
    tr -d '"' | while IFS=, read -r slot card iface; do
        model=$(jq -r --arg s "$slot" '.slots[] | select(.slot == $s) | .reader_model' <<<"$status")
        type=${card%%-*}
        [ "$type" = transport ] && type=iso7816_unknown
        case "$iface" in contact) want=contact ;; *) want=contactless ;; esac
        # Readers that cannot see or power the card: no_card / unknown interface (their quirk).
        case "$model" in
        lab-nfc-a | lab-contact-basic) echo "$slot,no_card,unknown" ;;
        lab-no-pps) [ "$type" = mynumber ] && echo "$slot,iso7816_unknown,unknown" || echo "$slot,$type,$want" ;;
        *) echo "$slot,$type,$want" ;;
        esac
    done)
echo "readers: $n_readers lab readers joined with USB identity and prediction; identify agreed"
