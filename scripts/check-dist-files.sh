#!/bin/sh
# check-dist-files.sh SRCDIR DISTDIR: fails when a file git tracks in SRCDIR
# is missing from the unpacked tarball DISTDIR (a test or a document left out
# of EXTRA_DIST). Outside a git checkout there is nothing to compare with.
set -eu
srcdir=$1 distdir=$2
git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1 || exit 0
missing=$(git -C "$srcdir" ls-files | while IFS= read -r f; do
	case $f in .gitignore) continue ;; esac
	[ -e "$distdir/$f" ] || printf '%s\n' "$f"
done)
if [ -n "$missing" ]; then
	printf 'Tracked but not in the tarball (add them to EXTRA_DIST):\n%s\n' "$missing" >&2
	exit 1
fi
echo "All $(git -C "$srcdir" ls-files | wc -l) tracked files are in the tarball."
