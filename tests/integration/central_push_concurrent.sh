#!/usr/bin/env bash
# Two stations push 20 runs each into one server at the same time, each as its own role (one on
# one connection, one on four: `--connections`): both complete, and the server holds exactly each
# station's rows (counted against the SQLite files).
# Then one station pushes the same database twice at once (a cron job and a hand-run push): both
# succeed and the rows are still one copy.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/central.sh"
central_require_or_skip

central_server
work=$PG_DIR/work
mkdir -p "$work"
central_station_role station_a
central_station_role station_b
fixture_db "$work/a.db" 20 8 1
fixture_db "$work/b.db" 20 8 2

rc_a=0 rc_b=0
# One on a single connection, one on four (runs side by side, each its own transaction).
central_push station_a central "$work/a.db" lab-a --connections 1 >"$work/a.out" 2>"$work/a.err" &
pid_a=$!
central_push station_b central "$work/b.db" lab-b --connections 4 >"$work/b.out" 2>"$work/b.err" &
pid_b=$!
wait "$pid_a" || rc_a=$?
wait "$pid_b" || rc_b=$?
[ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ] ||
    pg_fail "concurrent pushes failed: a=$rc_a ($(cat "$work/a.err")) b=$rc_b ($(cat "$work/b.err"))"
grep -q "pushed 20 runs of station lab-a" "$work/a.out" || pg_fail "lab-a: $(cat "$work/a.out")"
grep -q "pushed 20 runs of station lab-b" "$work/b.out" || pg_fail "lab-b: $(cat "$work/b.out")"
diff <(local_counts "$work/a.db") <(central_counts central lab-a) >&2 || pg_fail "lab-a's rows differ"
diff <(local_counts "$work/b.db") <(central_counts central lab-b) >&2 || pg_fail "lab-b's rows differ"
echo "ok: two stations pushed 20 runs each at once: $(central_total_rows central) rows, each station's exactly"

# The same station, the same database, twice at once: the server has the rows once.
before=$(central_digest central)
fixture_db "$work/a2.db" 20 8 3
rc_1=0 rc_2=0
central_push station_a central "$work/a2.db" lab-a >"$work/1.out" 2>"$work/1.err" &
pid_1=$!
central_push station_a central "$work/a2.db" lab-a >"$work/2.out" 2>"$work/2.err" &
pid_2=$!
wait "$pid_1" || rc_1=$?
wait "$pid_2" || rc_2=$?
[ "$rc_1" -eq 0 ] && [ "$rc_2" -eq 0 ] ||
    pg_fail "two pushes of one database failed: $rc_1 ($(cat "$work/1.err")) $rc_2 ($(cat "$work/2.err"))"
[ "$(pg_value central "SELECT count(*) FROM cardharness.runs WHERE station = 'lab-a'")" = 40 ] ||
    pg_fail "lab-a should have 40 runs"
# Every row of a2.db once: lab-a's counts are a.db's plus a2.db's.
expected=$(paste -d' ' <(local_counts "$work/a.db") <(local_counts "$work/a2.db") | awk '{ print $1, $2 + $4 }')
diff <(echo "$expected") <(central_counts central lab-a) >&2 || pg_fail "duplicate or missing rows"
"$CARDHARNESS" push --status --json --to "$(pg_uri station_a central)" --db "$work/a2.db" \
    --station lab-a | jq -e '.pending | length == 0' >/dev/null || pg_fail "runs left pending"
[ "$(central_counts central lab-b)" = "$(local_counts "$work/b.db")" ] || pg_fail "lab-b changed"
echo "ok: one station pushing one database twice at once: both succeed, the rows are there once"
