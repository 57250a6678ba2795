#!/usr/bin/env bash
# The HTML report of a lab run opened in a real browser (headless Chromium): the DOM after the
# page's script ran has every reader's row, every verdict cell with its mark, and every reason in
# Japanese (public view) and English; the script made the headings sortable and showed the filter;
# the summary line and each reader's story (which card works, and why not) are there, lab readers
# are marked simulated, and in the technical view every cell's link reaches its failing steps.
# Screenshots are kept in $CARDHARNESS_BUILD_DIR/test-artifacts/report/. Without root/pcscd (no
# lab) the fixed fixture database stands in; without chromium the test is skipped.
set -euo pipefail
skip() { echo "SKIPPED: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || skip "chromium not installed (Debian package chromium)"
command -v jq >/dev/null || skip "jq not found"
art=${CARDHARNESS_BUILD_DIR:-/tmp}/test-artifacts/report
mkdir -p "$art"
work=$(mktemp -d /tmp/chbrowser.XXXXXX)
LAB_DIR=""
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
cleanup() {
    local rc=$?
    [ -z "$LAB_DIR" ] || rm -rf "$LAB_DIR"
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

db=$work/h.db
if [ "$(id -u)" -eq 0 ] && command -v pcscd >/dev/null && [ -e "${CARDHARNESS_IFD_DRIVER:-}" ] &&
    unshare -m --propagation private true 2>/dev/null; then
    LAB_DIR=$(mktemp -d /tmp/chbl.XXXXXX)
    set +e
    timeout 500 "$CARDHARNESS" run --lab --lab-dir "$LAB_DIR/lab" --all --jobs 4 --db "$db" \
        >"$work/run.out" 2>"$work/run.err"
    rc=$?
    set -e
    [ "$rc" -le 1 ] || { tail -n 20 "$work/run.err" >&2; fail "lab run exited $rc"; }
    source_name="lab run"
else
    fixture=$CARDHARNESS_TOOLS_DIR/report_fixture
    [ -x "$fixture" ] || skip "no lab here (needs root, pcscd, unshare) and report_fixture not built"
    "$fixture" "$db" >/dev/null
    source_name="fixture database (no lab here)"
fi
echo "report of the $source_name"
"$CARDHARNESS" report --db "$db" --format json --out "$work/report.json" >/dev/null
readers=$(jq '.readers | length' "$work/report.json")
[ "$readers" -gt 0 ] || fail "no readers in the report"

browse() { # browse HTML_FILE OUT_PREFIX
    local profile
    profile=$(mktemp -d "$work/profile.XXXXXX")
    local flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
        --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars)
    timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$1" >"$2.dom.html" 2>"$2.err" ||
        fail "chromium --dump-dom failed: $(tail -n 5 "$2.err")"
    timeout 120 "$browser" "${flags[@]}" --window-size=1400,1800 --screenshot="$2.png" \
        "file://$1" >/dev/null 2>>"$2.err" || fail "chromium --screenshot failed"
    [ -s "$2.png" ] || fail "no screenshot $2.png"
}

# How a text appears in the serialized DOM (text nodes escape only & < >).
dom_text() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' <<<"$1"; }

failures=0
for spec in "ja public" "en public" "ja technical" "en technical"; do
    read -r lang view <<<"$spec"
    html=$work/report.$lang.$view.html
    "$CARDHARNESS" report --db "$db" --lang "$lang" --view "$view" --out "$html" >/dev/null
    cp "$html" "$art/"
    prefix=$art/report.$lang.$view
    browse "$html" "$prefix"
    dom=$prefix.dom.html
    # The script ran: the filter is shown and the headings became buttons.
    grep -q '<div class="controls" id="controls">' "$dom" || fail "$spec: filter controls still hidden"
    grep -q '<th scope="col"><button type="button">' "$dom" || fail "$spec: headings not sortable"
    rows=$(grep -o '<tr data-reader=' "$dom" | wc -l)
    [ "$rows" -eq "$readers" ] || fail "$spec: $rows matrix rows in the DOM, expected $readers"
    cells=$(grep -o 'class="cell v-[a-z]*" data-verdict=' "$dom" | wc -l)
    [ "$cells" -eq $((readers * 4)) ] || fail "$spec: $cells matrix cells, expected $((readers * 4))"
    # Every tested cell: its mark and its reason in this language.
    while IFS=$'\t' read -r model verdict mark reason; do
        [ -n "$reason" ] || continue
        if ! grep -qF -- "$(dom_text "$reason")" "$dom"; then
            echo "FAIL $spec: $model $verdict: reason not in the DOM: $reason" >&2
            failures=$((failures + 1))
        fi
        grep -qF -- "data-verdict=\"$verdict\"" "$dom" || {
            echo "FAIL $spec: no $verdict cell" >&2
            failures=$((failures + 1))
        }
        grep -qF -- "$mark" "$dom" || failures=$((failures + 1))
    done < <(jq -r --arg lang "$lang" '.readers[] | .model as $m | .cells[]
        | select(.verdict != "untested")
        | (if $lang == "ja" then (if .reason_ja != "" then .reason_ja else .reason_en end)
           else (if .reason_en != "" then .reason_en else .reason_ja end) end) as $r
        | [$m, .verdict, .mark, $r] | @tsv' "$work/report.json")
    if [ "$lang" = ja ]; then
        grep -qF 'マイナンバーカード（接触）' "$dom" || fail "$spec: Japanese column heading missing"
    else
        grep -qF 'My Number card (contact)' "$dom" || fail "$spec: English column heading missing"
    fi
    # The summary line at the top, and the story column (which card works, and why not).
    grep -q '<p class="summary" id="summary">' "$dom" || fail "$spec: no summary line"
    stories=$(grep -o 'data-story="[a-z_]*"' "$dom" | wc -l)
    [ "$stories" -eq "$readers" ] || fail "$spec: $stories story cells, expected $readers"
    if [ "$source_name" = "lab run" ]; then
        # Every lab reader is marked simulated (a municipality must never publish it as a product).
        badges=$(grep -o '<td>[^<]*<span class="badge sim">\|</a><span class="badge sim">' "$dom" | wc -l)
        [ "$badges" -eq "$readers" ] || fail "$spec: $badges simulated badges in the matrix, expected $readers"
        if [ "$lang" = ja ]; then story='住基カードは使えるがマイナンバーカードは使えない'; else story='works with Juki, not with My Number'; fi
        n=$(grep -o "$story" "$dom" | wc -l)
        [ "$n" -ge 3 ] || fail "$spec: \"$story\" for $n readers, expected at least 3"
        grep -q 'data-story="both"' "$dom" || fail "$spec: no reader works with both cards"
    fi
    if [ "$view" = technical ]; then
        # Each link from a matrix cell to its failing steps (or its session) lands on an element.
        missing=0 links=0
        while read -r target; do
            links=$((links + 1))
            grep -q "id=\"$target\"" "$dom" || { echo "FAIL $spec: link #$target has no target" >&2; missing=$((missing + 1)); }
        done < <(grep -o 'href="#reader-[0-9]*-[a-z]*-[a-z]*[^"]*"' "$dom" | sed 's/^href="#//; s/"$//' | sort -u)
        [ "$links" -gt 0 ] || fail "$spec: the matrix links to no session or step"
        [ "$missing" -eq 0 ] || fail "$spec: $missing links from the matrix lead nowhere"
    fi
    echo "ok $spec: $rows readers, $cells cells, screenshot $prefix.png"
done
[ "$failures" -eq 0 ] || fail "$failures reasons or marks missing in the browser DOM"
echo "browser checks ok; artefacts in $art"
