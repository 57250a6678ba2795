#!/usr/bin/env bash
# The lab's lifecycle and safety through the commands (issue 8, issue 11):
# - another local user (nobody, through setpriv) reaches neither the lab's pcscd nor its socket,
#   with the real clients: opensc-tool, pcsc_scan, cardharness itself; root does;
# - `lab start --owner-pid PID`: kill -9 of the owner stops the lab and its pcscd;
# - kill -9 of the lab process takes its pcscd along, and the next `lab start` cleans up;
# - a second `lab start` on a running lab exits 3; `lab stop` does not wait for init to reap.
set -euo pipefail
source "$CARDHARNESS_SOURCE_DIR/tests/integration/lib/lab.sh"
lab_require_or_skip
command -v setpriv >/dev/null || lab_skip "setpriv not found"
command -v opensc-tool >/dev/null || lab_skip "opensc-tool not found"
command -v pcsc_scan >/dev/null || lab_skip "pcsc_scan not found"

as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
mode() {
    stat -c %a "$1"
}

lab_start
pid=$(jq -r .pid "$LAB_DIR/state.json")
pcscd_pid=$(jq -r .pcscd_pid "$LAB_DIR/state.json")
echo "lab $pid, pcscd $pcscd_pid, socket $PCSCLITE_CSOCK_NAME"

# 1. Owner-only: the folder, both sockets, the files.
[ "$(mode "$LAB_DIR")" = 700 ] || lab_fail "lab folder is $(mode "$LAB_DIR"), not 700"
[ "$(mode "$LAB_DIR/lab.sock")" = 600 ] || lab_fail "lab.sock is $(mode "$LAB_DIR/lab.sock")"
[ "$(mode "$LAB_DIR/run")" = 700 ] || lab_fail "run/ is $(mode "$LAB_DIR/run")"
[ "$(mode "$PCSCLITE_CSOCK_NAME")" = 600 ] || lab_fail "pcscd.comm is $(mode "$PCSCLITE_CSOCK_NAME")"
for f in state.json lab.log pcscd.log reader.conf.d/cardharness-lab.conf; do
    [ "$(mode "$LAB_DIR/$f")" = 600 ] || lab_fail "$f is $(mode "$LAB_DIR/$f"), not 600"
done
echo "ok: the lab folder is 700, its sockets and files 600"

as_nobody "$CARDHARNESS" version >/dev/null 2>&1 || lab_skip "nobody cannot run $CARDHARNESS here"
# Root reaches the cards...
opensc-tool -l | grep "Lab TPDU Contact 100 (r01)" >/dev/null || lab_fail "root cannot list the lab readers"
# ... nobody does not: not through pcscd (any client), not through the lab socket.
set +e
out=$(as_nobody opensc-tool -l 2>&1)
rc=$?
set -e
echo "nobody: opensc-tool -l -> $rc: $out"
! grep -q "Lab " <<<"$out" || lab_fail "nobody lists the lab readers with opensc-tool"
out=$(as_nobody timeout 3 pcsc_scan -r 2>&1 || true)
! grep -q "Lab " <<<"$out" || lab_fail "nobody sees the lab readers with pcsc_scan"
set +e
as_nobody "$CARDHARNESS" readers --json >"$LAB_DIR/nobody.json" 2>/dev/null
as_nobody "$CARDHARNESS" lab status --dir "$LAB_DIR" >/dev/null 2>"$LAB_DIR/nobody.err"
rc=$?
set -e
! grep -q '"Lab ' "$LAB_DIR/nobody.json" || lab_fail "nobody lists lab readers with cardharness readers"
[ "$rc" -eq 3 ] || lab_fail "lab status as nobody should exit 3, got $rc"
grep -q "not yours" "$LAB_DIR/nobody.err" || lab_fail "lab status as nobody: $(cat "$LAB_DIR/nobody.err")"
# Even with the folder opened up, the sockets themselves stay shut.
chmod 755 "$LAB_DIR" "$LAB_DIR/run"
out=$(as_nobody opensc-tool -l 2>&1 || true)
! grep -q "Lab " <<<"$out" || lab_fail "nobody lists the lab readers through a 0600 pcscd socket"
# Control: with the modes pcscd itself leaves (socket 0666, /run/pcscd 0755), nobody would reach
# the cards: the check above can see the hole it guards against.
chmod 666 "$PCSCLITE_CSOCK_NAME"
out=$(as_nobody opensc-tool -l 2>&1 || true)
grep -q "Lab TPDU Contact 100 (r01)" <<<"$out" || lab_fail "control: nobody should list the readers through a 0666 socket: $out"
chmod 600 "$PCSCLITE_CSOCK_NAME"
chmod 700 "$LAB_DIR" "$LAB_DIR/run"
echo "ok: nobody reaches no lab reader and not the lab"

# 2. A second start on a running lab: exit 3, the lab untouched.
set +e
"$CARDHARNESS" lab start --dir "$LAB_DIR" >/dev/null 2>"$LAB_DIR/second.err"
rc=$?
set -e
[ "$rc" -eq 3 ] || lab_fail "a second lab start should exit 3, got $rc"
grep -q "already running" "$LAB_DIR/second.err" || lab_fail "second start: $(cat "$LAB_DIR/second.err")"
kill -0 "$pid" || lab_fail "the second start hurt the running lab"

# 3. lab stop returns once the lab and pcscd have ended, without waiting for init to reap.
start=$(date +%s%N)
"$CARDHARNESS" lab stop --dir "$LAB_DIR"
stop_ms=$((($(date +%s%N) - start) / 1000000))
echo "lab stop took $stop_ms ms"
[ "$stop_ms" -lt 1500 ] || lab_fail "lab stop took $stop_ms ms"
lab_process_gone "$pid" || lab_fail "lab process still running"
lab_process_gone "$pcscd_pid" || lab_fail "pcscd still running"

# 4. --owner-pid: the lab ends with its owner, also on kill -9.
sleep 300 &
owner=$!
out=$("$CARDHARNESS" lab start --dir "$LAB_DIR" --owner-pid "$owner")
pid=$(jq -r .pid "$LAB_DIR/state.json")
pcscd_pid=$(jq -r .pcscd_pid "$LAB_DIR/state.json")
[ "$(jq -r .owner_pid "$LAB_DIR/state.json")" = "$owner" ] || lab_fail "state.json lacks the owner"
"$CARDHARNESS" lab status --dir "$LAB_DIR" | grep "ends with pid $owner" >/dev/null ||
    lab_fail "lab status does not name the owner"
kill -9 "$owner"
wait "$owner" 2>/dev/null || true
for _ in $(seq 1 50); do
    lab_process_gone "$pid" && lab_process_gone "$pcscd_pid" && break
    sleep 0.1
done
lab_process_gone "$pid" || lab_fail "the lab outlived its owner"
lab_process_gone "$pcscd_pid" || lab_fail "pcscd outlived the lab's owner"
[ ! -e "$LAB_DIR/state.json" ] || lab_fail "the lab left its state file after its owner ended"
grep -q "its owner (pid $owner) ended" "$LAB_DIR/lab.log" || lab_fail "lab.log does not say why it stopped"
set +e
"$CARDHARNESS" lab start --dir "$LAB_DIR" --owner-pid "$owner" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || lab_fail "--owner-pid of a process that is gone should exit 2, got $rc"
echo "ok: the lab ended with its owner"

# 5. kill -9 of the lab process: pcscd follows; the next start cleans up.
eval "$("$CARDHARNESS" lab start --dir "$LAB_DIR")"
pid=$(jq -r .pid "$LAB_DIR/state.json")
pcscd_pid=$(jq -r .pcscd_pid "$LAB_DIR/state.json")
kill -9 "$pid"
for _ in $(seq 1 50); do
    lab_process_gone "$pcscd_pid" && break
    sleep 0.1
done
lab_process_gone "$pcscd_pid" || lab_fail "pcscd outlived its lab process (kill -9)"
[ -e "$LAB_DIR/state.json" ] || lab_fail "expected the killed lab's state file"
set +e
"$CARDHARNESS" lab status --dir "$LAB_DIR" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || lab_fail "lab status of a dead lab should exit 3, got $rc"
out=$("$CARDHARNESS" lab start --dir "$LAB_DIR" 2>&1)
grep -q "leftovers of a lab that had ended" <<<"$out" || lab_fail "start did not report the cleanup: $out"
eval "$(grep '^export ' <<<"$out")"
opensc-tool -l | grep "Lab TPDU Contact 100 (r01)" >/dev/null || lab_fail "the restarted lab has no readers"
echo "ok: a killed lab's pcscd ended with it, and the next start cleaned up"
