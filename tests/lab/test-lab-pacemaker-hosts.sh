#!/bin/bash
# "One group across hosts" of docs/pacemaker.md: Pacemaker's decisions for
# the recipe, without guests or a running cluster.  The CIB is built with
# the documented lines, run as they are (the pcs lines on a CIB file:
# "pcs cluster cib FILE" gets a copy of a CIB with the two nodes and a fence
# device, "pcs cluster cib-push FILE --config" keeps FILE; the crm lines
# with CIB_file), then Pacemaker's scheduler (crm_simulate) decides each
# case, with the promotion scores hostdev-had would send written as the
# nodes' transient attributes (crm_attribute --lifetime reboot): 11 and 10
# for running standbys, 100 for the holder, -INFINITY for a failed member.
# Checked, with pcs and with crm: the configuration is valid; the first
# placement promotes host1's first member and nothing on host2; the
# holder's domain fails: host1's standby promoted, the site stays; host1
# lost: fenced first, then the site on host2 and host2's first member
# promoted; host1 back: the site stays on host2, host1 promotes nothing;
# every member of host1 failed: host1's holder demoted before the site
# moves, the site on host2 before host2's member is promoted; the site's
# own monitor fails: it is restarted where it is, nothing demoted.
# Never two promoted instances.  And each part is needed: without the
# rules, the site stays on a host whose members all failed; without
# critical=false, it goes back to host1 when host1 returns; without the
# orders, host2 is promoted before the site runs there.  Also the agent's node= (a clone run on a
# node that is not its own answers at once, without asking hostdev-had).
# The lab only for a private mount namespace: the agent installed for pcs
# and crm to read its meta-data, and crmsh's folders.
# shellcheck disable=SC2016 # check "..." eval '...' expands when it runs
set -u
LAB_LIGHT=1
# shellcheck source=tests/lab/lab.sh
. "${abs_top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
# shellcheck source=tests/lab/lab-cluster.sh
. "$LAB_HOME/lab-cluster.sh"
# shellcheck source=tests/lab/lab-agent.sh
. "$LAB_HOME/lab-agent.sh"

docs=$LAB_HOME/../../docs/pacemaker.md

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

check "the agent installed, crmsh's folders private" eval 'lab_agent_install && lab_cluster_bind_state && lab_cluster_home'
[ "$tap_failures" = 0 ] || { echo "Bail out! no private agent or crmsh folders"; exit 1; }

# doc_lines NAME: the documented lines between <!-- NAME-begin --> and
# <!-- NAME-end -->.
doc_lines() {
	sed -n "/<!-- $1-begin -->/,/<!-- $1-end -->/p" "$docs" | grep -v -e '^<!--' -e '^```'
}

# base FILE TOOL: an empty CIB with nodes host1 and host2 and a fence
# device for both, made with TOOL.
base() {
	cibadmin --empty >"$1" &&
		CIB_file=$1 cibadmin --create --scope nodes --xml-text '<node id="1" uname="host1"/>' &&
		CIB_file=$1 cibadmin --create --scope nodes --xml-text '<node id="2" uname="host2"/>' || return 1
	if [ "$2" = pcs ]; then
		pcs -f "$1" stonith create fence-all fence_dummy pcmk_host_list="host1 host2"
	else
		CIB_file=$1 crm configure primitive fence-all stonith:fence_dummy params pcmk_host_list="host1 host2"
	fi
}

# recipe TOOL DIR: the documented lines of TOOL run in DIR on a copy of
# DIR/base.xml; the result in DIR/config.xml.
recipe() {
	local cmd
	cmd=$(doc_lines "$1-hosts")
	[ -n "$cmd" ] || { diag "no $1-hosts lines in $docs"; return 1; }
	if [ "$1" = pcs ]; then
		# shellcheck disable=SC2317 # called by the documented lines
		(
			cd "$2" || exit 1
			pcs() {
				case "$1 ${2:-}" in
				"cluster cib") cp base.xml "$3" ;;
				"cluster cib-push") [ "${4:-}" = --config ] && cp "$3" config.xml ;;
				*) command pcs "$@" ;;
				esac
			}
			eval "$cmd"
		) >"$2/recipe.log" 2>&1
	else
		cp "$2/base.xml" "$2/config.xml" &&
			(cd "$2" && CIB_file=$PWD/config.xml bash -c "$cmd") >"$2/recipe.log" 2>&1
	fi || { diag "$(cat "$2/recipe.log")"; return 1; }
}

# score FILE NODE INSTANCE VALUE: the promotion score hostdev-had would send.
score() {
	CIB_file=$1 crm_attribute --node "$2" --lifetime reboot --name "master-$3" --update="$4"
}
# sim IN OUT [ARG...]: the scheduler's answer to IN (and the events ARG),
# carried out; the resulting CIB in OUT, what it did in OUT.log.
sim() {
	local in=$1 out=$2
	shift 2
	crm_simulate --xml-file "$in" --simulate --save-output "$out" "$@" >"$out.log" 2>&1 ||
		{ diag "$(tail -n 5 "$out.log")"; return 1; }
}
# placement FILE: "INSTANCE ROLE NODE" a line for each resource ("-" for
# a stopped one).
placement() {
	CIB_file=$1 crm_mon -1 --output-as=xml 2>/dev/null | awk '
		/<resource id="/ {
			if (id != "") print id, role, "-"
			match($0, /id="[^"]*"/); id = substr($0, RSTART + 4, RLENGTH - 5)
			match($0, /role="[^"]*"/); role = substr($0, RSTART + 6, RLENGTH - 7)
			if ($0 ~ /\/>/) { print id, role, "-"; id = "" }
			next }
		id != "" && /<node name=/ { match($0, /name="[^"]*"/); print id, role, substr($0, RSTART + 6, RLENGTH - 7); id = "" }
		id != "" && /<\/resource>/ { print id, role, "-"; id = "" }'
}
# promoted FILE: "INSTANCE@NODE" of every promoted instance.
promoted() { placement "$1" | awk '$2 == "Promoted" { print $1 "@" $3 }' | sort | xargs; }
# site FILE: the node nic0-site runs on.
site() { placement "$1" | awk '$1 == "nic0-site" { print $3 }'; }
# roles FILE NODE: "INSTANCE:ROLE" of the clone instances of NODE's clone.
roles() { placement "$1" | awk -v n="$2" 'index($1, "nic0-" n ":") == 1 { print $1 "=" $2 }' | sort | xargs; }
# expect WHAT WANTED GOT
expect() {
	[ "$2" = "$3" ] || { diag "$1: '$3', expected '$2'"; return 1; }
}
# one_promoted FILE: at most one promoted instance in the cluster.
one_promoted() {
	local p
	p=$(promoted "$1")
	[ "$(wc -w <<<"$p")" -le 1 ] || { diag "promoted: $p"; return 1; }
}
# actions FILE.log: the actions carried out, in order, "RSC ACTION NODE".
actions() {
	sed -n 's/^ *\* Resource action: *\([^ ]*\) *\([a-z_]*\) on \(.*\)$/\1 \2 \3/p; s/^ *\* Fencing \([^ ]*\).*/fence fence \1/p' "$1"
}
# before LOG A B: action A ("RSC ACTION NODE") is carried out before B.
before() {
	local a b
	a=$(actions "$1" | grep -n -x -F -- "$2" | head -n 1 | cut -d: -f1)
	b=$(actions "$1" | grep -n -x -F -- "$3" | head -n 1 | cut -d: -f1)
	if [ -z "$a" ] || [ -z "$b" ] || [ "$a" -ge "$b" ]; then
		diag "'$2' (step ${a:-none}) not before '$3' (step ${b:-none}) in: $(actions "$1" | paste -s -d ';')"
		return 1
	fi
}
# no_action LOG PATTERN: no action carried out matches PATTERN.
no_action() {
	! actions "$1" | grep -q -E -- "$2" || { diag "unexpected: $(actions "$1" | grep -E -- "$2" | paste -s -d ';')"; return 1; }
}

scenarios() {
	local tool=$1 d=$LAB_DIR/$1
	mkdir -p "$d"
	check "$tool: base CIB (nodes host1, host2, a fence device)" base "$d/base.xml" "$tool"
	check "$tool: the documented lines apply" recipe "$tool" "$d"

	# Both nodes up, quorate; the scores once the instances are probed
	# and started as standbys.
	crm_simulate --xml-file "$d/config.xml" --node-up host1 --node-up host2 --quorum true \
		--save-output "$d/up.xml" >"$d/up.log" 2>&1
	check "$tool: crm_verify finds the configuration valid, without a warning (both nodes up)" \
		eval 'crm_verify -V --xml-file "$d/up.xml" >"$d/verify.log" 2>&1 && [ ! -s "$d/verify.log" ] || { diag "$(cat "$d/verify.log")"; false; }'
	score "$d/up.xml" host1 nic0-host1:0 11 && score "$d/up.xml" host1 nic0-host1:1 10 &&
		score "$d/up.xml" host2 nic0-host2:0 11 && score "$d/up.xml" host2 nic0-host2:1 10
	check "$tool: initial: placed" sim "$d/up.xml" "$d/initial.xml"
	check "$tool: initial: host1's first member promoted, alone" expect promoted "nic0-host1:0@host1" "$(promoted "$d/initial.xml")"
	check "$tool: initial: the site on host1" expect site host1 "$(site "$d/initial.xml")"
	check "$tool: initial: host1's other member and host2's a standby" \
		eval 'expect host1 "nic0-host1:0=Promoted nic0-host1:1=Unpromoted" "$(roles "$d/initial.xml" host1)" &&
			expect host2 "nic0-host2:0=Unpromoted nic0-host2:1=Unpromoted" "$(roles "$d/initial.xml" host2)"'

	# The holder's score as hostdev-had sends it: settled, nothing to do.
	cp "$d/initial.xml" "$d/steady.xml"
	score "$d/steady.xml" host1 nic0-host1:0 100
	check "$tool: steady: the holder's score 100, nothing to do" \
		eval 'sim "$d/steady.xml" "$d/steady-out.xml" && expect actions "" "$(actions "$d/steady-out.xml.log" | grep -v " monitor " | xargs)"'

	# The holder's domain fails: hostdev-had sets its score to -INFINITY
	# and fails the instance (crm_resource --fail: a failed monitor).
	cp "$d/steady.xml" "$d/vm.xml"
	score "$d/vm.xml" host1 nic0-host1:0 -INFINITY
	check "$tool: holder failed: recovered" sim "$d/vm.xml" "$d/vm-out.xml" --op-inject nic0-host1:0_monitor_10000@host1=9
	check "$tool: holder failed: host1's standby promoted, alone" expect promoted "nic0-host1:1@host1" "$(promoted "$d/vm-out.xml")"
	check "$tool: holder failed: the failed instance stopped" expect host1 "nic0-host1:0=Stopped nic0-host1:1=Promoted" "$(roles "$d/vm-out.xml" host1)"
	check "$tool: holder failed: the site stays on host1" expect site host1 "$(site "$d/vm-out.xml")"
	check "$tool: holder failed: nothing done on host2" no_action "$d/vm-out.xml.log" ' host2$'

	# host1 lost.
	check "$tool: host1 lost: recovered" sim "$d/steady.xml" "$d/lost.xml" --node-fail host1
	check "$tool: host1 lost: fenced" eval 'actions "$d/lost.xml.log" | grep -q -x "fence fence host1"'
	check "$tool: host1 lost: host2's first member promoted, alone" expect promoted "nic0-host2:0@host2" "$(promoted "$d/lost.xml")"
	check "$tool: host1 lost: the site on host2" expect site host2 "$(site "$d/lost.xml")"
	check "$tool: host1 lost: fenced before the site starts on host2" before "$d/lost.xml.log" "fence fence host1" "nic0-site start host2"
	check "$tool: host1 lost: the site started before host2's promote" before "$d/lost.xml.log" "nic0-site start host2" "nic0-host2:0 promote host2"

	# host1 back, its members probed and started as standbys.
	crm_simulate --xml-file "$d/lost.xml" --node-up host1 --save-output "$d/back.xml" >"$d/back.log" 2>&1
	score "$d/back.xml" host1 nic0-host1:0 11 && score "$d/back.xml" host1 nic0-host1:1 10 &&
		score "$d/back.xml" host2 nic0-host2:0 100
	check "$tool: host1 back: placed" sim "$d/back.xml" "$d/back-out.xml"
	check "$tool: host1 back: the site stays on host2" expect site host2 "$(site "$d/back-out.xml")"
	check "$tool: host1 back: host2's member still promoted, alone" expect promoted "nic0-host2:0@host2" "$(promoted "$d/back-out.xml")"
	check "$tool: host1 back: host1's members standbys" expect host1 "nic0-host1:0=Unpromoted nic0-host1:1=Unpromoted" "$(roles "$d/back-out.xml" host1)"

	# Every member of host1 fails: the holder, and the standby.
	cp "$d/steady.xml" "$d/all.xml"
	score "$d/all.xml" host1 nic0-host1:0 -INFINITY && score "$d/all.xml" host1 nic0-host1:1 -INFINITY
	check "$tool: host1's members all failed: recovered" sim "$d/all.xml" "$d/all-out.xml" \
		--op-inject nic0-host1:0_monitor_10000@host1=9 --op-inject nic0-host1:1_monitor_11000@host1=1
	check "$tool: host1's members all failed: the site on host2" expect site host2 "$(site "$d/all-out.xml")"
	check "$tool: host1's members all failed: host2's first member promoted, alone" expect promoted "nic0-host2:0@host2" "$(promoted "$d/all-out.xml")"
	check "$tool: host1's members all failed: host1's holder demoted before the site stops there" \
		before "$d/all-out.xml.log" "nic0-host1:0 demote host1" "nic0-site stop host1"
	check "$tool: host1's members all failed: the site started on host2 before the promote there" \
		before "$d/all-out.xml.log" "nic0-site start host2" "nic0-host2:0 promote host2"

	# The site's own monitor fails: restarted in place; the mandatory order
	# has Pacemaker promote the promoted instance again, after the start
	# (the agent finds its domain the holder already and answers at once),
	# but demote nothing: the device stays.
	check "$tool: the site fails: recovered" sim "$d/steady.xml" "$d/site-out.xml" --op-inject nic0-site_monitor_10000@host1=7
	check "$tool: the site fails: restarted on host1" before "$d/site-out.xml.log" "nic0-site stop host1" "nic0-site start host1"
	check "$tool: the site fails: nothing demoted, stopped or started but the site" \
		no_action "$d/site-out.xml.log" '^nic0-host.* (demote|stop|start) '
	check "$tool: the site fails: the holder promoted again (if at all) only after the site's start" \
		eval 'no_action "$d/site-out.xml.log" "^nic0-host.*:1 promote |^nic0-host2" &&
			{ ! actions "$d/site-out.xml.log" | grep -q " promote " ||
				before "$d/site-out.xml.log" "nic0-site start host1" "nic0-host1:0 promote host1"; }'

	# Each part is needed: without it, the decision the document says.
	without() {
		cp "$d/$1.xml" "$d/$2.xml" &&
			CIB_file=$d/$2.xml cibadmin --delete-all --force --xpath "$3"
	}
	without all no-rule "//rsc_location[rule]" && sim "$d/no-rule.xml" "$d/no-rule-out.xml" \
		--op-inject nic0-host1:0_monitor_10000@host1=9 --op-inject nic0-host1:1_monitor_11000@host1=1
	check "$tool: without the rules, host1's members all failed: the site stays on host1, nothing promoted" \
		eval 'expect site host1 "$(site "$d/no-rule-out.xml")" && expect promoted "" "$(promoted "$d/no-rule-out.xml")"'
	without back no-critical "//nvpair[@name='critical']" && sim "$d/no-critical.xml" "$d/no-critical-out.xml"
	check "$tool: without critical=false, host1 back: the site goes back to host1, host2 demoted" \
		eval 'expect site host1 "$(site "$d/no-critical-out.xml")" && actions "$d/no-critical-out.xml.log" | grep -q -x "nic0-host2:0 demote host2"'
	without all no-order "//rsc_order" && sim "$d/no-order.xml" "$d/no-order-out.xml" \
		--op-inject nic0-host1:0_monitor_10000@host1=9 --op-inject nic0-host1:1_monitor_11000@host1=1
	check "$tool: without the orders, host2 is promoted before the site starts there" \
		before "$d/no-order-out.xml.log" "nic0-host2:0 promote host2" "nic0-site start host2"
	check "$tool: the site fails: host1's first member still promoted, alone" expect promoted "nic0-host1:0@host1" "$(promoted "$d/site-out.xml")"

	local f
	for f in initial steady-out vm-out lost back-out all-out site-out; do
		check "$tool: $f: never two promoted instances" one_promoted "$d/$f.xml"
	done
}

scenarios pcs
scenarios crm

# The agent's node=: on another node it answers at once, without asking
# hostdev-had, even with /run/hostdev-ha there (hostdev-had "restarting",
# which it would otherwise wait for).
mkdir -p /run/hostdev-ha
agent_rc() {
	lab_agent "$1" OCF_RESOURCE_INSTANCE=nic0-host1:0 OCF_RESKEY_group=nic0 OCF_RESKEY_node=host1 \
		OCF_RESKEY_CRM_meta_clone=0 OCF_RESKEY_CRM_meta_on_node=host2 OCF_RESKEY_CRM_meta_timeout=60000 \
		"${@:2}" >"$LAB_DIR/agent.out" 2>&1
	echo $?
}
# agent_fast RC ACTION [VAR=VALUE...]: ACTION answers RC within 5 s.
agent_fast() {
	local want=$1 t rc
	shift
	t=$(date +%s%N)
	rc=$(agent_rc "$@")
	if [ "$rc" != "$want" ] || [ "$(ms_since "$t")" -ge 5000 ]; then
		diag "rc $rc in $(ms_since "$t") ms, expected $want at once: $(cat "$LAB_DIR/agent.out")"
		return 1
	fi
}
check "node=host1 on host2: a probe answers not running at once" agent_fast 7 monitor OCF_RESKEY_CRM_meta_interval=0
check "node=host1 on host2: a start answers not installed at once" \
	eval 'agent_fast 5 start && grep -q "node host1" "$LAB_DIR/agent.out"'
check "node=host1 on host2: a stop succeeds at once" agent_fast 0 stop
rmdir /run/hostdev-ha

tap_done
