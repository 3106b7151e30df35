# shellcheck shell=bash
# The chaos lab's two witnesses of where the device is, independent of
# hostdev-had and of each other (sourced by chaos.sh, inside the lab):
#
#   chaos_witness_start     both witnesses in the background, from now on
#   chaos_witness_stop      both stopped (idempotent)
#   chaos_witness_events    libvirtd's own event stream checked in its order:
#                           prints "MS GROUP text" for every device-added to a
#                           member while another member of the group holds
#                           the device
#   chaos_witness_samples   the live XMLs sampled: prints "MS GROUP holders"
#                           for every sample showing the device on two running
#                           members, the round before showing the same
#
# The event witness: `virsh event --all --loop --timestamp`, every line
# stamped on arrival (ms since the epoch).  When libvirtd goes away the
# stream ends; once libvirtd answers again a new one is started.  Each
# stream is known to be registered once it has reported the definition of a
# domain made for the purpose (chaos-probe, no member); then a snapshot of
# every member's live XML ("MS SNAP DOMAIN ALIAS held|free", then "MS
# SNAPEND") goes to $CHAOS_OUT/events, and after it the stream, from its
# first line on.  Replaying events that the snapshot already shows is
# harmless (each sets where the device is: added, removed, and a domain
# that stopped or started, whose definition never carries the device,
# frees it), and after the replay the state is exact again: events that
# arrived before the snapshot ended are applied but not judged.
#
# The sampler: every member's live XML read with one virsh call per group,
# over and over ("MS POLL GROUP HOLDERS" in $CHAOS_OUT/samples, HOLDERS the
# running members with the device, comma-separated, "-" for none; "MS
# POLLERR GROUP" when libvirtd did not answer).  One round reads the members
# one after another, so a move between two reads shows two holders that
# never coexisted: only a double seen in two rounds in a row counts.
#
# Needs chaos_groups (names), chaos_members_GROUP, chaos_alias GROUP.

chaos_witness_pids=()

# chaos_stamp: stdin's lines prefixed with the time of arrival in ms.
chaos_stamp() {
	local l t
	while IFS= read -r l; do
		t=${EPOCHREALTIME/./}
		printf '%s %s\n' "${t%???}" "$l"
	done
}

chaos_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo "${t%???}"
}

# chaos_live GROUP: one virsh call; prints "RUNNING HOLDERS": the members
# running (not paused) and the running members with the device, each
# comma-separated, "-" for none.  Fails when libvirtd does not answer.
chaos_live() {
	local g=$1 d i cmd="list --state-running --name" out part running=, holders=
	local -a members parts
	read -r -a members <<<"$(chaos_members "$g")"
	for d in "${members[@]}"; do
		cmd="$cmd; echo @@; dumpxml $d"
	done
	out=$(timeout 10 virsh -q "$cmd" 2>/dev/null) || return 1
	out=${out//@@/$'\x1e'}
	IFS=$'\x1e' read -r -d '' -a parts <<<"$out" || :
	# In the members' order, as the driver compares it.
	for d in "${members[@]}"; do
		case $'\n'${parts[0]}$'\n' in *$'\n'"$d"$'\n'*) running="$running$d," ;; esac
	done
	for ((i = 0; i < ${#members[@]}; i++)); do
		part=${parts[i + 1]:-}
		case $part in *"<domain "*" id='"*) ;; *) continue ;; esac
		case $part in *"<alias name='$(chaos_alias "$g")'/>"*) holders="$holders,${members[i]}" ;; esac
	done
	running=${running#,}
	running=${running%,}
	holders=${holders#,}
	echo "${running:--} ${holders:--}"
}

chaos_snapshot() {
	local g d h
	for g in $chaos_groups; do
		h=$(chaos_live "$g") || continue
		h=${h#* }
		for d in $(chaos_members "$g"); do
			case ",$h," in
			*",$d,"*) echo "$(chaos_now_ms) SNAP $d $(chaos_alias "$g") held" ;;
			*) echo "$(chaos_now_ms) SNAP $d $(chaos_alias "$g") free" ;;
			esac
		done
	done
}

chaos_event_loop() {
	local pid k=0 stream
	cat >"$CHAOS_OUT/probe.xml" <<-EOF
		<domain type='qemu'>
		  <name>chaos-probe</name>
		  <memory unit='MiB'>16</memory>
		  <os><type arch='x86_64' machine='q35'>hvm</type></os>
		</domain>
	EOF
	while :; do
		if ! lab_libvirt_answers; then
			sleep 0.1
			continue
		fi
		k=$((k + 1))
		stream=$CHAOS_OUT/stream.$k
		: >"$stream"
		stdbuf -oL virsh event --all --loop --timestamp 2>/dev/null | chaos_stamp >"$stream" &
		pid=$!
		until grep -q "for domain 'chaos-probe'" "$stream" || ! lab_alive "$pid"; do
			virsh define "$CHAOS_OUT/probe.xml" >/dev/null 2>&1
			virsh undefine chaos-probe >/dev/null 2>&1
			sleep 0.1
		done
		{
			chaos_snapshot
			echo "$(chaos_now_ms) SNAPEND"
			tail -n +1 -s 0.1 -f --pid="$pid" "$stream"
		} >>"$CHAOS_OUT/events"
		wait "$pid"
		echo "$(chaos_now_ms) LOST" >>"$CHAOS_OUT/events"
	done
}

chaos_sample_loop() {
	local g h
	while :; do
		for g in $chaos_groups; do
			if h=$(chaos_live "$g"); then
				echo "$(chaos_now_ms) POLL $g ${h#* }"
			else
				echo "$(chaos_now_ms) POLLERR $g"
			fi
		done >>"$CHAOS_OUT/samples"
		sleep 0.05
	done
}

chaos_witness_start() {
	export -f chaos_event_loop chaos_sample_loop chaos_stamp chaos_now_ms chaos_snapshot chaos_live \
		chaos_members chaos_alias lab_libvirt_answers lab_alive
	export CHAOS_OUT chaos_groups
	: >"$CHAOS_OUT/events"
	: >"$CHAOS_OUT/samples"
	setsid bash -c 'chaos_event_loop' </dev/null >/dev/null 2>>"$CHAOS_OUT/witness.err" &
	chaos_witness_pids+=($!)
	setsid bash -c 'chaos_sample_loop' </dev/null >/dev/null 2>>"$CHAOS_OUT/witness.err" &
	chaos_witness_pids+=($!)
}

chaos_witness_stop() {
	local p
	for p in "${chaos_witness_pids[@]}"; do
		kill -- "-$p" 2>/dev/null
	done
	chaos_witness_pids=()
}

# The domains of each alias, for the event checker: "ALIAS DOMAIN..." lines.
chaos_alias_members() {
	local g
	for g in $chaos_groups; do
		echo "$(chaos_alias "$g") $(chaos_members "$g")"
	done
}

chaos_witness_events() {
	# FS="'": "MS <time>: event 'KIND' for domain 'DOMAIN': DETAIL".
	gawk -v members="$(chaos_alias_members)" '
		BEGIN {
			n = split(members, lines, "\n")
			for (i = 1; i <= n; i++) {
				k = split(lines[i], f, " ")
				for (j = 2; j <= k; j++) { group_of[f[j]] = f[1]; list[f[1]] = list[f[1]] " " f[j] }
			}
			FS = "\047"
		}
		function free_all(d) { if (d in group_of) held[d] = 0 }
		/^[0-9]+ SNAP / { split($0, f, " "); held[f[3]] = (f[5] == "held"); next }
		/^[0-9]+ SNAPEND$/ { split($0, f, " "); judged_after = f[1]; next }
		/^[0-9]+ LOST$/ { next }
		$0 ~ /event \047/ {
			split($1, t, " "); ms = t[1]; kind = $2; d = $4
			detail = $5; sub(/^: */, "", detail)
			if (!(d in group_of)) next
			a = group_of[d]
			if (kind == "device-added" && detail == a) {
				if (ms + 0 <= judged_after + 0) { held[d] = 1; next }
				split(list[a], others, " ")
				for (o in others)
					if (others[o] != d && held[others[o]])
						printf "%s %s device-added to %s while %s holds it\n", ms, a, d, others[o]
				held[d] = 1
			} else if (kind == "device-removed" && detail == a)
				held[d] = 0
			else if (kind == "lifecycle" && detail ~ /^(Stopped|Started)/)
				free_all(d)
		}' "$CHAOS_OUT/events"
}

chaos_witness_samples() {
	gawk '
		$2 == "POLLERR" { last[$3] = ""; next }
		$2 == "POLL" {
			if ($4 ~ /,/ && last[$3] == $4)
				printf "%s %s on %s in two rounds in a row\n", $1, $3, $4
			last[$3] = $4
		}' "$CHAOS_OUT/samples"
}
