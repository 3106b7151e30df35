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
# shellcheck source=tests/bench/bench-bus.sh
. "${abs_top_srcdir:?}/tests/bench/bench-bus.sh"
cleanup() {
	if [ -n "$bench_bus_pid" ]; then kill "$bench_bus_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

bench_bus_start "$work"

# shellcheck disable=SC2086 # a list of sizes
DBUS_SYSTEM_BUS_ADDRESS=$bench_bus_address \
	"$bin" --rounds "${BENCH_SCALE_ROUNDS:-15}" --dir "$work" ${BENCH_SCALE_GROUPS:-1 10 100 1000}
