#!/bin/bash
# The demo (tests/lab/demo.sh, make demo) as a test, in this test's lab: it
# ends with status 0 (its wall time is printed: about a minute here, most
# of it Pacemaker's failure-timeout; not asserted, the machine is shared);
# its failover timeline has every
# step (failure seen, reported to Pacemaker, old holder deactivated, device
# attached to the standby, standby promoted at full quota, failed VM rebuilt
# as a standby at the low quota) in order, and so has its switchover
# timeline (release before attach); both status views are shown; its
# sampler of both live XMLs never saw the device on two VMs and did see it
# move; and its teardown left nothing running.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"

out=$LAB_DIR/demo.out
D=$LAB_DIR/demo
standby_quota=50000

t=$(date +%s%N)
bash "$LAB_HOME/demo.sh" >"$out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - t) / 1000000 ))
diag "demo: status $rc in $ms ms"
check "the demo ends with status 0" test "$rc" = 0 || tail -n 20 "$out" | while IFS= read -r l; do diag "$l"; done

# section FROM TO: the printed lines from the first matching ERE FROM up to
# the next matching TO.
section() { sed -n "/$1/,/$2/p" "$out"; }

# shellcheck source=tests/lab/lab-timeline.sh
. "$LAB_HOME/lab-timeline.sh"

a=$(sed -n 's/.*promoted nic0:[0-9]*: \(vm-[ab]\) holds the device\..*/\1/p' "$out")
if [ "$a" = vm-a ]; then s=vm-b; else s=vm-a; fi
check "the first holder is named (${a:-none})" test -n "$a"

# A timeline line: "HH:MM:SS.mmm  +MS  WHO  WHAT".
T='^    [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +[+-][0-9]+  '
fo=$(section '^== A crash' '^== A planned')
sw=$(section '^== A planned' "^Both VMs' live XML")
check "every timeline line carries a millisecond time and an offset" \
	eval '[ -z "$(grep -E "^    [0-9]{2}:" <<<"$fo$sw" | grep -vE "$T")" ]'

# Pacemaker demotes the failed instance first, or (when the failure report
# already marked it) stops it straight away: both are seen here.
check "failover timeline: crash, failure seen and reported, old holder deactivated, device to the standby, promoted, rebuilt" \
	in_order "$fo" \
	"${T}demo +kill -9 of $a's QEMU" \
	"${T}daemon +sees $a fail" \
	"${T}daemon +reports the failure to Pacemaker \(crm_resource --fail nic0:[0-9]\)" \
	"${T}pacemaker +(demote|stop) nic0:[0-9] \($a\)$" \
	"${T}agent +asks hostdev-had to deactivate $a" \
	"${T}daemon +$a destroyed \(deactivated\): the device is on no VM" \
	"${T}pacemaker +promote nic0:[0-9] \($s\)$" \
	"${T}agent +asks hostdev-had to give the device to $s" \
	"${T}daemon +raises the CPU quota of $s to the active quota" \
	"${T}daemon +has hot-plugged the device into $s " \
	"${T}pacemaker +promote of nic0:[0-9] \($s\) done: ok" \
	"${T}pacemaker +the failure of nic0:[0-9] expired" \
	"${T}pacemaker +start nic0:[0-9] \($a\)$" \
	"${T}agent +asks hostdev-had to start $a as a standby" \
	"${T}daemon +rebuilds $a: boots it again, without the device" \
	"${T}daemon +$a runs again, as a standby" \
	"${T}libvirt +virsh schedinfo: $a vcpu_quota $standby_quota$" \
	"${T}demo +all settled: $s active with the device, $a a standby"
check "failover: the standby's guest sees the device appear after its quota went up" \
	after "$fo" "${T}daemon +raises the CPU quota of $s" "${T}guest $s +kernel: a PCI device appeared"
# libvirt's side, as the sampler read it: both after the agent's request,
# which caused them. Which of the two the sampler saw first is left to its
# timing (the daemon's own order, quota then attach, is checked above).
check "failover: libvirt shows the standby at the full quota and holding the device" \
	eval 'after "$fo" "${T}agent +asks hostdev-had to give the device to $s" "${T}libvirt +virsh schedinfo: $s vcpu_quota -1" &&
		after "$fo" "${T}agent +asks hostdev-had to give the device to $s" "${T}libvirt +live XML: the device is on $s$"'
check "failover: the daemon's signals MemberFailed and ConnectionChanged" \
	in_order "$fo" "${T}daemon +signal MemberFailed: $a" "${T}daemon +signal ConnectionChanged: device $a -> \(none\)" \
	"${T}daemon +signal ConnectionChanged: device \(none\) -> $s"

check "switch timeline: hostdevctl, Pacemaker demotes, the guest lets go, Pacemaker promotes, attached, returns" \
	in_order "$sw" \
	"${T}hostdevctl +hostdevctl switch nic0 $a" \
	"${T}daemon +hands the switch to Pacemaker: promotion scores '$s' -INFINITY, '$a' 50" \
	"${T}pacemaker +demote nic0:[0-9] \($s\)$" \
	"${T}agent +asks hostdev-had to take the device away" \
	"${T}daemon +$s let go of the device \(libvirt DEVICE_REMOVED\)" \
	"${T}pacemaker +promote nic0:[0-9] \($a\)$" \
	"${T}agent +asks hostdev-had to give the device to $a" \
	"${T}daemon +raises the CPU quota of $a to the active quota" \
	"${T}daemon +has hot-plugged the device into $a " \
	"${T}hostdevctl +returns: nic0: device moved from '$s' to '$a'" \
	"${T}demo +all settled: $a active with the device, $s a standby"
check "switch: $s's guest lets go of the device, $a's guest gets it" \
	eval 'after "$sw" "${T}agent +asks hostdev-had to take the device away" "${T}guest $s +kernel: the PCI device at .* is gone" &&
		after "$sw" "${T}daemon +raises the CPU quota of $a" "${T}guest $a +kernel: a PCI device appeared"'
check "switch: $s lowered to the standby quota" \
	eval 'grep -qE "${T}libvirt +virsh schedinfo: $s vcpu_quota $standby_quota$" <<<"$sw"'

check "hostdevctl status and crm_mon -1 shown before and after" \
	eval '[ "$(grep -c "^\$ hostdevctl status$" "$out")" = 2 ] && [ "$(grep -c "^\$ crm_mon -1$" "$out")" = 2 ] &&
		[ "$(grep -cE "^    nic0 .* $a +vm-a=(active|standby) vm-b=(active|standby) .* pacemaker" "$out")" = 2 ] &&
		[ "$(grep -cE "^        \* nic0:[0-9].* Promoted lab-node1" "$out")" = 2 ]'

# The demo's sampler: "TIME_US HOLDERS QUOTA_A QUOTA_B" lines.
n=$(wc -l <"$D/samples" 2>/dev/null || echo 0)
diag "$n samples of both live XMLs"
# How often it sampled depends on the machine's speed: the moves it saw
# (below) prove it ran throughout.
check "both live XMLs sampled" test "$n" -gt 0
# The two VMs are read one after the other: a move between the two reads
# shows both in a single sample, which is no holder of its own.
diag "single samples with both VMs (a move between the two reads): $(awk '$2 ~ /,/' "$D/samples" | grep -c .)"
check "the device never on two VMs (two samples in a row)" \
	eval '[ -z "$(awk '\''$2 ~ /,/ { if (prev) print; prev = 1; next } { prev = 0 }'\'' "$D/samples")" ]'
moves=$(awk '$2 != "-" && $2 !~ /,/ && $2 != last { printf "%s ", $2; last = $2 }' "$D/samples")
diag "holders seen: $moves"
check "the sampler saw the device go $a -> $s -> $a" test "$moves" = "$a $s $a "
check "the demo says so" grep -q "^two VMs at once\.$" "$out"

# Names as /proc/PID/comm has them (15 characters at most).
left() {
	local p
	for p in qemu-system-x86 libvirtd pacemakerd pacemaker-execd corosync hostdev-had dbus-daemon hostdevctl tail sleep; do
		pgrep -x -l "$p"
	done
}
check "nothing left running in the lab after the demo" eval '[ -z "$(left)" ] || { diag "left: $(left | tr "\n" " ")"; false; }'
tap_done
