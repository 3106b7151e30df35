#!/bin/bash
# The daemon idle: its memory, threads and wake-ups with 1 and with 100
# groups (and what a group costs), on libvirt's test driver (no libvirtd:
# the domains are defined in a node file, running) and a private
# dbus-daemon; Corosync absent ([Cluster] Enabled=auto, the default). For
# each size: VmRSS, RssAnon, RssFile, Pss, Private_Dirty, the threads, and
# the wake-ups (voluntary and involuntary context switches of every thread)
# over BENCH_FOOTPRINT_IDLE_S seconds of idleness after start-up settled,
# per minute. Run by `make bench-footprint`; BENCH_FOOTPRINT_IDLE_S
# (default 60), BENCH_FOOTPRINT_SETTLE_S (how long after start-up the
# count begins, default 3), BENCH_FOOTPRINT_GROUPS (default '1 100'),
# HOSTDEV_HAD (the daemon, default the build's).
set -eu
builddir=${abs_top_builddir:?run by make bench-footprint}
daemon=${HOSTDEV_HAD:-$builddir/hostdev-had}
idle=${BENCH_FOOTPRINT_IDLE_S:-60}
work=$(mktemp -d "$builddir/tests/bench/footprint.XXXXXX")
# shellcheck source=tests/bench/bench-bus.sh
. "${abs_top_srcdir:?}/tests/bench/bench-bus.sh"
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi
	if [ -n "$bench_bus_pid" ]; then kill "$bench_bus_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

bench_bus_start "$work"
address=$bench_bus_address

# setup N: N groups of two running test-driver domains, policy manual.
setup() {
	local n=$1 i name
	rm -rf "$work/conf" "$work/state"
	mkdir -p "$work/conf/groups.d" "$work/state"
	{
		echo '<node>'
		for ((i = 0; i < n; i++)); do
			printf -v name 'g%04d' "$i"
			printf "<domain type='test'><name>%s-a</name><memory>8192</memory><vcpu>1</vcpu>" "$name"
			printf "<os><type>hvm</type></os></domain>\n"
			printf "<domain type='test'><name>%s-b</name><memory>8192</memory><vcpu>1</vcpu>" "$name"
			printf "<os><type>hvm</type></os></domain>\n"
		done
		echo '</node>'
	} >"$work/node.xml"
	cat >"$work/conf/hostdev-ha.conf" <<-EOF
		[Daemon]
		LibvirtURI=test://$work/node.xml
		StateDirectory=$work/state
	EOF
	for ((i = 0; i < n; i++)); do
		printf -v name 'g%04d' "$i"
		printf "<interface type='user'><mac address='52:54:00:01:%02x:%02x'/><model type='e1000e'/></interface>\n" \
			$((i / 256)) $((i % 256)) >"$work/conf/$name.xml"
		printf '[Group]\nDeviceXML=%s\nDomains=%s-a %s-b\nPolicy=manual\n' "$work/conf/$name.xml" "$name" "$name" \
			>"$work/conf/groups.d/$name.conf"
	done
}

# switches PID: "TID SWITCHES" for every thread, voluntary + involuntary.
switches() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v tid="${t##*/}" '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print tid, n }' "$t/status"
	done
}

field() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }

printf '| groups | VmRSS kB | RssAnon kB | RssFile kB | Pss kB | Private_Dirty kB | threads | wake-ups per minute (per thread) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for n in ${BENCH_FOOTPRINT_GROUPS:-1 100}; do
	setup "$n"
	DBUS_SYSTEM_BUS_ADDRESS=$address "$daemon" --config-dir="$work/conf" >"$work/log-$n" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 100); do
		grep -q "reconciled\|Reconciled" "$work/log-$n" 2>/dev/null && break
		busctl --address="$address" status org.hostdevha.Manager1 >/dev/null 2>&1 && break
		sleep 0.1
	done
	sleep "${BENCH_FOOTPRINT_SETTLE_S:-3}" # start-up settles
	switches "$daemon_pid" >"$work/before"
	sleep "$idle"
	switches "$daemon_pid" >"$work/after"
	status=/proc/$daemon_pid/status
	rollup=/proc/$daemon_pid/smaps_rollup
	wakeups=$(join "$work/before" "$work/after" |
		awk -v s="$idle" '{ d = ($3 - $2) * 60 / s; total += d; per = per sep sprintf("%.0f", d); sep = " " }
			END { printf "%.0f (%s)", total, per }')
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(field VmRSS "$status")" "$(field RssAnon "$status")" \
		"$(field RssFile "$status")" "$(field Pss "$rollup")" "$(field Private_Dirty "$rollup")" \
		"$(field Threads "$status")" "$wakeups"
	kill "$daemon_pid"
	wait "$daemon_pid" || true
	daemon_pid=
done
