#!/usr/bin/env bash
# The emulated My Number and Juki cards, served through vpcd and a real private pcscd, must pass
# for real cards with OpenSC's JPKI driver (pkcs15-tool, pkcs15-crypt) and pcsc-tools' scriptor:
# card binding (the 63 Cx retry query), certificate reads, PIN info, RSA signatures that verify
# with openssl against the certificates, and the retry counter surviving a power cycle.
set -euo pipefail
# shellcheck source=lib/pcscd.sh
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/pcscd.sh"
require_root_or_skip
require_vpcd_or_skip
for tool in pkcs15-tool pkcs15-crypt opensc-tool scriptor openssl; do
    command -v "$tool" >/dev/null 2>&1 || skip_test "$tool not found"
done
card_tool=$CARDHARNESS_TOOLS_DIR/emu_vpcd_card
[ -x "$card_tool" ] || skip_test "emu_vpcd_card not built"

make_test_dir dir
export CARDHARNESS_PKI_DIR=$dir/pki
port=$(pick_free_port_pair)
write_vpcd_reader_conf "$dir/reader.conf" "$port" "Emu PCD"
start_private_pcscd "$dir/reader.conf" "$dir/pcscd"
export OPENSC_CONF=$dir/opensc.conf
echo "app default { }" >"$OPENSC_CONF"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# start_card <profile> [options...]: serves the card to slot 0 and waits until pcscd sees it.
card_pid=""
start_card() {
    "$card_tool" --vpcd "127.0.0.1:$port" --profile "$@" --no-delay -q &
    card_pid=$!
    cleanup_pid "$card_pid"
    wait_for 20 opensc-tool --reader 0 --atr || fail "card $1 never appeared in reader 0"
}
stop_card() {
    kill -TERM "$card_pid" 2>/dev/null || true
    wait "$card_pid" 2>/dev/null || true
    card_pid=""
    sleep 0.5
}

# ---- My Number card -------------------------------------------------------------------------
start_card mynumber --state-file "$dir/mynumber.state"
atr=$(opensc-tool --reader 0 --atr)
[ "$atr" = "3b:da:13:ff:81:31:fb:46:80:12:39:2f:31:c1:73:c6:01:c0:3b" ] || fail "ATR was $atr"
opensc-tool --reader 0 --name | grep -x "jpki" >/dev/null || fail "OpenSC did not bind the JPKI driver"

pkcs15-tool --reader 0 --list-pins >"$dir/pins.txt" 2>&1 || { cat "$dir/pins.txt"; fail "list-pins"; }
grep -q "User Authentication PIN" "$dir/pins.txt" || fail "no authentication PIN listed"
grep -A12 "User Authentication PIN" "$dir/pins.txt" | grep -Eq "Tries left *: *3" ||
    { cat "$dir/pins.txt"; fail "authentication PIN tries left is not 3"; }
grep -A12 "Digital Signature PIN" "$dir/pins.txt" | grep -Eq "Tries left *: *5" ||
    { cat "$dir/pins.txt"; fail "signing password tries left is not 5"; }

pkcs15-tool --reader 0 --read-certificate 01 -o "$dir/auth.pem" >/dev/null 2>&1 ||
    fail "reading the authentication certificate"
openssl x509 -in "$dir/auth.pem" -noout -subject | grep "CARDHARNESS TEST CARD AUTH" >/dev/null ||
    fail "authentication certificate subject"
cmp <(openssl x509 -in "$dir/auth.pem" -outform DER) "$CARDHARNESS_PKI_DIR/test/auth.der" ||
    fail "certificate read through OpenSC differs from the PKI file"
pkcs15-tool --reader 0 --read-certificate 03 -o "$dir/auth_ca.pem" >/dev/null 2>&1 ||
    fail "reading the authentication CA certificate"
openssl verify -partial_chain -CAfile "$dir/auth_ca.pem" "$dir/auth.pem" >/dev/null ||
    fail "authentication certificate does not verify against its CA"

# User-authentication signature (key 01, PIN 1234) with the card doing PKCS#1 v1.5 padding.
printf 'cardharness emu integration' >"$dir/data.bin"
openssl dgst -sha256 -binary "$dir/data.bin" >"$dir/data.sha256"
pkcs15-crypt --reader 0 --sign --key 01 --pin 1234 --sha-256 --pkcs1 \
    --input "$dir/data.sha256" --output "$dir/auth.sig" >"$dir/sign.log" 2>&1 ||
    { cat "$dir/sign.log"; fail "pkcs15-crypt authentication signature"; }
[ "$(stat -c %s "$dir/auth.sig")" -eq 256 ] || fail "signature is not 256 bytes"
openssl x509 -in "$dir/auth.pem" -pubkey -noout >"$dir/auth.pub"
openssl dgst -sha256 -verify "$dir/auth.pub" -signature "$dir/auth.sig" "$dir/data.bin" >/dev/null ||
    fail "authentication signature does not verify"

# Digital signature (key 02, password CARD2026); the signature certificate needs the password.
pkcs15-crypt --reader 0 --sign --key 02 --pin CARD2026 --sha-256 --pkcs1 \
    --input "$dir/data.sha256" --output "$dir/sign.sig" >"$dir/sign.log" 2>&1 ||
    { cat "$dir/sign.log"; fail "pkcs15-crypt digital signature"; }
openssl x509 -inform DER -in "$CARDHARNESS_PKI_DIR/test/sign.der" -pubkey -noout >"$dir/sign.pub"
openssl dgst -sha256 -verify "$dir/sign.pub" -signature "$dir/sign.sig" "$dir/data.bin" >/dev/null ||
    fail "digital signature does not verify"

# A wrong authentication PIN spends a try: OpenSC reports 2 tries left afterwards.
if pkcs15-crypt --reader 0 --sign --key 01 --pin 9999 --sha-256 --pkcs1 \
    --input "$dir/data.sha256" --output "$dir/bad.sig" >/dev/null 2>&1; then
    fail "a wrong PIN produced a signature"
fi
pkcs15-tool --reader 0 --list-pins 2>&1 | grep -A12 "User Authentication PIN" |
    grep -Eq "Tries left *: *2" || fail "tries left did not drop to 2 after a wrong PIN"

# scriptor (pcsc-tools) with the APDU sequences of domain.md section 4.
cat >"$dir/script.txt" <<'SCRIPT'
# JPKI AP, token, retry query, read with SFI, unknown INS
00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01
00 A4 02 0C 02 00 06
00 B0 00 00 20
00 A4 02 0C 02 00 1B
00 20 00 80
00 B0 81 00 04
00 CA 00 00 00
SCRIPT
scriptor -r "Emu PCD 00 00" "$dir/script.txt" >"$dir/scriptor.out" 2>&1 ||
    { cat "$dir/scriptor.out"; fail "scriptor"; }
grep -q "4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E 32" "$dir/scriptor.out" ||
    { cat "$dir/scriptor.out"; fail "scriptor: token EF"; }
grep -q "63 C5" "$dir/scriptor.out" || { cat "$dir/scriptor.out"; fail "scriptor: 63 C5"; }
grep -q "69 82" "$dir/scriptor.out" || { cat "$dir/scriptor.out"; fail "scriptor: 69 82"; }
grep -q "6D 00" "$dir/scriptor.out" || { cat "$dir/scriptor.out"; fail "scriptor: 6D 00"; }

# The retry counter survives the card being removed and inserted again (state file).
stop_card
grep -q "pin jpki/0018 2" "$dir/mynumber.state" || { cat "$dir/mynumber.state"; fail "state file"; }
start_card mynumber --state-file "$dir/mynumber.state"
pkcs15-tool --reader 0 --list-pins 2>&1 | grep -A12 "User Authentication PIN" |
    grep -Eq "Tries left *: *2" || fail "tries left not kept across removal"
stop_card

# ---- Juki card: RSA-1024, signing key only ---------------------------------------------------
start_card juki
atr=$(opensc-tool --reader 0 --atr)
[ "$atr" = "3b:e0:00:ff:81:31:fe:45:14" ] || fail "Juki ATR was $atr"
cat >"$dir/juki.txt" <<'SCRIPT'
00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01
00 A4 02 0C 02 00 06
00 B0 00 00 20
00 A4 02 0C 02 00 1B
00 20 00 80 08 4A 55 4B 49 32 30 32 36
00 A4 02 0C 02 00 1A
80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F 00
SCRIPT
scriptor -r "Emu PCD 00 00" "$dir/juki.txt" >"$dir/juki.out" 2>&1 || { cat "$dir/juki.out"; fail "scriptor juki"; }
grep -q "4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E 20" "$dir/juki.out" ||
    { cat "$dir/juki.out"; fail "Juki token"; }
# The signature response: 128 bytes + 90 00 (a 130-byte response, domain.md section 8).
count=$(awk '/^> 80 2A/ { n = 0; on = 1; next }
    on { sub(/^< /, ""); for (i = 1; i <= NF; i++) if ($i ~ /^[0-9A-F][0-9A-F]$/) n++; if ($0 ~ /:/) on = 0 }
    END { print n }' "$dir/juki.out")
[ "$count" -eq 130 ] || { cat "$dir/juki.out"; fail "Juki signature response is $count bytes, not 130"; }
grep -q "^90 00 : Normal processing" "$dir/juki.out" || { cat "$dir/juki.out"; fail "Juki signature status"; }
stop_card
echo "emulated My Number and Juki cards pass OpenSC JPKI and scriptor"
