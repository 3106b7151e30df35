# shellcheck shell=bash
# A real single-node Corosync + Pacemaker cluster, sourced inside lab-run
# after lab-common.sh; or one node of a cluster of several (lab-nodes.sh sets
# LAB_CLUSTER_NODE, LAB_CLUSTER_NODES and LAB_CLUSTER_FENCING, and runs these
# functions inside that node's namespaces).
#
#   lab_cluster_start          bind private state folders over the system
#                              paths, write the config, seed a fresh CIB,
#                              start corosync and pacemakerd, return once the
#                              node is online, a DC elected and all idle;
#                              on failure a "lab: ..." line and status 1
#   lab_cluster_boot --fresh|--keep-cib
#                              the same without waiting for the node to be
#                              online (a node powered on); --keep-cib keeps
#                              the CIB on its disk, as a rebooted node does
#   lab_cluster_stop           stop pacemakerd and all its daemons (even
#                              orphaned ones), then corosync; bounded waits,
#                              then KILL; safe to call twice or unstarted
#   lab_cluster_wait_idle [S]  wait (60 s by default) until no transition
#                              runs and none is pending; 1 on timeout
#
# Clients (crm_mon, cibadmin, crm_resource, pcs, crm) work with their
# defaults: the daemons' sockets and /etc/corosync are the lab's own.  HOME
# is moved into $LAB_DIR (crmsh writes there).  Everything lands in
# $LAB_DIR/cluster: corosync.log, var-log-pacemaker/pacemaker.log, the CIB in
# var-lib-pacemaker/cib.  The node is $LAB_CLUSTER_NODE.

LAB_CLUSTER_NAME=hostdev-lab
# Set by `name:` in the nodelist, so it need not match `uname -n`.
: "${LAB_CLUSTER_NODE:=lab-node1}"
# Several nodes: "NAME=ADDRESS ..." (the nodelist, this node among them);
# empty: this node alone, on loopback.
: "${LAB_CLUSTER_NODES:=}"
# Non-empty: stonith-enabled=true and stonith-action=off in the seeded CIB (a
# fence device is the test's business, see fence_lab).
: "${LAB_CLUSTER_FENCING:=}"
LAB_CLUSTER_DIR=$LAB_DIR/cluster

# A failure is reported and returned, not fatal: tests wrap these calls in
# TAP checks and still need their teardown.
lab_cluster_fail() {
	printf 'lab: %s\n' "$*" >&2
	return 1
}

# Only inside lab-run's namespaces: the binds would otherwise land on the
# host, and lab_cluster_stop would see the host's processes.
lab_cluster_check_ns() {
	if [ "$(findmnt -n -o SOURCE /run)" != lab-run ] || [ "$(cat /proc/1/comm)" != tini ]; then
		lab_cluster_fail "lab-cluster.sh must run inside lab-run (private /run and PID namespace)"
	fi
}

# libqb's abstract sockets (cmap, cib_rw, ...; listed with '@' for every NUL
# of padding) and Corosync's knet port are per network namespace: a second
# cluster there fails to bind, or worse, its clients talk to the first one.
lab_cluster_check_net() {
	if grep -qE ' @(cmap|cpg|quorum|cib_rw|pacemakerd|crmd|attrd|lrmd|stonith-ng)(@|$)' /proc/net/unix; then
		lab_cluster_fail "a Corosync/Pacemaker is already running in this network namespace (another lab?); run each lab in its own network namespace" ||
			return 1
	fi
	# A fresh network namespace starts with lo down; knet needs 127.0.0.1.
	if ! ip -o link show lo | grep -q '<LOOPBACK,UP'; then
		ip link set lo up || lab_cluster_fail "cannot bring lo up"
	fi
}

# Private copies of every folder the daemons and the CLIs write, with the
# ownership and modes the Debian packages give them.
lab_cluster_bind_state() {
	local d=$LAB_CLUSTER_DIR sub
	# Already done by an earlier start in this lab.
	mountpoint -q /var/lib/pacemaker && return 0
	lab_bind "$d/etc-corosync" /etc/corosync &&
		lab_bind "$d/var-lib-corosync" /var/lib/corosync &&
		lab_bind "$d/var-lib-pacemaker" /var/lib/pacemaker || return 1
	for sub in cib pengine blackbox cores; do
		install -d -o hacluster -g haclient -m 0750 "/var/lib/pacemaker/$sub" || return 1
	done
	lab_bind "$d/var-log-pacemaker" /var/log/pacemaker &&
		install -d -o hacluster -g haclient -m 0770 /var/log/pacemaker \
			/var/log/pacemaker/bundles || return 1
	# crmsh logs to /var/log/crmsh/crmsh.log.
	lab_bind "$d/var-log-crmsh" /var/log/crmsh &&
		install -d -o hacluster -g haclient -m 0775 /var/log/crmsh
}

# crmsh writes ~/.cache/crm and ~/.config/crm: keep them in the lab.
lab_cluster_home() {
	case $HOME in
	"$LAB_DIR"/*) ;;
	*) export HOME=$LAB_DIR/home ;;
	esac
	mkdir -p "$HOME"
}

# lab_cluster_nodelist: the nodelist section, from LAB_CLUSTER_NODES.
lab_cluster_nodelist() {
	local nodes=${LAB_CLUSTER_NODES:-$LAB_CLUSTER_NODE=127.0.0.1} n id=0
	echo "nodelist {"
	for n in $nodes; do
		id=$((id + 1))
		printf '\tnode {\n\t\tname: %s\n\t\tnodeid: %s\n\t\tring0_addr: %s\n\t}\n' \
			"${n%%=*}" "$id" "${n#*=}"
	done
	echo "}"
}

# Several nodes: quorate only once every node has been seen (no fencing of a
# node that is still starting); two nodes: two_node, the survivor of a
# two-node cluster stays quorate and fences the other.
lab_cluster_quorum() {
	local count=0 n
	for n in $LAB_CLUSTER_NODES; do count=$((count + 1)); done
	echo "quorum {"
	echo "	provider: corosync_votequorum"
	if [ "$count" -gt 1 ]; then echo "	wait_for_all: 1"; fi
	if [ "$count" = 2 ]; then echo "	two_node: 1"; fi
	echo "}"
}

# Corosync's token: its own default, 3000 ms. At 1000 ms a node of the
# lab dropped out of the membership (and was fenced) when the machine ran
# other builds and labs beside it, load 14 on two cores; a benchmark may ask
# for less (LAB_COROSYNC_TOKEN_MS).
lab_cluster_write_conf() {
	cat >/etc/corosync/corosync.conf <<-EOF
	# Written by lab-cluster.sh: knet, ${LAB_CLUSTER_NODES:-one node on loopback}.
	totem {
		version: 2
		cluster_name: $LAB_CLUSTER_NAME
		transport: knet
		token: ${LAB_COROSYNC_TOKEN_MS:-3000}
		crypto_cipher: none
		crypto_hash: none
	}
	logging {
		to_stderr: no
		to_syslog: no
		to_logfile: yes
		logfile: $LAB_CLUSTER_DIR/corosync.log
		timestamp: hires
	}
	$(lab_cluster_quorum)
	$(lab_cluster_nodelist)
	EOF
}

# Without stonith-enabled=false nothing starts (no fencing device) unless
# the test configures one (LAB_CLUSTER_FENCING).  The default dc-deadtime of
# 20 s delays the first election: 2 s gives an online node in 4.7 s, 1 s in
# 3.7 s; 0 never elects a DC.  One node of one vote is quorate, so
# no-quorum-policy stays at its default.
lab_cluster_seed_cib() {
	local seed=$LAB_CLUSTER_DIR/cib-seed.xml stonith=false
	[ -n "$LAB_CLUSTER_FENCING" ] && stonith=true
	cibadmin --empty >"$seed" || return 1
	# A restart in the same lab starts afresh too (a stale cib.xml.sig
	# would not match the new cib.xml).
	rm -f /var/lib/pacemaker/cib/cib*
	CIB_file=$seed crm_attribute -t crm_config -n stonith-enabled -v $stonith || return 1
	# A fenced node stays off until the test powers it on: a fencing that
	# Pacemaker adds to a test's own (it may, when it sees the node leave
	# before it hears of the test's fencing) cannot power it on behind the
	# test's back.
	if [ -n "$LAB_CLUSTER_FENCING" ]; then
		CIB_file=$seed crm_attribute -t crm_config -n stonith-action -v off || return 1
	fi
	CIB_file=$seed crm_attribute -t crm_config -n dc-deadtime -v 1s || return 1
	install -o hacluster -g haclient -m 0600 "$seed" /var/lib/pacemaker/cib/cib.xml
}

# lab_cluster_spawn NAME COMMAND...: run COMMAND in its own session, in the
# background, its pid in $LAB_CLUSTER_DIR/NAME.pid and output in NAME.out.
lab_cluster_spawn() {
	local name=$1 pidfile=$LAB_CLUSTER_DIR/$1.pid
	shift
	# The child writes its own pid: $! would be setsid's if it had to fork.
	# A stale file (a node powered off) must not pass for it.
	rm -f "$pidfile"
	# shellcheck disable=SC2016 # expanded by the child
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
		</dev/null >"$LAB_CLUSTER_DIR/$name.out" 2>&1 &
	lab_wait_for 30 test -s "$pidfile" || lab_cluster_fail "$name did not start"
}

# lab_cluster_mon ARG...: crm_mon -1 ARG..., bounded by LAB_CLIENT_TIMEOUT
# (a client whose reply is lost would spin for good).
lab_cluster_mon() { timeout "$LAB_CLIENT_TIMEOUT" crm_mon -1 "$@"; }

# The node is online and a DC is elected.
lab_cluster_online() {
	local xml
	xml=$(lab_cluster_mon --output-as=xml 2>/dev/null) || return 1
	grep -q '<current_dc present="true"' <<<"$xml" &&
		grep -q "<node name=\"$LAB_CLUSTER_NODE\" [^>]*online=\"true\"" <<<"$xml"
}

lab_cluster_boot() {
	lab_cluster_check_ns && lab_cluster_check_net || return 1
	mkdir -p "$LAB_CLUSTER_DIR" &&
		lab_cluster_bind_state || lab_cluster_fail "cannot bind the cluster's folders" || return 1
	lab_cluster_home && lab_cluster_write_conf || lab_cluster_fail "cannot write corosync.conf" || return 1
	if [ "$1" != --keep-cib ] || [ ! -s /var/lib/pacemaker/cib/cib.xml ]; then
		lab_cluster_seed_cib || lab_cluster_fail "cannot seed the CIB" || return 1
	fi
	lab_cluster_spawn corosync corosync -f -c /etc/corosync/corosync.conf || return 1
	# pacemakerd fails at once if Corosync's CPG is not up yet.
	lab_wait_for 30 corosync-cfgtool -s >/dev/null 2>&1 ||
		lab_cluster_fail "corosync did not come up (another cluster in this network namespace? see $LAB_CLUSTER_DIR/corosync.log)" ||
		return 1
	PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none \
		lab_cluster_spawn pacemakerd pacemakerd
}

lab_cluster_start() {
	local timeout=${LAB_CLUSTER_TIMEOUT:-30}
	lab_cluster_boot --fresh || return 1
	lab_wait_for "$timeout" lab_cluster_online ||
		lab_cluster_fail "node '$LAB_CLUSTER_NODE' not online after $timeout s (see $LAB_CLUSTER_DIR/var-log-pacemaker/pacemaker.log)" ||
		return 1
	# The first DC still runs a transition or two (probes, attributes).
	lab_wait_for "$timeout" lab_cluster_idle ||
		lab_cluster_fail "cluster not idle $timeout s after start"
}

# lab_cluster_wait_idle [SECONDS]: no transition is running and, given the
# CIB, the scheduler has nothing left to do.
lab_cluster_wait_idle() {
	lab_wait_for "${1:-60}" lab_cluster_idle
}

# `crm_resource --wait` would do, but 2.1.5 sleeps 2 s before every check,
# even the first.  Same test, faster: the DC is idle and the scheduler, run
# on the live CIB, plans no action (an empty transition graph).  Each
# client is bounded (LAB_CLIENT_TIMEOUT): crmadmin 2.1.5 asked while the
# controllers elect a DC was seen spinning on its socket for good, its
# reply lost; the wait asks again instead.
lab_cluster_idle() {
	local graph=$LAB_CLUSTER_DIR/idle-graph.xml dc=$LAB_CLUSTER_NODE
	# Several nodes: only the DC's controller is ever S_IDLE.
	if [ -n "$LAB_CLUSTER_NODES" ]; then
		dc=$(timeout "$LAB_CLIENT_TIMEOUT" crmadmin -q -D 2>&1) && [ -n "$dc" ] || return 1
	fi
	timeout "$LAB_CLIENT_TIMEOUT" crmadmin -q -S "$dc" 2>&1 | grep -q S_IDLE &&
		timeout "$LAB_CLIENT_TIMEOUT" crm_simulate -L -G "$graph" >/dev/null 2>&1 &&
		! grep -q '<synapse' "$graph"
}

# lab_cluster_daemons: the pids of pacemakerd and its daemons.  They call
# setsid themselves and outlive a crashed pacemakerd (adopted by PID 1), so
# neither parent nor session finds them all; the lab's PID namespace makes
# the executable's path enough.
lab_cluster_daemons() {
	local exe pid
	for exe in /proc/[0-9]*/exe; do
		pid=${exe#/proc/}
		pid=${pid%/exe}
		case $(readlink "$exe" 2>/dev/null) in
		/usr/sbin/pacemakerd | /usr/lib/pacemaker/*) echo "$pid" ;;
		esac
	done
}

lab_cluster_daemons_gone() {
	[ -z "$(lab_cluster_daemons)" ]
}

# pacemakerd stops the resources, then its daemons, then itself.  Daemons
# it left behind when it crashed are told one by one.
lab_cluster_stop_pacemaker() {
	local pidfile=$LAB_CLUSTER_DIR/pacemakerd.pid pid
	if [ -s "$pidfile" ] && lab_alive "$(cat "$pidfile")"; then
		kill -TERM "$(cat "$pidfile")"
	else
		for pid in $(lab_cluster_daemons); do
			kill -TERM "$pid" 2>/dev/null
		done
	fi
	rm -f "$pidfile"
	lab_wait_for 60 lab_cluster_daemons_gone && return 0
	for pid in $(lab_cluster_daemons); do
		lab_log "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) did not stop, killing it"
		kill -KILL "$pid" 2>/dev/null
	done
	lab_wait_for 5 lab_cluster_daemons_gone
}

lab_cluster_stop() {
	lab_cluster_check_ns || return 1
	lab_cluster_stop_pacemaker || lab_cluster_fail "pacemaker daemons left running"
	lab_kill_pidfile "$LAB_CLUSTER_DIR/corosync.pid" 10
}
