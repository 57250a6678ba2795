#!/usr/bin/env bash
# The private-pcscd library every integration test uses (tests/integration/lib/pcscd.sh): its
# pcscd is invisible to the host's /run/pcscd, loads no USB driver bundle, and is stopped (with
# its folders removed) when the test fails, and by the watchdog when the test shell is killed.
set -euo pipefail
lib="${CARDHARNESS_SOURCE_DIR:?}/tests/integration/lib/pcscd.sh"
source "$lib"
require_root_or_skip
require_vpcd_or_skip

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
gone_within() { # <seconds> <pid>
    local i
    for i in $(seq 1 $(($1 * 10))); do
        kill -0 "$2" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

make_test_dir work

# A test that fails after starting pcscd: the trap stops pcscd and removes its folders.
cat >"$work/failing.sh" <<CHILD
set -euo pipefail
source "$lib"
make_test_dir dir
port=\$(pick_free_port_pair)
write_vpcd_reader_conf "\$dir/reader.conf" "\$port"
start_private_pcscd "\$dir/reader.conf" "\$dir/pcscd"
echo "\$CARDHARNESS_PCSCD_PID \$dir \$PCSCLITE_CSOCK_NAME" >"$work/failing.out"
grep -q "No bundle files" "\$dir/pcscd/pcscd.log" && echo hidden >>"$work/failing.out"
[ /run/pcscd/pcscd.comm -ef "\$PCSCLITE_CSOCK_NAME" ] || echo host-untouched >>"$work/failing.out"
false
CHILD
rc=0
bash "$work/failing.sh" >"$work/failing.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "failing child: exit $rc, expected 1: $(cat "$work/failing.log")"
read -r pid dir socket <"$work/failing.out"
[ -n "$pid" ] || fail "child did not start pcscd"
gone_within 5 "$pid" || fail "pcscd $pid survived the failing test"
[ ! -e "$dir" ] || fail "$dir was not removed"
grep -qx hidden "$work/failing.out" || fail "USB driver bundles were visible to the private pcscd"
grep -qx host-untouched "$work/failing.out" || fail "the private socket showed up at /run/pcscd"
grep -q "pcscd log" "$work/failing.log" || fail "a failing test did not print the pcscd log"
echo "ok: failing test cleans up (pcscd stopped, folder removed, log shown)"
[ "$socket" != /run/pcscd/pcscd.comm ] || fail "PCSCLITE_CSOCK_NAME pointed at the host socket"
echo "ok: private socket $socket"

# A test shell killed with SIGKILL runs no trap: the watchdog stops pcscd.
cat >"$work/killed.sh" <<CHILD
set -euo pipefail
source "$lib"
dir="$work/killed"
mkdir -p "\$dir"
port=\$(pick_free_port_pair)
write_vpcd_reader_conf "\$dir/reader.conf" "\$port"
start_private_pcscd "\$dir/reader.conf" "\$dir/pcscd"
echo "\$CARDHARNESS_PCSCD_PID" >"$work/killed.out"
exec sleep 600 # same PID as the test shell: SIGKILL below leaves nothing behind
CHILD
bash "$work/killed.sh" >"$work/killed.log" 2>&1 &
child=$!
for i in $(seq 1 100); do
    [ -s "$work/killed.out" ] && break
    sleep 0.1
done
[ -s "$work/killed.out" ] || fail "killed child did not start pcscd: $(cat "$work/killed.log")"
pid=$(cat "$work/killed.out")
kill -KILL "$child"
wait "$child" 2>/dev/null || true
gone_within 10 "$pid" || fail "pcscd $pid survived its SIGKILLed test shell"
echo "ok: watchdog stops pcscd after SIGKILL of the test shell"
echo "pcscd_lib: all checks passed"
