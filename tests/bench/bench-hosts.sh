#!/bin/bash
# The benchmark of one group across two hosts (docs/pacemaker.md, "One
# group across hosts"), on the two-host demo's lab (tests/lab/lab-hosts.sh:
# two nodes with fencing by fence_lab, Corosync's token 1000 ms, two TCG
# guests and hostdev-had on each, the documented pcs lines). Each round,
# on the host that runs the group:
#   - a same-host failover: the active guest's QEMU SIGKILLed -> the host's
#     standby holds the device (libvirtd's device-added event);
#   - a host failover: the host powered off at the lab's power switch ->
#     the other host's standby holds the device, and what took the time:
#     detection (Corosync's new membership), fencing (Pacemaker's fencing
#     confirmed), the token (granted to the other host's hostdev-had), the
#     attach (device-added); then the host powered on again and back as a
#     standby host before the next round (the group stays where it went).
# Goal: power-off -> held under 5 s, fencing included. BENCH_HOSTS_ROUNDS
# (default 3); QuorumLossReleaseSec is BENCH_HOSTS_QLR (default 3). Medians
# (min-max). Numbers, not a test: nothing here is in make check. Run by
# `make bench-hosts`.
# shellcheck disable=SC2016 # eval '...' expands when it runs
set -u
# Corosync's token for these figures: 1000 ms (the lab's default: 3000 ms).
export LAB_COROSYNC_TOKEN_MS=${LAB_COROSYNC_TOKEN_MS:-1000}
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"
LAB_HOSTS_QLR=${BENCH_HOSTS_QLR:-3}
LAB_HOSTS_OUT=$LAB_DIR/bench
# shellcheck source=tests/lab/lab-hosts.sh
. "$LAB_HOME/lab-hosts.sh"

rounds=${BENCH_HOSTS_ROUNDS:-3}
out=$LAB_HOSTS_OUT
trap lab_hosts_stop EXIT

now_us() { echo "${EPOCHREALTIME/./}"; }
# median FILE: of the numbers in FILE, one a line.
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
cell() { echo "$(median "$out/$1") ms ($(sort -n "$out/$1" | sed -n '1p;$p' | xargs | tr ' ' -))"; }
# when NAME T0 ERE: the time (us) of the first event since T0 whose
# "WHO<TAB>WHAT" matches ERE, from timeline NAME.
when() { awk -F '\t' -v re="$2" '($2 "\t" $3) ~ re { print $1; exit }' "$out/$1.tsv"; }
# ms T0 T: ms from T0 to T, "?" when T is missing.
ms() { if [ -n "$2" ]; then echo $((($2 - $1) / 1000)); else echo "?"; fi; }
record() { [ "$2" != "?" ] && echo "$2" >>"$out/$1"; }
# events NAME T0 T1: every event between, in order, in $out/NAME.tsv.
events() { lab_hosts_events "$2" "$3" | sort -s -n -k1,1 >"$out/$1.tsv"; }
holder_on() { case $(lab_hosts_holders) in "lab-node$1:"*) true ;; *) false ;; esac; }
die() { lab_die "$* (last state: $(cat "$out/settled" 2>/dev/null))"; }

echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); QuorumLossReleaseSec=$LAB_HOSTS_QLR (+ 5 s margin), Corosync token $LAB_COROSYNC_TOKEN_MS ms"
t=$(now_us)
lab_hosts_start || die "the lab did not come up"
echo "# up in $(($(now_us) / 1000 - t / 1000)) ms: host 1 runs the group"

a=1
for i in $(seq "$rounds"); do
	b=$((3 - a))
	export LAB_NODES_VIEW=$a
	# --- the same-host failover on host $a.
	h=$(lab_hosts_holder "$a")
	s=$(lab_hosts_domain_of "$(lab_hosts_placement | awk -v n="lab-node$a" '$2 == "Unpromoted" && $3 == n { print $1; exit }')")
	lab_wait_for 60 lab_node_run "$a" lab_console_has "$s" '^READY$'
	pid=$(lab_hosts_qemu_pid "$a" "$h") || die "round $i: no QEMU for $h on lab-node$a"
	t0=$(now_us)
	kill -KILL "$pid"
	lab_wait_for 60 eval '[ "$(lab_hosts_holders)" = "lab-node$a:$s" ]' || die "round $i: $s did not get the device"
	lab_wait_for 60 lab_hosts_settled "$a" 1 || die "round $i: lab-node$a did not settle with $s"
	events "crash-$i" "$t0" "$(now_us)"
	added=$(when "crash-$i" "^libvirt@$a.*device-added.*'$s'")
	record crash "$(ms "$t0" "$added")"
	echo "round $i: kill $h (lab-node$a) -> $s holds the device: $(ms "$t0" "$added") ms" \
		"(seen $(ms "$t0" "$(when "crash-$i" "^daemon@$a.*active --stopped--> failed")"), promote initiated $(ms "$t0" "$(when "crash-$i" "^pacemaker.promote nic0-lab-node$a")"))"
	lab_node_run "$a" crm_resource --cleanup -r "nic0-lab-node$a-clone" >/dev/null 2>&1
	lab_wait_for 120 lab_hosts_settled "$a" || die "round $i: $h did not come back as a standby"

	# --- the host failover: host $a powered off.
	export LAB_NODES_VIEW=$b
	t0=$(now_us)
	lab_hosts_power off "$a" || die "round $i: cannot power lab-node$a off"
	lab_wait_for 120 holder_on "$b" || die "round $i: no guest of lab-node$b got the device"
	lab_wait_for 60 lab_hosts_settled "$b" || die "round $i: lab-node$b did not settle"
	events "host-$i" "$t0" "$(now_us)"
	left=$(when "host-$i" "^corosync@$b.*A new membership")
	fenced=$(when "host-$i" "^fencing.*(targeting lab-node$a using fence-lab returned 0|Peer lab-node$a was terminated)")
	promote=$(when "host-$i" "^pacemaker.promote nic0-lab-node$b")
	token=$(when "host-$i" "^daemon@$b.*--request--> held: granted to node $b")
	added=$(when "host-$i" "^libvirt@$b.*device-added")
	record host "$(ms "$t0" "$added")"
	record detect "$(ms "$t0" "$left")"
	[ -n "$left" ] && record fence "$(ms "$left" "$fenced")"
	[ -n "$fenced" ] && record token "$(ms "$fenced" "$token")"
	[ -n "$token" ] && record attach "$(ms "$token" "$added")"
	[ -n "$t0" ] && record promote "$(ms "$t0" "$promote")"
	echo "round $i: lab-node$a powered off -> $(grep -o "domain '[^']*'" <<<"$(grep -m1 "device-added" "$out/host-$i.tsv")") on lab-node$b holds the device:" \
		"$(ms "$t0" "$added") ms = detection $(ms "$t0" "$left") + fencing $(ms "$left" "$fenced")" \
		"+ token $(ms "$fenced" "$token") + attach $(ms "$token" "$added") (promote initiated at $(ms "$t0" "$promote"))"

	# --- host $a powered on again: back with its members as standbys.
	t=$(now_us)
	lab_hosts_power on "$a" || die "round $i: cannot power lab-node$a on"
	lab_wait_for 120 lab_nodes_online 1 2 || die "round $i: lab-node$a did not rejoin"
	lab_hosts_watch_start "$a"
	lab_wait_for 180 lab_hosts_settled "$b" || die "round $i: lab-node$a's members did not come back as standbys"
	echo "round $i: lab-node$a powered on -> back, its members standbys, the group still on lab-node$b: $(ms "$t" "$(now_us)") ms"
	a=$b
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "# $rounds rounds, medians (min-max); QuorumLossReleaseSec=$LAB_HOSTS_QLR, Corosync token $LAB_COROSYNC_TOKEN_MS ms, fencing by fence_lab"
echo
echo "| what | median (min-max) | goal |"
echo "|---|---|---|"
echo "| same-host failover: active guest's QEMU killed -> the host's standby holds the device | $(cell crash) | |"
echo "| host failover: host powered off -> the other host's standby holds the device | $(cell host) | < 5 s |"
echo "| - detection: power-off -> Corosync's new membership | $(cell detect) | |"
echo "| - fencing: membership -> fencing confirmed | $(cell fence) | |"
echo "| - the token: fencing confirmed -> token granted to the other host | $(cell token) | |"
echo "| - the attach: token granted -> device-added | $(cell attach) | |"
echo "| (Pacemaker's promote initiated, after the power-off) | $(cell promote) | |"
echo
host=$(median "$out/host")
if [ "$host" -lt 5000 ]; then verdict=met; else verdict="not met"; fi
echo "goal, power-off -> held under 5000 ms with fencing: $verdict (median $host ms)."
echo "The token was granted $(median "$out/token") ms after the fencing was confirmed (median): the surviving"
echo "hostdev-had frees it once Pacemaker's fencer confirms the fencing (it polls the fencer every second),"
echo "at the latest QuorumLossReleaseSec + 5 s = $((LAB_HOSTS_QLR + 5)) s after it saw the host leave the ring."
echo "Pacemaker's promote was initiated $(median "$out/promote") ms after the power-off."
