#!/bin/bash
# The lab itself works: two guests boot, the stand-in device moves between
# them through libvirt and each move is seen on the guests' consoles, the
# device is never on both guests (live XML of both after every step), and a
# single-node Corosync + Pacemaker cluster starts and stops.
#
# LAB_SELFTEST_BREAK=attach-both makes the moves attach to the new guest
# before detaching from the old one: the exclusivity checks must then fail.
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"

moves=${LAB_SELFTEST_MOVES:-6}
break_mode=${LAB_SELFTEST_BREAK:-}

teardown() {
	lab_cluster_stop
	lab_libvirt_stop
}
trap teardown EXIT

# exclusive [EXPECTED]: the device is on at most one guest (and on EXPECTED,
# "" meaning none, when given).
exclusive() {
	local h
	h=$(lab_device_holders vm-a vm-b)
	case $h in *" "*) diag "device on two guests: $h"; return 1 ;; esac
	[ $# -eq 0 ] || [ "$h" = "$1" ] || { diag "device on '$h', expected '$1'"; return 1; }
}

# move FROM TO: one planned move, checked from live XML after each step.
move() {
	local from=$1 to=$2
	if [ "$break_mode" = attach-both ]; then
		lab_device_attach "$to" || return 1
		exclusive || return 1
	fi
	lab_device_detach "$from" || return 1
	lab_console_wait "$from" '^PCI remove ' 30 || return 1
	exclusive "" || return 1
	if [ "$break_mode" != attach-both ]; then
		lab_device_attach "$to" || return 1
	fi
	lab_console_wait "$to" '^PCI add ' 30 || return 1
	exclusive "$to"
}

t0=$(date +%s%N)
check "libvirtd starts privately" lab_libvirt_start
check "libvirtd is not the host's" test "$LAB_LIBVIRT_URI" != qemu:///system
check "guest vm-a defined" lab_guest_define vm-a
check "guest vm-b defined" lab_guest_define vm-b
check "guest vm-a boots to READY" lab_guest_start vm-a
check "guest vm-b boots to READY" lab_guest_start vm-b
diag "two guests up in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "no guest has the device at boot" exclusive ""

check "device attached to vm-a" lab_device_attach vm-a
check "vm-a sees the PCI add" lab_console_wait vm-a '^PCI add ' 30
check "only vm-a holds the device" exclusive vm-a

from=vm-a to=vm-b
for i in $(seq "$moves"); do
	t=$(date +%s%N)
	check "move $i: $from -> $to, never on both" move "$from" "$to"
	diag "move $i took $(( ($(date +%s%N) - t) / 1000000 )) ms"
	tmp=$from from=$to to=$tmp
done

# The check above must be able to fail: put the device on both guests and
# make sure it notices.
check "a second attach puts the device on both guests" lab_device_attach "$to"
check "the exclusivity check sees two holders" eval '! exclusive 2>/dev/null'
check "detach from $to" lab_device_detach "$to"
check "back to one holder" exclusive "$from"

check "destroying the holder frees the device" lab_guest_destroy "$from"
check "no guest has the device" exclusive ""

t=$(date +%s%N)
check "cluster starts, node online" lab_cluster_start
diag "cluster online in $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "crm_mon sees the node online with a DC" lab_cluster_online
check "cluster stops" lab_cluster_stop
check "no cluster daemon left" eval '! pgrep corosync && ! pgrep pacemaker'

check "libvirtd and guests stop" lab_libvirt_stop
check "no QEMU or libvirtd left" eval '! pgrep libvirtd && ! pgrep qemu-system'
diag "lab self-test took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
tap_done
