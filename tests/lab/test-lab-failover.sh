#!/bin/bash
# Failures on the lab, handled by hostdev-had in policy auto: the active
# guest's QEMU killed, the active guest destroyed from outside, a paused
# holder during a switch; then libvirtd and the daemon each killed in the
# middle of a switch, and a corrupt table. After each, the device is on
# exactly the table's holder (both live XMLs), at the active quota, and the
# failed guest is back as a standby at the standby quota.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"

alias=ua-hostdev-nic0
standby_quota=7000

teardown() {
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
quota() { virsh schedinfo --live "$1" | sed -n 's/^vcpu_quota *: *//p'; }
role() { lab_daemon_get nic0 Members | grep -o "\"$1\" \"[a-z]*\"" | cut -d'"' -f4; }
idle() { [ "$(lab_daemon_get nic0 Operation)" = 's ""' ]; }

# settled EXPECTED: the daemon is idle with the device on EXPECTED alone,
# by the table and by both live XMLs.
settled() {
	lab_wait_for 30 idle || { diag "still busy: $(lab_daemon_get nic0 Operation)"; return 1; }
	[ "$(holder)" = "$1" ] || { diag "table holder '$(holder)', expected '$1'"; return 1; }
	lab_device_exclusive --alias "$alias" "$1" vm-a vm-b
}

# recovered FAILED NEW: NEW holds the device at the active quota, FAILED is
# back as a standby at the standby quota.
recovered() {
	local failed=$1 new=$2
	settled "$new" || return 1
	lab_wait_for 30 eval '[ "$(role "$failed")" = standby ]' ||
		{ diag "role of $failed: $(role "$failed")"; return 1; }
	lab_guest_active "$failed" || return 1
	[ "$(quota "$new")" != "$standby_quota" ] || { diag "$new still at the standby quota"; return 1; }
	[ "$(quota "$failed")" = "$standby_quota" ] || { diag "$failed at quota $(quota "$failed")"; return 1; }
}

qemu_pid() { cat "/run/libvirt/qemu/$1.pid"; }

lab_bus_start
check "libvirtd starts" lab_libvirt_start
check "guests boot" eval 'lab_guest_define vm-a && lab_guest_define vm-b && lab_guest_start vm-a && lab_guest_start vm-b'
lab_daemon_group nic0 auto vm-a vm-b
echo "StandbyVcpuQuota=$standby_quota" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
check "daemon starts" lab_daemon_start
check "device to vm-a" lab_daemon_call Switch ssb nic0 vm-a false
check "vm-a holds it" settled vm-a

t=$(date +%s%N)
check "SIGKILL of vm-a's QEMU" eval 'kill -KILL "$(qemu_pid vm-a)"'
check "failover: vm-b holds the device" eval 'lab_wait_for 20 eval "[ \"\$(holder)\" = vm-b ]"'
diag "kill -> vm-b holds the device: $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "vm-b active at full quota, vm-a rebuilt as standby at the standby quota" recovered vm-a vm-b

t=$(date +%s%N)
check "virsh destroy vm-b from outside" eval 'virsh destroy vm-b >/dev/null'
check "failover: vm-a holds the device" eval 'lab_wait_for 20 eval "[ \"\$(holder)\" = vm-a ]"'
diag "destroy -> vm-a holds the device: $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "vm-a active, vm-b rebuilt as standby" recovered vm-b vm-a

# A paused holder cannot let go: deactivated after ReleaseTimeoutSec (3 s).
lab_wait_for 60 lab_console_has vm-b '^READY$'
check "pause vm-a (the holder)" eval 'virsh suspend vm-a >/dev/null'
t=$(date +%s%N)
check "switch to vm-b still succeeds" lab_daemon_call Switch ssb nic0 vm-b false
diag "switch away from a paused holder took $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "... vm-a deactivated by the release timeout" \
	grep -q "Group 'nic0': 'vm-a' did not release the device (release-timeout), deactivating it" "$LAB_DIR/hostdev-had.log"
check "vm-b holds it, vm-a rebuilt" recovered vm-a vm-b

# From here on a paused holder holds a switch in flight: long enough that the
# kills below surely land in the middle of it.
sed -i 's/^ReleaseTimeoutSec=.*/ReleaseTimeoutSec=60/' "$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
check "reload: release timeout 60 s" lab_daemon_call Reload

# switch_in_flight FROM TO OUT: FROM paused, a switch to TO started in the
# background (its answer in OUT), and seen in flight.
switch_in_flight() {
	virsh suspend "$1" >/dev/null || return 1
	lab_daemon_call Switch ssb nic0 "$2" false >"$3" 2>&1 &
	lab_wait_for 20 eval '! idle'
}

# libvirtd killed in the middle of a switch, then started again; the guest
# resumed lets go of the device.
lab_wait_for 60 lab_console_has vm-a '^READY$'
check "a switch to vm-a held in flight by the paused vm-b" switch_in_flight vm-b vm-a "$LAB_DIR/switch-1.out"
check "libvirtd killed mid-switch" lab_libvirtd_kill
check "libvirtd back" lab_libvirt_start
virsh resume vm-b >/dev/null 2>&1
wait
diag "the switch's answer: $(cat "$LAB_DIR/switch-1.out")"
# The reconnect finishes (or rolls back) the switch: read the holder after.
lab_wait_for 30 idle
h=$(holder)
check "device on exactly the table's holder ($h)" settled "$h"

# The daemon SIGKILLed in the middle of a switch, then started again.
to=$(other "$h")
lab_wait_for 60 lab_console_has "$to" '^READY$'
check "a switch to $to held in flight by the paused $h" switch_in_flight "$h" "$to" /dev/null
check "daemon killed mid-switch" lab_daemon_kill
wait
virsh resume "$h" >/dev/null 2>&1
check "daemon starts again" lab_daemon_start
lab_wait_for 30 idle
h=$(holder)
check "device on exactly the table's holder ($h)" settled "$h"

# A corrupt table stops the daemon with a message naming the file.
check "daemon stops" lab_daemon_stop
echo '{"format": 1, "groups": [' >"$LAB_DAEMON_STATE/table.json"
check "with a corrupt table the daemon refuses to start" \
	eval '! timeout 20 "$LAB_DAEMON" --config-dir="$LAB_DAEMON_CONFIG" >"$LAB_DIR/corrupt.log" 2>&1'
diag "$(head -n 2 "$LAB_DIR/corrupt.log")"
check "... naming the file" grep -q "$LAB_DAEMON_STATE/table.json" "$LAB_DIR/corrupt.log"
check "... and the file is left as it was" eval '[ "$(cat "$LAB_DAEMON_STATE/table.json")" = "{\"format\": 1, \"groups\": [" ]'
check "--rebuild-table rebuilds it from libvirt's live state" lab_daemon_start --rebuild-table
live=$(lab_device_holders --alias "$alias" vm-a vm-b)
check "the table follows libvirt (device on '${live}')" settled "$live"
tap_done
