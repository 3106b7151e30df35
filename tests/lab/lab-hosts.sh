# shellcheck shell=bash
# One group across two hosts (docs/pacemaker.md, "One group across hosts")
# on a lab of two nodes with fencing (lab-nodes.sh); sourced inside lab-run
# after lab-cluster.sh and lab-nodes.sh, by the two-host demo
# (demo-hosts.sh) and its benchmark (tests/bench/bench-hosts.sh).
#
# Node N is host N: its own bus, libvirtd, guests (host 1: vm-a1 vm-a2,
# host 2: vm-b1 vm-b2), hostdev-had with group nic0 (Policy=pacemaker,
# [Cluster] Enabled=yes, QuorumLossReleaseSec=$LAB_HOSTS_QLR) and the agent;
# the fence device fence_lab; the documented pcs lines, host1 and host2
# mapped to lab-node1 and lab-node2 as the other lab tests map them.
#
#   lab_hosts_start            all of the above; returns once host 1 holds
#                              the device and every other member is a standby;
#                              with LAB_HOSTS_SITE=no, the recipe without
#                              nic0-site and its constraints (a
#                              misconfiguration: each host's clone promotes),
#                              and it returns once the recipe is pushed
#   lab_hosts_stop             every node off, the switch, the fence agent's
#                              overlay and the nodes' cgroups gone
#   lab_hosts_settled N [OUT]  the site on node N, one instance promoted, there,
#                              its domain alone holding the device in the whole
#                              cluster, every other member of the nodes powered
#                              on a standby but OUT of them (default 0), idle
#   lab_hosts_power off|on N   the lab's power switch (fence_lab), as a person
#                              at the machine would
#   lab_hosts_qemu_pid N DOM   DOM's QEMU on node N, as the lab's pid
#   lab_hosts_holders          "lab-nodeN:DOMAIN ..." holding the device, every
#                              node read with one virsh call (from the lab)
#   lab_hosts_watch_start N    libvirtd's events of node N (virsh event, from
#                              the lab) appended to $LAB_HOSTS_OUT/events-N
#   lab_hosts_logs_start       each guest's console, stamped on arrival, in
#                              $LAB_HOSTS_OUT (hostdev-had stamps its own log)
#   lab_hosts_events FROM TO   what everybody did between two times (us since
#                              the epoch): "TIME_US<TAB>WHO<TAB>WHAT" lines,
#                              unsorted (Pacemaker's and Corosync's logs, the
#                              daemons', the consoles, libvirtd's events, the
#                              power switch)
#   lab_hosts_bg NAME CMD...   CMD in the background, killed by lab_hosts_stop
#
# "View": Pacemaker is asked on node $LAB_NODES_VIEW (1 unless node 1 is off).
# shellcheck disable=SC2016 # bash -c '...' expands when it runs

: "${LAB_HOSTS_QLR:=3}" "${LAB_HOSTS_OUT:=$LAB_DIR/hosts}" "${LAB_HOSTS_SITE:=yes}"
LAB_HOSTS_ALIAS=ua-hostdev-nic0
LAB_HOSTS_STANDBY_QUOTA=50000
declare -A lab_hosts_domains=([1]="vm-a1 vm-a2" [2]="vm-b1 vm-b2")
lab_hosts_bg_pids=()
mkdir -p "$LAB_HOSTS_OUT"

lab_hosts_bg() {
	local name=$1
	shift
	setsid "$@" </dev/null >/dev/null 2>>"$LAB_HOSTS_OUT/$name.err" &
	lab_hosts_bg_pids+=($!)
}

# lab_hosts_node_services N: node N's bus, libvirtd, guests, hostdev-had and
# agent, and its boot list (what runs again when it is powered on).
lab_hosts_node_services() {
	local n=$1 conf=$LAB_DIR/node$1/hostdev-ha d
	# shellcheck disable=SC2086 # the node's domains
	set -- ${lab_hosts_domains[$n]}
	lab_node_run "$n" lab_bus_start && lab_node_run "$n" lab_libvirt_start || return 1
	for d; do lab_node_run "$n" lab_guest_define "$d" || return 1; done
	lab_node_run "$n" lab_daemon_group nic0 pacemaker "$@" &&
		echo "StandbyVcpuQuota=$LAB_HOSTS_STANDBY_QUOTA" >>"$conf/groups.d/nic0.conf" &&
		printf '[Cluster]\nEnabled=yes\nQuorumLossReleaseSec=%s\n' "$LAB_HOSTS_QLR" >>"$conf/hostdev-ha.conf" &&
		lab_node_run "$n" lab_daemon_start --log-time && lab_node_run "$n" lab_agent_install &&
		printf '%s\n' lab_bus_start lab_libvirt_start "lab_daemon_start --log-time" lab_agent_install \
			>"$LAB_DIR/node$n/boot"
}

# lab_hosts_recipe: the documented pcs lines of "One group across hosts",
# host1 and host2 being nodes 1 and 2, run on node 1 in $LAB_HOSTS_OUT;
# with LAB_HOSTS_SITE=no, without the lines that name nic0-site (the
# primitive, its location rules, the colocations and orders).
lab_hosts_recipe_lines() {
	sed -n '/<!-- pcs-hosts-begin -->/,/<!-- pcs-hosts-end -->/p' "$LAB_HOME/../../docs/pacemaker.md" |
		grep -v -e '^<!--' -e '^```' | sed 's/host\([12]\)/lab-node\1/g' |
		if [ "$LAB_HOSTS_SITE" = no ]; then grep -v -w nic0-site; else cat; fi
}
lab_hosts_recipe() {
	local cmd
	cmd=$(lab_hosts_recipe_lines)
	[ -n "$cmd" ] || { echo "lab: no pcs-hosts lines in docs/pacemaker.md" >&2; return 1; }
	lab_node_run 1 bash -c "cd '$LAB_HOSTS_OUT' && $cmd" >"$LAB_HOSTS_OUT/recipe.out" 2>&1 ||
		{ cat "$LAB_HOSTS_OUT/recipe.out" >&2; return 1; }
}

lab_hosts_start() {
	local pids=() n rc=0 pid
	lab_nodes_start 2 || return 1
	for n in 1 2; do
		lab_hosts_node_services "$n" >"$LAB_HOSTS_OUT/services-$n.log" 2>&1 &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
	[ $rc = 0 ] || { tail -n 5 "$LAB_HOSTS_OUT"/services-*.log >&2; return 1; }
	lab_hosts_logs_start
	lab_hosts_watch_start 1
	lab_hosts_watch_start 2
	lab_node_run 1 pcs stonith create fence-lab fence_lab pcmk_host_list="lab-node1 lab-node2" \
		>"$LAB_HOSTS_OUT/fence.out" 2>&1 || { cat "$LAB_HOSTS_OUT/fence.out" >&2; return 1; }
	lab_hosts_recipe || return 1
	[ "$LAB_HOSTS_SITE" = no ] && return 0
	lab_wait_for 180 lab_hosts_settled 1 || { echo "lab: the group did not settle on node 1: $(lab_hosts_placement | xargs)" >&2; return 1; }
}

lab_hosts_stop() {
	local p f
	for p in "${lab_hosts_bg_pids[@]}"; do kill -- "-$p" 2>/dev/null; done
	lab_nodes_stop
	ip link del lab-br0 2>/dev/null
	mountpoint -q /run/lab-power && umount /run/lab-power
	if [ "$(findmnt -n -o SOURCE /usr/sbin)" = lab-sbin ]; then
		umount /usr/sbin && umount "$LAB_DIR/sbin"
	fi
	# The nodes' cgroups (lab-nodeN below the lab's, libvirt's below
	# them), deepest first; every process of the nodes is gone by now.
	for f in $(lab_node_cgroups 1) $(lab_node_cgroups 2); do
		find "$(dirname "$f")" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

# --- Pacemaker's view ------------------------------------------------------

lab_hosts_mon() { lab_node_run "${LAB_NODES_VIEW:-1}" lab_cluster_mon --output-as=xml 2>/dev/null; }
# lab_hosts_placement: "RESOURCE ROLE NODE" a line ("-" for a stopped one).
lab_hosts_placement() {
	lab_hosts_mon | awk '/<resource id="/ {
			if (id != "") print id, role, "-"
			match($0, /id="[^"]*"/); id = substr($0, RSTART + 4, RLENGTH - 5)
			match($0, /role="[^"]*"/); role = substr($0, RSTART + 6, RLENGTH - 7)
			if ($0 ~ /\/>/) { print id, role, "-"; id = "" }
			next }
		id != "" && /<node name=/ { match($0, /name="[^"]*"/); print id, role, substr($0, RSTART + 6, RLENGTH - 7); id = "" }
		id != "" && /<\/resource>/ { print id, role, "-"; id = "" }'
}

# lab_hosts_domain_of INSTANCE: nic0-lab-node2:1 -> vm-b2.
lab_hosts_domain_of() {
	local r=${1#nic0-lab-node} n
	n=${r%%:*}
	# shellcheck disable=SC2086 # the node's domains
	set -- ${lab_hosts_domains[$n]:-}
	shift "${r#*:}" 2>/dev/null && [ -n "${1:-}" ] && echo "$1"
}

# lab_hosts_holder N: the domain holding the device as node N's hostdev-had has it.
lab_hosts_holder() { lab_node_run "$1" lab_daemon_get nic0 Active 2>/dev/null | sed 's/^s "\(.*\)"$/\1/'; }

lab_hosts_settled() {
	local s=$1 p site promoted unpromoted want=$((-${2:-0})) n h why=
	p=$(lab_hosts_placement) || return 1
	site=$(awk '$1 == "nic0-site" && $2 == "Started" { print $3 }' <<<"$p")
	promoted=$(awk '$2 == "Promoted" { print $1 "@" $3 }' <<<"$p" | xargs)
	unpromoted=$(awk '$2 == "Unpromoted"' <<<"$p" | grep -c .)
	for n in 1 2; do
		# shellcheck disable=SC2086 # the node's domains
		lab_node_is_on "$n" && set -- ${lab_hosts_domains[$n]} && want=$((want + $#))
	done
	if [ "$site" != "lab-node$s" ]; then
		why="site on '$site'"
	elif [[ $promoted != "nic0-lab-node$s:"*"@lab-node$s" ]]; then
		why="promoted '$promoted'"
	elif [ "$unpromoted" != $((want - 1)) ]; then
		why="$unpromoted standbys"
	else
		h=$(lab_hosts_domain_of "${promoted%@*}")
		if [ "$(lab_hosts_holder "$s")" != "$h" ]; then
			why="node $s's hostdev-had: holder '$(lab_hosts_holder "$s")'"
		elif [ "$(lab_hosts_holders)" != "lab-node$s:$h" ]; then
			why="device on '$(lab_hosts_holders)'"
		elif ! lab_node_run "${LAB_NODES_VIEW:-1}" lab_cluster_idle; then
			why="cluster busy"
		fi
	fi
	echo "${why:-settled}" >"$LAB_HOSTS_OUT/settled"
	[ -z "$why" ]
}

# --- The lab's hands ---------------------------------------------------------

lab_hosts_power() {
	printf 'action=%s\nport=lab-node%s\n' "$1" "$2" | fence_lab >"$LAB_HOSTS_OUT/power.out" 2>&1 ||
		{ cat "$LAB_HOSTS_OUT/power.out" >&2; return 1; }
}

lab_hosts_qemu_pid() {
	local p
	for p in $(lab_node_procs "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = qemu-system-x86 ] &&
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "guest=$2," && { echo "$p"; return 0; }
	done
	return 1
}

# --- Seen from the lab ---------------------------------------------------------

# lab_hosts_uri N: node N's libvirtd from the lab's own namespaces (a
# socket on the node's disk, or in its private /run).
lab_hosts_uri() {
	local d=$LAB_DIR/node$1/libvirt/sock holder
	if [ -S "$d/libvirt-sock" ]; then
		echo "qemu+unix:///system?socket=$d/libvirt-sock"
	else
		read -r holder <"$LAB_DIR/node$1/holder.pid" &&
			echo "qemu+unix:///system?socket=/proc/$holder/root/run/lab-libvirt-sock/libvirt-sock"
	fi
}

lab_hosts_holders() {
	local n d cmd out=
	for n in 1 2; do
		lab_node_is_on "$n" || continue
		cmd=
		for d in ${lab_hosts_domains[$n]}; do cmd="$cmd dumpxml $d;"; done
		out="$out $(timeout 10 virsh -c "$(lab_hosts_uri "$n")" "$cmd" 2>/dev/null |
			lab_xml_holders "$LAB_HOSTS_ALIAS" "lab-node$n:")"
	done
	echo "$out" | xargs
}

lab_hosts_watch_start() {
	local uri
	uri=$(lab_hosts_uri "$1") || return 1
	lab_hosts_bg "events-$1" bash -c 'exec stdbuf -oL virsh -c "$0" event --all --loop --timestamp >>"$1"' \
		"$uri" "$LAB_HOSTS_OUT/events-$1"
}

# lab_hosts_stamp: every line of stdin, CRs dropped, prefixed with the time
# of arrival in microseconds since the epoch.
lab_hosts_stamp() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' "${EPOCHREALTIME/./}" "${l//$'\r'/}"
	done
}
export -f lab_hosts_stamp

# Each hostdev-had stamps its own lines (--log-time): only the consoles are
# stamped here, on arrival.
lab_hosts_logs_start() {
	local n d f
	for n in 1 2; do
		for d in ${lab_hosts_domains[$n]}; do
			f=$LAB_DIR/node$n/$d.console
			touch "$f"
			lab_hosts_bg "console-$d" bash -c 'tail -n +1 -F "$0" 2>/dev/null | lab_hosts_stamp >>"$1"' \
				"$f" "$LAB_HOSTS_OUT/console-$d"
		done
	done
}

# --- Who did what ----------------------------------------------------------------

# lab_hosts_log_lines FILE ERE: the matching lines of a log whose lines start
# with a time of day ("Dec 01 13:20:11.123"), each as "TIME_US LINE".
lab_hosts_log_lines() {
	local f=$LAB_HOSTS_OUT/log-lines stamps
	[ -r "$1" ] || return 0
	grep -E -- "$2" "$1" >"$f" || return 0
	stamps=$(cut -c1-19 "$f" | date -f - +%s%6N 2>/dev/null) || return 0
	paste -d ' ' <(echo "$stamps") "$f"
}

lab_hosts_pacemaker_events() {
	local n t l op inst res node
	for n in 1 2; do
		lab_hosts_log_lines "$LAB_DIR/node$n/cluster/var-log-pacemaker/pacemaker.log" \
			'Initiating (start|stop|promote|demote) operation nic0-|Result of (start|stop|promote|demote) operation for nic0-|Setting fail-count-nic0|Requesting fencing|Peer lab-node[0-9] was terminated|Node lab-node[0-9] state is now lost|will be fenced|Client .* wants to fence|Operation .off. .* targeting lab-node[0-9]' |
			while read -r t l; do
				in_window "$t" "$1" "$2" || continue
				case $l in
				*"Initiating "*)
					op=${l#*Initiating }; op=${op%% *}
					inst=${l#*operation }; inst=${inst%%_*}; node=${l##* on }; node=${node%% *}
					printf '%s\tpacemaker\t%s %s (%s) on %s\n' "$t" "$op" "$inst" "$(lab_hosts_domain_of "$inst" || echo site)" "$node" ;;
				*"Result of "*)
					op=${l#*Result of }; op=${op%% *}
					inst=${l#* for }; inst=${inst%% *}
					res=${l#*Result of }; res=${res#*: }; res=${res%% |*}
					printf '%s\tpacemaker\t%s of %s (%s) done: %s\n' "$t" "$op" "$inst" "$(lab_hosts_domain_of "$inst" || echo site)" "${res% }" ;;
				*"Setting fail-count-nic0"*": (unset) -> "*)
					inst=${l#*fail-count-}; inst=${inst%%#*}
					printf '%s\tpacemaker\trecords the failure of %s (%s)\n' "$t" "$inst" "$(lab_hosts_domain_of "$inst")" ;;
				*"state is now lost"*)
					node=${l#*Node }; printf '%s\tpacemaker\tnode %s lost (seen by lab-node%s)\n' "$t" "${node%% *}" "$n" ;;
				*"will be fenced"* | *"Requesting fencing"* | *"wants to fence"* | *"was terminated"* | *"targeting lab-node"*)
					l=${l#*notice: }; l=${l#*warning: }
					printf '%s\tfencing\t%s\n' "$t" "${l%% |*}" ;;
				esac
			done
	done
}

lab_hosts_corosync_events() {
	local n t l
	for n in 1 2; do
		lab_hosts_log_lines "$LAB_DIR/node$n/cluster/corosync.log" \
			'A processor failed|A new membership|Members left|Members joined|token timed out|\[QUORUM\] Members' |
			while read -r t l; do
				in_window "$t" "$1" "$2" || continue
				[[ $l =~ \[([A-Z]+)\ *\]\ (.*) ]] && l="${BASH_REMATCH[1]}: ${BASH_REMATCH[2]}"
				printf '%s\tcorosync@%s\t%s\n' "$t" "$n" "${l:0:120}"
			done
	done
}

# A promote waiting for the token asks again every 0.2 s (the agent): the
# first request and refusal are shown, the others counted.
lab_hosts_daemon_events() {
	local n t l asked last more
	for n in 1 2; do
		asked=0 more=0 last=
		while read -r t l; do
			in_window "$t" "$1" "$2" || continue
			case $l in
			*"asking the cluster for the group's token"* | *"refused by the cluster"*)
				asked=$((asked + 1))
				if [ "$asked" -gt 2 ]; then
					more=$((more + 1)) last=$t
					continue
				fi ;;
			"Cluster membership, ring"* | "Membership of ring"*) continue ;;
			*"Group 'nic0'"* | *"lost quorum"* | *"Cluster membership"* | *"Cluster quorum"* | nic0/*) ;;
			*) continue ;;
			esac
			if [ "$more" -gt 0 ]; then
				printf '%s\tdaemon@%s\t(asked and refused %s more times: the promote asks again every 0.2 s)\n' "$last" "$n" "$(((more + 1) / 2))"
				asked=0 more=0
			fi
			printf '%s\tdaemon@%s\t%s\n' "$t" "$n" "${l:0:170}"
		done < <(lab_stamped_lines "$LAB_DIR/node$n/hostdev-had.log")
	done
}

lab_hosts_console_events() {
	local n d t what slot id rest
	for n in 1 2; do
		for d in ${lab_hosts_domains[$n]}; do
			[ -r "$LAB_HOSTS_OUT/console-$d" ] || continue
			while read -r t what slot id rest; do
				in_window "$t" "$1" "$2" || continue
				case $what in
				PCI)
					case $slot in
					add) printf '%s\tguest %s\tkernel: a PCI device appeared at %s (%s)\n' "$t" "$d" "$id" "${rest%% *}" ;;
					remove) printf '%s\tguest %s\tkernel: the PCI device at %s is gone\n' "$t" "$d" "$id" ;;
					esac ;;
				READY) printf '%s\tguest %s\tbooted (READY on its console)\n' "$t" "$d" ;;
				esac
			done <"$LAB_HOSTS_OUT/console-$d"
		done
	done
}

# libvirtd's events ("2026-12-01 13:20:11.123+0000: event 'device-added' for
# domain 'vm-b1': ua-hostdev-nic0"), with its own times.
lab_hosts_libvirt_events() {
	local n f=$LAB_HOSTS_OUT/event-lines stamps t l
	for n in 1 2; do
		[ -r "$LAB_HOSTS_OUT/events-$n" ] || continue
		grep -E "^[0-9-]+ [0-9:.]+\+0000: event '(device-added|device-removed|lifecycle)'" "$LAB_HOSTS_OUT/events-$n" >"$f" || continue
		stamps=$(sed 's/+0000:.*//' "$f" | TZ=UTC date -f - +%s%6N 2>/dev/null) || continue
		paste -d ' ' <(echo "$stamps") <(sed 's/^[^ ]* [^ ]* //' "$f") | while read -r t l; do
			in_window "$t" "$1" "$2" || continue
			l=${l#event }
			printf '%s\tlibvirt@%s\t%s\n' "$t" "$n" "$l"
		done
	done
}

lab_hosts_power_events() {
	local t node action what rc
	[ -r "$LAB_POWER_DIR/log" ] || return 0
	while read -r t node action what rc; do
		t=${t:0:16}
		in_window "$t" "$1" "$2" || continue
		case $what in
		begin) printf '%s\tpower\t%s %s asked of the power switch\n' "$t" "$action" "$node" ;;
		end) printf '%s\tpower\t%s %s done (status %s)\n' "$t" "$action" "$node" "$rc" ;;
		esac
	done <"$LAB_POWER_DIR/log"
}

in_window() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

lab_hosts_events() {
	lab_hosts_power_events "$1" "$2"
	lab_hosts_corosync_events "$1" "$2"
	lab_hosts_pacemaker_events "$1" "$2"
	lab_hosts_daemon_events "$1" "$2"
	lab_hosts_console_events "$1" "$2"
	lab_hosts_libvirt_events "$1" "$2"
}
