#!/bin/bash
# The benchmark of issue 5, on the lab (real libvirtd, TCG guests, Corosync +
# Pacemaker, hostdev-had in policy pacemaker, the clone made with the pcs
# lines of docs/pacemaker.md, monitors every 10 s):
#   - crash of the active guest (its QEMU SIGKILLed) -> the standby shown
#     Promoted by crm_mon, BENCH_PCMK_ROUNDS times (default 5), median;
#   - the wall time of one monitor of ocf:hostdev-ha:hostdev beside one of
#     ocf:heartbeat:VirtualDomain on the same running guest,
#     BENCH_MONITOR_CALLS times each (default 20), medians.
#   - the processes one action of the agent starts (strace -f -e
#     trace=execve): a monitor and a probe by hand, Pacemaker's demote and
#     promote in a planned switch (crm_attribute --promotion ... -INFINITY).
# Goals: under 2 s to promotion; a monitor at least 5x cheaper.
# Run by `make bench-pacemaker`.
# shellcheck disable=SC2016 # eval '...' expands when it runs
set -u
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

rounds=${BENCH_PCMK_ROUNDS:-5}
calls=${BENCH_MONITOR_CALLS:-20}
docs=$LAB_HOME/../../docs/pacemaker.md
out=$LAB_DIR/bench
mkdir -p "$out"

teardown() {
	lab_cluster_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
instance_of() { case $1 in vm-a) echo nic0:0 ;; vm-b) echo nic0:1 ;; esac; }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
instances() {
	crm_mon -1 --output-as=xml 2>/dev/null |
		sed -n "s/.*<resource id=\"\(nic0:[0-9]*\)\" [^>]*role=\"$1\".*/\1/p" | sort | tr '\n' ' ' | sed 's/ $//'
}
holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
# median FILE: of the numbers in FILE, one a line.
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
range() { sort -n "$1" | sed -n '1p;$p' | tr '\n' ' '; }

# Both instances up, one promoted and holding the device, both guests READY.
steady() {
	local p
	p=$(instances Promoted)
	[ -n "$p" ] && [ -n "$(instances Unpromoted)" ] && [ "$(instance_of "$(holder)")" = "$p" ] &&
		lab_console_has vm-a '^READY$' && lab_console_has vm-b '^READY$' && lab_cluster_idle
}

lab_bus_start
lab_libvirt_start || lab_die "libvirtd did not start"
{ lab_guest_define vm-a && lab_guest_define vm-b; } || lab_die "cannot define the guests"
lab_daemon_group nic0 pacemaker vm-a vm-b
echo "StandbyVcpuQuota=50000" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
lab_daemon_start --log-level=info || lab_die "hostdev-had did not start"
lab_agent_install || lab_die "cannot install the agent"
lab_cluster_start || lab_die "the cluster did not start"
cmd=$(sed -n '/<!-- pcs-begin -->/,/<!-- pcs-end -->/p' "$docs" | grep -v -e '^<!--' -e '^```')
eval "$cmd" >"$out/create.out" 2>&1 || lab_die "pcs failed: $(cat "$out/create.out")"
lab_wait_for 120 steady || lab_die "the clone did not settle"

echo "# crash of the active guest -> the standby shown Promoted (monitor interval 10 s)"
: >"$out/failover.ms"
for i in $(seq "$rounds"); do
	h=$(holder) o=$(other "$(holder)")
	t=$(now)
	kill -KILL "$(cat "/run/libvirt/qemu/$h.pid")"
	lab_wait_for 60 eval '[ "$(instances Promoted)" = "$(instance_of "$o")" ]' || lab_die "round $i: $o not promoted"
	ms=$(ms_since "$t")
	echo "$ms" >>"$out/failover.ms"
	echo "round $i: kill $h -> $(instance_of "$o") ($o) Promoted: $ms ms"
	# Back to two instances at once, rather than after failure-timeout.
	crm_resource --cleanup -r nic0-clone >/dev/null 2>&1
	lab_wait_for 120 steady || lab_die "round $i: did not settle again"
done
echo "median $(median "$out/failover.ms") ms (min, max: $(range "$out/failover.ms")ms), $rounds rounds"

echo "# one monitor call on the same running guest, $calls calls each"
h=$(holder)
virsh dumpxml "$h" >"$out/$h.xml"
hd_env=(OCF_RESOURCE_INSTANCE="$(instance_of "$h")" OCF_RESKEY_group=nic0
	OCF_RESKEY_CRM_meta_clone="$(instance_of "$h" | cut -d: -f2)"
	OCF_RESKEY_CRM_meta_on_node="$LAB_CLUSTER_NODE" OCF_RESKEY_CRM_meta_interval=10000)
vd_env=(OCF_RESOURCE_INSTANCE=vd-bench OCF_RESKEY_config="$out/$h.xml"
	OCF_RESKEY_hypervisor="$LAB_LIBVIRT_URI" OCF_RESKEY_CRM_meta_interval=10000)
vd=/usr/lib/ocf/resource.d/heartbeat/VirtualDomain
: >"$out/hostdev.ms"
: >"$out/vd.ms"
: >"$out/busctl.ms"
for _ in $(seq "$calls"); do
	t=$(now)
	lab_agent monitor "${hd_env[@]}" >/dev/null 2>&1
	rc=$?
	ms_since "$t" >>"$out/hostdev.ms"
	[ "$rc" = 8 ] || lab_die "the agent's monitor returned $rc, not 8"
	t=$(now)
	env -i PATH="$PATH" OCF_ROOT=/usr/lib/ocf OCF_RESKEY_CRM_meta_timeout=20000 "${vd_env[@]}" \
		"$vd" monitor >/dev/null 2>&1
	rc=$?
	ms_since "$t" >>"$out/vd.ms"
	[ "$rc" = 0 ] || lab_die "VirtualDomain's monitor returned $rc, not 0"
	t=$(now)
	busctl call org.hostdevha.Manager1 /org/hostdevha/Manager1 org.hostdevha.Manager1 PacemakerInstance \
		suss nic0 "$(instance_of "$h" | cut -d: -f2)" "$(instance_of "$h")" "$LAB_CLUSTER_NODE" >/dev/null
	ms_since "$t" >>"$out/busctl.ms"
done
hd=$(median "$out/hostdev.ms") vdm=$(median "$out/vd.ms")
echo "ocf:hostdev-ha:hostdev monitor: median $hd ms (min, max: $(range "$out/hostdev.ms")ms)," \
	"of which the bus call $(median "$out/busctl.ms") ms"
echo "ocf:heartbeat:VirtualDomain monitor: median $vdm ms (min, max: $(range "$out/vd.ms")ms)"
echo "ratio: $(awk -v a="$vdm" -v b="$hd" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')x"

echo "# processes started by one action of the agent (strace -f -e trace=execve; goals: monitor 3, promote and demote 5)"
# count FILE: how many, and which.
count() {
	echo "$(lab_agent_execs "$1") ($(grep 'execve.* = 0$' "$1" | grep -o 'execve("[^"]*"' | sed 1d | sed 's/.*\///; s/"//' | tr '\n' ' ' | sed 's/ $//'))"
}
for interval in 10000 0; do
	lab_agent_trace on
	lab_agent monitor "${hd_env[@]}" OCF_RESKEY_CRM_meta_interval="$interval" >/dev/null 2>&1
	for f in "$LAB_AGENT_TRACE_DIR"/*.monitor.*; do :; done
	if [ "$interval" = 0 ]; then what=probe; else what=monitor; fi
	echo "$what: $(count "$f")"
	lab_agent_trace off
done
h=$(holder) o=$(other "$(holder)")
lab_agent_trace on
crm_attribute --promotion="$(instance_of "$h")" --update=-INFINITY
lab_wait_for 60 eval '[ "$(instances Promoted)" = "$(instance_of "$o")" ]' || lab_die "the planned switch did not happen"
lab_wait_for 60 lab_cluster_idle
lab_agent_trace off "$out/switch-traces"
for action in demote promote; do
	for f in "$out/switch-traces"/*."$action".*; do
		[ -e "$f" ] && echo "$action ($(basename "$f" | cut -d. -f1)): $(count "$f")"
	done
done
