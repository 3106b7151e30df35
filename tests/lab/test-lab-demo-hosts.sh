#!/bin/bash
# The two-host demo (tests/lab/demo-hosts.sh, make demo DEMO_ARGS='--hosts
# 2') as a test, in this test's lab: it ends with status 0 (its wall time is
# printed, not asserted); it brought the group up with the documented lines,
# host 1 active; (a) the crash's timeline has the failure seen and reported,
# the failed member demoted, host 1's standby promoted and given the device,
# in that order, the site kept on host 1, and the failed member back as a
# standby; (b) the power-off's timeline has Corosync's new membership,
# Pacemaker's fencing of host 1 confirmed, the site started on host 2, then
# host 2's promote, the token granted to host 2 (only after the fencing),
# the device attached there; host 2's member holds the device at the end;
# its sampler of every node's guests never saw two holders and saw the
# device go host 1 -> host 1's standby -> host 2; and its teardown left no
# process, bridge, veth, mount or node cgroup behind.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"

out=$LAB_DIR/demo.out
D=$LAB_DIR/demo

t=$(date +%s%N)
bash "$LAB_HOME/demo.sh" --hosts 2 >"$out" 2>&1
rc=$?
diag "demo --hosts 2: status $rc in $((($(date +%s%N) - t) / 1000000)) ms"
check "the demo ends with status 0" test "$rc" = 0 || tail -n 20 "$out" | while IFS= read -r l; do diag "$l"; done

section() { sed -n "/$1/,/$2/p" "$out"; }
# shellcheck source=tests/lab/lab-timeline.sh
. "$LAB_HOME/lab-timeline.sh"

check "the documented pcs lines shown, host1 and host2 as lab-node1 and lab-node2" \
	eval 'grep -q "^    pcs -f nic0.xml constraint location nic0-site prefers lab-node1=100$" "$out" &&
		grep -q "^    pcs cluster cib-push nic0.xml --config$" "$out"'
a=$(sed -n 's/.*nic0-site runs on lab-node1, \(vm-a[12]\) holds host1.s device;$/\1/p' "$out")
check "up: the site on lab-node1, a member of host 1 holds the device (${a:-none})" test -n "$a"
if [ "$a" = vm-a1 ]; then s=vm-a2; else s=vm-a1; fi

T='^    [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +[+-][0-9]+  '
ta=$(section '^== (a)' '^After (a)')
tb=$(section '^== (b)' '^After (b)')
check "both sections have a timeline, every line with a time and an offset" \
	eval '[ -n "$ta" ] && [ -n "$tb" ] && [ -z "$(grep -E "^    [0-9]{2}:" <<<"$ta$tb" | grep -vE "$T")" ]'

check "(a): killed, seen and reported, demoted, promoted on host 1, attached, back as a standby" \
	in_order "$ta" \
	"${T}demo +kill -9 of $a's QEMU on lab-node1" \
	"${T}daemon@1 +nic0/$a: active --stopped--> failed" \
	"${T}daemon@1 +Group 'nic0': '$a' failed .*reporting it to Pacemaker as 'nic0-lab-node1:[01]' on 'lab-node1'" \
	"${T}pacemaker +(demote|stop) nic0-lab-node1:[01] \($a\) on lab-node1" \
	"${T}pacemaker +promote nic0-lab-node1:[01] \($s\) on lab-node1" \
	"${T}daemon@1 +Group 'nic0': device unallocated -> '$s' \(generation [0-9]+, attached\)" \
	"${T}pacemaker +promote of nic0-lab-node1:[01] \($s\) done: ok" \
	"${T}pacemaker +start nic0-lab-node1:[01] \($a\) on lab-node1" \
	"${T}demo +all settled: $s active on lab-node1, $a a standby again, site on lab-node1"
check "(a): libvirtd's device-added on $s after the promote began" \
	after "$ta" "${T}pacemaker +promote nic0-lab-node1:[01] \($s\) on lab-node1" "${T}libvirt@1 +'device-added' for domain '$s'"
check "(a): the guest $s sees the device appear" \
	eval 'grep -qE "${T}guest $s +kernel: a PCI device appeared" <<<"$ta"'
check "(a): nothing of host 2 promoted, the site not moved" \
	eval '! grep -qE "${T}pacemaker +(promote nic0-lab-node2|(start|stop) nic0-site)" <<<"$ta"'
check "(a): the site stayed on host 1, $s holds the device" \
	grep -qx "After (a): nic0-site on lab-node1; lab-node1:$s holds the device." "$out"

b=$(sed -n 's/^After (b): nic0-site on lab-node2; lab-node2:\(vm-b[12]\) holds the device\.$/\1/p' "$out")
check "(b): the site on host 2, host 2's member ${b:-(none)} holds the device" test -n "$b"
check "(b): powered off, left the ring, fenced, site on host 2, promoted, token, attached" \
	in_order "$tb" \
	"${T}demo +lab-node1 powered off" \
	"${T}power +off lab-node1 done \(status 0\)" \
	"${T}corosync@2 +TOTEM: A new membership .* Members left: 1" \
	"${T}fencing +(Operation 'off' .* targeting lab-node1 using fence-lab returned 0|Peer lab-node1 was terminated \(off\))" \
	"${T}pacemaker +start nic0-site \(site\) on lab-node2" \
	"${T}pacemaker +promote nic0-lab-node2:[01] \($b\) on lab-node2" \
	"${T}daemon@2 +Group 'nic0': token free --request--> held: granted to node 2 for '$b'" \
	"${T}daemon@2 +Group 'nic0': device unallocated -> '$b' \(generation [0-9]+, attached\)" \
	"${T}pacemaker +promote of nic0-lab-node2:[01] \($b\) done: ok" \
	"${T}demo +all settled: $b active on lab-node2, nic0-site on lab-node2, lab-node1 off"
check "(b): host 2's hostdev-had: the token orphaned by host 1's departure, freed by the expiry, granted to host 2" \
	in_order "$tb" \
	"${T}daemon@2 +.*Group 'nic0': token held --holder-left--> orphaned: node 1 left" \
	"${T}daemon@2 +Group 'nic0': token orphaned --expire--> free" \
	"${T}daemon@2 +Group 'nic0': token free --request--> held: granted to node 2 for '$b'"
check "(b): libvirtd's device-added on $b after host 2 got the token" \
	after "$tb" "${T}daemon@2 +Group 'nic0': token free --request--> held: granted to node 2 for '$b'" \
		"${T}libvirt@2 +'device-added' for domain '$b'"
check "(b): the guest $b sees the device appear" \
	eval 'grep -qE "${T}guest $b +kernel: a PCI device appeared" <<<"$tb"'
check "(b): what took the time is printed, every step found" \
	eval 'w=$(section "^What took the time, ms after the power-off" "device-added on"); diag "$w" | head -n 0;
		[ "$(grep -cE "^ +[0-9]+  " <<<"$w")" = 6 ] && ! grep -q "?" <<<"$w"'
check "(b): crm_mon and hostdevctl status --cluster shown from lab-node2: $b promoted, token held by lab-node2" \
	eval 'grep -qE "^        \* nic0-lab-node2:[01].*Promoted lab-node2" "$out" &&
		grep -qE "^    nic0 +held +lab-node2 +$b " "$out"'

# The sampler: "TIME_US HOLDERS" lines, HOLDERS comma-separated.
n=$(wc -l <"$D/samples" 2>/dev/null || echo 0)
diag "$n samples of every node's guests"
check "every node's guests sampled" test "$n" -gt 0
two=$(awk '$2 ~ /,/ { if (last) print; last = 1; next } { last = 0 }' "$D/samples" 2>/dev/null)
[ -z "$two" ] || diag "two holders: $two"
check "the device never on two guests (two samples in a row)" test -z "$two"
diag "single samples with two holders (a move between two reads): $(awk '$2 ~ /,/' "$D/samples" | grep -c .)"
# A single sample with two holders is a move seen between the reads of two
# nodes (two in a row are checked above): not a holder of its own.
moves=$(awk '$2 != "-" && $2 !~ /,/ && $2 != last { printf "%s ", $2; last = $2 }' "$D/samples")
diag "holders seen: $moves"
check "the sampler saw the device go lab-node1:$a -> lab-node1:$s -> lab-node2:$b" \
	test "$moves" = "lab-node1:$a lab-node1:$s lab-node2:$b "
check "the demo says so" grep -q "^two guests in the cluster at once\.$" "$out"

# Nothing left: names as /proc/PID/comm has them (15 characters at most),
# tini and sleep for the nodes' PID 1; the switch, the nodes' NICs, the
# fence agent's overlay, the power switch's pipe, the nodes' cgroups.
left() {
	local p
	for p in qemu-system-x86 libvirtd pacemakerd pacemaker-execd pacemaker-based corosync hostdev-had \
		dbus-daemon virsh tail sleep unshare; do
		pgrep -x -l "$p"
	done
	pgrep -x -l tini | grep -v '^1 '
	ip -o link show | grep -E 'lab-(br|sw)' | cut -d: -f2
	findmnt -n -o TARGET,SOURCE | grep -E 'lab-sbin|/run/lab-power'
	find /sys/fs/cgroup -maxdepth 2 -type d -name 'lab-node*' 2>/dev/null
}
check "nothing left in the lab after the demo" eval '[ -z "$(left)" ] || { diag "left: $(left | tr "\n" " ")"; false; }'
tap_done
