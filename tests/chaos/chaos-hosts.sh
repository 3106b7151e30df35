#!/bin/bash
# The chaos lab on two hosts (make chaos CHAOS_LAB=hosts): seeded random
# faults against one group across two hosts of a Pacemaker cluster with
# fencing, the two-host demo's lab (lab-hosts.sh: two nodes, each its own
# bus, libvirtd, two guests and hostdev-had with group nic0 in policy
# pacemaker; Corosync, Pacemaker, fence_lab, the documented pcs lines), one
# fault at a time, each followed by a wait until the cluster has settled;
# two witnesses that see every node's guests (chaos-hosts-witness.sh).
#
#   make chaos CHAOS_LAB=hosts [CHAOS_S=600] [CHAOS_SEED=N] [CHAOS_BOUND_S=240]
#
# Settled: both nodes on and online in Pacemaker, nic0-site started on one
# of them, one instance promoted there and its domain alone holding the
# device in the whole cluster, every other member of both nodes a standby
# (Unpromoted), hostdev-had of the site's node naming the same holder, and
# Pacemaker idle (the DC in S_IDLE, the scheduler planning nothing):
# lab_hosts_settled.  The driver's supervisor powers a node that Pacemaker
# fenced on again once Pacemaker has it down and clean, and starts a
# node's hostdev-had again when it is gone, as an operator and systemd
# would.
#
# Prints what chaos.sh prints (chaos-report.sh); the table also in
# tests/chaos/chaos-hosts-report.md in the build tree.  Exits non-zero on any
# violation or the cluster not settled within the bound (the run stops there).
# shellcheck disable=SC2317 # functions called by the EXIT trap
set -u

: "${CHAOS_S:=600}" "${CHAOS_BOUND_S:=240}"
if [ -z "${CHAOS_SEED:-}" ]; then
	CHAOS_SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
case $CHAOS_S$CHAOS_SEED$CHAOS_BOUND_S in *[!0-9]*)
	echo "chaos: CHAOS_S, CHAOS_SEED and CHAOS_BOUND_S must be numbers" >&2; exit 2 ;;
esac
export CHAOS_S CHAOS_SEED CHAOS_BOUND_S CHAOS_LAB=hosts

# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"
# shellcheck source=tests/lab/lab-hosts.sh
. "$LAB_HOME/lab-hosts.sh"
# lab_libvirt_answers, for the witnesses' event loops on each node's libvirtd.
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
CHAOS_HOME=$LAB_HOME/../chaos
# shellcheck source=tests/chaos/chaos-random.sh
. "$CHAOS_HOME/chaos-random.sh"
# shellcheck source=tests/chaos/chaos-witness.sh
. "$CHAOS_HOME/chaos-witness.sh"
# shellcheck source=tests/chaos/chaos-hosts-witness.sh
. "$CHAOS_HOME/chaos-hosts-witness.sh"
# shellcheck source=tests/chaos/chaos-hosts-faults.sh
. "$CHAOS_HOME/chaos-hosts-faults.sh"
# shellcheck source=tests/chaos/chaos-report.sh
. "$CHAOS_HOME/chaos-report.sh"

CHAOS_OUT=$LAB_DIR/chaos
mkdir -p "$CHAOS_OUT"
# The group as the witnesses' judgement sees it: every node's domains.
chaos_groups=nic0
chaos_members() { echo "${lab_hosts_domains[1]} ${lab_hosts_domains[2]}"; }
chaos_alias() { echo "$LAB_HOSTS_ALIAS"; }
export LAB_NODES_VIEW=1

teardown() {
	chaos_hosts_witness_stop
	lab_hosts_stop
}
trap teardown EXIT

# Pacemaker is asked on a node that is on.
chaos_hosts_view() {
	if lab_node_is_on 1; then LAB_NODES_VIEW=1; else LAB_NODES_VIEW=2; fi
}

chaos_hosts_settled() {
	local s
	chaos_hosts_view
	if ! { lab_node_is_on 1 && lab_node_is_on 2 && lab_nodes_online 1 2; }; then
		echo "a node off or not online" >"$LAB_HOSTS_OUT/settled"
		return 1
	fi
	s=$(lab_hosts_placement | awk '$1 == "nic0-site" && $2 == "Started" { print $3 }')
	lab_hosts_settled "${s#lab-node}"
}

# chaos_hosts_daemon_alive N: node N's hostdev-had runs (its pid is the node's).
chaos_hosts_daemon_alive() {
	local f=$LAB_DIR/node$1/hostdev-had.pid
	[ -s "$f" ] && lab_node_run "$1" lab_alive "$(cat "$f")" 2>/dev/null
}

# chaos_hosts_power_on N: on; a boot that failed half-way (its boot list,
# its cluster) leaves the node off again, for the next try.
chaos_hosts_power_on() {
	lab_hosts_power on "$1" 2>/dev/null && return 0
	chaos_note="$chaos_note (lab-node$1 did not boot: off again)"
	lab_hosts_power off "$1" 2>/dev/null
	return 1
}

# chaos_hosts_quorate N: node N's Corosync has quorum.
chaos_hosts_quorate() {
	lab_node_run "$1" corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes'
}

chaos_hosts_supervise() {
	local n o
	chaos_hosts_view
	for n in 1 2; do
		o=$((3 - n))
		if ! lab_node_is_on "$n"; then
			# Once Pacemaker has it down and clean (fenced, nothing pending);
			# or when the other node cannot get there: off too, or powered on
			# again without quorum (wait_for_all: it waits for this one), as
			# after a cut where each node fenced the other.
			if ! lab_node_is_on "$o" || ! chaos_hosts_quorate "$o" || LAB_NODES_VIEW=$o lab_nodes_down "$n"; then
				chaos_note="$chaos_note (lab-node$n powered on again)"
				# A boot that failed half-way is tried again from off.
				chaos_hosts_power_on "$n"
			fi
		elif ! chaos_hosts_daemon_alive "$n"; then
			chaos_note="$chaos_note (hostdev-had of lab-node$n started again)"
			lab_node_run "$n" lab_daemon_start >/dev/null 2>&1
		fi
	done
}

# chaos_hosts_wait_settled SINCE_MS: settled before SINCE_MS + the bound;
# chaos_settled_at is when it was seen settled.
chaos_hosts_wait_settled() {
	local deadline=$(($1 + CHAOS_BOUND_S * 1000))
	while :; do
		chaos_hosts_supervise
		if chaos_hosts_settled; then
			chaos_settled_at=$(chaos_now_ms)
			return 0
		fi
		[ "$(chaos_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# chaos_hosts_unsettled N: what the lab looks like, for the reader.
chaos_hosts_unsettled() {
	local n f=$CHAOS_OUT/unsettled-$1.txt
	{
		echo "== not settled: $(cat "$LAB_HOSTS_OUT/settled" 2>/dev/null)"
		echo "== holders: $(lab_hosts_holders)"
		echo "== crm_mon -1 (lab-node$LAB_NODES_VIEW)"
		lab_node_run "$LAB_NODES_VIEW" crm_mon -1
		for n in 1 2; do
			echo "== lab-node$n's hostdev-had.log (last 30 lines)"
			tail -n 30 "$LAB_DIR/node$n/hostdev-had.log"
		done
	} >"$f" 2>&1
	sed 's/^/# /' "$f" >&2
}

# --- The run -------------------------------------------------------------------
# One function, read whole before it runs: the file may change meanwhile.
chaos_hosts_main() {
	local results start end n unsettled kind t elapsed violations report

	echo "chaos: seed $CHAOS_SEED, ${CHAOS_S} s, one group across two hosts (Pacemaker, fencing), settle bound ${CHAOS_BOUND_S} s"
	echo "chaos: replay with: make chaos CHAOS_LAB=hosts CHAOS_SEED=$CHAOS_SEED CHAOS_S=$CHAOS_S"

	t=$(chaos_now_ms)
	# lab_hosts_start waits for the group on host 1; under load the site
	# may start on host 2 first (its standbys' scores were there first):
	# a cluster settled either way will do.
	lab_hosts_start || chaos_hosts_settled ||
		lab_die "the two-host lab did not come up: $(cat "$LAB_HOSTS_OUT/settled" 2>/dev/null)"
	chaos_hosts_witness_start
	chaos_note=
	chaos_hosts_wait_settled "$(chaos_now_ms)" || lab_die "the cluster did not settle after its start"
	echo "chaos: the lab up in $((($(chaos_now_ms) - t) / 1000)) s, $(lab_hosts_holders) holds the device"

	# --- Faults ----------------------------------------------------------------------

	results=$CHAOS_OUT/results
	: >"$results"
	start=$(chaos_now_ms)
	end=$((start + CHAOS_S * 1000))
	n=0 unsettled=0
	while [ "$(chaos_now_ms)" -lt "$end" ]; do
		n=$((n + 1))
		chaos_rand "${#chaos_hosts_fault_kinds[@]}"
		kind=${chaos_hosts_fault_kinds[REPLY]}
		chaos_note='' chaos_t0=''
		lab_log "fault $n: $kind"
		"chaos_hosts_fault_${kind//-/_}"
		[ -n "$chaos_t0" ] || chaos_t0=$(chaos_now_ms)
		if chaos_hosts_wait_settled "$chaos_t0"; then
			t=$chaos_settled_at
			printf '%d %s nic0 %s 1 %d %s\n' "$n" "$kind" "$chaos_t0" $((t - chaos_t0)) "${chaos_note:--}" >>"$results"
			printf 'chaos: %3d %-18s %6d ms  %s; %s holds the device\n' "$n" "$kind" $((t - chaos_t0)) "$chaos_note" "$(lab_hosts_holders)"
		else
			unsettled=$((unsettled + 1))
			printf '%d %s nic0 %s 0 - %s\n' "$n" "$kind" "$chaos_t0" "${chaos_note:--}" >>"$results"
			printf 'chaos: %3d %-18s not settled within %d s  %s\n' "$n" "$kind" "$CHAOS_BOUND_S" "$chaos_note"
			chaos_hosts_unsettled "$n"
			break
		fi
		chaos_sleep_ms 1000
	done
	elapsed=$((($(chaos_now_ms) - start) / 1000))
	# The witnesses see the last settled state too.
	sleep 1
	chaos_hosts_witness_stop

	{
		chaos_witness_events | sed 's/^\([0-9]*\) /\1 events /'
		chaos_witness_samples | sed 's/^\([0-9]*\) /\1 samples /'
	} | sort -n >"$CHAOS_OUT/violations"
	violations=$(wc -l <"$CHAOS_OUT/violations")
	sed 's/^/chaos: VIOLATION /' "$CHAOS_OUT/violations"

	report=$abs_top_builddir/tests/chaos/chaos-hosts-report.md
	mkdir -p "$(dirname "$report")"
	{
		echo "Seed $CHAOS_SEED, $n faults in $elapsed s, one group across two hosts (two members each)," \
			"policy pacemaker, fencing by fence_lab, settle bound $CHAOS_BOUND_S s;" \
			"$(grep -c ' POLL ' "$CHAOS_OUT/samples") samples of every node's guests," \
			"$(grep -c "event '" "$CHAOS_OUT/events") libvirt events of both nodes," \
			"$(grep -c ' off end 0$' "$LAB_POWER_DIR/log") power-offs (faults and fencings)."
		echo
		chaos_report "$results" "$CHAOS_OUT/violations"
	} >"$report"
	echo
	cat "$report"
	echo
	chaos_verdicts "$results" "$CHAOS_OUT/violations"
	if [ "$violations" -eq 0 ] && [ "$unsettled" -eq 0 ]; then
		echo "PASS: chaos on two hosts (seed $CHAOS_SEED): $n faults, the cluster settled after each, no violation"
		exit 0
	fi
	echo "FAIL: chaos on two hosts (seed $CHAOS_SEED): $violations violation(s), $unsettled fault(s) not settled;" \
		"the lab's folder is kept: $LAB_DIR"
	exit 1
}

chaos_hosts_main
