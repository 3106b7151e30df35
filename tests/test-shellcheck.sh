#!/bin/bash
# Every shell script in the tree passes shellcheck, the agent's template
# (agents/hostdev.in) too.
set -u
top=${abs_top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 99
command -v shellcheck >/dev/null || { echo "Bail out! shellcheck is not installed"; exit 1; }

scripts=$(
	{
		find . \( -path "./build*" -o -path ./autom4te.cache \) -prune -o -type f \( -name '*.sh' -o -path './tests/lab/*' -o -path './.ci/*' -o -path './scripts/*' -o -path './agents/*' -o -path './packaging/debian/*' -o -name '*.bash-completion' \) -print
	} | while read -r f; do
		case $f in ./agents/*.in) ;; *.am|*.in|*.xml|*.conf|*.c|*.h|*/run/*|*/cache/*|./tests/tap-driver.sh) continue ;; esac
		head -n 1 "$f" | grep -qE '^#!.*(ba)?sh|shellcheck shell=' && echo "$f"
	done | sort
)
[ -n "$scripts" ] || { echo "Bail out! no shell scripts found"; exit 1; }

n=0
failed=0
for f in $scripts; do
	n=$((n + 1))
	if out=$(shellcheck -x -P SCRIPTDIR -P "$top" "$f" 2>&1); then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=1
	fi
done
echo "1..$n"
exit $failed
