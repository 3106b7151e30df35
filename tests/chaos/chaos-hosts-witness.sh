# shellcheck shell=bash
# shellcheck disable=SC2154 # lab_hosts_domains, LAB_HOSTS_ALIAS: lab-hosts.sh's
# The chaos lab's witnesses on two hosts (sourced by chaos-hosts.sh, after
# chaos-witness.sh and lab-hosts.sh): the one-host witnesses' judgement, fed
# with every node's guests, so that the device on two guests anywhere in
# the cluster is a violation.
#
#   chaos_hosts_witness_start  both witnesses in the background, from now on
#   chaos_hosts_witness_stop   both stopped (idempotent); then the events of
#                              every node merged into $CHAOS_OUT/events
#
# Then chaos_witness_events and chaos_witness_samples judge as on one host,
# with the group nic0's members being every node's domains.
#
# Events: chaos-witness.sh's event loop once per node, on that node's
# libvirtd (its socket on the node's disk, the same after a power cycle),
# into $CHAOS_OUT/nodeN/events: a stream per libvirtd, each after a
# snapshot of the node's guests, a new one whenever the node's libvirtd
# answers again.  Merged in time order: every event at the time virsh
# stamped it (one clock for the whole machine), and every power-off of a
# node (the power switch's log: every fencing and every fault goes through
# it) as a snapshot with none of that node's guests holding the device, as
# the node's libvirtd, killed with it, says nothing more.
#
# Samples: every node's guests read with one virsh call per node
# (lab_hosts_holders), over and over: "MS POLL nic0 HOLDERS" as on one host.

chaos_hosts_witness_pids=()

chaos_hosts_sample_loop() {
	local h
	until [ -e "$CHAOS_OUT/witness.stop" ]; do
		h=$(lab_hosts_holders | sed 's/lab-node[0-9]*://g')
		h=${h// /,}
		echo "$(chaos_now_ms) POLL nic0 ${h:--}" >>"$CHAOS_OUT/samples"
		sleep 0.05
	done
}

chaos_hosts_witness_start() {
	local n
	rm -f "$CHAOS_OUT/witness.stop"
	: >"$CHAOS_OUT/samples"
	export -f chaos_event_loop chaos_stamp chaos_now_ms chaos_snapshot chaos_live chaos_alias \
		lab_libvirt_answers lab_alive
	for n in 1 2; do
		mkdir -p "$CHAOS_OUT/node$n"
		: >"$CHAOS_OUT/node$n/events"
		# The node's domains as the group's members, its libvirtd as virsh's.
		# shellcheck disable=SC2016 # expanded by the child
		LAB_LIBVIRT_URI=$(lab_hosts_uri "$n") LIBVIRT_DEFAULT_URI=$(lab_hosts_uri "$n") \
			CHAOS_OUT=$CHAOS_OUT/node$n chaos_groups=nic0 CHAOS_NODE_DOMAINS=${lab_hosts_domains[$n]} \
			setsid bash -c 'chaos_members() { echo "$CHAOS_NODE_DOMAINS"; }; export -f chaos_members; chaos_event_loop' \
			</dev/null >/dev/null 2>>"$CHAOS_OUT/witness.err" &
		chaos_hosts_witness_pids+=($!)
	done
	chaos_hosts_sample_loop </dev/null >/dev/null 2>>"$CHAOS_OUT/witness.err" &
	chaos_hosts_witness_pids+=($!)
}

# chaos_hosts_events_merge: every node's events and the power-offs in time
# order, in $CHAOS_OUT/events.
chaos_hosts_events_merge() {
	local n
	{
		for n in 1 2; do
			# "MS 2026-12-01 17:20:11.123+0000: event ...": MS becomes virsh's time.
			gawk '$2 ~ /^[0-9]+-[0-9]+-[0-9]+$/ && $3 ~ /^[0-9:.]+\+0000:$/ {
					split($2 " " substr($3, 1, 12), t, /[-: .]/)
					ms = mktime(t[1] " " t[2] " " t[3] " " t[4] " " t[5] " " t[6], 1) * 1000 + t[7]
					$0 = ms substr($0, length($1) + 1)
				}
				{ print }' "$CHAOS_OUT/node$n/events"
		done
		# "NS lab-nodeN off end 0" (reboot too): that node's guests hold nothing.
		gawk -v d1="${lab_hosts_domains[1]}" -v d2="${lab_hosts_domains[2]}" -v a="$LAB_HOSTS_ALIAS" '
			$3 ~ /^(off|reboot)$/ && $4 == "end" && $5 == 0 {
				n = split(($2 == "lab-node1" ? d1 : d2), d, " ")
				for (i = 1; i <= n; i++) printf "%d SNAP %s %s free\n", $1 / 1000000, d[i], a
			}' "$LAB_POWER_DIR/log"
	} | sort -s -n -k1,1 >"$CHAOS_OUT/events"
}

chaos_hosts_witness_stop() {
	local p
	[ "${#chaos_hosts_witness_pids[@]}" -gt 0 ] || return 0
	touch "$CHAOS_OUT/witness.stop"
	for p in "${chaos_hosts_witness_pids[@]}"; do
		kill -- "-$p" 2>/dev/null
	done
	wait "${chaos_hosts_witness_pids[@]}" 2>/dev/null
	chaos_hosts_witness_pids=()
	chaos_hosts_events_merge
}
