#!/bin/bash
# The chaos lab on a Pacemaker-managed group (make chaos CHAOS_LAB=pacemaker):
# seeded random faults against one host's group nic0 (vm-a vm-b vm-c) in
# policy pacemaker, a promotable clone of ocf:hostdev-ha:hostdev made with
# the pcs lines of docs/pacemaker.md ("Creating the clone", clone-max 3),
# on a real single-node Corosync + Pacemaker, one fault at a time, each
# followed by a wait until the group has settled; the one-host witnesses
# (chaos-witness.sh).
#
#   make chaos CHAOS_LAB=pacemaker [CHAOS_S=300] [CHAOS_SEED=N] [CHAOS_BOUND_S=120]
#
# Settled: Pacemaker idle (the DC in S_IDLE, the scheduler planning nothing),
# one instance promoted and the two others Unpromoted; hostdevctl status
# --json connected, no operation, the promoted instance's domain active and
# the others standbys; libvirt shows every member running and the device in
# the active member's live XML alone.  The supervisor starts again what died
# (the bus, libvirtd, hostdev-had), as systemd would.
#
# Prints what chaos.sh prints (chaos-report.sh); the table also in
# tests/chaos/chaos-pacemaker-report.md in the build tree.  Exits non-zero on
# any violation or the group not settled within the bound.
# shellcheck disable=SC2317,SC2119 # functions called by the faults and the EXIT trap
set -u

: "${CHAOS_S:=300}" "${CHAOS_BOUND_S:=120}"
if [ -z "${CHAOS_SEED:-}" ]; then
	CHAOS_SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
case $CHAOS_S$CHAOS_SEED$CHAOS_BOUND_S in *[!0-9]*)
	echo "chaos: CHAOS_S, CHAOS_SEED and CHAOS_BOUND_S must be numbers" >&2; exit 2 ;;
esac
export CHAOS_S CHAOS_SEED CHAOS_BOUND_S CHAOS_LAB=pacemaker

# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-agent.sh
. "$LAB_HOME/lab-agent.sh"
CHAOS_HOME=$LAB_HOME/../chaos
# shellcheck source=tests/chaos/chaos-random.sh
. "$CHAOS_HOME/chaos-random.sh"
# shellcheck source=tests/chaos/chaos-witness.sh
. "$CHAOS_HOME/chaos-witness.sh"
# shellcheck source=tests/chaos/chaos-pacemaker-faults.sh
. "$CHAOS_HOME/chaos-pacemaker-faults.sh"
# shellcheck source=tests/chaos/chaos-report.sh
. "$CHAOS_HOME/chaos-report.sh"

CHAOS_CTL=$abs_top_builddir/hostdevctl
CHAOS_OUT=$LAB_DIR/chaos
mkdir -p "$CHAOS_OUT"
chaos_groups=nic0
chaos_members() { echo vm-a vm-b vm-c; }
chaos_alias() { echo "ua-hostdev-$1"; }

teardown() {
	chaos_witness_stop
	lab_cluster_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

# The bus found by its path alone: a restarted dbus-daemon has another guid.
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

# chaos_pcmk_instances ROLE: the instances in ROLE, space-separated.
chaos_pcmk_instances() {
	crm_mon -1 --output-as=xml 2>/dev/null |
		sed -n "s/.*<resource id=\"\(nic0:[0-9]*\)\" [^>]*role=\"$1\".*/\1/p" | sort | xargs
}
chaos_pcmk_promoted() { chaos_pcmk_instances Promoted; }

chaos_pcmk_settled() {
	local p s d
	local -a m
	lab_cluster_idle || { echo "Pacemaker busy" >"$CHAOS_OUT/settled"; return 1; }
	p=$(chaos_pcmk_promoted)
	case $p in nic0:[0-2]) ;; *) echo "promoted '$p'" >"$CHAOS_OUT/settled"; return 1 ;; esac
	[ "$(chaos_pcmk_instances Unpromoted | wc -w)" = 2 ] ||
		{ echo "unpromoted '$(chaos_pcmk_instances Unpromoted)'" >"$CHAOS_OUT/settled"; return 1; }
	read -r -a m <<<"$(chaos_members nic0)"
	d=${m[${p#nic0:}]}
	s=$(chaos_status nic0 | jq -r --arg d "$d" 'select(.connected and .operation == null and (.busy | not)
		and .active == $d and all(.members[]; (.role == "active") == (.domain == $d)
		and (.role == "active" or .role == "standby"))) | .active')
	[ "$s" = "$d" ] || { echo "hostdev-had: $(chaos_status nic0 | jq -c '[.active, .operation, .members]')" >"$CHAOS_OUT/settled"; return 1; }
	[ "$(chaos_live nic0)" = "vm-a,vm-b,vm-c $d" ] || { echo "libvirt: $(chaos_live nic0)" >"$CHAOS_OUT/settled"; return 1; }
}

# chaos_pcmk_supervise: starts again what died, as systemd would.
chaos_pcmk_supervise() {
	local f
	f=$LAB_DIR/bus/pid
	if ! { [ -s "$f" ] && lab_alive "$(cat "$f")"; }; then
		chaos_note="$chaos_note (bus started again)"
		chaos_bus_start
	fi
	f=$LAB_DIR/libvirtd.pid
	if ! { [ -s "$f" ] && lab_alive "$(cat "$f")"; }; then
		chaos_note="$chaos_note (libvirtd started again)"
		lab_libvirt_start
	fi
	f=$LAB_DIR/hostdev-had.pid
	if ! { [ -s "$f" ] && lab_alive "$(cat "$f")"; }; then
		chaos_note="$chaos_note (hostdev-had started again)"
		lab_daemon_start
	fi
}

chaos_pcmk_wait_settled() {
	local deadline=$(($1 + CHAOS_BOUND_S * 1000))
	while :; do
		chaos_pcmk_supervise
		if chaos_pcmk_settled; then
			chaos_settled_at=$(chaos_now_ms)
			return 0
		fi
		[ "$(chaos_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

chaos_pcmk_unsettled() {
	local f=$CHAOS_OUT/unsettled-$1.txt
	{
		echo "== not settled: $(cat "$CHAOS_OUT/settled")"
		echo "== crm_mon -1"
		crm_mon -1
		echo "== hostdevctl status nic0 --json"
		chaos_status nic0
		echo "== hostdev-had.log (last 40 lines)"
		tail -n 40 "$LAB_DIR/hostdev-had.log"
	} >"$f" 2>&1
	sed 's/^/# /' "$f" >&2
}

# The documented pcs lines, for three members.
chaos_pcmk_clone() {
	local cmd
	cmd=$(sed -n '/<!-- pcs-begin -->/,/<!-- pcs-end -->/p' "$LAB_HOME/../../docs/pacemaker.md" |
		grep -v -e '^<!--' -e '^```' | sed 's/clone-max=2 clone-node-max=2/clone-max=3 clone-node-max=3/')
	[ -n "$cmd" ] && eval "$cmd" >"$CHAOS_OUT/clone.out" 2>&1
}

# --- The run -------------------------------------------------------------------
# One function, read whole before it runs: the file may change meanwhile.
chaos_pcmk_main() {
	local d results start end n unsettled kind t elapsed violations report

	echo "chaos: seed $CHAOS_SEED, ${CHAOS_S} s, one group of 3 in policy pacemaker, settle bound ${CHAOS_BOUND_S} s"
	echo "chaos: replay with: make chaos CHAOS_LAB=pacemaker CHAOS_SEED=$CHAOS_SEED CHAOS_S=$CHAOS_S"

	chaos_bus_start
	lab_libvirt_start || lab_die "libvirtd did not start"
	for d in $(chaos_members nic0); do
		lab_guest_define "$d" || lab_die "cannot define '$d'"
	done
	# shellcheck disable=SC2046 # the members, one argument each
	lab_daemon_group nic0 pacemaker $(chaos_members nic0)
	echo "StandbyVcpuQuota=50000" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
	chaos_witness_start
	lab_daemon_start || lab_die "hostdev-had did not start"
	lab_agent_install || lab_die "cannot install the agent"
	lab_cluster_start || lab_die "the cluster did not start"
	chaos_pcmk_clone || lab_die "the pcs lines failed: $(cat "$CHAOS_OUT/clone.out")"
	chaos_note=
	chaos_pcmk_wait_settled "$(chaos_now_ms)" || lab_die "the group did not settle: $(cat "$CHAOS_OUT/settled")"

	results=$CHAOS_OUT/results
	: >"$results"
	start=$(chaos_now_ms)
	end=$((start + CHAOS_S * 1000))
	n=0 unsettled=0
	while [ "$(chaos_now_ms)" -lt "$end" ]; do
		n=$((n + 1))
		chaos_rand "${#chaos_pcmk_fault_kinds[@]}"
		kind=${chaos_pcmk_fault_kinds[REPLY]}
		chaos_note='' chaos_t0=''
		lab_log "fault $n: $kind"
		"chaos_pcmk_fault_${kind//-/_}"
		[ -n "$chaos_t0" ] || chaos_t0=$(chaos_now_ms)
		if chaos_pcmk_wait_settled "$chaos_t0"; then
			t=$chaos_settled_at
			printf '%d %s nic0 %s 1 %d %s\n' "$n" "$kind" "$chaos_t0" $((t - chaos_t0)) "${chaos_note:--}" >>"$results"
			printf 'chaos: %3d %-18s %6d ms  %s; %s holds the device\n' "$n" "$kind" $((t - chaos_t0)) "$chaos_note" "$(chaos_holder nic0)"
		else
			unsettled=$((unsettled + 1))
			printf '%d %s nic0 %s 0 - %s\n' "$n" "$kind" "$chaos_t0" "${chaos_note:--}" >>"$results"
			printf 'chaos: %3d %-18s not settled within %d s  %s\n' "$n" "$kind" "$CHAOS_BOUND_S" "$chaos_note"
			chaos_pcmk_unsettled "$n"
			break
		fi
		chaos_sleep_ms 1000
	done
	elapsed=$((($(chaos_now_ms) - start) / 1000))
	sleep 1
	chaos_witness_stop

	{
		chaos_witness_events | sed 's/^\([0-9]*\) /\1 events /'
		chaos_witness_samples | sed 's/^\([0-9]*\) /\1 samples /'
	} | sort -n >"$CHAOS_OUT/violations"
	violations=$(wc -l <"$CHAOS_OUT/violations")
	sed 's/^/chaos: VIOLATION /' "$CHAOS_OUT/violations"

	report=$abs_top_builddir/tests/chaos/chaos-pacemaker-report.md
	mkdir -p "$(dirname "$report")"
	{
		echo "Seed $CHAOS_SEED, $n faults in $elapsed s, one group of 3 members, policy pacemaker" \
			"(one node), settle bound $CHAOS_BOUND_S s; $(grep -c ' POLL ' "$CHAOS_OUT/samples") live-XML samples," \
			"$(grep -c "event '" "$CHAOS_OUT/events") libvirt events."
		echo
		chaos_report "$results" "$CHAOS_OUT/violations"
	} >"$report"
	echo
	cat "$report"
	echo
	chaos_verdicts "$results" "$CHAOS_OUT/violations"
	if [ "$violations" -eq 0 ] && [ "$unsettled" -eq 0 ]; then
		echo "PASS: chaos under Pacemaker (seed $CHAOS_SEED): $n faults, the group settled after each, no violation"
		exit 0
	fi
	echo "FAIL: chaos under Pacemaker (seed $CHAOS_SEED): $violations violation(s), $unsettled fault(s) not settled;" \
		"the lab's folder is kept: $LAB_DIR"
	exit 1
}

chaos_pcmk_main
