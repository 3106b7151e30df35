#!/bin/bash
# The Pacemaker benchmark, on the lab (real libvirtd, TCG guests,
# Corosync + Pacemaker, hostdev-had, the clone made with the pcs lines of
# docs/pacemaker.md, monitors every 10 s), side by side in one run:
#   - crash of the active guest (its QEMU SIGKILLed) -> the standby holds the
#     device (libvirtd's device-added event, read from `virsh event`), under
#     Pacemaker (policy pacemaker) and then with the same guests and the same
#     daemon restarted with Policy=auto (the cluster in maintenance-mode);
#     goal: Pacemaker at most 2x;
#   - a planned switch (the bus Switch: on a policy pacemaker group it goes
#     through the promotion scores; under policy auto it is direct), call ->
#     device on the target; goal: at most 2x;
#   - the wall time of one monitor of ocf:hostdev-ha:hostdev beside one of
#     ocf:heartbeat:VirtualDomain on the same running guest; goal: at least
#     10x cheaper;
#   - the processes one action of the agent starts (strace -f -e
#     trace=execve): a monitor and a probe by hand, Pacemaker's demote and
#     promote in the last planned switch;
#   - where the Pacemaker time goes: Pacemaker's log around the last crash
#     and the last planned switch, ms after the start.
# BENCH_PCMK_ROUNDS (crashes and switches of each kind, default 5),
# BENCH_MONITOR_CALLS (default 20). Medians (min-max), ratios, a markdown
# table. Numbers, not a test: nothing here is in make check.
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

events_pid=
teardown() {
	[ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null
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

# --- libvirtd's own events: when the standby really holds the device ------
# `virsh event --all --loop --timestamp` in the background; every timing of a
# crash or a switch ends at the device-added event for the new holder, read
# from it (libvirtd's clock, the same under both policies).
events=$out/events
stdbuf -oL virsh event --all --loop --timestamp >"$events" 2>&1 &
events_pid=$!
lab_wait_for 10 test -e "$events"
# mark: the number of event lines so far.
mark() { wc -l <"$events"; }
# added_ms START_NS MARK DOMAIN: ms from START_NS to the first device-added
# for DOMAIN after MARK, waited for (60 s).
added_line() { tail -n "+$(( $1 + 1 ))" "$events" | grep -m 1 "event 'device-added' for domain '$2'"; }
added_seen() { added=$(added_line "$1" "$2") && [ -n "$added" ]; }
added_ms() {
	lab_wait_for 60 added_seen "$2" "$3" || return 1
	echo $(( ($(date -u -d "${added%%: event*}" +%s%N) - $1) / 1000000 ))
}

# The daemon's log has no times: each line gets the time it was read here
# (ms since midnight, UTC, as Pacemaker's log), in $out/daemon.log; on a
# loaded machine that is up to ~0.1 s after it was written.
tail -n 0 -F "$LAB_DIR/hostdev-had.log" 2>/dev/null |
	perl -MTime::HiRes=time -ne '$| = 1; printf "%d %s", (time * 1000) % 86400000, $_' >"$out/daemon.log" &

# timeline NAME START_NS END_NS: Pacemaker's log (its steps) and the
# daemon's between the two, ms after START, saved in $out/timeline.NAME.
pcmk_log=$LAB_CLUSTER_DIR/var-log-pacemaker/pacemaker.log
timeline() {
	local name=$1 t0 t1
	t0=$(( ($2 / 1000000) % 86400000 )) t1=$(( ($3 / 1000000) % 86400000 + 200 ))
	{
		awk '
			/Initiating|Result of|State transition|Calculated transition|Transition [0-9]+ aborted|Transition [0-9]+ \(|Setting (master|fail-count|last-failure)|Actions: / {
				split($3, hms, ":"); t = ((hms[1] * 60 + hms[2]) * 60 + hms[3]) * 1000
				sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, ""); sub(/ \| .*$/, ""); sub(/\t/, " ")
				printf "%d %s\n", t, $0
			}' "$pcmk_log"
		sed 's/ / hostdev-had: /' "$out/daemon.log"
	} | sort -n -s -k1,1 | awk -v t0="$t0" -v t1="$t1" '
		$1 >= t0 && $1 <= t1 { t = $1; $1 = ""; printf "%+6d ms%s\n", t - t0, substr($0, 1, 150) }' >"$out/timeline.$name"
	echo "## timeline of one $name (Pacemaker's log and hostdev-had's, ms after the start; hostdev-had's lines up to ~0.1 s late)"
	cat "$out/timeline.$name"
}

echo "# crash of the active guest -> the standby holds the device (device-added), policy pacemaker"
: >"$out/crash.pcmk"
: >"$out/promoted.pcmk"
for i in $(seq "$rounds"); do
	h=$(holder) o=$(other "$(holder)")
	m=$(mark)
	t=$(now)
	kill -KILL "$(cat "/run/libvirt/qemu/$h.pid")"
	# The light wait first: polling crm_mon (a CIB client, 5 processes a
	# round) while Pacemaker works would slow what is measured.
	ms=$(added_ms "$t" "$m" "$o") || lab_die "round $i: $o never got the device"
	lab_wait_for 60 eval '[ "$(instances Promoted)" = "$(instance_of "$o")" ]' || lab_die "round $i: $o not promoted"
	promoted=$(ms_since "$t")
	t_end=$(now)
	echo "$ms" >>"$out/crash.pcmk"
	echo "$promoted" >>"$out/promoted.pcmk"
	echo "round $i: kill $h -> $o holds the device: $ms ms; $(instance_of "$o") shown Promoted: $promoted ms"
	[ "$i" = "$rounds" ] && crash_t0=$t crash_t1=$t_end
	# Back to two instances at once, rather than after failure-timeout.
	crm_resource --cleanup -r nic0-clone >/dev/null 2>&1
	lab_wait_for 120 steady || lab_die "round $i: did not settle again"
done

echo "# planned switch through Pacemaker (bus Switch on a policy pacemaker group: promotion scores)"
: >"$out/switch.pcmk"
: >"$out/switch-return.pcmk"
for i in $(seq "$rounds"); do
	h=$(holder) o=$(other "$(holder)")
	[ "$i" = "$rounds" ] && lab_agent_trace on
	m=$(mark)
	t=$(now)
	lab_daemon_call Switch ssb nic0 "$o" false >/dev/null || lab_die "round $i: the switch to $o failed"
	ret=$(ms_since "$t")
	ms=$(added_ms "$t" "$m" "$o") || lab_die "round $i: $o never got the device"
	t_end=$(now)
	echo "$ms" >>"$out/switch.pcmk"
	echo "$ret" >>"$out/switch-return.pcmk"
	echo "round $i: switch $h -> $o: device on $o after $ms ms, the call returned after $ret ms"
	[ "$i" = "$rounds" ] && switch_t0=$t switch_t1=$t_end
	lab_wait_for 120 steady || lab_die "round $i: did not settle again"
	[ "$i" = "$rounds" ] && lab_agent_trace off "$out/switch-traces"
done

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
for action in demote promote; do
	for f in "$out/switch-traces"/*."$action".*; do
		[ -e "$f" ] && echo "$action ($(basename "$f" | cut -d. -f1)): $(count "$f")"
	done
done

# --- the same guests and daemon under policy auto --------------------------
# Pacemaker keeps its hands off (maintenance-mode: no monitors, no actions),
# the daemon is restarted with the group's Policy=auto.
crm_attribute --type=crm_config --name=maintenance-mode --update=true || lab_die "cannot set maintenance-mode"
lab_wait_for 60 lab_cluster_idle || lab_die "the cluster stays busy"
lab_daemon_stop
sed -i 's/^Policy=.*/Policy=auto/' "$LAB_DAEMON_CONFIG/groups.d/nic0.conf"
lab_daemon_start --log-level=info || lab_die "hostdev-had did not start again"
idle() { [ "$(lab_daemon_get nic0 Busy)" = "b false" ]; }
steady_auto() {
	case $(holder) in vm-a|vm-b) ;; *) return 1 ;; esac
	idle && lab_console_has vm-a '^READY$' && lab_console_has vm-b '^READY$'
}
lab_wait_for 60 steady_auto || lab_die "policy auto: the group did not settle"

echo "# crash of the active guest -> the standby holds the device (device-added), policy auto"
: >"$out/crash.auto"
for i in $(seq "$rounds"); do
	h=$(holder) o=$(other "$(holder)")
	m=$(mark)
	lab_console_mark "$h"
	t=$(now)
	kill -KILL "$(cat "/run/libvirt/qemu/$h.pid")"
	ms=$(added_ms "$t" "$m" "$o") || lab_die "round $i: $o never got the device"
	echo "$ms" >>"$out/crash.auto"
	echo "round $i: kill $h -> $o holds the device: $ms ms"
	lab_console_wait "$h" '^READY$' "$LAB_GUEST_BOOT_TIMEOUT" || lab_die "round $i: $h did not boot again"
	lab_wait_for 60 steady_auto || lab_die "round $i: did not settle again"
done

echo "# planned switch, direct (bus Switch, policy auto)"
: >"$out/switch.auto"
: >"$out/switch-return.auto"
for i in $(seq "$rounds"); do
	h=$(holder) o=$(other "$(holder)")
	m=$(mark)
	t=$(now)
	lab_daemon_call Switch ssb nic0 "$o" false >/dev/null || lab_die "round $i: the switch to $o failed"
	ret=$(ms_since "$t")
	ms=$(added_ms "$t" "$m" "$o") || lab_die "round $i: $o never got the device"
	echo "$ms" >>"$out/switch.auto"
	echo "$ret" >>"$out/switch-return.auto"
	echo "round $i: switch $h -> $o: device on $o after $ms ms, the call returned after $ret ms"
	lab_wait_for 60 steady_auto || lab_die "round $i: did not settle again"
done
kill "$events_pid" 2>/dev/null

# --- side by side ----------------------------------------------------------
cell() { echo "$(median "$out/$1") ms ($(range "$out/$1" | sed 's/ $//; s/ /-/'))"; }
ratio() { awk -v a="$(median "$out/$1")" -v b="$(median "$out/$2")" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }'; }
echo
echo "# side by side, $rounds rounds each, medians (min-max); $calls monitor calls each"
echo
echo "| what | Pacemaker | direct | ratio | goal |"
echo "|---|---|---|---|---|"
echo "| crash of the active guest -> standby holds the device | $(cell crash.pcmk) | $(cell crash.auto) (policy auto) | $(ratio crash.pcmk crash.auto) | <= 2x |"
echo "| planned switch, call -> device on the target | $(cell switch.pcmk) | $(cell switch.auto) (policy auto) | $(ratio switch.pcmk switch.auto) | <= 2x |"
echo "| planned switch, call -> call returns | $(cell switch-return.pcmk) | $(cell switch-return.auto) | $(ratio switch-return.pcmk switch-return.auto) | |"
echo "| crash -> standby shown Promoted by crm_mon | $(cell promoted.pcmk) | | | |"
echo "| one monitor: VirtualDomain / ours | $(cell vd.ms) | $(cell hostdev.ms) | $(ratio vd.ms hostdev.ms) | >= 10x |"
echo
# On a loaded machine the controller throttles: fewer actions at once.
echo "## pacemaker-controld's last throttle mode: $(grep -h 'New throttle mode' "$pcmk_log" | tail -n 1 | sed 's/.*New throttle mode: //')"
timeline crash "$crash_t0" "$crash_t1"
timeline switch "$switch_t0" "$switch_t1"
