#!/bin/bash
# The cluster token's round trip on the lab's real Corosync (lab-nodes.sh:
# one namespace set per node, knet over a bridge, token 1000 ms), through the
# daemon's own link and token table (bench-cluster-token): on 2 nodes, then
# on 3, a requester on node 1 and a server on every other node; each round
# a REQUEST until its grant is delivered back in agreed order, then a
# RELEASE. Pacemaker is stopped (it plays no part in the token).
# BENCH_TOKEN_ROUNDS (default 200). Numbers, not a test: nothing here is in
# make check. Run by `make bench-cluster`.
set -u
# Corosync's token for these figures: 1000 ms (the lab's default: 3000 ms).
export LAB_COROSYNC_TOKEN_MS=${LAB_COROSYNC_TOKEN_MS:-1000}
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-nodes.sh
. "$LAB_HOME/lab-nodes.sh"

rounds=${BENCH_TOKEN_ROUNDS:-200}
tool=$abs_top_builddir/tests/bench/bench-cluster-token
servers=()

servers_stop() {
	local p
	for p in "${servers[@]}"; do
		kill "$p" 2>/dev/null
	done
	servers=()
}
teardown() {
	servers_stop
	lab_nodes_stop
}
trap teardown EXIT

bench_nodes() {
	local k=$1 n
	lab_nodes_start "$k" || { echo "lab: $k nodes did not come online" >&2; return 1; }
	for ((n = 1; n <= k; n++)); do
		lab_node_run "$n" lab_cluster_stop_pacemaker || return 1
	done
	for ((n = 2; n <= k; n++)); do
		# stdin a pipe that stays open until servers_stop.
		sleep infinity | lab_node_run "$n" "$tool" --serve &
		servers+=($!)
	done
	lab_node_run 1 timeout 120 "$tool" --request "$rounds" --nodes "$k" >"$LAB_DIR/token-$k.out" || return 1
	tail -n 1 "$LAB_DIR/token-$k.out"
	servers_stop
	lab_nodes_stop
}

echo "## cluster token round trip ($rounds rounds each, Corosync token 1000 ms, knet on a bridge)"
bench_nodes 2 || exit 1
bench_nodes 3 || exit 1
