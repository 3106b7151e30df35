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
	  <includedir>$(cd "$LAB_POLICY_DIR" && pwd)</includedir>
	</busconfig>
	XML
}

lab_bus_start() {
	[ "$(findmnt -n -o SOURCE /run)" = lab-run ] || lab_die "lab_bus_start must run inside lab-run (private /run)"
	mkdir -p "$LAB_DIR/bus" /run/dbus
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
