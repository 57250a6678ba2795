#!/usr/bin/env bash
# The Debian package end to end. `./dev.sh package` (CPack) packages this build tree; apt-get
# installs the .deb (so its Depends: are honoured); the installed program, run from a folder
# outside the checkout with none of the test environment, starts the lab, says all is well
# (`doctor`), runs every lab reader (`run --lab --all`) and reports, keeping its data in
# /var/lib/cardharness. Removing the package while a lab runs must stop it (prerm): no
# cardharness or lab pcscd process is left, nothing under /usr/lib/cardharness, and no
# /etc/reader.conf.d entry of a --system-pcscd lab.
#
# It installs and removes a system package, so it runs only as root and only in CI (CI=true) or
# with CARDHARNESS_PACKAGE_TEST=1 (`./dev.sh test` sets it); otherwise it is skipped (77). It
# leaves the machine as it found it: it skips when the package is already installed or
# /var/lib/cardharness holds a station's data, and purges what it installed.
set -euo pipefail

skip() {
    echo "SKIPPED: $*" >&2
    exit 77
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root (installs a Debian package)"
[ "${CI:-}" = true ] || [ "${CARDHARNESS_PACKAGE_TEST:-}" = 1 ] ||
    skip "installs a system package: runs in CI (CI=true) or with CARDHARNESS_PACKAGE_TEST=1"
: "${CARDHARNESS:?}" "${CARDHARNESS_SOURCE_DIR:?}" "${CARDHARNESS_BUILD_DIR:?}"
for tool in apt-get dpkg dpkg-deb dpkg-query cpack help2man dpkg-shlibdeps pcscd unshare jq; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done
unshare -m --propagation private true 2>/dev/null || skip "unshare -m is not permitted here"
preset=$(basename "$CARDHARNESS_BUILD_DIR")
[ "$CARDHARNESS_BUILD_DIR" -ef "$CARDHARNESS_SOURCE_DIR/build/$preset" ] ||
    skip "build tree $CARDHARNESS_BUILD_DIR is not build/<preset> of the source tree"
if dpkg-query -W -f='${Status}' cardharness 2>/dev/null | grep 'ok installed' >/dev/null; then
    skip "the cardharness package is already installed on this machine: not touching it"
fi
[ ! -e /etc/reader.conf.d/cardharness-lab.conf ] ||
    skip "a --system-pcscd lab runs here (/etc/reader.conf.d/cardharness-lab.conf): not touching it"
[ ! -e /var/lib/cardharness ] ||
    skip "/var/lib/cardharness exists (a station's data, or left by an interrupted run): not touching it"

started=$SECONDS
work=$(mktemp -d /tmp/chpkg.XXXXXX)
chmod 755 "$work" # apt's download sandbox user reads the .deb from here
station=$work/station
mkdir -p "$station"

installed_pids() { # processes running the package's binary, also once it was deleted
    local exe target
    for exe in /proc/[0-9]*/exe; do
        target=$(readlink "$exe" 2>/dev/null) || continue
        case "$target" in
        /usr/bin/cardharness | "/usr/bin/cardharness (deleted)")
            exe=${exe#/proc/}
            echo "${exe%/exe}"
            ;;
        esac
    done
}

cleanup() {
    local rc=$?
    if dpkg-query -W -f='${Status}' cardharness 2>/dev/null | grep -v 'not-installed' >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 cardharness \
            >/dev/null 2>&1 || dpkg --purge cardharness >/dev/null 2>&1 || true
    fi
    local pid
    for pid in $(installed_pids); do kill -KILL "$pid" 2>/dev/null || true; done
    if [ -n "${checkout_lab:-}" ]; then
        [ ! -f "$checkout_lab/state.json" ] ||
            timeout 20 "$CARDHARNESS" lab stop --dir "$checkout_lab" >/dev/null 2>&1 || true
        rm -rf "$checkout_lab"
    fi
    [ -z "${lab_pcscd:-}" ] || kill -KILL "$lab_pcscd" 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        for log in "$work/package.log" /var/lib/cardharness/lab/lab.log; do
            [ -f "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
        done
    fi
    rm -rf /var/lib/cardharness /etc/reader.conf.d/cardharness-lab.conf "$work"
    exit "$rc"
}
trap cleanup EXIT

# 1. Build the package exactly as a person does; its path is the last line.
out=$(cd "$CARDHARNESS_SOURCE_DIR" && CARDHARNESS_PACKAGE_PRESET=$preset ./dev.sh package 2>"$work/package.log") ||
    fail "./dev.sh package failed"
deb=$(printf '%s\n' "$out" | tail -n 1)
[[ $(basename "$deb") =~ ^cardharness_[0-9][0-9.]*_amd64\.deb$ ]] || fail "last line is not a .deb path: $deb"
case "$deb" in "$CARDHARNESS_SOURCE_DIR/build/"*) ;; *) fail "package not under build/: $deb" ;; esac
cp "$deb" "$work/"
deb=$work/$(basename "$deb")
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes) in $((SECONDS - started)) s"

# 2. What is in it.
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
for path in ./usr/bin/cardharness ./usr/lib/cardharness/libifdcardharness.so \
    ./usr/share/cardharness/profiles/labs/default.csv ./usr/share/cardharness/profiles/readers/lab_models.csv \
    ./usr/share/cardharness/profiles/suites/jpki-mynumber.csv ./usr/share/cardharness/profiles/cards/cards.csv \
    ./usr/share/man/man1/cardharness.1.gz ./usr/share/bash-completion/completions/cardharness; do
    grep -qxF "$path" "$work/contents" || fail "package lacks $path"
done
! grep -q '^\./usr/lib/pcsc' "$work/contents" || fail "the package puts something in the system pcscd's driver folder"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in pcscd libccid libpcsclite1 libusb-1.0-0 libsqlite3-0 libssl3; do
    [[ ", $depends," == *", $dep"[\ ,]* ]] || fail "Depends: lacks $dep ($depends)"
done
# grep reads the whole list (grep -q would stop early: tar's SIGPIPE fails the pipeline under pipefail)
dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -x './prerm' >/dev/null || fail "no prerm in the package"
echo "contents and Depends: ok ($depends)"

# 3. Install it the way a person does (apt resolves Depends:).
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
    --no-install-recommends "$deb" >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get install failed"; }
[ "$(command -v cardharness)" = /usr/bin/cardharness ] || fail "cardharness is not /usr/bin/cardharness"
zcat /usr/share/man/man1/cardharness.1.gz >"$work/man"
grep -q 'cardharness lab start' "$work/man" || fail "man page lacks the lab start section"
grep -q '/var/lib/cardharness/harness.db' "$work/man" || fail "man page does not name the installed database"
! grep -qF "$CARDHARNESS_SOURCE_DIR" "$work/man" || fail "man page names the build tree"
echo "installed with apt-get [$((SECONDS - started)) s]"

# The installed program, from a folder outside the checkout, without the test's environment.
installed() {
    (cd "$station" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        ${PCSCLITE_CSOCK_NAME:+PCSCLITE_CSOCK_NAME=$PCSCLITE_CSOCK_NAME} /usr/bin/cardharness "$@")
}

# 4. The lab from the package: lab start, doctor says all is well, lab stop.
lab=$(installed lab start) || fail "installed lab start failed"
[[ $lab == "export PCSCLITE_CSOCK_NAME=/var/lib/cardharness/lab/"* ]] ||
    fail "the lab is not in /var/lib/cardharness/lab: $lab"
eval "$lab"
slots=$(installed lab status --json | jq '.slots | length')
[ "$slots" -ge 10 ] || fail "lab status lists $slots slots"
rc=0
installed doctor --json >"$work/doctor.json" || rc=$?
if [ "$rc" != 0 ] || ! jq -e '.ok == true' "$work/doctor.json" >/dev/null; then
    fail "installed doctor on the lab: exit $rc, $(jq -c '[.findings[] | select(.severity == "error")]' "$work/doctor.json")"
fi
installed lab stop 2>/dev/null || fail "installed lab stop failed"
unset PCSCLITE_CSOCK_NAME
echo "installed lab: $slots slots, doctor all well [$((SECONDS - started)) s]"

# 5. A whole lab run and its report, with the default database.
rc=0
installed run --lab --all >"$work/run.out" 2>"$work/run.err" || rc=$?
[ "$rc" -le 1 ] || { tail -n 20 "$work/run.err" >&2; fail "installed run --lab --all: exit $rc"; }
[ -f /var/lib/cardharness/harness.db ] || fail "no database at /var/lib/cardharness/harness.db"
[ "$(stat -c %a /var/lib/cardharness)" = 700 ] ||
    fail "/var/lib/cardharness is $(stat -c %a /var/lib/cardharness), not owner-only (700)"
verdicts=$(grep -cE ' (compatible|partial|incompatible|untested) ' "$work/run.out" || true)
[ "$verdicts" -ge "$slots" ] || fail "run printed $verdicts verdict rows for $slots slots"
installed report --format json --out report.json || fail "installed report --format json failed"
readers=$(jq '[.. | objects | select(has("verdict"))] | length' "$station/report.json")
[ "$readers" -ge "$slots" ] || fail "report has $readers verdicts for $slots slots"
installed report >/dev/null || fail "installed report (HTML) failed"
[ -s "$station/reports/out/report.html" ] || fail "installed report wrote no reports/out/report.html"
echo "installed run --lab --all: $verdicts verdicts stored in /var/lib/cardharness/harness.db; report ok [$((SECONDS - started)) s]"

# 6. Remove the package while a lab runs; a crashed --system-pcscd lab's reader.conf entry is
#    left behind as one would be (the lab writes it; here the file stands for that leftover).
eval "$(installed lab start)" || fail "second lab start failed"
lab_pid=$(jq -r .pid /var/lib/cardharness/lab/state.json)
lab_pcscd=$(jq -r .pcscd_pid /var/lib/cardharness/lab/state.json)
if ! kill -0 "$lab_pid" || ! kill -0 "$lab_pcscd"; then
    fail "lab or its pcscd not running before removal"
fi
mkdir -p /etc/reader.conf.d
# shellcheck disable=SC2016
printf '# Written by `cardharness lab start`: one reader per lab slot, on our driver.\nFRIENDLYNAME "x"\nDEVICENAME /var/lib/cardharness/lab/lab.sock:r01\nLIBPATH /usr/lib/cardharness/libifdcardharness.so\n' \
    >/etc/reader.conf.d/cardharness-lab.conf
unset PCSCLITE_CSOCK_NAME
# A lab of the source checkout (build tree's binary and driver) is not the package's: it survives.
checkout_lab=$(mktemp -d /tmp/chpkl.XXXXXX)
"$CARDHARNESS" lab start --dir "$checkout_lab" >/dev/null 2>&1 || fail "checkout lab start failed"
checkout_pids=$(jq -r '"\(.pid) \(.pcscd_pid)"' "$checkout_lab/state.json")
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q -o DPkg::Lock::Timeout=300 cardharness \
    >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "apt-get remove failed"; }
left=$(installed_pids)
[ -z "$left" ] || fail "cardharness processes left after removal: $left"
! kill -0 "$lab_pid" 2>/dev/null || fail "the lab (pid $lab_pid) survived the removal"
! kill -0 "$lab_pcscd" 2>/dev/null || fail "the lab's pcscd (pid $lab_pcscd) survived the removal"
for pid in $checkout_pids; do
    kill -0 "$pid" 2>/dev/null || fail "the removal stopped the checkout's lab (pid $pid)"
done
"$CARDHARNESS" lab stop --dir "$checkout_lab" >/dev/null 2>&1 || fail "checkout lab stop failed"
[ ! -e /usr/lib/cardharness ] || fail "left under /usr/lib/cardharness: $(ls -A /usr/lib/cardharness)"
[ ! -e /usr/bin/cardharness ] || fail "/usr/bin/cardharness left"
[ ! -e /etc/reader.conf.d/cardharness-lab.conf ] || fail "prerm left /etc/reader.conf.d/cardharness-lab.conf"
# Purge: the lab's state goes, the station's results stay.
dpkg --purge cardharness >/dev/null || fail "dpkg --purge failed"
[ ! -e /var/lib/cardharness/lab ] || fail "purge left /var/lib/cardharness/lab"
[ -f /var/lib/cardharness/harness.db ] || fail "purge removed the results database"
echo "removed while a lab ran: no process of the package left (a checkout's lab untouched), /usr/lib/cardharness gone; whole test $((SECONDS - started)) s"
