# shellcheck shell=bash
# The chaos lab's faults on a Pacemaker-managed group of one host (sourced
# by chaos-pacemaker.sh, inside the lab).  Each is chaos_pcmk_fault_KIND,
# KIND one of chaos_pcmk_fault_kinds with '-' as '_'; it sets chaos_t0 (ms)
# when it does the harm, puts what it hit in chaos_note, and returns; the
# driver then waits until the group has settled.  Randomness only from
# chaos-random.sh.  A service the fault stops it starts again itself after a
# random delay, as systemd would; what dies with it (libvirtd with the bus)
# the driver's supervisor starts again.

# shellcheck disable=SC2034 # chaos-pacemaker.sh draws from it
chaos_pcmk_fault_kinds=(
	kill-holder-qemu  # SIGKILL of the holder's QEMU
	kill-standby-qemu # SIGKILL of a standby's QEMU
	kill-daemon       # SIGKILL of hostdev-had, started again 0-1.5 s later
	crm-fail-holder   # crm_resource --fail of the promoted instance
	switch            # hostdevctl switch to a standby (Pacemaker carries it out)
	score-switch      # the promoted instance's score to -INFINITY (Pacemaker's side of a switch)
	restart-bus       # dbus-daemon stopped, started again 0-1 s later
)

# chaos_pcmk_qemu_kill DOMAIN: back once libvirt has seen the QEMU die, so
# that the driver never takes the state before the crash for a settled one.
chaos_pcmk_qemu_kill() {
	[ -s "/run/libvirt/qemu/$1.pid" ] || { chaos_note="$chaos_note ($1 has no QEMU)"; return 0; }
	lab_qemu_kill "$1" || chaos_note="$chaos_note (libvirt did not see $1's QEMU die)"
}

chaos_pcmk_fault_kill_holder_qemu() {
	local h
	h=$(chaos_holder nic0)
	chaos_note=$h
	chaos_t0=$(chaos_now_ms)
	chaos_pcmk_qemu_kill "$h"
}

chaos_pcmk_fault_kill_standby_qemu() {
	chaos_pick "$(chaos_standbys nic0)"
	chaos_note=$REPLY
	chaos_t0=$(chaos_now_ms)
	chaos_pcmk_qemu_kill "$REPLY"
}

chaos_pcmk_fault_kill_daemon() {
	chaos_t0=$(chaos_now_ms)
	lab_daemon_kill
	chaos_sleep_ms 1500
	lab_daemon_start >/dev/null 2>&1 || chaos_note="$chaos_note (not started again)"
}

chaos_pcmk_fault_crm_fail_holder() {
	local i
	i=$(chaos_pcmk_promoted)
	chaos_note="${i:-nothing promoted}"
	chaos_t0=$(chaos_now_ms)
	crm_resource --fail -r "$i" -N lab-node1 >/dev/null 2>&1 || chaos_note="$chaos_note (crm_resource --fail failed)"
}

chaos_pcmk_fault_switch() {
	chaos_pick "$(chaos_standbys nic0)"
	chaos_note="to $REPLY"
	chaos_t0=$(chaos_now_ms)
	timeout 120 "$CHAOS_CTL" switch nic0 "$REPLY" >>"$CHAOS_OUT/calls.log" 2>&1 ||
		chaos_note="$chaos_note (hostdevctl switch failed)"
}

chaos_pcmk_fault_score_switch() {
	local i
	i=$(chaos_pcmk_promoted)
	chaos_note="${i:-nothing promoted}"
	chaos_t0=$(chaos_now_ms)
	crm_attribute --promotion="$i" --update=-INFINITY >/dev/null 2>&1 ||
		chaos_note="$chaos_note (crm_attribute failed)"
}

chaos_pcmk_fault_restart_bus() {
	chaos_t0=$(chaos_now_ms)
	lab_bus_stop
	chaos_sleep_ms 1000
	chaos_bus_start
}
