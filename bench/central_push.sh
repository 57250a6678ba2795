#!/usr/bin/env bash
# Benchmark: `cardharness push` of ~STEPS steps (default 100000) into a real PostgreSQL 15, as a
# ratio against `psql \copy` of exactly the same rows into the same tables of the same server,
# measured in the same run (the machines here are noisy; only the ratio means something).
#
#   bench/central_push.sh [STEPS]            (the release build, build/release, when it is built,
#                                             else build/ci; or set CARDHARNESS and
#                                             CARDHARNESS_TOOLS_DIR)
#   CARDHARNESS_BENCH_ROUNDS=5 bench/central_push.sh   (rounds; the median ratio is the result)
#   CARDHARNESS_BENCH_CONNECTIONS=1 bench/central_push.sh  (push --connections N; default: push's
#                                             own default, 2 connections side by side)
#
# The station database is built with tests/tools/store_copies from the report fixture's runs,
# each session's suites repeated 50 times (~600 steps per run, the size of a lab run): STEPS/600
# runs, one server transaction each. The baseline copies the rows the push stored (dumped with
# \copy … TO) into a fresh database with the same schema, as the superuser, in one transaction:
# what the push must at least cost. Goal: ratio ≤ 2.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build/release
[ -x "$build/bin/cardharness" ] && [ -x "$build/tools/store_copies" ] || build=$here/build/ci
export CARDHARNESS=${CARDHARNESS:-$build/bin/cardharness}
export CARDHARNESS_TOOLS_DIR=${CARDHARNESS_TOOLS_DIR:-$build/tools}
source "$here/tests/integration/lib/central.sh"
central_require_or_skip
steps_wanted=${1:-100000}
repeat=50

central_server
central_station_role station_a
work=$PG_DIR/work
mkdir -p "$work"
# Average steps per copied run at this repeat: the fixture's two runs alternate.
base=$work/base.db
"$CARDHARNESS_TOOLS_DIR/report_fixture" "$base" >/dev/null
per_two=$("$CARDHARNESS_TOOLS_DIR/store_copies" "$base" "$work/probe.db" 2 --repeat "$repeat")
runs=$(((steps_wanted * 2 + per_two - 1) / per_two))
steps=$("$CARDHARNESS_TOOLS_DIR/store_copies" "$base" "$work/station.db" "$runs" --repeat "$repeat")

now_ns() { date +%s%N; }

# Rounds alternate push and \copy, each into fresh databases; the median ratio is the result.
rounds=${CARDHARNESS_BENCH_ROUNDS:-3}
push_args=()
[ -z "${CARDHARNESS_BENCH_CONNECTIONS:-}" ] || push_args=(--connections "$CARDHARNESS_BENCH_CONNECTIONS")
connections=${CARDHARNESS_BENCH_CONNECTIONS:-default}
ratios=()
for round in $(seq 1 "$rounds"); do
    central_new_database "push$round"
    t0=$(now_ns)
    central_push station_a "push$round" "$work/station.db" bench "${push_args[@]}" >"$work/push.out"
    t1=$(now_ns)
    rows=$(central_total_rows "push$round")

    # The same rows, out of the server and back into the same tables of a fresh database.
    central_new_database "copy$round"
    copy_out="" copy_in=""
    for t in "${CENTRAL_TABLES[@]}"; do
        copy_out+="\\copy cardharness.$t TO '$work/$t.copy'"$'\n'
        copy_in+="\\copy cardharness.$t FROM '$work/$t.copy'"$'\n'
    done
    pg_admin_psql "push$round" <<<"$copy_out"
    pg_admin_psql "copy$round" -c "INSERT INTO cardharness.stations (station, role) VALUES ('bench', 'station_a')"
    t2=$(now_ns)
    pg_admin_psql "copy$round" -1 <<<"$copy_in"
    t3=$(now_ns)
    [ "$(central_total_rows "copy$round")" = "$rows" ] || pg_fail "the baseline copied a different number of rows"

    push_ms=$(((t1 - t0) / 1000000))
    copy_ms=$(((t3 - t2) / 1000000))
    [ "$copy_ms" -gt 0 ] || copy_ms=1
    ratio=$(awk -v p="$push_ms" -v c="$copy_ms" 'BEGIN { printf "%.2f", p / c }')
    ratios+=("$ratio")
    awk -v r="$round" -v rows="$rows" -v p="$push_ms" -v c="$copy_ms" -v q="$ratio" 'BEGIN {
        printf "round %d: cardharness push %7.3f s (%6.0f rows/s)   psql \\copy %7.3f s (%6.0f rows/s)   ratio %s\n",
            r, p / 1000, rows / (p / 1000), c / 1000, rows / (c / 1000), q
    }'
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "central push ($CARDHARNESS, connections: $connections): $steps steps in $runs runs ($rows rows); median ratio push / \\copy over $rounds rounds: $median (goal <= 2)"
