#!/bin/bash
# Many groups on the lab (real libvirtd, TCG guests): BENCH_LAB_SCALE_GROUPS
# groups (default 4) of two guests, policy auto. Round after round, in one
# run: the holder of one group killed (the others idle), then every holder
# killed at once. Each time, from the SIGKILL to libvirtd's device-added on
# the standby (virsh event's own stamps). Prints medians (min-max); the
# killed guests are rebuilt and booted again before the next round. Run by
# `make bench-lab-scale`; BENCH_LAB_SCALE_ROUNDS (default 3).
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"
# shellcheck source=tests/lab/lab-scale.sh
. "$LAB_HOME/lab-scale.sh"

n=${BENCH_LAB_SCALE_GROUPS:-4}
rounds=${BENCH_LAB_SCALE_ROUNDS:-3}
out=$LAB_DIR/bench
mkdir -p "$out"

teardown() {
	lab_scale_watch_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

die() { echo "bench-lab-scale: $*" >&2; exit 1; }
other() { case $1 in *-a) echo "${1%-a}-b" ;; *) echo "${1%-b}-a" ;; esac; }

# kill_and_time FILE GROUP...: the holders of the groups killed at once;
# one line per group in FILE: ms to device-added on its other guest.
kill_and_time() {
	local file=$1 g i t0 ms holders=() to=()
	shift
	for g in "$@"; do
		i=${g#g}
		holders+=("$(lab_scale_holder "$g")")
		to+=("$(other "${holders[-1]}")")
		lab_console_mark "${holders[-1]}"
	done
	t0=$(lab_scale_kill "${holders[@]}")
	for ((k = 0; k < ${#to[@]}; k++)); do
		i=${to[k]%-?}
		lab_scale_settled "${i#g}" "${to[k]}" >/dev/null || die "group $i did not recover on ${to[k]}"
	done
	for ((k = 0; k < ${#to[@]}; k++)); do
		ms=$(lab_scale_added_ms "$t0" "${to[k]}")
		[ -n "$ms" ] || die "no device-added on ${to[k]}"
		echo "$ms" >>"$file"
		lab_console_wait "${holders[k]}" '^READY$' "$LAB_GUEST_BOOT_TIMEOUT" || die "${holders[k]} did not boot again"
	done
}

stat_line() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.0f ms (%.0f-%.0f)", m, v[1], v[NR] }'
}

lab_bus_start
lab_libvirt_start || die "libvirtd did not start"
lab_scale_setup "$n" || die "setup failed"
lab_scale_watch_start
groups=()
for ((i = 0; i < n; i++)); do groups+=("g$i"); done
for ((r = 1; r <= rounds; r++)); do
	echo "# round $r" >&2
	kill_and_time "$out/one" g0
	: >"$out/all-$r"
	kill_and_time "$out/all-$r" "${groups[@]}"
	cat "$out/all-$r" >>"$out/all"
	sort -g "$out/all-$r" | tail -n 1 >>"$out/last"
done
lab_scale_watch_stop
bad=$(lab_scale_witness_bad)
[ -z "$bad" ] || die "the device was on two guests: $bad"

echo "| $n groups of two TCG guests, policy auto, $rounds rounds | SIGKILL -> device-added on the standby, median (min-max) |"
echo "|---|---|"
echo "| one group's holder killed, the others idle | $(stat_line "$out/one") |"
echo "| every holder killed at once: each group | $(stat_line "$out/all") |"
echo "| every holder killed at once: the last group of the round | $(stat_line "$out/last") |"
