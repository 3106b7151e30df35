# shellcheck shell=bash
# The chaos lab's choices (sourced by chaos.sh and chaos-hosts.sh): every
# random choice comes from here, seeded with CHAOS_SEED, so that a seed
# replays the same choices in the same order.
#
#   chaos_rand N        REPLY in 0..N-1
#   chaos_pick "W..."   REPLY one of the words
#   chaos_sleep_ms MAX  a pause of 0..MAX ms

# A linear congruential generator: the same seed, the same choices.
chaos_rng=$CHAOS_SEED
chaos_rand() {
	chaos_rng=$(((chaos_rng * 1103515245 + 12345) % 2147483648))
	REPLY=$(((chaos_rng >> 16) % $1))
}

chaos_pick() {
	local -a w
	read -r -a w <<<"$1"
	chaos_rand "${#w[@]}"
	REPLY=${w[REPLY]}
}

chaos_sleep_ms() {
	chaos_rand "$(($1 + 1))"
	sleep "$(printf '%d.%03d' $((REPLY / 1000)) $((REPLY % 1000)))"
}
