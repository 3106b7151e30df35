# shellcheck shell=bash
# Checks of a demo's printed timeline (demo.sh, demo-hosts.sh), whose lines
# read "    HH:MM:SS.mmm  +MS  WHO  WHAT", sorted by time.
#
#   in_order TEXT ERE...   each ERE matches a line of TEXT no earlier than
#                          the line the previous one matched; says which one
#                          is missing or out of order
#   after TEXT ERE1 ERE2   a line matching ERE2 no earlier than the first
#                          matching ERE1
#
# "No earlier" compares times, in ms: Pacemaker's and Corosync's logs carry
# ms, hostdev-had's us, so a cause and its effect within one ms may be
# printed either way round; within a ms, any order is taken. Pacemaker's
# and Corosync's times (libqb's) are read from CLOCK_REALTIME_COARSE, up to
# one kernel tick (4 ms at HZ=250) before the event: a line of theirs (who:
# pacemaker, fencing, corosync@N) may be up to LAB_TIMELINE_TICK_MS (10,
# the tick at HZ=100) before the line it follows.
#
# What is stamped on arrival (libvirt@N, guest, sampler) is only ever asked
# to come after what caused it, never before a line with its own time: on a
# loaded machine it arrives late.

: "${LAB_TIMELINE_TICK_MS:=10}"

# lab_timeline_ms LINE: the time of day of a timeline line, in ms.
lab_timeline_ms() {
	local h m s ms
	[[ $1 =~ ^\ +([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3}) ]] || return 1
	h=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]} ms=${BASH_REMATCH[4]}
	echo $((((10#$h * 60 + 10#$m) * 60 + 10#$s) * 1000 + 10#$ms))
}

in_order() {
	local text=$1 ere since='' line t found slack
	shift
	for ere; do
		found=
		while IFS= read -r line; do
			t=$(lab_timeline_ms "$line") || continue
			: "${since:=$t}"
			# a timeline may pass midnight: the nearer of the two days
			if [ $((t + 43200000)) -lt "$since" ]; then
				t=$((t + 86400000))
			elif [ $((t - 43200000)) -gt "$since" ]; then
				t=$((t - 86400000))
			fi
			slack=0
			[[ $line =~ ^\ +[0-9:.]+\ +[+-][0-9]+\ +(pacemaker|fencing|corosync(@[0-9]+)?)\  ]] &&
				slack=$LAB_TIMELINE_TICK_MS
			if [ "$t" -ge $((since - slack)) ]; then
				found=$t
				break
			fi
		done < <(grep -E -- "$ere" <<<"$text")
		if [ -z "$found" ]; then
			diag "no '$ere' at or after $since ms (time of day) in:"
			while IFS= read -r l; do diag "  $l"; done <<<"$text"
			return 1
		fi
		since=$found
	done
}

after() { in_order "$1" "$2" "$3"; }
