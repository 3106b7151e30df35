#!/bin/bash
# CI's packages part, in a configured build folder (default ./build, as
# scripts/run.sh leaves it): builds the Debian packages (make deb, lintian),
# installs them with apt, runs the demo's lab test against the installed
# files only (LAB_INSTALLED=1: the installed hostdev-had, hostdevctl, hook,
# agent, bus policy and docs; see tests/lab/lab.sh), purges them and checks
# that nothing of them is left, then builds the RPMs (make rpm, rpmlint).
# Each step prints PASS: or FAIL: as the test harness does. The package
# builds skip their own make check (DEB_BUILD_OPTIONS=nocheck, rpmbuild
# --nocheck): CI's check part ran it on the same tree. LAB_LOCK=FILE: the
# lab test runs under flock FILE (a machine shared with other labs). Run as
# root on a
# machine whose host services the packages may not start (no systemd as
# PID 1, as CI's machines).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build}
cd "$builddir" || exit 1
failed=0
pass() { echo "PASS: packages - $*"; }
fail() { echo "FAIL: packages - $*"; failed=1; }
# step WHAT COMMAND...: runs it, PASS or FAIL with its wall time.
step() {
	local what=$1 start=$SECONDS
	shift
	if "$@"; then pass "$what ($((SECONDS - start)) s)"; else fail "$what ($((SECONDS - start)) s)"; fi
}

packages=(hostdev-ha hostdev-ha-resource-agents hostdev-ha-guest)

# What a purge must leave behind: nothing of the packages' files, their
# folders of their own, the unit's enable links, the allocation table.
left_behind() {
	local f
	while IFS= read -r f; do
		[ -d "$f" ] && continue   # shared folders (/etc, /usr/bin, /lib) stay
		[ -e "$f" ] || [ -L "$f" ] && echo "$f"
	done <"$builddir/packages/installed-files"
	for f in /etc/hostdev-ha /var/lib/hostdev-ha /usr/libexec/hostdev-ha \
		/usr/lib/ocf/resource.d/hostdev-ha /usr/share/doc/hostdev-ha \
		/usr/share/doc/hostdev-ha-resource-agents /usr/share/doc/hostdev-ha-guest \
		/etc/systemd/system/multi-user.target.wants/hostdev-had.service \
		/etc/systemd/system/dbus-org.hostdevha.Manager1.service; do
		[ -e "$f" ] || [ -L "$f" ] && echo "$f"
	done
	find /var/lib/systemd/deb-systemd-helper-enabled -name '*hostdev*' 2>/dev/null
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${packages[@]}" 2>/dev/null | grep -v '^un\|^$'
}

purge() {
	apt-get purge -y -q "${packages[@]}" >"$builddir/packages/purge.log" 2>&1
}

step "make deb: the packages built, lintian without errors" \
	env DEB_BUILD_OPTIONS=nocheck make deb

debs=("$builddir"/packages/deb/hostdev-ha_*.deb "$builddir"/packages/deb/hostdev-ha-resource-agents_*.deb
	"$builddir"/packages/deb/hostdev-ha-guest_*.deb)
if [ "$failed" = 0 ]; then
	if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${debs[@]}" \
		>"$builddir/packages/install.log" 2>&1; then
		pass "apt install ${debs[*]##*/}"
		# On any exit from here, the packages go.
		trap purge EXIT
		dpkg -L "${packages[@]}" | sort -u >"$builddir/packages/installed-files"
		step "hostdev-had --check-config on the installed, empty configuration" \
			/usr/sbin/hostdev-had --check-config
		step "the demo's lab test against the installed files (LAB_INSTALLED=1)" \
			${LAB_LOCK:+flock "$LAB_LOCK"} env LAB_INSTALLED=1 make check TESTS=tests/lab/test-lab-demo.sh
		purge && trap - EXIT
		step "apt purge" grep -q "Purging configuration files for hostdev-ha " "$builddir/packages/purge.log"
		left=$(left_behind)
		if [ -z "$left" ]; then
			pass "nothing of the packages is left after the purge"
		else
			fail "left after the purge:"
			printf '%s\n' "$left" | sed 's/^/#   /'
		fi
	else
		tail -n 20 "$builddir/packages/install.log"
		fail "apt install ${debs[*]##*/}"
	fi
fi

step "make rpm: the source and binary RPMs built, rpmlint without errors" \
	make rpm RPMBUILD_FLAGS=--nocheck

exit $failed
