# shellcheck shell=bash
# Sourced first by every lab test. Outside the lab it re-runs the test under
# lab-run (new namespaces, private folders, nothing left behind); inside, it
# loads the lab's service scripts and the TAP helpers.
#
# Needs abs_top_srcdir and abs_top_builddir (set by the test harness).

if [ -z "${LAB_DIR:-}" ]; then
	: "${abs_top_srcdir:?run lab tests through make check}"
	: "${abs_top_builddir:?run lab tests through make check}"
	lab_name=$(basename "$0" .sh)
	# Suites that boot guests or a cluster run one at a time (make -j
	# still runs the light ones beside them): two of them on two cores
	# take longer than one after the other.
	if [ -n "${LAB_SERIAL:-1}" ] && [ -z "${LAB_LIGHT:-}" ]; then
		mkdir -p "$abs_top_builddir/tests/lab/run"
		exec flock "$abs_top_builddir/tests/lab/run/heavy.lock" "$abs_top_srcdir/tests/lab/lab-run" \
			"$abs_top_builddir/tests/lab/run/$lab_name.$$" \
			"$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"
	fi
	exec "$abs_top_srcdir/tests/lab/lab-run" \
		"$abs_top_builddir/tests/lab/run/$lab_name.$$" \
		"$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"
fi

: "${LAB_CACHE:=$abs_top_builddir/tests/lab/cache}"

# What is under test: the build tree's programs and files, or with
# LAB_INSTALLED=1 the installed ones (a package's): hostdev-had,
# hostdevctl, the libvirt hook (its link in /etc/libvirt/hooks/qemu.d), the
# OCF agent, the bus policy, the polkit action and the docs. Installed, each must be there.
if [ -n "${LAB_INSTALLED:-}" ]; then
	LAB_DAEMON=/usr/sbin/hostdev-had
	LAB_CTL=/usr/bin/hostdevctl
	LAB_HOOK=/etc/libvirt/hooks/qemu.d/hostdev-ha
	LAB_AGENT_SRC=/usr/lib/ocf/resource.d/hostdev-ha/hostdev
	LAB_POLICY_DIR=/usr/share/dbus-1/system.d
	LAB_DOCS=/usr/share/doc/hostdev-ha
	LAB_POLKIT_ACTION=/usr/share/polkit-1/actions/org.hostdevha.policy
	for f in "$LAB_DAEMON" "$LAB_CTL" "$LAB_HOOK" "$LAB_AGENT_SRC" \
		"$LAB_POLICY_DIR/org.hostdevha.Manager1.conf" "$LAB_DOCS/pacemaker.md" "$LAB_POLKIT_ACTION"; do
		[ -e "$f" ] || { echo "Bail out! LAB_INSTALLED=1 but '$f' is not installed"; exit 1; }
	done
fi
: "${LAB_DAEMON:=$abs_top_builddir/hostdev-had}"
: "${LAB_CTL:=$abs_top_builddir/hostdevctl}"
: "${LAB_HOOK:=$abs_top_builddir/libvirt-hooks/hostdev-ha}"
: "${LAB_AGENT_SRC:=$abs_top_builddir/agents/hostdev}"
: "${LAB_POLICY_DIR:=$LAB_HOME/../../dbus}"
: "${LAB_DOCS:=$LAB_HOME/../../docs}"
: "${LAB_POLKIT_ACTION:=$LAB_HOME/../../packaging/org.hostdevha.policy}"
# shellcheck source=tests/lab/lab-common.sh
. "$LAB_HOME/lab-common.sh"
# shellcheck source=tests/lab/tap.sh
. "$LAB_HOME/tap.sh"
# shellcheck source=tests/lab/lab-bus.sh
. "$LAB_HOME/lab-bus.sh"
