#!/bin/bash
# The benchmark of switches and failovers, on the lab (real libvirtd, TCG guests, private
# bus): a switch and a failover done by hostdev-had, beside the same steps
# done directly with the libvirt C API (the floor, bench-libvirt) and with
# virsh commands (what users script today), interleaved round by round in
# one run so that the noise of a shared machine hits all three alike; the
# latency of a property read while a switch is in flight; the daemon's
# resident memory. Every number printed is measured here.
#
# The daemon moves ua-hostdev-nic0 between vm-a and vm-b (group nic0, policy
# auto); the floor and virsh move ua-bench-floor between vm-c and vm-d,
# which are no members of the daemon's: it never acts on their steps. All
# four guests are alike.
#
# Run by `make bench`. BENCH_ROUNDS (switch rounds, default 15),
# BENCH_FAILOVER_ROUNDS (default 5), BENCH_STANDBY_QUOTA (the standby vCPU
# quota, default 50000 of a 100000 period: a destroyed guest boots again at
# that quota before the next round, and a TCG boot is CPU-bound, so at the
# product's default of 10 % it would take about ten times as long).
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"

rounds=${BENCH_ROUNDS:-15}
failover_rounds=${BENCH_FAILOVER_ROUNDS:-5}
bin=${BENCH_BIN_DIR:-$abs_top_builddir/tests/bench}
active_quota=-1
standby_quota=${BENCH_STANDBY_QUOTA:-50000}
period=100000
group=nic0
alias=ua-hostdev-$group
floor_alias=ua-bench-floor
floor_xml=$LAB_DIR/floor-device.xml
out=$LAB_DIR/bench
mkdir -p "$out"

teardown() {
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

say() { printf '# %s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }
now_ns() { date +%s%N; }
# ns_ms END START: END - START (ns) in ms.
ns_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (a - b) / 1e6 }'; }
other() {
	case $1 in
	vm-a) echo vm-b ;; vm-b) echo vm-a ;; vm-c) echo vm-d ;; vm-d) echo vm-c ;;
	esac
}
holder() { lab_daemon_get "$group" Active | sed 's/^s "\(.*\)"$/\1/'; }
idle() { [ "$(lab_daemon_get "$group" Busy)" = "b false" ]; }

# record FILE VALUE: one sample (ms) per line.
record() { echo "$2" >>"$out/$1"; }

# sample_stat FILE median|p99|max|min|count|over=LIMIT
sample_stat() {
	[ -s "$out/$1" ] || { echo nan; return; }
	sort -g "$out/$1" | awk -v what="$2" '
		{ v[NR] = $1 }
		what ~ /^over=/ && $1 > substr(what, 6) + 0 { over++ }
		END {
			if (what == "count") { print NR; exit }
			if (what ~ /^over=/) { print over + 0; exit }
			if (what == "p99") { i = int(NR * 0.99 + 0.999999); print v[i < 1 ? 1 : i]; exit }
			if (what == "min") { print v[1]; exit }
			if (what == "max") { print v[NR]; exit }
			if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2fx", a / b; else print "n/a" }'; }
ms() { awk -v a="$1" 'BEGIN { if (a == a + 0) printf "%.1f ms", a; else print "n/a" }'; }

# wait_added NAME: the guest saw a PCI device arrive since the mark.
wait_added() { lab_console_wait "$1" '^PCI add ' 20; }
wait_ready() { lab_console_wait "$1" '^READY$' "$LAB_GUEST_BOOT_TIMEOUT"; }

# --- the three ways of doing a switch ---------------------------------------

daemon_switch() {
	local from to t
	from=$(holder)
	to=$(other "$from")
	lab_console_mark "$to"
	t=$("$bin/bench-bus-latency" switch "$group" "$to") || die "daemon switch to $to failed"
	record switch.daemon "$t"
	wait_added "$to" || die "$to did not see the device"
}

# floor_switch [SAMPLES]: recorded in switch.floor unless told otherwise.
floor_holder=vm-c
floor_switch() {
	local from=$floor_holder to t
	to=$(other "$from")
	lab_console_mark "$to"
	t=$("$bin/bench-libvirt" switch "$floor_alias" "$floor_xml" "$from" "$to" \
		"$active_quota" "$standby_quota" "$period") || die "floor switch to $to failed"
	floor_holder=$to
	record "${1:-switch.floor}" "$t"
	wait_added "$to" || die "$to did not see the device"
}

# virsh_has NAME: the live XML of NAME has the floor device.
virsh_has() {
	virsh dumpxml "$1" | grep -q "<alias name='$floor_alias'/>"
}

virsh_quota() {
	virsh schedinfo "$1" --live --set "vcpu_quota=$2" --set "vcpu_period=$period" >/dev/null
}

# What a user's script does today.
virsh_switch_steps() {
	local from=$1 to=$2 deadline
	virsh_quota "$to" "$active_quota" || return 1
	virsh detach-device-alias "$from" "$floor_alias" --live >/dev/null || return 1
	deadline=$(( $(now_ns) + 20000000000 ))
	while virsh_has "$from"; do
		[ "$(now_ns)" -lt "$deadline" ] || return 1
	done
	virsh attach-device "$to" "$floor_xml" --live >/dev/null || return 1
	virsh_quota "$from" "$standby_quota"
}

virsh_switch() {
	local from=$floor_holder to t0 t1
	to=$(other "$from")
	lab_console_mark "$to"
	t0=$(now_ns)
	virsh_switch_steps "$from" "$to" || die "virsh switch to $to failed"
	t1=$(now_ns)
	floor_holder=$to
	record switch.virsh "$(ns_ms "$t1" "$t0")"
	wait_added "$to" || die "$to did not see the device"
}

# --- the three ways of doing a failover --------------------------------------
# Timed from the destroy of the holder (done here, by the C API or virsh) to
# the moment the standby holds the device: libvirt's DEVICE_ADDED event for
# it, seen by a libvirt client of its own (the daemon's and the floor's), and
# the return of `virsh attach-device` (virsh's; it returns after QEMU added
# the device, which is when libvirt emits the event). "full" runs until the
# destroyed guest is started again and its quota lowered (daemon: until the
# group's Busy goes false).

daemon_failover() {
	local from to line t0 dev changed idle
	from=$(holder)
	to=$(other "$from")
	lab_console_mark "$from"
	"$bin/bench-bus-latency" wait-op "$group" >"$out/wait-op" 2>&1 &
	lab_wait_for 10 grep -q '^ready$' "$out/wait-op" || die "wait-op did not start"
	line=$("$bin/bench-libvirt" destroy-watch "$alias" "$from" "$to") || die "daemon failover: no device on $to"
	read -r t0 dev <<<"$line"
	wait $! || die "wait-op failed: $(cat "$out/wait-op")"
	read -r changed idle < <(tail -n 1 "$out/wait-op")
	record failover.daemon "$dev"
	record failover-full.daemon "$(ns_ms "$idle" "$t0")"
	[ "$changed" -gt 0 ] && record failover-signal.daemon "$(ns_ms "$changed" "$t0")"
	wait_ready "$from" || die "$from did not boot again"
	lab_wait_for 20 idle || die "the daemon stays busy"
}

floor_failover() {
	local from=$floor_holder to line dev full
	to=$(other "$from")
	lab_console_mark "$from"
	line=$("$bin/bench-libvirt" failover "$floor_alias" "$floor_xml" "$from" "$to" \
		"$active_quota" "$standby_quota" "$period") || die "floor failover to $to failed"
	read -r dev full <<<"$line"
	floor_holder=$to
	record failover.floor "$dev"
	record failover-full.floor "$full"
	wait_ready "$from" || die "$from did not boot again"
}

virsh_failover() {
	local from=$floor_holder to t0 t1 t2
	to=$(other "$from")
	lab_console_mark "$from"
	t0=$(now_ns)
	if ! { virsh destroy "$from" >/dev/null &&
		virsh_quota "$to" "$active_quota" &&
		virsh attach-device "$to" "$floor_xml" --live >/dev/null; }; then
		die "virsh failover to $to failed"
	fi
	t1=$(now_ns)
	if ! { virsh start "$from" >/dev/null && virsh_quota "$from" "$standby_quota"; }; then
		die "virsh: cannot start $from again"
	fi
	t2=$(now_ns)
	floor_holder=$to
	record failover.virsh "$(ns_ms "$t1" "$t0")"
	record failover-full.virsh "$(ns_ms "$t2" "$t0")"
	wait_ready "$from" || die "$from did not boot again"
}

# Runs the three of a kind in an order that rotates with the round.
interleaved() {
	local kind=$1 round=$2 i
	for i in 0 1 2; do
		case $(( (round + i) % 3 )) in
		0) "daemon_$kind" ;;
		1) "floor_$kind" ;;
		2) "virsh_$kind" ;;
		esac
	done
}

# --- set-up ----------------------------------------------------------------

for p in bench-libvirt bench-bus-latency; do
	[ -x "$bin/$p" ] || die "no '$bin/$p' (run: make bench)"
done
t_setup=$(now_ns)
lab_bus_start
lab_libvirt_start || die "libvirtd did not start"
for d in vm-a vm-b vm-c vm-d; do
	lab_guest_define "$d" || die "cannot define $d"
	lab_console_mark "$d"
	virsh start "$d" >/dev/null || die "cannot start $d"
done
for d in vm-a vm-b vm-c vm-d; do
	wait_ready "$d" || die "$d did not boot"
done

lab_daemon_group "$group" auto vm-a vm-b
cat >>"$LAB_DAEMON_CONFIG/groups.d/$group.conf" <<-EOF
	ActiveVcpuQuota=$active_quota
	StandbyVcpuQuota=$standby_quota
	VcpuPeriod=$period
EOF
# shellcheck disable=SC2119 # no extra arguments for the daemon
lab_daemon_start || die "the daemon did not start"
lab_console_mark vm-a
lab_daemon_call Switch ssb "$group" vm-a false >/dev/null || die "cannot give the device to vm-a"
wait_added vm-a || die "vm-a did not see the device"
lab_device_xml "$floor_alias" >"$floor_xml"
lab_console_mark vm-c
virsh attach-device vm-c "$floor_xml" --live >/dev/null || die "cannot give the floor device to vm-c"
if ! { virsh_quota vm-c "$active_quota" && virsh_quota vm-d "$standby_quota"; }; then
	die "cannot set the quotas"
fi
wait_added vm-c || die "vm-c did not see the device"
say "lab up in $(( ($(now_ns) - t_setup) / 1000000 )) ms; $rounds switch rounds, $failover_rounds failover rounds"

# --- the runs --------------------------------------------------------------

t_runs=$(now_ns)
for r in $(seq "$rounds"); do
	interleaved switch "$r"
done
say "switches done"

# Reads while a switch is in flight (those switches are not counted above:
# the reads load the daemon). Then two baselines, each as long: the same
# reads while the floor switches its own pair (the machine as loaded, the
# daemon idle), and with nothing going on.
for r in $(seq "$rounds"); do
	from=$(holder)
	to=$(other "$from")
	prop=Active
	[ $((r % 2)) = 0 ] && prop=Generation
	lab_console_mark "$to"
	"$bin/bench-bus-latency" get-during-switch "$group" "$to" "$prop" >"$out/get.$r" ||
		die "get-during-switch failed"
	tail -n +2 "$out/get.$r" | awk '{ printf "%.3f\n", $1 / 1000 }' >>"$out/get"
	wait_added "$to" || die "$to did not see the device"
	t=$(awk '{ printf "%d\n", $1 + 1; exit }' "$out/get.$r")

	"$bin/bench-bus-latency" get-idle "$group" "$prop" "$t" >"$out/get-loaded.$r" &
	floor_switch switch.floor-loaded
	wait $! || die "get-idle failed"
	awk '{ printf "%.3f\n", $1 / 1000 }' "$out/get-loaded.$r" >>"$out/get-loaded"

	"$bin/bench-bus-latency" get-idle "$group" "$prop" "$t" |
		awk '{ printf "%.3f\n", $1 / 1000 }' >>"$out/get-idle" || die "get-idle failed"
done
say "bus reads done"

for r in $(seq "$failover_rounds"); do
	interleaved failover "$r"
done
say "failovers done in $(( ($(now_ns) - t_runs) / 1000000 )) ms"

pid=$(cat "$LAB_DIR/hostdev-had.pid")
[ "$(cat "/proc/$pid/comm")" = hostdev-had ] || die "pid $pid is not the daemon"
rss=$(awk '/^VmRSS:/ { print $2, $3 }' "/proc/$pid/status")
hwm=$(awk '/^VmHWM:/ { print $2, $3 }' "/proc/$pid/status")

# --- the report ------------------------------------------------------------

row() {
	local label=$1 f=$2 d fl v
	d=$(sample_stat "$f.daemon" median)
	fl=$(sample_stat "$f.floor" median)
	v=$(sample_stat "$f.virsh" median)
	printf '%-44s | %13s | %18s | %12s | %12s | %12s\n' "$label" "$(ms "$d")" "$(ms "$fl")" "$(ms "$v")" \
		"$(ratio "$d" "$fl")" "$(ratio "$d" "$v")"
}

spread() {
	local label=$1 f=$2 w
	printf '%-44s |' "$label"
	for w in daemon floor virsh; do
		printf ' %s %s-%s (n=%s) |' "$w" "$(sample_stat "$f.$w" min)" "$(sample_stat "$f.$w" max)" "$(sample_stat "$f.$w" count)"
	done
	echo
}

verdict() { awk -v a="$1" -v b="$2" -v k="$3" 'BEGIN { print (a == a + 0 && b == b + 0 && a <= b * k) ? "met" : "NOT met" }'; }

echo
echo "hostdev-ha benchmark: $rounds switch rounds, $failover_rounds failover rounds, interleaved (TCG guests, $(nproc) CPUs)"
printf '%-44s | %13s | %18s | %12s | %12s | %12s\n' operation "daemon median" "C-API floor median" "virsh median" \
	daemon/floor daemon/virsh
printf '%s\n' "---------------------------------------------+---------------+--------------------+--------------+--------------+-------------"
row "switch (call -> all steps done)" switch
row "failover: destroy -> standby holds device" failover
row "failover: destroy -> rebuilt, quota down" failover-full
echo
echo "min-max in ms:"
spread "  switch" switch
spread "  failover: destroy -> standby holds device" failover
spread "  failover: full" failover-full
echo "daemon failover, destroy -> ConnectionChanged signal: median $(ms "$(sample_stat failover-signal.daemon median)")"
get_line() {
	printf 'median %s, p99 %s, max %s, %s of %s reads over 5 ms' "$(ms "$(sample_stat "$1" median)")" \
		"$(ms "$(sample_stat "$1" p99)")" "$(ms "$(sample_stat "$1" max)")" "$(sample_stat "$1" over=5)" \
		"$(sample_stat "$1" count)"
}
echo "bus Get (Active/Generation), sd-bus client, while a switch is in flight: $(get_line get)" \
	"(goal max < 5 ms: $(verdict "$(sample_stat get max)" 5 1))"
echo "bus Get, daemon idle while the C-API floor switches its own pair (same load): $(get_line get-loaded)"
echo "bus Get, daemon idle, nothing in flight: $(get_line get-idle)"
echo "daemon resident memory after the runs: VmRSS $rss (peak VmHWM $hwm)"
echo "goals: switch within 1.1x of the floor: $(verdict "$(sample_stat switch.daemon median)" "$(sample_stat switch.floor median)" 1.1);" \
	"failover within 1.1x of the floor: $(verdict "$(sample_stat failover.daemon median)" "$(sample_stat failover.floor median)" 1.1);" \
	"switch faster than virsh: $(verdict "$(sample_stat switch.daemon median)" "$(sample_stat switch.virsh median)" 1);" \
	"failover faster than virsh: $(verdict "$(sample_stat failover.daemon median)" "$(sample_stat failover.virsh median)" 1)"

# The daemon must also stop cleanly after all that.
lab_daemon_stop
if grep -qE 'corrupted|double free|free\(\)|Assertion|AddressSanitizer|Segmentation' "$LAB_DIR/hostdev-had.log"; then
	echo "WARNING: the daemon did not stop cleanly; the end of its log:"
	tail -n 3 "$LAB_DIR/hostdev-had.log"
	cp "$LAB_DIR/hostdev-had.log" "$abs_top_builddir/tests/bench/hostdev-had.log"
	echo "(kept in $abs_top_builddir/tests/bench/hostdev-had.log)"
fi
