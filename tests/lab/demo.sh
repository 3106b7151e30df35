#!/bin/bash
# The demo: hostdev-ha on the lab, as a newcomer meets it. Two small VMs
# share one PCI device (an emulated e1000e NIC stands in for it); the
# daemon gives it to one, moves it on request, and when the active VM
# crashes moves it to the standby and rebuilds the crashed one.
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"

teardown() {
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

say() { printf '\n%s\n' "$*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
status() {
	local g
	g=$(lab_daemon_get nic0 Members | sed 's/^a(ss) [0-9]* //')
	printf '  group nic0: device on %s; members %s; generation %s\n' \
		"$(holder)" "$g" "$(lab_daemon_get nic0 Generation | cut -d' ' -f2)"
	printf '  live XML: device on [%s]\n' "$(lab_device_holders --alias ua-hostdev-nic0 vm-a vm-b)"
}

# timeline SINCE_MS: the daemon's log lines since then, with their offsets.
timeline() {
	local since=$1 ts line
	sleep 0.3 # the stamping loop runs behind by a little
	while IFS= read -r line; do
		ts=${line%% *}
		[ "$ts" -ge "$since" ] 2>/dev/null || continue
		printf '  +%5d ms  %s\n' $((ts - since)) "${line#* }"
	done <"$LAB_DIR/timeline"
}

say "hostdev-ha demo: one PCI device, two VMs, at most one holds it at any time."
say "Bringing up the lab: a private libvirtd, a private system bus, two QEMU guests..."
lab_bus_start 2>/dev/null
lab_libvirt_start || exit 1
lab_guest_define vm-a 2>/dev/null && lab_guest_define vm-b 2>/dev/null || exit 1
lab_guest_start vm-a && lab_guest_start vm-b || exit 1
lab_daemon_group nic0 auto vm-a vm-b
echo "StandbyVcpuQuota=5000" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"

# Every line the daemon logs, stamped in milliseconds.
: >"$LAB_DIR/timeline"
mkfifo "$LAB_DIR/daemon.fifo"
while IFS= read -r line; do echo "$(now_ms) $line"; done <"$LAB_DIR/daemon.fifo" >>"$LAB_DIR/timeline" &
( setsid "$LAB_DAEMON" --config-dir="$LAB_DAEMON_CONFIG" </dev/null >"$LAB_DIR/daemon.fifo" 2>&1 &
  echo $! >"$LAB_DIR/hostdev-had.pid" )
lab_wait_for 30 lab_daemon_owns_name || { echo "the daemon did not start"; exit 1; }
say "hostdev-had is up, group nic0 = [vm-a, vm-b], policy auto:"
status

say "1. Give the device to vm-a (busctl call ... Switch ssb nic0 vm-a false):"
t=$(now_ms)
lab_daemon_call Switch ssb nic0 vm-a false >/dev/null
timeline "$t"
status

say "2. A planned switch to vm-b: vm-b's CPU quota goes up first, vm-a lets go, then vm-b gets it:"
t=$(now_ms)
lab_daemon_call Switch ssb nic0 vm-b false >/dev/null
timeline "$t"
status

say "3. vm-b crashes (its QEMU is killed). Nobody calls anything:"
t=$(now_ms)
kill -KILL "$(cat /run/libvirt/qemu/vm-b.pid)"
settled_on_vm_a() { [ "$(holder)" = vm-a ] && [ "$(lab_daemon_get nic0 Operation)" = 's ""' ]; }
lab_wait_for 20 settled_on_vm_a
timeline "$t"
status
say "The device went to the standby, which got its full CPU quota, and the crashed VM was
rebuilt as the new standby at a low quota. At no moment did two VMs hold the device."
say "Tearing down (nothing is left behind)."
