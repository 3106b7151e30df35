# shellcheck shell=bash
# A private libvirtd with small TCG guests, for lab tests (source after
# lab-common.sh, inside lab-run).  All through virsh: errors go to stderr,
# failures return non-zero.
#
#   lab_libvirt_start            private libvirtd; exports LAB_LIBVIRT_URI and
#                                LIBVIRT_DEFAULT_URI (plain virsh uses it)
#   lab_libvirt_stop             destroy every domain, stop libvirtd (idempotent)
#   lab_libvirtd_kill            SIGKILL libvirtd only: guests keep running
#   lab_guest_define NAME [--with-device] [--with-channel]
#                                define a q35 TCG guest (stand-in device in the
#                                persistent XML with --with-device; the guest
#                                channel org.hostdevha.guest.0, which starts
#                                the guest's heartbeat, and the lab's control
#                                port with --with-channel)
#   lab_guest_command NAME CMD...  a command for the guest's init over the
#                                control port (guest/init lists them)
#   lab_guest_start NAME         start it, wait for READY from this boot
#   lab_guest_destroy NAME       destroy it if running
#   lab_qemu_kill NAME           SIGKILL of its QEMU (a crash); back once
#                                libvirt has seen it die
#   lab_guest_active NAME        it is running (or paused)
#   lab_device_xml [ALIAS]       print the stand-in device's XML
#   lab_device_attach NAME [ALIAS]   hot-plug it (live only)
#   lab_device_detach NAME [ALIAS]   unplug it, wait until the live XML lost it
#   lab_guest_has_device NAME [ALIAS]  the running NAME's live XML has it
#   lab_console_mark NAME        later console waits see only newer lines
#   lab_console_wait NAME PATTERN SECONDS
#                                wait for an ERE on the console since the mark
#
# Files: $LAB_DIR/libvirt/{etc,lib,log,run,sock} (bound over /etc/libvirt,
# /var/lib/libvirt, /var/log/libvirt, /run/libvirt; the socket folder),
# $LAB_DIR/libvirtd.{pid,log}, $LAB_DIR/NAME.{xml,console,mark}; QEMU's own
# log in $LAB_DIR/libvirt/log/qemu/NAME.log.  The guest console protocol
# (PCI add/remove lines, READY) is described in guest/init.

LAB_LIBVIRT_DIR=$LAB_DIR/libvirt
# libvirtd runs the executables here on domain events (hooks/qemu.d inside
# the private /etc/libvirt).  Put them there before lab_libvirt_start.
LAB_LIBVIRT_HOOKS_DIR=$LAB_LIBVIRT_DIR/etc/hooks/qemu.d
LAB_DEVICE_ALIAS=ua-hostdev-lab
LAB_GUEST_DIR=$LAB_CACHE/guest
# The static guest tool every lab guest carries (started when the domain
# has the guest channel).
: "${LAB_GUEST_TOOL:=${abs_top_builddir:?}/hostdev-ha-guest}"
# Seconds; raise them on a loaded machine.
: "${LAB_LIBVIRT_TIMEOUT:=30}" "${LAB_GUEST_BOOT_TIMEOUT:=60}" "${LAB_DETACH_TIMEOUT:=10}"

# lab_libvirt_sock_dir: where libvirtd puts its sockets.  A socket path must
# fit in 107 bytes (sun_path): a deep LAB_DIR falls back to the private /run.
lab_libvirt_sock_dir() {
	local d=$LAB_LIBVIRT_DIR/sock longest=/libvirt-admin-sock
	if [ $((${#d} + ${#longest})) -gt 107 ]; then
		d=/run/lab-libvirt-sock
	fi
	echo "$d"
}

lab_libvirt_write_conf() {
	local etc=$LAB_LIBVIRT_DIR/etc
	cat >"$etc/libvirtd.conf" <<-EOF
		unix_sock_dir = "$1"
		auth_unix_ro = "none"
		auth_unix_rw = "none"
		log_outputs = "3:file:$LAB_DIR/libvirtd.log"
	EOF
	# Root everywhere and no labels: nothing of the host is relabelled or
	# chowned.  "file": QEMU's log without virtlogd.
	cat >"$etc/qemu.conf" <<-EOF
		user = "root"
		group = "root"
		dynamic_ownership = 0
		remember_owner = 0
		security_driver = "none"
		namespaces = [ ]
		stdio_handler = "file"
	EOF
}

# lab_libvirt_bind: private state folders over the system ones (once per
# lab: a restarted libvirtd finds the same state).
lab_libvirt_bind() {
	local d=$LAB_LIBVIRT_DIR
	mountpoint -q /etc/libvirt && return 0
	mkdir -p /run/libvirt &&
		lab_bind "$d/etc" /etc/libvirt &&
		lab_bind "$d/lib" /var/lib/libvirt &&
		lab_bind "$d/log" /var/log/libvirt &&
		lab_bind "$d/run" /run/libvirt &&
		lab_bind "$LAB_CACHE/libvirt" /var/cache/libvirt
}

# lab_libvirt_answers: bounded, as a test may have frozen libvirtd.
lab_libvirt_answers() {
	timeout 5 virsh -c "$LAB_LIBVIRT_URI" version >/dev/null 2>&1
}

lab_libvirt_start() {
	local sock pid
	sock=$(lab_libvirt_sock_dir)
	mkdir -p "$LAB_LIBVIRT_DIR"/{etc,lib,log,run} "$LAB_LIBVIRT_HOOKS_DIR" "$sock" \
		"$LAB_CACHE/libvirt" || return 1
	lab_libvirt_write_conf "$sock" || return 1
	lab_libvirt_bind || return 1
	export LAB_LIBVIRT_URI="qemu+unix:///system?socket=$sock/libvirt-sock"
	export LIBVIRT_DEFAULT_URI=$LAB_LIBVIRT_URI
	# No inherited stdio: a test's pipe to the TAP harness must not stay
	# open.  Started from a subshell, so tini reaps it and the test's shell
	# prints no "Killed" when a test kills it.
	pid=$(libvirtd -f "$LAB_LIBVIRT_DIR/etc/libvirtd.conf" -p "$LAB_DIR/libvirtd.pid" \
		</dev/null >>"$LAB_DIR/libvirtd.log" 2>&1 & echo $!)
	lab_wait_for "$LAB_LIBVIRT_TIMEOUT" eval "lab_libvirt_answers || ! lab_alive $pid"
	if ! lab_libvirt_answers; then
		echo "lab: libvirtd did not answer on '$LAB_LIBVIRT_URI'; see $LAB_DIR/libvirtd.log:" >&2
		tail -n 5 "$LAB_DIR/libvirtd.log" >&2
		kill -KILL "$pid" 2>/dev/null
		return 1
	fi
}

lab_libvirt_stop() {
	local name f
	# A test may have stopped it (SIGSTOP) to play a hung libvirtd.
	[ -s "$LAB_DIR/libvirtd.pid" ] && kill -CONT "$(cat "$LAB_DIR/libvirtd.pid")" 2>/dev/null
	if [ -n "${LAB_LIBVIRT_URI:-}" ] && lab_libvirt_answers; then
		# Destroyed by libvirt, so that it removes their cgroups.
		for name in $(timeout 10 virsh list --name); do
			timeout 10 virsh destroy "$name" >/dev/null ||
				echo "lab: cannot destroy '$name'" >&2
		done
	fi
	lab_kill_pidfile "$LAB_DIR/libvirtd.pid"
	# Guests of a libvirtd that was killed before.
	for f in "$LAB_LIBVIRT_DIR"/run/qemu/*.pid; do
		[ -e "$f" ] && lab_kill_pidfile "$f"
	done
	return 0
}

# lab_libvirtd_kill: crash libvirtd; QEMU survives, lab_libvirt_start again
# reconnects to it.
lab_libvirtd_kill() {
	local pid
	[ -s "$LAB_DIR/libvirtd.pid" ] || return 0
	pid=$(cat "$LAB_DIR/libvirtd.pid")
	kill -KILL "$pid" 2>/dev/null
	lab_wait_for 10 eval "! lab_alive $pid"
	rm -f "$LAB_DIR/libvirtd.pid"
}

# lab_mac ALIAS: a stable locally administered MAC for ALIAS.
lab_mac() {
	local n
	n=$(printf '%s' "$1" | cksum)
	n=${n%% *}
	printf '52:54:00:%02x:%02x:%02x\n' $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255))
}

lab_device_xml() {
	local alias=${1:-$LAB_DEVICE_ALIAS}
	cat <<-EOF
		<interface type='user'>
		  <mac address='$(lab_mac "$alias")'/>
		  <model type='e1000e'/>
		  <alias name='$alias'/>
		</interface>
	EOF
}

# lab_guest_xml NAME [--with-device] [--with-channel]: no USB, no balloon,
# no NIC; free pcie-root-ports for hot-plug (libvirt cannot add one to a
# running guest; the virtio-serial controller takes one). no_timer_check:
# under TCG on a loaded host the kernel's IO-APIC timer check can fail and
# panic ("IO-APIC + timer doesn't work!", seen in CI). unknown_nmi_panic: a
# test hangs the kernel with "virsh inject-nmi" (it panics and, without a
# pvpanic device, stops there: no libvirt event at all).
lab_guest_xml() {
	local name=$1 ports=5 i device=false channel=false
	shift
	for i in "$@"; do
		case $i in
		--with-device) device=true ;;
		--with-channel) channel=true ;;
		esac
	done
	cat <<-EOF
		<domain type='qemu'>
		  <name>$name</name>
		  <memory unit='MiB'>160</memory>
		  <vcpu>1</vcpu>
		  <os>
		    <type arch='x86_64' machine='q35'>hvm</type>
		    <kernel>$LAB_GUEST_DIR/vmlinux</kernel>
		    <initrd>$LAB_GUEST_DIR/initramfs.cpio.gz</initrd>
		    <cmdline>console=ttyS0 quiet loglevel=1 no_timer_check unknown_nmi_panic</cmdline>
		  </os>
		  <features><acpi/></features>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <emulator>/usr/bin/qemu-system-x86_64</emulator>
		    <controller type='usb' model='none'/>
		    <controller type='pci' model='pcie-root'/>
	EOF
	for i in $(seq "$ports"); do
		echo "    <controller type='pci' index='$i' model='pcie-root-port'/>"
	done
	if $device; then
		lab_device_xml | sed 's/^/    /'
	fi
	if $channel; then
		cat <<-EOF
			    <channel type='unix'>
			      <source mode='bind'/>
			      <target type='virtio' name='org.hostdevha.guest.0'/>
			    </channel>
			    <channel type='pipe'>
			      <source path='$LAB_DIR/$name.ctl'/>
			      <target type='virtio' name='org.hostdevha.lab.0'/>
			    </channel>
		EOF
	fi
	cat <<-EOF
		    <serial type='file'>
		      <source path='$LAB_DIR/$name.console' append='on'/>
		    </serial>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	EOF
}

lab_guest_define() {
	local name=$1 xml=$LAB_DIR/$1.xml o
	shift
	for o in "$@"; do
		case $o in --with-device | --with-channel) ;; *) echo "lab: lab_guest_define: bad option '$o'" >&2; return 1 ;; esac
	done
	"$LAB_HOME/guest/build-guest" "$LAB_GUEST_DIR" "$LAB_GUEST_TOOL" >&2 || return 1
	# The control port: a FIFO QEMU reads (and would write: nothing does).
	rm -f "$LAB_DIR/$name.ctl"
	mkfifo "$LAB_DIR/$name.ctl" || return 1
	lab_guest_xml "$name" "$@" >"$xml" || return 1
	virsh define "$xml" >/dev/null
}

# lab_guest_command NAME CMD...: bounded, as the guest may be hung (QEMU
# still reads the FIFO then).
lab_guest_command() {
	local name=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout 5 bash -c 'printf "%s\n" "$1" >"$2"' _ "$*" "$LAB_DIR/$name.ctl"
}

lab_guest_active() {
	local id
	id=$(virsh domid "$1" 2>/dev/null) && [ -n "$id" ] && [ "$id" != - ]
}

lab_guest_start() {
	lab_console_mark "$1"
	virsh start "$1" >/dev/null || return 1
	lab_console_wait "$1" '^READY$' "$LAB_GUEST_BOOT_TIMEOUT"
}

lab_guest_destroy() {
	lab_guest_active "$1" || return 0
	virsh destroy "$1" >/dev/null
}

# lab_domid_changed NAME ID: libvirt answers for NAME with another id than
# ID ("-" once shut off, a new one once started again).
lab_domid_changed() {
	local now
	now=$(virsh domid "$1" 2>/dev/null) && [ -n "$now" ] && [ "$now" != "$2" ]
}

# Until libvirt has read QEMU's end, it still shows the domain as it was:
# whoever looks right after the kill must not take that for the state
# after the crash. 1 if NAME had no QEMU, or libvirt did not see it die
# within LAB_LIBVIRT_TIMEOUT.
lab_qemu_kill() {
	local f=/run/libvirt/qemu/$1.pid id
	[ -s "$f" ] || return 1
	id=$(virsh domid "$1" 2>/dev/null)
	kill -KILL "$(cat "$f")" 2>/dev/null || return 1
	lab_wait_for "$LAB_LIBVIRT_TIMEOUT" lab_domid_changed "$1" "$id"
}

lab_guest_has_device() {
	local alias=${2:-$LAB_DEVICE_ALIAS} xml
	xml=$(virsh dumpxml "$1") || return 1
	# Only a running domain's XML carries id='N'.
	case ${xml%%$'\n'*} in *" id='"*) ;; *) return 1 ;; esac
	case $xml in *"<alias name='$alias'/>"*) return 0 ;; esac
	return 1
}

lab_device_attach() {
	local alias=${2:-$LAB_DEVICE_ALIAS} xml
	xml=$LAB_DIR/device-$alias.xml
	lab_device_xml "$alias" >"$xml" || return 1
	lab_console_mark "$1"
	virsh attach-device "$1" "$xml" --live >/dev/null
}

# lab_device_detach NAME [ALIAS]: the request returns before the guest has
# let go (and may be lost): the live XML is the proof.
lab_device_detach() {
	local alias=${2:-$LAB_DEVICE_ALIAS}
	lab_console_mark "$1"
	virsh detach-device-alias "$1" "$alias" --live >/dev/null || return 1
	if ! lab_wait_for "$LAB_DETACH_TIMEOUT" eval "! lab_guest_has_device '$1' '$alias' 2>/dev/null"; then
		echo "lab: '$alias' still on '$1' after ${LAB_DETACH_TIMEOUT} s" >&2
		return 1
	fi
}

# lab_console_mark NAME: remember the console's size.
lab_console_mark() {
	local size=0
	[ -f "$LAB_DIR/$1.console" ] && size=$(stat -c %s "$LAB_DIR/$1.console")
	echo "$size" >"$LAB_DIR/$1.mark"
}

# lab_console_since NAME: the console's lines since the mark, without CRs.
lab_console_since() {
	local mark=0
	[ -f "$LAB_DIR/$1.console" ] || return 0
	[ -f "$LAB_DIR/$1.mark" ] && mark=$(cat "$LAB_DIR/$1.mark")
	tail -c +$((mark + 1)) "$LAB_DIR/$1.console" | tr -d '\r'
}

lab_console_has() {
	lab_console_since "$1" | grep -qE -- "$2"
}

lab_console_wait() {
	lab_wait_for "$3" lab_console_has "$1" "$2" && return 0
	echo "lab: no '$2' on the console of '$1' within $3 s; since the mark:" >&2
	lab_console_since "$1" | tail -n 5 >&2
	return 1
}

# lab_device_holders [--alias A] DOMAIN...: the running domains whose live
# XML has the device, space-separated. One virsh call for them all (it goes
# on past a domain it does not know): samplers call this over and over, and
# each virsh costs tens of ms of CPU.
lab_device_holders() {
	local alias=$LAB_DEVICE_ALIAS d cmd=
	if [ "${1:-}" = --alias ]; then
		alias=$2
		shift 2
	fi
	[ $# -gt 0 ] || { echo; return 0; }
	for d; do cmd="$cmd dumpxml $d;"; done
	virsh "$cmd" 2>/dev/null | lab_xml_holders "$alias"
}

# lab_device_exclusive [--alias A] EXPECTED DOMAIN...: the device is on
# EXPECTED alone ("" = on none of DOMAIN...); says what it found otherwise.
lab_device_exclusive() {
	local opt=() expected h
	if [ "${1:-}" = --alias ]; then
		opt=(--alias "$2")
		shift 2
	fi
	expected=$1
	shift
	h=$(lab_device_holders "${opt[@]}" "$@")
	[ "$h" = "$expected" ] && return 0
	echo "# device on '${h}', expected '${expected}'"
	return 1
}
