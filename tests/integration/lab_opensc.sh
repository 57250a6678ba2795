#!/usr/bin/env bash
# OpenSC (its JPKI driver), an outside client nobody here wrote, against the emulated My Number
# card in a lab reader: through our pcsc-lite reader driver and a real pcscd, not vpcd. The card
# is recognised as JPKI, certificates read back byte-identical to the lab's PKI, the tries left
# show, a signature made with the authentication PIN verifies with openssl, and a wrong PIN costs
# exactly one try (seen by OpenSC and by `lab status`). Contact and contactless (Type B) readers.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
# --usb (lab_opensc_usb.sh): the same through the system's libccid (`lab start --usb`).
usb=()
if [ "${1:-}" = --usb ]; then
    usb=(--usb)
    lab_require_usb_or_skip
else
    lab_require_or_skip
fi
for tool in opensc-tool pkcs15-tool pkcs15-crypt openssl; do
    command -v "$tool" >/dev/null || lab_skip "$tool not found"
done
card_tool=$CARDHARNESS_TOOLS_DIR/emu_vpcd_card
[ -x "$card_tool" ] || lab_skip "emu_vpcd_card tool not built"

lab_start "${usb[@]}"
work=$LAB_DIR/opensc
mkdir -p "$work"
export OPENSC_CONF=$work/opensc.conf
echo "app default { }" >"$OPENSC_CONF"
pki=$("$card_tool" --print-pki-dir)

status() { "$CARDHARNESS" lab status --dir "$LAB_DIR" --json; }
reader_of() { status | jq -r --arg m "$1" --arg c "$2" \
    '[.slots[] | select(.reader_model == $m and .card == $c)][0].pcsc_reader'; }
tries() { status | jq -r --arg r "$1" --arg p "$2" '.slots[] | select(.pcsc_reader == $r) | .pins[$p]'; }

check_reader() { # pcsc reader name, expected ATR (OpenSC form)
    local r=$1 atr
    atr=$(opensc-tool --reader "$r" --atr)
    [ "$atr" = "$2" ] || lab_fail "$r: ATR $atr, expected $2"
    opensc-tool --reader "$r" --name | grep -x jpki >/dev/null || lab_fail "$r: OpenSC did not bind its JPKI driver"
    pkcs15-tool --reader "$r" --list-pins >"$work/pins.txt" 2>&1 || { cat "$work/pins.txt"; lab_fail "$r: list-pins"; }
    grep -A12 "User Authentication PIN" "$work/pins.txt" | grep -Eq "Tries left *: *3" ||
        { cat "$work/pins.txt"; lab_fail "$r: authentication PIN tries left is not 3"; }
    grep -A12 "Digital Signature PIN" "$work/pins.txt" | grep -Eq "Tries left *: *5" ||
        { cat "$work/pins.txt"; lab_fail "$r: signing password tries left is not 5"; }
    pkcs15-tool --reader "$r" --list-certificates >"$work/certs.txt" 2>&1 || lab_fail "$r: list-certificates"
    [ "$(grep -c "X.509 Certificate" "$work/certs.txt")" -ge 3 ] ||
        { cat "$work/certs.txt"; lab_fail "$r: fewer than 3 certificates listed"; }
    pkcs15-tool --reader "$r" --read-certificate 01 -o "$work/auth.pem" >/dev/null 2>&1 ||
        lab_fail "$r: read-certificate 01"
    cmp <(openssl x509 -in "$work/auth.pem" -outform DER) "$pki/test/auth.der" ||
        lab_fail "$r: the certificate OpenSC read differs from the emulator's"

    printf 'cardharness lab opensc' >"$work/data.bin"
    openssl dgst -sha256 -binary "$work/data.bin" >"$work/data.sha256"
    pkcs15-crypt --reader "$r" --sign --key 01 --pin 1234 --sha-256 --pkcs1 \
        --input "$work/data.sha256" --output "$work/auth.sig" >"$work/sign.log" 2>&1 ||
        { cat "$work/sign.log"; lab_fail "$r: pkcs15-crypt signature"; }
    openssl x509 -in "$work/auth.pem" -pubkey -noout >"$work/auth.pub"
    openssl dgst -sha256 -verify "$work/auth.pub" -signature "$work/auth.sig" "$work/data.bin" >/dev/null ||
        lab_fail "$r: the signature made through OpenSC does not verify"

    # A wrong PIN costs exactly one try (a test card: wrong-PIN tests are allowed here).
    if pkcs15-crypt --reader "$r" --sign --key 01 --pin 9999 --sha-256 --pkcs1 \
        --input "$work/data.sha256" --output "$work/bad.sig" >/dev/null 2>&1; then
        lab_fail "$r: a wrong PIN produced a signature"
    fi
    pkcs15-tool --reader "$r" --list-pins 2>&1 | grep -A12 "User Authentication PIN" |
        grep -Eq "Tries left *: *2" || lab_fail "$r: OpenSC does not show 2 tries left after one wrong PIN"
    [ "$(tries "$r" jpki/0018)" = 2 ] || lab_fail "$r: lab status shows $(tries "$r" jpki/0018) tries, expected 2"
    echo "ok: $r"
}

check_reader "$(reader_of lab-tpdu-contact mynumber)" "3b:da:13:ff:81:31:fb:46:80:12:39:2f:31:c1:73:c6:01:c0:3b"
check_reader "$(reader_of lab-nfc-b mynumber-contactless)" "3b:88:80:01:00:00:05:e0:b3:81:a1:00:7f"
