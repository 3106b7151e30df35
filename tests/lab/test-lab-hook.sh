#!/bin/bash
# The libvirt hook in the real libvirtd's private hooks folder, with no
# daemon running: a member domain whose persistent XML carries the group's
# device is refused at `virsh start` while the table gives the device to
# another domain, with the hook's line in virsh's error; it starts when the
# table gives the device to nobody or to it; members without the device and
# domains outside every group always start; a corrupt table refuses the
# members that carry the device, naming the file, and nothing else.
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-hook.sh
. "$LAB_HOME/lab-hook.sh"

trap lab_libvirt_stop EXIT

state=$LAB_DIR/state
table=$state/table.d/nic0.json
members="vm-a vm-b vm-c vm-d"
alias=ua-hostdev-nic0

# write_config: group nic0 with the stand-in device, four members.
write_config() {
	mkdir -p "$LAB_HOOK_CONFIG/groups.d" "$state/table.d" &&
		lab_device_xml "$alias" >"$LAB_HOOK_CONFIG/nic0-device.xml" &&
		cat >"$LAB_HOOK_CONFIG/hostdev-ha.conf" <<-EOF &&
			[Daemon]
			StateDirectory=$state
		EOF
		cat >"$LAB_HOOK_CONFIG/groups.d/nic0.conf" <<-EOF
			[Group]
			DeviceXML=/etc/hostdev-ha/nic0-device.xml
			Domains=$members
			Policy=manual
		EOF
}

# define_with NAME [DEVICE-XML]: a lab guest with DEVICE-XML in its
# persistent definition.
define_with() {
	local xml serial="    <serial type='file'>"
	xml=$(lab_guest_xml "$1") || return 1
	if [ -n "${2:-}" ]; then
		xml=${xml/"$serial"/"$(printf '%s\n' "$2" | sed 's/^/    /')"$'\n'"$serial"}
	fi
	printf '%s\n' "$xml" >"$LAB_DIR/$1.xml" && virsh define "$LAB_DIR/$1.xml" >/dev/null
}

# write_table ACTIVE [OPERATION STEP SOURCE TARGET]: "-" for none.
write_table() {
	local active=$1 op=${2:-none} step=${3:-none} src=${4:--} dst=${5:--} m role sep=
	q() { if [ "$1" = - ]; then echo null; else echo "\"$1\""; fi; }
	{
		printf '{ "format": 3, "group": "nic0", "active": %s, "generation": 5, "frozen": false,' "$(q "$active")"
		printf ' "operation": "%s", "step": "%s", "source": %s, "target": %s, "members": [' \
			"$op" "$step" "$(q "$src")" "$(q "$dst")"
		for m in $members; do
			role=standby
			[ "$m" = "$active" ] && role=active
			printf '%s { "domain": "%s", "role": "%s", "resource": null, "node": null }' "$sep" "$m" "$role"
			sep=,
		done
		printf ' ] }\n'
	} >"$table"
}

stop_all() {
	local d
	for d in $members vm-out; do
		lab_guest_destroy "$d" || return 1
	done
}

# starts NAME: virsh start succeeds and the domain runs.
starts() {
	local out
	if ! out=$(virsh start "$1" 2>&1); then
		diag "virsh start $1: $out"
		return 1
	fi
	lab_guest_active "$1"
}

# refused NAME TEXT...: virsh start fails, its error has every TEXT, and the
# domain is not running.
refused() {
	local name=$1 out t
	shift
	if out=$(virsh start "$name" 2>&1); then
		diag "virsh start $name succeeded: $out"
		return 1
	fi
	diag "virsh start $name: ${out//$'\n'/ }"
	for t in "$@"; do
		case $out in *"$t"*) ;; *) diag "missing: $t"; return 1 ;; esac
	done
	! lab_guest_active "$name"
}

# hook_us NAME OP FILE: microseconds per run of the installed hook, as
# libvirtd runs it ("NAME OP begin -", FILE on stdin), over 200 runs.
hook_us() {
	local t0 n=200 _
	t0=$(date +%s%N)
	for _ in $(seq $n); do
		env -i LC_ALL=C PATH="$PATH" "$LAB_LIBVIRT_HOOKS_DIR/hostdev-ha" "$1" "$2" begin - <"$3" 2>/dev/null
	done
	echo $(( ($(date +%s%N) - t0) / n / 1000 ))
}

check "hook installed before libvirtd starts" lab_hook_install
check "configuration written" write_config
check "the hook sees it in /etc/hostdev-ha (the lab's only)" test -f /etc/hostdev-ha/groups.d/nic0.conf
check "libvirtd starts privately" lab_libvirt_start
device=$(lab_device_xml "$alias")
mac_only="<interface type='user'><mac address='$(lab_mac "$alias")'/><model type='e1000e'/></interface>"
check "guest image built" "$LAB_HOME/guest/build-guest" "$LAB_GUEST_DIR" "$LAB_GUEST_TOOL"
check "vm-a defined with the device (alias $alias)" define_with vm-a "$device"
check "vm-b defined with the device (alias $alias)" define_with vm-b "$device"
check "vm-c defined with the device's MAC only" define_with vm-c "$mac_only"
check "vm-d (member) defined without the device" define_with vm-d
check "vm-out (outside every group) defined with the device" define_with vm-out "$device"
check "no hostdev-had runs" eval '! pgrep -x hostdev-had >/dev/null'

diag "table: nic0 allocated to vm-a"
write_table vm-a
check "vm-b refused while vm-a holds the device, the reason in virsh's error" refused vm-b \
	"hostdev-ha: domain 'vm-b' has device $alias of group 'nic0' in its definition, but the device is allocated to 'vm-a'; start it without the device (hostdevctl activate vm-b) or switch the device first (hostdevctl switch nic0 vm-b)"
check "vm-c refused: same MAC" refused vm-c "has device <interface> with MAC $(lab_mac "$alias") of group 'nic0'" \
	"allocated to 'vm-a'"
check "vm-d (member without the device) starts" starts vm-d
check "vm-out (outside every group) starts" starts vm-out
check "vm-a (the holder) starts" starts vm-a
check "all stopped" stop_all

diag "table: nic0 switching from vm-a to vm-b"
write_table vm-a switch attaching vm-a vm-b
check "vm-a refused while a switch moves the device to vm-b" refused vm-a \
	"a switch in flight is attaching the device to 'vm-b'"
write_table vm-b
check "vm-b starts when the table gives it the device" starts vm-b
check "vm-a refused now" refused vm-a "allocated to 'vm-b'"
check "all stopped" stop_all

write_table -
check "vm-b starts when the device is allocated to nobody" starts vm-b
check "all stopped" stop_all
rm -f "$table"
check "vm-b starts when there is no table yet" starts vm-b
check "all stopped" stop_all

diag "table: corrupt"
printf '{ "format": 3, "group": "nic0", "active": "vm-a" }\n' >"$table"
check "vm-b refused, the file named" refused vm-b "has device $alias of group 'nic0'" \
	"the allocation table cannot be read ($table: "
check "vm-a refused too (fail closed)" refused vm-a "($table: "
check "vm-d (member without the device) starts" starts vm-d
check "vm-out starts" starts vm-out
check "all stopped" stop_all

write_table vm-a
virsh dumpxml --inactive vm-b >"$LAB_DIR/vm-b.inactive.xml"
virsh dumpxml --inactive vm-d >"$LAB_DIR/vm-d.inactive.xml"
diag "hook run time (us per run, 200 runs, fork+exec included):" \
	"other operation $(hook_us vm-b started "$LAB_DIR/vm-b.inactive.xml")," \
	"outside every group $(hook_us vm-out prepare "$LAB_DIR/vm-b.inactive.xml")," \
	"member without the device $(hook_us vm-d prepare "$LAB_DIR/vm-d.inactive.xml")," \
	"member with the device, refused $(hook_us vm-b prepare "$LAB_DIR/vm-b.inactive.xml")"

check "libvirtd and guests stop" lab_libvirt_stop
tap_done
