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
# FUZZ_JOBS targets run at once (default: one per CPU): each still runs
# SECONDS, on a core of its own.
set -u
[ $# -ge 4 ] || { echo "usage: $0 CORPUS-DIR OUT-DIR SECONDS TARGET..." >&2; exit 2; }
corpus=$1 out=$2 secs=$3
shift 3
case $secs in '' | *[!0-9]*) echo "run-fuzz: FUZZ_S must be a number of seconds, not '$secs'" >&2; exit 2 ;; esac

jobs_max=${FUZZ_JOBS:-$(nproc)}
case $jobs_max in '' | *[!0-9]* | 0) echo "run-fuzz: FUZZ_JOBS must be a positive number, not '$jobs_max'" >&2; exit 2 ;; esac
for t in "$@"; do
	[ -x "$out/$t" ] || { echo "run-fuzz: $out/$t is not built" >&2; exit 1; }
	[ -d "$corpus/$t" ] || { echo "run-fuzz: no seed corpus $corpus/$t" >&2; exit 1; }
done

# fuzz_one TARGET: runs it, writes its line to OUT-DIR/logs/TARGET.result.
fuzz_one() {
	local t=$1 bin=$out/$1 seeds=$corpus/$1 scratch=$out/scratch/$1 findings=$out/findings/$1
	local log=$out/logs/$1.log status execs speed cov f result verdict line
	local -a found=()

	printf 'fuzz: %s for %s s\n' "$t" "$secs"
	# The first folder is the one libFuzzer adds to: the scratch corpus.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$findings/" "$scratch" "$seeds" >"$log" 2>&1
	status=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
	for f in "$findings"/crash-* "$findings"/leak-* "$findings"/timeout-* "$findings"/oom-*; do
		[ -e "$f" ] && found+=("${f##*/}")
	done
	result=PASS verdict=
	if [ ${#found[@]} -gt 0 ]; then
		result=FAIL verdict="found ${#found[@]}: ${found[*]} (in $findings, log $log)"
	elif [ "$status" != 0 ]; then
		result=FAIL verdict="exit status $status (log $log)"
	fi
	line=$(printf '%s: %-18s %10s execs %7s exec/s  cov %5s  findings %d%s' "$result" "$t" \
		"${execs:-?}" "${speed:-?}" "${cov:-?}" "${#found[@]}" "${verdict:+, $verdict}")
	printf '%s\n' "$line" >"$out/logs/$t.result"
	printf 'fuzz: %s\n' "$line"
}

running=0
for t in "$@"; do
	rm -rf "$out/findings/$t" "$out/logs/$t.result"
	mkdir -p "$out/scratch/$t" "$out/findings/$t" "$out/logs"
	if [ "$running" -ge "$jobs_max" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz_one "$t" &
	running=$((running + 1))
done
wait

rc=0
printf '\nfuzz: %s s per target, %s at once\n' "$secs" "$jobs_max"
for t in "$@"; do
	if [ -s "$out/logs/$t.result" ]; then
		cat "$out/logs/$t.result"
	else
		printf 'FAIL: %-18s did not report (log %s)\n' "$t" "$out/logs/$t.log"
	fi
	grep -q '^PASS: ' "$out/logs/$t.result" 2>/dev/null || rc=1
done
exit $rc
