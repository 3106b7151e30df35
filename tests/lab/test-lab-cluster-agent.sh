#!/bin/bash
# ocf:hostdev-ha:hostdev on a cluster of two nodes with fencing on
# (lab-nodes.sh, fence_lab): node 1 has the group (its bus, libvirtd, guests
# vm-a and vm-b, hostdev-had in policy pacemaker), node 2 only Pacemaker and
# the agent, no hostdev-had.  The clone made with the documented lines of
# docs/pacemaker.md, then the documented lines for several nodes (location
# constraint with resource-discovery=exclusive, fencing on), node 2 in
# standby meanwhile as the document says, so that nothing is placed there
# before the constraint (it is still probed).  Checked: node 1 runs the group (one promoted, its
# domain holding the device, the other a standby) while node 2's probes
# answer "not running" and nothing fails; node 2 fenced and powered on: the
# group undisturbed (same generation, same holder); the active guest's QEMU
# killed: the standby promoted, the device on it alone; node 1 fenced: node
# 2 runs nothing of the group, and with node 1 powered on again (its
# services from its boot list) the group is back, one promoted, one standby.
# LAB_PCMK_TOOL=crm: the crm lines (test-lab-cluster-agent-crm.sh).  A
# sampler reads every node's guests throughout: the device is never on two
# domains.  Durations are printed, never asserted.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"

tool=${LAB_PCMK_TOOL:-pcs}
alias=ua-hostdev-nic0
docs=$LAB_HOME/../../docs/pacemaker.md

teardown() {
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
	lab_nodes_stop
}
trap teardown EXIT

# Pacemaker's view, from node $view (1 unless node 1 is off).
view=1
mon() { lab_node_run "$view" lab_cluster_mon --output-as=xml 2>/dev/null; }
# placement: "INSTANCE ROLE NODE" a line for each instance of the clone
# (NODE "-" for a stopped one).
placement() {
	mon | awk '/<resource id="nic0:[0-9]+"/ {
			if (id != "") print id, role, "-"
			match($0, /id="[^"]*"/); id = substr($0, RSTART + 4, RLENGTH - 5)
			match($0, /role="[^"]*"/); role = substr($0, RSTART + 6, RLENGTH - 7)
			if ($0 ~ /\/>/) { print id, role, "-"; id = "" }
			next }
		id != "" && /<node name=/ { match($0, /name="[^"]*"/); print id, role, substr($0, RSTART + 6, RLENGTH - 7); id = "" }
		id != "" && /<\/resource>/ { print id, role, "-"; id = "" }'
}
# instances ROLE [NODE]: the instances in ROLE (on NODE), space-separated.
instances() {
	placement | awk -v r="$1" -v n="${2:-}" '$2 == r && (n == "" || $3 == n) { print $1 }' | sort | xargs
}
promoted() { instances Promoted lab-node1; }
failures() { mon | grep -c '<failure '; }
no_failure() {
	local f
	f=$(mon | grep '<failure ')
	[ -z "$f" ] || { diag "failed: $f"; return 1; }
}
# failed_only INSTANCE NODE: the one failure recorded is INSTANCE's on NODE.
failed_only() {
	local f
	f=$(mon | grep '<failure ')
	diag "failures: $f"
	[ "$(grep -c . <<<"$f")" = 1 ] && grep -q "op_key=\"$1_[a-z]*_[0-9]*\" node=\"$2\"" <<<"$f"
}
# on_node2: the instances Pacemaker has running on node 2.
on_node2() { placement | awk '$3 == "lab-node2" { print $1 }' | xargs; }

domain_of() { case $1 in nic0:0) echo vm-a ;; nic0:1) echo vm-b ;; *) return 1 ;; esac; }
instance_of() { case $1 in vm-a) echo nic0:0 ;; vm-b) echo nic0:1 ;; esac; }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
# The group as node 1's hostdev-had has it.
holder() { lab_node_run 1 lab_daemon_get nic0 Active 2>/dev/null | sed 's/^s "\(.*\)"$/\1/'; }
generation() { lab_node_run 1 lab_daemon_get nic0 Generation 2>/dev/null; }
role() { lab_node_run 1 lab_daemon_get nic0 Members 2>/dev/null | grep -o "\"$1\" \"[a-z]*\"" | cut -d'"' -f4; }

# settled DOMAIN: DOMAIN's instance promoted on node 1, the other one
# unpromoted there; hostdev-had has the device on DOMAIN; read on every
# node, DOMAIN alone holds it.
settled() {
	local d=$1 o h
	o=$(other "$1")
	lab_wait_for 60 eval '[ "$(promoted)" = "$(instance_of "$d")" ] && [ "$(instances Unpromoted lab-node1)" = "$(instance_of "$o")" ]' ||
		{ diag "placement: $(placement | xargs), expected $d promoted on lab-node1"; return 1; }
	lab_wait_for 30 eval '[ "$(holder)" = "$d" ]' || { diag "holder '$(holder)', expected $d"; return 1; }
	h=$(lab_nodes_device_holders --alias "$alias" vm-a vm-b)
	[ "$h" = "lab-node1:$d" ] || { diag "device on '$h', expected lab-node1:$d"; return 1; }
}

# clone_ops N: node N's record of the clone's operations, as Pacemaker
# has it (seen from node $view): "OPERATION_KEY RC" a line.
clone_ops() {
	lab_node_run "$view" cibadmin --query --scope status 2>/dev/null |
		awk -v n="lab-node$1" '/<node_state / { on = ($0 ~ "uname=\"" n "\"") }
			on && /<lrm_rsc_op / && /operation_key="nic0:/ {
				match($0, /operation_key="[^"]*"/); k = substr($0, RSTART + 15, RLENGTH - 16)
				match($0, /rc-code="[^"]*"/); print k, substr($0, RSTART + 9, RLENGTH - 10) }' | sort
}
# probed_not_running N: node N's record of both instances is one probe
# each, answered 7 (not running), and nothing else.
probed_not_running() {
	local ops
	ops=$(clone_ops "$1" | xargs)
	diag "node $1's operations of the clone: ${ops:-none}"
	[ "$ops" = "nic0:0_monitor_0 7 nic0:1_monitor_0 7" ]
}
# probes_only N: node N has run no operation of the clone but probes that
# found it not running (none at all once it rejoined: with the location's
# resource-discovery=exclusive, a node that rejoins is not probed again).
probes_only() {
	local ops
	ops=$(clone_ops "$1")
	diag "node $1's operations of the clone: $(echo "${ops:-none}" | xargs)"
	[ -z "$ops" ] || ! grep -v -q -E '^nic0:[0-9]+_monitor_0 7$' <<<"$ops"
}

# The documented lines between <!-- TOOL-begin --> and <!-- TOOL-end -->,
# run on node 1, host1 being node 1.
doc_lines() {
	local cmd
	cmd=$(sed -n "/<!-- $1-begin -->/,/<!-- $1-end -->/p" "$docs" | grep -v -e '^<!--' -e '^```' | sed 's/host1/lab-node1/g')
	[ -n "$cmd" ] || { diag "no $1 lines in $docs"; return 1; }
	diag "running: $cmd"
	on_node 1 bash -c "$cmd"
}

if [ "$tool" = pcs ]; then
	fence_device() { on_node 1 pcs stonith create fence-lab fence_lab pcmk_host_list="lab-node1 lab-node2"; }
else
	fence_device() { on_node 1 crm configure primitive fence-lab stonith:fence_lab params pcmk_host_list="lab-node1 lab-node2"; }
fi
device_started() {
	mon | grep -q '<resource id="fence-lab" resource_agent="stonith:fence_lab" role="Started"'
}
# fenced_by V N: node V's fencer records a successful "off" of node N.
fenced_by() {
	lab_node_run "$1" stonith_admin --history "lab-node$2" --output-as=xml 2>/dev/null |
		grep -q "<fence_event [^>]*action=\"off\" target=\"lab-node$2\"[^>]*status=\"success\""
}
gone() { [ -z "$(lab_node_procs "$1")" ] && ! lab_node_is_on "$1"; }
kill_corosync() { lab_node_run "$1" eval 'kill -KILL "$(cat "$LAB_CLUSTER_DIR/corosync.pid")"'; }
power_on() {
	printf 'action=on\nport=lab-node%s\n' "$1" | fence_lab >"$LAB_DIR/fence.out" 2>&1 ||
		{ diag "$(cat "$LAB_DIR/fence.out")"; return 1; }
}

# The device on two domains, ever (every node's guests read; a move seen
# between two reads is not counted: only in two samples in a row).
sample() {
	local h last=
	while :; do
		h=$(lab_nodes_device_holders --alias "$alias" vm-a vm-b 2>/dev/null)
		case $h in
		*" "*) [ -n "$last" ] && echo "$(date +%T.%3N) $h" >>"$LAB_DIR/two-holders"; last=1 ;;
		*) last= ;;
		esac
		echo x >>"$LAB_DIR/samples"
		sleep 0.2
	done
}

# --- Two nodes, fencing on; node 1 the group's host, node 2 the agent alone.
t=$(date +%s%N)
failures_before=$tap_failures
check "2 nodes online" lab_nodes_start 2
diag "2 nodes online in $(ms_since "$t") ms"
bail_out_unless_passed "the 2 nodes did not come online"
node1_services() {
	lab_node_run 1 lab_bus_start && lab_node_run 1 lab_libvirt_start &&
		lab_node_run 1 lab_guest_define vm-a && lab_node_run 1 lab_guest_define vm-b &&
		lab_node_run 1 lab_daemon_group nic0 pacemaker vm-a vm-b &&
		lab_node_run 1 lab_daemon_start && lab_node_run 1 lab_agent_install &&
		printf '%s\n' lab_bus_start lab_libvirt_start lab_daemon_start lab_agent_install >"$LAB_DIR/node1/boot"
}
node2_services() {
	lab_node_run 2 lab_agent_install && echo lab_agent_install >"$LAB_DIR/node2/boot"
}
t=$(date +%s%N)
failures_before=$tap_failures
check "node 1: bus, libvirtd, vm-a and vm-b defined, hostdev-had (policy pacemaker), the agent" node1_services
check "node 2: the agent, no hostdev-had" eval 'node2_services && ! lab_node_run 2 test -e /run/hostdev-ha'
diag "services up in $(ms_since "$t") ms"
check "fence device created with $tool" fence_device
check "the fence device starts" lab_wait_for 30 device_started
bail_out_unless_passed "the nodes' services or the fence device did not start"
# Node 2 in standby while the clone has no location yet, as the document
# says: its instances are probed there, not placed there.
check "node 2 in standby" on_node 1 crm_standby --node lab-node2 --update on
lab_nodes_wait_idle 30

sampler=
sample &
sampler=$!

t=$(date +%s%N)
check "clone created with the documented $tool lines" doc_lines "$tool"
check "one instance promoted on node 1" lab_wait_for 90 eval '[ -n "$(promoted)" ]'
diag "clone created -> promoted in $(ms_since "$t") ms: $(promoted)"
first=$(domain_of "$(promoted)")
check "$first holds the device alone, the other a standby" settled "$first"
lab_nodes_wait_idle 60
check "node 2 probed both instances: not running (7), nothing else" probed_not_running 2
check "the documented $tool lines for several nodes apply" doc_lines "$tool-cluster"
check "node 2 out of standby" on_node 1 crm_standby --node lab-node2 --update off
lab_nodes_wait_idle 60

# 1. The group's host runs it; node 2 runs nothing of it, fails nothing.
check "1: node 1 runs the group: $first promoted, holding the device; the other a standby" settled "$first"
check "1: node 2 runs no instance" eval '[ -z "$(on_node2)" ]'
check "1: node 2's probe results: not running" probed_not_running 2
check "1: no failed action" no_failure
gen=$(generation)
diag "generation $gen, holder $(holder)"

# 2. Node 2 lost (its Corosync killed), fenced by node 1 through fence_lab,
# powered on again: the group undisturbed.
t=$(date +%s%N)
check "2: node 2's Corosync killed" kill_corosync 2
check "2: node 1 fences node 2" lab_wait_for 60 fenced_by 1 2
diag "kill -> node 2 fenced: $(ms_since "$t") ms"
check "2: node 2 powered off: no process of it left" gone 2
check "2: Pacemaker has node 2 down and clean, nothing pending" lab_wait_for 60 lab_nodes_down 2
check "2: the group undisturbed: $first promoted, holds the device" settled "$first"
t=$(date +%s%N)
check "2: node 2 powered on" power_on 2
check "2: node 2 rejoins" lab_wait_for 60 lab_nodes_online 1 2
diag "power on -> node 2 online: $(ms_since "$t") ms"
lab_nodes_wait_idle 60
check "2: the group undisturbed: $first promoted, holds the device" settled "$first"
check "2: node 2 runs no instance" eval '[ -z "$(on_node2)" ]'
check "2: node 2 started nothing of the group, probed it at most" probes_only 2
check "2: the device did not move (generation $gen)" eval '[ "$(generation)" = "$gen" ]'
check "2: no failed action" no_failure

# 3. A VM crash on the group's host: the active guest's QEMU killed.
h=$first o=$(other "$first")
lab_wait_for 90 lab_node_run 1 lab_console_has "$h" '^READY$'
lab_wait_for 90 lab_node_run 1 lab_console_has "$o" '^READY$'
t=$(date +%s%N)
check "3: SIGKILL of $h's QEMU" lab_node_run 1 eval 'kill -KILL "$(cat "/run/libvirt/qemu/'"$h"'.pid")"'
check "3: Pacemaker promotes $o" lab_wait_for 60 eval '[ "$(promoted)" = "$(instance_of "$o")" ]'
diag "kill -> $o promoted: $(ms_since "$t") ms"
check "3: $o holds the device alone" \
	eval 'lab_wait_for 30 eval "[ \"\$(holder)\" = $o ]" && [ "$(lab_nodes_device_holders --alias "$alias" vm-a vm-b)" = "lab-node1:$o" ]'
check "3: $h deactivated, its instance stopped" \
	eval 'lab_wait_for 30 eval "[ \"\$(role $h)\" = deactivated ]" && [ "$(instances Stopped)" = "$(instance_of "$h")" ]'
check "3: node 2 runs no instance" eval '[ -z "$(on_node2)" ]'
check "3: the one failure recorded is $h's instance's, on node 1" failed_only "$(instance_of "$h")" lab-node1
# The failure recorded; cleaned up, the failed instance is a standby again.
on_node 1 crm_resource --cleanup -r nic0-clone
check "3: cleaned up, $h a standby again" settled "$o"
lab_nodes_wait_idle 60
check "3: no failed action left" no_failure

# 4. The group's host lost (its Corosync killed): node 2 fences it through
# fence_lab and promotes nothing; powered on, its services from its boot
# list, node 1 runs the group again.
view=2 LAB_NODES_VIEW=2
lab_wait_for 90 lab_node_run 1 lab_console_has "$h" '^READY$'
t=$(date +%s%N)
check "4: node 1's Corosync killed" kill_corosync 1
check "4: node 2 fences node 1" lab_wait_for 60 fenced_by 2 1
diag "kill -> node 1 fenced: $(ms_since "$t") ms"
check "4: node 1 powered off: no process of it left (its guests with it)" gone 1
check "4: Pacemaker has node 1 down and clean, nothing pending" lab_wait_for 60 lab_nodes_down 1
check "4: nothing of the group runs: every instance stopped, none on node 2" \
	eval '[ "$(instances Stopped)" = "nic0:0 nic0:1" ] && [ -z "$(on_node2)" ]'
check "4: node 2 started nothing of the group, probed it at most" probes_only 2
check "4: no failed action" no_failure
t=$(date +%s%N)
check "4: node 1 powered on, its services with it" power_on 1
check "4: node 1 rejoins" lab_wait_for 60 lab_nodes_online 1 2
diag "power on -> node 1 online: $(ms_since "$t") ms"
view=1 LAB_NODES_VIEW=1
check "4: one instance promoted on node 1" lab_wait_for 90 eval '[ -n "$(promoted)" ]'
diag "power on -> promoted: $(ms_since "$t") ms: $(promoted)"
check "4: the group as it was: one promoted holding the device, one standby" settled "$(domain_of "$(promoted)")"
lab_nodes_wait_idle 60
check "4: node 2 runs no instance" eval '[ -z "$(on_node2)" ]'
check "4: no failed action" no_failure

kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
check "the device was never on two domains (every node's guests sampled)" \
	eval 'diag "$(wc -l <"$LAB_DIR/samples") samples"; [ ! -s "$LAB_DIR/two-holders" ] || { diag "$(head -n 3 "$LAB_DIR/two-holders")"; false; }'
tap_done
