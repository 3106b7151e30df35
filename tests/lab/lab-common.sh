# shellcheck shell=bash
# Shared helpers for lab scripts, sourced inside lab-run's namespaces.
#
# Conventions:
#   LAB_DIR    this lab's private folder (set by lab-run); everything the
#              lab writes goes there
#   LAB_HOME   the folder holding these scripts (set by lab-run)
#   LAB_CACHE  a cache kept across runs in the build tree (guest image,
#              libvirt's capabilities cache); default $LAB_DIR/../../cache
#   LAB_CLIENT_TIMEOUT  seconds a cluster client polled in a wait (crm_mon,
#              crmadmin, crm_simulate) may take before it is asked again

: "${LAB_CACHE:=$(cd "$LAB_DIR/../.." && pwd)/cache}"
: "${LAB_CLIENT_TIMEOUT:=10}"
mkdir -p "$LAB_CACHE"

lab_log() { printf '# %s %s\n' "$(date +%T.%3N)" "$*" >&2; }
lab_die() { printf 'lab: %s\n' "$*" >&2; exit 99; }

# lab_stamped_lines FILE: the lines of a log hostdev-had wrote with
# --log-time ("2026-12-01T19:35:12.063412Z TEXT"), each as "TIME_US TEXT"
# (us since the epoch).
lab_stamped_lines() {
	local lines stamps
	lines=$(grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z ' "$1" 2>/dev/null) || return 0
	stamps=$(cut -d ' ' -f 1 <<<"$lines" | date -f - +%s%6N) || return 0
	paste -d ' ' <(echo "$stamps") <(cut -d ' ' -f 2- <<<"$lines")
}

# lab_bind SRC TARGET: bind-mount SRC (created) over the existing TARGET.
lab_bind() {
	mkdir -p "$1"
	[ -d "$2" ] || lab_die "mount point '$2' is missing (run the setup: scripts/setup-debian.sh)"
	mount --bind "$1" "$2"
}

# lab_xml_holders ALIAS [PREFIX]: of the domain XMLs on stdin (virsh
# dumpxml's, one after the other), the running ones (id='N') with the
# device ALIAS: their names, each after PREFIX, on one line.
lab_xml_holders() {
	awk -v a="<alias name='$1'/>" -v p="${2:-}" '
		/^<domain / { run = ($0 ~ / id=/) }
		/^  <name>/ { name = $0; sub(/.*<name>/, "", name); sub(/<.*/, "", name) }
		run && index($0, a) { out = out (out == "" ? "" : " ") p name; run = 0 }
		END { print out }'
}

# lab_wait_for SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds.
# The clock is bash's own: a date process per round, in every wait of a
# suite, adds up on a machine slow at starting processes.
lab_wait_for() {
	local deadline=$(( ${EPOCHREALTIME/./} + $1 * 1000000 ))
	shift
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# lab_alive PID: the process exists and is not a zombie waiting to be reaped.
lab_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# lab_kill_pidfile FILE [SECONDS]: TERM the process in FILE, wait, then KILL.
lab_kill_pidfile() {
	local pid
	[ -s "$1" ] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
	lab_wait_for "${2:-10}" eval "! lab_alive $pid" || kill -KILL "$pid" 2>/dev/null
	rm -f "$1"
}
