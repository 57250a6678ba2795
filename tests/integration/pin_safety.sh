#!/usr/bin/env bash
# Issue 8 §1-§2 reproductions on the real path (lab readers, real pcscd): each of these broke the
# old code. Citizen cards' retry counters are read from the emulator (`lab status --json`) before
# and after, and nothing may be spent beyond the policy.
#  1. a citizen card inserted mid-run (`run --all --jobs 1`) is guarded: trust comes from the
#     lab's status read for the session, not from a snapshot taken when the run started;
#  2. two runs at once with a wrong PIN on a card with 2 tries spend one try, not two (the counter
#     read and the VERIFY are one PC/SC transaction), and a failed PIN is remembered across runs
#     and databases until `pins forget`;
#  3. `repeat,cmd=00 21 …;count=5` (and measure, sweep) never reaches a citizen card;
#  4. a weak card id (a Juki card) cannot declare a test card, and says why;
#  5. personal data read after a `reconnect` is redacted (the selection is unknown);
#  6. no reversible hash: no salt in the database, HMAC markers, the database and the test PKI's
#     private keys owner-only, the station key nowhere in the outputs.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found"
command -v opensc-tool >/dev/null || lab_skip "opensc-tool not found"

# A profiles folder of our own: the shipped profiles plus the suites these reproductions need.
profiles=$(mktemp -d /tmp/chprof.XXXXXX)
trap 'rm -rf "$profiles"' EXIT
cp -r "$CARDHARNESS_SOURCE_DIR/profiles/." "$profiles/"
head='id,group,title_en,title_ja,action,args,expect_sw,expect_data,requires,on_fail,timeout_ms'
{
    echo "$head"
    echo 'v,auth,Verify the authentication PIN,利用者証明用PINを照合,verify_pin,pin=auth,9000,,pin:auth,continue,3000'
} >"$profiles/suites/verify-auth.csv"
{
    echo "$head"
    echo 'v,text,Verify the text PIN,券面事項入力補助PINを照合,verify_pin,pin=text,9000,,pin:text,continue,3000'
} >"$profiles/suites/verify-text.csv"
{
    echo "$head"
    echo 'a,t,Text AP,券面事項入力補助AP,select_aid,aid=${aid.text},,,,continue,'
    echo 'e,t,PIN EF,暗証番号EF,select_ef,fid=0011,,,,continue,'
    echo 'r,t,Repeat,繰り返し,repeat,cmd=00 21 00 80 04 30 30 30 30;count=5,,,,continue,'
} >"$profiles/suites/repeat-odd.csv"
{
    echo "$head"
    echo 'a,t,Text AP,券面事項入力補助AP,select_aid,aid=${aid.text},,,,continue,'
    echo 'v,t,Verify,照合,verify_pin,pin=text,9000,,pin:text,continue,'
    echo 'e,t,My Number EF,個人番号EF,select_ef,fid=0001,,,,continue,'
    echo 'c,t,Reconnect,再接続,reconnect,,,,,continue,'
    echo 'r,t,Read after the reconnect,再接続後の読み出し,apdu,00 B0 00 00 00,,,,continue,'
    echo 'a2,t,Text AP,券面事項入力補助AP,select_aid,aid=${aid.text},,,,continue,'
    echo 'e2,t,Basic information EF,基本4情報EF,select_ef,fid=0002,,,,continue,'
    echo 'z,t,Reset,リセット,reset,kind=warm,,,,continue,'
    echo 'r2,t,Read after the reset,リセット後の読み出し,apdu,00 B0 00 00 00,,,,continue,'
} >"$profiles/suites/reconnect-read.csv"
# A citizen card whose VERIFY takes 1.5 s: two runs that each read "2 tries" before either VERIFY
# ends would both send (the old code did); the transaction makes the second wait and read 1.
echo 'mynumber-slowpin,mynumber,contact,3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B,yes,fci,6B00,9000,,3,5,1500,400,2,"My Number card, contact, VERIFY takes 1.5 s"' \
    >>"$profiles/cards/cards.csv"
export CARDHARNESS_PROFILES_DIR=$profiles

labfile=$(mktemp /tmp/chlabfile.XXXXXX.csv)
cat >"$labfile" <<'EOF'
slot,reader_model,card,interface,citizen
s1,lab-ext-dual,mynumber,contact,no
s2,lab-ext-dual,mynumber,contact,no
s4,lab-ext-dual,mynumber-slowpin,contact,yes
s5,lab-ext-dual,juki,contact,yes
s3,lab-ext-dual,juki,contact,no
EOF
# (s3 is the last reader: `run --all --jobs 1` reaches it after the four others.)
lab_start --lab "$labfile"
rm -f "$labfile"
trap 'rc=$?; rm -rf "$profiles"; (exit $rc); lab_cleanup' EXIT
work=$LAB_DIR/work
mkdir -p "$work"

r1=$(lab_reader s1)
r4=$(lab_reader s4)
r5=$(lab_reader s5)
slot_pins() { "$CARDHARNESS" lab status --dir "$LAB_DIR" --json | jq -c --arg s "$1" '.slots[] | select(.slot == $s) | .pins'; }
tries() { slot_pins "$1" | jq -r --arg k "$2" '.[$k]'; }
wait_for() { # pattern file
    local _
    for _ in $(seq 1 600); do
        grep -q "$1" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    lab_fail "timed out waiting for '$1' in $2: $(tail -n 3 "$2")"
}
side_doors=0
refused=0

# ---- 1. A citizen card inserted mid-run -------------------------------------------------------
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --jobs 1 --suite pin-behaviour --json \
    --db "$work/midrun.db" >"$work/midrun.json" 2>"$work/midrun.err" </dev/null &
run_pid=$!
wait_for "(s1)" "$work/midrun.err" # the run has read the lab and started its first session
"$CARDHARNESS" lab insert s3 --card mynumber --citizen --dir "$LAB_DIR"
before=$(slot_pins s3)
set +e
wait "$run_pid"
rc=$?
set -e
[ "$rc" -le 1 ] || lab_fail "the mid-run run exited $rc: $(tail -n 5 "$work/midrun.err")"
after=$(slot_pins s3)
side_doors=$((side_doors + 1))
[ "$before" = "$after" ] || lab_fail "the citizen card inserted mid-run lost tries: $before -> $after"
jq -e --arg r "$(lab_reader s3)" '.sessions[] | select(.reader == $r) | .test_card == false' \
    "$work/midrun.json" >/dev/null || lab_fail "the citizen card inserted mid-run was trusted as a test card"
refused=$((refused + 1))
echo "ok: 1. citizen card inserted mid-run: counters unchanged ($after), not a test card"

# ---- 2. Two runs at once with a wrong PIN on a card with 2 tries -------------------------------
[ "$(tries s4 jpki/0018)" = 3 ] || lab_fail "s4 should start with 3 auth tries"
# One try spent by an outside program: the card now has 2.
opensc-tool --reader "$r4" -s 00:A4:04:0C:0A:D3:92:F0:00:26:01:00:00:00:01 \
    -s 00:A4:02:0C:02:00:18 -s 00:20:00:80:04:39:39:39:39 >"$work/opensc.out" 2>&1 || true
[ "$(tries s4 jpki/0018)" = 2 ] || lab_fail "could not bring s4 to 2 auth tries: $(slot_pins s4)"
printf 'pin,value\nauth,9876\ntext,9876\n' >"$work/wrong.csv"
# Each run its own station state: only the transaction can keep them apart.
for n in 1 2; do
    CARDHARNESS_STATE_DIR=$work/station$n "$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r4" \
        --suite verify-auth --pins "$work/wrong.csv" --json --db "$work/conc$n.db" \
        >"$work/conc$n.json" 2>"$work/conc$n.err" </dev/null &
    eval "conc_pid$n=$!"
done
set +e
wait "$conc_pid1"
rc1=$?
wait "$conc_pid2"
rc2=$?
set -e
for rc in "$rc1" "$rc2"; do
    # 3: a run that another run holds the reader from (one run per reader) is fine too.
    [ "$rc" -le 1 ] || [ "$rc" -eq 3 ] || lab_fail "a concurrent run exited $rc: $(cat "$work"/conc*.err | tail -n 5)"
done
side_doors=$((side_doors + 2))
[ "$(tries s4 jpki/0018)" = 1 ] ||
    lab_fail "two concurrent wrong-PIN runs must spend exactly one try (2 -> 1), got $(tries s4 jpki/0018)"
refused=$((refused + 1))
echo "ok: 2. two concurrent runs with a wrong PIN: auth 2 -> 1, one try spent"

# A failed PIN is remembered across runs and databases (station state, by card id): the text PIN
# (3 tries, above the floor) fails once, and a later run with a fresh database does not send it.
export CARDHARNESS_STATE_DIR=$work/station-m
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r4" --suite verify-text --pins "$work/wrong.csv" \
    --json --db "$work/m1.db" >"$work/m1.json" 2>"$work/m1.err" </dev/null || true
[ "$(tries s4 text/0011)" = 2 ] || lab_fail "the first wrong text PIN should spend one try: $(slot_pins s4)"
jq -e '[.sessions[0].suites[].steps[] | select(.action == "verify_pin")][0] |
       .verdict == "fail" and (.reason | test("no further attempts were made"))' "$work/m1.json" \
    >/dev/null || lab_fail "the failed PIN is not reported as such: $(jq -c '.sessions[0].suites' "$work/m1.json")"
"$CARDHARNESS" pins list --json >"$work/pins.json"
card=$(jq -r '.[0].card_id' "$work/pins.json")
[[ "$card" == cert-* ]] || lab_fail "the failure is not remembered by card id: $(cat "$work/pins.json")"
! grep -q 9876 "$CARDHARNESS_STATE_DIR/failed-pins.csv" || lab_fail "the failed PIN's value was stored"
[ "$(stat -c %a "$CARDHARNESS_STATE_DIR/failed-pins.csv")" = 600 ] || lab_fail "failed-pins.csv is not 0600"
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r4" --suite verify-text --pins "$work/wrong.csv" \
    --json --db "$work/m2.db" >"$work/m2.json" 2>"$work/m2.err" </dev/null || true
side_doors=$((side_doors + 1))
[ "$(tries s4 text/0011)" = 2 ] || lab_fail "a remembered failed PIN was sent again: $(slot_pins s4)"
jq -e --arg c "$card" '[.sessions[0].suites[].steps[] | select(.action == "verify_pin")][0] |
       .verdict == "skip" and (.reason | contains("pins forget --card " + $c))' "$work/m2.json" \
    >/dev/null || lab_fail "the refusal does not name pins forget: $(jq -c '.sessions[0].suites' "$work/m2.json")"
refused=$((refused + 1))
"$CARDHARNESS" pins forget --card "$card" >"$work/forget.out"
[ "$("$CARDHARNESS" pins list --json | jq length)" = 0 ] || lab_fail "pins forget left the card remembered"
echo "ok: 2b. a failed PIN is remembered across runs and databases until pins forget ($card)"

# ---- 3. repeat of an odd-INS VERIFY on a citizen card ------------------------------------------
before=$(slot_pins s4)
set +e
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r4" --suite repeat-odd --db "$work/rep.db" \
    >"$work/rep.out" 2>"$work/rep.err" </dev/null
rc=$?
set -e
side_doors=$((side_doors + 1))
[ "$rc" -eq 2 ] || lab_fail "a suite with repeat of 00 21 … should be refused with exit 2, got $rc"
grep -q "repeat-odd.csv:4:" "$work/rep.err" || lab_fail "no file:line:column: $(cat "$work/rep.err")"
[ "$before" = "$(slot_pins s4)" ] || lab_fail "the repeat reached the card: $before -> $(slot_pins s4)"
"$CARDHARNESS" suite check "$profiles/suites/repeat-odd.csv" >/dev/null 2>&1 && lab_fail "suite check accepted it"
refused=$((refused + 1))
echo "ok: 3. repeat,cmd=00 21 … refused by the loader (exit 2, file:line:column), counters unchanged"

# ---- 4. A weak card id cannot declare a test card -----------------------------------------------
unset CARDHARNESS_STATE_DIR
export CARDHARNESS_STATE_DIR=$LAB_DIR/state
weak=$("$CARDHARNESS" identify --reader "$r5" --json | jq -r '.[0].card_id')
[[ "$weak" == atr-* ]] || lab_fail "a Juki card should have a weak id, got $weak"
before=$(slot_pins s5)
set +e
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r5" --test-card "$weak" --suite pin-behaviour \
    --db "$work/weak.db" >"$work/weak.out" 2>"$work/weak.err" </dev/null
rc=$?
set -e
side_doors=$((side_doors + 1))
[ "$rc" -eq 2 ] || lab_fail "--test-card with a weak id should exit 2, got $rc"
grep -q "weak card id" "$work/weak.err" && grep -q "Juki card" "$work/weak.err" &&
    grep -q "lab" "$work/weak.err" || lab_fail "the refusal does not say why: $(cat "$work/weak.err")"
[ "$before" = "$(slot_pins s5)" ] || lab_fail "the Juki citizen card's counters changed"
refused=$((refused + 1))
echo "ok: 4. --test-card $weak refused (exit 2) with the reason; counters unchanged"

# ---- 5. Personal data after a reconnect (and after a reset) -------------------------------------
"$CARDHARNESS" lab reset --dir "$LAB_DIR" >/dev/null # part 1 blocked the test cards' text PIN
"$CARDHARNESS" run --lab-dir "$LAB_DIR" --reader "$r1" --suite reconnect-read --json \
    --db "$work/priv.db" >"$work/priv.json" 2>"$work/priv.err" </dev/null || true
jq -e '[.sessions[0].suites[].steps[] | select(.id == "r")][0].verdict == "pass"' "$work/priv.json" \
    >/dev/null || lab_fail "the read after the reconnect did not run: $(jq -c '.sessions[0].suites' "$work/priv.json")"
"$CARDHARNESS" report --db "$work/priv.db" --format html --view technical --out "$work/priv.html"
"$CARDHARNESS" report --db "$work/priv.db" --format json --out "$work/priv.report.json"
sqlite3 "$work/priv.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
sqlite3 "$work/priv.db" .dump >"$work/priv.sql"
grep -q "<redacted len=[0-9]* hmac=" "$work/priv.sql" ||
    lab_fail "the read after the reconnect was not stored as a marker: $(grep -c B0 "$work/priv.sql")"
persona=$profiles/cards/persona.csv
value_of() { grep -E "^$1," "$persona" | head -n1 | cut -d, -f2-; }
hex_spaced() { printf '%s' "$1" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//' | tr a-f A-F; }
hits=0
for field in my_number name name_kana address birth_date; do
    v=$(value_of "$field")
    [ -n "$v" ] || continue
    for f in "$work/priv.db" "$work/priv.sql" "$work/priv.json" "$work/priv.err" "$work/priv.html" \
        "$work/priv.report.json"; do
        if grep -aqF -- "$v" "$f" || grep -aqiF -- "$(hex_spaced "$v")" "$f"; then
            echo "HIT: $field in $f" >&2
            hits=$((hits + 1))
        fi
    done
done
[ "$hits" -eq 0 ] || lab_fail "$hits personal values stored after a reconnect"
echo "ok: 5. personal data read after a reconnect and after a reset is redacted in the DB, JSON and HTML"

# ---- 6. No reversible hash; owner-only files --------------------------------------------------
for db in "$work"/*.db; do
    [ "$(stat -c %a "$db")" = 600 ] || lab_fail "$db is $(stat -c %a "$db"), not 600"
    [ "$(sqlite3 "$db" "SELECT count(*) FROM meta WHERE key = 'card_id_salt'")" = 0 ] ||
        lab_fail "$db keeps a salt next to its hashes"
done
! grep -q "sha256=" "$work/priv.sql" || lab_fail "an unkeyed sha256 marker was stored"
plain=$(printf '%s' "$(value_of my_number)" | sha256sum | cut -c1-16)
! grep -aq "$plain" "$work/priv.sql" || lab_fail "a plain SHA-256 of the My Number was stored"
key_hex=$(od -An -tx1 "$CARDHARNESS_STATE_DIR/station.key" | tr -d ' \n')
[ "$(stat -c %a "$CARDHARNESS_STATE_DIR/station.key")" = 600 ] || lab_fail "the station key is not 0600"
for f in "$work"/*.db "$work"/*.sql "$work"/*.json "$work"/*.html; do
    ! grep -aqi "$key_hex" "$f" || lab_fail "the station key appears in $f"
done
pki=${CARDHARNESS_PKI_DIR:-$CARDHARNESS_SOURCE_DIR/results/pki}
if [ -d "$pki/keys" ]; then
    bad=$(find "$pki/keys" -name '*.pem' -perm /077 | head -n 3)
    [ -z "$bad" ] || lab_fail "test PKI private keys readable by others: $bad"
    [ "$(stat -c %a "$pki/keys")" = 700 ] || lab_fail "$pki/keys is not 0700"
fi
echo "ok: 6. databases 0600 without a salt, HMAC markers, station key 0600 and in no output, PKI keys 0600"
echo "side doors tried: $side_doors, refused: $refused (citizen counters checked before/after each)"
