#!/usr/bin/env bash
# Progress a person can read (issue 14): `run --all` on a terminal (a pty from `script`) keeps one
# live line per reader, redrawn in place with cursor movement (ESC[nA, ESC[K) instead of a new
# line per step; without a terminal (CI logs) it prints plain "reader: step" lines with no escape
# sequences; `--quiet` prints no progress at all, only the summary. A three-reader lab keeps this
# to a few seconds.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v script >/dev/null || lab_skip "script not found (Debian package bsdutils/util-linux)"

lab_csv=$(mktemp /tmp/chprogress.XXXXXX.csv)
{
    echo "slot,reader_model,card,interface,citizen"
    echo "r01,lab-tpdu-contact,mynumber,contact,no"
    echo "r02,lab-ext-dual,mynumber-contactless,type_b,no"
    echo "r03,lab-short-261,mynumber,contact,no"
} >"$lab_csv"
lab_start --lab "$lab_csv"
rm -f "$lab_csv"
readers=3
work=$LAB_DIR/work
mkdir -p "$work"
esc=$'\x1b'

# (1) On a terminal: the run inside a pty; what it wrote is what a person's terminal got.
cmd=$(printf '%q ' "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --db "$work/tty.db")
set +e
timeout 300 script -qec "$cmd" /dev/null </dev/null >"$work/tty.out" 2>&1
rc=$?
set -e
[ "$rc" -le 1 ] || { tail -c 2000 "$work/tty.out" >&2; lab_fail "terminal run exited $rc"; }
grep -q "${esc}\[${readers}A" "$work/tty.out" ||
    lab_fail "no cursor-up by $readers lines: the progress lines are not redrawn in place"
grep -q "${esc}\[K" "$work/tty.out" || lab_fail "no erase-line escape on the terminal"
# What stays on the screen: every newline written minus every line the cursor went back up.
newlines=$(tr -cd '\n' <"$work/tty.out" | wc -c)
ups=$(grep -ao "${esc}\[[0-9]*A" "$work/tty.out" | tr -dc '0-9\n' | awk '{s += $1} END {print s + 0}')
redraws=$(grep -ao "${esc}\[[0-9]*A" "$work/tty.out" | wc -l)
screen=$((newlines - ups))
summary=$(sed -n '/^reader  */,$p' <(tr -d '\r' <"$work/tty.out" | sed "s/${esc}\[[0-9;]*[A-Za-z]//g") | wc -l)
[ "$summary" -gt 0 ] || lab_fail "no summary table on the terminal"
[ "$redraws" -ge $((readers * 2)) ] || lab_fail "only $redraws redraws: the lines did not update"
# One line per reader plus the summary (and its blank separator lines), not one line per update.
[ "$screen" -le $((readers + summary + 4)) ] ||
    lab_fail "$screen lines left on the terminal for $readers readers and a $summary-line summary ($newlines newlines, $redraws redraws)"
echo "ok terminal: $redraws redraws in place, $screen lines on screen ($readers readers + $summary summary)"

# (2) Not a terminal (CI): plain lines, no escape sequences, progress on stderr.
set +e
timeout 300 "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --db "$work/plain.db" \
    >"$work/plain.out" 2>"$work/plain.err" </dev/null
rc=$?
set -e
[ "$rc" -le 1 ] || { tail -n 20 "$work/plain.err" >&2; lab_fail "plain run exited $rc"; }
! grep -q "$esc" "$work/plain.err" "$work/plain.out" || lab_fail "escape sequences in a non-terminal run"
for slot in r01 r02 r03; do
    reader=$(lab_reader "$slot")
    grep -qF "$reader: " "$work/plain.err" || lab_fail "no plain progress line for $reader"
done
plain_lines=$(wc -l <"$work/plain.err")
[ "$plain_lines" -ge "$readers" ] || lab_fail "only $plain_lines progress lines"
grep -q '^reader ' "$work/plain.out" || lab_fail "no summary table on stdout"
echo "ok plain: $plain_lines progress lines, no escapes"

# (3) --quiet: only the summary.
set +e
timeout 300 "$CARDHARNESS" run --lab-dir "$LAB_DIR" --all --quiet --db "$work/quiet.db" \
    >"$work/quiet.out" 2>"$work/quiet.err" </dev/null
rc=$?
set -e
[ "$rc" -le 1 ] || { tail -n 20 "$work/quiet.err" >&2; lab_fail "quiet run exited $rc"; }
for slot in r01 r02 r03; do
    reader=$(lab_reader "$slot")
    ! grep -qF "$reader: " "$work/quiet.err" || lab_fail "--quiet still printed progress for $reader"
done
grep -q '^reader ' "$work/quiet.out" || lab_fail "--quiet printed no summary"
[ "$(grep -c . "$work/quiet.out")" -eq "$(grep -c . "$work/plain.out")" ] ||
    lab_fail "--quiet's summary differs in length from the plain run's"
echo "ok quiet: no progress, the summary only"
