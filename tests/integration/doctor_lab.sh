#!/usr/bin/env bash
# `cardharness doctor` on the virtual lab (a real pcscd with our reader driver):
#   all well: exit 0, ok, every lab reader named, JSON keys exactly as documented;
#   a reader held exclusively by another process: exit 3, reader_held_exclusively names it, and
#   all is well again once that process lets go;
#   pcscd killed (its socket left behind): pcscd_socket_stale; socket gone: pcscd_socket_missing;
#   the text in Japanese when the locale is ja_JP (LC_ALL=C and --lang en still win).
set -euo pipefail
# shellcheck source=lib/lab.sh
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
probe=$CARDHARNESS_TOOLS_DIR/pcsc_probe
[ -x "$probe" ] || lab_fail "pcsc_probe not built"
lab_start

# doctor_json NAME EXPECTED_EXIT [env...]: doctor --json into $LAB_DIR/NAME.json
doctor_json() {
    local name=$1 expected=$2 rc=0
    shift 2
    env "$@" "$CARDHARNESS" doctor --json >"$LAB_DIR/$name.json" || rc=$?
    [ "$rc" = "$expected" ] ||
        lab_fail "doctor ($name): exit $rc, expected $expected: $(jq -c '[.findings[] | select(.severity != "info")]' "$LAB_DIR/$name.json")"
}
has_code() { # has_code NAME CODE [TEXT]: a finding CODE whose message contains TEXT
    jq -e --arg c "$2" --arg t "${3:-}" 'any(.findings[]; .code == $c and (.message | contains($t)))' \
        "$LAB_DIR/$1.json" >/dev/null || lab_fail "doctor ($1): no finding $2 ${3:+with \"$3\"}: $(jq -c '[.findings[].code]' "$LAB_DIR/$1.json")"
}

# 1. All well.
doctor_json well 0
jq -e '.ok == true and ([.findings[] | select(.severity == "error")] | length == 0)' "$LAB_DIR/well.json" >/dev/null ||
    lab_fail "lab: not ok"
jq -e '(keys == ["findings", "ok"]) and all(.findings[]; keys == ["code", "fix", "fix_ja", "message", "message_ja", "severity"])' \
    "$LAB_DIR/well.json" >/dev/null || lab_fail "doctor --json keys differ from {ok, findings: [{code, severity, message, message_ja, fix, fix_ja}]}"
has_code well pcscd_reachable "$PCSCLITE_CSOCK_NAME"
has_code well pcsc_socket_from_environment
has_code well libccid_installed "$(dpkg-query -W -f='${Version}' libccid)"
readers=$("$CARDHARNESS" lab status --dir "$LAB_DIR" --json | jq -r '.slots[].pcsc_reader')
while read -r reader; do
    jq -e --arg r "$reader" 'any(.findings[]; .message | startswith($r + ":"))' "$LAB_DIR/well.json" >/dev/null ||
        lab_fail "doctor does not mention lab reader $reader"
done <<<"$readers"
text=$("$CARDHARNESS" doctor) || lab_fail "doctor (text) on the lab: exit $?"
[[ $text == *"Result: nothing blocks a test"* ]] || lab_fail "doctor text: $text"
echo "lab all well: exit 0, $(wc -l <<<"$readers") readers named"

# 2. A reader held exclusively by another process.
reader=$(lab_reader r01)
"$probe" hold "$reader" --seconds 30 >"$LAB_DIR/hold.out" 2>&1 &
holder=$!
for _ in $(seq 100); do
    grep -q held "$LAB_DIR/hold.out" && break
    kill -0 "$holder" 2>/dev/null || lab_fail "holder exited: $(cat "$LAB_DIR/hold.out")"
    sleep 0.1
done
grep -q held "$LAB_DIR/hold.out" || lab_fail "the holder did not get the card"
doctor_json held 3
has_code held reader_held_exclusively "$reader"
jq -e 'all(.findings[] | select(.code == "reader_held_exclusively"); (.fix | length > 0) and (.fix_ja | length > 0))' \
    "$LAB_DIR/held.json" >/dev/null || lab_fail "reader_held_exclusively without a fix"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
doctor_json released 0
echo "held exclusively: exit 3 naming $reader; released: exit 0"

# 3. pcscd killed: the lab stops itself, the socket stays behind.
pcscd_pid=$(jq -r .pcscd_pid "$LAB_DIR/state.json")
kill -KILL "$pcscd_pid"
for _ in $(seq 100); do
    [ -f "$LAB_DIR/state.json" ] || break
    sleep 0.1
done
[ -S "$PCSCLITE_CSOCK_NAME" ] || lab_fail "the killed pcscd's socket is gone already"
doctor_json stale 3
has_code stale pcscd_socket_stale "$PCSCLITE_CSOCK_NAME"

# 4. No socket at all; the language follows the locale.
rm -f "$PCSCLITE_CSOCK_NAME"
doctor_json missing 3
has_code missing pcscd_socket_missing "PCSCLITE_CSOCK_NAME"
rc=0
ja=$(LANG=ja_JP.UTF-8 "$CARDHARNESS" doctor) || rc=$?
[ "$rc" = 3 ] || lab_fail "doctor (ja): exit $rc"
[[ $ja == *"結果:"* && $ja == *"PCSCLITE_CSOCK_NAME が指す"* && $ja == *"対処:"* ]] ||
    lab_fail "LANG=ja_JP.UTF-8 doctor is not Japanese: $ja"
en=$(LANG=ja_JP.UTF-8 "$CARDHARNESS" doctor --lang en) || true
[[ $en == *"Result:"* ]] || lab_fail "--lang en does not win over the locale: $en"
en=$(LC_ALL=C LANG=ja_JP.UTF-8 "$CARDHARNESS" doctor) || true
[[ $en == *"Result:"* ]] || lab_fail "LC_ALL=C does not win over LANG: $en"
echo "pcscd killed: pcscd_socket_stale; socket gone: pcscd_socket_missing; Japanese by locale"
