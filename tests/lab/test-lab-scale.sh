#!/bin/bash
# Many groups on the lab: LAB_SCALE_GROUPS groups (default 4) of two guests,
# policy auto. Every holder's QEMU is killed at once; every group recovers
# on its other guest, the killed one rebuilt as a standby; and back the
# other way. Throughout, libvirtd's own events (virsh event) and a sampler
# of the live XML witness that no group's device was ever on two guests.
# The times are printed as diagnostics; make bench-lab-scale measures them.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"
# shellcheck source=tests/lab/lab-scale.sh
. "$LAB_HOME/lab-scale.sh"

n=${LAB_SCALE_GROUPS:-4}

teardown() {
	lab_scale_sampler_stop
	lab_scale_watch_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

# kill_all FROM TO: every gI-FROM killed at once; each group on gI-TO.
kill_all() {
	local from=$1 to=$2 i t0 holders=()
	for ((i = 0; i < n; i++)); do
		holders+=("g$i-$from")
		lab_console_mark "g$i-$from"
	done
	t0=$(lab_scale_kill "${holders[@]}")
	for ((i = 0; i < n; i++)); do
		check "g$i: on g$i-$to alone, g$i-$from rebuilt as a standby" lab_scale_settled "$i" "g$i-$to"
	done
	for ((i = 0; i < n; i++)); do
		diag "g$i: kill -> device-added on g$i-$to: $(lab_scale_added_ms "$t0" "g$i-$to") ms"
	done
	for ((i = 0; i < n; i++)); do
		check "g$i-$from booted again" lab_console_wait "g$i-$from" '^READY$' "$LAB_GUEST_BOOT_TIMEOUT"
	done
}

lab_bus_start
check "libvirtd starts" lab_libvirt_start
check "$n groups of two guests booted, the daemon started, each device given to gI-a" lab_scale_setup "$n"
for ((i = 0; i < n; i++)); do
	check "g$i on g$i-a alone" lab_scale_settled "$i" "g$i-a"
done

lab_scale_watch_start
lab_scale_sampler_start
kill_all a b
kill_all b a
lab_scale_sampler_stop
lab_scale_watch_stop

bad=$(lab_scale_witness_bad)
check "libvirtd's events: no device added while another guest of its group held it" eval '[ -z "$bad" ]'
[ -z "$bad" ] || diag "$bad"
check "... and every group's device was added twice" \
	eval '[ "$(grep -c "event '"'"'device-added'"'"'" "$LAB_DIR/scale-events")" -ge $((2 * n)) ]'
bad=$(lab_scale_sampler_bad)
check "the sampler: no group on two guests in two rounds in a row" eval '[ -z "$bad" ]'
[ -z "$bad" ] || diag "$bad"
diag "sampler rounds: $(tail -n 1 "$LAB_DIR/scale-samples" | cut -d' ' -f1)"
check "the daemon logged no error" eval '! grep -q "^error:" "$LAB_DIR/hostdev-had.log"'
tap_done
