# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# A private system-type dbus-daemon for the benchmarks that need no lab,
# sourced by them: bench_bus_start DIR writes DIR/bus.conf (everyone may own
# and call anything), starts the bus on DIR/bus and sets bench_bus_pid and
# bench_bus_address; the caller's cleanup kills $bench_bus_pid.
bench_bus_pid=
bench_bus_address=

bench_bus_start() {
	local dir=$1
	cat >"$dir/bus.conf" <<-CONF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>system</type>
	  <listen>unix:path=$dir/bus</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow user="*"/>
	    <allow own="*"/>
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	  </policy>
	</busconfig>
	CONF
	dbus-daemon --config-file="$dir/bus.conf" --fork --print-pid=3 --print-address=4 \
		3>"$dir/bus.pid" 4>"$dir/bus.address"
	bench_bus_pid=$(cat "$dir/bus.pid")
	bench_bus_address=$(cat "$dir/bus.address")
}
