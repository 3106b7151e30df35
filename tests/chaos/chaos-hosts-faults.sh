# shellcheck shell=bash
# shellcheck disable=SC2154 # lab_hosts_domains, LAB_HOSTS_ALIAS: lab-hosts.sh's
# The chaos lab's faults on two hosts (sourced by chaos-hosts.sh, inside the
# two-host lab of lab-hosts.sh).  Each is chaos_hosts_fault_KIND, KIND one of
# chaos_hosts_fault_kinds with '-' as '_'; it sets chaos_t0 (ms) when it
# does the harm, puts what it hit in chaos_note, and returns; the driver
# then waits until the cluster has settled.  Randomness only from
# chaos-random.sh.
#
# A fault that takes something away gives it back itself after a random
# delay (the power, the link, the daemon, as a person or systemd would); a
# node that Pacemaker fenced meanwhile (stonith-action=off: it stays off) is
# powered on again by the driver's supervisor once Pacemaker has it down
# and clean, as an operator would.

# shellcheck disable=SC2034 # chaos-hosts.sh draws from it
chaos_hosts_fault_kinds=(
	kill-holder-qemu  # SIGKILL of the holder's QEMU, wherever it is
	kill-standby-qemu # SIGKILL of a standby's QEMU, on either host
	power-off-holder  # the holding host powered off, on again 0-20 s later
	cut-network       # a host's link to the other down for 2-15 s
	kill-daemon       # SIGKILL of a host's hostdev-had, started again 0-1.5 s later
	crm-fail-holder   # crm_resource --fail of the promoted instance
	move-site         # crm_resource --move of nic0-site to the other host, --clear once there
)

# chaos_hosts_pick_holder: REPLY "N DOMAIN", the holder seen in libvirt.
chaos_hosts_pick_holder() {
	local h n
	h=$(lab_hosts_holders)
	h=${h%% *}
	n=${h%%:*}
	REPLY="${n#lab-node} ${h#*:}"
}

# chaos_hosts_qemu_kill NODE DOMAIN: back once the node's libvirt has seen
# the QEMU die (lab_qemu_kill on the node), so that the driver never takes
# the state before the crash for a settled one.
chaos_hosts_qemu_kill() {
	lab_hosts_qemu_pid "$1" "$2" >/dev/null || { chaos_note="$chaos_note ($2 has no QEMU)"; return 0; }
	lab_node_run "$1" lab_qemu_kill "$2" || chaos_note="$chaos_note (libvirt did not see $2's QEMU die)"
}

chaos_hosts_fault_kill_holder_qemu() {
	local n d
	chaos_hosts_pick_holder
	read -r n d <<<"$REPLY"
	chaos_note="$d on lab-node$n"
	chaos_t0=$(chaos_now_ms)
	chaos_hosts_qemu_kill "$n" "$d"
}

chaos_hosts_fault_kill_standby_qemu() {
	local h n d standbys=
	h=$(lab_hosts_holders)
	for n in 1 2; do
		for d in ${lab_hosts_domains[$n]}; do
			[ "$h" = "lab-node$n:$d" ] || standbys="$standbys $n:$d"
		done
	done
	chaos_pick "$standbys"
	n=${REPLY%%:*} d=${REPLY#*:}
	chaos_note="$d on lab-node$n"
	chaos_t0=$(chaos_now_ms)
	chaos_hosts_qemu_kill "$n" "$d"
}

chaos_hosts_fault_power_off_holder() {
	local n d
	chaos_hosts_pick_holder
	read -r n d <<<"$REPLY"
	chaos_note="lab-node$n ($d)"
	chaos_t0=$(chaos_now_ms)
	lab_hosts_power off "$n" || chaos_note="$chaos_note (power off failed)"
	chaos_sleep_ms 20000
	# Fenced meanwhile, or not: on again, as the person at the switch would.
	lab_node_is_on "$n" || chaos_hosts_power_on "$n"
}

chaos_hosts_fault_cut_network() {
	local n
	chaos_pick "1 2"
	n=$REPLY
	chaos_note="lab-node$n"
	chaos_t0=$(chaos_now_ms)
	ip link set "lab-sw$n" down 2>/dev/null || chaos_note="$chaos_note (no link)"
	sleep 2
	chaos_sleep_ms 13000
	# Gone with its node when that node was fenced meanwhile.
	ip link set "lab-sw$n" up 2>/dev/null || chaos_note="$chaos_note (fenced meanwhile)"
}

chaos_hosts_fault_kill_daemon() {
	local n
	chaos_pick "1 2"
	n=$REPLY
	chaos_note="lab-node$n"
	chaos_t0=$(chaos_now_ms)
	lab_node_run "$n" lab_daemon_kill
	chaos_sleep_ms 1500
	lab_node_run "$n" lab_daemon_start >/dev/null 2>&1 || chaos_note="$chaos_note (not started again)"
}

chaos_hosts_fault_crm_fail_holder() {
	local inst node
	read -r inst node < <(lab_hosts_placement | awk '$2 == "Promoted" { print $1, $3; exit }')
	chaos_note="${inst:-nothing promoted} on ${node:--}"
	chaos_t0=$(chaos_now_ms)
	lab_node_run "$LAB_NODES_VIEW" crm_resource --fail -r "$inst" -N "$node" >/dev/null 2>&1 ||
		chaos_note="$chaos_note (crm_resource --fail failed)"
}

# chaos_hosts_site_on NODE: nic0-site started on NODE.
chaos_hosts_site_on() {
	[ "$(lab_hosts_placement | awk '$1 == "nic0-site" && $2 == "Started" { print $3 }')" = "$1" ]
}

# As docs/pacemaker.md moves the group to the other host on purpose.
chaos_hosts_fault_move_site() {
	local from to
	from=$(lab_hosts_placement | awk '$1 == "nic0-site" && $2 == "Started" { print $3 }')
	to=lab-node$((3 - ${from#lab-node}))
	chaos_note="from $from to $to"
	chaos_t0=$(chaos_now_ms)
	lab_node_run "$LAB_NODES_VIEW" crm_resource --move -r nic0-site -N "$to" >/dev/null 2>&1 ||
		chaos_note="$chaos_note (crm_resource --move failed)"
	lab_wait_for 120 chaos_hosts_site_on "$to" || chaos_note="$chaos_note (not there after 120 s)"
	lab_node_run "$LAB_NODES_VIEW" crm_resource --clear -r nic0-site >/dev/null 2>&1 ||
		chaos_note="$chaos_note (crm_resource --clear failed)"
}
