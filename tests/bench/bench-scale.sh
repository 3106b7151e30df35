#!/bin/bash
# Many groups on one host (bench-scale.c): the sizes side by side in one
# run, with a private dbus-daemon for the bus objects and signals. The
# table's files go to the build folder's disk (fsync and all), not to a
# tmpfs. Run by `make bench-scale`; BENCH_SCALE_ROUNDS (default 15),
# BENCH_SCALE_GROUPS (default '1 10 100 1000').
set -eu
builddir=${abs_top_builddir:?run by make bench-scale}
bin=$builddir/tests/bench/bench-scale
work=$(mktemp -d "$builddir/tests/bench/scale.XXXXXX")
bus_pid=
cleanup() {
	if [ -n "$bus_pid" ]; then kill "$bus_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --fork --print-pid=3 --print-address=4 3>"$work/pid" 4>"$work/address"
bus_pid=$(cat "$work/pid")

# shellcheck disable=SC2086 # a list of sizes
DBUS_SYSTEM_BUS_ADDRESS=$(cat "$work/address") \
	"$bin" --rounds "${BENCH_SCALE_ROUNDS:-15}" --dir "$work" ${BENCH_SCALE_GROUPS:-1 10 100 1000}
