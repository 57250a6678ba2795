#!/usr/bin/env bash
# The certificate-style page (`report --view certificate --usb VID:PID`) printed by headless
# Chromium to PDF (A4) and turned into PNG by pdftoppm: one or two pages, not blank, with the
# the Japanese words in the PDF's text layer (fonts-noto-cjk); the English page too.
# Unknown VID:PID or firmware: exit 2 naming what the database has. Uses the fixed fixture
# database (no lab needed: a few seconds). Artefacts: $CARDHARNESS_BUILD_DIR/test-artifacts/certificate/.
set -euo pipefail
skip() { echo "SKIPPED: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || skip "chromium not installed (Debian package chromium)"
for tool in pdftoppm pdftotext pdfinfo; do
    command -v "$tool" >/dev/null || skip "$tool not installed (Debian package poppler-utils)"
done
fixture=$CARDHARNESS_TOOLS_DIR/report_fixture
[ -x "$fixture" ] || skip "report_fixture not built"
art=${CARDHARNESS_BUILD_DIR:-/tmp}/test-artifacts/certificate
mkdir -p "$art"
work=$(mktemp -d /tmp/chcert.XXXXXX)
trap 'rm -rf "$work"' EXIT
db=$work/h.db
"$fixture" "$db" >/dev/null

# Errors: exit 2 and say what is there.
set +e
"$CARDHARNESS" report --db "$db" --view certificate --usb FFFF:0001 --out "$work/x.html" \
    >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown VID:PID exited $rc, expected 2"
grep -q 'FFFF:0001' "$work/err" || fail "the error does not name the VID:PID asked for"
grep -q '072F:B100 fw 1.00' "$work/err" || fail "the error does not list the readers there: $(cat "$work/err")"
[ ! -e "$work/x.html" ] || fail "a page was written for an unknown reader"
set +e
"$CARDHARNESS" report --db "$db" --view certificate --usb 072F:B100 --firmware 9.99 \
    --out "$work/x.html" >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown firmware exited $rc, expected 2"
grep -q 'fw 1.00' "$work/err" || fail "the firmware error does not list the firmware there"
set +e
"$CARDHARNESS" report --db "$db" --view certificate --out "$work/x.html" >/dev/null 2>"$work/err"
rc=$?
"$CARDHARNESS" report --db "$db" --view certificate --usb 072F:B100 --format csv \
    >/dev/null 2>>"$work/err"
rc2=$?
set -e
[ "$rc" -eq 2 ] && [ "$rc2" -eq 2 ] || fail "missing --usb / a non-HTML format exited $rc / $rc2"
grep -q -- '--usb VID:PID' "$work/err" || fail "missing --usb: no hint"

print_pdf() { # print_pdf HTML PDF
    local profile
    profile=$(mktemp -d "$work/profile.XXXXXX")
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --no-pdf-header-footer --print-to-pdf="$2" "file://$1" \
        >"$2.log" 2>&1 || fail "chromium --print-to-pdf failed: $(tail -n 5 "$2.log")"
    [ -s "$2" ] || fail "no PDF $2"
}

# Dark pixels of a greyscale page (PGM P5, 8 bit): a blank page has none.
dark_pixels() {
    tail -n +4 "$1" | od -An -v -tu1 -w4096 | tr -s ' ' '\n' | awk '$1 != "" && $1 < 128' | wc -l
}

for lang in ja en; do
    html=$work/certificate.$lang.html
    "$CARDHARNESS" report --db "$db" --view certificate --usb 072f:b100 --firmware 1.00 \
        --lang "$lang" --out "$html" >/dev/null
    pdf=$work/certificate.$lang.pdf
    print_pdf "$html" "$pdf"
    pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
    size=$(pdfinfo "$pdf" | awk '/^Page size:/ {print $3 "x" $5}')
    [ "$pages" -ge 1 ] && [ "$pages" -le 2 ] || fail "$lang: $pages pages, expected 1 or 2"
    # A4 is 595.x × 841.x points.
    case $size in 59[45]*x841*) ;; *) fail "$lang: page size $size pt, expected A4 (595x842)" ;; esac
    pdftotext -layout "$pdf" "$work/$lang.txt"
    if [ "$lang" = ja ]; then
        words=("成績証明書" "マイナンバーカード（接触）" "ファームウェア" "模擬リーダー" "試験ステーション"
            "fixture-host" "072F:B100")
    else
        words=("Card reader conformance certificate" "My Number card (contact)" "simulated reader"
            "Test station" "fixture-host" "072F:B100")
    fi
    # Compared without white space: a table cell may wrap a word across lines.
    flat=$(tr -d ' \n\r\t' <"$work/$lang.txt")
    for w in "${words[@]}"; do
        grep -qF -- "${w// /}" <<<"$flat" || fail "$lang: \"$w\" not in the printed PDF's text"
    done
    # Every suite's full content hash is printed.
    for hash in $(jq -r '.runs[].suites[].content_hash' <("$CARDHARNESS" report --db "$db" \
        --format json) | sort -u); do
        grep -qF "$hash" <<<"$flat" || fail "$lang: suite hash $hash not printed"
    done
    rm -f "$work/page"-*.pgm "$work/page"-*.png
    pdftoppm -r 40 -gray "$pdf" "$work/page"
    pngs=$(find "$work" -maxdepth 1 -name 'page-*.pgm' | wc -l)
    [ "$pngs" -eq "$pages" ] || fail "$lang: pdftoppm made $pngs images of $pages pages"
    dark=$(dark_pixels "$(find "$work" -maxdepth 1 -name 'page-*.pgm' | sort | head -n 1)")
    [ "$dark" -gt 2000 ] || fail "$lang: the first page looks blank ($dark dark pixels)"
    pdftoppm -r 60 -png "$pdf" "$art/certificate.$lang"
    cp "$html" "$pdf" "$art/"
    echo "ok $lang: $pages page(s), $size pt, $dark dark pixels on page 1"
done
echo "certificate checks ok; artefacts in $art"
