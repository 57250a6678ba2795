#!/usr/bin/env bash
# Each reader model's quirk shows through the real pcscd and our driver, seen by scriptor
# (pcsc-tools) and by our pcsc_probe: the short 261 reader cannot return 258 bytes but returns
# the Juki card's 130; the no-WTX reader times out a 1.8 s RSA-2048 sign; the no-PPS reader cannot
# connect to TA1=13; the Type A-only reader sees no card; the chaining bug corrupts a long read;
# the Le=00 bug; a card removed during a transmit; PIN counters in lab status and lab reset.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v scriptor >/dev/null || lab_skip "scriptor (pcsc-tools) not found"
probe=$CARDHARNESS_TOOLS_DIR/pcsc_probe
[ -x "$probe" ] || lab_skip "pcsc_probe tool not built"
lab_start

# transmit SLOT APDU...: pcsc_probe's JSON (exit status ignored: a failure is data here)
transmit() {
    local reader
    reader=$(lab_reader "$1")
    shift
    "$probe" transmit "$reader" "$@" || true
}
error_of() { jq -r '.error.code_name // "none"'; }
last_length() { jq -r '.responses[-1] | split(" ") | length'; }
script_on() { # script_on SLOT FILE: scriptor's output (stdout and stderr)
    scriptor -r "$(lab_reader "$1")" "$2" 2>&1 || true
}
verify_and_sign() { # verify_and_sign SLOT PIN_EF PIN KEY_EF
    transmit "$1" "$JPKI_SELECT" "00A4020C02$2" "00200080$(printf '%02X' ${#3})$(ascii_hex "$3")" \
        "00A4020C02$4" "$SIGN_APDU"
}
expect() { # expect WHAT ACTUAL EXPECTED
    [ "$2" = "$3" ] || lab_fail "$1: expected $3, got $2"
    echo "ok $1: $2"
}

script=$LAB_DIR/read_cert.txt
printf '# JPKI AP, authentication certificate, READ BINARY Le=00 (256 bytes + SW)\n%s\n%s\n00B0000000\n' \
    "$JPKI_SELECT" "$EF_AUTH_CERT" >"$script"

# 1. Short APDU reader, dwMaxCCIDMessageLength 261: a 258-byte answer fails as a CCID reader's
#    would (IFD_COMMUNICATION_ERROR -> SCARD_E_NOT_TRANSACTED); the TPDU reader passes.
out=$(script_on r03 "$script")
grep -q "Transaction failed" <<<"$out" || lab_fail "r03: scriptor should fail the 258-byte read: $out"
echo "ok r03 scriptor: Transaction failed"
out=$(script_on r01 "$script")
{ tail -n 1 <<<"$out" | grep "90 00 : Normal processing" >/dev/null; } && ! grep -q "Transaction failed" <<<"$out" ||
    lab_fail "r01: read should pass: $out"
echo "ok r01 scriptor: 258-byte read passes"
expect "r03 My Number sign" "$(verify_and_sign r03 0018 1234 0017 | error_of)" SCARD_E_NOT_TRANSACTED
"$CARDHARNESS" lab insert r03 --card juki --dir "$LAB_DIR"
"$probe" wait-card "$(lab_reader r03)" --timeout-ms 5000 >/dev/null
signed=$(verify_and_sign r03 001B JUKI2026 001A)
expect "r03 Juki sign error" "$(error_of <<<"$signed")" none
expect "r03 Juki sign length" "$(last_length <<<"$signed")" 130

# 2. No waiting-time extension, 1 s timeout: the slow RSA-2048 sign (1.8 s) times out after
#    about 1 s; the Juki card's RSA-1024 sign passes.
start=$(date +%s%N)
result=$(verify_and_sign r04 0018 1234 0017)
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect "r04 slow sign" "$(error_of <<<"$result")" SCARD_E_NOT_TRANSACTED
[ "$elapsed_ms" -ge 1000 ] && [ "$elapsed_ms" -lt 1800 ] ||
    lab_fail "r04: the timeout should come after ~1 s, took $elapsed_ms ms"
grep -q "slot r04: transmit IFD_RESPONSE_TIMEOUT" "$LAB_DIR/lab.log" || lab_fail "r04: no IFD_RESPONSE_TIMEOUT logged"
"$CARDHARNESS" lab insert r04 --card juki --dir "$LAB_DIR"
"$probe" wait-card "$(lab_reader r04)" --timeout-ms 5000 >/dev/null
expect "r04 Juki sign" "$(verify_and_sign r04 001B JUKI2026 001A | error_of)" none

# 3. No PPS: the My Number card (TA1=13) cannot be connected; the Juki card (no TA1) can.
out=$(script_on r05 "$script")
grep -q "Card is unresponsive" <<<"$out" || lab_fail "r05: scriptor should fail to connect: $out"
expect "r05 connect" "$(transmit r05 "$JPKI_SELECT" | error_of)" SCARD_W_UNRESPONSIVE_CARD
"$CARDHARNESS" lab insert r05 --card juki --dir "$LAB_DIR"
"$probe" wait-card "$(lab_reader r05)" --timeout-ms 5000 >/dev/null
expect "r05 Juki connect" "$(transmit r05 "$JPKI_SELECT" | error_of)" none

# 4. Type A-only reader: the Type B My Number card is not there.
out=$(script_on r06 "$script")
grep -q "No smartcard inserted" <<<"$out" || lab_fail "r06: scriptor should find no card: $out"
expect "r06 connect" "$(transmit r06 "$JPKI_SELECT" | error_of)" SCARD_E_NO_SMARTCARD

# 5. Chaining bug above 512 bytes: one extended READ BINARY of 768 bytes differs from three
#    short reads of 256 bytes at byte 512; the chunks agree with a sound reader's.
ext=$(transmit r08 "$JPKI_SELECT" "$EF_AUTH_CERT" 00B00000000300 | jq -r '.responses[-1]')
chunks=$(transmit r08 "$JPKI_SELECT" "$EF_AUTH_CERT" 00B0000000 00B0010000 00B0020000 |
    jq -r '[.responses[2:][] | split(" ")[:-2]] | add | join(" ")')
ext_data=$(tr ' ' '\n' <<<"$ext" | head -n 768 | paste -sd' ')
[ "$(wc -w <<<"$ext_data")" -eq 768 ] || lab_fail "r08: extended read returned $(wc -w <<<"$ext_data") bytes"
[ "$(cut -d' ' -f1-512 <<<"$ext_data")" = "$(cut -d' ' -f1-512 <<<"$chunks")" ] ||
    lab_fail "r08: the first 512 bytes should be intact"
[ "$ext_data" != "$chunks" ] || lab_fail "r08: the chained read should be corrupted above 512 bytes"
echo "ok r08: chained 768-byte read corrupted after byte 512"

# 6. Le=00 bug: a 256-byte read fails, a 255-byte read passes (Juki card in r09).
expect "r09 Le=00" "$(transmit r09 "$JPKI_SELECT" 00A4020C020002 00B0000000 | error_of)" SCARD_E_NOT_TRANSACTED
expect "r09 Le=FF" "$(transmit r09 "$JPKI_SELECT" 00A4020C020002 00B00000FF | error_of)" none

# 7. A card removed during a transmit: the 1.8 s sign on a WTX reader fails at once.
"$CARDHARNESS" lab insert r01 --card mynumber-slow --dir "$LAB_DIR"
"$probe" wait-card "$(lab_reader r01)" --timeout-ms 5000 >/dev/null
verify_and_sign r01 0018 1234 0017 >"$LAB_DIR/removed.json" &
signer=$!
sleep 0.9
"$CARDHARNESS" lab remove r01 --dir "$LAB_DIR"
wait "$signer" || true
expect "r01 removed mid-sign" "$(error_of <"$LAB_DIR/removed.json")" SCARD_E_NO_SMARTCARD
"$probe" wait-removal "$(lab_reader r01)" --timeout-ms 5000 >/dev/null || lab_fail "r01 should be empty"
"$CARDHARNESS" lab insert r01 --dir "$LAB_DIR"
"$probe" wait-card "$(lab_reader r01)" --timeout-ms 5000 >/dev/null

# 8. PIN counters persist across power cycles; lab reset restores them.
transmit r12 "$JPKI_SELECT" 00A4020C02001B 0020008004$(ascii_hex WRNG) >/dev/null
transmit r12 "$JPKI_SELECT" 00A4020C02001B 00200080 >/dev/null # a reconnect, counter read
tries=$("$CARDHARNESS" lab status --dir "$LAB_DIR" --json | jq -r '.slots[] | select(.slot == "r12") | .pins["jpki/001B"]')
expect "r12 signing PIN tries after one wrong VERIFY" "$tries" 4
"$CARDHARNESS" lab reset --dir "$LAB_DIR"
tries=$("$CARDHARNESS" lab status --dir "$LAB_DIR" --json | jq -r '.slots[] | select(.slot == "r12") | .pins["jpki/001B"]')
expect "r12 signing PIN tries after lab reset" "$tries" 5

# 9. Usage errors exit 2 with a clear message.
set +e
"$CARDHARNESS" lab insert r99 --dir "$LAB_DIR" 2>"$LAB_DIR/err"
rc1=$?
"$CARDHARNESS" lab insert r01 --card no-such-card --dir "$LAB_DIR" 2>>"$LAB_DIR/err"
rc2=$?
printf 'slot,reader_model,card,interface,citizen\nr1,lab-tpdu-contact,mynumber,usb,no\n' >"$LAB_DIR/bad.csv"
"$CARDHARNESS" lab start --dir "$LAB_DIR/other" --lab "$LAB_DIR/bad.csv" 2>>"$LAB_DIR/err"
rc3=$?
set -e
cat "$LAB_DIR/err"
expect "unknown slot exit code" "$rc1" 2
expect "unknown card exit code" "$rc2" 2
expect "bad lab file exit code" "$rc3" 2
grep -q "bad.csv:2:30: expected contact, type_a or type_b" "$LAB_DIR/err" || lab_fail "no file:line:column error"
echo "PASS"
