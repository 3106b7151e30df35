#!/bin/bash
# The cluster token as the second line of defence, against a Pacemaker
# configuration that is wrong on purpose: the two-host lab of lab-hosts.sh
# (two nodes with fencing, per node a bus, libvirtd, two guests, hostdev-had
# with group nic0, Policy=pacemaker, [Cluster] Enabled=yes), configured with
# the two per-host clones of docs/pacemaker.md's "One group across hosts"
# but without nic0-site and its rules, colocations and orders
# (lab_hosts_start with LAB_HOSTS_SITE=no): nothing stops Pacemaker from promoting one
# instance on each host, and it does.
# Checked: Pacemaker initiated a promote on both hosts; exactly one host's
# member holds the device (the winner W, whichever host's request the
# cluster delivered first), in the guests' live XML and in both daemons'
# views; the other host's (L's) hostdev-had logged the promote refused by
# the cluster with the HeldElsewhere message naming W and its domain, and
# L's guests never had the device; then W's member released (hostdevctl
# release on W, outside Pacemaker: a --ban would wait for L's promote in
# flight to end first): the token is free, L's promote, still pending and
# asking again, gets it, succeeds, and L's member holds the device.  A
# sampler reads every node's guests (lab_nodes_device_holders) throughout:
# never two holders.  Every wait is bounded (60 s at most); durations are
# printed, never asserted.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"
LAB_HOSTS_SITE=no
# shellcheck source=tests/lab/lab-hosts.sh
. "$LAB_HOME/lab-hosts.sh"

CTL=$LAB_CTL
alias=$LAB_HOSTS_ALIAS
ALL_DOMAINS=(vm-a1 vm-a2 vm-b1 vm-b2)
LAB_NODES_VIEW=1
export LAB_NODES_VIEW

sampler=
teardown() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	lab_hosts_stop
}
trap teardown EXIT

# holders: every node's running domains that have the device.
holders() { lab_nodes_device_holders --alias "$alias" "${ALL_DOMAINS[@]}"; }
# sample: "TIME_US HOLDERS" lines in $LAB_DIR/samples (HOLDERS comma-separated,
# "-" for none); a double seen in two samples in a row in two-holders.
sample() {
	local h last=
	while :; do
		h=$(holders 2>/dev/null)
		case $h in
		*" "*) [ -n "$last" ] && echo "$(date +%T.%3N) $h" >>"$LAB_DIR/two-holders"; last=1 ;;
		*) last= ;;
		esac
		h=${h// /,}
		echo "${EPOCHREALTIME/./} ${h:--}" >>"$LAB_DIR/samples"
		sleep 0.2
	done
}

pcmk_log() { echo "$LAB_DIR/node$1/cluster/var-log-pacemaker/pacemaker.log"; }
# pcmk_logged ERE: a line of either node's Pacemaker log matches.
pcmk_logged() { cat "$(pcmk_log 1)" "$(pcmk_log 2)" 2>/dev/null | grep -Eq -- "$1"; }
pcmk_lines() { cat "$(pcmk_log 1)" "$(pcmk_log 2)" 2>/dev/null | grep -E -- "$1"; }
daemon_log() { echo "$LAB_DIR/node$1/hostdev-had.log"; }
daemon_logged() { grep -Eq -- "$2" "$(daemon_log "$1")"; }
# promote_initiated N: Pacemaker initiated the promote of an instance of
# host N's clone on host N.
promote_initiated() { pcmk_logged "Initiating promote operation nic0-lab-node$1:[01]_promote_0 (locally )?on lab-node$1"; }
# one_holder: exactly one member of the cluster holds the device; prints it.
one_holder() {
	local h
	h=$(holders)
	case $h in lab-node[12]:vm-*) ;; *) return 1 ;; esac
	[ "$h" = "${h% *}" ] && echo "$h"
}
mon_text() { lab_node_run "$LAB_NODES_VIEW" lab_cluster_mon -r 2>&1 | grep -E 'nic0|Promot|Unpromot|Stopped'; }
ctl() {
	local n=$1
	shift
	rc=0
	lab_node_run "$n" "$CTL" "$@" >"$LAB_DIR/ctl.out" 2>"$LAB_DIR/ctl.err" || rc=$?
	diag "node $n: hostdevctl $* -> $rc $(head -c 300 "$LAB_DIR/ctl.out") $(head -c 300 "$LAB_DIR/ctl.err")"
	[ "$rc" = 0 ]
}

# --- Up: two nodes, their services, the recipe without the site.
t=$(date +%s%N)
failures_before=$tap_failures
check "two hosts up, the per-host clones pushed without nic0-site and its constraints" \
	lab_hosts_start
diag "nodes, services and the CIB in $(ms_since "$t") ms"
bail_out_unless_passed "the lab did not come up"
check "the CIB has both clones and no nic0-site" \
	eval 'cib=$(lab_node_run 1 cibadmin -Q -o configuration); grep -q "id=\"nic0-lab-node1-clone\"" <<<"$cib" &&
		grep -q "id=\"nic0-lab-node2-clone\"" <<<"$cib" && ! grep -q nic0-site <<<"$cib"'

sampler=
sample &
sampler=$!

# --- 1. Pacemaker promotes on both hosts; the token lets one through.
t=$(date +%s%N)
check "1: Pacemaker initiated a promote of host 1's clone on lab-node1 and of host 2's on lab-node2" \
	lab_wait_for 60 eval 'promote_initiated 1 && promote_initiated 2'
diag "CIB pushed -> both promotes initiated: $(ms_since "$t") ms"
pcmk_lines 'Initiating promote operation nic0-' | while IFS= read -r l; do diag "  ${l:0:160}"; done
check "1: exactly one member of the cluster holds the device" lab_wait_for 60 one_holder
diag "CIB pushed -> one holder: $(ms_since "$t") ms"
h=$(one_holder)
w=${h%%:*} w=${w#lab-node} wd=${h#*:}
l=$((3 - ${w:-1}))
diag "winner: host $w ($wd); the other: host $l"
if [ "$l" = 1 ]; then lp=vm-a; else lp=vm-b; fi
# The daemon's log of a refusal: the HeldElsewhere message (the token held
# by another host), naming its holder.
refused="Group 'nic0': [a-z]+ to '${lp}[12]' refused by the cluster: Group 'nic0' is held by '$wd' on host 'lab-node$w'"
check "1: host $l's hostdev-had logged the promote refused by the cluster, HeldElsewhere naming lab-node$w and $wd" \
	lab_wait_for 60 daemon_logged "$l" "$refused"
diag "host $l's log: $(grep -E -m 1 -- "$refused" "$(daemon_log "$l")")"
diag "host $l's refusals so far: $(grep -cE -- "$refused" "$(daemon_log "$l")")"
check "1: host $l's promote still in flight (no result of it yet), Pacemaker's view:" \
	eval '! pcmk_logged "Result of promote operation for nic0-lab-node$l:"'
mon_text | while IFS= read -r m; do diag "  $m"; done
check "1: the device on $wd alone (every node's guests' live XML), host $l's guests without it" \
	eval '[ "$(holders)" = "lab-node$w:$wd" ] && [ -z "$(lab_node_run "$l" lab_device_holders --alias "$alias" "${ALL_DOMAINS[@]}")" ]'
check "1: host $w's hostdev-had has $wd active, host $l's none" \
	eval '[ "$(lab_hosts_holder "$w")" = "$wd" ] && [ -z "$(lab_hosts_holder "$l")" ]'
check "1: the sampler never saw the device on host $l" \
	eval '! grep -q "lab-node$l:" "$LAB_DIR/samples"'

# --- 2. The winner's member released: host $l's promote gets the token.
t=$(date +%s%N)
check "2: hostdevctl release nic0 on host $w" ctl "$w" release nic0
check "2: host $l's hostdev-had is granted the token" \
	lab_wait_for 60 daemon_logged "$l" "Group 'nic0': token free --request--> held: granted to node $l for "
diag "release -> granted to host $l: $(ms_since "$t") ms"
check "2: a member of host $l holds the device, alone" \
	lab_wait_for 60 eval 'case $(one_holder) in lab-node$l:*) true ;; *) false ;; esac'
diag "release -> host $l holds it: $(ms_since "$t") ms"
h=$(one_holder)
ld=${h#*:}
check "2: Pacemaker's promote of host $l's instance ($ld) done: ok" \
	lab_wait_for 60 pcmk_logged "Result of promote operation for nic0-lab-node$l:[01] on lab-node$l: ok"
pcmk_lines "Result of promote operation for nic0-lab-node[12]:" | while IFS= read -r m; do diag "  ${m:0:160}"; done
check "2: the promote that succeeded is the one initiated first on host $l (no promote of host $l failed before)" \
	eval '[ -z "$(pcmk_lines "Result of promote operation for nic0-lab-node$l:[01] on lab-node$l: " | grep -v ": ok")" ]'
check "2: host $l's hostdev-had has $ld active, host $w's none" \
	eval '[ "$(lab_hosts_holder "$l")" = "$ld" ] && [ -z "$(lab_hosts_holder "$w")" ]'
mon_text | while IFS= read -r m; do diag "  $m"; done

# A few more samples while Pacemaker notices the released instance of
# host $w (its monitor) and tries host $w again: refused in turn.
sleep 3
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
diag "$(wc -l <"$LAB_DIR/samples") samples of every node's guests"
diag "single samples with two holders (a move between two reads): $(awk '$2 ~ /,/' "$LAB_DIR/samples" | grep -c .)"
moves=$(awk '$2 != last { printf "%s ", $2; last = $2 }' "$LAB_DIR/samples")
diag "holders seen: $moves"
check "every node's guests sampled" test -s "$LAB_DIR/samples"
check "the device never on two guests (two samples in a row)" \
	eval '[ ! -s "$LAB_DIR/two-holders" ] || { diag "$(head -n 3 "$LAB_DIR/two-holders")"; false; }'
# A single sample with two holders is a move seen between the reads of two
# nodes (two in a row are checked above): not a holder of its own.
check "the sampler saw the device go lab-node$w:$wd -> lab-node$l:$ld only" \
	eval '[ "$(awk '\''$2 != "-" && $2 !~ /,/ && $2 != last { printf "%s ", $2; last = $2 }'\'' "$LAB_DIR/samples")" = "lab-node$w:$wd lab-node$l:$ld " ]'
tap_done
