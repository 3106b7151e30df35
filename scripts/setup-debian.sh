#!/bin/bash
# Installs what hostdev-ha needs to build and to run its lab on Debian 12:
# the build chain and libraries, libvirt + QEMU, the guest kernel, busybox,
# dbus, Corosync + Pacemaker with their tools, clang for the fuzz targets,
# and the libvirt-qemu user.
# Idempotent: does nothing that is already done. Run as root.
set -eu

packages=(
	# build
	build-essential autoconf automake autoconf-archive pkg-config
	libvirt-dev libsystemd-dev libxml2-dev libjson-c-dev libdbus-1-dev
	libcmocka-dev libquorum-dev libcpg-dev libcmap-dev scdoc
	# lab: libvirt and guests
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
	linux-image-amd64 busybox-static xz-utils cpio kmod tini
	# lab: bus, cluster
	dbus-daemon dbus-bin corosync pacemaker pacemaker-cli-utils crmsh pcs
	resource-agents fence-agents
	# lab: several cluster nodes on one machine (namespaces entered with
	# nsenter, veth pairs to a bridge made with ip)
	util-linux iproute2
	# tests
	shellcheck libxml2-utils procps psmisc jq strace
	# fuzzing (make fuzz): clang with libFuzzer and the sanitizer runtimes
	clang libclang-rt-dev
	# packages (make deb, make rpm) and the unit's checks (systemd-analyze)
	debhelper dh-autoreconf lintian rpm rpmlint systemd
	# polkit: a real polkitd on the lab's bus (test-lab-bus-api.sh)
	polkitd
)

say() { printf 'setup: %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "setup: run as root (it installs packages)" >&2; exit 1; }

missing=()
for p in "${packages[@]}"; do
	case $p in \#*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
		|| missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	# Packages must not start their services on the host (corosync,
	# pacemaker, pcsd...): the lab runs its own, privately. The file goes
	# again however apt ends (the trap), if this script put it there.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The QEMU driver refuses to start without this user, even running as root.
if ! getent passwd libvirt-qemu >/dev/null; then
	say "adding the system user libvirt-qemu"
	useradd --system --no-create-home --home-dir /var/lib/libvirt \
		--shell /usr/sbin/nologin libvirt-qemu
fi

# Mount points the lab binds its private folders over (libvirt-daemon-system
# would create them; the lab does not install that package, which starts a
# host libvirtd).
for d in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt \
	/etc/corosync /var/lib/corosync /var/lib/pacemaker /var/log/pacemaker; do
	[ -d "$d" ] || { say "creating $d"; mkdir -p "$d"; }
done

ls /boot/vmlinuz-* >/dev/null 2>&1 || { echo "setup: no guest kernel in /boot" >&2; exit 1; }
say "ready"
