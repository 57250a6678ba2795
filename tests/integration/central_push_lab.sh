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
central_push station_a central "$work/a.db" lab-a | grep "nothing to push" >/dev/null || pg_fail "second push sent runs"
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

# `report --db postgresql://…` (issue 13): the server read back through the one report model
# equals the report over the two stations' SQLite files together (`report --db a.db --db b.db`,
# the union of their runs), format by format, as a reader role of its own (no station of its
# own: each table's read policy is open to every role that may connect).
central_station_role ch_reader
server=$(pg_uri ch_reader central)
union=(--db "$work/a.db" --db "$work/b.db")
report_pair() { # report_pair NAME ARGS...: the union of the files and the server, same args
    local name=$1
    shift
    "$CARDHARNESS" report "${union[@]}" "$@" >"$work/files-$name" 2>"$work/files-$name.err" ||
        pg_fail "report over the files ($name) failed: $(cat "$work/files-$name.err")"
    "$CARDHARNESS" report --db "$server" "$@" >"$work/server-$name" 2>"$work/server-$name.err" ||
        pg_fail "report --db postgresql://… ($name) failed: $(cat "$work/server-$name.err")"
}
report_pair json --format json
jq -S . "$work/files-json" >"$work/files.sorted.json"
jq -S . "$work/server-json" >"$work/server.sorted.json"
[ "$(jq '.readers | length' "$work/files.sorted.json")" -gt 3 ] || pg_fail "the lab report has too few readers"
[ "$(jq '[.readers[].cells[]] | length' "$work/files.sorted.json")" -gt 3 ] || pg_fail "the lab report has too few cells"
# Both stations' runs are in the server's report, and the cells carry the typed facts (cause codes,
# failure kinds, response sizes) that came with central schema 3.
for s in a b; do
    uuid=$(sqlite3 "$work/$s.db" "SELECT uuid FROM runs")
    grep -q "$uuid" "$work/server-json" || pg_fail "station $s's run $uuid is not in the server's report"
done
[ "$(sqlite3 "$work/a.db" "SELECT count(*) FROM verdict_causes")" -eq 0 ] ||
    jq -e '[.readers[].cells[].causes[]] | length > 0' "$work/server.sorted.json" >/dev/null ||
    pg_fail "the server's report lost the verdicts' cause codes"
# Which station each run and cell came from: on the server the pushing station, in a station's
# file the name it was pushed as (both lab-a and lab-b, nothing unnamed).
[ "$(jq -c '[.runs[].station] | unique' "$work/server-json")" = '["lab-a","lab-b"]' ] ||
    pg_fail "the server's report does not name the runs' stations: $(jq -c '[.runs[].station]' "$work/server-json")"
# (Both ran the same lab: a cell is decided by the newer station's run, so one name may do.)
jq -e '[.readers[] | .station, (.cells[] | select(.verdict != "untested") | .station)] | unique |
    length > 0 and all(. == "lab-a" or . == "lab-b")' "$work/server-json" >/dev/null ||
    pg_fail "the server's report does not name the stations of its readers and cells"
diff "$work/files.sorted.json" "$work/server.sorted.json" >&2 ||
    pg_fail "report --format json over the server differs from the report over the two SQLite files"
# Sorted the same way too (one report code path): byte for byte, every format and view.
cmp -s "$work/files-json" "$work/server-json" || pg_fail "the JSON reports are equal but ordered differently"
report_pair csv --format csv
report_pair md --format md
report_pair junit --format junit
report_pair html --format html --out -
report_pair tech --format html --view technical --lang en --out -
report_pair latest --format json --latest
for f in csv md junit html tech latest; do
    [ -s "$work/server-$f" ] || pg_fail "report $f over the server is empty"
    cmp -s "$work/files-$f" "$work/server-$f" || pg_fail "report ($f) over the server differs from the files'"
done
grep -q "<table" "$work/server-html" || pg_fail "the HTML report over the server has no table"
head -n 1 "$work/server-csv" | grep -E ',(Station|ステーション)' >/dev/null || pg_fail "the CSV over the server has no Station column"
grep -q '<td class="station">lab-[ab]' "$work/server-tech" || pg_fail "the technical HTML has no station column"
echo "ok: report --db postgresql://… names each run's and cell's station and equals the report over both stations' SQLite files (json $(wc -c <"$work/server-json") bytes; csv, md, junit, html public/technical, --latest identical)"

# One station's runs (--station), and one run by a UUID prefix, as the station's own file has them.
"$CARDHARNESS" report --db "$server" --station lab-a --format json >"$work/server-a.json"
"$CARDHARNESS" report --db "$work/a.db" --format json >"$work/files-a.json"
cmp -s "$work/server-a.json" "$work/files-a.json" || pg_fail "report --station lab-a differs from station a's file"
run_b=$(sqlite3 "$work/b.db" "SELECT uuid FROM runs")
"$CARDHARNESS" report --db "$server" --run "${run_b:0:13}" --format json >"$work/server-run.json"
"$CARDHARNESS" report --db "$work/b.db" --run "${run_b:0:13}" --format json >"$work/files-run.json"
cmp -s "$work/server-run.json" "$work/files-run.json" || pg_fail "report --run over the server differs from the file's"
# diff reads a server as a side (and run ids in a server given as --db): no regression between the
# files' export and the server, nor between station b's run on the server and its file.
"$CARDHARNESS" diff "$work/files-json" "$server" >"$work/diff.out" ||
    pg_fail "diff files-export server: $(cat "$work/diff.out")"
"$CARDHARNESS" diff --db "$server" "$run_b" "$work/b.db" >"$work/diff-run.out" ||
    pg_fail "diff run-on-server b.db: $(cat "$work/diff-run.out")"
# A file and the server it was pushed to: a run in both counts once.
"$CARDHARNESS" report --db "$work/a.db" --db "$server" --format json | cmp -s - "$work/server-json" ||
    pg_fail "a run in a file and on the server should count once"
echo "ok: --station, --run (prefix) and diff over the server match the stations' files; a run in a file and on the server counts once"

# Clear errors: a bad URI or a password on the command line → 2; an unknown station or run → 2;
# no server listening, a login without a password, a wrong password → 3.
expect_exit() { # expect_exit CODE PATTERN ARGS...
    local want=$1 pattern=$2 rc=0
    shift 2
    "$CARDHARNESS" "$@" >"$work/err.out" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || pg_fail "$* exited $rc, not $want: $(cat "$work/err.out")"
    grep -qiE -- "$pattern" "$work/err.out" || pg_fail "$*: the message does not say '$pattern': $(cat "$work/err.out")"
}
expect_exit 2 "connection URI" report --db "postgresql://ch_reader@/central?host=$PGHOST&port=$PGPORT&nosuchoption=1" --format json
expect_exit 2 "port" report --db "postgresql://ch_reader@localhost:notaport/central" --format json
expect_exit 2 "password" report --db "postgresql://ch_reader:secret@/central?host=$PGHOST&port=$PGPORT" --format json
expect_exit 2 "no station lab-z" report --db "$server" --station lab-z --format json
expect_exit 2 "no run" report --db "$server" --run ffffffff-0000 --format json
expect_exit 2 "--station" report --db "$work/a.db" --station lab-a --format json
free_port=$((PGPORT + 1))
while _pg_port_in_use "$free_port"; do free_port=$((free_port + 1)); done
expect_exit 3 "cannot reach the central server" report --db "postgresql://ch_reader@127.0.0.1:$free_port/central" --format json
pg_admin_psql postgres -c "CREATE ROLE ch_nopass LOGIN PASSWORD 'not-in-the-passfile'" >/dev/null
expect_exit 3 "pgpass" report --db "$(pg_uri ch_nopass central)" --format json
printf '*:*:*:ch_nopass:wrong-password\n' >>"$PGPASSFILE"
expect_exit 3 "password authentication failed" report --db "$(pg_uri ch_nopass central)" --format json
expect_exit 3 "cannot reach" diff "$work/files-json" "postgresql://ch_reader@127.0.0.1:$free_port/central"
echo "ok: bad URI / password in the URI / unknown station or run → exit 2; unreachable server, missing or wrong password → exit 3"

# A driver-level survey run (`cardharness survey`) is marked so on the server and stays out of the
# report unless --include-survey, as on the station: station b's run, marked as a survey run,
# pushed once more as a third station.
cp "$work/b.db" "$work/c.db"
sqlite3 "$work/c.db" "INSERT INTO run_sources (run_id, source) SELECT id, 'survey' FROM runs; DELETE FROM central_pushes"
central_push station_b central "$work/c.db" lab-c >/dev/null
[ "$(pg_value central "SELECT source FROM cardharness.runs WHERE station = 'lab-c'")" = survey ] ||
    pg_fail "the survey mark did not reach the server"
"$CARDHARNESS" report --db "$server" --format json 2>/dev/null | cmp -s - "$work/server-json" ||
    pg_fail "a survey run changed the server's report without --include-survey"
[ "$("$CARDHARNESS" report --db "$server" --station lab-c --format json 2>/dev/null | jq '.readers | length')" -eq 0 ] ||
    pg_fail "--station lab-c shows its survey run without --include-survey"
[ "$("$CARDHARNESS" report --db "$server" --station lab-c --include-survey --format json 2>/dev/null | jq '.readers | length')" -gt 0 ] ||
    pg_fail "--include-survey does not show the survey run"
# Within one server every station's run counts, also when two share a UUID (b's run as lab-b and,
# as a survey run, as lab-c; when it did not complete, the report lists it whatever its cells).
[ "$(sqlite3 "$work/b.db" "SELECT status FROM runs")" = complete ] ||
    [ "$("$CARDHARNESS" report --db "$server" --include-survey --format json 2>/dev/null |
    jq --arg u "$run_b" '[.runs[] | select(.uuid == $u)] | length')" -eq 2 ] ||
    pg_fail "--include-survey over the server should list run $run_b of lab-b and of lab-c"
expect_exit 2 "survey run" report --db "$server" --station lab-c --run "$run_b" --format json
expect_exit 2 "ambiguous.*--station" report --db "$server" --run "$run_b" --format json
echo "ok: a survey run on the server stays out of the report unless --include-survey; a UUID on two stations asks for --station"
