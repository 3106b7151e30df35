#!/bin/bash
# ocf:hostdev-ha:hostdev under a real Corosync + Pacemaker on the lab, with
# hostdev-had in policy pacemaker: the agent's meta-data against OCF 1.1
# and ocf-tester; probes and starts where the group does not run (a group
# hostdev-had does not know, hostdev-had gone) answered at once; an
# unconfirmed stop failed only with fencing on; the processes a monitor, a
# probe, a promote and a demote start (strace), within 3, 3, 5 and 5; the clone created with the exact pcs lines of
# docs/pacemaker.md (LAB_PCMK_TOOL=crm: the crm lines, see
# test-lab-pacemaker-crm.sh); one instance promoted and its domain holding
# the device; the active guest's QEMU killed: the standby promoted at the
# active quota, the failed one back as a standby at the standby quota after
# failure-timeout; planned switches through the bus (Switch) and through
# Pacemaker (the promoted instance's score); hostdev-had restarted under
# Pacemaker without a failover; the clone stopped (every domain deactivated)
# and started. A sampler reads both live XMLs throughout: the device is
# never on two domains.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# The agent reaches the lab's bus at the system bus's default path: it runs
# under pacemaker-execd, without the test's environment.
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

tool=${LAB_PCMK_TOOL:-pcs}
alias=ua-hostdev-nic0
standby_quota=50000
docs=$LAB_HOME/../../docs/pacemaker.md

teardown() {
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
	lab_cluster_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

domain_of() { case $1 in nic0:0) echo vm-a ;; nic0:1) echo vm-b ;; *) return 1 ;; esac; }
instance_of() { case $1 in vm-a) echo nic0:0 ;; vm-b) echo nic0:1 ;; esac; }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
quota() { virsh schedinfo --live "$1" | sed -n 's/^vcpu_quota *: *//p'; }
holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
role() { lab_daemon_get nic0 Members | grep -o "\"$1\" \"[a-z]*\"" | cut -d'"' -f4; }

# The instances in role ROLE (Promoted, Unpromoted, Stopped) as crm_mon
# shows them, space-separated.
instances() {
	lab_cluster_mon --output-as=xml 2>/dev/null |
		sed -n "s/.*<resource id=\"\(nic0:[0-9]*\)\" [^>]*role=\"$1\".*/\1/p" | sort | tr '\n' ' ' | sed 's/ $//'
}
promoted() { instances Promoted; }
failures() { lab_cluster_mon --output-as=xml 2>/dev/null | grep -c '<failure ' ; }

# settled DOMAIN: Pacemaker shows DOMAIN's instance promoted and the other
# unpromoted, the daemon has the device on DOMAIN alone (both live XMLs), at
# the active quota, the other at the standby quota.
settled() {
	local d=$1 o
	o=$(other "$1")
	lab_wait_for 60 eval '[ "$(promoted)" = "$(instance_of "$d")" ] && [ "$(instances Unpromoted)" = "$(instance_of "$o")" ]' ||
		{ diag "promoted: '$(promoted)', unpromoted: '$(instances Unpromoted)', expected $d promoted"; return 1; }
	lab_wait_for 30 eval '[ "$(holder)" = "$d" ]' || { diag "holder '$(holder)', expected $d"; return 1; }
	lab_device_exclusive --alias "$alias" "$d" vm-a vm-b || return 1
	[ "$(quota "$d")" != "$standby_quota" ] || { diag "$d at the standby quota"; return 1; }
	lab_wait_for 30 eval '[ "$(quota "$o")" = "$standby_quota" ]' || { diag "$o at quota $(quota "$o")"; return 1; }
}

# The device on two domains at once, ever: a background sampler of both
# live XMLs (lab_device_holders lists the running holders). It reads them
# one after the other: a move between the two reads shows both in one
# sample; on two domains is both in two samples in a row.
sample() {
	local h last=
	while :; do
		h=$(lab_device_holders --alias "$alias" vm-a vm-b 2>/dev/null)
		case $h in
		*" "*) [ -n "$last" ] && echo "$(date +%T.%3N) $h" >>"$LAB_DIR/two-holders"; last=1 ;;
		*) last= ;;
		esac
		echo x >>"$LAB_DIR/samples"
		sleep 0.05
	done
}
never_two() {
	diag "$(wc -l <"$LAB_DIR/samples") samples of both live XMLs"
	[ ! -s "$LAB_DIR/two-holders" ] || { diag "on two domains: $(head -n 3 "$LAB_DIR/two-holders")"; return 1; }
}

# promoted_monitor_interval INTERVAL: the recurring monitor of role
# Promoted (crmsh may write it as Master) runs every INTERVAL.
promoted_monitor_interval() {
	local id
	id=$(cibadmin --query --xpath "//primitive[@id='nic0']//op[@name='monitor'][@role='Promoted' or @role='Master']" 2>/dev/null |
		sed -n 's/.* id="\([^"]*\)".*/\1/p' | head -n 1)
	[ -n "$id" ] || { diag "no monitor op of role Promoted"; return 1; }
	cibadmin --modify --xml-text "<op id=\"$id\" interval=\"$1\"/>" || return 1
	# A new recurring monitor runs once at once: let it, before anything.
	lab_wait_for 60 has_run "$(promoted)_monitor_$(( ${1%s} * 1000 ))" && lab_cluster_wait_idle 60
}
# has_run OPERATION_KEY: the CIB's status records that operation.
has_run() { cibadmin --query --scope status | grep -q "operation_key=\"$1\""; }
# pushed_not_polled INSTANCE: Pacemaker's record of INSTANCE's failure is
# the daemon's report (operation asyncmon), and no monitor failed.
pushed_not_polled() {
	local f
	f=$(lab_cluster_mon --output-as=xml 2>/dev/null | grep '<failure ')
	diag "failures: $f"
	grep -q "op_key=\"$1_asyncmon_0\"" <<<"$f" && ! grep -q 'task="monitor"' <<<"$f"
}

# The documented lines between <!-- TOOL-begin --> and <!-- TOOL-end -->.
doc_lines() {
	sed -n "/<!-- $1-begin -->/,/<!-- $1-end -->/p" "$docs" | grep -v -e '^<!--' -e '^```'
}
# The clone from the documented lines, its failure-timeout 10 s for the
# documented 30 s: the failover below waits for the failure to expire, and
# what it checks is that it does, not when.
create_clone() {
	local cmd
	cmd=$(doc_lines "$tool")
	[ -n "$cmd" ] || { diag "no $tool lines in $docs"; return 1; }
	case $cmd in *failure-timeout=30s*) ;; *) diag "no failure-timeout=30s in the $tool lines"; return 1 ;; esac
	cmd=${cmd//failure-timeout=30s/failure-timeout=10s}
	diag "running: $cmd"
	eval "$cmd" >"$LAB_DIR/create.out" 2>&1 || { diag "$(cat "$LAB_DIR/create.out")"; return 1; }
}

lab_bus_start
check "bus at the system path, the default for every lab process" \
	eval 'busctl --system status org.freedesktop.DBus >/dev/null'
check "libvirtd starts" lab_libvirt_start
check "guests defined (not started: Pacemaker starts them)" \
	eval 'lab_guest_define vm-a && lab_guest_define vm-b'
lab_daemon_group nic0 pacemaker vm-a vm-b
echo "StandbyVcpuQuota=$standby_quota" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
check "daemon starts" lab_daemon_start
check "agent installed in the lab's OCF folder" lab_agent_install
check "agent meta-data valid against OCF 1.1 ($LAB_OCF_RNG)" lab_agent_metadata_valid
t=$(date +%s%N)
check "cluster starts" lab_cluster_start
diag "cluster online in $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "crm_resource sees the agent" eval 'crm_resource --show-metadata ocf:hostdev-ha:hostdev >/dev/null'

if [ "$tool" = pcs ]; then
	# Instance 1 (vm-b) by hand, before the clone exists.
	# ocf-tester checks the meta-data against resource-agents' OCF 1.0
	# DTD, which has no unique-group (OCF 1.1): that one complaint is
	# expected, any other fails.
	ocftest() {
		ocf-tester -n hdtest -o group=nic0 -o CRM_meta_clone=1 "$LAB_AGENT" >"$LAB_DIR/ocf-tester.out" 2>&1
		sed 's/^/  /' "$LAB_DIR/ocf-tester.out" | while read -r l; do diag "$l"; done
		! grep '^\* rc=' "$LAB_DIR/ocf-tester.out" | grep -v -q 'does not conform to ra-api-1.dtd'
	}
	check "ocf-tester passes (but for OCF 1.0's DTD)" ocftest
	check "vm-b deactivated after it" eval '[ "$(role vm-b)" = deactivated ]'
	check "validate-all: a group hostdev-had does not know is not installed here (5)" \
		eval '[ "$(lab_agent validate-all OCF_RESOURCE_INSTANCE=x:0 OCF_RESKEY_group=nic9 OCF_RESKEY_CRM_meta_clone=0 2>/dev/null; echo $?)" = 5 ]'
	check "validate-all refuses an instance beyond the members" \
		eval '[ "$(lab_agent validate-all OCF_RESOURCE_INSTANCE=x:2 OCF_RESKEY_group=nic0 OCF_RESKEY_CRM_meta_clone=2 2>/dev/null; echo $?)" = 6 ]'
	crm_attribute --promotion=hdtest --delete >/dev/null 2>&1
fi

sampler=
sample &
sampler=$!

t=$(date +%s%N)
check "clone created with the documented $tool lines" create_clone
check "one instance promoted, its domain holds the device" eval 'lab_wait_for 90 eval "[ -n \"\$(promoted)\" ]"'
diag "clone created -> promoted in $(( ($(date +%s%N) - t) / 1000000 )) ms: $(promoted)"
first=$(domain_of "$(promoted)")
check "$first holds the device, at the active quota; the other a standby" settled "$first"
check "no failed action" eval '[ "$(failures)" = 0 ]'

# What one run of the agent costs, counted by strace: at most 3 processes
# for a monitor, probes included. by_hand ACTION INSTANCE INTERVAL [VAR=..]:
# the agent run as pacemaker-execd would, traced; its rc and process count
# in $LAB_DIR/by-hand.
by_hand() {
	local action=$1 inst=$2 interval=$3 rc f
	shift 3
	lab_agent_trace on
	lab_agent "$action" OCF_RESOURCE_INSTANCE="$inst" OCF_RESKEY_group=nic0 OCF_RESKEY_CRM_meta_clone="${inst#*:}" \
		OCF_RESKEY_CRM_meta_on_node="$LAB_CLUSTER_NODE" OCF_RESKEY_CRM_meta_interval="$interval" "$@" >/dev/null 2>&1
	rc=$?
	for f in "$LAB_AGENT_TRACE_DIR/$inst.$action".*; do :; done
	echo "$rc $(lab_agent_execs "$f")" >"$LAB_DIR/by-hand"
	diag "$action of $inst (interval $interval): rc $rc, $(lab_agent_execs "$f") processes: $(grep -o 'execve("[^"]*"' "$f" | sed 1d | sed 's/.*\///; s/"//' | tr '\n' ' ')"
	lab_agent_trace off
}
# answers RC MAX: the last by_hand run returned RC and started at most MAX
# processes.
answers() {
	local rc n
	read -r rc n <"$LAB_DIR/by-hand"
	[ "$rc" = "$1" ] && [ "$n" -le "$2" ]
}
p=$(promoted)
by_hand monitor "$p" 10000
check "a monitor of the promoted instance: 8, at most 3 processes" answers 8 3
by_hand monitor "$p" 0
check "a probe of it (interval 0, sets its score): 8, at most 3 processes" answers 8 3
by_hand monitor nic9:0 0 OCF_RESKEY_group=nic9
check "a probe of a group hostdev-had does not know: 7 at once (at most 3 processes, no wait)" answers 7 3
by_hand start nic9:0 0 OCF_RESKEY_group=nic9
check "a start of it: not installed here (5)" answers 5 9
by_hand stop nic9:0 0 OCF_RESKEY_group=nic9
check "a stop of it: done (0)" answers 0 3
lab_wait_for 90 lab_console_has vm-a '^READY$'
lab_wait_for 90 lab_console_has vm-b '^READY$'

# A crash of the holder: its QEMU killed. The failure is pushed to
# Pacemaker, not found by a monitor: the promoted instance's monitor runs
# once an hour meanwhile, so only the daemon's report (crm_resource --fail,
# recorded as the operation "asyncmon") can start the failover. How fast is
# make bench-pacemaker's business.
h=$first o=$(other "$first")
check "the promoted monitor's interval set to 1 h" promoted_monitor_interval 3600s
t=$(date +%s%N)
check "SIGKILL of $h's QEMU" eval 'kill -KILL "$(cat "/run/libvirt/qemu/$h.pid")"'
check "Pacemaker promotes $o" eval 'lab_wait_for 60 eval "[ \"\$(promoted)\" = \"$(instance_of "$o")\" ]"'
diag "kill -> $o promoted by Pacemaker: $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "... on the failure the daemon reported, no monitor failed" pushed_not_polled "$(instance_of "$h")"
check "the promoted monitor's interval back to 10 s" promoted_monitor_interval 10s
check "$o holds the device alone, at the active quota" \
	eval 'lab_wait_for 30 eval "[ \"\$(holder)\" = $o ]" && lab_device_exclusive --alias "$alias" "$o" vm-a vm-b && [ "$(quota "$o")" != "$standby_quota" ]'
check "$h deactivated, its instance stopped" eval 'lab_wait_for 30 eval "[ \"\$(role $h)\" = deactivated ]"'
t=$(date +%s%N)
check "after failure-timeout $h is back as a standby" settled "$o"
diag "back as a standby $(( ($(date +%s%N) - t) / 1000000 )) ms after the failover"
check "$h runs" lab_guest_active "$h"
# The failure stays recorded until cleaned up: clean it for what follows.
crm_resource --cleanup -r nic0-clone >/dev/null 2>&1
lab_cluster_wait_idle 60
lab_wait_for 90 lab_console_has "$h" '^READY$'

# A planned switch through hostdev-had's bus: Pacemaker carries it out.
h=$o o=$(other "$o")
t=$(date +%s%N)
check "bus Switch to $o returns once Pacemaker promoted it" lab_daemon_call Switch ssb nic0 "$o" false
diag "Switch through Pacemaker: $(( ($(date +%s%N) - t) / 1000000 )) ms"
check "$o promoted, holds the device; $h a standby" settled "$o"

# A planned switch from Pacemaker's side: the promoted instance's score.
h=$o o=$(other "$o")
lab_wait_for 90 lab_console_has "$h" '^READY$'
# Pacemaker's own demote and promote run traced: what each costs.
lab_agent_trace on
check "crm_attribute --promotion=$(instance_of "$h") --update=-INFINITY" \
	crm_attribute --promotion="$(instance_of "$h")" --update=-INFINITY
check "Pacemaker switches to $o" settled "$o"
traces=$LAB_DIR/switch-traces
lab_agent_trace off "$traces"
# most ACTION MAX: Pacemaker ran ACTION, traced, each run starting at most
# MAX processes.
most() {
	local f n ok=1 seen=
	for f in "$traces"/*."$1".*; do
		[ -e "$f" ] || continue
		seen=1
		n=$(lab_agent_execs "$f")
		diag "$(basename "$f"): $n processes: $(grep -o 'execve("[^"]*"' "$f" | sed 1d | sed 's/.*\///; s/"//' | tr '\n' ' ')"
		[ "$n" -le "$2" ] || ok=
	done
	[ -n "$seen" ] && [ -n "$ok" ]
}
check "Pacemaker's demote of $h started at most 5 processes" most demote 5
check "Pacemaker's promote of $o started at most 5 processes" most promote 5
check "no failed action after the switches" eval '[ "$(failures)" = 0 ]'

if [ "$tool" = pcs ]; then
	# hostdev-had restarted while Pacemaker runs: a monitor during the gap
	# waits for it; no failover. The monitor runs traced (sh -x): it has
	# found the daemon gone and naps before the daemon starts again.
	h=$o
	gen=$(lab_daemon_get nic0 Generation)
	check "daemon stops" lab_daemon_stop
	# Stopped for good (as systemd's RuntimeDirectory= would leave it): the
	# group does not run here.
	mv /run/hostdev-ha /run/hostdev-ha.away
	by_hand monitor "$(instance_of "$h")" 0
	check "hostdev-had gone: a probe answers 7 at once (at most 3 processes, no wait)" answers 7 3
	by_hand start "$(instance_of "$h")" 0
	check "... a start: not installed here (5)" answers 5 9
	mv /run/hostdev-ha.away /run/hostdev-ha
	# Restarting: a stop cannot confirm the domain is off. Fencing off (this
	# cluster): reported done; fencing on (a copy of the CIB): failed, so
	# that Pacemaker fences.
	by_hand stop "$(instance_of "$h")" 0 OCF_RESKEY_CRM_meta_timeout=4000
	check "a stop unconfirmed, fencing off: done (0)" answers 0 99
	cibadmin --query >"$LAB_DIR/cib-fencing.xml"
	CIB_file=$LAB_DIR/cib-fencing.xml crm_attribute --type=crm_config --name=stonith-enabled --update=true
	by_hand stop "$(instance_of "$h")" 0 OCF_RESKEY_CRM_meta_timeout=4000 CIB_file="$LAB_DIR/cib-fencing.xml"
	check "a stop unconfirmed, fencing on: failed (1)" answers 1 99
	LAB_AGENT_TRACE=1 lab_agent monitor OCF_RESOURCE_INSTANCE="$(instance_of "$h")" OCF_RESKEY_group=nic0 \
		OCF_RESKEY_CRM_meta_clone="$(instance_of "$h" | cut -d: -f2)" OCF_RESKEY_CRM_meta_on_node="$LAB_CLUSTER_NODE" \
		OCF_RESKEY_CRM_meta_interval=10000 OCF_RESKEY_CRM_meta_timeout=120000 >/dev/null 2>"$LAB_DIR/gap-monitor.trace" &
	mon=$!
	check "a monitor waits for the stopped daemon" lab_wait_for 60 grep -q '^+ sleep 0.2' "$LAB_DIR/gap-monitor.trace"
	check "daemon starts again" lab_daemon_start
	gap_monitor() { wait "$mon"; local rc=$?; diag "monitor rc $rc"; [ "$rc" = 8 ]; }
	check "the monitor during the gap answers Promoted (8)" gap_monitor
	# Every recurring monitor runs at least twice after the restart: each
	# asks hostdev-had once (PacemakerInstance with its clone number),
	# counted on the bus.
	dbus-monitor --address "$LAB_BUS_ADDRESS" "type='method_call',member='PacemakerInstance'" \
		>"$LAB_DIR/monitors.log" 2>&1 &
	monitors_pid=$!
	lab_wait_for 30 grep -q NameAcquired "$LAB_DIR/monitors.log" || lab_die "dbus-monitor did not start"
	monitors_of() { grep -c "^ *uint32 $1\$" "$LAB_DIR/monitors.log"; }
	monitored_twice() { [ "$(monitors_of 0)" -ge 2 ] && [ "$(monitors_of 1)" -ge 2 ]; }
	check "every recurring monitor runs twice after the restart" lab_wait_for 60 monitored_twice
	diag "monitors seen: nic0:0 $(monitors_of 0), nic0:1 $(monitors_of 1)"
	monitored_twice || head -n 20 "$LAB_DIR/monitors.log" | while IFS= read -r l; do diag "  $l"; done
	kill "$monitors_pid" 2>/dev/null
	wait "$monitors_pid" 2>/dev/null
	check "no failover: $h still promoted, holds the device" settled "$h"
	check "no failed action" eval '[ "$(failures)" = 0 ]'
	check "the device did not move (generation $gen)" eval '[ "$(lab_daemon_get nic0 Generation)" = "$gen" ]'
fi

# The clone stopped and started.
if [ "$tool" = pcs ]; then
	stop_clone() { pcs resource disable nic0-clone; }
	start_clone() { pcs resource enable nic0-clone; }
else
	stop_clone() { crm resource stop nic0-clone; }
	start_clone() { crm resource start nic0-clone; }
fi
check "clone stopped" stop_clone
check "every instance stopped, without a failure" \
	eval 'lab_wait_for 60 eval "[ \"\$(instances Stopped)\" = \"nic0:0 nic0:1\" ]" && lab_cluster_wait_idle 60 && [ "$(failures)" = 0 ]'
check "every domain deactivated, the device on none" \
	eval '[ "$(role vm-a)" = deactivated ] && [ "$(role vm-b)" = deactivated ] && ! lab_guest_active vm-a && ! lab_guest_active vm-b && [ -z "$(holder)" ]'
check "clone started" start_clone
check "one promoted again, holding the device" eval 'lab_wait_for 90 eval "[ -n \"\$(promoted)\" ]"'
check "... and the other a standby" settled "$(domain_of "$(promoted)")"

# The documented lines for a cluster of several nodes (location constraint
# with resource-discovery=exclusive, fencing on), with this node as host1,
# after a fence device, as the recipe asks (crmsh refuses fencing without
# one): fence_dummy, which fences nothing; fencing is turned off again
# after the check.
if [ "$tool" = pcs ]; then
	fence_device() { pcs stonith create fence-lab fence_dummy type=file status_file="$LAB_DIR/fence.status"; }
else
	fence_device() { crm configure primitive fence-lab stonith:fence_dummy params type=file status_file="$LAB_DIR/fence.status"; }
fi
check "a fence device (fence_dummy)" fence_device
cluster_lines() {
	local cmd
	cmd=$(doc_lines "$tool-cluster" | sed "s/host1/$LAB_CLUSTER_NODE/g")
	[ -n "$cmd" ] || { diag "no $tool-cluster lines in $docs"; return 1; }
	diag "running: $cmd"
	eval "$cmd" >"$LAB_DIR/cluster-lines.out" 2>&1 || { diag "$(cat "$LAB_DIR/cluster-lines.out")"; return 1; }
}
h=$(domain_of "$(promoted)")
check "the documented $tool lines for several nodes apply" cluster_lines
check "... the clone located on this node, discovered there only" \
	eval 'cibadmin --query --xpath "//rsc_location[@rsc=\"nic0-clone\"][@node=\"$LAB_CLUSTER_NODE\"][@resource-discovery=\"exclusive\"]" >/dev/null 2>&1'
check "... fencing on" eval '[ "$(crm_attribute --type=crm_config --name=stonith-enabled --query --quiet)" = true ]'
crm_attribute --type=crm_config --name=stonith-enabled --update=false
lab_cluster_wait_idle 60
check "... the group undisturbed: $h promoted, holds the device" settled "$h"
check "... no failed action" eval '[ "$(failures)" = 0 ]'

kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
check "the device was never on two domains (live XML sampled throughout)" never_two
check "hostdev-had reported the crash to Pacemaker" grep -q "reporting it to Pacemaker" "$LAB_DIR/hostdev-had.log"
tap_done
