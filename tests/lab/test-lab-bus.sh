#!/bin/bash
# The lab's private system bus loads the project's real policy file: root
# may own org.hostdevha.Manager1, an unprivileged user may not, and the bus
# never touches the host's system bus.
set -u
# Light: no guests, no cluster; runs beside the heavy suites.
LAB_LIGHT=1
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"

trap lab_bus_stop EXIT
lab_bus_start

bus() { busctl --address="$LAB_BUS_ADDRESS" "$@"; }

# request_name_as USER NAME: prints RequestName's reply ("u 1": primary owner).
request_name_as() {
	setpriv --reuid="$1" --regid="$(id -g "$1")" --clear-groups \
		busctl --address="$LAB_BUS_ADDRESS" call org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus RequestName su "$2" 4
}

bus_answers() { bus status org.freedesktop.DBus >/dev/null 2>&1; }
# The socket lies on the lab's own /run, not the host's.
bus_is_private() {
	[ "$(findmnt -n -o SOURCE /run)" = lab-run ] && [ -S /run/dbus/system_bus_socket ] &&
		[ "$(stat -c %d /run/dbus/system_bus_socket)" != "$(stat -c %d "$LAB_HOME")" ]
}
may_own() { [ "$(request_name_as "$1" "$2")" = "u 1" ]; }
denied_own() {
	local out
	out=$(request_name_as "$1" "$2" 2>&1) && return 1
	diag "$1 owning '$2': $out"
	case $out in *"Access denied"*) return 0 ;; *) return 1 ;; esac
}

check "bus answers on its private socket" bus_answers
check "bus is on the lab's private /run" bus_is_private
check "root may own org.hostdevha.Manager1 (the project's policy is loaded)" \
	may_own root org.hostdevha.Manager1
check "root may not own a name the policy does not grant" \
	denied_own root org.example.Other
check "nobody may not own org.hostdevha.Manager1" \
	denied_own nobody org.hostdevha.Manager1
lab_bus_stop
check "bus is gone after stop" eval '! bus_answers'
tap_done
