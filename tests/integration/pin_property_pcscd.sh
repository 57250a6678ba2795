#!/usr/bin/env bash
# The property test through pcscd (the unit test pin_property_test runs thousands of sequences
# in process; this runs fewer, on the real path): seeded random suites — every action kind, rows
# that can carry a PIN (the loader must refuse them), hostile personal-read scenarios, reconnects
# and resets — run by two `run --all` at once on a lab with citizen cards, while another PC/SC
# client (opensc-tool) selects and reads at random and a test card is pulled and put back. Asserts,
# from the emulator's counters, that no citizen PIN lost more than one try (the station's memory
# of failed PINs, shared by both runs) and none is blocked, and that no persona canary is in the
# database, stdout/stderr, the lab and pcscd logs, or any report format.
# CARDHARNESS_PROPERTY_SEED / CARDHARNESS_PROPERTY_ROUNDS (default 4) change seed and size.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v sqlite3 >/dev/null || lab_skip "sqlite3 not found"
command -v opensc-tool >/dev/null || lab_skip "opensc-tool not found"

seed=${CARDHARNESS_PROPERTY_SEED:-8}
rounds=${CARDHARNESS_PROPERTY_ROUNDS:-4}
RANDOM=$seed
echo "seed $seed, $rounds rounds"

labfile=$(mktemp /tmp/chlabfile.XXXXXX.csv)
cat >"$labfile" <<'EOF'
slot,reader_model,card,interface,citizen
c1,lab-ext-dual,mynumber,contact,yes
c2,lab-tpdu-contact,juki,contact,yes
t1,lab-ext-dual,mynumber,contact,no
EOF
lab_start --lab "$labfile"
rm -f "$labfile"
work=$LAB_DIR/work
mkdir -p "$work"
profiles=$LAB_DIR/profiles
mkdir -p "$profiles"
cp -r "$CARDHARNESS_SOURCE_DIR/profiles/." "$profiles/"
export CARDHARNESS_PROFILES_DIR=$profiles
persona=$profiles/cards/persona.csv
value_of() { grep -E "^$1," "$persona" | head -n1 | cut -d, -f2-; }

allowed=(
    'select_aid,aid=${aid.jpki}' 'select_aid,aid=${aid.text}' 'select_aid,aid=${aid.juki_ap}'
    'select_aid,aid=${aid.visual}' 'select_ef,fid=0001' 'select_ef,fid=0002' 'select_ef,fid=0006'
    'select_ef,fid=000A' 'select_ef,fid=000B' 'read_ef,fid=000B' 'read_ef,fid=0006;mode=fixed;length=32'
    'read_ef,fid=0001;mode=extended' 'pin_tries,pin=auth' 'pin_tries,pin=sign' 'pin_tries,pin=text'
    'verify_pin,pin=auth' 'verify_pin,pin=sign' 'verify_pin,pin=text' 'verify_pin,pin=juki'
    'verify_pin,pin=auth;value=wrong' 'reset,kind=warm' 'reset,kind=cold' 'reconnect,share=shared'
    'atr,' 'apdu,00 B0 00 00 00' 'apdu,00 B0 81 00 00' 'apdu,01 B0 00 00 00' 'apdu,00 20 00 80'
    'apdu,80 A4 02 0C 02 00 06' 'apdu,00 84 00 00 08' 'repeat,cmd=00 B0 00 00 20;count=2'
    'measure,cmd=00 A4 04 0C 0A ${aid.jpki};count=3'
)
refused=(
    'apdu,00 20 00 80 04 31 32 33 34' 'apdu,00 21 00 80 04 30 30 30 30'
    'repeat,cmd=00 2C 00 80 02 31 32;count=2' 'measure,cmd=A0 20 00 01 04 31 32 33 34;count=2'
    'apdu,00 C2 00 00 04 00 20 00 80' 'sweep,case=3;from=1;to=2;ins=20'
    'apdu,0C 20 00 80 04 31 32 33 34' 'apdu,80 24 00 80 04 31 32 33 34' 'apdu,00 26 00 80 02 31 32'
)
scenario=('verify_pin,pin=text' 'select_ef,fid=0001' 'reconnect,share=shared' 'apdu,00 B0 00 00 00')
head='id,group,title_en,title_ja,action,args,expect_sw,expect_data,requires,on_fail,timeout_ms'
row() { # n action,args
    local action=${2%%,*} args=${2#*,}
    printf 's%d,g,Step %d,手順 %d,%s,"%s",any,,,continue,\n' "$1" "$1" "$1" "$action" "$args"
}

side_doors=0
loader_refused=0
suites=()
for k in $(seq 1 "$rounds"); do
    file=$profiles/suites/rand-$k.csv
    {
        echo "$head"
        n=0
        for _ in $(seq 1 $((4 + RANDOM % 10))); do
            if [ $((RANDOM % 4)) -eq 0 ]; then
                row $n "${refused[RANDOM % ${#refused[@]}]}"
            else
                row $n "${allowed[RANDOM % ${#allowed[@]}]}"
            fi
            n=$((n + 1))
        done
        if [ $((RANDOM % 2)) -eq 0 ]; then
            for r in "${scenario[@]}"; do
                row $n "$r"
                n=$((n + 1))
            done
        fi
    } >"$file"
    # The loader refuses every row that can carry a PIN: drop them (counting) until it loads.
    while ! "$CARDHARNESS" suite check "$file" >/dev/null 2>"$work/check.err"; do
        line=$(grep -oE "rand-$k.csv:[0-9]+:" "$work/check.err" | head -n1 | cut -d: -f2)
        [ -n "$line" ] || lab_fail "suite check failed without a line: $(cat "$work/check.err")"
        grep -qE "PIN|ENVELOPE|instruction" "$work/check.err" || lab_fail "unexpected error: $(cat "$work/check.err")"
        sed -i "${line}d" "$file"
        loader_refused=$((loader_refused + 1))
        side_doors=$((side_doors + 1))
    done
    suites+=("rand-$k")
done
echo "generated ${#suites[@]} suites; the loader refused $loader_refused rows that could carry a PIN"

pins_file() { # correct or wrong PINs, at random
    {
        echo "pin,value"
        for p in auth:pin_auth sign:pin_sign text:pin_text juki:pin_juki_ap; do
            case $((RANDOM % 3)) in
            0) echo "${p%%:*},$(value_of "${p#*:}")" ;;
            1) [ "${p%%:*}" = sign ] && echo "sign,WRONG9PW" || echo "${p%%:*},9876" ;;
            esac
        done
    } >"$1"
}

max_pins=$("$CARDHARNESS" lab status --dir "$LAB_DIR" --json | jq -c '[.slots[] | {slot, pins}]')
c1=$(lab_reader c1)
t1=$(lab_reader t1)
for k in $(seq 1 "$rounds"); do
    pins_file "$work/pins-$k-a.csv"
    pins_file "$work/pins-$k-b.csv"
    for who in a b; do
        timeout 300 "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --suite "rand-$k" \
            --pins "$work/pins-$k-$who.csv" --json --db "$work/h.db" \
            >"$work/out-$k-$who.json" 2>"$work/err-$k-$who.txt" </dev/null &
        eval "pid_$who=$!"
    done
    # Another program at the citizen card (selects and reads only) and a test card pulled and
    # put back, while both runs are going.
    for _ in 1 2 3; do
        opensc-tool --reader "$c1" -s 00:A4:04:0C:0A:D3:92:10:00:31:00:01:01:04:08 \
            -s 00:A4:02:0C:02:00:01 -s 00:B0:00:00:00 >/dev/null 2>&1 || true
        sleep 0.$((RANDOM % 5))
    done
    if [ $((RANDOM % 2)) -eq 0 ]; then
        "$CARDHARNESS" lab remove t1 --dir "$LAB_DIR" >/dev/null
        sleep 0.3
        "$CARDHARNESS" lab insert t1 --dir "$LAB_DIR" >/dev/null
    fi
    set +e
    wait "$pid_a"
    rc_a=$?
    wait "$pid_b"
    rc_b=$?
    set -e
    for rc in "$rc_a" "$rc_b"; do
        [ "$rc" -le 1 ] || [ "$rc" -eq 3 ] || lab_fail "round $k: a run exited $rc: $(tail -n 3 "$work"/err-$k-*.txt)"
    done
    side_doors=$((side_doors + 2))
    # The floor, from the emulator: a citizen PIN loses at most one try, ever, and none blocks.
    now=$("$CARDHARNESS" lab status --dir "$LAB_DIR" --json | jq -c '[.slots[] | {slot, pins}]')
    jq -e --argjson max "$max_pins" --argjson now "$now" -n '
        [$now[] | select(.slot == "c1" or .slot == "c2")] as $c |
        all($c[]; . as $s | ($max[] | select(.slot == $s.slot) | .pins) as $m |
            all($s.pins | to_entries[]; .value > 0 and .value >= $m[.key] - 1 and
                (if (.key | startswith("visual/")) then .value == $m[.key] else true end)))' \
        >/dev/null || lab_fail "round $k: a citizen PIN fell below its floor: $max_pins -> $now"
done
echo "ok: $rounds rounds of two concurrent runs: citizen counters $(jq -c '[.[] | select(.slot != "t1")]' <<<"$now")"

# Canaries in every output: the database (file and dump), stdout/stderr of every run, the lab's
# and pcscd's logs, and every report format.
sqlite3 "$work/h.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
sqlite3 "$work/h.db" .dump >"$work/dump.sql"
for lang in ja en; do
    for view in public technical; do
        "$CARDHARNESS" report --db "$work/h.db" --format html --lang "$lang" --view "$view" \
            --out "$work/report-$lang-$view.html"
    done
    for format in csv md junit; do
        "$CARDHARNESS" report --db "$work/h.db" --format "$format" --lang "$lang" \
            --out "$work/report-$lang.$format"
    done
done
"$CARDHARNESS" report --db "$work/h.db" --format json --out "$work/report.json"
files=("$work"/h.db "$work"/dump.sql "$work"/out-* "$work"/err-* "$work"/report* "$LAB_DIR/lab.log")
[ -f "$LAB_DIR/pcscd.log" ] && files+=("$LAB_DIR/pcscd.log")
hex_spaced() { printf '%s' "$1" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//' | tr a-f A-F; }
hex_packed() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }
canaries=()
for field in name name_kana address birth_date my_number pin_sign pin_juki_sign; do
    v=$(value_of "$field")
    [ -n "$v" ] && canaries+=("$v")
done
while IFS= read -r token; do canaries+=("$token"); done < <(grep -oE 'CANARY-[A-Z]+-[0-9A-Z]+' "$persona")
hits=0
for v in "${canaries[@]}"; do
    for needle in "$v" "$(hex_spaced "$v")" "$(hex_packed "$v")"; do
        for f in "${files[@]}"; do
            if grep -aiqF -- "$needle" "$f"; then
                echo "HIT: canary '${v:0:3}…' in $f" >&2
                hits=$((hits + 1))
            fi
        done
    done
done
for v in "$(value_of pin_auth)" "$(value_of pin_text)" "$(value_of pin_juki_ap)" 9876; do
    for f in "${files[@]}"; do
        if grep -aiqF -- "04 $(hex_spaced "$v")" "$f" || grep -aiqF -- "04$(hex_packed "$v")" "$f"; then
            echo "HIT: a 4-digit PIN as VERIFY data in $f" >&2
            hits=$((hits + 1))
        fi
    done
done
[ "$hits" -eq 0 ] || lab_fail "$hits canary or PIN hits"
steps=$(jq -s '[.[] | .sessions[]?.suites[]?.steps[]?] | length' "$work"/out-*.json)
echo "ok: $steps steps, no canary or PIN in ${#files[@]} outputs (${#canaries[@]} canaries)"
echo "side doors tried: $side_doors (loader refused $loader_refused rows); canary hits: $hits"
