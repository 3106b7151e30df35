#!/bin/bash
# hostdevctl against the real hostdev-had on the lab (real libvirtd and
# guests, the private bus with the project's policy): every verb, text and
# JSON output, status --cluster of a host in no cluster, exit statuses of
# the failure paths (unknown group, busy, frozen, nothing to do, not a
# standby, access denied as nobody, daemon not running), --no-block, monitor
# catching a switch (text and JSON), the bash completion, and the latency of
# "hostdevctl status".
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"

CTL=$LAB_CTL
COMPLETION=$abs_top_srcdir/tools/hostdevctl.bash-completion
[ -x "$CTL" ] || lab_die "'$CTL' is missing: run make"
command -v jq >/dev/null || lab_die "jq is missing (Debian package jq; scripts/setup-debian.sh)"
alias=ua-hostdev-nic0
NOBODY_GID=$(id -g nobody)

monitors=()
teardown() {
	local p
	for p in "${monitors[@]}"; do kill "$p" 2>/dev/null; done
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

exclusive() { lab_device_exclusive --alias "$alias" "$1" vm-a vm-b; }

# run [--as nobody] ARG...: hostdevctl, its stdout in $out, stderr in $err,
# exit status in $rc.
run() {
	local as=()
	if [ "${1:-}" = --as ]; then
		as=(setpriv --reuid="$2" --regid="$NOBODY_GID" --clear-groups)
		shift 2
	fi
	out=$("${as[@]}" "$CTL" "$@" 2>"$LAB_DIR/ctl.err")
	rc=$?
	err=$(cat "$LAB_DIR/ctl.err")
	diag "hostdevctl $* -> $rc${out:+ | ${out:0:300}}${err:+ | ${err:0:300}}"
}
# exits CODE ARG...: hostdevctl ARG... exits with CODE.
exits() {
	local want=$1
	shift
	run "$@"
	[ "$rc" = "$want" ]
}
# fails CODE TEXT ARG...: exits with CODE and says TEXT on stderr.
fails() {
	local want=$1 text=$2
	shift 2
	exits "$want" "$@" || return 1
	[[ $err == *"$text"* ]] || { diag "stderr lacks '$text'"; return 1; }
}
# says REGEX ARG...: succeeds and prints a line matching REGEX.
says() {
	local re=$1
	shift
	run "$@"
	[ "$rc" = 0 ] && grep -qE -- "$re" <<<"$out"
}
# json FILTER ARG...: succeeds and jq -e FILTER holds for its output.
json() {
	local filter=$1
	shift
	run "$@"
	[ "$rc" = 0 ] && jq -e "$filter" <<<"$out" >/dev/null
}
role() { "$CTL" --json status nic0 | jq -r --arg d "$1" '.members[] | select(.domain == $d) | .role'; }
idle() { [ "$("$CTL" --json status nic0 | jq -r .busy)" = false ]; }

# complete WORD...: the bash completion's answer for the command line.
complete_words() {
	(
		# shellcheck source=tools/hostdevctl.bash-completion
		. "$COMPLETION"
		PATH=$(dirname "$CTL"):$PATH
		COMP_WORDS=(hostdevctl "$@")
		COMP_CWORD=$#
		_hostdevctl
		echo "${COMPREPLY[*]}"
	)
}

lab_bus_start
check "libvirtd starts" lab_libvirt_start
check "guests defined and booted" eval 'lab_guest_define vm-a && lab_guest_define vm-b &&
	lab_guest_start vm-a && lab_guest_start vm-b'
lab_daemon_group nic0 manual vm-a vm-b
# A paused holder keeps a switch in flight (see Busy below) for as long as
# the test needs. A rebuilt standby boots under its quota: half a core, not
# the default 10% (40 s under TCG).
sed -i 's/^ReleaseTimeoutSec=.*/ReleaseTimeoutSec=60/' "$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
echo "StandbyVcpuQuota=50000" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"

# --- Not running yet --------------------------------------------------------------
check "daemon not running: status exits 6" fails 6 "hostdev-had is not running" status
check "no bus at all: exits 6" eval 'DBUS_SYSTEM_BUS_ADDRESS=unix:path=$LAB_DIR/nonexistent exits 6 status'
check "hostdev-had starts" lab_daemon_start

# --- Usage -------------------------------------------------------------------------
check "--help lists the verbs" says '^  switch GROUP DOMAIN' --help
check "switch --help" says '^Usage: hostdevctl \[OPTION...\] switch GROUP DOMAIN' switch --help
check "unknown verb: 2" fails 2 "Unknown verb 'bogus'" bogus
check "missing argument: 2" fails 2 "takes the arguments GROUP DOMAIN" switch nic0
check "unknown option: 2" exits 2 --bogus status
check "--force on release: 2" exits 2 release nic0 --force

# --- Status ------------------------------------------------------------------------
check "status: header and one line for nic0" eval 'says "^hostdev-had: 1 group, libvirt connected$" status &&
	grep -qE "^nic0 +[^ ]+nic0-device.xml +- +vm-a=standby vm-b=standby +[0-9]+ +- +manual +no$" <<<"$out"'
no_colour() { run status && ! grep -q $'\033' <<<"$out"; }
check "status: no colour when not a terminal" no_colour
check "no verb is status" says '^hostdev-had: 1 group'
check "status --json" json '.connected == true and (.groups | length) == 1 and .groups[0].group == "nic0" and
	.groups[0].active == null and .groups[0].operation == null and .groups[0].policy == "manual" and
	.groups[0].frozen == false and .groups[0].busy == false and (.groups[0].generation | type) == "number" and
	.groups[0].members == [{"domain":"vm-a","role":"standby"},{"domain":"vm-b","role":"standby"}]' status --json
check "status nic0" says '^     Members: vm-a  standby$' status nic0
check "status nic0 --json" json '.group == "nic0" and .connected == true and (.device | endswith("nic0-device.xml"))' \
	--json status nic0
check "status of an unknown group: 3, the daemon's message" fails 3 "No group 'nic9'" status nic9
check "status of a bad name: 2" fails 2 "Invalid group name" status ../nic0
# The cluster view of a host in no cluster: not connected, no tokens, the
# group once under this host's name.
host=$(uname -n)
check "status --cluster: not connected, nic0 once under this host's name" eval 'says "^Cluster: not connected$" \
	status --cluster && grep -qE "^nic0 +$host +- +[0-9]+ +- +no$" <<<"$out" &&
	[ "$(grep -c "^nic0 " <<<"$out")" = 1 ] && ! grep -q TOKEN <<<"$out"'
check "status --cluster --json" json ".cluster == {\"connected\": false, \"quorate\": false, \"node\": null} and
	.tokens == [] and (.groups | length) == 1 and .groups[0].group == \"nic0\" and .groups[0].host == \"$host\" and
	.groups[0].active == null and .groups[0].operation == null and .groups[0].frozen == false and
	(.groups[0].generation | type) == \"number\"" status --cluster --json
check "status --cluster nic0" says "^nic0 +$host " status --cluster nic0
check "status --cluster of an unknown group: 3" fails 3 "No group 'nic9'" status --cluster nic9
check "nobody may read the cluster view" json ".groups[0].host == \"$host\"" --as nobody status --cluster --json
check "--cluster on switch: 2" fails 2 "--cluster applies to status only" switch --cluster nic0 vm-a
check "list-groups" says '^nic0$' list-groups
check "list-domains" eval 'run list-domains nic0 && [ "$out" = "vm-a
vm-b" ]'

# --- Monitor, then switches ----------------------------------------------------------
"$CTL" monitor >"$LAB_DIR/monitor.txt" 2>"$LAB_DIR/monitor.err" &
monitors+=($!)
"$CTL" monitor --json >"$LAB_DIR/monitor.json" 2>"$LAB_DIR/monitor-json.err" &
monitors+=($!)
check "monitors subscribed" lab_wait_for 30 eval 'grep -q Monitoring "$LAB_DIR/monitor.err" &&
	grep -q Monitoring "$LAB_DIR/monitor-json.err"'

check "switch to vm-a from none" says "^nic0: device attached to 'vm-a' \(generation [0-9]+\) in [0-9.]+ s$" \
	switch nic0 vm-a
check "... vm-a alone holds it" exclusive vm-a
lab_console_mark vm-b
check "switch to vm-b" says "^nic0: device moved from 'vm-a' to 'vm-b' \(generation [0-9]+\) in [0-9.]+ s$" \
	switch nic0 vm-b
check "... vm-b alone holds it" exclusive vm-b
check "... the guest saw the hot-plug" lab_console_wait vm-b '^PCI add ' 30
gen=$("$CTL" --json status nic0 | jq .generation)
# seen FILTER: a line of monitor.json for which FILTER holds.
seen() { jq -s -e "any(.[]; $1)" "$LAB_DIR/monitor.json" >/dev/null; }
caught_switch() {
	seen '.event == "ConnectionChanged" and .group == "nic0" and .old_holder == "vm-a" and .new_holder == null' &&
	seen ".event == \"ConnectionChanged\" and .old_holder == null and .new_holder == \"vm-b\" and .generation <= $gen"
}
check "monitor --json caught both halves of the switch" lab_wait_for 30 caught_switch
check "monitor --json: PropertiesChanged with the steps" \
	seen '.event == "PropertiesChanged" and .group == "nic0" and .changed.Step == "detaching"'
check "monitor --json: timestamps" jq -s -e \
	'all(.[]; (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+$")) and .realtime_usec > 0)' "$LAB_DIR/monitor.json"
check "monitor (text) caught the switch" lab_wait_for 30 \
	grep -qE "^[0-9T:.-]+ nic0 ConnectionChanged: device \(none\) -> vm-b \(generation [0-9]+\)$" "$LAB_DIR/monitor.txt"
check "monitor (text): Active changed" grep -qE "nic0 PropertiesChanged: .*Active='vm-b'" "$LAB_DIR/monitor.txt"
check "status shows vm-b active" says '^      Active: vm-b$' status nic0
check "switch --json" json '.verb == "switch" and .result == "done" and .previous_active == "vm-b" and
	.status.active == "vm-a" and .seconds > 0 and ([.status.members[] | select(.role == "active") | .domain] == ["vm-a"])' \
	switch --json nic0 vm-a
check "... vm-a alone holds it" exclusive vm-a
check "status --cluster follows the table" json ".groups[0].active == \"vm-a\" and .groups[0].generation == $(
	"$CTL" --json status nic0 | jq .generation)" --json status --cluster

# --- Failure paths --------------------------------------------------------------------
check "unknown group: 3" fails 3 "No group 'nic9'" switch nic9 vm-a
check "domain of no group: 3" fails 3 "No domain 'vm-z' in any group" switch nic0 vm-z
check "to the holder: 8 (nothing to do)" fails 8 "already holds the device" switch nic0 vm-a
check "empty group name: 2" fails 2 "Invalid group name" switch "" vm-a
check "nobody: switch is 5 (access denied)" fails 5 "needs root" --as nobody switch nic0 vm-b
check "nobody: reload is 5" exits 5 --as nobody reload
check "nobody may read" says '^nic0 ' --as nobody status
check "... and nothing moved" exclusive vm-a

# Busy: a switch started with --no-block is held in flight by the paused
# holder (it cannot let go) when the next call comes; resumed, it lets go.
check "pause the holder vm-a" eval 'virsh suspend vm-a >/dev/null'
check "--no-block returns once started" says "^nic0: switch of group 'nic0' queued" --no-block switch nic0 vm-b
check "... the switch is in flight" lab_wait_for 30 eval '! idle'
check "a switch while one is in flight: 4 (busy)" fails 4 "Group 'nic0' is busy with a switch" switch nic0 vm-a
check "resume vm-a" eval 'virsh resume vm-a >/dev/null'
check "the queued switch finishes" lab_wait_for 30 idle
check "... vm-b alone holds it" exclusive vm-b
check "--no-block --json" json '.result == "started" or .result == "done"' --no-block --json switch nic0 vm-a
check "... finishes" lab_wait_for 30 idle
check "... vm-a alone holds it" exclusive vm-a
check "--no-block still reports a refusal: 3" fails 3 "No group 'nic9'" --no-block switch nic9 vm-a

# Frozen.
check "freeze" says '^nic0: frozen$' freeze nic0
check "status shows it frozen" json '.frozen == true' status --json nic0
check "switch of a frozen group: 7" fails 7 "is frozen" switch nic0 vm-b
check "switch --force of a frozen group" says "^nic0: device moved from 'vm-a' to 'vm-b'" switch --force nic0 vm-b
check "thaw --json" json '.verb == "thaw" and .status.frozen == false' thaw --json nic0

# --- Release, deactivate, activate, rebuild ----------------------------------------------
check "release" says "^nic0: device released from 'vm-b' \(generation [0-9]+\) in [0-9.]+ s$" release nic0
check "... on no guest" exclusive ""
check "release again: 8" fails 8 "not allocated to any domain" release nic0
check "switch back to vm-a" says "device attached to 'vm-a'" switch nic0 vm-a
check "deactivate the standby vm-b" says "^vm-b: deactivated \(group 'nic0', now deactivated\)" deactivate vm-b
check "... it is shut off" eval '! lab_guest_active vm-b'
check "deactivate again: 8" exits 8 deactivate vm-b
check "switch to a deactivated domain: 9 (not a standby)" fails 9 "not a running standby" switch nic0 vm-b
check "activate vm-b" says "^vm-b: activated \(group 'nic0', now standby\)" activate vm-b
check "... it runs" lab_guest_active vm-b
check "activate a running standby: 8" exits 8 activate vm-b
check "rebuild the holder: 4" fails 4 "holds the device" rebuild vm-a
lab_console_mark vm-b
check "rebuild vm-b --json" json '.verb == "rebuild" and .domain == "vm-b" and .group == "nic0" and
	([.status.members[] | select(.domain == "vm-b") | .role] == ["standby"])' --json rebuild vm-b
check "... vm-b is a standby again" eval '[ "$(role vm-b)" = standby ]'
check "activate a domain of no group: 3" fails 3 "No domain 'vm-z'" activate vm-z
check "the device stayed on vm-a" exclusive vm-a
check "... it boots again" lab_console_wait vm-b '^READY$' 120
check "the guest is usable after the rebuild: switch to it" says "moved from 'vm-a' to 'vm-b'" switch nic0 vm-b
check "... vm-b alone holds it" exclusive vm-b

# --- Reload -----------------------------------------------------------------------
check "reload" says '^Configuration reloaded: 1 group\.$' reload
check "reload --json" json '.groups == ["nic0"]' --json reload
echo "Bogus=1" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
check "reload of a bad configuration: 1, the daemon's message" fails 1 "not reloaded" reload
sed -i '/^Bogus=/d' "$LAB_DAEMON_CONFIG/groups.d/nic0.conf"

# --- Completion -----------------------------------------------------------------------
check "completion: verbs" eval '[ "$(complete_words sw)" = switch ]'
check "completion: groups" eval '[ "$(complete_words status "")" = nic0 ]'
check "completion: members of the group" eval '[ "$(complete_words switch nic0 "")" = "vm-a vm-b" ]'
check "completion: domains" eval '[ "$(complete_words rebuild vm-)" = "vm-a vm-b" ]'
check "completion: options" eval '[ "$(complete_words --no)" = --no-block ]'
check "completion: --cluster" eval '[ "$(complete_words status --cl)" = --cluster ]'

# --- Latency ------------------------------------------------------------------------
t0=$(date +%s%N)
for _ in $(seq 100); do "$CTL" status >/dev/null || break; done
diag "hostdevctl status: $(( ($(date +%s%N) - t0) / 100000 )) us per call (100 calls)"
t0=$(date +%s%N)
for _ in $(seq 100); do "$CTL" --json status >/dev/null || break; done
diag "hostdevctl --json status: $(( ($(date +%s%N) - t0) / 100000 )) us per call (100 calls)"

# --- The daemon goes away --------------------------------------------------------------
check "hostdev-had stops" lab_daemon_stop
check "monitor saw it stop" lab_wait_for 30 grep -q 'DaemonStopped: hostdev-had stopped' "$LAB_DIR/monitor.txt"
check "status now exits 6" fails 6 "hostdev-had is not running" status
check "switch now exits 6" exits 6 switch nic0 vm-a
check "status --cluster now exits 6" exits 6 status --cluster
check "monitor exits 0 on SIGTERM" eval 'kill -TERM "${monitors[0]}" && wait "${monitors[0]}"'
check "monitor --json exits 0 on SIGINT" eval 'kill -INT "${monitors[1]}" && wait "${monitors[1]}"'
monitors=()
check "the device stayed on vm-b" exclusive vm-b
tap_done
