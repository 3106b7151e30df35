# shellcheck shell=bash
# hostdev-had on the lab: its configuration in $LAB_DIR/hostdev-ha, its state
# in $LAB_DIR/state, the private bus and libvirtd (start those first).
#
#   lab_daemon_group NAME POLICY DOMAIN...  write groups.d/NAME.conf for the
#                                           stand-in device (more keys: append
#                                           "Key=value" lines to the file)
#   lab_daemon_start [ARG...]   start it, wait until it owns its bus name
#   lab_daemon_stop             SIGTERM, wait (idempotent)
#   lab_daemon_kill             SIGKILL, as a crash
#   lab_daemon_get GROUP PROP   a property of a group, as busctl prints it
#   lab_daemon_call METHOD SIG ARG...  a manager method via busctl
#
# The daemon's log is $LAB_DIR/hostdev-had.log.

LAB_DAEMON_CONFIG=$LAB_DIR/hostdev-ha
LAB_DAEMON_STATE=$LAB_DIR/state
# LAB_DAEMON: the daemon under test (lab.sh)

lab_daemon_group() {
	local name=$1 policy=$2
	shift 2
	mkdir -p "$LAB_DAEMON_CONFIG/groups.d" "$LAB_DAEMON_STATE"
	lab_device_xml "ua-hostdev-$name" >"$LAB_DAEMON_CONFIG/$name-device.xml"
	cat >"$LAB_DAEMON_CONFIG/hostdev-ha.conf" <<-EOF
		[Daemon]
		LibvirtURI=$LAB_LIBVIRT_URI
		StateDirectory=$LAB_DAEMON_STATE
	EOF
	cat >"$LAB_DAEMON_CONFIG/groups.d/$name.conf" <<-EOF
		[Group]
		DeviceXML=$LAB_DAEMON_CONFIG/$name-device.xml
		Domains=$*
		Policy=$policy
		ReleaseTimeoutSec=3
	EOF
}

lab_daemon_owns_name() {
	busctl --address="$LAB_BUS_ADDRESS" status org.hostdevha.Manager1 >/dev/null 2>&1
}

lab_daemon_start() {
	[ -x "$LAB_DAEMON" ] || lab_die "no daemon at '$LAB_DAEMON' (build it first)"
	# setsid: in its own session; the lab's init reaps it.
	( setsid "$LAB_DAEMON" --config-dir="$LAB_DAEMON_CONFIG" "$@" \
		</dev/null >>"$LAB_DIR/hostdev-had.log" 2>&1 &
	  echo $! >"$LAB_DIR/hostdev-had.pid" )
	if ! lab_wait_for 30 lab_daemon_owns_name; then
		echo "lab: hostdev-had did not come up; its log:" >&2
		tail -n 20 "$LAB_DIR/hostdev-had.log" >&2
		return 1
	fi
}

lab_daemon_stop() {
	lab_kill_pidfile "$LAB_DIR/hostdev-had.pid" 15
}

lab_daemon_kill() {
	local pid
	[ -s "$LAB_DIR/hostdev-had.pid" ] || return 0
	pid=$(cat "$LAB_DIR/hostdev-had.pid")
	kill -KILL "$pid" 2>/dev/null
	lab_wait_for 5 eval "! lab_alive $pid"
	rm -f "$LAB_DIR/hostdev-had.pid"
}

lab_daemon_get() {
	busctl --address="$LAB_BUS_ADDRESS" get-property org.hostdevha.Manager1 \
		"/org/hostdevha/Manager1/group/$1" org.hostdevha.Group1 "$2"
}

lab_daemon_call() {
	local method=$1
	shift
	busctl --address="$LAB_BUS_ADDRESS" --timeout=60 call org.hostdevha.Manager1 \
		/org/hostdevha/Manager1 org.hostdevha.Manager1 "$method" "$@"
}
