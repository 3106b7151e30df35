# shellcheck shell=bash
# What is under test, sourced by lab.sh and, inside each node of a
# multi-node lab, by lab-node-exec: the build tree's programs and files, or
# with LAB_INSTALLED=1 the installed ones (a package's): hostdev-had,
# hostdevctl, the libvirt hook (its link in /etc/libvirt/hooks/qemu.d), the
# OCF agent, the bus policy, the polkit action and the docs. Installed, each
# must be there.
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
