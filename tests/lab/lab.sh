# shellcheck shell=bash
# Sourced first by every lab test. Outside the lab it re-runs the test under
# lab-run (new namespaces, private folders, nothing left behind); inside, it
# loads the lab's service scripts and the TAP helpers.
#
# Needs abs_top_srcdir and abs_top_builddir (set by the test harness).

if [ -z "${LAB_DIR:-}" ]; then
	: "${abs_top_srcdir:?run lab tests through make check}"
	: "${abs_top_builddir:?run lab tests through make check}"
	lab_name=$(basename "$0" .sh)
	# Suites that boot guests or a cluster run one at a time (make -j
	# still runs the light ones beside them): two of them on two cores
	# take longer than one after the other.
	if [ -n "${LAB_SERIAL-1}" ] && [ -z "${LAB_LIGHT:-}" ]; then
		mkdir -p "$abs_top_builddir/tests/lab/run"
		exec flock "$abs_top_builddir/tests/lab/run/heavy.lock" "$abs_top_srcdir/tests/lab/lab-run" \
			"$abs_top_builddir/tests/lab/run/$lab_name.$$" \
			"$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"
	fi
	exec "$abs_top_srcdir/tests/lab/lab-run" \
		"$abs_top_builddir/tests/lab/run/$lab_name.$$" \
		"$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"
fi

: "${LAB_CACHE:=$abs_top_builddir/tests/lab/cache}"

# shellcheck source=tests/lab/lab-under-test.sh disable=SC2153 # LAB_HOME: set by lab-run
. "$LAB_HOME/lab-under-test.sh"
# shellcheck source=tests/lab/lab-common.sh
. "$LAB_HOME/lab-common.sh"
# shellcheck source=tests/lab/tap.sh
. "$LAB_HOME/tap.sh"
# shellcheck source=tests/lab/lab-bus.sh
. "$LAB_HOME/lab-bus.sh"
