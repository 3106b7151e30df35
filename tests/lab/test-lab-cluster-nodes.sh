#!/bin/bash
# Clusters of several nodes on one machine, with fencing on (lab-nodes.sh):
# two nodes come online; a fence device, fence_lab, created with pcs and
# started; node 2 runs a bus, libvirtd, a guest and hostdev-had of its own,
# node 1 a libvirtd and a guest of the same name, holding the stand-in
# device; node 2 fenced with stonith_admin --fence: every process of its
# namespaces gone (its guest's QEMU too), node 1 alone and quorate
# (two_node), its guest running with the device; powered on through the
# agent (action=on), it rejoins, its services back; with
# stonith-action=reboot, node 2's Corosync killed: Pacemaker reboots it
# through the switch and it rejoins.  Then three nodes, the device created
# with crm (stonith-action=off, the lab's default): node 3's Corosync
# killed, Pacemaker fences it (its processes gone, and it stays off), nodes
# 1 and 2 stay quorate; powered on, it rejoins.  Durations are printed,
# never asserted.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"

teardown() { lab_nodes_stop; }
trap teardown EXIT

# fenced N ACTION: node 1's fencer records a successful ACTION of lab-nodeN.
fenced() {
	lab_node_run 1 stonith_admin --history "lab-node$1" --output-as=xml 2>/dev/null |
		grep -q "<fence_event [^>]*action=\"$2\" target=\"lab-node$1\"[^>]*status=\"success\""
}

# gone N: node N is off and not one process of its namespaces is left.
gone() {
	local left
	left=$(lab_node_procs "$1")
	[ -z "$left" ] || { diag "node $1 still has processes: $left"; return 1; }
	! lab_node_is_on "$1"
}

# quorate N: node N's Corosync says the cluster is quorate.
quorate() { lab_node_run "$1" corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes'; }

# device_started: the fence device runs (its monitor passed) on some node.
device_started() {
	lab_node_run 1 lab_cluster_mon --output-as=xml 2>/dev/null |
		grep -q '<resource id="fence-lab" resource_agent="stonith:fence_lab" role="Started"'
}

# power_on N: the agent's "on", as an operator at the switch.
power_on() {
	printf 'action=on\nport=lab-node%s\n' "$1" | fence_lab >"$LAB_DIR/fence.out" 2>&1 ||
		{ diag "$(cat "$LAB_DIR/fence.out")"; return 1; }
}

# power_mark: remember where the switch's log ends.
power_mark() { power_from=$(($(wc -l <"$LAB_DIR/power/log") + 1)); }
power_from=1
# power_times NODE ACTION: how long the switch's first ACTION of NODE since
# the mark took.
power_times() {
	awk -v n="$1" -v a="$2" -v from="$power_from" 'NR >= from && $2 == n && $3 == a && $4 == "begin" && !b { b = $1 }
		NR >= from && $2 == n && $3 == a && $4 == "end" && !e { e = $1 } END { printf "%d", (e - b) / 1000000 }' "$LAB_DIR/power/log"
}
# power_count NODE ACTION: how many times since the mark.
power_count() {
	awk -v n="$1" -v a="$2" -v from="$power_from" 'NR >= from && $2 == n && $3 == a && $4 == "begin" { c++ }
		END { printf "%d", c }' "$LAB_DIR/power/log"
}

# --- Two nodes.
t=$(date +%s%N)
failures_before=$tap_failures
check "2 nodes online" lab_nodes_start 2
diag "2 nodes online in $(ms_since "$t") ms"
bail_out_unless_passed "the 2 nodes did not come online"
check "each node has its own hostname and Corosync address" \
	eval '[ "$(lab_node_run 2 cat /proc/sys/kernel/hostname)" = lab-node2 ] && lab_node_run 2 corosync-cfgtool -s | grep -q "10.99.0.2"'
check "fencing enabled, a fenced node stays off" \
	eval '[ "$(lab_node_run 1 crm_attribute -t crm_config -n stonith-enabled -q -G)" = true ] &&
		[ "$(lab_node_run 1 crm_attribute -t crm_config -n stonith-action -q -G)" = off ]'
check "fence device created with pcs" \
	on_node 1 pcs stonith create fence-lab fence_lab pcmk_host_list="lab-node1 lab-node2"
check "the fence device starts" lab_wait_for 30 device_started
check "the agent lists both nodes" eval '[ "$(echo action=list | lab_node_run 2 fence_lab | tr "\n" " ")" = "lab-node1, lab-node2, " ]'
check "the agent's status of node 2: on" eval 'printf "action=status\nport=lab-node2\n" | lab_node_run 1 fence_lab'
lab_nodes_wait_idle 30

# Node 2's own services, with the lab's functions run there: a bus, libvirtd,
# a running guest and hostdev-had; the bus, libvirtd and hostdev-had are
# started again at power on (its boot list), the guest is not.  Node 1 runs a
# libvirtd and a guest of the same name beside it, in cgroups of its own, and
# the stand-in device, found there by reading every node's guests.
node2_services() {
	lab_node_run 2 lab_bus_start && lab_node_run 2 lab_libvirt_start &&
		lab_node_run 2 lab_guest_define vm-a && lab_node_run 2 lab_guest_define vm-b &&
		lab_node_run 2 lab_guest_start vm-a &&
		lab_node_run 2 lab_daemon_group nic0 manual vm-a vm-b &&
		lab_node_run 2 lab_daemon_start &&
		printf '%s\n' lab_bus_start lab_libvirt_start lab_daemon_start >"$LAB_DIR/node2/boot"
}
# qemu_of N: the lab's pid of node N's QEMU.
qemu_of() {
	local p
	for p in $(lab_node_procs "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = qemu-system-x86 ] && echo "$p"
	done
}
t=$(date +%s%N)
check "node 2 runs its own bus, libvirtd, guest vm-a and hostdev-had" node2_services
diag "node 2's services up in $(ms_since "$t") ms"
check "vm-a's QEMU is one of node 2's processes" eval '[ -n "$(qemu_of 2)" ]'
t=$(date +%s%N)
check "node 1 runs its own libvirtd and a guest of the same name" \
	eval 'lab_node_run 1 lab_libvirt_start && lab_node_run 1 lab_guest_define vm-a && lab_node_run 1 lab_guest_start vm-a'
diag "node 1's libvirtd and guest up in $(ms_since "$t") ms"
check "node 1 sees neither node 2's bus nor its domains" \
	eval '! lab_node_run 1 test -S /run/dbus/system_bus_socket && [ "$(lab_node_run 1 virsh list --all --name | xargs)" = vm-a ] &&
		[ "$(lab_node_run 2 virsh list --all --name | xargs)" = "vm-a vm-b" ]'
check "each vm-a's QEMU in its own node's cgroups" \
	eval 'grep -q ":/lab-node1/machine/" "/proc/$(qemu_of 1)/cgroup" && grep -q ":/lab-node2/machine/" "/proc/$(qemu_of 2)/cgroup"'
check "the stand-in device attached to node 1's vm-a" lab_node_run 1 lab_device_attach vm-a
check "read on every node, it is on node 1's vm-a alone" eval '[ "$(lab_nodes_device_holders vm-a vm-b)" = lab-node1:vm-a ]'
diag "node 2 runs $(lab_node_procs 2 | wc -l) processes"

power_mark
t=$(date +%s%N)
check "stonith_admin --fence lab-node2 from node 1" on_node 1 stonith_admin --fence lab-node2 --timeout 60
diag "stonith_admin --fence: $(ms_since "$t") ms (the switch's off: $(power_times lab-node2 off) ms)"
check "node 2 powered off: no process of it left" gone 2
check "the fencer's history has it" fenced 2 off
# Pacemaker may add a fencing of its own (off, harmless): over before what
# follows (see lab_nodes_down).
check "Pacemaker has node 2 down and clean, nothing pending" lab_wait_for 60 lab_nodes_down 2
diag "node 2 powered off $(power_count lab-node2 off) time(s): Pacemaker adds its own when it sees node 2 leave first"
check "the agent's status of node 2: off (2)" \
	eval 'printf "action=status\nport=lab-node2\n" | lab_node_run 1 fence_lab; [ $? = 2 ]'
check "node 1 alone, quorate" eval 'quorate 1 && lab_nodes_online 1 && ! lab_nodes_online 2'
check "node 1's vm-a runs on, with the device" eval '[ "$(lab_nodes_device_holders vm-a vm-b)" = lab-node1:vm-a ]'
power_mark
t=$(date +%s%N)
check "node 2 powered on by the agent" power_on 2
check "node 2 rejoins" lab_wait_for 60 lab_nodes_online 1 2
diag "power on (the switch, with node 2's services: $(power_times lab-node2 on) ms) -> node 2 online: $(ms_since "$t") ms"
check "node 2's hostdev-had is back on its bus" lab_node_run 2 lab_daemon_owns_name
check "node 2's libvirtd is back, vm-a shut off by the power cut" \
	eval 'lab_node_run 2 lab_libvirt_answers && ! lab_node_run 2 lab_guest_active vm-a'
lab_nodes_wait_idle 60

# Node 2 lost (its Corosync killed) and fenced by Pacemaker itself, with
# stonith-action=reboot: powered off and on by the switch, it rejoins.
# shellcheck disable=SC2034 # read by a check's eval
boots=$(lab_node_boots 2)
check "stonith-action=reboot, set with pcs" on_node 1 pcs property set stonith-action=reboot
lab_nodes_wait_idle 30
power_mark
t=$(date +%s%N)
check "node 2's Corosync killed" lab_node_run 2 eval 'kill -KILL "$(cat "$LAB_CLUSTER_DIR/corosync.pid")"'
check "Pacemaker reboots node 2 through the switch" \
	lab_wait_for 60 eval 'tail -n +"$power_from" "$LAB_DIR/power/log" | grep -q " lab-node2 reboot end 0$"'
diag "kill -> node 2 rebooted: $(ms_since "$t") ms (the switch's reboot: $(power_times lab-node2 reboot) ms)"
check "node 1's fencer did it" lab_wait_for 30 \
	grep -q "Operation .reboot. targeting lab-node2 by lab-node1 for pacemaker-controld.*: OK" "$LAB_DIR/node1/cluster/var-log-pacemaker/pacemaker.log"
check "node 2 was powered off and on again" eval 'lab_node_is_on 2 && [ "$(lab_node_boots 2)" = $((boots + 1)) ]'
check "node 2 rejoins after the reboot" lab_wait_for 60 lab_nodes_online 1 2
diag "kill -> node 2 online again: $(ms_since "$t") ms"
check "both nodes quorate" eval 'quorate 1 && quorate 2'
check "all nodes powered off" lab_nodes_stop

# --- Three nodes: one lost, the two others keep quorum and fence it.
t=$(date +%s%N)
failures_before=$tap_failures
check "3 nodes online" lab_nodes_start 3
diag "3 nodes online in $(ms_since "$t") ms"
bail_out_unless_passed "the 3 nodes did not come online"
check "fence device created with crm" \
	on_node 1 crm configure primitive fence-lab stonith:fence_lab params pcmk_host_list="lab-node1 lab-node2 lab-node3"
check "the fence device starts" lab_wait_for 30 device_started
lab_nodes_wait_idle 30
power_mark
t=$(date +%s%N)
check "node 3's Corosync killed" lab_node_run 3 eval 'kill -KILL "$(cat "$LAB_CLUSTER_DIR/corosync.pid")"'
check "Pacemaker fences node 3" lab_wait_for 60 fenced 3 off
diag "kill -> node 3 fenced: $(ms_since "$t") ms (the switch's off: $(power_times lab-node3 off) ms)"
check "node 3 powered off: no process of it left" gone 3
check "Pacemaker has node 3 down and clean, nothing pending" lab_wait_for 60 lab_nodes_down 3
check "nodes 1 and 2 quorate, online" eval 'quorate 1 && quorate 2 && lab_nodes_online 1 2 && ! lab_nodes_online 3'
t=$(date +%s%N)
check "node 3 powered on" power_on 3
check "node 3 rejoins" lab_wait_for 60 lab_nodes_online 1 2 3
diag "power on -> node 3 online: $(ms_since "$t") ms"
check "all three quorate" eval 'quorate 1 && quorate 2 && quorate 3'
tap_done
