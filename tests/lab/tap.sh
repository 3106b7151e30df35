# shellcheck shell=bash
# Minimal TAP producer for shell tests. The plan is printed at the end
# (tap_done), so a test that dies half-way has no plan and the TAP driver
# reports it as an error.

tap_count=0
tap_failures=0
tap_last=${EPOCHREALTIME/./}

# tap_time: with LAB_TAP_TIMES=1, how long the last test point took (from
# the one before it), as a diagnostic line: where a suite's time goes.
tap_time() {
	local now=${EPOCHREALTIME/./}
	[ -z "${LAB_TAP_TIMES:-}" ] ||
		printf '# %d.%d s\n' $(((now - tap_last) / 1000000)) $(((now - tap_last) / 100000 % 10))
	tap_last=$now
}

# check DESCRIPTION COMMAND...: one test point from COMMAND's exit status.
check() {
	local desc=$1
	shift
	tap_count=$((tap_count + 1))
	if "$@"; then
		echo "ok $tap_count - $desc"
	else
		echo "not ok $tap_count - $desc"
		tap_failures=$((tap_failures + 1))
	fi
	tap_time
}

diag() { printf '# %s\n' "$*"; }

tap_done() {
	echo "1..$tap_count"
	[ "$tap_failures" -eq 0 ]
}
