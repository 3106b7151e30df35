#!/bin/bash
# The system bus restarted under the daemon's bus code (daemon/bus.c),
# served by bus-harness (the real bus code and state machine on the fake
# hypervisor) on the lab's private system bus: the loss is noticed and
# logged at once, the connection made again with backoff, the objects and
# the name back, and an operation in flight when the bus went away goes on
# and completes, its state visible once the bus is back. The same again
# with the bus away for a while, and a second time in a row. Then
# hostdev-had itself, under systemd's eyes (INVOCATION_ID set): with the bus
# away past its bound it exits with a failure, so that systemd restarts it.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# Light: no guests, no cluster; runs beside the heavy suites.
LAB_LIGHT=1
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"

HARNESS=$abs_top_builddir/tests/lab/bus-harness
[ -x "$HARNESS" ] || lab_die "'$HARNESS' is missing: run make check"

harness_pid=
daemon_pid=
cleanup() {
	[ -z "$harness_pid" ] || kill -TERM "$harness_pid" 2>/dev/null
	[ -z "$daemon_pid" ] || kill -TERM "$daemon_pid" 2>/dev/null
	lab_bus_stop
}
trap cleanup EXIT
lab_bus_start
# The address lab_bus_start exports names this bus daemon's guid, which a
# restarted one does not have: the programs under test use the path alone,
# as a host's system bus is found.
SOCKET_ADDRESS=unix:path=/run/dbus/system_bus_socket

conf=$LAB_DIR/conf
mkdir -p "$conf/groups.d" "$LAB_DIR/state"
printf '[Group]\nDevice=0000:03:00.0\nDomains=vm-a vm-b\nPolicy=manual\n' >"$conf/groups.d/nic0.conf"
DBUS_SYSTEM_BUS_ADDRESS=$SOCKET_ADDRESS "$HARNESS" --config-dir "$conf" --table "$LAB_DIR/state/table.d" \
	>"$LAB_DIR/harness.log" 2>&1 &
harness_pid=$!

bus() { busctl --address="$SOCKET_ADDRESS" "$@"; }
NIC0=/org/hostdevha/Manager1/group/nic0
prop() { bus get-property org.hostdevha.Manager1 "$NIC0" org.hostdevha.Group1 "$1"; }
prop_is() {
	local v
	v=$(prop "$1") || return 1
	[ "$v" = "$2" ] || { diag "$1: $v, expected $2"; return 1; }
}
named() { bus status org.hostdevha.Manager1 >/dev/null 2>&1; }
# logged FILE TEXT N: FILE has more than N lines with TEXT.
logged() { [ "$(grep -c -- "$2" "$1")" -gt "$3" ]; }
count() { grep -c -- "$2" "$1"; }
acknowledged() { logged "$LAB_DIR/harness.log" "$1" "$2"; }
signal_harness() {
	local n
	n=$(count "$LAB_DIR/harness.log" "$2")
	kill "-$1" "$harness_pid" && lab_wait_for 30 acknowledged "$2" "$n"
}
hold() { signal_harness USR1 'Fake hypervisor held'; }
unhold() { signal_harness USR2 'Fake hypervisor running again'; }
switching() { prop_is Operation 's "switch"'; }
idle_on() { prop_is Operation 's ""' && prop_is Active "s \"$1\""; }
LOST='Lost the connection to the system bus'
BACK='Connected to the system bus again'

check "the harness takes the name" lab_wait_for 30 named
lab_alive "$harness_pid" || lab_die "bus-harness died: $(cat "$LAB_DIR/harness.log")"
check "vm-a holds the device" idle_on vm-a

# --- The bus restarted while a switch is in flight ----------------------------
check "the fake hypervisor held" hold
bus call org.hostdevha.Manager1 /org/hostdevha/Manager1 org.hostdevha.Manager1 Switch ssb nic0 vm-b false \
	>"$LAB_DIR/switch.out" 2>&1 &
switch_pid=$!
check "a switch to vm-b is in flight" lab_wait_for 30 switching
lost=$(count "$LAB_DIR/harness.log" "$LOST")
back=$(count "$LAB_DIR/harness.log" "$BACK")
t=$(date +%s%N)
lab_bus_stop
check "the loss is logged" lab_wait_for 30 logged "$LAB_DIR/harness.log" "$LOST" "$lost"
check "the harness runs on without the bus" lab_alive "$harness_pid"
lab_bus_start
check "the name is back" lab_wait_for 30 named
diag "bus restarted -> name back in $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "the reconnection is logged" logged "$LAB_DIR/harness.log" "$BACK" "$back"
check "the switch is still in flight, seen on the new bus" switching
wait "$switch_pid"
check "its caller got no reply (it called on the old bus)" grep -q . "$LAB_DIR/switch.out"
check "the fake hypervisor runs again" unhold
check "the switch completed: vm-b holds the device" lab_wait_for 30 idle_on vm-b
check "the group object is listed again" eval \
	'bus call org.hostdevha.Manager1 /org/hostdevha/Manager1 org.freedesktop.DBus.ObjectManager GetManagedObjects | grep -q "\"$NIC0\""'

# --- The bus away for a while, twice in a row -------------------------------------
for round in 1 2; do
	lost=$(count "$LAB_DIR/harness.log" "$LOST")
	back=$(count "$LAB_DIR/harness.log" "$BACK")
	lab_bus_stop
	check "$round: the loss is logged" lab_wait_for 30 logged "$LAB_DIR/harness.log" "$LOST" "$lost"
	check "$round: nobody answers on the bus meanwhile" eval '! named'
	check "$round: the harness runs on" lab_alive "$harness_pid"
	lab_bus_start
	check "$round: the name is back" lab_wait_for 30 named
	check "$round: the reconnection is logged once" eval \
		'[ "$(count "$LAB_DIR/harness.log" "$BACK")" -eq $((back + 1)) ]'
done
check "a switch over the new connection replies when done" eval \
	'bus call org.hostdevha.Manager1 /org/hostdevha/Manager1 org.hostdevha.Manager1 Switch ssb nic0 vm-a false'
check "vm-a holds the device" idle_on vm-a
kill -TERM "$harness_pid"
check "the harness stops cleanly" eval 'wait "$harness_pid"'
harness_pid=

# --- hostdev-had under systemd: the bus away past its bound ---------------------
# libvirt's test driver: no guests needed, no group configured.
dconf=$LAB_DIR/daemon-conf
mkdir -p "$dconf/groups.d" "$LAB_DIR/daemon-state"
printf '[Daemon]\nLibvirtURI=test:///default\nStateDirectory=%s\n[Cluster]\nEnabled=no\n' \
	"$LAB_DIR/daemon-state" >"$dconf/hostdev-ha.conf"
INVOCATION_ID=0123456789abcdef0123456789abcdef DBUS_SYSTEM_BUS_ADDRESS=$SOCKET_ADDRESS \
	"$LAB_DAEMON" --config-dir "$dconf" >"$LAB_DIR/daemon.log" 2>&1 &
daemon_pid=$!
# It takes its name only once reconciled with libvirt, which the test
# driver cannot be (no keepalive): its connection is what counts here.
on_bus() { bus list --no-legend 2>/dev/null | grep -q "^:[0-9.]* *$daemon_pid "; }
check "hostdev-had is connected to the bus" lab_wait_for 30 on_bus
t=$(date +%s%N)
lab_bus_stop
check "hostdev-had logs the loss" lab_wait_for 30 logged "$LAB_DIR/daemon.log" "$LOST" 0
check "hostdev-had gives up after its bound and exits with a failure" \
	eval 'lab_wait_for 90 eval "! lab_alive $daemon_pid" && ! wait "$daemon_pid"'
diag "bus stopped -> hostdev-had exited after $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "it says why" grep -q "system bus has been away" "$LAB_DIR/daemon.log"
daemon_pid=
lab_bus_start
tap_done
