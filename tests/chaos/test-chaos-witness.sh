#!/bin/bash
# The chaos lab's witnesses judge what they saw rightly: libvirt event
# streams and live-XML samples written here, each with its violations
# known, checked by chaos_witness_events and chaos_witness_samples (no lab
# needed: the checkers read files).
set -u
top=${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lab/tap.sh
. "$top/tests/lab/tap.sh"
# shellcheck source=tests/chaos/chaos-witness.sh
. "$top/tests/chaos/chaos-witness.sh"

chaos_groups="nic0 nic1"
chaos_members() { case $1 in nic0) echo vm-a vm-b vm-c ;; nic1) echo vm-d vm-e vm-f ;; esac; }
chaos_alias() { echo "ua-hostdev-$1"; }
CHAOS_OUT=$(mktemp -d)
trap 'rm -rf "$CHAOS_OUT"' EXIT

ev() { printf "%s 2026-12-01 16:13:58.984+0000: event '%s' for domain '%s': %s\n" "$@"; }

# events LINES...: the stream; prints the checker's verdicts.
events() {
	printf '%s\n' "$@" >"$CHAOS_OUT/events"
	chaos_witness_events
}
samples() {
	printf '%s\n' "$@" >"$CHAOS_OUT/samples"
	chaos_witness_samples
}
# is EXPECTED ACTUAL
is() {
	[ "$1" = "$2" ] && return 0
	diag "expected: ${1:-(nothing)}"
	diag "got:      ${2:-(nothing)}"
	return 1
}

check "a move (removed, then added) is no violation" is "" "$(events \
	"$(ev 1 device-added vm-a ua-hostdev-nic0)" \
	"$(ev 2 device-removed vm-a ua-hostdev-nic0)" \
	"$(ev 3 device-added vm-b ua-hostdev-nic0)")"
check "an add while another member holds it is one" \
	is "3 ua-hostdev-nic0 device-added to vm-b while vm-a holds it" "$(events \
	"$(ev 1 device-added vm-a ua-hostdev-nic0)" \
	"$(ev 3 device-added vm-b ua-hostdev-nic0)")"
check "a holder that stopped (no device-removed) holds nothing" is "" "$(events \
	"$(ev 1 device-added vm-a ua-hostdev-nic0)" \
	"$(ev 2 lifecycle vm-a 'Stopped Failed')" \
	"$(ev 3 device-added vm-b ua-hostdev-nic0)")"
check "nor one started again" is "" "$(events \
	"$(ev 1 device-added vm-a ua-hostdev-nic0)" \
	"$(ev 2 lifecycle vm-a 'Started Booted')" \
	"$(ev 3 device-added vm-b ua-hostdev-nic0)")"
check "a paused holder still holds it" \
	is "3 ua-hostdev-nic0 device-added to vm-b while vm-a holds it" "$(events \
	"$(ev 1 device-added vm-a ua-hostdev-nic0)" \
	"$(ev 2 lifecycle vm-a 'Suspended Paused')" \
	"$(ev 3 device-added vm-b ua-hostdev-nic0)")"
check "two groups do not mix" is "" "$(events \
	"$(ev 1 device-added vm-a ua-hostdev-nic0)" \
	"$(ev 2 device-added vm-d ua-hostdev-nic1)" \
	"$(ev 3 device-added vm-e other-alias)")"
check "after a reconnect the snapshot counts" \
	is "5 ua-hostdev-nic0 device-added to vm-c while vm-b holds it" "$(events \
	"$(ev 1 device-added vm-a ua-hostdev-nic0)" \
	"2 LOST" "3 SNAP vm-a ua-hostdev-nic0 free" "3 SNAP vm-b ua-hostdev-nic0 held" \
	"4 SNAP vm-c ua-hostdev-nic0 free" "4 SNAPEND" \
	"$(ev 5 device-added vm-c ua-hostdev-nic0)")"

check "events replayed after a snapshot are applied, not judged" \
	is "9 ua-hostdev-nic0 device-added to vm-a while vm-b holds it" "$(events \
	"1 SNAP vm-a ua-hostdev-nic0 held" "1 SNAP vm-b ua-hostdev-nic0 free" \
	"1 SNAP vm-c ua-hostdev-nic0 free" "3 SNAPEND" \
	"$(ev 2 device-added vm-b ua-hostdev-nic0)" \
	"$(ev 2 device-removed vm-b ua-hostdev-nic0)" \
	"$(ev 2 device-added vm-a ua-hostdev-nic0)" \
	"$(ev 4 device-removed vm-a ua-hostdev-nic0)" \
	"$(ev 5 device-added vm-b ua-hostdev-nic0)" \
	"$(ev 9 device-added vm-a ua-hostdev-nic0)")"

check "a double in one round only is no violation" is "" "$(samples \
	"1 POLL nic0 vm-a" "2 POLL nic0 vm-a,vm-b" "3 POLL nic0 vm-b")"
check "a double in two rounds in a row is one" is "3 nic0 on vm-a,vm-b in two rounds in a row" "$(samples \
	"1 POLL nic0 vm-a" "2 POLL nic0 vm-a,vm-b" "3 POLL nic0 vm-a,vm-b")"
check "a round libvirtd did not answer breaks the row" is "" "$(samples \
	"1 POLL nic0 vm-a,vm-b" "2 POLLERR nic0" "3 POLL nic0 vm-a,vm-b")"
check "rounds of another group do not break it" is "3 nic0 on vm-a,vm-b in two rounds in a row" "$(samples \
	"1 POLL nic0 vm-a,vm-b" "2 POLL nic1 vm-d" "3 POLL nic0 vm-a,vm-b")"
tap_done
