#!/bin/bash
# build-deb.sh TARBALL OUTDIR: builds the Debian packages from the release
# tarball (make dist's), as a Debian build would: the tarball as the
# .orig.tar.xz, packaging/debian as debian/, dpkg-buildpackage in a
# temporary folder. The .deb, .dsc and .changes files go to OUTDIR, then
# lintian checks them and fails on an error (the warnings it prints and
# why they are kept: packaging/debian/README.packaging).
set -eu
tarball=$1 outdir=$2
[ -r "$tarball" ] || { echo "build-deb.sh: no tarball '$tarball'" >&2; exit 1; }
for tool in dpkg-buildpackage lintian; do
	command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool not found (Debian packages dpkg-dev, debhelper, lintian)" >&2; exit 1; }
done

name=$(basename "$tarball" .tar.xz)         # hostdev-ha-0.1.0
version=${name##*-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp "$tarball" "$tmp/hostdev-ha_$version.orig.tar.xz"
tar -C "$tmp" -xJf "$tarball"
cp -r "$tmp/$name/packaging/debian" "$tmp/$name/debian"
changelog=$(sed -n '1s/^hostdev-ha (\([^)]*\)-[^)-]*).*/\1/p' "$tmp/$name/debian/changelog")
if [ "$changelog" != "$version" ]; then
	echo "build-deb.sh: packaging/debian/changelog is for $changelog, the tarball for $version: add an entry" >&2
	exit 1
fi

(cd "$tmp/$name" && dpkg-buildpackage -us -uc -j2) >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
mkdir -p "$outdir"
rm -f "$outdir"/*.deb "$outdir"/*.changes "$outdir"/*.dsc "$outdir"/*.buildinfo "$outdir"/*.tar.*
cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.dsc "$tmp"/*.buildinfo "$tmp"/*.tar.* "$outdir"/
cp "$tmp/build.log" "$outdir/build.log"
ls -1 "$outdir"/*.deb

changes=$(ls "$outdir"/*.changes)
echo "lintian $(basename "$changes"):"
lintian --fail-on error "$changes"
