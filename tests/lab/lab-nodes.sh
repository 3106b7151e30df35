# shellcheck shell=bash
# Clusters of 2 or 3 nodes on one machine, with fencing; sourced inside
# lab-run after lab-common.sh and lab-cluster.sh.
#
# A node is a PID + network + mount + UTS + cgroup namespace of its own under
# a tini as its PID 1: its own cgroups (lab-nodeN below the lab's), /run and
# /dev/shm (tmpfs), /etc/corosync, /var/lib/corosync, /var/lib/pacemaker,
# /var/log/pacemaker (bound from its "disk" $LAB_DIR/nodeN by lab-cluster.sh),
# the hostname lab-nodeN and one NIC, eth0 = 10.99.0.N/24: a veth pair whose
# other end, lab-swN, is a port of the bridge lab-br0 in the lab's own network
# namespace (the switch).  Its Corosync (knet, a nodelist of every node) and
# Pacemaker are lab-cluster.sh's, run inside it.  Powering a node off kills
# its PID 1: the kernel kills every process of the node, and its NIC goes
# with its network namespace; its disk stays.  Powering it on makes fresh
# namespaces and starts Corosync and Pacemaker again, with the CIB the node
# had.
#
#   lab_nodes_start COUNT     COUNT (2 or 3) nodes powered on with a fresh CIB
#                             (stonith-enabled=true, no fence device yet);
#                             returns once all are online and the DC is idle
#   lab_nodes_stop            every node powered off, the power switch stopped
#                             (idempotent)
#   lab_node_run N COMMAND... COMMAND on node N: in its namespaces, LAB_DIR its
#                             disk, the lab's functions loaded (lab-node-exec):
#                             lab_cluster_*, lab_bus_*, lab_libvirt_*,
#                             lab_daemon_*, lab_agent_* work there as in a
#                             one-node lab; crm_mon, pcs, crm reach its cluster
#   lab_node_on N [--fresh]   power on (Corosync and Pacemaker started, not
#                             waited for); --fresh: a new node, with a new
#                             CIB and no boot list
#   lab_node_off N            power off; returns once all its processes and
#                             its NIC are gone
#   lab_node_is_on N
#   lab_node_boots N          how many times node N was powered on
#   lab_node_procs N          the lab's pids of node N's processes, if any
#   lab_nodes_online [N...]   every node given (default: all) online, seen
#                             from node $LAB_NODES_VIEW (default 1)
#   lab_nodes_wait_idle [S]   the DC idle (60 s by default)
#   lab_nodes_down N          Pacemaker has node N offline and clean (fenced)
#                             and nothing left to do, no fencing pending
#   lab_nodes_device_holders [--alias A] DOMAIN...
#                             every node's running holders of the stand-in
#                             device, "lab-nodeN:DOMAIN ..." (for samplers)
#
# Fencing: the fence agent fence_lab (put in the lab's /usr/sbin, an overlay,
# where Pacemaker's fencer looks) sends its requests to the lab's power
# switch, lab_power_serve, which runs in the lab's top namespaces (a node
# cannot see another node's processes) from lab_nodes_start on.  Every
# action it takes is a line of $LAB_DIR/power/log: "NANOSECONDS NODE ACTION
# begin" and "... end STATUS".  The seeded CIB has stonith-action=off: a
# fenced node stays off until the test powers it on.  Pacemaker may fence a
# node a second time when it sees it leave before it hears of a fencing it
# did not ask for (stonith_admin's): that one is then harmless, and
# lab_nodes_down waits until it is over.
#
# Services other than the cluster (bus, libvirtd, hostdev-had) are started by
# the test with lab_node_run; after a power cycle only the commands listed in
# $LAB_DIR/nodeN/boot (one a line, lab_node_run's arguments) run again, before
# the cluster.

LAB_NODES_NET=10.99.0
: "${LAB_POWER_DIR:=$LAB_DIR/power}"

lab_nodes_count() {
	local n=0
	[ -s "$LAB_POWER_DIR/nodes" ] && read -r n <"$LAB_POWER_DIR/nodes"
	echo "$n"
}

# lab_nodes_list: the nodelist as lab-cluster.sh takes it.
lab_nodes_list() {
	local i out=
	for ((i = 1; i <= $(lab_nodes_count); i++)); do
		out="$out lab-node$i=$LAB_NODES_NET.$i"
	done
	echo "${out# }"
}

lab_node_is_on() {
	local pid
	[ -s "$LAB_DIR/node$1/holder.pid" ] && read -r pid <"$LAB_DIR/node$1/holder.pid" && lab_alive "$pid"
}

lab_node_run() {
	local n=$1 d=$LAB_DIR/node$1 holder
	shift
	lab_node_is_on "$n" || { echo "lab: node $n is off" >&2; return 1; }
	read -r holder <"$d/holder.pid"
	LAB_DIR=$d LAB_CACHE=$LAB_CACHE LAB_POWER_DIR=$LAB_POWER_DIR LAB_NODE=$n \
		LAB_CLUSTER_NODE=lab-node$n LAB_CLUSTER_NODES="$(lab_nodes_list)" LAB_CLUSTER_FENCING=1 \
		nsenter -t "$holder" -p -n -m -u -C -- "$LAB_HOME/lab-node-exec" "$@"
}

# lab_node_prepare: inside a node just powered on (run by lab_node_on).  The
# lab's /run and /dev/shm are unmounted first: one mount each, as lab-run
# makes them (the lab's scripts check it).
lab_node_prepare() {
	"$LAB_HOME/lab-ns-init" --cgroups &&
		echo "lab-node$LAB_NODE" >/proc/sys/kernel/hostname &&
		ip link set lo up &&
		ip addr add "$LAB_NODES_NET.$LAB_NODE/24" dev eth0 &&
		ip link set eth0 up &&
		umount -R /run && mount -t tmpfs -o mode=0755 lab-run /run &&
		umount /dev/shm && mount -t tmpfs -o mode=1777 lab-shm /dev/shm &&
		mkdir -p /run/lock /run/lab-power &&
		mount --bind "$LAB_POWER_DIR" /run/lab-power &&
		touch /run/lab-node-cgroups
}

# lab_node_cgroups N: node N's cgroup, lab-nodeN, below the lab's in every
# hierarchy; prints their cgroup.procs files.  In a cgroup namespace rooted
# there, each node's libvirtd makes its own /machine (the same domain names
# on two nodes would otherwise be the same cgroups).
lab_node_cgroups() {
	local mnt type d
	while read -r _ mnt type _; do
		case $type in cgroup | cgroup2) ;; *) continue ;; esac
		d=$mnt/lab-node$1
		[ -d "$d" ] || mkdir "$d" 2>/dev/null || continue
		if [ -f "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
			cat "$mnt/cpuset.cpus" >"$d/cpuset.cpus" && cat "$mnt/cpuset.mems" >"$d/cpuset.mems"
		fi
		echo "$d/cgroup.procs"
	done </proc/self/mounts
}

lab_node_on() {
	local n=$1 d=$LAB_DIR/node$1 u holder cib=--keep-cib line procs f
	lab_node_is_on "$n" && return 0
	mkdir -p "$d"
	if [ "${2:-}" = --fresh ]; then
		cib=--fresh
		rm -f "$d/boot"
	fi
	# What lived in its /run died with it: pid files must not name the new
	# node's processes (its pids start again at 1).
	rm -rf "$d/libvirt/run" "$d/bus/pid" "$d"/*.pid "$d"/cluster/*.pid
	procs=$(lab_node_cgroups "$n")
	(
		for f in $procs; do echo "$BASHPID" >"$f"; done
		exec unshare --pid --fork --kill-child --mount --propagation private --uts --net \
			--cgroup --mount-proc tini -- sleep infinity
	) </dev/null >>"$d/init.log" 2>&1 &
	u=$!
	# unshare's child is the node's PID 1; tini runs once /proc is mounted.
	lab_wait_for 10 grep -q . "/proc/$u/task/$u/children" || { echo "lab: node $n: no PID 1" >&2; return 1; }
	read -r holder _ <"/proc/$u/task/$u/children"
	lab_wait_for 10 grep -qx tini "/proc/$holder/comm" || { echo "lab: node $n: no tini" >&2; return 1; }
	echo "$u" >"$d/unshare.pid"
	echo "$holder" >"$d/holder.pid"
	echo $(($(cat "$d/boots" 2>/dev/null || echo 0) + 1)) >"$d/boots"
	readlink "/proc/$holder/ns/net" >"$d/netns"
	if ! { ip link add "lab-sw$n" type veth peer name eth0 netns "$holder" &&
		ip link set "lab-sw$n" master lab-br0 up && lab_node_run "$n" lab_node_prepare; }; then
		echo "lab: node $n: cannot set it up" >&2
		return 1
	fi
	if [ -s "$d/boot" ]; then
		while read -r line; do
			# shellcheck disable=SC2086 # the line is the command's words
			lab_node_run "$n" $line </dev/null || return 1
		done <"$d/boot"
	fi
	lab_node_run "$n" lab_cluster_boot "$cib" </dev/null
}

lab_node_boots() { cat "$LAB_DIR/node$1/boots" 2>/dev/null || echo 0; }

lab_node_procs() {
	local ns
	[ -s "$LAB_DIR/node$1/netns" ] || return 0
	read -r ns <"$LAB_DIR/node$1/netns"
	ns=${ns#net:[}
	find /proc/[0-9]*/ns -maxdepth 1 -name net -lname "net:\[${ns%]}\]" 2>/dev/null | cut -d/ -f3
}

lab_node_off() {
	local n=$1 d=$LAB_DIR/node$1 holder u
	lab_node_is_on "$n" || return 0
	read -r holder <"$d/holder.pid"
	read -r u <"$d/unshare.pid"
	kill -KILL "$holder"
	# The kernel kills the others and waits for them before it lets unshare
	# reap the node's PID 1; the NIC goes with the last of them.
	lab_wait_for 10 eval "! lab_alive $u" || { echo "lab: node $n: unshare $u still there" >&2; return 1; }
	lab_wait_for 10 eval "! ip link show lab-sw$n >/dev/null 2>&1" || { echo "lab: node $n: lab-sw$n still there" >&2; return 1; }
	[ -z "$(lab_node_procs "$n")" ] || { echo "lab: node $n: processes left: $(lab_node_procs "$n")" >&2; return 1; }
	rm -f "$d/holder.pid" "$d/unshare.pid"
}

# lab_nodes_fence_agent: fence_lab in the lab's /usr/sbin (an overlay on a
# tmpfs; the nodes' mount namespaces are copies of the lab's and have it too).
lab_nodes_fence_agent() {
	local o=$LAB_DIR/sbin
	[ "$(findmnt -n -o SOURCE /usr/sbin)" = lab-sbin ] && return 0
	mkdir -p "$o" && mount -t tmpfs -o mode=0755 lab-sbin-rw "$o" &&
		mkdir "$o/upper" "$o/work" &&
		install -m 0755 "$LAB_HOME/fence_lab" "$o/upper/fence_lab" &&
		mount -t overlay lab-sbin -o "lowerdir=/usr/sbin,upperdir=$o/upper,workdir=$o/work" /usr/sbin
}

lab_power_log() { echo "$(date +%s%N) $*" >>"$LAB_POWER_DIR/log"; }

# lab_power_do ACTION PORT: one request; prints the agent's output.
lab_power_do() {
	local action=$1 port=$2 n rc=0 i
	case $action in
	monitor) return 0 ;;
	list)
		for ((i = 1; i <= $(lab_nodes_count); i++)); do echo "lab-node$i,"; done
		return 0 ;;
	esac
	n=${port#lab-node}
	case $n in "" | *[!0-9]*) echo "no such node '$port'" >&2; return 1 ;; esac
	if [ "$n" -lt 1 ] || [ "$n" -gt "$(lab_nodes_count)" ]; then
		echo "no such node '$port'" >&2
		return 1
	fi
	lab_power_log "$port $action begin"
	case $action in
	status) lab_node_is_on "$n" || rc=2 ;;
	off) lab_node_off "$n" || rc=1 ;;
	on) lab_node_on "$n" || rc=1 ;;
	reboot) { lab_node_off "$n" && lab_node_on "$n"; } || rc=1 ;;
	*) echo "unsupported action '$action'" >&2; rc=1 ;;
	esac
	lab_power_log "$port $action end $rc"
	return $rc
}

# lab_power_serve: the lab's power switch, one request at a time (see
# fence_lab).  Run in the background, its output to a file.
lab_power_serve() {
	local id action port rc reply
	exec 3<>"$LAB_POWER_DIR/requests"
	while read -r -u 3 id action port; do
		case $id in "" | *[!A-Za-z0-9._-]*) continue ;; esac
		reply=$LAB_POWER_DIR/reply.$id
		rc=0
		lab_power_do "$action" "$port" >"$reply.out" </dev/null || rc=$?
		{ echo "$rc"; cat "$reply.out"; } >"$reply.new" && mv "$reply.new" "$reply"
		rm -f "$reply.out"
	done
}

lab_nodes_setup() {
	mkdir -p "$LAB_POWER_DIR" && echo "$1" >"$LAB_POWER_DIR/nodes" && : >>"$LAB_POWER_DIR/log" || return 1
	[ -p "$LAB_POWER_DIR/requests" ] || mkfifo "$LAB_POWER_DIR/requests" || return 1
	if ! ip link show lab-br0 >/dev/null 2>&1; then
		ip link add lab-br0 type bridge && ip link set lab-br0 up || return 1
	fi
	lab_nodes_fence_agent || { echo "lab: cannot put fence_lab in /usr/sbin" >&2; return 1; }
	# The switch's pipe at the same path as on the nodes: fence_lab works
	# from the lab's own namespaces too.
	if ! mountpoint -q /run/lab-power; then
		mkdir -p /run/lab-power && mount --bind "$LAB_POWER_DIR" /run/lab-power || return 1
	fi
	if ! { [ -s "$LAB_POWER_DIR/serve.pid" ] && lab_alive "$(cat "$LAB_POWER_DIR/serve.pid")"; }; then
		lab_power_serve </dev/null >>"$LAB_POWER_DIR/serve.log" 2>&1 &
		echo $! >"$LAB_POWER_DIR/serve.pid"
	fi
}

lab_nodes_online() {
	local xml n
	[ $# -gt 0 ] || set -- $(seq "$(lab_nodes_count)")
	xml=$(lab_node_run "${LAB_NODES_VIEW:-1}" lab_cluster_mon --output-as=xml 2>/dev/null) || return 1
	grep -q '<current_dc present="true"' <<<"$xml" || return 1
	for n; do
		grep -q "<node name=\"lab-node$n\" [^>]*online=\"true\"" <<<"$xml" || return 1
	done
}

# lab_nodes_device_holders [--alias A] DOMAIN...: the running domains among
# DOMAIN... whose live XML has the stand-in device, on every node powered on
# that has a libvirtd, as "lab-nodeN:DOMAIN", space-separated.
lab_nodes_device_holders() {
	local opt=() n d out=
	if [ "${1:-}" = --alias ]; then
		opt=(--alias "$2")
		shift 2
	fi
	for ((n = 1; n <= $(lab_nodes_count); n++)); do
		if ! lab_node_is_on "$n" || [ ! -s "$LAB_DIR/node$n/libvirt/etc/libvirtd.conf" ]; then
			continue
		fi
		for d in $(lab_node_run "$n" lab_device_holders "${opt[@]}" "$@" 2>/dev/null); do
			out="$out lab-node$n:$d"
		done
	done
	echo "${out# }"
}

lab_nodes_down() {
	lab_node_run "${LAB_NODES_VIEW:-1}" lab_cluster_mon --output-as=xml 2>/dev/null |
		grep -q "<node name=\"lab-node$1\" [^>]*online=\"false\"[^>]*unclean=\"false\"" &&
		lab_node_run "${LAB_NODES_VIEW:-1}" lab_cluster_idle
}

lab_nodes_wait_idle() {
	lab_node_run "${LAB_NODES_VIEW:-1}" lab_cluster_wait_idle "${1:-60}"
}

lab_nodes_start() {
	local count=$1 n pids=() pid rc=0 timeout=${LAB_CLUSTER_TIMEOUT:-60}
	case $count in 2 | 3) ;; *) lab_cluster_fail "lab_nodes_start: 2 or 3 nodes, not '$count'"; return 1 ;; esac
	lab_cluster_check_ns || return 1
	lab_nodes_setup "$count" || return 1
	for ((n = 1; n <= count; n++)); do
		lab_node_on "$n" --fresh &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || rc=1
	done
	[ $rc = 0 ] || lab_cluster_fail "cannot power the nodes on" || return 1
	lab_wait_for "$timeout" lab_nodes_online ||
		lab_cluster_fail "not all $count nodes online after $timeout s (see $LAB_DIR/node*/cluster/var-log-pacemaker/pacemaker.log)" ||
		return 1
	lab_nodes_wait_idle "$timeout" || lab_cluster_fail "cluster not idle $timeout s after start"
}

lab_nodes_stop() {
	local n
	for ((n = 1; n <= $(lab_nodes_count); n++)); do
		lab_node_off "$n"
	done
	lab_kill_pidfile "$LAB_POWER_DIR/serve.pid" 5
}

# --- For the tests of several nodes ---------------------------------------

# bail_out_unless_passed WHY: nothing after a failed start can pass; stop
# at once rather than wait out every later check's timeout (the test sets
# failures_before=$tap_failures before the start).
# shellcheck disable=SC2154 # tap_failures: tap.sh's; failures_before: the test's
bail_out_unless_passed() {
	[ "$tap_failures" = "$failures_before" ] || { echo "Bail out! $1"; exit 1; }
}

# ms_since T0: milliseconds since T0 (date +%s%N).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# on_node N CMD...: CMD on node N, its output in the lab's folder.
on_node() {
	local n=$1
	shift
	lab_node_run "$n" "$@" >"$LAB_DIR/cmd.out" 2>&1 || { diag "$(tail -n 5 "$LAB_DIR/cmd.out")"; return 1; }
}

# Each node's hostdev-had logs to $LAB_DIR/nodeN/hostdev-had.log (as the
# tests start it). mark_logs: later checks look at what each logged after
# it; log_since N; logged N ERE; wait_logged N ERE [S] (30 s by default).
log_of() { echo "$LAB_DIR/node$1/hostdev-had.log"; }
declare -A log_mark
mark_logs() {
	local n
	for ((n = 1; n <= $(lab_nodes_count); n++)); do
		log_mark[$n]=$(($(wc -l <"$(log_of "$n")" 2>/dev/null || echo 0) + 1))
	done
}
log_since() { tail -n +"${log_mark[$1]:-1}" "$(log_of "$1")"; }
logged() { log_since "$1" | grep -Eq -- "$2"; }
wait_logged() {
	lab_wait_for "${3:-30}" logged "$1" "$2" && return 0
	diag "node $1 did not log /$2/; its last lines: $(log_since "$1" | tail -n 5 | tr '\n' '|')"
	return 1
}

# sample_holders COMMAND: every 0.3 s, what COMMAND prints (the domains
# holding the device, space-separated) as "TIME HOLDERS" in
# $LAB_DIR/samples, and a double seen in two samples in a row also in
# $LAB_DIR/two-holders (a move seen between two reads is not counted).
# Runs until killed.
sample_holders() {
	local h last=
	while :; do
		h=$("$1" 2>/dev/null)
		case $h in
		*" "*) [ -n "$last" ] && echo "$(date +%T.%3N) $h" >>"$LAB_DIR/two-holders"; last=1 ;;
		*) last= ;;
		esac
		echo "$(date +%T.%3N) $h" >>"$LAB_DIR/samples"
		sleep 0.3
	done
}
