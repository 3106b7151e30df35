#!/bin/bash
# The D-Bus API of hostdev-had (daemon/bus.c) on the lab's private system
# bus with the project's policy, served by bus-harness: the real bus code
# and state machine on the fake hypervisor (operations take a few 100 ms
# ticks). No libvirt. Checked with busctl and dbus-send (which prints the
# error names): introspection equals dbus/org.hostdevha.Manager1.xml; reads;
# a switch replies only once finished; a racing switch gets Busy; every named
# error; the cluster view of a host in no cluster (GetClusterStatus); a
# caller without rights gets AccessDenied and changes nothing (but reads);
# AdminGroup= members may change; PropertiesChanged and ConnectionChanged
# are sent; reload, which waits for a busy group and then applies; with a
# real polkitd on the bus, a polkit rule allows a caller, polkit refuses
# another, and a call held for polkit's answer blocks no status query; a
# call cut short by a stop gets Interrupted.
set -u
# Light: no guests, no cluster; runs beside the heavy suites.
LAB_LIGHT=1
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"

HARNESS=$abs_top_builddir/tests/lab/bus-harness
XML=$abs_top_srcdir/dbus/org.hostdevha.Manager1.xml
[ -x "$HARNESS" ] || lab_die "'$HARNESS' is missing: run make check"
ADMIN_GROUP=users
ADMIN_GID=$(getent group "$ADMIN_GROUP" | cut -d: -f3)
[ -n "$ADMIN_GID" ] || lab_die "group '$ADMIN_GROUP' is missing"
NOBODY_GID=$(id -g nobody)
PASSTHROUGH_ERROR="host doesn't support passthrough of host PCI devices (code 67)"

harness_pid=
monitor_pid=
cleanup() {
	[ -z "$monitor_pid" ] || kill "$monitor_pid" 2>/dev/null
	[ -z "$harness_pid" ] || kill -TERM "$harness_pid" 2>/dev/null
	lab_bus_stop
}
trap cleanup EXIT
lab_bus_start

conf=$LAB_DIR/conf
mkdir -p "$conf/groups.d" "$LAB_DIR/state"
printf '[Daemon]\nAdminGroup=%s\n' "$ADMIN_GROUP" >"$conf/hostdev-ha.conf"
printf '[Group]\nDevice=0000:03:00.0\nDomains=vm-a vm-b vm-c\nPolicy=manual\n' >"$conf/groups.d/nic0.conf"
echo "<interface type='network'><source network='default'/><model type='e1000e'/></interface>" >"$conf/web-1.xml"
printf '[Group]\nDeviceXML=%s\nDomains=vm-d vm-e\nPolicy=auto\n' "$conf/web-1.xml" >"$conf/groups.d/web-1.conf"

"$HARNESS" --config-dir "$conf" --table "$LAB_DIR/state/table.d" --transcript "$LAB_DIR/transcript" \
	--fail "vm-c:attach:$PASSTHROUGH_ERROR" >"$LAB_DIR/harness.log" 2>&1 &
harness_pid=$!

bus() { busctl --address="$LAB_BUS_ADDRESS" "$@"; }
MGR=(org.hostdevha.Manager1 /org/hostdevha/Manager1 org.hostdevha.Manager1)
NIC0=/org/hostdevha/Manager1/group/nic0
WEB1=/org/hostdevha/Manager1/group/web_2d1
# prop PATH NAME: busctl's text ('s "vm-a"').
prop() { bus get-property org.hostdevha.Manager1 "$1" org.hostdevha.Group1 "$2"; }
prop_is() {
	local v
	v=$(prop "$1" "$2") || return 1
	[ "$v" = "$3" ] || { diag "$2 of $1: $v, expected $3"; return 1; }
}
named() { bus status org.hostdevha.Manager1 >/dev/null 2>&1; }
# send [USER [GID...]] -- METHOD ARGS...: a manager call with dbus-send
# (arguments as type:value); prints "Error NAME: message" on failure.
send_as() {
	local user=$1 groups=$2 ids
	shift 2
	if [ -n "$groups" ]; then ids=(--groups="$groups"); else ids=(--clear-groups); fi
	local cmd=(dbus-send --bus="$LAB_BUS_ADDRESS" --print-reply --dest=org.hostdevha.Manager1
		/org/hostdevha/Manager1 "org.hostdevha.Manager1.$1" "${@:2}")
	case $user in
	root) "${cmd[@]}" ;;
	*) setpriv --reuid="$user" --regid="$NOBODY_GID" "${ids[@]}" "${cmd[@]}" ;;
	esac
}
send() { send_as root "" "$@"; }
# expect_error NAME TEXT METHOD ARGS...: the call fails with that error
# name and a message that contains TEXT.
expect_error() {
	local name=$1 text=$2 out
	shift 2
	out=$(send "$@" 2>&1 >/dev/null) && { diag "$1 succeeded"; return 1; }
	case $out in
	"Error org.hostdevha.Error.$name: "*"$text"*) return 0 ;;
	*) diag "$1: got '${out:0:300}'"; return 1 ;;
	esac
}
expect_error_as() {
	local user=$1 groups=$2 name=$3 text=$4 out
	shift 4
	out=$(send_as "$user" "$groups" "$@" 2>&1 >/dev/null) && { diag "$1 succeeded"; return 1; }
	case $out in
	"Error org.hostdevha.Error.$name: "*"$text"*) return 0 ;;
	*) diag "$1 as $user: got '${out:0:300}'"; return 1 ;;
	esac
}
# is EXPECTED COMMAND...: COMMAND prints exactly EXPECTED.
is() {
	local want=$1 out
	shift
	out=$("$@") || { diag "$* failed"; return 1; }
	[ "$out" = "$want" ] || { diag "$*: '${out:0:400}', expected '${want:0:400}'"; return 1; }
}
# has REGEX COMMAND...: COMMAND's output matches REGEX (grep -E).
has() {
	local re=$1 out
	shift
	out=$("$@" 2>&1)
	grep -qE -- "$re" <<<"$out" || { diag "$*: '${out:0:400}' does not match '$re'"; return 1; }
}
as_nobody() { setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups "$@"; }
idle() { [ "$(prop "$1" Busy)" = "b false" ]; }
# hold / unhold: the harness's fake hypervisor stops / resumes completing
# work (SIGUSR1 / SIGUSR2); each waits for the harness's log to say so.
acknowledged() { [ "$(grep -c "$1" "$LAB_DIR/harness.log")" -gt "$2" ]; }
signal_harness() {
	local n
	n=$(grep -c "$2" "$LAB_DIR/harness.log")
	kill "-$1" "$harness_pid" && lab_wait_for 30 acknowledged "$2" "$n"
}
hold() { signal_harness USR1 'Fake hypervisor held'; }
unhold() { signal_harness USR2 'Fake hypervisor running again'; }
op_running() { [ "$(prop "$NIC0" Operation)" = 's "switch"' ]; }
generation() { prop "$1" Generation | cut -d' ' -f2; }
# The signals dbus-monitor saw, one per line.
signals() {
	awk '/^signal /{ if (m) print m; m = $0; next } { m = m " " $0 } END { if (m) print m }' \
		"$LAB_DIR/monitor.log" | tr -s ' '
}
# signal_seen HEADER CONTENT: a signal whose header has HEADER and whose
# arguments have CONTENT (both fixed strings).
signal_seen() { signals | grep -F -- "$1" | grep -qF -- "$2"; }
xml_iface() {
	xmllint --xpath "//interface[@name='$2']" "$1" | sed 's/^[[:space:]]*//' | grep -v '^$'
}
introspection_matches() {
	bus introspect --xml-interface org.hostdevha.Manager1 "$1" >"$LAB_DIR/live.xml" || return 1
	diff -u <(xml_iface "$XML" "$2") <(xml_iface "$LAB_DIR/live.xml" "$2")
}

check "the harness takes the name after reconciling" lab_wait_for 30 named
lab_alive "$harness_pid" || lab_die "bus-harness died: $(cat "$LAB_DIR/harness.log")"

# --- Introspection and reading ------------------------------------------------
check "Manager1 introspection equals the XML" introspection_matches /org/hostdevha/Manager1 org.hostdevha.Manager1
check "Group1 introspection equals the XML" introspection_matches "$NIC0" org.hostdevha.Group1
check "ListGroups: names and escaped paths" is "a(so) 2 \"nic0\" \"$NIC0\" \"web-1\" \"$WEB1\"" \
	bus call "${MGR[@]}" ListGroups
check "GetGroup gives the path" is "o \"$WEB1\"" bus call "${MGR[@]}" GetGroup s web-1
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$abs_top_builddir/config.h")
check "Version is the package's" is "s \"$version\"" bus get-property "${MGR[@]}" Version
check "Connected" is "b true" bus get-property "${MGR[@]}" Connected
check "Groups" is "ao 2 \"$NIC0\" \"$WEB1\"" bus get-property "${MGR[@]}" Groups
check "nic0: Active" prop_is "$NIC0" Active 's "vm-a"'
check "nic0: Device" prop_is "$NIC0" Device 's "0000:03:00.0"'
check "nic0: Members" prop_is "$NIC0" Members 'a(ss) 3 "vm-a" "active" "vm-b" "standby" "vm-c" "standby"'
check "nic0: Policy" prop_is "$NIC0" Policy 's "manual"'
check "nic0: Frozen" prop_is "$NIC0" Frozen 'b false'
check "nic0: Operation" prop_is "$NIC0" Operation 's ""'
check "nic0: Step" prop_is "$NIC0" Step 's ""'
check "nic0: Busy" prop_is "$NIC0" Busy 'b false'
check "web-1: Device is the DeviceXML= path" prop_is "$WEB1" Device "s \"$conf/web-1.xml\""
status_want() {
	printf 'ba(ssstssa(ss)sbb) true 2 "nic0" "0000:03:00.0" "vm-a" %s "" "" 3 "vm-a" "active" "vm-b" "standby" "vm-c" "standby" "manual" false false "web-1" "%s" "" %s "" "" 2 "vm-d" "standby" "vm-e" "standby" "auto" false false' \
		"$(generation "$NIC0")" "$conf/web-1.xml" "$(generation "$WEB1")"
}
check "GetStatus: everything in one call" is "$(status_want)" bus call "${MGR[@]}" GetStatus
# No cluster here: not connected, no node name, no tokens, and each group
# once, under this host's name.
host=$(uname -n)
cluster_want() {
	printf 'bbsa(ssstssb)a(sssst) false false "" 2 "%s" "nic0" "vm-a" %s "" "" false "%s" "web-1" "" %s "" "" false 0' \
		"$host" "$(generation "$NIC0")" "$host" "$(generation "$WEB1")"
}
check "GetClusterStatus: in no cluster, each group once under this host's name" is "$(cluster_want)" \
	bus call "${MGR[@]}" GetClusterStatus
check "GetManagedObjects lists both groups" has "\"$WEB1\".*\"web-1\"" \
	bus call org.hostdevha.Manager1 /org/hostdevha/Manager1 org.freedesktop.DBus.ObjectManager GetManagedObjects

# --- A switch replies when it finished; signals --------------------------------
dbus-monitor --address "$LAB_BUS_ADDRESS" "type='signal',sender='org.hostdevha.Manager1'" \
	>"$LAB_DIR/monitor.log" 2>&1 &
monitor_pid=$!
lab_wait_for 30 grep -q NameAcquired "$LAB_DIR/monitor.log" || lab_die "dbus-monitor did not start"

gen0=$(generation "$NIC0")
t0=$(date +%s%N)
check "Switch nic0 to vm-b succeeds" bus call "${MGR[@]}" Switch ssb nic0 vm-b false
diag "the switch took $(( ($(date +%s%N) - t0) / 1000000 )) ms (100 ms per step of the fake hypervisor)"
check "... replied once finished: Active is vm-b" prop_is "$NIC0" Active 's "vm-b"'
check "... and no operation is left" prop_is "$NIC0" Operation 's ""'
check "... Generation grew" test "$(generation "$NIC0")" -gt "$gen0"
check "... Members follow" prop_is "$NIC0" Members 'a(ss) 3 "vm-a" "standby" "vm-b" "active" "vm-c" "standby"'
check "PropertiesChanged with the new Active value" lab_wait_for 30 signal_seen \
	"path=$NIC0; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged" \
	'string "Active" variant string "vm-b"'
check "PropertiesChanged for Operation during the switch" signal_seen "member=PropertiesChanged" \
	'string "Operation" variant string "switch"'
check "PropertiesChanged for Step during the switch" signal_seen "member=PropertiesChanged" \
	'string "Step" variant string "detaching"'
# The device is released before it is attached: two moves.
check "ConnectionChanged nic0 vm-a -> none" signal_seen "member=ConnectionChanged" \
	'string "nic0" string "vm-a" string "" uint64'
check "ConnectionChanged nic0 none -> vm-b" signal_seen "member=ConnectionChanged" \
	'string "nic0" string "" string "vm-b" uint64'

# --- Busy -------------------------------------------------------------------------
# The fake hypervisor held: the first switch stays in flight until let go.
check "the fake hypervisor held" hold
bus call "${MGR[@]}" Switch ssb nic0 vm-a false >"$LAB_DIR/race.out" 2>&1 &
race=$!
check "a switch is in flight" lab_wait_for 30 op_running
check "a racing switch gets Busy at once" expect_error Busy "Group 'nic0' is busy with a switch" \
	Switch string:nic0 string:vm-c boolean:false
check "Release of a busy group gets Busy" expect_error Busy "busy with a switch" Release string:nic0
check "Busy is true during the switch" prop_is "$NIC0" Busy "b true"
check "reading answers during the switch" has '"switch"' bus call "${MGR[@]}" GetStatus
check "the fake hypervisor runs again" unhold
check "the first switch succeeds" wait "$race"
check "... and the racing one changed nothing: vm-a holds the device" \
	prop_is "$NIC0" Members 'a(ss) 3 "vm-a" "active" "vm-b" "standby" "vm-c" "standby"'
check "Busy is false again" prop_is "$NIC0" Busy "b false"

# --- Named errors -------------------------------------------------------------------
check "NoSuchGroup" expect_error NoSuchGroup "No group 'nic9'" Switch string:nic9 string:vm-b boolean:false
check "NoSuchGroup from GetGroup" expect_error NoSuchGroup "No group 'nic9'" GetGroup string:nic9
check "NotMember" expect_error NotMember "Domain 'vm-d' is not a member of group 'nic0'" \
	Switch string:nic0 string:vm-d boolean:false
check "NoSuchDomain" expect_error NoSuchDomain "'vm-zz'" Activate string:vm-zz
check "NothingToDo: switch to the holder" expect_error NothingToDo "'vm-a' already holds" \
	Switch string:nic0 string:vm-a boolean:false
check "NothingToDo: activate a standby" expect_error NothingToDo "'vm-b' is already running" Activate string:vm-b
check "Busy: rebuild of the holder" expect_error Busy "'vm-a' holds the device" Rebuild string:vm-a
big=$(head -c 65536 /dev/zero | tr '\0' a)
check "InvalidArgument: empty group" expect_error InvalidArgument "Invalid group name" \
	Switch string: string:vm-b boolean:false
check "InvalidArgument: empty domain" expect_error InvalidArgument "Invalid domain name" \
	Switch string:nic0 string: boolean:false
check "InvalidArgument: 64 KiB group" expect_error InvalidArgument "Invalid group name" \
	Switch "string:$big" string:vm-b boolean:false
check "InvalidArgument: 64 KiB domain" expect_error InvalidArgument "Invalid domain name" Rebuild "string:$big"
check "InvalidArgument: a path as a name" expect_error InvalidArgument "Invalid group name" Freeze string:../nic0
check "InvalidArgument on the group object: 64 KiB domain" has "Invalid domain name" \
	bus call org.hostdevha.Manager1 "$NIC0" org.hostdevha.Group1 Switch sb "$big" false
check "Freeze" send Freeze string:nic0
check "... Frozen is true" prop_is "$NIC0" Frozen "b true"
check "Frozen" expect_error Frozen "Group 'nic0' is frozen" Switch string:nic0 string:vm-b boolean:false
check "Thaw" send Thaw string:nic0
check "... Frozen is false" prop_is "$NIC0" Frozen "b false"
check "Deactivate vm-c" send Deactivate string:vm-c
check "... replied once vm-c is deactivated" \
	prop_is "$NIC0" Members 'a(ss) 3 "vm-a" "active" "vm-b" "standby" "vm-c" "deactivated"'
check "NotStandby: switch to a deactivated domain" expect_error NotStandby \
	"'vm-c' is not a running standby of group 'nic0' (it is deactivated)" Switch string:nic0 string:vm-c boolean:false
check "Activate vm-c" send Activate string:vm-c
check "... replied once vm-c is a standby" \
	prop_is "$NIC0" Members 'a(ss) 3 "vm-a" "active" "vm-b" "standby" "vm-c" "standby"'

# --- Authorization ---------------------------------------------------------------------
state_before=$(bus call "${MGR[@]}" GetStatus)
check "nobody: Switch is AccessDenied" expect_error_as nobody "" AccessDenied \
	"needs root or membership of group '$ADMIN_GROUP'" Switch string:nic0 string:vm-b boolean:false
check "nobody: Freeze is AccessDenied" expect_error_as nobody "" AccessDenied "" Freeze string:nic0
check "nobody: Deactivate is AccessDenied" expect_error_as nobody "" AccessDenied "" Deactivate string:vm-b
check "nobody: Reload is AccessDenied" expect_error_as nobody "" AccessDenied "" Reload
check "nobody: Release on the group object is denied" has "needs root" \
	as_nobody busctl --address="$LAB_BUS_ADDRESS" call org.hostdevha.Manager1 "$NIC0" org.hostdevha.Group1 Release
check "... and nothing changed" is "$state_before" bus call "${MGR[@]}" GetStatus
check "nobody may read a property" is 's "vm-a"' \
	as_nobody busctl --address="$LAB_BUS_ADDRESS" get-property org.hostdevha.Manager1 "$NIC0" org.hostdevha.Group1 Active
check "nobody may call GetStatus" is "$state_before" \
	as_nobody busctl --address="$LAB_BUS_ADDRESS" call "${MGR[@]}" GetStatus
check "nobody may call GetClusterStatus" is "$(bus call "${MGR[@]}" GetClusterStatus)" \
	as_nobody busctl --address="$LAB_BUS_ADDRESS" call "${MGR[@]}" GetClusterStatus
check "nobody may introspect" has "org.hostdevha.Manager1" \
	as_nobody busctl --address="$LAB_BUS_ADDRESS" introspect org.hostdevha.Manager1 /org/hostdevha/Manager1
check "nobody may list the managed objects" has "web-1" \
	as_nobody busctl --address="$LAB_BUS_ADDRESS" call org.hostdevha.Manager1 /org/hostdevha/Manager1 \
	org.freedesktop.DBus.ObjectManager GetManagedObjects
check "nobody in AdminGroup= may Freeze" send_as nobody "$ADMIN_GID" Freeze string:nic0
check "... Frozen is true" prop_is "$NIC0" Frozen "b true"
check "nobody in AdminGroup= may Thaw" send_as nobody "$ADMIN_GID" Thaw string:nic0
check "... Frozen is false" prop_is "$NIC0" Frozen "b false"

# --- Reload ------------------------------------------------------------------------------------
printf '[Group]\nDevice=0000:04:00.0\nDomains=vm-x vm-y\nPolicy=manual\n' >"$conf/groups.d/extra.conf"
EXTRA=/org/hostdevha/Manager1/group/extra
check "Reload adds a group" send Reload
check "... to Groups" has "group/extra" bus get-property "${MGR[@]}" Groups
check "... with InterfacesAdded" lab_wait_for 30 signal_seen "member=InterfacesAdded" "object path \"$EXTRA\""
check "... with PropertiesChanged for Groups" signal_seen "member=PropertiesChanged" \
	'string "org.hostdevha.Manager1" array [ dict entry( string "Groups"'
extra_idle() { idle "$EXTRA" && idle "$NIC0"; }
check "the groups reconcile" lab_wait_for 30 extra_idle
printf '[Group]\nDevice=0000:04:00.0\nDomains=vm-x\n' >"$conf/groups.d/extra.conf"
check "a bad configuration: BadConfiguration naming the file" expect_error BadConfiguration "extra.conf" Reload
check "... and the groups stay" has "group/extra" bus get-property "${MGR[@]}" Groups
rm -f "$conf/groups.d/extra.conf"
check "Reload drops the group again" send Reload
check "... from Groups" is "ao 2 \"$NIC0\" \"$WEB1\"" bus get-property "${MGR[@]}" Groups
check "... with InterfacesRemoved" lab_wait_for 30 signal_seen "member=InterfacesRemoved" "object path \"$EXTRA\""
check "the groups reconcile again" lab_wait_for 30 idle "$NIC0"

# A reload while a group is busy waits for it, is applied once the group is
# idle, and only then replies.
check "the fake hypervisor held for a reload" hold
bus call "${MGR[@]}" Switch ssb nic0 vm-b false >"$LAB_DIR/reload-switch.out" 2>&1 &
busy_switch=$!
check "a switch is in flight for the reload" lab_wait_for 30 op_running
printf '[Group]\nDevice=0000:04:00.0\nDomains=vm-x vm-y\nPolicy=manual\n' >"$conf/groups.d/extra.conf"
bus call "${MGR[@]}" Reload >"$LAB_DIR/reload.out" 2>&1 &
busy_reload=$!
reload_waits() { grep -q "the new configuration waits" "$LAB_DIR/harness.log"; }
check "Reload waits while the switch is in flight" lab_wait_for 30 reload_waits
check "... without a reply" kill -0 "$busy_reload"
no_extra() { ! bus get-property "${MGR[@]}" Groups | grep -q group/extra; }
check "... and the group is not there yet" no_extra
check "the fake hypervisor runs again after the reload" unhold
check "the switch succeeds, the reload waiting" wait "$busy_switch"
check "Reload replies once applied" wait "$busy_reload"
check "... and the group is there" has "group/extra" bus get-property "${MGR[@]}" Groups
rm -f "$conf/groups.d/extra.conf"
check "Reload drops it again" send Reload
check "the groups reconcile after it" lab_wait_for 30 idle "$NIC0"
check "vm-a holds the device again" send Switch string:nic0 string:vm-a boolean:false

# --- polkit -------------------------------------------------------------------------------------
# Above, no polkit on the bus: 'nobody' refused, AdminGroup= members allowed,
# as before polkit. Now a real polkitd on the same bus, with the project's
# action and a rule letting 'nobody' manage: 'nobody' may change things,
# 'daemon' (no rule, not in AdminGroup=) is refused with polkit's answer;
# while polkitd is stopped (SIGSTOP) a held call waits without a reply and
# status queries are answered, and it goes through once polkitd runs again.
cat >"$LAB_DIR/50-hostdev-ha.rules" <<'EOF'
polkit.addRule(function(action, subject) {
    if (action.id == "org.hostdevha.manage" && subject.user == "nobody") {
        return polkit.Result.YES;
    }
});
EOF
check "polkitd runs on the lab's bus" lab_polkit_start "$LAB_DIR/50-hostdev-ha.rules"
polkitd_pid=$(cat "$LAB_DIR/polkit/pid")
check "nobody, allowed by a polkit rule: Freeze" send_as nobody "" Freeze string:nic0
check "... frozen" prop_is "$NIC0" Frozen "b true"
check "nobody, allowed by a polkit rule: Thaw on the group object" \
	as_nobody busctl --address="$LAB_BUS_ADDRESS" call org.hostdevha.Manager1 "$NIC0" org.hostdevha.Group1 Thaw
check "... thawed" prop_is "$NIC0" Frozen "b false"
check "the daemon logged polkit's authorization" \
	grep -q "polkit authorizes uid $(id -u nobody) for org.hostdevha.manage" "$LAB_DIR/harness.log"
check "daemon, without a rule: AccessDenied, polkit refused" expect_error_as daemon "" AccessDenied \
	"or polkit's authorization for org.hostdevha.manage, which it refused" Freeze string:nic0
check "... and nothing changed" prop_is "$NIC0" Frozen "b false"
check "an AdminGroup= member still needs no polkit" send_as nobody "$ADMIN_GID" Freeze string:nic0
check "root still needs no polkit" send Thaw string:nic0
kill -STOP "$polkitd_pid"
send_as nobody "" Freeze string:nic0 >"$LAB_DIR/polkit-held.out" 2>&1 &
held=$!
polkit_asked() { grep -q "Asking polkit whether .* may org.hostdevha.manage" "$LAB_DIR/harness.log"; }
check "with polkitd stopped, the daemon has asked polkit" lab_wait_for 30 polkit_asked
check "... and holds the call: no reply" kill -0 "$held"
check "... GetStatus is answered meanwhile" bus call "${MGR[@]}" GetStatus
check "... the group is not frozen yet" prop_is "$NIC0" Frozen "b false"
check "... and the call still has no reply" kill -0 "$held"
kill -CONT "$polkitd_pid"
check "polkitd running again, the held call succeeds" wait "$held"
check "... frozen" prop_is "$NIC0" Frozen "b true"
check "root thaws it" send Thaw string:nic0
kill "$polkitd_pid"

# --- LibvirtFailure, Interrupted ----------------------------------------------------------------
check "LibvirtFailure carries libvirt's message" expect_error LibvirtFailure \
	"switch of group 'nic0' to 'vm-c' failed: $PASSTHROUGH_ERROR" Switch string:nic0 string:vm-c boolean:false
check "... and the group is idle again" prop_is "$NIC0" Operation 's ""'
check "the fake hypervisor held again" hold
send Switch string:nic0 string:vm-b boolean:false >"$LAB_DIR/stop.out" 2>&1 &
stopped=$!
check "a switch is in flight again" lab_wait_for 30 op_running
kill -TERM "$harness_pid"
wait "$stopped"
check "a call cut short by a stop gets Interrupted" \
	grep -q "Error org.hostdevha.Error.Interrupted: .*hostdev-had is stopping" "$LAB_DIR/stop.out"
check "the harness exits cleanly" wait "$harness_pid"
harness_pid=
check "the fake hypervisor saw no violation of the invariant" \
	grep -q "Stopped (0 violations of the invariant)" "$LAB_DIR/harness.log"
tap_done
