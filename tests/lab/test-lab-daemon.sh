#!/bin/bash
# hostdev-had on the lab, real libvirtd and guests, its own policy on the
# private bus: 20 planned switches seen on the guests' consoles, the device
# on exactly one guest after every step (both live XMLs), bad input and
# callers without rights refused with named errors and the table unchanged,
# a second daemon on the same state directory refused, and a PCI group on
# this host refused with libvirt's own message.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"

switches=${LAB_DAEMON_SWITCHES:-20}
alias=ua-hostdev-nic0

teardown() {
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

bus() { busctl --address="$LAB_BUS_ADDRESS" "$@"; }
active() { lab_daemon_get nic0 Active; }
generation() { lab_daemon_get nic0 Generation; }
exclusive() { lab_device_exclusive --alias "$alias" "$1" vm-a vm-b; }

# call_error [--as USER] METHOD ARG...: prints the D-Bus error of a failing
# manager call ("Error org.hostdevha.Error.X: message"); ARGs as dbus-send
# takes them (string:nic0 boolean:false).
call_error() {
	local as=() out
	if [ "$1" = --as ]; then
		as=(setpriv --reuid="$2" --regid="$(id -g "$2")" --clear-groups)
		shift 2
	fi
	local method=$1
	shift
	out=$("${as[@]}" dbus-send --bus="$LAB_BUS_ADDRESS" --print-reply --reply-timeout=60000 \
		--dest=org.hostdevha.Manager1 /org/hostdevha/Manager1 \
		"org.hostdevha.Manager1.$method" "$@" 2>&1) && { echo "succeeded"; return; }
	echo "$out"
}

# refused NAME [--as USER] METHOD ARG...: the call fails with the named
# error and the group's generation does not move.
refused() {
	local name=$1 before after out
	shift
	before=$(generation)
	out=$(call_error "$@")
	after=$(generation)
	diag "$* -> $out"
	case $out in *"Error $name:"*) ;; *) return 1 ;; esac
	[ "$before" = "$after" ]
}

# switch_to DOMAIN: a planned switch through the bus, checked on the
# consoles and in both live XMLs.
switch_to() {
	local to=$1 from
	from=$(active | tr -d '"' | awk '{print $2}')
	lab_console_mark vm-a
	lab_console_mark vm-b
	lab_daemon_call Switch ssb nic0 "$to" false >/dev/null || return 1
	exclusive "$to" || return 1
	[ "$(active)" = "s \"$to\"" ] || return 1
	lab_console_wait "$to" '^PCI add ' 30 || return 1
	if [ -n "$from" ]; then
		lab_console_wait "$from" '^PCI remove ' 30 || return 1
	fi
}

lab_bus_start
check "libvirtd starts" lab_libvirt_start
check "guests defined" eval 'lab_guest_define vm-a && lab_guest_define vm-b'
check "guests boot" eval 'lab_guest_start vm-a && lab_guest_start vm-b'
lab_daemon_group nic0 manual vm-a vm-b
# A paused holder keeps a switch in flight (racing switches below) for as
# long as the test needs.
sed -i 's/^ReleaseTimeoutSec=.*/ReleaseTimeoutSec=60/' "$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
check "hostdev-had --check-config accepts the lab's configuration" \
	"$LAB_DAEMON" --check-config --config-dir="$LAB_DAEMON_CONFIG"
check "hostdev-had --log-time: its lines start with the time, UTC in us" \
	eval '"$LAB_DAEMON" --log-time --check-config --config-dir="$LAB_DIR/no-such-dir" 2>&1 |
		grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z error: "'
check "hostdev-had starts and owns its name" lab_daemon_start
check "nothing allocated at first" eval '[ "$(active)" = "s \"\"" ]'
check "device on no guest" exclusive ""

t0=$(date +%s%N)
to=vm-a
for i in $(seq "$switches"); do
	check "switch $i to $to: seen on the consoles, on $to alone" switch_to "$to"
	if [ "$to" = vm-a ]; then to=vm-b; else to=vm-a; fi
done
diag "$switches switches in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

check "standby quota on the standby" \
	eval 'virsh schedinfo --live "$to" | grep -q "vcpu_quota *: 10000"'

holder=$(active | tr -d '"' | awk '{print $2}')

# A second daemon on the same state directory (one started by hand beside
# the service): refused before it touches libvirt or the table, naming the
# first, which keeps its name and its guests as they were. A second one
# that started anyway would be stopped by the timeout (status 124).
table_sum() { cat "$LAB_DAEMON_STATE"/table.d/* | md5sum; }
first_untouched() {
	[ "$(table_sum)" = "$table_before" ] && lab_daemon_owns_name && exclusive "$holder"
}
table_before=$(table_sum)
check "a second hostdev-had on the same state directory refuses to start" eval '
	timeout 30 "$LAB_DAEMON" --config-dir="$LAB_DAEMON_CONFIG" >"$LAB_DIR/second.log" 2>&1
	[ $? = 1 ]'
check "... naming the first one's pid and the state directory" \
	grep -q "Another hostdev-had (pid $(cat "$LAB_DIR/hostdev-had.pid")) uses the state directory '$LAB_DAEMON_STATE'" \
	"$LAB_DIR/second.log"
check "... the table as it was, the first still owns its name, the device on $holder alone" first_untouched
E=org.hostdevha.Error
check "unknown group: NoSuchGroup" refused $E.NoSuchGroup Switch string:nic9 string:vm-a boolean:false
check "domain of no group: NoSuchDomain" refused $E.NoSuchDomain Switch string:nic0 string:vm-z boolean:false
check "switch to the holder: NothingToDo" \
	refused $E.NothingToDo Switch string:nic0 string:"$holder" boolean:false
check "empty group name: InvalidArgument" refused $E.InvalidArgument Switch string: string:vm-a boolean:false
long=$(head -c 65536 /dev/zero | tr '\0' a)
check "64 KiB group name: InvalidArgument" \
	refused $E.InvalidArgument Switch string:"$long" string:vm-a boolean:false
check "64 KiB domain name: InvalidArgument" refused $E.InvalidArgument Activate string:"$long"
check "unprivileged caller: AccessDenied" \
	refused $E.AccessDenied --as nobody Switch string:nic0 string:"$to" boolean:false
check "unprivileged caller may read" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups busctl --address="$LAB_BUS_ADDRESS" \
	get-property org.hostdevha.Manager1 /org/hostdevha/Manager1/group/nic0 org.hostdevha.Group1 Active

# Two switches at once: one goes, the other is Busy at once. The holder is
# paused so that the first one is surely still in flight (waiting for the
# release, up to ReleaseTimeoutSec=60) when the second arrives; resumed, it
# lets go.
busy() { [ "$(lab_daemon_get nic0 Operation)" != 's ""' ]; }
racing() {
	local a from
	from=$(active | tr -d '"' | awk '{print $2}')
	virsh suspend "$from" >/dev/null || return 1
	lab_daemon_call Switch ssb nic0 "$to" false >"$LAB_DIR/race-1" 2>&1 &
	a=$!
	lab_wait_for 30 busy || { virsh resume "$from" >/dev/null; return 1; }
	call_error Switch string:nic0 string:"$to" boolean:false >"$LAB_DIR/race-2"
	virsh resume "$from" >/dev/null
	wait "$a" || { diag "first: $(cat "$LAB_DIR/race-1")"; return 1; }
	diag "second: $(cat "$LAB_DIR/race-2")"
	grep -q "Error $E.Busy:" "$LAB_DIR/race-2"
}
check "racing switches: the second is Busy" racing
check "the first one went through" exclusive "$to"

# A Device= group: this host cannot pass PCI through. The address must not
# be one of the machine's own functions: Managed=no binds it to vfio-pci.
check "0000:00:1f.6 is no PCI function of this machine" test ! -e /sys/bus/pci/devices/0000:00:1f.6
# vm-c boots as a standby, under its quota: half a core, not the default
# 10% (a 35 s boot under TCG).
cat >"$LAB_DAEMON_CONFIG/groups.d/pci0.conf" <<EOF
[Group]
Device=0000:00:1f.6
Domains=vm-c vm-d
Policy=manual
StandbyVcpuQuota=50000
EOF
check "reload with a PCI group" lab_daemon_call Reload
check "the PCI group is there" eval 'lab_daemon_get pci0 Name | grep -q pci0'
check "a third guest for it" eval 'lab_guest_define vm-c && lab_guest_define vm-d && lab_guest_start vm-c'
pci_refused() {
	local out
	lab_wait_for 30 eval 'lab_daemon_get pci0 Members | grep -q "vm-c\" \"standby"' || return 1
	out=$(call_error Switch string:pci0 string:vm-c boolean:false)
	diag "pci0 -> vm-c: $out"
	case $out in *"host doesn't support passthrough"*) ;; *) return 1 ;; esac
	[ "$(lab_daemon_get pci0 Active)" = 's ""' ]
}
check "PCI passthrough refused with libvirt's message, nothing allocated" pci_refused
check "Managed=no: the daemon tried to bind it to vfio-pci, and says why it could not" \
	grep -q "Group 'pci0': cannot bind pci_0000_00_1f_6 to vfio-pci: .*pci_0000_00_1f_6" "$LAB_DIR/hostdev-had.log"
check "a bad configuration is refused on reload, the old one stays" eval '
	echo "Bogus=1" >>"$LAB_DAEMON_CONFIG/groups.d/pci0.conf"
	! lab_daemon_call Reload 2>/dev/null && lab_daemon_get pci0 Name >/dev/null'
sed -i '/^Bogus=/d' "$LAB_DAEMON_CONFIG/groups.d/pci0.conf"

check "daemon stops on SIGTERM" lab_daemon_stop
check "device still on one guest" exclusive "$to"
tap_done
