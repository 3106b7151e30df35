# shellcheck shell=bash
# The chaos lab's faults (sourced by chaos.sh, inside the lab).  Each is
# chaos_fault_KIND GROUP, KIND one of chaos_fault_kinds with '-' as '_'.
# A fault sets chaos_t0 (ms) when it does the harm, adds what it hit to
# chaos_note, and returns; the driver then waits for every group to settle.
# What a fault starts and leaves running (a hostdevctl call that waits for
# its operation) goes through chaos_bg.  Randomness only from chaos-random.sh, so
# that a seed replays the same choices.
#
# A service the fault stops is started again by the fault itself, as
# systemd would, after a random delay; what dies as a consequence (libvirtd
# when the bus goes away) is started again by the driver's supervisor.

# shellcheck disable=SC2034 # chaos.sh draws from it
chaos_fault_kinds=(
	kill-holder-qemu     # SIGKILL of the holder's QEMU
	kill-standby-qemu    # SIGKILL of a standby's QEMU
	destroy-member       # virsh destroy of any member
	pause-resume         # any member paused for 0.5-3 s, then resumed
	switch-paused-holder # the holder paused, then asked to switch away
	racing-switches      # two hostdevctl switch at once, to both standbys
	kill-daemon          # SIGKILL of hostdev-had, started again 0-1.5 s later
	kill-daemon-mid-switch
	restart-libvirtd     # SIGTERM, started again
	kill-libvirtd-mid-switch
	restart-bus          # dbus-daemon stopped, started again 0-1 s later
	hook-failing         # the hook fails while a member's QEMU is killed
	reload-mid-switch    # hostdevctl reload (a changed file) during a switch
)

# shellcheck disable=SC2034 # chaos.sh reads it
chaos_mark() { chaos_t0=$(chaos_now_ms); }

# chaos_qemu_kill DOMAIN: back once libvirt has seen the QEMU die, so that
# the driver never takes the state before the crash for a settled one.
chaos_qemu_kill() {
	[ -s "/run/libvirt/qemu/$1.pid" ] || { chaos_note="$chaos_note ($1 has no QEMU)"; return 0; }
	lab_qemu_kill "$1" || chaos_note="$chaos_note (libvirt did not see $1's QEMU die)"
}

# chaos_switch_in_flight GROUP TARGET: a switch started in the background
# and seen in flight (or already done: a quick one may end first).
chaos_switch_in_flight() {
	chaos_bg "$CHAOS_CTL" switch "$1" "$2"
	lab_wait_for 5 chaos_busy "$1" || chaos_note="$chaos_note (switch not seen in flight)"
}

# chaos_step_note GROUP: what the table file says GROUP was doing, into the
# note ("in switch/attaching", "idle"): where a kill landed.
chaos_step_note() {
	local s
	s=$(jq -r 'if .operation == "none" then "idle" else "in \(.operation)/\(.step)" end' \
		"$LAB_DAEMON_STATE/table.d/$1.json" 2>/dev/null)
	chaos_note="$chaos_note (${s:-table unread})"
}

chaos_fault_kill_holder_qemu() {
	local h
	h=$(chaos_holder "$1")
	chaos_note=$h
	chaos_mark
	chaos_qemu_kill "$h"
}

chaos_fault_kill_standby_qemu() {
	chaos_pick "$(chaos_standbys "$1")"
	chaos_note=$REPLY
	chaos_mark
	chaos_qemu_kill "$REPLY"
}

chaos_fault_destroy_member() {
	chaos_pick "$(chaos_members "$1")"
	chaos_note=$REPLY
	chaos_mark
	virsh destroy "$REPLY" >/dev/null
}

chaos_fault_pause_resume() {
	local d
	chaos_pick "$(chaos_members "$1")"
	d=$REPLY
	chaos_note=$d
	chaos_mark
	virsh suspend "$d" >/dev/null
	sleep 0.5
	chaos_sleep_ms 2500
	virsh resume "$d" >/dev/null
}

chaos_fault_switch_paused_holder() {
	local h
	h=$(chaos_holder "$1")
	chaos_pick "$(chaos_standbys "$1")"
	chaos_note="$h -> $REPLY"
	chaos_mark
	virsh suspend "$h" >/dev/null
	chaos_bg "$CHAOS_CTL" switch "$1" "$REPLY"
}

chaos_fault_racing_switches() {
	local -a s
	read -r -a s <<<"$(chaos_standbys "$1")"
	chaos_note="${s[*]}"
	chaos_mark
	chaos_bg "$CHAOS_CTL" switch "$1" "${s[0]}"
	chaos_bg "$CHAOS_CTL" switch "$1" "${s[1]:-${s[0]}}"
}

chaos_fault_kill_daemon() {
	chaos_mark
	lab_daemon_kill
	chaos_sleep_ms 1500
	lab_daemon_start
}

chaos_fault_kill_daemon_mid_switch() {
	chaos_pick "$(chaos_standbys "$1")"
	chaos_note="switch to $REPLY"
	chaos_switch_in_flight "$1" "$REPLY"
	chaos_sleep_ms 200
	chaos_mark
	lab_daemon_kill
	chaos_step_note "$1"
	chaos_sleep_ms 1500
	lab_daemon_start
}

chaos_fault_restart_libvirtd() {
	chaos_mark
	lab_kill_pidfile "$LAB_DIR/libvirtd.pid"
	lab_libvirt_start
}

chaos_fault_kill_libvirtd_mid_switch() {
	chaos_pick "$(chaos_standbys "$1")"
	chaos_note="switch to $REPLY"
	chaos_switch_in_flight "$1" "$REPLY"
	chaos_sleep_ms 200
	chaos_mark
	lab_libvirtd_kill
	chaos_step_note "$1"
	chaos_sleep_ms 2000
	lab_libvirt_start
}

chaos_fault_restart_bus() {
	chaos_mark
	lab_bus_stop
	chaos_sleep_ms 1000
	chaos_bus_start
}

chaos_fault_hook_failing() {
	local hook=$LAB_LIBVIRT_HOOKS_DIR/hostdev-ha
	chaos_pick "$(chaos_members "$1")"
	chaos_note=$REPLY
	printf '#!/bin/sh\necho "chaos: the hook fails on purpose" >&2\nexit 1\n' >"$hook.new"
	chmod 0755 "$hook.new"
	mv -f "$hook.new" "$hook"
	chaos_mark
	chaos_qemu_kill "$REPLY"
	sleep 1
	chaos_sleep_ms 2000
	install -m 0755 "$LAB_HOOK" "$hook.new"
	mv -f "$hook.new" "$hook"
}

chaos_fault_reload_mid_switch() {
	local f t
	chaos_pick "$(chaos_standbys "$1")"
	chaos_note="switch to $REPLY"
	chaos_switch_in_flight "$1" "$REPLY"
	chaos_mark
	# A real change, so that the reload has something to apply.
	for f in "$LAB_DAEMON_CONFIG"/groups.d/*.conf; do
		t=$(sed -n 's/^ReleaseTimeoutSec=//p' "$f")
		sed -i "s/^ReleaseTimeoutSec=.*/ReleaseTimeoutSec=$((t == 5 ? 6 : 5))/" "$f"
	done
	chaos_bg "$CHAOS_CTL" reload
}
