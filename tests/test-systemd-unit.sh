#!/bin/bash
# The built unit, packaging/hostdev-had.service: systemd-analyze verify
# finds nothing to say about it (an unknown key or a bad value is only a
# warning to systemd, a failure here), and systemd-analyze security rates
# its sandbox 4.0 or better; the score is printed. ExecStart= is pointed at
# the built daemon, which verify wants to exist.
set -u
build=${abs_top_builddir:-$(cd "$(dirname "$0")/.." && pwd)/build}
unit=$build/packaging/hostdev-had.service
max=4.0

if ! command -v systemd-analyze >/dev/null; then
	echo "1..0 # SKIP systemd-analyze is not installed (Debian package 'systemd')"
	exit 0
fi
[ -r "$unit" ] || { echo "Bail out! '$unit' is not built"; exit 1; }
[ -x "$build/hostdev-had" ] || { echo "Bail out! '$build/hostdev-had' is not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=.*/hostdev-had|ExecStart=$build/hostdev-had|" "$unit" >"$tmp/hostdev-had.service"

echo "1..3"
out=$(systemd-analyze verify --man=no "$tmp/hostdev-had.service" 2>&1)
status=$?
if [ "$status" = 0 ] && [ -z "$out" ]; then
	echo "ok 1 - systemd-analyze verify: nothing to say"
else
	echo "not ok 1 - systemd-analyze verify (exit $status)"
	printf '# %s\n' "$out"
fi

out=$(systemd-analyze security --offline=true --no-pager "$tmp/hostdev-had.service" 2>&1)
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
if [ -n "$score" ]; then
	echo "ok 2 - systemd-analyze security rates it: $score"
else
	echo "not ok 2 - systemd-analyze security gave no score"
	printf '# %s\n' "$out"
fi
if [ -n "$score" ] && awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
	echo "ok 3 - exposure $score is at most $max"
else
	echo "not ok 3 - exposure ${score:-?} is at most $max"
	printf '%s\n' "$out" | grep '✗' | sed 's/^/# /'
fi
