#!/bin/bash
# daemon/cluster.c against the real Corosync of a two-node lab (lab-nodes.sh;
# corosync.conf with two_node and wait_for_all): Pacemaker is stopped on
# both nodes, so that Corosync can be stopped under the probes without a
# fencing.  A cluster-probe on each node: both see both hosts in the group
# and quorum; messages sent from both nodes at once come out on both in the
# same order (CPG's agreed order), each node's own in the order sent;
# Corosync stopped under probe 2: it says disconnected, refuses to send and
# keeps running, probe 1 sees the group shrink and stays quorate
# (two_node); Corosync started again: probe 2 reconnects and both see both
# hosts again.  Node 2 powered off: probe 1 sees the group shrink and stays
# quorate (two_node); Corosync restarted on node 1 alone: probe 1
# reconnects not quorate (wait_for_all); node 2 powered on: quorum comes
# back, and a new probe there joins the group.  A probe run as another user
# than root says it was refused for want of rights.  Every wait is bounded
# (30 s); durations are printed, never asserted.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"

PROBE=$abs_top_builddir/tests/lab/cluster-probe
declare -A probe_pid probe_fd

teardown() {
	local n fd
	for n in "${!probe_fd[@]}"; do
		fd=${probe_fd[$n]}
		exec {fd}>&-
	done
	lab_nodes_stop
}
trap teardown EXIT

# The write ends of the probes' pipes stay open in the test only, so that a
# probe sees the end of its commands when the test closes its pipe: every
# process the test starts after the first probe closes them first (Corosync,
# started again, would keep them open).
close_pipes() {
	local n fd
	for n in "${!probe_fd[@]}"; do
		fd=${probe_fd[$n]}
		exec {fd}>&-
	done
}
# without_pipes COMMAND...: COMMAND in a subshell without them.
without_pipes() { (close_pipes && "$@"); }

# probe_start ID NODE [WRAPPER...]: a probe on NODE, its commands from the
# pipe $LAB_DIR/probe-ID.in (kept open by the test), its output in
# probe-ID.out and its logs in probe-ID.err.
probe_start() {
	local id=$1 n=$2 fifo=$LAB_DIR/probe-$1.in fd
	shift 2
	rm -f "$fifo" && mkfifo "$fifo" || return 1
	exec {fd}<>"$fifo"
	probe_fd[$id]=$fd
	: >"$LAB_DIR/probe-$id.out"
	# One subshell, the background job itself: no parent of the probe
	# but the test keeps a write end.
	(close_pipes && lab_node_run "$n" "$@" "$PROBE" <"$fifo" >"$LAB_DIR/probe-$id.out" 2>"$LAB_DIR/probe-$id.err") &
	probe_pid[$id]=$!
}
# probe_stop ID: end of its commands; it exits.
probe_stop() {
	local fd=${probe_fd[$1]}
	exec {fd}>&-
	unset "probe_fd[$1]"
	lab_wait_for 30 eval "! lab_alive ${probe_pid[$1]}" || { diag "probe $1 did not end: pipe held by $(holders "$LAB_DIR/probe-$1.in")"; return 1; }
}
# holders FILE: the processes that have FILE open, "PID(COMM) ...".
holders() {
	local f pid
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$1" ] || continue
		pid=${f#/proc/}
		pid=${pid%%/*}
		printf '%s(%s) ' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)"
	done
}
probe_alive() { lab_alive "${probe_pid[$1]}"; }
# tell ID LINE...: commands to the probe.
tell() {
	local id=$1
	shift
	printf '%s\n' "$@" >&"${probe_fd[$id]}"
}
# mark ID: later checks of ID look at what it printed after this.
declare -A probe_mark
mark() { probe_mark[$1]=$(($(wc -l <"$LAB_DIR/probe-$1.out") + 1)); }
# out ID: what the probe printed since its mark.
out() { tail -n +"${probe_mark[$1]:-1}" "$LAB_DIR/probe-$1.out"; }
# said ID REGEX: a line since the mark matches.
said() { out "$1" | grep -Eq "$2"; }
wait_said() { lab_wait_for 30 said "$@" || { diag "probe $1 did not say /$2/; it said: $(out "$1" | tail -n 5 | tr '\n' '|')"; return 1; }; }
# last ID KIND: the last line of that kind since the mark.
last() { out "$1" | grep "^$2 " | tail -n 1; }
# ring_of LINE: the ring= of a membership line.
ring_of() { sed -n 's/.* ring=\([0-9]*\).*/\1/p' <<<"$1"; }
# delivered ID: the deliver lines since the mark.
delivered() { out "$1" | grep '^deliver '; }
ndelivered() { delivered "$1" | grep -c .; }

BOTH='^membership ring=[0-9]+ n=2 members=1:lab-node1,2:lab-node2$'
ONE='^membership ring=[0-9]+ n=1 members=1:lab-node1$'

corosync_stop() { lab_node_run "$1" eval 'lab_kill_pidfile "$LAB_CLUSTER_DIR/corosync.pid" 10'; }
corosync_start() {
	without_pipes lab_node_run "$1" eval 'lab_cluster_spawn corosync corosync -f -c /etc/corosync/corosync.conf' &&
		lab_wait_for 30 lab_node_run "$1" corosync-cfgtool -s >/dev/null 2>&1
}
pacemaker_stopped() { lab_node_run 1 lab_cluster_stop_pacemaker && lab_node_run 2 lab_cluster_stop_pacemaker; }

# --- Two nodes, Corosync alone.
t=$(date +%s%N)
failures_before=$tap_failures
check "2 nodes online" lab_nodes_start 2
diag "2 nodes online in $(ms_since "$t") ms"
bail_out_unless_passed "the 2 nodes did not come online"
check "Pacemaker stopped on both nodes, Corosync runs on" \
	eval 'pacemaker_stopped && lab_node_run 1 corosync-cfgtool -s >/dev/null && lab_node_run 2 corosync-cfgtool -s >/dev/null'
check "the probe was built" test -x "$PROBE"
bail_out_unless_passed "no cluster to probe"

t=$(date +%s%N)
probe_start 1 1
probe_start 2 2
check "probe 1 connects as node 1, quorate" wait_said 1 '^connected yes node=1 name=lab-node1 quorate=yes$'
check "probe 2 connects as node 2, quorate" wait_said 2 '^connected yes node=2 name=lab-node2 quorate=yes$'
check "probe 1 sees both hosts in the group" wait_said 1 "$BOTH"
check "probe 2 sees both hosts in the group" wait_said 2 "$BOTH"
diag "probes started -> both see both: $(ms_since "$t") ms"
check "both see the same ring" eval '[ "$(ring_of "$(last 1 membership)")" = "$(ring_of "$(last 2 membership)")" ]'
tell 1 status
check "the status of probe 1: connected, quorate, node 1, the ring, both hosts" \
	wait_said 1 "^status connected=yes quorate=yes node=1 name=lab-node1 ring=$(ring_of "$(last 1 membership)") members=1:lab-node1,2:lab-node2$"

# Agreed order: bursts from both nodes at once, then one message each.
mark 1
mark 2
t=$(date +%s%N)
tell 1 "burst 100 a"
tell 2 "burst 100 b"
tell 1 "send one-from-1"
tell 2 "send one-from-2"
check "probe 1 sent its burst" wait_said 1 '^burst 100 sent=100 failed=0$'
check "probe 2 sent its burst" wait_said 2 '^burst 100 sent=100 failed=0$'
check "probe 1 got all 202 messages" lab_wait_for 30 eval '[ "$(ndelivered 1)" = 202 ]'
check "probe 2 got all 202 messages" lab_wait_for 30 eval '[ "$(ndelivered 2)" = 202 ]'
diag "202 messages sent from 2 nodes, delivered on both in $(ms_since "$t") ms"
check "both got them in the same order" eval '[ "$(delivered 1)" = "$(delivered 2)" ]'
check "each node's in the order it sent them" \
	eval '[ "$(delivered 1 | sed -n "s/^deliver from=1 //p" | tr "\n" " ")" = "$(printf "a-%d " $(seq 100))one-from-1 " ] &&
		[ "$(delivered 1 | sed -n "s/^deliver from=2 //p" | tr "\n" " ")" = "$(printf "b-%d " $(seq 100))one-from-2 " ]'
diag "the two nodes' messages interleaved: $(delivered 1 | awk '{ f = $2 } f != p { c++ } { p = f } END { print c }') runs"

# Corosync stopped under probe 2, then started again.
mark 1
mark 2
t=$(date +%s%N)
check "Corosync stopped on node 2" corosync_stop 2
check "probe 2 says it is disconnected" wait_said 2 '^connected no$'
check "probe 2 logs the loss with its cause" lab_wait_for 30 grep -q 'Lost the connection to Corosync, .*: ' "$LAB_DIR/probe-2.err"
check "probe 1 sees the group shrink to node 1" wait_said 1 "$ONE"
diag "Corosync stopped -> probe 1 sees node 2 leave: $(ms_since "$t") ms"
check "probe 1 stays quorate (two_node)" eval '! said 1 "^quorate no$" && tell 1 status && wait_said 1 "^status connected=yes quorate=yes "'
tell 2 "send while-down"
check "probe 2 refuses to send while disconnected" wait_said 2 '^send-failed while-down error=ENOTCONN$'
check "probe 2 keeps running" probe_alive 2
mark 2
t=$(date +%s%N)
check "Corosync started again on node 2" corosync_start 2
check "probe 2 reconnects" wait_said 2 '^connected yes node=2 name=lab-node2 '
check "probe 2 logs that it is back" lab_wait_for 30 grep -q 'Connected again to Corosync as node 2' "$LAB_DIR/probe-2.err"
check "probe 2 sees both hosts again" wait_said 2 "$BOTH"
check "probe 1 sees both hosts again" wait_said 1 "$BOTH"
diag "Corosync started -> both probes see both: $(ms_since "$t") ms"
check "probe 2 quorate again" eval 'tell 2 status && wait_said 2 "^status connected=yes quorate=yes "'
mark 1
tell 2 "send after-restart"
check "a message from probe 2 reaches probe 1" wait_said 1 '^deliver from=2 after-restart$'

# Node 2 powered off, Corosync restarted on node 1 alone, node 2 powered on.
mark 1
t=$(date +%s%N)
check "node 2 powered off" lab_node_off 2
check "probe 1 sees the group shrink to node 1" wait_said 1 "$ONE"
diag "power off -> probe 1 sees node 2 leave: $(ms_since "$t") ms"
check "probe 1 stays quorate (two_node)" eval '! said 1 "^quorate no$" && tell 1 status && wait_said 1 "^status connected=yes quorate=yes "'
mark 1
check "Corosync restarted on node 1 alone" eval 'corosync_stop 1 && corosync_start 1'
check "probe 1 reconnects, not quorate (wait_for_all: node 2 not seen yet)" \
	wait_said 1 '^connected yes node=1 name=lab-node1 quorate=no$'
check "probe 1 alone in the group" wait_said 1 "$ONE"
mark 1
t=$(date +%s%N)
check "node 2 powered on" without_pipes lab_node_on 2
check "probe 1: quorum back" wait_said 1 '^quorate yes$'
diag "power on -> quorate: $(ms_since "$t") ms"
probe_start 3 2
check "a new probe on node 2 joins; both see both" eval 'wait_said 3 "$BOTH" && wait_said 1 "$BOTH"'

# Not root: Corosync refuses, and the probe says why.
probe_start 4 1 setpriv --reuid=nobody --regid=nogroup --clear-groups
check "a probe run as nobody says Corosync refused it for want of rights" \
	lab_wait_for 30 grep -q 'Corosync refused the connection (CS_ERR_ACCESS) .*must run as root' "$LAB_DIR/probe-4.err"
check "and keeps running" probe_alive 4

check "every probe ends at the end of its commands" \
	eval 'probe_stop 1 && probe_stop 3 && probe_stop 4 && probe_stop 2'
tap_done
