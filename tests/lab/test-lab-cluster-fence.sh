#!/bin/bash
# A departed holder's cluster token freed on Pacemaker's word (docs/cluster.md):
# three nodes (lab-nodes.sh) with Pacemaker and fencing on (fence_lab,
# created with pcs as test-lab-cluster-nodes.sh does), every node with its
# bus, libvirtd, a running guest and hostdev-had (group nic0, policy
# manual, [Cluster] Enabled=yes, QuorumLossReleaseSec=60: the timed expiry
# would come 65 s after the holder left, so only the fencer's confirmation
# explains a token freed before).  Node 1, the lowest, logs at debug level.
# 1. Node 2 takes the token (a switch to vm-c), then is fenced with
#    stonith_admin --fence from node 3 (stonith-action=off: it stays off):
#    node 1 logs that Pacemaker's fencer confirmed node 2 fenced and frees
#    the token (not the timed expiry), nodes 1 and 3 show it free, and a
#    switch on node 3 succeeds.
# 2. Node 2 powered on again (its bus, libvirtd and hostdev-had from its
#    boot list) and holder again; fencing disabled (stonith-enabled=false),
#    node 2 cut off the network: it left the ring again, but its only
#    fencing predates its return, so node 1 asks the fencer, is told of the
#    old fencing, confirms nothing and keeps the token orphaned; the link
#    back, node 2 holds it again.
# A sampler reads every node's guests throughout: the device is never on two
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
alias=ua-hostdev-nic0
QUORUM_LOSS_RELEASE_SEC=60
ALL_DOMAINS=(vm-a vm-b vm-c vm-d vm-e vm-f)
declare -A first_domain=([1]=vm-a [2]=vm-c [3]=vm-e) second_domain=([1]=vm-b [2]=vm-d [3]=vm-f)

teardown() {
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
	ip link set lab-sw2 up 2>/dev/null
	lab_nodes_stop
}
trap teardown EXIT

# --- Helpers (as test-lab-cluster-token.sh's).

# ctl N ARG...: hostdevctl on node N; its exit status in $rc, its output in
# $out and $err.
ctl() {
	local n=$1
	shift
	rc=0
	lab_node_run "$n" "$CTL" "$@" >"$LAB_DIR/ctl.out" 2>"$LAB_DIR/ctl.err" || rc=$?
	out=$(cat "$LAB_DIR/ctl.out")
	err=$(cat "$LAB_DIR/ctl.err")
	diag "node $n: hostdevctl $* -> $rc${out:+ | ${out:0:300}}${err:+ | ${err:0:300}}"
}
ctl_ok() { ctl "$@"; [ "$rc" = 0 ]; }
cluster_json() { lab_node_run "$1" "$CTL" status --cluster --json 2>/dev/null; }
# token N: node N's token of nic0, "STATE HOST DOMAIN GENERATION".
token() {
	cluster_json "$1" | jq -r '[.tokens[] | select(.group == "nic0")] |
		if length == 0 then "none" else .[0] | "\(.state) \(.holder_host // "-") \(.holder_domain // "-") \(.generation)" end'
}
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
# joined N...: the daemons connected and quorate, each view with nic0 on
# every node given.
joined() {
	local n want
	want=$(printf '"lab-node%s",' "$@")
	for n; do
		cluster_json "$n" | jq -e --argjson want "[${want%,}]" '.cluster.connected and .cluster.quorate and
			([.groups[] | select(.group == "nic0") | .host] | sort) == $want' >/dev/null || return 1
	done
}
holders() { lab_nodes_device_holders --alias "$alias" "${ALL_DOMAINS[@]}"; }
holders_are() { [ "$(holders)" = "$1" ] || { diag "device on '$(holders)', expected '$1'"; return 1; }; }

quorate() { lab_node_run "$1" corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes'; }
device_started() {
	lab_node_run 1 lab_cluster_mon --output-as=xml 2>/dev/null |
		grep -q '<resource id="fence-lab" resource_agent="stonith:fence_lab" role="Started"'
}
# fenced N: node 1's fencer records a successful fencing of lab-nodeN.
fenced() {
	lab_node_run 1 stonith_admin --history "lab-node$1" --output-as=xml 2>/dev/null |
		grep -q "<fence_event [^>]*target=\"lab-node$1\"[^>]*status=\"success\""
}
gone() { [ -z "$(lab_node_procs "$1")" ] && ! lab_node_is_on "$1"; }
power_on() {
	printf 'action=on\nport=lab-node%s\n' "$1" | fence_lab >"$LAB_DIR/fence.out" 2>&1 ||
		{ diag "$(cat "$LAB_DIR/fence.out")"; return 1; }
}

# The node's services: bus, libvirtd, its two domains (the first running),
# hostdev-had with nic0 in policy manual, the cluster on,
# QuorumLossReleaseSec=60; node 1's at debug level.  Node 2's come back at
# power on (its boot list), its guest does not.
node_services() {
	local n=$1 d1=${first_domain[$1]} d2=${second_domain[$1]} conf=$LAB_DIR/node$1/hostdev-ha args=
	[ "$n" = 1 ] && args=--log-level=debug
	lab_node_run "$n" lab_bus_start && lab_node_run "$n" lab_libvirt_start &&
		lab_node_run "$n" lab_guest_define "$d1" && lab_node_run "$n" lab_guest_define "$d2" &&
		lab_node_run "$n" lab_daemon_group nic0 manual "$d1" "$d2" || return 1
	sed -i 's/^ReleaseTimeoutSec=.*/ReleaseTimeoutSec=1/' "$conf/groups.d/nic0.conf" &&
		printf '[Cluster]\nEnabled=yes\nQuorumLossReleaseSec=%s\n' "$QUORUM_LOSS_RELEASE_SEC" >>"$conf/hostdev-ha.conf" &&
		lab_node_run "$n" lab_guest_start "$d1" &&
		lab_node_run "$n" lab_daemon_start ${args:+"$args"} || return 1
	printf '%s\n' lab_bus_start lab_libvirt_start "lab_daemon_start $args" >"$LAB_DIR/node$n/boot"
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

# --- Three nodes, Pacemaker and fencing on, a hostdev-had on each.
t=$(date +%s%N)
failures_before=$tap_failures
check "3 nodes online" lab_nodes_start 3
diag "3 nodes online in $(ms_since "$t") ms"
bail_out_unless_passed "the 3 nodes did not come online"
check "fencing enabled, a fenced node stays off" \
	eval '[ "$(lab_node_run 1 crm_attribute -t crm_config -n stonith-enabled -q -G)" = true ] &&
		[ "$(lab_node_run 1 crm_attribute -t crm_config -n stonith-action -q -G)" = off ]'
check "fence device created with pcs" \
	on_node 1 pcs stonith create fence-lab fence_lab pcmk_host_list="lab-node1 lab-node2 lab-node3"
check "the fence device starts" lab_wait_for 30 device_started
lab_nodes_wait_idle 30
t=$(date +%s%N)
check "every node: bus, libvirtd, a running guest, hostdev-had (nic0, QuorumLossReleaseSec=60)" all_services
diag "services up in $(ms_since "$t") ms"
bail_out_unless_passed "the nodes' services did not start"
check "every daemon connected and quorate, nic0 on all three hosts" lab_wait_for 60 joined 1 2 3
diag "node 1's fencer socket: $(lab_node_run 1 grep -o '@stonith-ng\b' /proc/net/unix | sort -u | tr '\n' ' ')"

sampler=
sample_holders holders &
sampler=$!

# 1. Node 2 holds the token and is fenced.
check "1: switch nic0 vm-c on node 2 succeeds" ctl_ok 2 switch nic0 vm-c
check "1: vm-c on node 2 alone holds the device" holders_are "lab-node2:vm-c"
check "1: every node shows the token held by lab-node2 for vm-c" wait_token held lab-node2 vm-c 1 2 3
mark_logs
t=$(date +%s%N)
check "1: stonith_admin --fence lab-node2 from node 3" on_node 3 stonith_admin --fence lab-node2 --timeout 60
t_fenced=$(date +%s%N)
diag "stonith_admin --fence -> returned (node 2 off): $(ms_since "$t") ms"
check "1: node 2 powered off: no process of it left" gone 2
check "1: node 1's fencer has the fencing" lab_wait_for 30 fenced 2
# The confirmation, named in node 1's log; waited for less than the 65 s
# the timed expiry takes, and that one not logged.
confirmed="node 2 \('lab-node2'\) confirmed fenced at [^ ].* by Pacemaker's fencer: freeing the token of group 'nic0'"
check "1: node 1 logs node 2 confirmed fenced by Pacemaker's fencer, freeing nic0's token" \
	wait_logged 1 "$confirmed" 45
t_confirmed=$(date +%s%N)
diag "node 1: $(log_since 1 | grep -E "$confirmed|its token is freed in" | tr '\n' '|')"
check "1: the token was not freed by the timed expiry" eval '! logged 1 "left with its token .* freeing it"'
check "1: nodes 1 and 3 show the token free" wait_token free - - 1 3
t_free=$(date +%s%N)
check "1: switch nic0 vm-e on node 3 succeeds" ctl_ok 3 switch nic0 vm-e
t_switched=$(date +%s%N)
check "1: vm-e on node 3 alone holds the device" holders_are "lab-node3:vm-e"
diag "fence requested -> node 2 off (stonith_admin returned): $(((t_fenced - t) / 1000000)) ms;" \
	"-> confirmation logged: $(((t_confirmed - t_fenced) / 1000000)) ms;" \
	"-> token free on nodes 1 and 3: $(((t_free - t_confirmed) / 1000000)) ms;" \
	"-> switch on node 3 done: $(((t_switched - t_free) / 1000000)) ms;" \
	"fence requested -> switched: $(((t_switched - t) / 1000000)) ms"
fence_line=$(lab_node_run 1 stonith_admin --history lab-node2 2>/dev/null | tr '\n' '|')
diag "node 1's fencer: $fence_line"

# 2. Node 2 back, holder again, then gone without a new fencing: the old one
# predates its return and does not count.
t=$(date +%s%N)
check "2: node 2 powered on" power_on 2
check "2: node 2's daemon joined and quorate, all three views have nic0" lab_wait_for 90 joined 1 2 3
diag "power on -> node 2's daemon joined: $(ms_since "$t") ms"
check "2: release nic0 on node 3" ctl_ok 3 release nic0
check "2: every node shows the token free" wait_token free - - 1 2 3
# Node 2's hostdev-had found its holder vm-c shut off by the power cut (a
# failure), gave the device up to the holder of the token and rebuilt vm-c
# as a standby: wait for that, then switch to it.
standby_idle() {
	lab_node_run "$1" "$CTL" status nic0 --json 2>/dev/null | jq -e --arg d "$2" \
		'(.operation == null or .operation == "none") and
		 ([.members[] | select(.domain == $d) | .role] == ["standby"])' >/dev/null &&
		lab_node_run "$1" lab_guest_active "$2"
}
check "2: vm-c rebuilt as a standby on node 2, switch nic0 vm-c there succeeds" \
	eval 'lab_wait_for 90 standby_idle 2 vm-c && ctl_ok 2 switch nic0 vm-c'
check "2: every node shows the token held by lab-node2 for vm-c" wait_token held lab-node2 vm-c 1 2 3
check "2: fencing disabled (stonith-enabled=false, set with pcs)" on_node 1 pcs property set stonith-enabled=false
lab_nodes_wait_idle 30
check "2: the fencer still has node 2's old fencing" fenced 2
mark_logs
t=$(date +%s%N)
check "2: node 2 cut off (lab-sw2 down)" ip link set lab-sw2 down
check "2: node 1 sees the token orphaned, its expiry in 65 s" \
	wait_logged 1 "Group 'nic0': its holder, node 2, left the cluster; its token is freed in 65 s"
# asked N: node 1's debug lines with the fencer's answers about node 2.
asked() { log_since 1 | grep -E "Pacemaker's fencer: node 2 last fenced at [0-9]+, entered the ring at [0-9]+"; }
check "2: node 1 asks the fencer about node 2, at least twice" lab_wait_for 30 eval '[ "$(asked | wc -l)" -ge 2 ]'
diag "node 1: $(asked | tail -n 1)"
old_fence_counted() {
	local line when entered
	line=$(asked | tail -n 1)
	when=$(sed -n 's/.*last fenced at \([0-9]*\),.*/\1/p' <<<"$line")
	entered=$(sed -n 's/.*entered the ring at \([0-9]*\)\..*/\1/p' <<<"$line")
	[ -n "$when" ] && [ -n "$entered" ] && [ "$when" -gt 0 ] && [ "$when" -lt "$entered" ]
}
check "2: the fencer's answer is the old fencing, before node 2 entered the ring again" old_fence_counted
check "2: node 1 confirms nothing, the token stays orphaned on nodes 1 and 3" \
	eval '! logged 1 "confirmed fenced" && token_is orphaned lab-node2 vm-c 1 3'
diag "cut -> still orphaned, checked: $(ms_since "$t") ms"
t=$(date +%s%N)
check "2: node 2's link back" ip link set lab-sw2 up
check "2: all three daemons joined and quorate again" lab_wait_for 60 joined 1 2 3
check "2: every node shows the token held by lab-node2 for vm-c" wait_token held lab-node2 vm-c 1 2 3
check "2: still no confirmation, vm-c on node 2 alone holds the device" \
	eval '! logged 1 "confirmed fenced" && holders_are "lab-node2:vm-c"'
diag "link up -> held again: $(ms_since "$t") ms"

kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
check "the device was never on two domains (every node's guests sampled)" \
	eval 'diag "$(wc -l <"$LAB_DIR/samples") samples"; [ ! -s "$LAB_DIR/two-holders" ] || { diag "$(head -n 3 "$LAB_DIR/two-holders")"; false; }'
tap_done
