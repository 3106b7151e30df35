#!/bin/bash
# The two-host demo (make demo DEMO_ARGS='--hosts 2', scripts/run.sh demo
# --hosts 2): one group, nic0, across two hosts of a Pacemaker cluster with
# fencing, as docs/pacemaker.md's "One group across hosts" makes it. Two lab
# nodes (lab-nodes.sh), each with its own bus, libvirtd, two small guests
# (host 1: vm-a1 vm-a2, host 2: vm-b1 vm-b2) and hostdev-had with the same
# group (Policy=pacemaker, [Cluster] Enabled=yes, QuorumLossReleaseSec=3);
# the fence agent fence_lab; the documented pcs lines (lab-hosts.sh).
#   (a) the active guest's QEMU killed on host 1: host 1's standby takes the
#       device, the site stays on host 1;
#   (b) host 1 powered off at the lab's power switch: Pacemaker fences it,
#       moves the site, host 2's standby takes the device once host 2's
#       hostdev-had has the group's cluster token.
# Each with a timeline, ms after the fault: the power switch, Corosync's and
# Pacemaker's logs of both nodes and both daemons' logs (each with its
# own times; hostdev-had runs with --log-time), the guests' consoles
# (stamped on arrival), libvirtd's events (as virsh received them). A
# sampler reads every node's guests throughout (one virsh call per node): the
# device is never on two guests in the whole cluster. Everything is in
# $LAB_DIR/demo (test-lab-demo-hosts.sh reads it).
#
#   demo-hosts.sh [--keep]
# shellcheck disable=SC2016 # eval '...' expands when it runs
set -u

usage() { echo "usage: demo-hosts.sh [--keep]" >&2; exit 2; }
keep=no
for arg; do
	case $arg in
	--keep) keep=yes ;;
	-h | --help) echo "usage: demo-hosts.sh [--keep]"; exit 0 ;;
	*) usage ;;
	esac
done

# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"
D=$LAB_DIR/demo
LAB_HOSTS_OUT=$D
# shellcheck source=tests/lab/lab-hosts.sh
. "$LAB_HOME/lab-hosts.sh"

started_us=${EPOCHREALTIME/./}
sampler=
teardown() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	lab_hosts_stop
}
trap teardown EXIT

say() { printf '\n%s\n' "$*"; }
fail() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }
indent() { sed 's/^/    /'; }
now_us() { echo "${EPOCHREALTIME/./}"; }

# sample: every node's guests, over and over: "TIME_US HOLDERS" lines in
# $D/samples (HOLDERS "lab-nodeN:DOMAIN,...", "-" for none).
sample() {
	local h
	while :; do
		h=$(lab_hosts_holders)
		h=${h// /,}
		echo "$(now_us) ${h:--}" >>"$D/samples"
		sleep 0.1
	done
}

# Changes seen by the sampler.
sampler_events() {
	awk -v from="$1" -v to="$2" '
		NR > 1 && $1 >= from && $1 <= to && $2 != h {
			printf "%s\tsampler\tevery node read: the device is %s\n", $1, ($2 == "-" ? "on no guest" : "on " $2) }
		{ h = $2 }' "$D/samples"
}

# timeline NAME T0_US TO_US: every event from T0 to TO in order, its time of
# day and its offset from T0 in ms; also saved as $D/NAME.tsv.
timeline() {
	local name=$1 t0=$2 to=$3 t part what prev='' prev_t
	{
		lab_hosts_events "$t0" "$to"
		sampler_events "$t0" "$to"
		cat "$D/$name.extra" 2>/dev/null
	} | sort -s -n -k1,1 >"$D/$name.tsv"
	printf '\n    %-12s  %9s  %-13s %s\n' "time" "ms" "who" "what"
	prev_t=$t0
	while IFS=$'\t' read -r t part what; do
		[ "$part $what" = "$prev" ] && continue
		[ $((t - prev_t)) -gt 5000000 ] && printf '    ...\n'
		printf '    %s  %+9d  %-13s %s\n' "$(date -d "@${t:0:-6}.${t: -6}" +%T.%3N)" $(((t - t0) / 1000)) "$part" "$what"
		prev_t=$t prev="$part $what"
	done <"$D/$name.tsv"
}
extra() { printf '%s\t%s\t%s\n' "$2" "$3" "$4" >>"$D/$1.extra"; }

# first NAME ERE: the time (us) of the first line of timeline NAME whose
# "WHO<TAB>WHAT" matches ERE.
first() { awk -F '\t' -v re="$2" '($2 "\t" $3) ~ re { print $1; exit }' "$D/$1.tsv"; }
# span FROM TO: "N ms", or "?" when either end is missing.
span() { if [ -n "$1" ] && [ -n "$2" ]; then echo "$((($2 - $1) / 1000)) ms"; else echo "?"; fi; }
# ms FROM TO: the ms between, right-aligned, "?" when either end is missing.
ms() { if [ -n "$1" ] && [ -n "$2" ]; then printf '%6d' $((($2 - $1) / 1000)); else printf '%6s' '?'; fi; }

show_status() {
	say "\$ crm_mon -1   (on lab-node$LAB_NODES_VIEW)"
	lab_node_run "$LAB_NODES_VIEW" crm_mon -1 2>&1 | grep -v -e '^ *$' -e 'Last updated' -e 'Last change' | indent
	say "\$ hostdevctl status --cluster   (on lab-node$LAB_NODES_VIEW)"
	lab_node_run "$LAB_NODES_VIEW" env NO_COLOR=1 "$LAB_CTL" status --cluster 2>&1 | indent
}

LAB_NODES_VIEW=1
export LAB_NODES_VIEW

# --- Bring-up ------------------------------------------------------------
cat <<'EOF'
hostdev-ha demo, two hosts: one service, the group nic0, across two hosts of
a Pacemaker cluster with fencing. Each host has its own PCI device and two
VMs; at most one VM in the whole cluster is active. A failed VM is replaced
by the standby on the same host; a lost host by the other host's standby,
once Pacemaker has fenced it and the group's cluster token is free.
EOF
say "Bringing up the lab: two cluster nodes (lab-node1 = host1, lab-node2 = host2),
each its own namespaces, Corosync (token ${LAB_COROSYNC_TOKEN_MS:-3000} ms) and Pacemaker, fencing by the
lab's power switch (fence_lab); on each a private bus, libvirtd with two small
QEMU guests (host1: vm-a1 vm-a2, host2: vm-b1 vm-b2) and hostdev-had with group
nic0 (Policy=pacemaker, [Cluster] Enabled=yes, QuorumLossReleaseSec=$LAB_HOSTS_QLR).
The PCI device is an emulated e1000e NIC on each host."
say "The resources are made with the lines of docs/pacemaker.md, \"One group across
hosts\" (host1, host2 read lab-node1, lab-node2):"
lab_hosts_recipe_lines | indent

sample_start() { sample </dev/null >/dev/null 2>&1 & sampler=$!; }
t=$(now_us)
lab_hosts_start 2>"$D/start.err" || fail "the lab did not come up: $(tail -n 5 "$D/start.err"); last state: $(cat "$D/settled" 2>/dev/null)"
sample_start
active=$(lab_hosts_holder 1)
say "Up in $((($(now_us) - t) / 1000000)) s: nic0-site runs on lab-node1, $active holds host1's device;
the three others are standbys at the low CPU quota."
show_status

# Every guest booted before the first fault: a device hot-plugged into a
# guest that is still booting is found present at boot, not seen appearing.
for n in 1 2; do
	# shellcheck disable=SC2086 # the node's domains
	for d in ${lab_hosts_domains[$n]}; do
		lab_wait_for 120 lab_node_run "$n" lab_console_has "$d" '^READY$' || fail "$d on lab-node$n did not boot"
	done
done

# --- (a) The active VM fails ------------------------------------------------
standby=$(lab_hosts_domain_of "$(lab_hosts_placement | awk '$2 == "Unpromoted" && $3 == "lab-node1" { print $1; exit }')")
say "== (a) The active VM fails: $active's QEMU on lab-node1 is killed (kill -9). =="
echo "host1's standby $standby still has a promotion score above 0: the site stays on host1."
pid=$(lab_hosts_qemu_pid 1 "$active") || fail "no QEMU for $active on lab-node1"
t0=$(now_us)
kill -KILL "$pid"
extra a "$t0" demo "kill -9 of $active's QEMU on lab-node1"
lab_wait_for 60 eval '[ "$(lab_hosts_holders)" = "lab-node1:$standby" ]' || fail "$standby did not get the device: on '$(lab_hosts_holders)'"
t1=$(now_us)
lab_wait_for 60 lab_hosts_settled 1 1 || fail "host1 did not settle with $standby active: $(cat "$D/settled")"
site_a=$(lab_hosts_placement | awk '$1 == "nic0-site" { print $3 }')
echo "$standby holds the device $(((t1 - t0) / 1000)) ms after the crash (as the sampler saw it); nic0-site"
echo "still on $site_a. Pacemaker would start $active again after failure-timeout=30s; the demo"
echo "clears the failure now (crm_resource --cleanup)."
lab_node_run 1 crm_resource --cleanup -r nic0-lab-node1-clone >/dev/null 2>&1
lab_wait_for 120 lab_hosts_settled 1 || fail "$active did not come back as a standby: $(cat "$D/settled")"
t2=$(now_us)
extra a "$t2" demo "all settled: $standby active on lab-node1, $active a standby again, site on lab-node1"
timeline a "$t0" "$t2"
seen=$(first a '^daemon@1.*active --stopped--> failed')
promote=$(first a '^pacemaker.promote nic0-lab-node1')
added=$(first a "^libvirt@1.*device-added.*'$standby'")
say "What took the time, ms after the kill:
    $(ms "$t0" "$seen")  hostdev-had sees $active fail (libvirt's event) and reports it to Pacemaker
    $(ms "$t0" "$promote")  Pacemaker's promote of $standby initiated (after the demote and stop of $active)
    $(ms "$t0" "$added")  device-added on $standby"
echo
echo "After (a): nic0-site on $site_a; lab-node1:$standby holds the device."

# --- (b) Host 1 is lost ----------------------------------------------------------
active=$standby
lab_wait_for 60 lab_node_run 1 lab_console_has "$active" '^READY$'
say "== (b) host1 fails: lab-node1 is powered off at the lab's power switch. =="
echo "Every process of lab-node1 dies at once, $active with the device among them. lab-node2"
echo "sees it leave the ring, Pacemaker fences it (fence_lab), starts nic0-site on lab-node2 and"
echo "promotes a standby there; that promote waits until lab-node2's hostdev-had holds the"
echo "group's cluster token, freed QuorumLossReleaseSec ($LAB_HOSTS_QLR s) + 5 s after host1 left."
LAB_NODES_VIEW=2
t0=$(now_us)
extra b "$t0" demo "lab-node1 powered off (the power switch, by hand)"
lab_hosts_power off 1 || fail "cannot power lab-node1 off"
lab_wait_for 120 eval 'case $(lab_hosts_holders) in lab-node2:*) true ;; *) false ;; esac' ||
	fail "no guest of lab-node2 got the device: on '$(lab_hosts_holders)'"
t1=$(now_us)
holder_b=$(lab_hosts_holders)
lab_wait_for 60 lab_hosts_settled 2 || fail "host2 did not settle: $(cat "$D/settled")"
lab_wait_for 60 lab_nodes_down 1 || fail "Pacemaker does not have lab-node1 down and clean"
t2=$(now_us)
site_b=$(lab_hosts_placement | awk '$1 == "nic0-site" { print $3 }')
extra b "$t2" demo "all settled: ${holder_b#*:} active on lab-node2, nic0-site on lab-node2, lab-node1 off"
timeline b "$t0" "$t2"
left=$(first b '^corosync@2.*A new membership')
decided=$(first b '^fencing.*will be fenced')
fenced=$(first b "^fencing.*(targeting lab-node1 using fence-lab returned 0|Peer lab-node1 was terminated)")
promote=$(first b '^pacemaker.promote nic0-lab-node2')
token=$(first b "^daemon@2.*token (orphaned|free) --request--> held")
added=$(first b "^libvirt@2.*device-added")
say "What took the time, ms after the power-off:
    $(ms "$t0" "$left")  detection: Corosync's new membership without lab-node1 (token ${LAB_COROSYNC_TOKEN_MS:-3000} ms, then consensus)
    $(ms "$t0" "$decided")  Pacemaker decides to fence lab-node1
    $(ms "$t0" "$fenced")  fencing confirmed (fence_lab: lab-node1 off)
    $(ms "$t0" "$promote")  Pacemaker's promote on lab-node2 initiated (nic0-site started there first)
    $(ms "$t0" "$token")  the cluster token granted to lab-node2: $(span "$fenced" "$token") after the fencing, $(span "$left" "$token")
            after lab-node1 left the ring (QuorumLossReleaseSec=$LAB_HOSTS_QLR + 5 s)
    $(ms "$t0" "$added")  device-added on ${holder_b#*:} (the attach: $(span "$token" "$added"))"
echo
echo "After (b): nic0-site on $site_b; $holder_b holds the device."
show_status

kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
n=$(wc -l <"$D/samples")
# A move seen between the reads of two nodes is not two holders: only a
# double seen in two samples in a row counts.
two=$(awk '$2 ~ /,/ { if (last) print; last = 1; next } { last = 0 }' "$D/samples" | wc -l)
[ "$two" = 0 ] || fail "the device was on two guests at once: $(awk '$2 ~ /,/' "$D/samples" | head -n 3)"
say "Every node's guests were read $n times during the run: the device was never on
two guests in the cluster at once."

if [ "$keep" = yes ]; then
	cat >"$LAB_DIR/env" <<-EOF
		# The lab's environment, for a shell inside it (nsenter ... bash --rcfile).
		export LAB_DIR='$LAB_DIR' LAB_HOME='$LAB_HOME' LAB_CACHE='$LAB_CACHE'
		export abs_top_srcdir='$abs_top_srcdir' abs_top_builddir='$abs_top_builddir'
		export PATH='$abs_top_builddir':\$PATH HOME='$LAB_DIR/home'
		. '$LAB_HOME/lab-common.sh'; . '$LAB_HOME/lab-cluster.sh'; . '$LAB_HOME/lab-nodes.sh'
		# node N: a shell on node N; power on|off N: the power switch.
		node() { local n=\$1; shift; lab_node_run "\$n" "\${@:-bash}"; }
		power() { printf 'action=%s\\nport=lab-node%s\\n' "\$1" "\$2" | fence_lab; }
		PS1='[hostdev-ha lab] \\w# '
	EOF
	echo "$$" >"$D/pid"
	say "Done in $((($(now_us) - started_us) / 1000000)) s; the lab stays up (--keep)."
	trap 'exit 0' TERM
	echo "@@ demo kept @@"
	sleep infinity &
	wait $!
	exit 0
fi

say "Tearing down: every node powered off (its guests, daemons, libvirtd, bus, Corosync
and Pacemaker with it), the switch, the fence agent and the nodes' cgroups removed."
teardown 2>/dev/null
trap - EXIT
echo "Done in $((($(now_us) - started_us) / 1000000)) s."
