#!/bin/bash
# The guests' own signals (docs/guest-channel.md) on the lab, policy auto:
# two guests with the channel org.hostdevha.guest.0 and hostdev-ha-guest
# heartbeating in each (guest/init), GuestHeartbeatSec=3. Requests refused
# and honoured by GuestRequests=; bad input from a guest changes nothing;
# the daemon restarted reconnects every guest without a failover; a standby
# that stops heartbeating is rebuilt, not promoted; a failing health check
# and a hung kernel (inject-nmi with unknown_nmi_panic: no libvirt event)
# fail the holder over. Outcomes and reasons are checked, times only
# printed.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"

alias=ua-hostdev-nic0
conf=$LAB_DAEMON_CONFIG/groups.d/nic0.conf
log=$LAB_DIR/hostdev-had.log

teardown() {
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
role() { lab_daemon_get nic0 Members | grep -o "\"$1\" \"[a-z]*\"" | cut -d'"' -f4; }
idle() { [ "$(lab_daemon_get nic0 Operation)" = 's ""' ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# connected DOMAIN: GuestChannels says its guest is connected.
connected() { lab_daemon_get nic0 GuestChannels | grep -q "\"$1\" true"; }

# settled HOLDER: idle, HOLDER holds the device by the table and alone by
# both live XMLs, both members running as active/standby.
settled() {
	local h=$1 o
	o=$(other "$1")
	lab_wait_for 60 idle || { diag "still busy: $(lab_daemon_get nic0 Operation)"; return 1; }
	[ "$(holder)" = "$h" ] || { diag "table holder '$(holder)', expected '$h'"; return 1; }
	lab_device_exclusive --alias "$alias" "$h" vm-a vm-b || return 1
	lab_wait_for 60 eval '[ "$(role "$o")" = standby ]' || { diag "role of $o: $(role "$o")"; return 1; }
	[ "$(role "$h")" = active ] || { diag "role of $h: $(role "$h")"; return 1; }
}

# both_connected: each guest speaks on its channel (after a boot: its tool
# started and the daemon connected).
both_connected() { lab_wait_for 60 eval 'connected vm-a && connected vm-b'; }

# guest_run [--twice] DOMAIN ARG...: hostdev-ha-guest ARG... inside
# DOMAIN (twice back to back: the second within the rate limit); prints the
# last exit status (from the console line "GUEST run ARG... rc=N"). A
# guest's requests are 2 s apart otherwise (HDHA_GUEST_REQUEST_INTERVAL_USEC),
# so that the limit refuses only the second of --twice. (It runs in $(...):
# when each guest last asked is kept in a file.)
# runs_seen DOMAIN ARGS N: the console has N answers to "run ARGS" since the mark.
runs_seen() { [ "$(lab_console_since "$1" | grep -cE "^GUEST run $2 rc=[0-9]+\$")" -ge "$3" ]; }
guest_run() {
	local cmd=run want=1 d wait
	if [ "$1" = --twice ]; then
		cmd=run-twice want=2
		shift
	fi
	d=$1
	shift
	wait=$(($(cat "$LAB_DIR/$d.last-request" 2>/dev/null || echo 0) + 2100 - $(now_ms)))
	[ "$wait" -le 0 ] || sleep "$(printf '%d.%03d' $((wait / 1000)) $((wait % 1000)))"
	lab_console_mark "$d"
	lab_guest_command "$d" "$cmd" "$@" || return 1
	lab_wait_for 30 runs_seen "$d" "$*" "$want" ||
		{ diag "no answer to '$*' on the console of $d"; return 1; }
	now_ms >"$LAB_DIR/$d.last-request"
	lab_console_since "$d" | sed -n "s/^GUEST run $* rc=\([0-9]*\)\$/\1/p" | tail -n 1
}

# log_since MARK PATTERN: the daemon's log has PATTERN after line MARK.
log_lines() { wc -l <"$log"; }
log_since() { tail -n +$(($1 + 1)) "$log" | grep -qF -- "$2"; }

reload_with() {
	sed -i "/^$1=/d" "$conf" && echo "$1=$2" >>"$conf" && lab_daemon_call Reload >/dev/null
}

lab_bus_start
check "libvirtd starts" lab_libvirt_start
check "guests with the channel boot" eval 'lab_guest_define vm-a --with-channel && lab_guest_define vm-b --with-channel &&
	lab_guest_start vm-a && lab_guest_start vm-b'
check "... and their heartbeat starts" eval 'lab_console_wait vm-a "^GUEST heartbeat started$" 30 &&
	lab_console_wait vm-b "^GUEST heartbeat started$" 30'
lab_daemon_group nic0 auto vm-a vm-b
# A rebuilt standby boots again under its quota: the default 10% of a core
# makes that 40 s under TCG; the quotas themselves are test-lab-failover's.
printf 'GuestHeartbeatSec=3\nStandbyVcpuQuota=50000\n' >>"$conf"
check "daemon starts" lab_daemon_start
check "device to vm-a" lab_daemon_call Switch ssb nic0 vm-a false
check "vm-a holds it" settled vm-a
check "both guests connected (GuestChannels)" both_connected
diag "GuestChannels: $(lab_daemon_get nic0 GuestChannels)"
check "hostdevctl status nic0 shows both guests beside their roles" eval '"$LAB_CTL" status nic0 >"$LAB_DIR/status.out" &&
	grep -qE "^     Members: vm-a  active   guest: (heartbeat [0-9]+\.[0-9] s ago|connected)\$" "$LAB_DIR/status.out" &&
	grep -qE "^              vm-b  standby  guest: (heartbeat [0-9]+\.[0-9] s ago|connected)\$" "$LAB_DIR/status.out" ||
	{ diag "$(cat "$LAB_DIR/status.out")"; false; }'

# --- Requests ---------------------------------------------------------------
check "status from vm-a's guest: active" eval '[ "$(lab_console_mark vm-a; lab_guest_command vm-a run status;
	lab_console_wait vm-a "^GUEST run status rc=0$" 30 >&2 && lab_console_since vm-a | grep -x active)" = active ]'

m=$(log_lines)
check "GuestRequests=none: release refused (exit 5)" eval '[ "$(guest_run vm-a release)" = 5 ]'
check "... logged as not-allowed" log_since "$m" "asked for release: refused, not-allowed"
check "... and nothing moved" settled vm-a

check "reload: GuestRequests=release" reload_with GuestRequests release
m=$(log_lines)
check "takeover from vm-b refused (exit 5)" eval '[ "$(guest_run vm-b takeover)" = 5 ]'
check "... logged as not-allowed" log_since "$m" "asked for takeover: refused, not-allowed"
check "release from the standby vm-b refused (exit 8)" eval '[ "$(guest_run vm-b release)" = 8 ]'
check "... nothing moved" settled vm-a
check "release from vm-a's guest accepted (exit 0)" eval '[ "$(guest_run vm-a release)" = 0 ]'
check "... the device goes to vm-b" settled vm-b

check "reload: GuestRequests=takeover" reload_with GuestRequests takeover
both_connected
m=$(log_lines)
check "takeover from the standby vm-a accepted (exit 0)" eval '[ "$(guest_run vm-a takeover)" = 0 ]'
check "... vm-b failed over: vm-a holds the device, vm-b rebuilt as standby" settled vm-a
check "... vm-b taken as failed by the takeover" log_since "$m" "nic0/vm-b: active --guest-takeover--> failed"
check "... vm-b was rebuilt (booted again)" lab_console_wait vm-b '^READY$' 60
check "takeover from the holder vm-a refused (exit 9)" eval '[ "$(guest_run vm-a takeover)" = 9 ]'
check "a second request within 2 s refused as rate-limit (exit 4)" eval '[ "$(guest_run --twice vm-a takeover)" = 4 ]'
check "... nothing moved" settled vm-a

# --- Bad input: nothing changes -------------------------------------------------
both_connected
gen=$(lab_daemon_get nic0 Generation)
m=$(log_lines)
check "bad input from vm-b's guest (garbage, overlong, flood, half line)" eval 'lab_console_mark vm-b;
	lab_guest_command vm-b bad-input && lab_console_wait vm-b "^GUEST bad-input done$" 30'
check "a guest that never reads its replies" eval 'lab_console_mark vm-b;
	lab_guest_command vm-b no-read && lab_console_wait vm-b "^GUEST no-read done$" 30'
for what in not-text unknown-verb extra-argument bad-spacing bad-argument too-long; do
	check "... '$what' named in the log" log_since "$m" "ignoring a line from the guest: $what"
done
check "... the flood cut to 20 lines a second" log_since "$m" "more than 20 lines a second, dropping the excess"
check "... no member failed, nothing moved" eval '! log_since "$m" "failed" && settled vm-a'
check "... the generation is unchanged" test "$(lab_daemon_get nic0 Generation)" = "$gen"
check "... vm-b's guest connected again" both_connected

# --- The daemon restarted -------------------------------------------------------
check "daemon stops" lab_daemon_stop
sleep 4 # longer than GuestHeartbeatSec: the guests' beats go nowhere meanwhile
m=$(log_lines)
check "daemon starts again" lab_daemon_start
check "every guest reconnected" both_connected
sleep 4 # a lost heartbeat would show by now
check "... no failover, no failure" eval '! log_since "$m" "failed" && settled vm-a'

# --- A standby stops heartbeating: rebuilt, not promoted ---------------------------
m=$(log_lines)
lab_console_mark vm-b
check "vm-b's guest stops heartbeating" eval 'lab_guest_command vm-b heartbeat-stop &&
	lab_console_wait vm-b "^GUEST heartbeat stopped$" 30'
check "... vm-b is failed for a lost heartbeat" eval 'lab_wait_for 30 log_since "$m" "'"'vm-b'"' failed: guest heartbeat lost"'
check "... and rebuilt (booted again)" lab_console_wait vm-b '^READY$' 60
check "... not promoted: vm-a keeps the device, vm-b standby again" settled vm-a
check "... its guest connected again" both_connected

# --- A failing health check on the holder: failover ---------------------------------
m=$(log_lines)
check "vm-a's health check fails" lab_guest_command vm-a check-fail
check "... vm-a failed, reason the health check" eval 'lab_wait_for 30 log_since "$m" "'"'vm-a'"' failed: guest health check failed"'
check "... failed over: vm-b holds the device, vm-a rebuilt" settled vm-b
both_connected

# --- A hung kernel: no libvirt event, the heartbeat is lost ------------------------------
m=$(log_lines)
t=$(now_ms)
check "vm-b's kernel hung (inject-nmi, unknown_nmi_panic)" virsh inject-nmi vm-b
check "... failed over: vm-a holds the device" eval 'lab_wait_for 30 eval "[ \"\$(holder)\" = vm-a ]"'
diag "hung kernel -> vm-a holds the device: $(($(now_ms) - t)) ms (GuestHeartbeatSec=3)"
check "... the reason: guest heartbeat lost" log_since "$m" "'vm-b' failed: guest heartbeat lost"
check "... failed by its guest's silence, not by a libvirt event" eval 'log_since "$m" "nic0/vm-b: active --guest-failed--> failed" &&
	! log_since "$m" "nic0/vm-b: active --crashed-->" && ! log_since "$m" "nic0/vm-b: active --panic-->"'
check "... vm-b rebuilt, vm-a active" settled vm-a
tap_done
