#!/usr/bin/env bash
# `cardharness report` on the fixed fixture database (tests/tools/report_fixture.cpp: stable ids,
# times and durations) matches the golden files in tests/fixtures/report/ byte for byte (CSV,
# Markdown, JSON, JUnit), the HTML has its matrix, and `diff` of the JSON export against its
# database finds nothing. To regenerate the goldens after an intended change:
#   CARDHARNESS_REGENERATE_GOLDENS=1 ctest --test-dir BUILD -R integration.report_golden
# then review `git diff tests/fixtures/report/`.
set -euo pipefail
fixture=$CARDHARNESS_TOOLS_DIR/report_fixture
[ -x "$fixture" ] || { echo "SKIP: $fixture not built"; exit 77; }
gold=$CARDHARNESS_SOURCE_DIR/tests/fixtures/report
work=$(mktemp -d /tmp/chreport.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$fixture" "$work/f.db" >/dev/null
failures=0
while read -r format lang name; do
    "$CARDHARNESS" report --db "$work/f.db" --format "$format" --lang "$lang" \
        --out "$work/$name" >"$work/out.txt"
    [ "$(cat "$work/out.txt")" = "$work/$name" ] || fail "report --out did not print its path"
    if [ -n "${CARDHARNESS_REGENERATE_GOLDENS:-}" ]; then
        cp "$work/$name" "$gold/$name"
        echo "regenerated $gold/$name"
    elif ! cmp -s "$work/$name" "$gold/$name"; then
        echo "FAIL: $name differs from the golden file:" >&2
        diff -u "$gold/$name" "$work/$name" | head -n 40 >&2 || true
        failures=$((failures + 1))
    else
        echo "ok $name"
    fi
done <<'LIST'
csv ja report.ja.csv
csv en report.en.csv
md ja report.ja.md
md en report.en.md
json ja report.json
junit ja report.ja.junit.xml
junit en report.en.junit.xml
LIST
[ "$failures" -eq 0 ] || fail "$failures report formats differ from their golden files"

# Stdout is the default for text formats, and it is the same text.
"$CARDHARNESS" report --db "$work/f.db" --format json >"$work/stdout.json"
cmp -s "$work/stdout.json" "$work/report.json" || fail "--format json on stdout differs from --out"

# --latest and --run select.
"$CARDHARNESS" report --db "$work/f.db" --format json --latest >"$work/latest.json"
jq -e '.selection == "latest" and (.readers | length == 3)' "$work/latest.json" >/dev/null ||
    fail "--latest: $(jq -c '{selection, readers: (.readers | length)}' "$work/latest.json")"
# In --latest the ACS reader's Juki cell (only in run 1) stays: latest is per card type.
jq -e '[.readers[] | select(.maker == "ACS") | .cells[] | .card_type] == ["mynumber", "juki"]' \
    "$work/latest.json" >/dev/null || fail "--latest dropped a card type"
"$CARDHARNESS" report --db "$work/f.db" --format json --run 00000000-0000-4000-8000-000000000002 \
    >"$work/run2.json"
jq -e '.runs | length == 1' "$work/run2.json" >/dev/null || fail "--run kept other runs"
jq -e '.readers | length == 1' "$work/run2.json" >/dev/null || fail "--run kept other readers"

# HTML: the default path is printed; the matrix has a row per reader and a cell per column.
(cd "$work" && "$CARDHARNESS" report --db f.db >"$work/html.txt")
[ "$(cat "$work/html.txt")" = reports/out/report.html ] || fail "html default path: $(cat "$work/html.txt")"
html=$work/reports/out/report.html
[ "$(grep -c '<tr data-reader=' "$html")" -eq 3 ] || fail "public HTML should have 3 reader rows"
[ "$(grep -o 'data-verdict="' "$html" | wc -l)" -eq 12 ] || fail "public HTML should have 12 cells"
grep -q '<html lang="ja">' "$html" || fail "public HTML should default to Japanese"
grep -q '258 バイトの署名応答に失敗しました' "$html" || fail "Japanese reason missing"
"$CARDHARNESS" report --db "$work/f.db" --view technical --out "$work/tech.html" >/dev/null
grep -q '<html lang="en">' "$work/tech.html" || fail "technical HTML should default to English"
for needle in 'id="reader-3"' '<svg class="chart bars"' '<svg class="chart latency"' \
    '<svg class="chart overlap" data-run="00000000-0000-4000-8000-000000000001"' \
    'SCARD_E_NOT_TRANSACTED' 'dwMaxCCIDMessageLength' 'short_apdu_258' 'pcsc-lite' \
    "$(printf 'a%.0s' {1..64})"; do
    grep -qF -- "$needle" "$work/tech.html" || fail "technical HTML lacks $needle"
done

# Usage errors exit 2.
set +e
"$CARDHARNESS" report --db "$work/none.db" --format csv >/dev/null 2>"$work/err.txt"
rc=$?
"$CARDHARNESS" report --db "$work/f.db" --latest --run x >/dev/null 2>>"$work/err.txt"
rc2=$?
"$CARDHARNESS" report --db "$work/f.db" --format pdf >/dev/null 2>>"$work/err.txt"
rc3=$?
set -e
[ "$rc" -eq 2 ] && [ "$rc2" -eq 2 ] && [ "$rc3" -eq 2 ] ||
    fail "usage errors should exit 2 (got $rc $rc2 $rc3): $(cat "$work/err.txt")"

# The JSON export diffs clean against its own database.
"$CARDHARNESS" diff "$work/report.json" "$work/f.db" >"$work/diff.txt" ||
    fail "diff of the export against its database: $(cat "$work/diff.txt")"
grep -q '^0 regressions' "$work/diff.txt" || fail "diff summary: $(cat "$work/diff.txt")"
echo "report goldens, selections, HTML structure and exit codes ok"
