#!/bin/bash
# build-rpm.sh TARBALL SPEC OUTDIR [RPMBUILD-OPTION...]: builds the source and binary RPMs from
# the release tarball (make dist's) with rpmbuild in a temporary folder,
# copies them to OUTDIR and runs rpmlint on them, failing on an error.
#
# On a host whose rpm database is empty (Debian: rpm is there only as a
# tool), rpmbuild cannot check BuildRequires: it runs with --nodeps, and the
# folders and scriptlets of systemd-rpm-macros, which Debian lacks, come
# from macros.no-systemd-rpm-macros beside this script.
set -eu
tarball=$1 spec=$2 outdir=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
[ -r "$tarball" ] || { echo "build-rpm.sh: no tarball '$tarball'" >&2; exit 1; }
for tool in rpmbuild rpmlint; do
	command -v "$tool" >/dev/null || { echo "build-rpm.sh: $tool not found (Debian packages rpm, rpmlint)" >&2; exit 1; }
done

flags=("$@")
if ! rpm -q rpm >/dev/null 2>&1; then
	flags+=(--nodeps)
	echo "build-rpm.sh: rpm's database is empty here: building with --nodeps"
fi
if [ -z "$(rpm --eval '%{?_unitdir}')" ]; then
	flags+=(--load "$here/rpm/macros.no-systemd-rpm-macros")
	echo "build-rpm.sh: no systemd-rpm-macros: using rpm/macros.no-systemd-rpm-macros"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/SOURCES" "$tmp/SPECS"
cp "$tarball" "$tmp/SOURCES/"
cp "$spec" "$tmp/SPECS/hostdev-ha.spec"
rpmbuild "${flags[@]}" --define "_topdir $tmp" -ba "$tmp/SPECS/hostdev-ha.spec" >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	echo "build-rpm.sh: rpmbuild failed" >&2
	exit 1
}
mkdir -p "$outdir"
rm -f "$outdir"/*.rpm
find "$tmp/RPMS" "$tmp/SRPMS" -name '*.rpm' -exec cp {} "$outdir"/ \;
cp "$tmp/build.log" "$tmp/SPECS/hostdev-ha.spec" "$outdir"/
ls -1 "$outdir"/*.rpm

echo "rpmlint:"
rpmlint -r "$here/rpm/rpmlintrc" "$outdir"/*.rpm "$outdir/hostdev-ha.spec"
