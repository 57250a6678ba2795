#!/usr/bin/env bash
# `cardharness identify` through a real pcscd: in-test identification cards (tests/tools/id_card)
# served over vpcd slots of a private pcscd. Checks types and interfaces, the anonymous card id
# (keyed by the station key: stable on one station, different on another, same card on both
# interfaces; cert-... strong, atr-... weak, refused by run --test-card when weak), --reader,
# exit codes, and that no VERIFY / personal-data EF access ever reached a card.
set -euo pipefail

source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/pcscd.sh"
require_root_or_skip
require_vpcd_or_skip
command -v jq >/dev/null 2>&1 || skip_test "jq not found"
id_card="$CARDHARNESS_TOOLS_DIR/id_card"
[ -x "$id_card" ] || skip_test "in-test card tool not built: $id_card"
[ -x "$CARDHARNESS" ] || skip_test "cardharness not built: $CARDHARNESS"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

make_test_dir dir
# One vpcd entry: two slots, PORT and PORT+1 (several vpcd entries in one pcscd alias each other's
# slots, so the cards are swapped between phases instead).
port=$(pick_free_port_pair)
write_vpcd_reader_conf "$dir/reader.conf" "$port" "Lab"
start_private_pcscd "$dir/reader.conf" "$dir/pcscd"
slot0="Lab 00 00"
slot1="Lab 00 01"

card_pids=()
# card <name> <slot 0|1> <id_card options...>: serves one in-test card (a new card: insertion).
card() {
    local name=$1 slot=$2
    shift 2
    "$id_card" --vpcd "127.0.0.1:$((port + slot))" --log "$dir/$name.apdu" "$@" \
        2>"$dir/$name.log" &
    cleanup_pid $!
    card_pids+=($!)
}
# Removes every card served so far (closing the vpcd connection is card removal).
remove_cards() {
    local pid
    for pid in "${card_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    card_pids=()
    # vpcd reconnects fast: wait until pcscd has seen the removal, or the next card would keep the
    # old card's ATR (pcscd polls a vpcd slot, and a swap between two polls is no swap to it).
    local deadline=$((SECONDS + 20)) n=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        n=$(identify --json 2>/dev/null | jq '[.[] | select(.card_type != "no_card")] | length' 2>/dev/null || true)
        [ "$n" = 0 ] && return 0
        sleep 0.2
    done
    fail "cards still seen 20 s after their removal ($n)"
}

# Each test station has its own state folder (station key).
export CARDHARNESS_STATE_DIR=$dir/station-one
identify() { "$CARDHARNESS" identify "$@"; }

# wait_types <type/interface in slot 0> <type/interface in slot 1>: until identify sees them
# (20 s at most). Both parts: after a swap, the old cards match the new types until pcscd has
# noticed the removal.
wait_types() {
    local deadline=$((SECONDS + 20)) got=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        got=$(identify --json 2>/dev/null | jq -r '[.[] | "\(.card_type)/\(.interface)"] | join(" ")' || true)
        [ "$got" = "$1 $2" ] && return 0
        sleep 0.3
    done
    fail "expected cards '$1 $2' in the two slots, identify saw '$got'"
}

# field <json file> <reader> <field>
field() {
    jq -r --arg r "$2" --arg f "$3" '[.[] | select(.reader == $r)] |
        if length == 1 then .[0][$f] else error("expected one reader named \($r)") end' "$1"
}

# expect <json file> <reader> <card_type> <interface> <strength>
expect() {
    local got
    got="$(field "$1" "$2" card_type) $(field "$1" "$2" interface) $(field "$1" "$2" card_id_strength)"
    [ "$got" = "$3 $4 $5" ] || fail "$2: expected '$3 $4 $5', got '$got'"
    echo "ok: $2 -> $got"
}
ids() { jq -c '[.[] | {reader, card_id}]' "$1"; }

# Phase 1: a My Number card and a Juki card, contact.
card mynumber 0 --kind mynumber
card juki 1 --kind juki
wait_types mynumber/contact juki/contact
identify --json >"$dir/run1.json"
identify --json --db "$dir/any.db" >"$dir/run2.json" # --db is accepted and ignored
CARDHARNESS_STATE_DIR=$dir/station-two identify --json >"$dir/other.json"
expect "$dir/run1.json" "$slot0" mynumber contact strong
expect "$dir/run1.json" "$slot1" juki contact weak

# Card ids: cert-/atr- + 24 hex digits, stable on one station, different on another.
[ "$(ids "$dir/run1.json")" = "$(ids "$dir/run2.json")" ] || fail "card ids changed between two runs on one station"
jq -e 'all(.[]; .card_id | test("^(cert|atr)-[0-9a-f]{24}$"))' "$dir/run1.json" >/dev/null || fail "card id format"
[ "$(field "$dir/run1.json" "$slot0" card_id | cut -c1-5)" = "cert-" ] || fail "the My Number card's id is not a strong cert- id"
[ "$(field "$dir/run1.json" "$slot1" card_id | cut -c1-4)" = "atr-" ] || fail "the Juki card's id is not a weak atr- id"
for r in "$slot0" "$slot1"; do
    [ "$(field "$dir/run1.json" "$r" card_id)" != "$(field "$dir/other.json" "$r" card_id)" ] ||
        fail "$r: the same card id on two stations"
done
[ "$(stat -c %a "$dir/station-one/station.key")" = 600 ] || fail "the station key is not 0600"
echo "ok: card ids stable on a station, different across stations; the station key is 0600"

# A weak id cannot declare a test card: refused before anything runs, saying why.
set +e
"$CARDHARNESS" run --reader "$slot1" --test-card "$(field "$dir/run1.json" "$slot1" card_id)" \
    --db "$dir/weak.db" >"$dir/weak.out" 2>"$dir/weak.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "run --test-card <weak id> should exit 2, got $rc"
grep -q "weak card id" "$dir/weak.err" || fail "no reason for the refusal: $(cat "$dir/weak.err")"
grep -q "Juki card" "$dir/weak.err" || fail "the refusal does not mention Juki cards"
[ ! -e "$dir/weak.db" ] || fail "a refused run created its database"
echo "ok: run --test-card with a weak id exits 2 and says why"

# Evidence: the text AP was probed (present on the My Number card, absent on the Juki card).
text_ap_sw() {
    jq -r --arg r "$2" '.[] | select(.reader == $r) | .evidence[] |
        select(.sent | startswith("SELECT text AP")) | .sw' "$1"
}
[ "$(text_ap_sw "$dir/run1.json" "$slot0")" = 9000 ] || fail "text AP evidence on the My Number card"
[ "$(text_ap_sw "$dir/run1.json" "$slot1")" = 6A82 ] || fail "text AP evidence on the Juki card"

# Text output.
identify >"$dir/text.out"
grep -q "My Number card (mynumber), contact" "$dir/text.out" || fail "text output: $(cat "$dir/text.out")"
grep -q "Juki card (juki), contact" "$dir/text.out" || fail "text output lacks the Juki card"

# --reader: one reader only; an unknown one is a usage error listing the readers.
identify --json --reader "$slot1" >"$dir/one_reader.json"
jq -e 'length == 1 and .[0].card_type == "juki"' "$dir/one_reader.json" >/dev/null || fail "--reader"
set +e
identify --reader "No Such Reader" --db "$dir/one.db" >"$dir/bad.out" 2>"$dir/bad.err"
status=$?
set -e
[ "$status" -eq 2 ] || fail "unknown reader: exit $status, expected 2"
grep -q "$slot0" "$dir/bad.err" || fail "unknown reader: available readers not listed: $(cat "$dir/bad.err")"
echo "ok: --reader"

# An outside tool sees the same ATR (OpenSC through the same pcscd).
if command -v opensc-tool >/dev/null 2>&1; then
    theirs=$(opensc-tool -r 0 -a | tr -d ': \n' | tr a-f A-F)
    ours=$(field "$dir/run1.json" "$slot0" atr | tr -d ' ')
    [ "$theirs" = "$ours" ] || fail "ATR: opensc-tool $theirs, cardharness $ours"
    echo "ok: opensc-tool agrees on the ATR"
fi

# Phase 2: the same cards presented contactless. The My Number card keeps its id (same
# certificate); the Juki card's weak id (ATR + token) changes with the pseudo-ATR.
remove_cards
card mynumber_cl 0 --kind mynumber --contactless
card juki_cl 1 --kind juki --contactless
wait_types mynumber/contactless juki/contactless
identify --json >"$dir/contactless.json"
expect "$dir/contactless.json" "$slot0" mynumber contactless strong
expect "$dir/contactless.json" "$slot1" juki contactless weak
[ "$(field "$dir/run1.json" "$slot0" card_id)" = "$(field "$dir/contactless.json" "$slot0" card_id)" ] ||
    fail "one My Number card got different ids through contact and contactless"
echo "ok: the My Number card has one id on both interfaces"

# Phase 3: a JPKI smartphone and a card without JPKI.
remove_cards
card phone 0 --kind phone
card unknown 1 --kind unknown
wait_types jpki_phone/contactless iso7816_unknown/contact
identify --json >"$dir/others.json"
expect "$dir/others.json" "$slot0" jpki_phone contactless strong
expect "$dir/others.json" "$slot1" iso7816_unknown contact weak
remove_cards
# Safety: no VERIFY (INS 20) and no personal-data EF (0001 / 0002) ever reached a card.
cat "$dir"/*.apdu >"$dir/all.apdu"
[ -s "$dir/all.apdu" ] || fail "no APDU was logged"
if grep -E '^..20' "$dir/all.apdu"; then fail "a VERIFY reached a card"; fi
if grep -E '^00A4020C02000[12]' "$dir/all.apdu"; then fail "a personal-data EF was selected"; fi
echo "ok: $(wc -l <"$dir/all.apdu") APDUs, none a VERIFY or a personal-data EF access"

# Privacy: the certificate subject (a canary standing for personal data) is never output or stored.
canary="CANARY-SUBJECT-7Q2X"
if grep -a -l "$canary" "$dir"/*.json "$dir"/*.out "$dir"/*.db* 2>/dev/null; then
    fail "the certificate subject leaked"
fi
echo "ok: the certificate subject appears in no output or database"

# No pcscd at all: exit 3 with a clear message.
set +e
PCSCLITE_CSOCK_NAME="$dir/nowhere/pcscd.comm" "$CARDHARNESS" identify \
    >"$dir/nopcscd.out" 2>"$dir/nopcscd.err"
status=$?
set -e
[ "$status" -eq 3 ] || fail "no pcscd: exit $status, expected 3 ($(cat "$dir/nopcscd.err"))"
[ -s "$dir/nopcscd.err" ] || fail "no pcscd: no message"
echo "ok: no pcscd -> exit 3: $(head -n 1 "$dir/nopcscd.err")"

# A pcscd without readers: exit 3 with a clear message.
stop_private_pcscd
: >"$dir/empty.conf"
start_private_pcscd "$dir/empty.conf" "$dir/pcscd-empty"
set +e
identify >"$dir/noreaders.out" 2>"$dir/noreaders.err"
status=$?
set -e
[ "$status" -eq 3 ] || fail "no readers: exit $status, expected 3 ($(cat "$dir/noreaders.err"))"
grep -q "no PC/SC readers" "$dir/noreaders.err" || fail "no readers: message: $(cat "$dir/noreaders.err")"
echo "ok: no readers -> exit 3: $(head -n 1 "$dir/noreaders.err")"
echo "PASS"
