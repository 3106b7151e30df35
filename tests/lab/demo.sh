#!/bin/bash
# The demo (make demo; the README's first command): hostdev-ha as a newcomer
# meets it, on the lab's real stack. Two small VMs share one PCI device (an
# emulated e1000e NIC stands in for it); hostdev-had runs in policy
# pacemaker under a single-node Corosync + Pacemaker cluster with the
# promotable clone of ocf:hostdev-ha:hostdev made by the pcs line of
# docs/pacemaker.md. The active VM's QEMU is killed: a timeline shows who
# did what (daemon, Pacemaker, agent, libvirt, guest console) until the
# standby holds the device and the crashed VM is back as a standby; then a
# planned switch back with hostdevctl, with its own timeline.
#
#   demo.sh [--keep] [--hosts 1|2]
#
# --keep leaves the lab up afterwards and says how to enter it and how to
# tear it down. --hosts 2: the two-host demo instead (demo-hosts.sh).
# Sources of the timelines, every line stamped in ms on arrival unless it
# carries its own time: the daemon's log (its own, --log-time), both
# guests' serial consoles, `hostdevctl monitor --json` (its own),
# Pacemaker's log (its own), and a sampler of both live XMLs and CPU quotas
# (virsh), which also proves the device was never on two VMs. Everything
# is in $LAB_DIR/demo (test-lab-demo.sh reads it).
# shellcheck disable=SC2016 # bash -c '...' and eval '...' expand when they run
set -u

usage() { echo "usage: demo.sh [--keep] [--hosts 1|2]" >&2; exit 2; }
keep=no
hosts=1
args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--keep) keep=yes ;;
	--hosts) hosts=${2:-}; shift ;;
	--hosts=*) hosts=${1#*=} ;;
	-h | --help) echo "usage: demo.sh [--keep] [--hosts 1|2]"; exit 0 ;;
	*) usage ;;
	esac
	shift
done
case $hosts in 1 | 2) ;; *) usage ;; esac

# --keep, outside the lab: run the lab in the background, relay its output
# until the demo inside says it is done, then say how to reach it. The lab
# lives as long as its lab-run (and the init inside it, tini): a TERM to
# tini reaches the demo, which tears everything down and ends the lab.
if [ -z "${LAB_DIR:-}" ] && [ "$keep" = yes ]; then
	: "${abs_top_srcdir:?run make demo DEMO_ARGS=--keep}" "${abs_top_builddir:?run make demo DEMO_ARGS=--keep}"
	dir=$abs_top_builddir/tests/lab/run/demo.$$
	out=$dir.out
	mkdir -p "$(dirname "$dir")"
	setsid "$abs_top_srcdir/tests/lab/lab-run" "$dir" "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "${args[@]}" \
		</dev/null >"$out" 2>&1 &
	labrun=$!
	kept=no
	exec 3< <(tail -n +1 -F --pid="$labrun" "$out" 2>/dev/null)
	relay=$!
	while IFS= read -r line <&3; do
		[ "$line" = "@@ demo kept @@" ] && { kept=yes; break; }
		printf '%s\n' "$line"
	done
	kill "$relay" 2>/dev/null
	exec 3<&-
	# What the lab prints from now on (its teardown) goes nowhere.
	rm -f "$out"
	if [ "$kept" = no ]; then
		wait "$labrun"
		rc=$?
		echo "demo: the lab ended (status $rc); its output: $out" >&2
		exit "$rc"
	fi
	# The demo's pid outside the lab: the child of the lab's init (tini)
	# whose pid inside is the one it wrote down. A TERM to tini itself would
	# reach the demo's whole process group, libvirtd included, too early.
	init=$(pgrep -P "$(pgrep -P "$labrun" | head -n 1)" | head -n 1)
	inner=$(cat "$dir/demo/pid")
	for p in $(pgrep -P "$init"); do
		[ "$(sed -n 's/^NSpid:.*[[:space:]]//p' "/proc/$p/status" 2>/dev/null)" = "$inner" ] && { demo=$p; break; }
	done
	[ -n "${demo:-}" ] || { echo "demo: cannot find the demo's process; kill $labrun ends the lab" >&2; exit 1; }
	if [ "$hosts" = 2 ]; then
		cat <<-EOF

			The lab is still up: the demo's process, pid $demo, keeps it alive.
			A shell in the lab (its switch, its power), then one on a node:

			    nsenter --target $demo --all bash --rcfile $dir/env
			    node 2                    # a shell on lab-node2 (node 1 is off: power on 1)

			and try, on a node:

			    crm_mon -1; hostdevctl status --cluster; virsh list
			    kill -KILL "\$(cat /run/libvirt/qemu/vm-b1.pid)"   # a crash, if vm-b1 is active

			Logs: $dir (demo/, node1/, node2/: hostdev-had.log, cluster/, the consoles)

			To tear it all down (every node powered off, the lab's namespaces, cgroups
			and folder go):

			    kill $demo
		EOF
		exit 0
	fi
	cat <<-EOF

		The lab is still up: the demo's process, pid $demo, keeps it alive.
		Everything lives in namespaces of its own; enter them with a shell that has
		the lab's environment:

		    nsenter --target $demo --all bash --rcfile $dir/env

		and try, in there:

		    hostdevctl status
		    hostdevctl switch nic0 vm-b        # or vm-a: whichever is the standby
		    hostdevctl monitor                 # the signals live (Ctrl-C ends it)
		    busctl --system introspect org.hostdevha.Manager1 /org/hostdevha/Manager1/group/nic0
		    crm_mon -1
		    virsh list; virsh schedinfo --live vm-a
		    kill -KILL "\$(cat /run/libvirt/qemu/vm-a.pid)"   # another crash

		One command from outside: nsenter --target $demo --all bash -c ". $dir/env && hostdevctl status"
		Logs: $dir (hostdev-had.log, vm-a.console, vm-b.console, cluster/var-log-pacemaker/pacemaker.log)

		To tear it all down (guests, Pacemaker, the daemon, libvirtd and the bus stop,
		the lab's namespaces, cgroups and folder go):

		    kill $demo
	EOF
	exit 0
fi

if [ "$hosts" = 2 ]; then
	if [ "$keep" = yes ]; then exec bash "$(dirname "$0")/demo-hosts.sh" --keep; fi
	exec bash "$(dirname "$0")/demo-hosts.sh"
fi

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
# shellcheck source=tests/lab/lab-hook.sh
. "$LAB_HOME/lab-hook.sh"

CTL=$LAB_CTL
D=$LAB_DIR/demo
standby_quota=50000
docs=$LAB_DOCS/pacemaker.md
started_us=${EPOCHREALTIME/./}
mkdir -p "$D"

bg_pids=()
teardown() {
	local p
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
	for p in "${bg_pids[@]}"; do kill -- "-$p" 2>/dev/null; done
	lab_cluster_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

say() { printf '\n%s\n' "$*"; }
fail() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }
indent() { sed 's/^/    /'; }
now_us() { echo "${EPOCHREALTIME/./}"; }

# stamp: every line of stdin, CRs dropped, prefixed with the time of
# arrival in microseconds since the epoch.
stamp() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' "${EPOCHREALTIME/./}" "${l//$'\r'/}"
	done
}
export -f stamp

# bg NAME COMMAND...: COMMAND in a session of its own (killed with its
# children at teardown), stderr in $D/NAME.err.
bg() {
	local name=$1
	shift
	setsid "$@" </dev/null >/dev/null 2>"$D/$name.err" &
	bg_pids+=($!)
}

instance_of() { case $1 in vm-a) echo nic0:0 ;; vm-b) echo nic0:1 ;; esac; }
domain_of() { case $1 in nic0:0) echo vm-a ;; nic0:1) echo vm-b ;; esac; }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
role() { lab_daemon_get nic0 Members | grep -o "\"$1\" \"[a-z]*\"" | cut -d'"' -f4; }
quota() { virsh schedinfo --live "$1" 2>/dev/null | sed -n 's/^vcpu_quota *: *//p'; }
# The instances in role $1 (Promoted, Unpromoted) by crm_mon.
instances() {
	lab_cluster_mon --output-as=xml 2>/dev/null |
		sed -n "s/.*<resource id=\"\(nic0:[0-9]*\)\" [^>]*role=\"$1\".*/\1/p" | sort | tr '\n' ' ' | sed 's/ $//'
}

# probe DOMAIN: "yes|no QUOTA": DOMAIN runs with the device in its live
# XML; its vcpu_quota ("-" when it does not run). One virsh call.
probe() {
	local out held=no q=-
	out=$(virsh "dumpxml $1; schedinfo --live $1" 2>/dev/null)
	case ${out%%$'\n'*} in
	*" id='"*) case $out in *"<alias name='ua-hostdev-nic0'/>"*) held=yes ;; esac ;;
	esac
	[[ $out =~ vcpu_quota[[:space:]]*:[[:space:]]*(-?[0-9]+) ]] && q=${BASH_REMATCH[1]}
	echo "$held $q"
}

# sample: both live XMLs and both vCPU quotas, over and over; one line per
# sample in $D/samples, stamped when the last reading returned:
# "TIME_US HOLDERS QUOTA_A QUOTA_B" (HOLDERS: the running domains whose live
# XML has the device, comma-separated, "-" for none; a quota "-" when the
# domain does not run).
sample() {
	local a b h qa qb
	while :; do
		read -r a qa <<<"$(probe vm-a)"
		read -r b qb <<<"$(probe vm-b)"
		h=
		[ "$a" = yes ] && h=vm-a
		[ "$b" = yes ] && h=${h:+$h,}vm-b
		echo "$(now_us) ${h:--} $qa $qb" >>"$D/samples"
		sleep 0.05
	done
}

# The documented pcs lines (see test-lab-pacemaker.sh).
pcs_lines() {
	sed -n '/<!-- pcs-begin -->/,/<!-- pcs-end -->/p' "$docs" | grep -v -e '^<!--' -e '^```'
}

# settled ACTIVE: Pacemaker shows ACTIVE's instance promoted and the other
# unpromoted, the daemon has the device on ACTIVE, the other is a running
# standby at the standby quota that has booted, and the cluster is idle.
settled() {
	local a=$1 s
	s=$(other "$1")
	[ "$(instances Promoted)" = "$(instance_of "$a")" ] &&
		[ "$(instances Unpromoted)" = "$(instance_of "$s")" ] &&
		[ "$(holder)" = "$a" ] && [ "$(role "$s")" = standby ] &&
		[ "$(quota "$s")" = "$standby_quota" ] && lab_console_has "$s" '^READY$' &&
		lab_cluster_idle
}

show_status() {
	say "\$ hostdevctl status"
	NO_COLOR=1 "$CTL" status 2>&1 | indent
	say "\$ crm_mon -1"
	crm_mon -1 2>&1 | indent
}

# --- The timeline --------------------------------------------------------
# events FROM_US TO_US: "TIME_US<TAB>PART<TAB>WHAT" for everything seen in
# that window, unsorted.
pcmk_log=$LAB_CLUSTER_DIR/var-log-pacemaker/pacemaker.log

in_window() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

daemon_events() {
	local t l d g
	while read -r t l; do
		in_window "$t" "$1" "$2" || continue
		case $l in
		"nic0/"*": active --"*"--> failed")
			d=${l#nic0/}; d=${d%%:*}; l=${l#*--}
			printf '%s\tdaemon\tsees %s fail (libvirt event "%s")\n' "$t" "$d" "${l%%--*}" ;;
		*"reporting it to Pacemaker as"*)
			d=${l#* as \'}; printf '%s\tdaemon\treports the failure to Pacemaker (crm_resource --fail %s)\n' "$t" "${d%%\'*}" ;;
		"The deactivation of '"*)
			d=${l#*\'}; printf '%s\tagent\tasks hostdev-had to deactivate %s (bus call)\n' "$t" "${d%%\'*}" ;;
		"The activation of '"*)
			d=${l#*\'}; printf '%s\tagent\tasks hostdev-had to start %s as a standby (bus call)\n' "$t" "${d%%\'*}" ;;
		"The promotion of '"*)
			d=${l#*\'}; printf '%s\tagent\tasks hostdev-had to give the device to %s (bus call)\n' "$t" "${d%%\'*}" ;;
		"The release of group"*)
			printf '%s\tagent\tasks hostdev-had to take the device away (bus call)\n' "$t" ;;
		"The switch of group 'nic0' to '"*)
			d=${l#*to \'}; printf '%s\thostdevctl\tasks hostdev-had to switch the device to %s (bus call)\n' "$t" "${d%%\'*}" ;;
		*"asked for; Pacemaker carries it out (promotion scores: "*)
			d=${l#*scores: }; printf '%s\tdaemon\thands the switch to Pacemaker: promotion scores %s\n' "$t" "${d%).}" ;;
		"Group 'nic0': device '"*"' -> unallocated (generation "*", deactivated).")
			d=${l#*device \'}; printf '%s\tdaemon\t%s destroyed (deactivated): the device is on no VM\n' "$t" "${d%%\'*}" ;;
		"Group 'nic0': device '"*"' -> unallocated (generation "*", device-removed).")
			d=${l#*device \'}; printf '%s\tdaemon\t%s let go of the device (libvirt DEVICE_REMOVED)\n' "$t" "${d%%\'*}" ;;
		"nic0/"*": raising-quota --job-done--> attaching")
			d=${l#nic0/}; printf '%s\tdaemon\traises the CPU quota of %s to the active quota\n' "$t" "${d%%:*}" ;;
		"Group 'nic0': device unallocated -> '"*)
			d=${l#*-> \'}; g=${l#*generation }
			printf '%s\tdaemon\thas hot-plugged the device into %s (libvirt attach done; table generation %s)\n' "$t" "${d%%\'*}" "${g%%,*}" ;;
		"nic0/"*": deactivated --start--> rebuilding")
			d=${l#nic0/}; printf '%s\tdaemon\trebuilds %s: boots it again, without the device\n' "$t" "${d%%:*}" ;;
		"nic0/"*": rebuilding --started--> standby")
			d=${l#nic0/}; printf '%s\tdaemon\t%s runs again, as a standby\n' "$t" "${d%%:*}" ;;
		"nic0/"*": starting --job-done--> lowering-quota" | "nic0/"*": waiting-release --device-removed--> lowering-quota")
			d=${l#nic0/}; printf '%s\tdaemon\tlowers the CPU quota of %s to the standby quota\n' "$t" "${d%%:*}" ;;
		"Group 'nic0': Pacemaker promoted '"*)
			d=${l#*promoted \'}; printf '%s\tdaemon\tsees %s promoted: the switch is done\n' "$t" "${d%%\'*}" ;;
		esac
	done < <(lab_stamped_lines "$LAB_DIR/hostdev-had.log")
}

console_events() {
	local dom t what slot id rest
	for dom in vm-a vm-b; do
		while read -r t what slot id rest; do
			in_window "$t" "$1" "$2" || continue
			case $what in
			PCI)
				case $slot in
				add) printf '%s\tguest %s\tkernel: a PCI device appeared at %s (%s)\n' "$t" "$dom" "$id" "${rest%% *}" ;;
				remove) printf '%s\tguest %s\tkernel: the PCI device at %s is gone\n' "$t" "$dom" "$id" ;;
				esac ;;
			READY) printf '%s\tguest %s\tbooted (READY on its console)\n' "$t" "$dom" ;;
			esac
		done <"$D/console-$dom"
	done
}

monitor_events() {
	jq -r --argjson from "$1" --argjson to "$2" '
		select(.realtime_usec >= $from and .realtime_usec <= $to) |
		if .event == "ConnectionChanged" then
			"\(.realtime_usec)\tdaemon\tsignal ConnectionChanged: device \(.old_holder // "(none)") -> \(.new_holder // "(none)")"
		elif .event == "MemberFailed" then
			"\(.realtime_usec)\tdaemon\tsignal MemberFailed: \(.domain) (\(.reason))"
		else empty end' "$D/monitor.json" 2>/dev/null
}

# Pacemaker's own lines: "Nov 25 10:32:48.726 host pacemaker-controld [268]
# (...) notice: Initiating promote operation nic0:1_promote_0 ...".
pacemaker_events() {
	local f=$D/pcmk-lines stamps t l op inst res
	[ -r "$pcmk_log" ] || return 0
	grep -E 'Initiating (start|stop|promote|demote) operation nic0|Result of (start|stop|promote|demote) operation for nic0|Setting fail-count-nic0|Clearing failure of nic0' \
		"$pcmk_log" >"$f"
	stamps=$(cut -c1-19 "$f" | date -f - +%s%6N 2>/dev/null) || return 0
	paste <(echo "$stamps") "$f" | while IFS=$'\t' read -r t l; do
		in_window "$t" "$1" "$2" || continue
		case $l in
		*"Initiating "*)
			op=${l#*Initiating }; op=${op%% *}
			inst=${l#*operation }; inst=${inst%%_*}
			printf '%s\tpacemaker\t%s %s (%s)\n' "$t" "$op" "$inst" "$(domain_of "$inst")" ;;
		*"Result of "*)
			op=${l#*Result of }; op=${op%% *}
			inst=${l#* for }; inst=${inst%% *}
			res=${l#*Result of }; res=${res#*: }; res=${res%% |*}
			printf '%s\tpacemaker\t%s of %s (%s) done: %s\n' "$t" "$op" "$inst" "$(domain_of "$inst")" "${res% }" ;;
		*"Setting fail-count-nic0"*": (unset) -> "*)
			inst=${l#*fail-count-}; inst=${inst%%#*}
			printf '%s\tpacemaker\trecords the failure of %s (%s)\n' "$t" "$inst" "$(domain_of "$inst")" ;;
		*"Clearing failure of nic0"*)
			inst=${l#*failure of }; inst=${inst%% *}
			printf '%s\tpacemaker\tthe failure of %s expired (failure-timeout): it may start again\n' "$t" "$inst" ;;
		esac
	done
}

# Changes seen by the sampler (libvirt's live XML and scheduler).
sampler_events() {
	awk -v from="$1" -v to="$2" '
		function dev(h) { return h == "-" ? "on no VM" : "on " h }
		function q(x) { return x == "-1" ? "-1 (unlimited)" : x }
		{
			if (NR > 1 && $1 >= from && $1 <= to) {
				if ($2 != h) printf "%s\tlibvirt\tlive XML: the device is %s\n", $1, dev($2)
				if ($3 != "-" && $3 != qa) printf "%s\tlibvirt\tvirsh schedinfo: vm-a vcpu_quota %s\n", $1, q($3)
				if ($4 != "-" && $4 != qb) printf "%s\tlibvirt\tvirsh schedinfo: vm-b vcpu_quota %s\n", $1, q($4)
			}
			h = $2
			if ($3 != "-") qa = $3
			if ($4 != "-") qb = $4
		}' "$D/samples"
}

# timeline NAME T0_US TO_US: every event from T0 to TO, in order, with its
# time of day and its offset from T0 in ms; also saved as $D/NAME.tsv.
timeline() {
	local name=$1 t0=$2 to=$3 t part what prev prev_t
	{
		daemon_events "$t0" "$to"
		console_events "$t0" "$to"
		monitor_events "$t0" "$to"
		pacemaker_events "$t0" "$to"
		sampler_events "$t0" "$to"
		cat "$D/$name.extra" 2>/dev/null
	} | sort -s -n -k1,1 >"$D/$name.tsv"
	printf '\n    %-12s  %9s  %-11s %s\n' "time" "ms" "who" "what"
	prev_t=$t0 prev=
	while IFS=$'\t' read -r t part what; do
		[ "$part $what" = "$prev" ] && continue
		[ $((t - prev_t)) -gt 5000000 ] && printf '    ...\n'
		printf '    %s  %+9d  %-11s %s\n' "$(date -d "@${t:0:-6}.${t: -6}" +%T.%3N)" $(((t - t0) / 1000)) "$part" "$what"
		prev_t=$t prev="$part $what"
	done <"$D/$name.tsv"
}

# extra NAME TIME_US PART WHAT: a line of the demo's own for timeline NAME.
extra() { printf '%s\t%s\t%s\n' "$2" "$3" "$4" >>"$D/$1.extra"; }

# --- Bring-up ------------------------------------------------------------
cat <<'EOF'
hostdev-ha demo: one PCI device shared by two VMs, at most one of them holding
it at any time. The active VM has the device and its full CPU; the standby
runs without it, throttled, ready to take over. When the active VM fails,
the device moves to the standby within about a second, without waiting for
a VM to boot, and the failed VM is rebuilt as the new standby.
EOF
say "Bringing up the lab: a private system bus, libvirtd with two small QEMU guests
(vm-a, vm-b), hostdev-had (policy pacemaker) and a one-node Corosync + Pacemaker
cluster. The PCI device is an emulated e1000e NIC (no IOMMU on this machine)."

lab_bus_start 2>"$D/bus.err"
# The hook, as on a real host: libvirtd runs it on every start of a guest.
lab_hook_install || fail "cannot install the libvirt hook"
lab_libvirt_start || fail "libvirtd did not start"
{ lab_guest_define vm-a && lab_guest_define vm-b; } 2>"$D/define.err" || fail "cannot define the guests: $(cat "$D/define.err")"
lab_daemon_group nic0 pacemaker vm-a vm-b
echo "StandbyVcpuQuota=$standby_quota" >>"$LAB_DAEMON_CONFIG/groups.d/nic0.conf"

# The daemon stamps its own lines: their order against Pacemaker's (which
# also has its own times) is what happened, however late they are read.
lab_daemon_start --log-time 2>"$D/daemon.err" || fail "hostdev-had did not start: $(cat "$D/daemon.err")"
lab_agent_install || fail "cannot install the agent"
lab_cluster_start 2>"$D/cluster.err" || fail "the cluster did not start: $(cat "$D/cluster.err")"

# The other sources: the consoles, the daemon's signals, the sampler.
for dom in vm-a vm-b; do
	touch "$LAB_DIR/$dom.console"
	bg "console-$dom" bash -c 'tail -n 0 -F "$0" 2>/dev/null | stamp >"$1"' "$LAB_DIR/$dom.console" "$D/console-$dom"
done
bg monitor bash -c 'exec "$0" monitor --json >"$1"' "$CTL" "$D/monitor.json"
lab_wait_for 30 grep -q Monitoring "$D/monitor.err" || fail "hostdevctl monitor did not start: $(cat "$D/monitor.err")"
sample </dev/null >/dev/null 2>&1 &
sampler=$!

say "Pacemaker runs the group as a promotable clone of the agent ocf:hostdev-ha:hostdev,
one instance per VM: Promoted = holds the device, Unpromoted = standby. It is
made with the line from docs/pacemaker.md:"
pcs_lines | indent
eval "$(pcs_lines)" >"$D/pcs.out" 2>&1 || fail "pcs failed: $(cat "$D/pcs.out")"
lab_wait_for 90 eval '[ -n "$(instances Promoted)" ] && [ -n "$(holder)" ]' || fail "nothing promoted"
active=$(holder)
standby=$(other "$active")
lab_wait_for 90 settled "$active" || fail "the clone did not settle"
lab_console_has "$active" '^READY$' || lab_wait_for 30 lab_console_has "$active" '^READY$'
say "Pacemaker started both VMs and promoted $(instance_of "$active"): $active holds the device."
show_status

# --- The crash -----------------------------------------------------------
say "== A crash: the QEMU process of $active, the active VM, is killed (kill -9). =="
echo "Nobody calls anything; what follows is the stack reacting on its own."
lab_console_mark "$active"
t0=$(now_us)
kill -KILL "$(cat "/run/libvirt/qemu/$active.pid")"
extra failover "$t0" demo "kill -9 of $active's QEMU: the active VM is gone"
lab_wait_for 30 eval '[ "$(instances Promoted)" = "$(instance_of "$standby")" ] && [ "$(holder)" = "$standby" ]' ||
	fail "$standby was not promoted"
t1=$(now_us)
echo "$standby holds the device $(((t1 - t0) / 1000)) ms after the crash; Pacemaker brings $active"
echo "back as a standby once its failure expires (failure-timeout=30s)..."
lab_wait_for 90 settled "$standby" || fail "$active did not come back as a standby"
t2=$(now_us)
extra failover "$t2" demo "all settled: $standby active with the device, $active a standby"
timeline failover "$t0" "$t2"
say "The device was on $active, then on no VM while $active was destroyed, then on
$standby, never on both. $standby took over without booting, at its full CPU
quota; $active was rebuilt (booted afresh, without the device) as the new standby
at the low quota. With Pacemaker's VirtualDomain agent alone, the service would
have waited for a whole VM to boot."

# --- The planned switch --------------------------------------------------
lab_wait_for 30 lab_cluster_idle
say "== A planned switchover back: hostdevctl switch nic0 $active =="
echo "On a Pacemaker group hostdev-had does not move the device behind Pacemaker's"
echo "back: it changes the promotion scores and Pacemaker demotes and promotes."
t0=$(now_us)
extra switch "$t0" hostdevctl "hostdevctl switch nic0 $active"
"$CTL" switch nic0 "$active" >"$D/switch.out" 2>&1 || fail "the switch failed: $(cat "$D/switch.out")"
t1=$(now_us)
extra switch "$t1" hostdevctl "returns: $(cat "$D/switch.out")"
lab_wait_for 60 settled "$active" || fail "the switch did not settle"
t2=$(now_us)
extra switch "$t2" demo "all settled: $active active with the device, $standby a standby"
sed 's/^/    /' "$D/switch.out"
timeline switch "$t0" "$t2"
say "A planned switch releases the device first (the guest lets go of it, a clean
PCI unplug), then hot-plugs it into the other VM; both VMs keep running."

show_status

kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
sampler=
n=$(wc -l <"$D/samples")
# The two VMs are read one after the other: a move between the two reads
# shows both in one sample. On two VMs is a double in two samples in a row.
two=$(awk '$2 ~ /,/ { if (prev) print; prev = 1; next } { prev = 0 }' "$D/samples")
[ -z "$two" ] || fail "the device was on two VMs at once: $(head -n 3 <<<"$two")"
say "Both VMs' live XML was read $n times during the run: the device was never on
two VMs at once."

if [ "$keep" = yes ]; then
	cat >"$LAB_DIR/env" <<-EOF
		# The lab's environment, for a shell inside it (nsenter ... bash --rcfile).
		export LIBVIRT_DEFAULT_URI='$LAB_LIBVIRT_URI'
		export PATH='$(dirname "$LAB_CTL")':\$PATH
		export HOME='$LAB_DIR/home'
		PS1='[hostdev-ha lab] \\w# '
	EOF
	# Until a TERM (kill PID, see above): then the teardown.
	trap 'exit 0' TERM
	echo "$$" >"$D/pid"
	say "Done in $((($(now_us) - started_us) / 1000000)) s; the lab stays up (--keep)."
	echo "@@ demo kept @@"
	sleep infinity &
	wait $!
	exit 0
fi

say "Tearing down: Pacemaker, the daemon, the VMs, libvirtd and the bus stop; the
lab's namespaces and folder go with them."
teardown 2>/dev/null
trap - EXIT
echo "Done in $((($(now_us) - started_us) / 1000000)) s."
