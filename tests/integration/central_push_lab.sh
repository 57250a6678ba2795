#!/usr/bin/env bash
# Two stations' real lab runs (`cardharness run --lab --all`, each its own lab and database)
# pushed into one PostgreSQL server, each station as its own role:
# - every table's rows match the station's SQLite file, and the content of runs, sessions,
#   steps, exchanges, verdicts, readers and cards is the same, value for value;
# - pushing again sends nothing; a station that lost its push records pushes every run again
#   and the server adds nothing; a run first pushed while `running` (no verdicts yet) is completed
#   on the server by the next push (status, end time, verdicts);
# - nothing the station keeps to itself reaches the server: not the card-id salt, not the
#   station's push records.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/central.sh"
central_require_or_skip

LAB_DIR=$(mktemp -d /tmp/chpush.XXXXXX)
trap lab_cleanup EXIT
work=$LAB_DIR/work
mkdir -p "$work"
# The two stations' runs, at the same time (each run --lab starts and stops its own lab).
pids=()
for s in a b; do
    # Each station its own state folder (where a station keeps its secrets).
    mkdir -p "$work/state-$s"
    CARDHARNESS_STATE_DIR=$work/state-$s timeout 300 "$CARDHARNESS" run --lab --lab-dir "$LAB_DIR/lab-$s" --all --no-matrix --db "$work/$s.db" \
        >"$work/run-$s.out" 2>"$work/run-$s.err" &
    pids+=($!)
done
for i in 0 1; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    [ "$rc" -le 1 ] || { tail -n 20 "$work/run-$([ $i = 0 ] && echo a || echo b).err" >&2; lab_fail "lab run failed ($rc)"; }
done

central_server
central_station_role station_a
central_station_role station_b

# A run first pushed while still running: station a's run as it was before it finished.
cp "$work/a.db" "$work/a-running.db"
sqlite3 "$work/a-running.db" "UPDATE runs SET status = 'running', ended_at = '', cause = '';
    DELETE FROM verdicts;"
central_push station_a central "$work/a-running.db" lab-a >/dev/null
[ "$(pg_value central "SELECT status FROM cardharness.runs WHERE station = 'lab-a'")" = running ] ||
    pg_fail "the running run should be stored as running"

central_push station_a central "$work/a.db" lab-a >"$work/push-a.out"
central_push station_b central "$work/b.db" lab-b >"$work/push-b.out"
grep -q "pushed 1 run of station lab-a" "$work/push-a.out" || pg_fail "push a: $(cat "$work/push-a.out")"
for s in a b; do
    diff <(local_counts "$work/$s.db") <(central_counts central "lab-$s") >&2 ||
        pg_fail "lab-$s: the server's row counts differ from the station's"
done
status=$(sqlite3 "$work/a.db" "SELECT status FROM runs")
[ "$(pg_value central "SELECT status FROM cardharness.runs WHERE station = 'lab-a'")" = "$status" ] ||
    pg_fail "the running run was not completed on the server (local status $status)"
echo "ok: two stations' lab runs pushed; every table's row count matches its SQLite file; a run pushed while running was completed"

# Value for value: the same columns read from SQLite and from the server.
same() { # same STATION SQLITE_SQL PG_SQL WHAT
    local lite pg
    lite=$(sqlite3 -separator '|' "$work/$1.db" "$2" | md5sum)
    pg=$(psql -X -At -F '|' -U "$PG_ADMIN" -d central -c "$3" | md5sum)
    [ "$lite" = "$pg" ] || pg_fail "lab-$1: $4 differ between the station and the server"
}
for s in a b; do
    w="WHERE station = 'lab-$s'"
    same "$s" "SELECT uuid, started_at, ended_at, host, harness_version, lab, status, cause FROM runs" \
        "SELECT run_uuid, started_at, ended_at, host, harness_version, lab::int, status, cause FROM cardharness.runs $w" runs
    same "$s" "SELECT id, seq, reader_id, coalesce(card_id, ''), status, cause FROM sessions ORDER BY id" \
        "SELECT local_id, seq, reader_local_id, coalesce(card_local_id::text, ''), status, cause FROM cardharness.sessions $w ORDER BY local_id" sessions
    same "$s" "SELECT id, session_id, seq, suite_id, suite_hash, step_id, grp, title_ja, action, verdict, reason_en, reason_ja, coalesce(sw, ''), duration_us, measurements FROM steps ORDER BY id" \
        "SELECT local_id, session_local_id, seq, suite_id, suite_hash, step_id, grp, title_ja, action, verdict, reason_en, reason_ja, coalesce(sw::text, ''), duration_us, measurements FROM cardharness.steps $w ORDER BY local_id" steps
    same "$s" "SELECT id, step_row, seq, command, response, coalesce(sw, ''), duration_us, note FROM exchanges ORDER BY id" \
        "SELECT local_id, step_local_id, seq, command, response, coalesce(sw::text, ''), duration_us, note FROM cardharness.exchanges $w ORDER BY local_id" exchanges
    same "$s" "SELECT id, reader, reader_model, card_type, interface, verdict, diagnosis_en, diagnosis_ja FROM verdicts ORDER BY id" \
        "SELECT local_id, reader, reader_model, card_type, interface, verdict, diagnosis_en, diagnosis_ja FROM cardharness.verdicts $w ORDER BY local_id" verdicts
    same "$s" "SELECT id, identity_key, pcsc_name, coalesce(vid, ''), coalesce(pid, ''), coalesce(bcd_device, ''), manufacturer, product, serial, driver, reader_model, coalesce(hex(ccid_descriptor), ''), descriptor_findings FROM readers ORDER BY id" \
        "SELECT local_id, identity_key, pcsc_name, coalesce(vid::text, ''), coalesce(pid::text, ''), coalesce(bcd_device::text, ''), manufacturer, product, serial, driver, reader_model, coalesce(upper(encode(ccid_descriptor, 'hex')), ''), descriptor_findings FROM cardharness.readers $w ORDER BY local_id" readers
    same "$s" "SELECT id, card_id, card_type, interface, hex(atr), emulated, test_card FROM cards ORDER BY id" \
        "SELECT local_id, card_id, card_type, interface, upper(encode(atr, 'hex')), emulated::int, test_card::int FROM cardharness.cards $w ORDER BY local_id" cards
    same "$s" "SELECT suite_id, content_hash FROM run_suites ORDER BY suite_id" \
        "SELECT suite_id, content_hash FROM cardharness.run_suites $w ORDER BY suite_id" suites
done
echo "ok: runs, sessions, steps, exchanges, verdicts, readers, cards and suites are the same value for value"

# The README's query (newest session per reader × card type × interface over all stations)
# finds one row per cell of the two stations' databases together.
cells=$(sqlite3 "$work/a.db" "ATTACH '$work/b.db' AS b;
    SELECT count(*) FROM (
        SELECT r.identity_key, c.card_type, c.interface FROM sessions s
            JOIN readers r ON r.id = s.reader_id JOIN cards c ON c.id = s.card_id
        UNION
        SELECT r.identity_key, c.card_type, c.interface FROM b.sessions s
            JOIN b.readers r ON r.id = s.reader_id JOIN b.cards c ON c.id = s.card_id)")
query=$(sed -n '/^SELECT DISTINCT ON (rd.identity_key/,/^ORDER BY rd.identity_key/p' "$CARDHARNESS_SOURCE_DIR/README.md")
[ -n "$query" ] || pg_fail "the README's example query is gone"
got=$(psql -X -At -U "$PG_ADMIN" -d central -c "$query" | wc -l)
[ "$got" -eq "$cells" ] && [ "$cells" -gt 0 ] || pg_fail "README query: $got cells, the stations have $cells"
echo "ok: the README's newest-session-per-cell query finds the $cells cells of both stations"

# Idempotence.
before=$(central_digest central)
central_push station_a central "$work/a.db" lab-a | grep -q "nothing to push" || pg_fail "second push sent runs"
sqlite3 "$work/a.db" "DELETE FROM central_pushes"
central_push station_a central "$work/a.db" lab-a >"$work/again.out"
grep -q "pushed 1 run of station lab-a .* 0 new" "$work/again.out" ||
    pg_fail "a repeated push should add nothing: $(cat "$work/again.out")"
[ "$(central_digest central)" = "$before" ] || pg_fail "pushing again changed the server's rows"
echo "ok: pushing again sends nothing; re-sending every run adds nothing"

# What stays on the station: the database's meta values (the card-id salt) and every file of
# the station's state folder (its keys) appear nowhere on the server, in text or in hex.
secrets=$(sqlite3 "$work/a.db" "SELECT hex(value) FROM meta")
for f in "$work"/state-a/* "$work"/state-a/.[!.]*; do
    [ -f "$f" ] && [ -s "$f" ] || continue
    secrets+=$'\n'$(od -An -v -tx1 "$f" | tr -d ' \n')
    # A key kept as text (hex or base64) is looked for as that text too.
    LC_ALL=C grep -q '[^[:print:]]' <(tr -d '\n' <"$f") || secrets+=$'\n'$(tr -d '\n' <"$f")
done
dump=$(for t in "${CENTRAL_TABLES[@]}" stations; do
    psql -X -At -U "$PG_ADMIN" -d central -c "SELECT x::text FROM cardharness.$t x"
done)
[ "$(wc -l <<<"$dump")" -gt 1000 ] || pg_fail "the server dump looks empty"
checked=0
while read -r secret; do
    [ -n "$secret" ] || continue
    checked=$((checked + 1))
    [ "${#secret}" -ge 16 ] || continue
    grep -qiF "$secret" <<<"$dump" && pg_fail "a station secret reached the server"
done <<<"$secrets"
[ "$checked" -gt 0 ] || pg_fail "found no station secret to look for"
echo "ok: none of the station's $checked secrets (database meta, state folder) reaches the server"
