# shellcheck shell=bash
# A private system-type dbus-daemon that loads the project's own policy
# files from the source tree (dbus/*.conf). It listens on the system bus's
# usual path, /run/dbus/system_bus_socket, in the lab's private /run: so
# every program in the lab (the OCF agent under Pacemaker too) finds it as
# the system bus, and the path is short whatever the build tree's depth.
#
# lab_bus_start   start it; exports DBUS_SYSTEM_BUS_ADDRESS (sd-bus) and
#                 LAB_BUS_ADDRESS (for busctl --address=)
# lab_bus_stop    stop it by PID; idempotent
# lab_polkit_start RULES-FILE   a real polkitd on it (as root; it runs as
#                 the user polkitd), seeing the system's actions and the
#                 project's (LAB_POLKIT_ACTION, lab.sh) and RULES-FILE as its
#                 only rule, all in the lab's private mount namespace; the
#                 bus gets polkit's policy file. polkitd's PID in
#                 $LAB_DIR/polkit/pid

# LAB_POLICY_DIR: the folder of the policy under test (lab.sh)

lab_bus_write_config() {
	cat <<-XML
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>system</type>
	  <listen>unix:path=/run/dbus/system_bus_socket</listen>
	  <auth>EXTERNAL</auth>
	  <pidfile>$LAB_DIR/bus/pid</pidfile>
	  <!-- The default policy of a Debian system bus (system.conf). -->
	  <policy context="default">
	    <allow user="*"/>
	    <deny own="*"/>
	    <deny send_type="method_call"/>
	    <allow send_type="signal"/>
	    <allow send_requested_reply="true" send_type="method_return"/>
	    <allow send_requested_reply="true" send_type="error"/>
	    <allow receive_type="method_call"/>
	    <allow receive_type="method_return"/>
	    <allow receive_type="error"/>
	    <allow receive_type="signal"/>
	    <allow send_destination="org.freedesktop.DBus"
	           send_interface="org.freedesktop.DBus"/>
	    <allow send_destination="org.freedesktop.DBus"
	           send_interface="org.freedesktop.DBus.Introspectable"/>
	    <allow send_destination="org.freedesktop.DBus"
	           send_interface="org.freedesktop.DBus.Properties"/>
	    <deny send_destination="org.freedesktop.DBus"
	          send_interface="org.freedesktop.DBus"
	          send_member="UpdateActivationEnvironment"/>
	    <deny send_destination="org.freedesktop.DBus"
	          send_interface="org.freedesktop.DBus.Debug.Stats"/>
	  </policy>
	  <!-- root may monitor the system bus. -->
	  <policy user="root">
	    <allow send_destination="org.freedesktop.DBus"
	           send_interface="org.freedesktop.DBus.Monitoring"/>
	  </policy>
	  <includedir>$(cd "$LAB_POLICY_DIR" && pwd)</includedir>
	  <includedir>$LAB_DIR/bus/policy.d</includedir>
	</busconfig>
	XML
}

lab_bus_start() {
	[ "$(findmnt -n -o SOURCE /run)" = lab-run ] || lab_die "lab_bus_start must run inside lab-run (private /run)"
	mkdir -p "$LAB_DIR/bus/policy.d" /run/dbus
	lab_bus_write_config >"$LAB_DIR/bus/bus.conf"
	# --fork returns once the socket listens; the daemon is re-parented to
	# the lab's init, which reaps it.
	dbus-daemon --config-file="$LAB_DIR/bus/bus.conf" --fork --print-address=3 \
		3>"$LAB_DIR/bus/address" 2>"$LAB_DIR/bus/log" \
		|| lab_die "dbus-daemon did not start: $(cat "$LAB_DIR/bus/log")"
	LAB_BUS_ADDRESS=$(head -n 1 "$LAB_DIR/bus/address")
	export LAB_BUS_ADDRESS DBUS_SYSTEM_BUS_ADDRESS="$LAB_BUS_ADDRESS"
	lab_log "bus up at $LAB_BUS_ADDRESS (pid $(cat "$LAB_DIR/bus/pid"))"
}

lab_bus_stop() {
	lab_kill_pidfile "$LAB_DIR/bus/pid" 5
}

lab_polkit_start() {
	local rules=$1 d=$LAB_DIR/polkit
	[ -x /usr/lib/polkit-1/polkitd ] || lab_die "polkitd is not installed (Debian package 'polkitd')"
	mkdir -p "$d/actions" "$d/rules" || return 1
	cp /usr/share/polkit-1/actions/*.policy "$d/actions/" 2>/dev/null
	cp "$LAB_POLKIT_ACTION" "$d/actions/" && cp "$rules" "$d/rules/" || return 1
	chown -R polkitd "$d/rules" && chmod 0700 "$d/rules" || return 1
	lab_bind "$d/actions" /usr/share/polkit-1/actions && lab_bind "$d/rules" /etc/polkit-1/rules.d || return 1
	cp /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf "$LAB_DIR/bus/policy.d/" || return 1
	busctl --address="$LAB_BUS_ADDRESS" call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus ReloadConfig || return 1
	/usr/lib/polkit-1/polkitd --no-debug </dev/null >"$d/log" 2>&1 &
	echo $! >"$d/pid"
	lab_wait_for 30 busctl --address="$LAB_BUS_ADDRESS" status org.freedesktop.PolicyKit1 >/dev/null 2>&1 ||
		lab_die "polkitd did not start: $(cat "$d/log")"
	lab_log "polkitd up (pid $(cat "$d/pid"))"
}
