#!/bin/bash
# run-fuzz.sh CORPUS-DIR OUT-DIR SECONDS TARGET...   (make fuzz)
#
# Runs each libFuzzer target OUT-DIR/TARGET for SECONDS on its seed corpus
# CORPUS-DIR/TARGET (read only: what the run finds new goes to
# OUT-DIR/scratch/TARGET), then prints one line per target that starts
# with "PASS: " or "FAIL: " as automake's harness does: executions,
# executions per second, coverage (libFuzzer's last "cov:") and findings
# (crash-*, leak-*, timeout-*, oom-* files in OUT-DIR/findings/TARGET,
# cleared first). Each target's output is in
# OUT-DIR/logs/TARGET.log. Exits 1 if any target found anything or failed.
set -u
[ $# -ge 4 ] || { echo "usage: $0 CORPUS-DIR OUT-DIR SECONDS TARGET..." >&2; exit 2; }
corpus=$1 out=$2 secs=$3
shift 3
case $secs in '' | *[!0-9]*) echo "run-fuzz: FUZZ_S must be a number of seconds, not '$secs'" >&2; exit 2 ;; esac

rc=0
lines=()
for t in "$@"; do
	bin=$out/$t
	seeds=$corpus/$t
	scratch=$out/scratch/$t
	findings=$out/findings/$t
	log=$out/logs/$t.log
	[ -x "$bin" ] || { echo "run-fuzz: $bin is not built" >&2; exit 1; }
	[ -d "$seeds" ] || { echo "run-fuzz: no seed corpus $seeds" >&2; exit 1; }
	rm -rf "$findings"
	mkdir -p "$scratch" "$findings" "$out/logs"

	printf 'fuzz: %s for %s s\n' "$t" "$secs"
	# The first folder is the one libFuzzer adds to: the scratch corpus.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$findings/" "$scratch" "$seeds" >"$log" 2>&1
	status=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
	found=()
	for f in "$findings"/crash-* "$findings"/leak-* "$findings"/timeout-* "$findings"/oom-*; do
		[ -e "$f" ] && found+=("${f##*/}")
	done
	result=PASS verdict=
	if [ ${#found[@]} -gt 0 ]; then
		result=FAIL verdict="found ${#found[@]}: ${found[*]} (in $findings, log $log)"
		rc=1
	elif [ "$status" != 0 ]; then
		result=FAIL verdict="exit status $status (log $log)"
		rc=1
	fi
	lines+=("$(printf '%s: %-18s %10s execs %7s exec/s  cov %5s  findings %d%s' "$result" "$t" \
		"${execs:-?}" "${speed:-?}" "${cov:-?}" "${#found[@]}" "${verdict:+, $verdict}")")
	printf 'fuzz: %s\n' "${lines[-1]}"
done

printf '\nfuzz: %s s per target\n' "$secs"
printf '%s\n' "${lines[@]}"
exit $rc
