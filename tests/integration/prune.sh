#!/usr/bin/env bash
# `cardharness prune`: a database of 30 copies of the report fixture's runs (tests/tools/
# store_copies); --keep-latest and --before remove old runs with everything hanging on them, keep
# every cell's newest evidence (the report's matrix is unchanged), leave no orphan row, and VACUUM
# shrinks the file; --dry-run changes nothing; bad input exits 2 with a clear message.
set -euo pipefail
fixture=$CARDHARNESS_TOOLS_DIR/report_fixture
copies=$CARDHARNESS_TOOLS_DIR/store_copies
[ -x "$fixture" ] && [ -x "$copies" ] || { echo "SKIP: report_fixture/store_copies not built"; exit 77; }
command -v sqlite3 >/dev/null && command -v jq >/dev/null || { echo "SKIP: sqlite3 or jq missing"; exit 77; }
work=$(mktemp -d /tmp/chprune.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { sqlite3 "$1" "$2"; }

"$fixture" "$work/base.db" >/dev/null
"$copies" "$work/base.db" "$work/h.db" 30 --repeat 20 >/dev/null
cp "$work/h.db" "$work/h2.db"
"$CARDHARNESS" report --db "$work/h.db" --format json 2>/dev/null | jq -S .readers >"$work/before.json"
runs_before=$(q "$work/h.db" "SELECT COUNT(*) FROM runs")
steps_before=$(q "$work/h.db" "SELECT COUNT(*) FROM steps")
size_before=$(stat -c %s "$work/h.db")
[ "$runs_before" -eq 30 ] || fail "expected 30 runs, got $runs_before"

# --help and usage errors (exit 2, message on stderr, nothing changed).
"$CARDHARNESS" prune --help | grep -- '--keep-latest' >/dev/null || fail "prune --help lacks --keep-latest"
expect_usage() {
    local want=$1
    shift
    set +e
    "$CARDHARNESS" prune "$@" >"$work/out" 2>"$work/err"
    local rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "prune $* should exit 2, got $rc"
    grep -q -- "$want" "$work/err" || fail "prune $*: expected '$want' in: $(cat "$work/err")"
}
expect_usage "one of --keep-latest N or --before DATE" --db "$work/h.db"
expect_usage "one of --keep-latest N or --before DATE" --db "$work/h.db" --keep-latest 2 --before 2025-01-01
expect_usage "not a date" --db "$work/h.db" --before 01/03/2025
expect_usage "keep-latest" --db "$work/h.db" --keep-latest -1
expect_usage "no results database" --db "$work/missing.db" --keep-latest 1
echo "not a database" >"$work/text.db"
expect_usage "not an SQLite database" --db "$work/text.db" --keep-latest 1
[ "$(q "$work/h.db" "SELECT COUNT(*) FROM runs")" -eq 30 ] || fail "a refused prune changed the database"

# --dry-run: says what would go, changes nothing.
"$CARDHARNESS" prune --db "$work/h.db" --keep-latest 1 --dry-run >"$work/dry.txt"
grep -q "would be removed" "$work/dry.txt" || fail "dry run says nothing: $(cat "$work/dry.txt")"
[ "$(q "$work/h.db" "SELECT COUNT(*) FROM runs")" -eq 30 ] || fail "--dry-run changed the database"

# --keep-latest 1: the newest run, plus the runs that decide a cell (the fixture's two runs test
# different readers, so the newest copy of the other run stays too).
"$CARDHARNESS" prune --db "$work/h.db" --keep-latest 1 >"$work/prune.txt"
cat "$work/prune.txt"
grep -q "removed 28 of 30 runs; 1 kept as a cell's newest evidence" "$work/prune.txt" ||
    fail "unexpected summary"
[ "$(q "$work/h.db" "SELECT COUNT(*) FROM runs")" -eq 2 ] || fail "expected 2 runs left"
"$CARDHARNESS" report --db "$work/h.db" --format json 2>/dev/null | jq -S .readers >"$work/after.json"
cmp -s "$work/before.json" "$work/after.json" || {
    diff "$work/before.json" "$work/after.json" | head -20
    fail "the report's cells changed: a cell lost its newest evidence"
}
steps_after=$(q "$work/h.db" "SELECT COUNT(*) FROM steps")
[ "$steps_after" -lt "$steps_before" ] || fail "no step was removed"
for orphan in "exchanges WHERE step_row NOT IN (SELECT id FROM steps)" \
    "steps WHERE session_id NOT IN (SELECT id FROM sessions)" \
    "sessions WHERE run_id NOT IN (SELECT id FROM runs)" \
    "verdicts WHERE run_id NOT IN (SELECT id FROM runs)" \
    "verdict_causes WHERE verdict_id NOT IN (SELECT id FROM verdicts)" \
    "run_suites WHERE run_id NOT IN (SELECT id FROM runs)" \
    "readers WHERE id NOT IN (SELECT reader_id FROM sessions)"; do
    [ "$(q "$work/h.db" "SELECT COUNT(*) FROM $orphan")" -eq 0 ] || fail "orphan rows: $orphan"
done
[ -z "$(q "$work/h.db" "PRAGMA foreign_key_check")" ] || fail "foreign key check failed"
size_after=$(stat -c %s "$work/h.db")
[ "$size_after" -lt "$size_before" ] || fail "VACUUM did not shrink the file ($size_before -> $size_after)"
[ "$(q "$work/h.db" "PRAGMA integrity_check")" = ok ] || fail "integrity check failed"

# --before: copies start one second apart from 2025-03-01T00:00:00Z; the first ten go.
"$CARDHARNESS" prune --db "$work/h2.db" --before 2025-03-01T00:00:10Z >"$work/prune2.txt"
grep -q "removed 10 of 30 runs" "$work/prune2.txt" || fail "--before: $(cat "$work/prune2.txt")"
[ "$(q "$work/h2.db" "SELECT COUNT(*) FROM runs WHERE started_at < '2025-03-01T00:00:10Z'")" -eq 0 ] ||
    fail "--before left older runs"
[ "$(q "$work/h2.db" "SELECT COUNT(*) FROM runs")" -eq 20 ] || fail "--before removed too much"
# Pruning again finds nothing more to do.
"$CARDHARNESS" prune --db "$work/h2.db" --before 2025-03-01T00:00:10Z | grep "removed 0 of 20 runs" >/dev/null ||
    fail "a second prune removed something"
echo "prune: ok"
