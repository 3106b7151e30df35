# shellcheck shell=bash
# hostdev-ha's libvirt hook on the lab (source after lab-libvirt.sh).
#
#   lab_hook_install     install the built hook in libvirtd's private hooks
#                        folder and make /etc/hostdev-ha, inside the lab
#                        only, show $LAB_HOOK_CONFIG; call it BEFORE
#                        lab_libvirt_start
#
# libvirtd runs hooks with LC_ALL, PATH and HOME only (measured: an exported
# HOSTDEV_HA_CONFIG_DIR never reaches them), so the hook reads its default
# /etc/hostdev-ha, as on a real host.  The host has no such folder and must
# not get one: the lab puts an overlay on /etc (upper layer in $LAB_DIR, in
# the lab's private mount namespace, gone with it) and binds
# $LAB_HOOK_CONFIG over /etc/hostdev-ha.  The overlay must come before
# lab_libvirt_start binds /etc/libvirt, or it would hide that bind.
#
# $LAB_HOOK_CONFIG is $LAB_DIR/hostdev-ha, the folder lab-daemon.sh writes
# the daemon's configuration to, so a test may run both on one config.

LAB_HOOK_CONFIG=$LAB_DIR/hostdev-ha
# LAB_HOOK: the hook under test (lab.sh); installed (LAB_INSTALLED=1), the
# package's link itself is copied, so libvirtd runs what it points at.

lab_hook_etc() {
	local upper=$LAB_DIR/etc-overlay/upper work=$LAB_DIR/etc-overlay/work
	mountpoint -q /etc/hostdev-ha && return 0
	if mountpoint -q /etc/libvirt; then
		echo "lab: lab_hook_install must come before lab_libvirt_start" >&2
		return 1
	fi
	mkdir -p "$upper" "$work" "$LAB_HOOK_CONFIG" || return 1
	if [ ! -d /etc/hostdev-ha ]; then
		mount -t overlay lab-etc -o "lowerdir=/etc,upperdir=$upper,workdir=$work" /etc || return 1
		mkdir /etc/hostdev-ha || return 1
	fi
	lab_bind "$LAB_HOOK_CONFIG" /etc/hostdev-ha
}

lab_hook_install() {
	[ -x "$LAB_HOOK" ] || lab_die "no hook at '$LAB_HOOK' (build it first)"
	lab_hook_etc || return 1
	mkdir -p "$LAB_LIBVIRT_HOOKS_DIR" || return 1
	if [ -L "$LAB_HOOK" ]; then
		cp -P "$LAB_HOOK" "$LAB_LIBVIRT_HOOKS_DIR/hostdev-ha"
	else
		install -m 0755 "$LAB_HOOK" "$LAB_LIBVIRT_HOOKS_DIR/hostdev-ha"
	fi
}
