#!/usr/bin/env bash
# The CI gating pattern of reports/README.md on the real lab: a JSON baseline from one lab run; a
# second, unchanged lab run diffs clean (exit 0); a third run with a copied profiles dir
# (CARDHARNESS_PROFILES_DIR) in which one reader model (lab-tpdu-contact) became a short-APDU
# reader with a 261-byte message limit diffs with exit 1 and names that reader's regression.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
LAB_DIR=$(mktemp -d /tmp/chrld.XXXXXX)
trap lab_cleanup EXIT
work=$LAB_DIR/work
mkdir -p "$work"

lab_run() { # lab_run DB
    set +e
    timeout 500 "$CARDHARNESS" run --lab --lab-dir "$LAB_DIR/lab" --all --no-matrix --jobs 4 --db "$1" \
        >"$1.out" 2>"$1.err"
    local rc=$?
    set -e
    # 1 only says that some lab readers are incompatible (they are built to be).
    [ "$rc" -le 1 ] || { tail -n 20 "$1.err" >&2; lab_fail "lab run exited $rc"; }
}

lab_run "$work/baseline.db"
"$CARDHARNESS" report --db "$work/baseline.db" --format json --out "$work/baseline.json" >/dev/null

lab_run "$work/clean.db"
set +e
"$CARDHARNESS" diff "$work/baseline.json" "$work/clean.db" --format md >"$work/clean.md"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$work/clean.md" >&2; lab_fail "an unchanged lab run should diff clean, exit $rc"; }

cp -r "$CARDHARNESS_SOURCE_DIR/profiles" "$work/profiles"
models=$work/profiles/readers/lab_models.csv
# lab-tpdu-contact: TPDU/271 -> short APDU/261 (as lab-short-261); its USB identity is unchanged.
sed -i -E '/^lab-tpdu-contact,/ s/,tpdu,271,/,short_apdu,261,/' "$models"
grep -q '^lab-tpdu-contact,.*,short_apdu,261,' "$models" || lab_fail "could not alter lab-tpdu-contact"
CARDHARNESS_PROFILES_DIR=$work/profiles lab_run "$work/changed.db"
set +e
"$CARDHARNESS" diff "$work/baseline.json" "$work/changed.db" >"$work/changed.txt"
rc=$?
set -e
cat "$work/changed.txt"
[ "$rc" -eq 1 ] || lab_fail "the changed reader model should make diff exit 1, got $rc"
grep -E '^  Cardharness Virtual Lab Lab TPDU Contact 100 .*mynumber/contact: verdict: compatible → (partial|incompatible)' \
    "$work/changed.txt" >/dev/null || lab_fail "the regression of Lab TPDU Contact 100 is not named"
# Only that reader regressed.
if sed -n '/^Regressions/,/^[A-Z0-9]/p' "$work/changed.txt" | grep '^  ' | grep -v 'Lab TPDU Contact 100' | grep . >/dev/null; then
    lab_fail "other readers regressed too"
fi
echo "lab diff gate ok"
