# shellcheck shell=bash
# Many groups on the lab (sourced after lab-libvirt.sh and lab-daemon.sh):
# groups g0 .. g(N-1) of two guests each, gI-a and gI-b, policy auto, each
# with its own stand-in device (alias ua-hostdev-gI).
#
#   lab_scale_setup N        define and boot the 2N guests, start the daemon,
#                            give each group's device to gI-a
#   lab_scale_watch_start    libvirtd's events (virsh event), from now on
#   lab_scale_watch_stop
#   lab_scale_sampler_start  every group's holders read from the live XML,
#                            round after round, from now on
#   lab_scale_sampler_stop
#   lab_scale_kill HOLDER... SIGKILL the QEMUs of the guests given, at once;
#                            prints the time (ns since the epoch)
#   lab_scale_settled I HOLDER  group gI idle with its device on HOLDER alone
#                            (the table and both live XMLs), the other guest
#                            back as a running standby
#   lab_scale_witness_bad    the device-added events that came while another
#                            guest of the group still held the device
#   lab_scale_sampler_bad    groups seen on two guests in two rounds in a row
#   lab_scale_added_ms T0 DOMAIN  ms from T0 (ns) to libvirtd's device-added
#                            for DOMAIN after T0 (empty if none)

LAB_SCALE_N=0
lab_scale_sampler=
lab_scale_watcher=

lab_scale_setup() {
	local n=$1 i
	LAB_SCALE_N=$n
	for ((i = 0; i < n; i++)); do
		lab_guest_define "g$i-a" && lab_guest_define "g$i-b" || return 1
		lab_console_mark "g$i-a"
		lab_console_mark "g$i-b"
		virsh start "g$i-a" >/dev/null && virsh start "g$i-b" >/dev/null || return 1
		lab_daemon_group "g$i" auto "g$i-a" "g$i-b"
		# A rebuilt guest boots at its standby quota: half a CPU, not 10 %.
		echo "StandbyVcpuQuota=50000" >>"$LAB_DAEMON_CONFIG/groups.d/g$i.conf"
	done
	for ((i = 0; i < n; i++)); do
		lab_console_wait "g$i-a" '^READY$' "$LAB_GUEST_BOOT_TIMEOUT" &&
			lab_console_wait "g$i-b" '^READY$' "$LAB_GUEST_BOOT_TIMEOUT" || return 1
	done
	lab_daemon_start || return 1
	for ((i = 0; i < n; i++)); do
		lab_daemon_call Switch ssb "g$i" "g$i-a" false >/dev/null || return 1
	done
}

lab_scale_holder() { lab_daemon_get "$1" Active | sed 's/^s "\(.*\)"$/\1/'; }
lab_scale_idle() { [ "$(lab_daemon_get "$1" Busy)" = "b false" ]; }
lab_scale_role() { lab_daemon_get "$1" Members | grep -o "\"$2\" \"[a-z]*\"" | cut -d'"' -f4; }

lab_scale_settled() {
	local g=g$1 holder=$2 other
	if [ "$holder" = "$g-a" ]; then other=$g-b; else other=$g-a; fi
	# shellcheck disable=SC2016 # expands when it runs
	lab_wait_for 60 eval '[ "$(lab_scale_holder "$g")" = "$holder" ]' ||
		{ echo "# $g: table holder '$(lab_scale_holder "$g")'"; return 1; }
	lab_wait_for 60 lab_scale_idle "$g" || { echo "# $g still busy"; return 1; }
	[ "$(lab_scale_holder "$g")" = "$holder" ] || { echo "# $g: table holder '$(lab_scale_holder "$g")'"; return 1; }
	lab_device_exclusive --alias "ua-hostdev-$g" "$holder" "$g-a" "$g-b" || return 1
	# shellcheck disable=SC2016 # expands when it runs
	lab_wait_for 60 eval '[ "$(lab_scale_role "$g" "$other")" = standby ]' ||
		{ echo "# $g: $other is $(lab_scale_role "$g" "$other")"; return 1; }
	lab_guest_active "$other"
}

lab_scale_watch_start() {
	local i
	: >"$LAB_DIR/scale-events"
	# The live XML when the watch starts: who holds what already.
	for ((i = 0; i < LAB_SCALE_N; i++)); do
		printf 'holders ua-hostdev-g%s %s\n' "$i" "$(lab_device_holders --alias "ua-hostdev-g$i" "g$i-a" "g$i-b")"
	done >"$LAB_DIR/scale-holders"
	stdbuf -oL virsh event --all --loop --timestamp >>"$LAB_DIR/scale-events" 2>/dev/null &
	lab_scale_watcher=$!
	sleep 0.5 # registered before anything happens
}

lab_scale_watch_stop() {
	[ -n "$lab_scale_watcher" ] && kill "$lab_scale_watcher" 2>/dev/null
	wait "$lab_scale_watcher" 2>/dev/null
	lab_scale_watcher=
}

lab_scale_sampler_start() {
	: >"$LAB_DIR/scale-samples"
	(
		round=0
		while :; do
			round=$((round + 1))
			for ((i = 0; i < LAB_SCALE_N; i++)); do
				printf '%s g%s %s\n' "$round" "$i" "$(lab_device_holders --alias "ua-hostdev-g$i" "g$i-a" "g$i-b")"
			done
		done
	) >>"$LAB_DIR/scale-samples" 2>/dev/null &
	lab_scale_sampler=$!
}

lab_scale_sampler_stop() {
	[ -n "$lab_scale_sampler" ] && kill "$lab_scale_sampler" 2>/dev/null
	wait "$lab_scale_sampler" 2>/dev/null
	lab_scale_sampler=
}

lab_scale_kill() {
	local d pids=()
	for d in "$@"; do
		pids+=("$(cat "/run/libvirt/qemu/$d.pid")") || return 1
	done
	date +%s%N
	kill -KILL "${pids[@]}"
}

# In libvirtd's own order: a device-added while another domain holds that
# alias is a violation; a device-removed, or the holder stopped, frees it.
lab_scale_witness_bad() {
	cat "$LAB_DIR/scale-holders" - <"$LAB_DIR/scale-events" | awk '
		$1 == "holders" { if (NF == 3) holder[$2] = $3; next }
		{
			if (!match($0, /event '\''[a-z-]+'\'' for domain '\''[^'\'']+'\''/)) next
			split(substr($0, RSTART, RLENGTH), w, "'\''")
			kind = w[2]; dom = w[4]; rest = substr($0, RSTART + RLENGTH + 2)
		}
		kind == "device-added" && rest ~ /^ua-hostdev-/ {
			if (holder[rest] != "" && holder[rest] != dom) print "added to " dom " while " holder[rest] " holds " rest ": " $0
			holder[rest] = dom
		}
		kind == "device-removed" && holder[rest] == dom { holder[rest] = "" }
		kind == "lifecycle" && rest ~ /^Stopped/ { for (a in holder) if (holder[a] == dom) holder[a] = "" }'
}

lab_scale_sampler_bad() {
	awk '{ n = NF - 2 }
		n >= 2 && last[$2] == $1 - 1 && two[$2] { print "round " $1 ": " $0 }
		{ two[$2] = n >= 2; last[$2] = $1 }' "$LAB_DIR/scale-samples"
}

lab_scale_added_ms() {
	local t0=$1 d=$2
	grep "event 'device-added' for domain '$d'" "$LAB_DIR/scale-events" | sed 's/+0000:.*//' |
		TZ=UTC date -f - +%s%N | awk -v t0="$t0" '$1 >= t0 { printf "%.0f\n", ($1 - t0) / 1e6; exit }'
}
