#!/bin/bash
# The guests' heartbeat benchmark, on the lab (real libvirtd, TCG guests with
# the channel org.hostdevha.guest.0 and hostdev-ha-guest heartbeating every
# 0.3 s, private bus, policy auto): a hung guest kernel (virsh inject-nmi,
# the guests boot with unknown_nmi_panic: no libvirt event at all) until the
# standby holds the device, beside a QEMU crash (SIGKILL) until the standby
# holds it, interleaved round by round in one run. The hung kernel is found
# by the heartbeat's absence, so it takes GuestHeartbeatSec plus the
# failover; the crash only the failover. Every number printed is measured
# here; the time is read by polling the group's Active property (busctl,
# a few ms each), so it is that much late.
#
# Then the price of a flooding guest for everyone else: a planned switch of
# a second group (nic1: vm-c, vm-d, no channel) timed while no guest is
# busy, while vm-a's guest writes lines as fast as it can to /dev/null
# (a busy guest: under TCG its vCPU takes a host CPU, channel or not), and
# while it writes them to its channel (half of them heartbeats, so that it
# does not fail); with hostdev-had's own CPU time in each phase.
#
# Run by `make bench-guest`. BENCH_GUEST_ROUNDS (default 3 of each),
# BENCH_GUEST_FLOOD_ROUNDS (switches of nic1 each way, default 6),
# BENCH_GUEST_HEARTBEAT_SEC (GuestHeartbeatSec=, default 2),
# BENCH_STANDBY_QUOTA (default 50000 of 100000: a failed guest boots again
# at the standby quota before the next round).
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"

rounds=${BENCH_GUEST_ROUNDS:-3}
flood_rounds=${BENCH_GUEST_FLOOD_ROUNDS:-6}
hb_sec=${BENCH_GUEST_HEARTBEAT_SEC:-2}
standby_quota=${BENCH_STANDBY_QUOTA:-50000}
conf=$LAB_DAEMON_CONFIG/groups.d/nic0.conf

teardown() {
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

say() { printf '# %s\n' "$*" >&2; }
die() { say "bench-guest: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
role() { lab_daemon_get nic0 Members | grep -o "\"$1\" \"[a-z]*\"" | cut -d'"' -f4; }
idle() { [ "$(lab_daemon_get nic0 Busy)" = "b false" ]; }
connected() { lab_daemon_get nic0 GuestChannels | grep -q "\"$1\" true"; }

# ready HOLDER: idle, HOLDER active, the other a standby whose guest
# heartbeats again (the failed one rebuilt).
ready_now() {
	local o
	o=$(other "$1")
	idle && [ "$(holder)" = "$1" ] && [ "$(role "$o")" = standby ] && connected "$1" && connected "$o"
}
ready() { lab_wait_for 120 ready_now "$1"; }

# holds_after DOMAIN START_MS: wait until DOMAIN holds the device; print
# the ms since START_MS.
holds_after() {
	local d=$1 start=$2 deadline
	deadline=$(($(now_ms) + 60000))
	while [ "$(holder)" != "$d" ]; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
	done
	echo $(($(now_ms) - start))
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

lab_bus_start
lab_libvirt_start || die "libvirtd does not start"
for d in vm-a vm-b; do
	if ! lab_guest_define "$d" --with-channel || ! lab_guest_start "$d"; then
		die "$d does not boot"
	fi
done
for d in vm-c vm-d; do
	if ! lab_guest_define "$d" || ! lab_guest_start "$d"; then
		die "$d does not boot"
	fi
done
lab_daemon_group nic1 manual vm-c vm-d
lab_daemon_group nic0 auto vm-a vm-b
printf 'GuestHeartbeatSec=%s\nStandbyVcpuQuota=%s\n' "$hb_sec" "$standby_quota" >>"$conf"
# shellcheck disable=SC2119 # no arguments for the daemon
lab_daemon_start || die "hostdev-had does not start"
lab_daemon_call Switch ssb nic0 vm-a false >/dev/null || die "no switch to vm-a"
ready vm-a || die "vm-a does not settle as the holder"

hung=()
crash=()
for i in $(seq "$rounds"); do
	for kind in hung crash; do
		h=$(holder)
		o=$(other "$h")
		t=$(now_ms)
		if [ "$kind" = hung ]; then
			virsh inject-nmi "$h" >/dev/null || die "inject-nmi $h failed"
		else
			kill -KILL "$(cat "/run/libvirt/qemu/$h.pid")" || die "cannot kill $h's QEMU"
		fi
		ms=$(holds_after "$o" "$t") || die "round $i ($kind): $o never held the device"
		say "round $i: $kind $h -> $o holds the device: $ms ms"
		if [ "$kind" = hung ]; then hung+=("$ms"); else crash+=("$ms"); fi
		ready "$o" || die "round $i ($kind): $h was not rebuilt"
	done
done

# A switch of nic1, in ms, call to reply.
switch_nic1() {
	local to t
	to=$(other_nic1 "$(lab_daemon_get nic1 Active | sed 's/^s "\(.*\)"$/\1/')")
	t=$(now_ms)
	lab_daemon_call Switch ssb nic1 "$to" false >/dev/null || return 1
	echo $(($(now_ms) - t))
}
other_nic1() { if [ "$1" = vm-c ]; then echo vm-d; else echo vm-c; fi; }

quiet=() quiet_cpu=0 busy_cpu=0 flooded_cpu=0
busy=()
flooded=()
daemon_pid=$(cat "$LAB_DIR/hostdev-had.pid")
# cpu_ms: hostdev-had's CPU time so far (user + system), in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$daemon_pid/stat"; }
# phase NAME GUEST-COMMAND: flood_rounds switches of nic1 while vm-a's
# guest runs GUEST-COMMAND (none: idle); their times into the array NAME,
# the daemon's CPU ms for the phase into NAME_cpu.
phase() {
	local -n times=$1
	local cmd=$2 c0 i ms secs=$((flood_rounds * 3 + 10))
	c0=$(cpu_ms)
	if [ "$cmd" != none ]; then
		lab_console_mark vm-a
		lab_guest_command vm-a "$cmd" "$secs" || die "no $cmd"
	fi
	for i in $(seq "$flood_rounds"); do
		ms=$(switch_nic1) || die "a switch of nic1 failed ($1)"
		times+=("$ms")
	done
	printf -v "$1_cpu" '%s' $(($(cpu_ms) - c0))
	if [ "$cmd" != none ]; then
		lab_console_wait vm-a "^GUEST $cmd done\$" $((secs + 40)) || die "vm-a's $cmd does not end"
		lab_wait_for 30 connected vm-a || die "vm-a's guest does not come back"
	fi
}
switch_nic1 >/dev/null || die "no first switch of nic1"
failures_before=$(grep -c "failed: guest" "$LAB_DIR/hostdev-had.log")
phase quiet none
phase busy spin
phase flooded flood
drops=$(grep -c "more than 20 lines a second" "$LAB_DIR/hostdev-had.log")
[ -n "$(holder)" ] || die "nic0 lost its holder during the flood"
[ "$(grep -c "failed: guest" "$LAB_DIR/hostdev-had.log")" = "$failures_before" ] ||
	die "a guest failed during the flood phases (see $LAB_DIR/hostdev-had.log)"

echo
echo "guest heartbeat (GuestHeartbeatSec=$hb_sec, beats every 0.3 s), $rounds rounds each, this run:"
printf '  %-44s median %6s ms   (%s)\n' "hung guest kernel -> standby holds the device" \
	"$(printf '%s\n' "${hung[@]}" | median)" "${hung[*]}"
printf '  %-44s median %6s ms   (%s)\n' "QEMU killed -> standby holds the device" \
	"$(printf '%s\n' "${crash[@]}" | median)" "${crash[*]}"
echo "a switch of another group (nic1), call -> reply, $flood_rounds each, and hostdev-had's CPU time meanwhile:"
printf '  %-44s median %6s ms   (%s), daemon CPU %s ms\n' "no guest busy" \
	"$(printf '%s\n' "${quiet[@]}" | median)" "${quiet[*]}" "$quiet_cpu"
printf '  %-44s median %6s ms   (%s), daemon CPU %s ms\n' "vm-a's guest busy, writing to /dev/null" \
	"$(printf '%s\n' "${busy[@]}" | median)" "${busy[*]}" "$busy_cpu"
printf '  %-44s median %6s ms   (%s), daemon CPU %s ms\n' "vm-a's guest flooding its channel" \
	"$(printf '%s\n' "${flooded[@]}" | median)" "${flooded[*]}" "$flooded_cpu"
echo "  (the flood was cut to 20 lines a second; logged $drops time(s), once per connection)"
