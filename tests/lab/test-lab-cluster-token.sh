#!/bin/bash
# The cluster token (docs/cluster.md) on a real three-node cluster
# (lab-nodes.sh; quorum without two_node): every node runs its own bus,
# libvirtd, guests and hostdev-had with the same group nic0 (each with its
# own domains: vm-a vm-b on node 1, vm-c vm-d on node 2, vm-e vm-f on node 3;
# vm-a and vm-c running, the others defined), Policy=manual, [Cluster]
# Enabled=yes and QuorumLossReleaseSec=3.  Pacemaker is stopped on every
# node (no resource, no fencing): only hostdevctl moves the device.
# Checked: the three daemons join and show the same token table; a switch on
# node 1 takes the token, node 2 sees it; node 2's switch is refused with
# HeldElsewhere naming node 1 and vm-a, nothing attached there; a release
# on node 1 lets node 2 switch, and node 1 is refused in turn; two
# switches sent at once from nodes 1 and 2 (Corosync held on every node
# until both daemons asked for the token): every host logs both requests
# in the same order, one granted, one denied; bad CPG messages from cluster-probe (garbage, a
# wrong version, an unknown type, a stale release, a request of an older
# ring) logged and ignored by every daemon, the table unchanged; Corosync
# restarted under the daemon of the node that lost the race: it keeps
# serving the bus, says it is disconnected, refuses a switch with NoQuorum,
# reconnects, the views agree again; the holder's node cut
# off the network (its veth on the switch down): it loses quorum and
# releases its guest (its log: quorum lost, then the release), the two
# others free the orphaned token after QuorumLossReleaseSec plus the margin
# and a switch there succeeds; the link back: the three views agree; the
# new holder cut off and back as soon as it released: the token is free.  A
# sampler reads every node's guests throughout: the device is never on two
# domains.  Every wait is bounded; durations are printed, never asserted.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"

CTL=$LAB_CTL
PROBE=$abs_top_builddir/tests/lab/cluster-probe
alias=ua-hostdev-nic0
QUORUM_LOSS_RELEASE_SEC=3
# HDHA_CLUSTER_EXPIRY_MARGIN_SEC (daemon/cluster-host.h).
EXPIRY_MARGIN_SEC=5
ALL_DOMAINS=(vm-a vm-b vm-c vm-d vm-e vm-f)
declare -A first_domain=([1]=vm-a [2]=vm-c [3]=vm-e) second_domain=([1]=vm-b [2]=vm-d [3]=vm-f)
probe_fd=

teardown() {
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
	[ -n "$probe_fd" ] && exec {probe_fd}>&-
	ip link set lab-sw1 up 2>/dev/null
	ip link set lab-sw2 up 2>/dev/null
	lab_nodes_stop
}
trap teardown EXIT

# --- Helpers.

# ctl N ARG...: hostdevctl on node N; its exit status in $rc, its stdout and
# stderr in $out and $err.
ctl() {
	local n=$1
	shift
	rc=0
	lab_node_run "$n" "$CTL" "$@" >"$LAB_DIR/ctl.out" 2>"$LAB_DIR/ctl.err" || rc=$?
	out=$(cat "$LAB_DIR/ctl.out")
	err=$(cat "$LAB_DIR/ctl.err")
	diag "node $n: hostdevctl $* -> $rc${out:+ | ${out:0:300}}${err:+ | ${err:0:300}}"
}
# ctl_ok N ARG...: it succeeds.
ctl_ok() { ctl "$@"; [ "$rc" = 0 ]; }
# held_elsewhere N HOST DOMAIN ARG...: hostdevctl ARG... on node N exits 11
# (HeldElsewhere) and its message names HOST and DOMAIN.
held_elsewhere() {
	local n=$1 host=$2 dom=$3
	shift 3
	ctl "$n" "$@"
	[ "$rc" = 11 ] && [[ $err == *"'$dom'"* ]] && [[ $err == *"'$host'"* ]]
}
# bus_error N METHOD ARG...: the D-Bus error of a failing manager call on
# node N ("Error org.hostdevha.Error.X: message"); ARGs as dbus-send takes them.
bus_error() {
	local n=$1 method=$2
	shift 2
	lab_node_run "$n" dbus-send --system --print-reply --reply-timeout=60000 \
		--dest=org.hostdevha.Manager1 /org/hostdevha/Manager1 "org.hostdevha.Manager1.$method" "$@" 2>&1 &&
		echo succeeded
}

# cluster_json N: node N's hostdevctl status --cluster --json.
cluster_json() { lab_node_run "$1" "$CTL" status --cluster --json 2>/dev/null; }
# token N: node N's token of nic0, "STATE HOST DOMAIN GENERATION" ("none"
# when no host asked for it yet).
token() {
	cluster_json "$1" | jq -r '[.tokens[] | select(.group == "nic0")] |
		if length == 0 then "none" else .[0] | "\(.state) \(.holder_host // "-") \(.holder_domain // "-") \(.generation)" end'
}
# tokens_agree N...: the nodes show the same token of nic0; prints it.
tokens_agree() {
	local n first='' t
	for n; do
		t=$(token "$n") || return 1
		[ -n "$t" ] || return 1
		if [ -z "$first" ]; then first=$t; elif [ "$t" != "$first" ]; then return 1; fi
	done
	echo "$first"
}
# token_is STATE HOST DOMAIN N...: every node given shows that token.
token_is() {
	local want="$1 $2 $3" n
	shift 3
	for n; do
		case $(token "$n") in "$want "*) ;; *) return 1 ;; esac
	done
}
wait_token() {
	local want="$1 $2 $3"
	lab_wait_for 30 token_is "$@" && return 0
	local n
	shift 3
	for n; do diag "node $n: token '$(token "$n")', expected '$want ...'"; done
	return 1
}
# joined N: node N's daemon is connected and quorate, its view has the
# group on every host.
joined() {
	cluster_json "$1" | jq -e '.cluster.connected and .cluster.quorate and
		([.groups[] | select(.group == "nic0") | .host] | sort) == ["lab-node1", "lab-node2", "lab-node3"]' >/dev/null
}
# views_agree N...: every node's view shows the same token and the same
# groups of every host.
views() { cluster_json "$1" | jq -c '[.groups, .tokens]'; }
views_agree() {
	local n first='' v
	for n; do
		v=$(views "$n") || return 1
		if [ -z "$first" ]; then first=$v; elif [ "$v" != "$first" ]; then return 1; fi
	done
}
# holders: every node's running domains that have the device.
holders() { lab_nodes_device_holders --alias "$alias" "${ALL_DOMAINS[@]}"; }
# released_on N DOMAIN: DOMAIN's live XML on node N has no device.
released_on() { [ -z "$(lab_node_run "$1" lab_device_holders --alias "$alias" "$2")" ]; }
holders_are() { [ "$(holders)" = "$1" ] || { diag "device on '$(holders)', expected '$1'"; return 1; }; }

# every_daemon_logged REGEX: on all three.
every_daemon_logged() { wait_logged 1 "$1" && wait_logged 2 "$1" && wait_logged 3 "$1"; }

# daemon_pid N: node N's hostdev-had as the lab sees it (its pid outside
# the node's PID namespace).
daemon_pid() {
	local pid
	for pid in $(lab_node_procs "$1"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = hostdev-had ] && { echo "$pid"; return 0; }
	done
	return 1
}
daemon_serves() { lab_node_run "$1" lab_daemon_owns_name; }
# bus_call_queued N: a message waits in a socket of node N's (stopped)
# hostdev-had: the call sent to it.
bus_call_queued() {
	lab_node_run "$1" ss -x -p -n 2>/dev/null | awk '/"hostdev-had"/ && $3 > 0 { found = 1 } END { exit !found }'
}

# The node's services: bus, libvirtd, its two domains (the first running),
# hostdev-had with group nic0 in policy manual and the cluster on.
node_services() {
	local n=$1 d1=${first_domain[$1]} d2=${second_domain[$1]} conf=$LAB_DIR/node$1/hostdev-ha
	lab_node_run "$n" lab_bus_start && lab_node_run "$n" lab_libvirt_start &&
		lab_node_run "$n" lab_guest_define "$d1" && lab_node_run "$n" lab_guest_define "$d2" &&
		lab_node_run "$n" lab_daemon_group nic0 manual "$d1" "$d2" || return 1
	sed -i 's/^ReleaseTimeoutSec=.*/ReleaseTimeoutSec=1/' "$conf/groups.d/nic0.conf" &&
		printf '[Cluster]\nEnabled=yes\nQuorumLossReleaseSec=%s\n' "$QUORUM_LOSS_RELEASE_SEC" >>"$conf/hostdev-ha.conf" || return 1
	if [ "$n" != 3 ]; then
		lab_node_run "$n" lab_guest_start "$d1" || return 1
	fi
	lab_node_run "$n" lab_daemon_start
}
all_services() {
	local n pids=() rc=0 pid
	for n in 1 2 3; do
		node_services "$n" >"$LAB_DIR/services-$n.log" 2>&1 &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
	[ $rc = 0 ] || diag "$(tail -n 3 "$LAB_DIR"/services-*.log | tr '\n' '|')"
	return $rc
}
pacemaker_stopped() {
	lab_node_run 1 lab_cluster_stop_pacemaker && lab_node_run 2 lab_cluster_stop_pacemaker &&
		lab_node_run 3 lab_cluster_stop_pacemaker
}
quorate() { lab_node_run "$1" corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes'; }
not_quorate() { lab_node_run "$1" corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *No'; }

# --- Three nodes, Corosync alone, a hostdev-had on each.
t=$(date +%s%N)
failures_before=$tap_failures
check "3 nodes online" lab_nodes_start 3
diag "3 nodes online in $(ms_since "$t") ms"
bail_out_unless_passed "the 3 nodes did not come online"
check "Pacemaker stopped on every node, Corosync runs on, quorate" \
	eval 'pacemaker_stopped && quorate 1 && quorate 2 && quorate 3'
t=$(date +%s%N)
check "every node: bus, libvirtd, its domains, hostdev-had (nic0, policy manual, Enabled=yes)" all_services
diag "services up in $(ms_since "$t") ms"
bail_out_unless_passed "the nodes' services did not start"

sampler=
sample_holders holders &
sampler=$!

# 1. The daemons join; the same table everywhere.
t=$(date +%s%N)
check "1: every daemon connected and quorate, its view has nic0 on all three hosts" \
	eval 'lab_wait_for 60 joined 1 && lab_wait_for 60 joined 2 && lab_wait_for 60 joined 3'
diag "daemons started -> all joined: $(ms_since "$t") ms"
check "1: status --cluster as text: connected, quorate, the node's name" \
	eval 'ctl_ok 2 status --cluster && [[ $out == *"Cluster: connected, quorate, node '"'lab-node2'"'"* ]] &&
		[ "$(grep -c "^nic0 .*lab-node" <<<"$out")" = 3 ]'
check "1: the three views agree" lab_wait_for 30 views_agree 1 2 3
diag "token table: $(token 1)"
check "1: nothing holds the device" holders_are ""

# 2. Node 1 takes the token with a switch; node 2 sees it.
t=$(date +%s%N)
check "2: switch nic0 vm-a on node 1 succeeds" ctl_ok 1 switch nic0 vm-a
diag "switch on node 1: $(ms_since "$t") ms"
check "2: vm-a on node 1 alone holds the device" holders_are "lab-node1:vm-a"
t=$(date +%s%N)
check "2: node 2 shows the token held by lab-node1 for vm-a" wait_token held lab-node1 vm-a 2
diag "node 2 sees the grant within $(ms_since "$t") ms"
check "2: the three views agree" lab_wait_for 30 views_agree 1 2 3
gen=$(token 1 | awk '{ print $4 }')

# 3. Node 2 is refused: held elsewhere.
check "3: switch nic0 vm-c on node 2: HeldElsewhere (exit 11), naming lab-node1 and vm-a" \
	held_elsewhere 2 lab-node1 vm-a switch nic0 vm-c
check "3: on the bus: org.hostdevha.Error.HeldElsewhere" \
	eval 'e=$(bus_error 2 Switch string:nic0 string:vm-c boolean:false); diag "$e"; [[ $e == *"Error org.hostdevha.Error.HeldElsewhere:"* ]]'
check "3: nothing attached on node 2 (its guests' live XML)" \
	eval '[ -z "$(lab_node_run 2 lab_device_holders --alias "$alias" vm-c vm-d)" ] && holders_are "lab-node1:vm-a"'
check "3: the token did not move" eval '[ "$(token 1)" = "held lab-node1 vm-a $gen" ]'

# 4. Released on node 1: node 2 may switch, and node 1 is refused.
check "4: release nic0 on node 1" ctl_ok 1 release nic0
check "4: the device on no domain" holders_are ""
check "4: every node shows the token free" wait_token free - - 1 2 3
t=$(date +%s%N)
check "4: switch nic0 vm-c on node 2 succeeds" ctl_ok 2 switch nic0 vm-c
diag "switch on node 2: $(ms_since "$t") ms"
check "4: vm-c on node 2 alone holds the device" holders_are "lab-node2:vm-c"
check "4: every node shows the token held by lab-node2 for vm-c" wait_token held lab-node2 vm-c 1 2 3
check "4: switch nic0 vm-a on node 1: HeldElsewhere (exit 11), naming lab-node2 and vm-c" \
	held_elsewhere 1 lab-node2 vm-c switch nic0 vm-a
check "4: the device still on vm-c alone" holders_are "lab-node2:vm-c"

# 5. A race made certain: both daemons stopped until a switch waits for
# each (sent on nodes 1 and 2); then Corosync held on every node, so that
# nothing is delivered; the daemons let go; once both logged that they ask
# the cluster for the token (both requests handed to Corosync, neither
# delivered), Corosync let go.  Totem orders the two requests: every host
# logs them in the same order, the first granted, the second denied.
# Corosync is held only while the daemons take their calls, bounded well
# under its token timeout (3000 ms), so that the membership stays.
check "5: release nic0 on node 2" ctl_ok 2 release nic0
check "5: every node shows the token free" wait_token free - - 1 2 3
# requests N: node N's log of the token's requests since the mark.
requests() { log_since "$1" | grep -E "Group 'nic0': token [a-z]+ --request--> "; }
asked() { logged "$1" "Group 'nic0': asking the cluster for the group's token"; }
# corosync_pid N: node N's Corosync as the lab sees it.
corosync_pid() {
	local pid
	for pid in $(lab_node_procs "$1"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = corosync ] && { echo "$pid"; return 0; }
	done
	return 1
}
race() {
	local p1 p2 c1 c2 cs=() n pid t held
	if ! p1=$(daemon_pid 1) || ! p2=$(daemon_pid 2); then
		diag "no daemon pids"
		return 1
	fi
	for n in 1 2 3; do
		pid=$(corosync_pid "$n") || { diag "no Corosync pid on node $n"; return 1; }
		cs+=("$pid")
	done
	mark_logs
	kill -STOP "$p1" "$p2"
	(lab_node_run 1 "$CTL" switch nic0 vm-a >"$LAB_DIR/race-1.out" 2>&1; echo $? >"$LAB_DIR/race-1.rc") &
	c1=$!
	(lab_node_run 2 "$CTL" switch nic0 vm-c >"$LAB_DIR/race-2.out" 2>&1; echo $? >"$LAB_DIR/race-2.rc") &
	c2=$!
	if ! lab_wait_for 30 eval 'bus_call_queued 1 && bus_call_queued 2'; then
		kill -CONT "$p1" "$p2"
		diag "the calls did not reach the stopped daemons"
		wait "$c1" "$c2"
		return 1
	fi
	t=$(date +%s%N)
	kill -STOP "${cs[@]}"
	kill -CONT "$p1" "$p2"
	lab_wait_for 2 eval 'asked 1 && asked 2'
	held=$(ms_since "$t")
	kill -CONT "${cs[@]}"
	diag "Corosync held $held ms while the daemons took their calls"
	wait "$c1" "$c2"
	diag "race: node 1 $(cat "$LAB_DIR/race-1.rc"), node 2 $(cat "$LAB_DIR/race-2.rc")"
	if ! asked 1 || ! asked 2; then
		diag "a daemon did not ask the cluster while Corosync was held"
		return 1
	fi
}
check "5: both daemons asked the cluster while Corosync was held on every node" race
check "5: every host logged two requests" \
	eval 'every_daemon_logged "Group .nic0.: token held --request--> "'
for n in 1 2 3; do diag "node $n: $(requests "$n" | tr '\n' '|')"; done
check "5: every host logged the same two requests in the same order" \
	eval '[ "$(requests 1)" = "$(requests 2)" ] && [ "$(requests 1)" = "$(requests 3)" ]'
check "5: the first granted, the second denied" \
	eval 'requests 1 | head -n 1 | grep -q -- "free --request--> held: granted to node" &&
		requests 1 | tail -n 1 | grep -q -- "held --request--> held: denied to node"'
winner=$(requests 1 | head -n 1 | sed -n "s/.*granted to node \([0-9]\) .*/\1/p")
loser=$((3 - ${winner:-1}))
check "5: node $winner's switch succeeded, node $loser's refused with HeldElsewhere (11)" \
	eval '[ "$(cat "$LAB_DIR/race-$winner.rc")" = 0 ] && [ "$(cat "$LAB_DIR/race-$loser.rc")" = 11 ]'
check "5: ${first_domain[$winner]} on node $winner alone holds the device" \
	holders_are "lab-node$winner:${first_domain[$winner]}"
check "5: the three views agree" lab_wait_for 30 views_agree 1 2 3
diag "token after the race: $(token 1)"

# 6. Bad messages on the CPG group, from a probe on the holder's node (so
# that a release differs from the holder's own only by its generation):
# each logged by every daemon and ignored; the table unchanged.
# hex_u16 V, hex_u64 V, hex_str S: little-endian numbers, a string with its
# length, as the wire has them.
hex_u16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
hex_u64() { local i; for i in 0 1 2 3 4 5 6 7; do printf '%02x' $(($1 >> (8 * i) & 255)); done; }
hex_str() { hex_u16 "${#1}"; printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
hex_header() { printf '%s' HDHA | od -An -tx1 | tr -d ' \n'; hex_u16 "$1"; hex_u16 "$2"; hex_u64 "$3"; }
probe_start() {
	local fifo=$LAB_DIR/probe.in
	rm -f "$fifo" && mkfifo "$fifo" || return 1
	exec {probe_fd}<>"$fifo"
	: >"$LAB_DIR/probe.out"
	(exec {probe_fd}>&- && lab_node_run "$1" "$PROBE" <"$fifo" >"$LAB_DIR/probe.out" 2>"$LAB_DIR/probe.err") &
	probe_pid=$!
}
probe_stop() {
	exec {probe_fd}>&-
	probe_fd=
	lab_wait_for 30 eval "! lab_alive $probe_pid"
}
tell() { printf '%s\n' "$@" >&"$probe_fd"; }
probe_said() { grep -Eq -- "$1" "$LAB_DIR/probe.out"; }

before=$(tokens_agree 1 2 3)
gen=$(awk '{ print $4 }' <<<"$before")
check "6: cluster-probe joins the group on node $winner" \
	eval 'probe_start "$winner" && lab_wait_for 30 probe_said "^membership ring=[0-9]+ n=3 "'
tell status
lab_wait_for 30 probe_said '^status connected=yes'
ring=$(sed -n 's/^status .* ring=\([0-9]*\) .*/\1/p' "$LAB_DIR/probe.out" | tail -n 1)
diag "ring $ring, token $before"
# Once the daemons have the probe's membership (they publish after it).
lab_wait_for 30 views_agree 1 2 3
mark_logs
bad_version=$(hex_header 2 0 "$ring")$(hex_str nic0)$(hex_str "${first_domain[$winner]}")
bad_type=$(hex_header 1 9 "$ring")$(hex_str nic0)
stale_release=$(hex_header 1 1 "$ring")$(hex_str nic0)$(hex_u64 $((gen - 1)))
old_ring=$(hex_header 1 0 $((ring - 1)))$(hex_str nic0)$(hex_str "${first_domain[$winner]}")
tell "send not a message at all" "sendhex $bad_version" "sendhex $bad_type" "sendhex $stale_release" "sendhex $old_ring"
check "6: the probe sent the five" lab_wait_for 30 eval '[ "$(grep -c "^sent " "$LAB_DIR/probe.out")" = 5 ]'
check "6: garbage: every daemon logs a bad message and ignores it" \
	every_daemon_logged "Bad message from node $winner, ignoring: .*magic"
check "6: another version: logged and ignored" every_daemon_logged "Bad message from node $winner, ignoring: .*version"
check "6: an unknown type: logged and ignored" every_daemon_logged "Bad message from node $winner, ignoring: .*type"
check "6: a release of generation $((gen - 1)): refused as stale" \
	every_daemon_logged "Group 'nic0': token held --release--> held: stale release from node $winner of generation $((gen - 1)) refused"
check "6: a request of ring $((ring - 1)): dropped" \
	every_daemon_logged "Dropping a request for group 'nic0' of node $winner sent in ring $((ring - 1))"
for n in 1 2 3; do diag "node $n: $(log_since "$n" | grep -E 'Bad message|stale|Dropping' | tr '\n' '|')"; done
check "6: the token table unchanged on every node" eval '[ "$(tokens_agree 1 2 3)" = "$before" ]'
check "6: the device where it was" holders_are "lab-node$winner:${first_domain[$winner]}"
check "6: the probe leaves" probe_stop

# 7. Corosync restarted under the daemon of node $loser (a running standby,
# no token).
c=$loser cd=${first_domain[$loser]}
corosync_stop() { lab_node_run "$1" eval 'lab_kill_pidfile "$LAB_CLUSTER_DIR/corosync.pid" 10'; }
corosync_start() {
	lab_node_run "$1" eval 'lab_cluster_spawn corosync corosync -f -c /etc/corosync/corosync.conf' &&
		lab_wait_for 30 lab_node_run "$1" corosync-cfgtool -s >/dev/null 2>&1
}
disconnected() { cluster_json "$1" | jq -e '.cluster.connected == false' >/dev/null; }
# without N GONE: node N's daemon is quorate and its view has dropped node GONE.
without() {
	cluster_json "$1" | jq -e --arg h "lab-node$2" '.cluster.quorate and ([.groups[].host] | index($h) | not)' >/dev/null
}
others=$(printf '%s\n' 1 2 3 | grep -v -x "$c" | xargs)
mark_logs
t=$(date +%s%N)
check "7: Corosync stopped on node $c" corosync_stop "$c"
check "7: node $c's daemon logs the loss" wait_logged "$c" "Lost the connection to Corosync"
check "7: status --cluster on node $c: not connected" \
	eval 'lab_wait_for 30 disconnected "$c" && ctl_ok "$c" status --cluster && [[ $out == "Cluster: not connected"* ]]'
diag "Corosync stopped -> node $c's daemon disconnected: $(ms_since "$t") ms"
check "7: node $c's daemon keeps serving the bus" eval 'daemon_serves "$c" && ctl_ok "$c" status nic0'
check "7: switch nic0 $cd on node $c meanwhile: NoQuorum (12), nothing attached" \
	eval 'ctl "$c" switch nic0 "$cd"; [ "$rc" = 12 ] && holders_are "lab-node$winner:${first_domain[$winner]}"'
# others_without_c: the two others quorate, node $c gone from their views,
# their token unchanged.
others_without_c() {
	local n
	for n in $others; do lab_wait_for 30 without "$n" "$c" || return 1; done
	# shellcheck disable=SC2086 # two node numbers
	[ "$(tokens_agree $others)" = "$before" ]
}
check "7: nodes $others stay quorate, node $c gone from their views, their token unchanged" others_without_c
t=$(date +%s%N)
check "7: Corosync started again on node $c" corosync_start "$c"
check "7: node $c's daemon reconnects" wait_logged "$c" "Connected again to Corosync as node $c"
check "7: node $c's daemon joined and quorate again" lab_wait_for 60 joined "$c"
diag "Corosync started -> node $c's daemon joined: $(ms_since "$t") ms"
check "7: the three views agree again" lab_wait_for 30 views_agree 1 2 3
check "7: the token as before" eval '[ "$(tokens_agree 1 2 3)" = "$before" ]'

# 8. The holder's node cut off the network: it loses quorum and releases
# its guest; the two others free the orphaned token once the holder has had
# QuorumLossReleaseSec (plus the margin), and a switch there succeeds.
w=$winner l=$loser
wd=${first_domain[$w]} ld=${first_domain[$l]}
lowest=1
[ "$w" = 1 ] && lowest=2
mark_logs
t=$(date +%s%N)
check "8: node $w cut off (lab-sw$w down)" ip link set "lab-sw$w" down
check "8: node $w's Corosync: not quorate; the others quorate" \
	lab_wait_for 60 eval 'not_quorate "$w" && quorate "$l" && quorate 3'
check "8: node $w's daemon logs the loss of quorum, then releases $wd" \
	eval 'wait_logged "$w" "This host lost quorum" && wait_logged "$w" "this host lost quorum, releasing '"'$wd'"'"'
diag "cut -> node $w lost quorum: logged; release started: logged"
check "8: $wd's live XML no longer has the device" lab_wait_for 30 released_on "$w" "$wd"
diag "cut -> $wd released: $(ms_since "$t") ms"
# release_in_order N: node N's log since the mark has the loss of quorum
# before the release it started, and the device's removal after.
release_in_order() {
	local lines q r d
	lines=$(log_since "$1" | grep -n -E "This host lost quorum|this host lost quorum, releasing|device '[^']*' -> unallocated")
	diag "$(tr '\n' '|' <<<"$lines")"
	q=$(grep -m1 "This host lost quorum" <<<"$lines" | cut -d: -f1)
	r=$(grep -m1 "this host lost quorum, releasing" <<<"$lines" | cut -d: -f1)
	d=$(grep -m1 -- "-> unallocated" <<<"$lines" | cut -d: -f1)
	[ -n "$q" ] && [ -n "$r" ] && [ -n "$d" ] && [ "$q" -lt "$r" ] && [ "$r" -lt "$d" ]
}
check "8: in node $w's log: quorum lost, then the release, then the device gone" release_in_order "$w"
check "8: node $l sees the token orphaned (held by lab-node$w, gone)" wait_token orphaned "lab-node$w" "$wd" "$l"
diag "cut -> orphaned on node $l: $(ms_since "$t") ms"
# The token is orphaned for QuorumLossReleaseSec plus the margin: a switch
# tried then is refused (only if the token is still orphaned when tried).
refused_while_orphaned() {
	if ! token_is orphaned "lab-node$w" "$wd" "$l"; then
		diag "the token was freed before a switch could be tried"
		return 0
	fi
	held_elsewhere "$l" "lab-node$w" "$wd" switch nic0 "$ld" && [[ $err == *"left the cluster"* ]]
}
check "8: a switch on node $l meanwhile: HeldElsewhere, naming lab-node$w that left" refused_while_orphaned
check "8: node $lowest (the lowest of the quorate two) frees it after $((QUORUM_LOSS_RELEASE_SEC + EXPIRY_MARGIN_SEC)) s" \
	eval 'wait_logged "$lowest" "its token is freed in $((QUORUM_LOSS_RELEASE_SEC + EXPIRY_MARGIN_SEC)) s" &&
		lab_wait_for 60 logged "$lowest" "node $w left with its token .* freeing it"'
check "8: nodes $l and 3 show the token free" wait_token free - - "$l" 3
diag "cut -> free on node $l: $(ms_since "$t") ms"
t2=$(date +%s%N)
check "8: switch nic0 $ld on node $l succeeds" ctl_ok "$l" switch nic0 "$ld"
diag "switch on node $l: $(ms_since "$t2") ms; cut -> switched: $(ms_since "$t") ms"
check "8: $ld on node $l alone holds the device" holders_are "lab-node$l:$ld"
t=$(date +%s%N)
check "8: node $w's link back" ip link set "lab-sw$w" up
check "8: node $w's daemon quorate again, all three views agree" \
	eval 'lab_wait_for 60 joined "$w" && lab_wait_for 30 views_agree 1 2 3'
diag "link up -> views agree: $(ms_since "$t") ms"
check "8: every node shows the token held by lab-node$l for $ld" wait_token held "lab-node$l" "$ld" 1 2 3
check "8: the device still on $ld alone" holders_are "lab-node$l:$ld"

# 9. The holder's node cut off again, its link back as soon as it has
# released its guest (before the others' expiry, if the machine is quick
# enough): the holder, back with nothing attached, gives its token back,
# or the expiry has freed it; either way every node shows it free.
h=$l hd=$ld
lowest=1
[ "$h" = 1 ] && lowest=2
mark_logs
t=$(date +%s%N)
check "9: node $h cut off (lab-sw$h down)" ip link set "lab-sw$h" down
check "9: node $h's daemon loses quorum and releases $hd" \
	eval 'wait_logged "$h" "this host lost quorum, releasing '"'$hd'"'" && lab_wait_for 30 released_on "$h" "$hd"'
diag "cut -> $hd released: $(ms_since "$t") ms"
check "9: node $h's link back" ip link set "lab-sw$h" up
check "9: node $h's daemon quorate again, all three views agree" \
	eval 'lab_wait_for 60 joined "$h" && lab_wait_for 30 views_agree 1 2 3'
diag "cut -> views agree: $(ms_since "$t") ms"
check "9: every node shows the token free" wait_token free - - 1 2 3
if logged "$lowest" "node $h left with its token .* freeing it"; then
	diag "node $lowest's expiry freed it (the link came back too late)"
else
	diag "node $h gave it back: $(log_since "$h" | grep -E "token held --release--> free" | tail -n 1)"
fi
check "9: the device on no domain" holders_are ""

kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
check "the device was never on two domains (every node's guests sampled)" \
	eval 'diag "$(wc -l <"$LAB_DIR/samples") samples"; [ ! -s "$LAB_DIR/two-holders" ] || { diag "$(head -n 3 "$LAB_DIR/two-holders")"; false; }'
tap_done
