#!/bin/bash
# The chaos lab's witnesses on two hosts judge rightly: each node's libvirt
# event stream and the power switch's log written here, merged by
# chaos_hosts_events_merge and judged by chaos_witness_events, with the
# violations known (no lab needed: the merge and the checker read files).
set -u
top=${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lab/tap.sh
. "$top/tests/lab/tap.sh"
# shellcheck source=tests/chaos/chaos-witness.sh
. "$top/tests/chaos/chaos-witness.sh"
# shellcheck source=tests/chaos/chaos-hosts-witness.sh
. "$top/tests/chaos/chaos-hosts-witness.sh"

# As lab-hosts.sh and chaos-hosts.sh have them.
declare -A lab_hosts_domains=([1]="vm-a1 vm-a2" [2]="vm-b1 vm-b2")
LAB_HOSTS_ALIAS=ua-hostdev-nic0
chaos_groups=nic0
chaos_members() { echo "${lab_hosts_domains[1]} ${lab_hosts_domains[2]}"; }
chaos_alias() { echo "$LAB_HOSTS_ALIAS"; }
CHAOS_OUT=$(mktemp -d)
LAB_POWER_DIR=$CHAOS_OUT/power
mkdir -p "$CHAOS_OUT/node1" "$CHAOS_OUT/node2" "$LAB_POWER_DIR"
trap 'rm -rf "$CHAOS_OUT"' EXIT

# The events' times of day (virsh's, UTC) as ms since the epoch.
t0=$(TZ=UTC date -d '2026-12-01 16:13:58' +%s)000

# ev ARRIVAL_MS VIRSH_MS_AFTER_T0 KIND DOMAIN DETAIL: a line of a stream.
ev() {
	printf "%s 2026-12-01 16:13:%02d.%03d+0000: event '%s' for domain '%s': %s\n" \
		"$1" $((58 + $2 / 1000)) $(($2 % 1000)) "$3" "$4" "$5"
}
# node N LINES...: node N's stream.
node() {
	local n=$1
	shift
	printf '%s\n' "$@" >"$CHAOS_OUT/node$n/events"
}
# power LINES...: the power switch's log.
power() { printf '%s\n' "$@" >"$LAB_POWER_DIR/log"; }
judge() {
	chaos_hosts_events_merge
	chaos_witness_events
}
is() {
	[ "$1" = "$2" ] && return 0
	diag "expected: ${1:-(nothing)}"
	diag "got:      ${2:-(nothing)}"
	return 1
}

# Arrival stamps out of order across the nodes (node 1's reader late): the
# merge orders by virsh's times.
node 1 "$(ev $((t0 + 5000)) 0 device-added vm-a1 ua-hostdev-nic0)" \
	"$(ev $((t0 + 9000)) 100 device-removed vm-a1 ua-hostdev-nic0)"
node 2 "$(ev $((t0 + 400)) 300 device-added vm-b1 ua-hostdev-nic0)"
power ""
check "a move across hosts is no violation, whatever order the readers saw it in" is "" "$(judge)"

node 2 "$(ev $((t0 + 50)) 50 device-added vm-b1 ua-hostdev-nic0)"
check "an add on host 2 while a guest of host 1 holds the device is a violation" \
	is "$((t0 + 50)) ua-hostdev-nic0 device-added to vm-b1 while vm-a1 holds it" "$(judge)"

node 1 "$(ev $((t0 + 10)) 0 device-added vm-a1 ua-hostdev-nic0)"
node 2 "$(ev $((t0 + 3000)) 3000 device-added vm-b1 ua-hostdev-nic0)"
power "$(((t0 + 1000) * 1000000)) lab-node1 off begin" "$(((t0 + 1200) * 1000000)) lab-node1 off end 0"
check "host 1 powered off holds nothing: host 2's add after it is no violation" is "" "$(judge)"

power "$(((t0 + 1000) * 1000000)) lab-node1 off begin" "$(((t0 + 1200) * 1000000)) lab-node1 off end 1"
check "nor a failed power-off" \
	is "$((t0 + 3000)) ua-hostdev-nic0 device-added to vm-b1 while vm-a1 holds it" "$(judge)"

power "$(((t0 + 1000) * 1000000)) lab-node2 off begin" "$(((t0 + 1200) * 1000000)) lab-node2 off end 0"
check "nor the other host's power-off" \
	is "$((t0 + 3000)) ua-hostdev-nic0 device-added to vm-b1 while vm-a1 holds it" "$(judge)"

power "$(((t0 + 4000) * 1000000)) lab-node1 off begin" "$(((t0 + 4200) * 1000000)) lab-node1 off end 0"
check "nor a power-off after the add" \
	is "$((t0 + 3000)) ua-hostdev-nic0 device-added to vm-b1 while vm-a1 holds it" "$(judge)"
tap_done
