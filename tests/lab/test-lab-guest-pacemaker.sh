#!/bin/bash
# The guests' own signals under a real Corosync + Pacemaker on the lab,
# hostdev-had in policy pacemaker: two guests with the channel
# org.hostdevha.guest.0 heartbeating, the clone made with the documented
# pcs lines. A takeover refused by GuestRequests=release; a standby's
# takeover and the holder's release honoured by Pacemaker (promotion scores
# and a failure report, the device moved by the agent's promote, never by
# hostdev-had behind Pacemaker's back); a hung guest kernel (no libvirt
# event) reported to Pacemaker, which promotes the standby. Outcomes and
# reasons are checked, times only printed.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-libvirt.sh
. "$LAB_HOME/lab-libvirt.sh"
# shellcheck source=tests/lab/lab-daemon.sh
. "$LAB_HOME/lab-daemon.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-agent.sh
. "$LAB_HOME/lab-agent.sh"

alias=ua-hostdev-nic0
conf=$LAB_DAEMON_CONFIG/groups.d/nic0.conf
log=$LAB_DIR/hostdev-had.log
docs=$LAB_HOME/../../docs/pacemaker.md

teardown() {
	lab_cluster_stop
	lab_daemon_stop
	lab_libvirt_stop
	lab_bus_stop
}
trap teardown EXIT

instance_of() { case $1 in vm-a) echo nic0:0 ;; vm-b) echo nic0:1 ;; esac; }
domain_of() { case $1 in nic0:0) echo vm-a ;; nic0:1) echo vm-b ;; *) return 1 ;; esac; }
other() { if [ "$1" = vm-a ]; then echo vm-b; else echo vm-a; fi; }
holder() { lab_daemon_get nic0 Active | sed 's/^s "\(.*\)"$/\1/'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
connected() { lab_daemon_get nic0 GuestChannels | grep -q "\"$1\" true"; }
instances() {
	lab_cluster_mon --output-as=xml 2>/dev/null |
		sed -n "s/.*<resource id=\"\(nic0:[0-9]*\)\" [^>]*role=\"$1\".*/\1/p" | sort | tr '\n' ' ' | sed 's/ $//'
}
promoted() { instances Promoted; }
log_lines() { wc -l <"$log"; }
log_since() { tail -n +$(($1 + 1)) "$log" | grep -qF -- "$2"; }

# settled DOMAIN: Pacemaker has DOMAIN's instance promoted and the other's
# unpromoted; the device on DOMAIN alone; both guests connected.
settled_now() {
	[ "$(promoted)" = "$(instance_of "$1")" ] && [ "$(instances Unpromoted)" = "$(instance_of "$(other "$1")")" ] &&
		[ "$(holder)" = "$1" ] && connected vm-a && connected vm-b
}
settled() {
	lab_wait_for 150 settled_now "$1" ||
		{ diag "promoted '$(promoted)', unpromoted '$(instances Unpromoted)', holder '$(holder)', expected $1"; return 1; }
	lab_device_exclusive --alias "$alias" "$1" vm-a vm-b
}
# clean: forget recorded failures (they would keep an instance off).
clean() {
	crm_resource --cleanup -r nic0-clone >/dev/null 2>&1
	lab_cluster_wait_idle 60
}

# guest_run DOMAIN ARG...: hostdev-ha-guest ARG... inside DOMAIN, its exit
# status printed (guest/init's "GUEST run ARG... rc=N"). A guest's requests
# go 2 s apart (the daemon's rate limit); guest_run runs in $(...), so when
# each guest last asked is kept in a file.
runs_seen() { lab_console_since "$1" | grep -qE "^GUEST run $2 rc=[0-9]+\$"; }
guest_run() {
	local d=$1 wait
	shift
	wait=$(($(cat "$LAB_DIR/$d.last-request" 2>/dev/null || echo 0) + 2100 - $(now_ms)))
	[ "$wait" -le 0 ] || sleep "$(printf '%d.%03d' $((wait / 1000)) $((wait % 1000)))"
	now_ms >"$LAB_DIR/$d.last-request"
	lab_console_mark "$d"
	lab_guest_command "$d" run "$@" || return 1
	lab_wait_for 30 runs_seen "$d" "$*" || { diag "no answer to '$*' on the console of $d"; return 1; }
	lab_console_since "$d" | sed -n "s/^GUEST run $* rc=\([0-9]*\)\$/\1/p" | tail -n 1
}

create_clone() {
	local cmd
	cmd=$(sed -n "/<!-- pcs-begin -->/,/<!-- pcs-end -->/p" "$docs" | grep -v -e '^<!--' -e '^```')
	[ -n "$cmd" ] || return 1
	eval "$cmd" >"$LAB_DIR/create.out" 2>&1 || { diag "$(cat "$LAB_DIR/create.out")"; return 1; }
}

lab_bus_start
check "libvirtd starts" lab_libvirt_start
check "guests with the channel defined (Pacemaker starts them)" \
	eval 'lab_guest_define vm-a --with-channel && lab_guest_define vm-b --with-channel'
lab_daemon_group nic0 pacemaker vm-a vm-b
printf 'StandbyVcpuQuota=50000\nGuestHeartbeatSec=3\nGuestRequests=release\n' >>"$conf"
check "daemon starts" lab_daemon_start
check "agent installed" lab_agent_install
check "cluster starts" lab_cluster_start
check "clone created with the documented pcs lines" create_clone
check "one instance promoted" eval 'lab_wait_for 120 eval "[ -n \"\$(promoted)\" ]"'
h=$(domain_of "$(promoted)")
o=$(other "$h")
check "$h holds the device, both guests connected" settled "$h"

# GuestRequests=release: a takeover is refused, nothing moves.
m=$(log_lines)
check "takeover from $o's guest refused (exit 5)" eval '[ "$(guest_run "$o" takeover)" = 5 ]'
check "... logged as not-allowed" log_since "$m" "asked for takeover: refused, not-allowed"
check "... $h still promoted and holding" settled "$h"

# The holder's release: Pacemaker is asked, by promotion scores.
m=$(log_lines)
t=$(now_ms)
check "release from $h's guest accepted (exit 0)" eval '[ "$(guest_run "$h" release)" = 0 ]'
check "... Pacemaker promotes $o, which holds the device" settled "$o"
diag "release -> $o promoted and holding: $(($(now_ms) - t)) ms"
check "... through Pacemaker's scores" log_since "$m" "Pacemaker carries it out"
check "... the move was the agent's promote" log_since "$m" "Pacemaker promoted '$o', the switch is done"
h=$o o=$(other "$o")
clean

# GuestRequests=takeover: the standby's takeover reports the holder failed.
sed -i 's/^GuestRequests=.*/GuestRequests=takeover/' "$conf"
check "reload: GuestRequests=takeover" lab_daemon_call Reload
m=$(log_lines)
t=$(now_ms)
check "takeover from $o's guest accepted (exit 0)" eval '[ "$(guest_run "$o" takeover)" = 0 ]'
check "... Pacemaker promotes $o" eval 'lab_wait_for 90 eval "[ \"\$(promoted)\" = \"$(instance_of "$o")\" ]"'
diag "takeover -> $o promoted: $(($(now_ms) - t)) ms"
check "... $h reported to Pacemaker as failed" lab_wait_for 30 log_since "$m" "'$h' failed (a standby's guest took over), reporting it to Pacemaker"
check "... the move was the agent's promote" lab_wait_for 30 log_since "$m" "Pacemaker promoted '$o', the switch is done"
clean
check "... $o holds the device, $h back as a standby" settled "$o"
h=$o o=$(other "$o")

# A hung kernel: no libvirt event; the lost heartbeat is reported.
m=$(log_lines)
t=$(now_ms)
check "$h's kernel hung (inject-nmi, unknown_nmi_panic)" virsh inject-nmi "$h"
check "... Pacemaker promotes $o" eval 'lab_wait_for 60 eval "[ \"\$(promoted)\" = \"$(instance_of "$o")\" ]"'
diag "hung kernel -> $o promoted: $(($(now_ms) - t)) ms (GuestHeartbeatSec=3)"
check "... reported for the lost heartbeat" lab_wait_for 30 log_since "$m" "'$h' failed (guest heartbeat lost), reporting it to Pacemaker"
check "... not for a libvirt event" eval '! log_since "$m" "nic0/$h: active --crashed-->" && ! log_since "$m" "nic0/$h: active --panic-->"'
clean
check "... $o holds the device, $h back as a standby" settled "$o"
tap_done
