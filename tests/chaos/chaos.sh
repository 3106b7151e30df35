#!/bin/bash
# The chaos lab (make chaos): seeded random faults against the real lab
# (libvirtd with QEMU guests, a system-type dbus-daemon, the libvirt hook,
# hostdev-had in policy auto) for a given time, one fault at a time, each
# followed by a wait until every group has settled; two witnesses of where
# the device is (chaos-witness.sh) that rely on nothing of hostdev-had.
#
#   make chaos [CHAOS_S=120] [CHAOS_SEED=N] [CHAOS_GROUPS=1] [CHAOS_BOUND_S=60]
#
# CHAOS_S: how long faults are injected (the last one may end later).
# CHAOS_SEED: the seed of the choices (which fault, which member, which
# delay); random by default and printed, so a run can be replayed.
# CHAOS_GROUPS: 1 to 3 groups of three members each (nic0: vm-a vm-b vm-c,
# nic1: vm-d vm-e vm-f, nic2: vm-g vm-h vm-i).
# CHAOS_BOUND_S: how long a group may take to settle after a fault.
#
# Settled: for every group, hostdevctl status --json answers with the
# daemon connected to libvirt, no operation in flight, not busy, an active
# member and every other member a standby; libvirt shows every member
# running (not paused) and the device in the active member's live XML alone.
#
# Prints one line per fault, then per kind of fault: injected, recovered
# (settled within the bound), p50 and max time from the harm to settled,
# and the violations each witness saw (chaos-report.sh).  Exits non-zero on
# any violation or any group not settled within the bound (the run stops
# there).  The table is also written to tests/chaos/chaos-report.md in the
# build tree.
# shellcheck disable=SC2016 # eval '...' expands when it runs
# shellcheck disable=SC2317,SC2119 # functions called by the sourced faults and the EXIT trap
set -u

: "${CHAOS_S:=120}" "${CHAOS_GROUPS:=1}" "${CHAOS_BOUND_S:=60}"
if [ -z "${CHAOS_SEED:-}" ]; then
	CHAOS_SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
case $CHAOS_S$CHAOS_SEED$CHAOS_BOUND_S in *[!0-9]*)
	echo "chaos: CHAOS_S, CHAOS_SEED and CHAOS_BOUND_S must be numbers" >&2; exit 2 ;;
esac
case $CHAOS_GROUPS in 1 | 2 | 3) ;; *) echo "chaos: CHAOS_GROUPS must be 1, 2 or 3" >&2; exit 2 ;; esac
export CHAOS_S CHAOS_SEED CHAOS_GROUPS CHAOS_BOUND_S

# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"
# shellcheck source=tests/lab/lab-hook.sh
. "$LAB_HOME/lab-hook.sh"
CHAOS_HOME=$LAB_HOME/../chaos
# shellcheck source=tests/chaos/chaos-random.sh
. "$CHAOS_HOME/chaos-random.sh"
# shellcheck source=tests/chaos/chaos-witness.sh
. "$CHAOS_HOME/chaos-witness.sh"
# shellcheck source=tests/chaos/chaos-faults.sh
. "$CHAOS_HOME/chaos-faults.sh"
# shellcheck source=tests/chaos/chaos-report.sh
. "$CHAOS_HOME/chaos-report.sh"

CHAOS_CTL=$abs_top_builddir/hostdevctl
CHAOS_OUT=$LAB_DIR/chaos
mkdir -p "$CHAOS_OUT"
chaos_groups=$(seq -f 'nic%g' 0 $((CHAOS_GROUPS - 1)) | tr '\n' ' ')
chaos_groups=${chaos_groups% }

chaos_members() {
	case $1 in
	nic0) echo vm-a vm-b vm-c ;;
	nic1) echo vm-d vm-e vm-f ;;
	nic2) echo vm-g vm-h vm-i ;;
	esac
}
chaos_alias() { echo "ua-hostdev-$1"; }

chaos_bg_pids=()
# chaos_bg COMMAND...: in the background, its output in calls.log.
chaos_bg() {
	{ "$@" 2>&1 | sed "s|^|$(chaos_now_ms) $*: |" >>"$CHAOS_OUT/calls.log"; } &
	chaos_bg_pids+=($!)
}

# chaos_bg_reap: every background call has ended (once settled they all
# have: a call waits for its operation only).
chaos_bg_reap() {
	local p
	for p in "${chaos_bg_pids[@]}"; do
		if ! lab_wait_for 10 eval "! lab_alive $p"; then
			chaos_note="$chaos_note (a call still waits, killed)"
			kill "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
	done
	chaos_bg_pids=()
}

teardown() {
	chaos_witness_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

# The bus found by its path alone: a restarted dbus-daemon has another guid
# than the one lab_bus_start's address names.
chaos_bus_start() {
	lab_bus_start
	export LAB_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
	export DBUS_SYSTEM_BUS_ADDRESS=$LAB_BUS_ADDRESS
}

chaos_status() { timeout 5 "$CHAOS_CTL" status "$1" --json 2>/dev/null; }
chaos_holder() { chaos_status "$1" | jq -r '.active // empty'; }
chaos_standbys() {
	chaos_status "$1" | jq -r '[.members[] | select(.role == "standby") | .domain] | join(" ")'
}
chaos_busy() { chaos_status "$1" | jq -e '.busy or .operation != null' >/dev/null; }

# chaos_group_settled GROUP: see the top of this file.
chaos_group_settled() {
	local g=$1 s live want
	s=$(chaos_status "$g" | jq -r '.active as $a | select(.connected and .operation == null and (.busy | not)
		and $a != null and all(.members[]; (.role == "active" or .role == "standby")
		and ((.domain == $a) == (.role == "active")))) | $a') || return 1
	[ -n "$s" ] || return 1
	live=$(chaos_live "$g") || return 1
	want=$(chaos_members "$g")
	want=${want// /,}
	[ "$live" = "$want $s" ]
}

chaos_all_settled() {
	local g
	for g in $chaos_groups; do
		chaos_group_settled "$g" || return 1
	done
}

# chaos_supervise: starts again what died (as systemd would), in the order
# each needs the other.
chaos_supervise() {
	local f
	f=$LAB_DIR/bus/pid
	if ! { [ -s "$f" ] && lab_alive "$(cat "$f")"; }; then
		chaos_note="$chaos_note (bus started again)"
		chaos_bus_start
	fi
	f=$LAB_DIR/libvirtd.pid
	if ! { [ -s "$f" ] && lab_alive "$(cat "$f")"; }; then
		chaos_note="$chaos_note (libvirtd started again)"
		lab_libvirt_start || return 1
	fi
	f=$LAB_DIR/hostdev-had.pid
	if ! { [ -s "$f" ] && lab_alive "$(cat "$f")"; }; then
		chaos_note="$chaos_note (hostdev-had started again)"
		lab_daemon_start || return 1
	fi
}

# chaos_wait_settled SINCE_MS: every group settled before SINCE_MS + the
# bound; chaos_settled_at is when it was seen settled.
chaos_wait_settled() {
	local deadline=$(($1 + CHAOS_BOUND_S * 1000))
	while :; do
		chaos_supervise
		if chaos_all_settled; then
			chaos_settled_at=$(chaos_now_ms)
			return 0
		fi
		[ "$(chaos_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# chaos_unsettled N: what the lab looks like, for the reader.
chaos_unsettled() {
	local g f=$CHAOS_OUT/unsettled-$1.txt
	{
		for g in $chaos_groups; do
			echo "== $g: hostdevctl status --json"
			chaos_status "$g"
			echo "== $g: running, holders: $(chaos_live "$g")"
		done
		echo "== virsh list --all"
		timeout 10 virsh list --all
		echo "== hostdev-had.log (last 40 lines)"
		tail -n 40 "$LAB_DIR/hostdev-had.log"
	} >"$f" 2>&1
	sed 's/^/# /' "$f" >&2
}

# --- The run -------------------------------------------------------------------
# One function, read whole before it runs: the file may change meanwhile.
chaos_main() {
	local g d conf first results start end n unsettled kind t elapsed violations report

	echo "chaos: seed $CHAOS_SEED, ${CHAOS_S} s, $CHAOS_GROUPS group(s) of 3, settle bound ${CHAOS_BOUND_S} s"
	echo "chaos: replay with: make chaos CHAOS_SEED=$CHAOS_SEED CHAOS_S=$CHAOS_S CHAOS_GROUPS=$CHAOS_GROUPS"

	chaos_bus_start
	lab_hook_install || lab_die "cannot install the hook"
	lab_libvirt_start || lab_die "libvirtd did not start"
	for g in $chaos_groups; do
		for d in $(chaos_members "$g"); do
			lab_guest_define "$d" || lab_die "cannot define '$d'"
		done
	done
	for g in $chaos_groups; do
		for d in $(chaos_members "$g"); do
			lab_guest_start "$d" || lab_die "'$d' did not boot"
		done
	done
	for g in $chaos_groups; do
		conf=$LAB_DAEMON_CONFIG/groups.d/$g.conf
		# Written last for the first group's sake: lab_daemon_group rewrites
		# hostdev-ha.conf each time, the same each time.
		# shellcheck disable=SC2046 # the members, one argument each
		lab_daemon_group "$g" auto $(chaos_members "$g")
		# A standby that boots again at 10 % of a TCG vCPU takes ~10 times as
		# long: 50 %, as the benchmarks do.
		echo "StandbyVcpuQuota=50000" >>"$conf"
		sed -i 's/^ReleaseTimeoutSec=.*/ReleaseTimeoutSec=5/' "$conf"
	done
	chaos_witness_start
	lab_daemon_start || lab_die "hostdev-had did not start"
	for g in $chaos_groups; do
		first=$(chaos_members "$g")
		"$CHAOS_CTL" switch "$g" "${first%% *}" >/dev/null || lab_die "the first switch of '$g' failed"
	done
	chaos_note=
	chaos_wait_settled "$(chaos_now_ms)" || lab_die "the groups did not settle after the first switch"

	# --- Faults ----------------------------------------------------------------------

	results=$CHAOS_OUT/results
	: >"$results"
	start=$(chaos_now_ms)
	end=$((start + CHAOS_S * 1000))
	n=0 unsettled=0
	while [ "$(chaos_now_ms)" -lt "$end" ]; do
		n=$((n + 1))
		chaos_rand "${#chaos_fault_kinds[@]}"
		kind=${chaos_fault_kinds[REPLY]}
		chaos_pick "$chaos_groups"
		g=$REPLY
		chaos_note='' chaos_t0=''
		lab_log "fault $n: $kind on $g"
		"chaos_fault_${kind//-/_}" "$g"
		[ -n "$chaos_t0" ] || chaos_mark
		if chaos_wait_settled "$chaos_t0"; then
			t=$chaos_settled_at
			chaos_bg_reap
			printf '%d %s %s %s 1 %d %s\n' "$n" "$kind" "$g" "$chaos_t0" $((t - chaos_t0)) "${chaos_note:--}" >>"$results"
			printf 'chaos: %3d %-24s %s %6d ms  %s\n' "$n" "$kind" "$g" $((t - chaos_t0)) "$chaos_note"
		else
			unsettled=$((unsettled + 1))
			printf '%d %s %s %s 0 - %s\n' "$n" "$kind" "$g" "$chaos_t0" "${chaos_note:--}" >>"$results"
			printf 'chaos: %3d %-24s %s not settled within %d s  %s\n' "$n" "$kind" "$g" "$CHAOS_BOUND_S" "$chaos_note"
			chaos_unsettled "$n"
			break
		fi
		# A random breath: some faults land on a guest still booting.
		chaos_sleep_ms 1000
	done
	elapsed=$((($(chaos_now_ms) - start) / 1000))
	# The witnesses see the last settled state too.
	sleep 1
	chaos_witness_stop

	{
		chaos_witness_events | sed 's/^\([0-9]*\) /\1 events /'
		chaos_witness_samples | sed 's/^\([0-9]*\) /\1 samples /'
	} | sort -n >"$CHAOS_OUT/violations"
	violations=$(wc -l <"$CHAOS_OUT/violations")
	sed 's/^/chaos: VIOLATION /' "$CHAOS_OUT/violations"

	report=$abs_top_builddir/tests/chaos/chaos-report.md
	mkdir -p "$(dirname "$report")"
	{
		echo "Seed $CHAOS_SEED, $n faults in $elapsed s, $CHAOS_GROUPS group(s) of 3 members, policy auto," \
			"settle bound $CHAOS_BOUND_S s; $(grep -c ' POLL ' "$CHAOS_OUT/samples") live-XML samples," \
			"$(grep -c "event '" "$CHAOS_OUT/events") libvirt events."
		echo
		chaos_report "$results" "$CHAOS_OUT/violations"
	} >"$report"
	echo
	cat "$report"
	echo
	chaos_verdicts "$results" "$CHAOS_OUT/violations"
	if [ "$violations" -eq 0 ] && [ "$unsettled" -eq 0 ]; then
		echo "PASS: chaos (seed $CHAOS_SEED): $n faults, every group settled, no violation"
		exit 0
	fi
	echo "FAIL: chaos (seed $CHAOS_SEED): $violations violation(s), $unsettled group(s) not settled;" \
		"the lab's folder is kept: $LAB_DIR"
	exit 1
}

chaos_main
