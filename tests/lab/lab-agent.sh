# shellcheck shell=bash
# The OCF resource agent ocf:hostdev-ha:hostdev on the lab, sourced inside
# lab-run after lab-common.sh.
#
#   lab_agent_install   make the build tree's agents/hostdev the lab's
#                       /usr/lib/ocf/resource.d/hostdev-ha/hostdev: a tmpfs
#                       over resource.d in the lab's private mount namespace,
#                       the system's providers bound back into it
#   lab_agent ACTION [VAR=VALUE...]   run the agent by hand as
#                       pacemaker-execd would (OCF_* environment)
#                       LAB_AGENT_TRACE=1: under sh -x
#   lab_agent_metadata_valid   its meta-data against the OCF 1.1 schema
#   lab_agent_trace on|off [DIR]   while on, every run of the agent (by
#                       Pacemaker or by hand) is under strace -f -e
#                       trace=execve, one file per run in $LAB_DIR/agent-trace,
#                       INSTANCE.ACTION.PID; off moves them to DIR (or
#                       removes them)
#   lab_agent_execs FILE   the processes a traced run started (the agent
#                       itself not counted)
#
# The agent installed is a wrapper that runs the real one (hostdev.real)
# under strace while tracing is on.

LAB_OCF_RA_DIR=/usr/lib/ocf/resource.d
LAB_AGENT_SRC=${abs_top_builddir:?}/agents/hostdev
LAB_AGENT=$LAB_OCF_RA_DIR/hostdev-ha/hostdev
# OCF 1.1 (unique-group, reload-agent): the schema pcs checks agents with;
# resource-agents' DTD (ra-api-1.dtd, which ocf-tester uses) is OCF 1.0's.
LAB_OCF_RNG=/usr/share/pcs/data/ocf-1.1.rng
LAB_AGENT_TRACE_DIR=$LAB_DIR/agent-trace

lab_agent_install() {
	local p
	mountpoint -q "$LAB_OCF_RA_DIR" && return 0
	[ "$(findmnt -n -o SOURCE /run)" = lab-run ] || lab_die "lab_agent_install outside lab-run"
	mkdir -p "$LAB_DIR/ocf-system"
	mount --bind "$LAB_OCF_RA_DIR" "$LAB_DIR/ocf-system" || return 1
	mount -t tmpfs -o mode=0755 lab-ocf "$LAB_OCF_RA_DIR" || return 1
	for p in "$LAB_DIR"/ocf-system/*/; do
		p=$(basename "$p")
		# The lab's own, below; a hostdev-ha the system has (another lab
		# that got it there, for a moment) would make that mkdir fail.
		[ "$p" = hostdev-ha ] && continue
		mkdir "$LAB_OCF_RA_DIR/$p" && mount --bind "$LAB_DIR/ocf-system/$p" "$LAB_OCF_RA_DIR/$p" || return 1
	done
	mkdir "$LAB_OCF_RA_DIR/hostdev-ha" && install -m 0755 "$LAB_AGENT_SRC" "$LAB_AGENT.real" || return 1
	cat >"$LAB_AGENT" <<EOF || return 1
#!/bin/sh
# The lab's wrapper: the agent, under strace while $LAB_AGENT_TRACE_DIR exists.
[ -d "$LAB_AGENT_TRACE_DIR" ] || exec "$LAB_AGENT.real" "\$@"
exec strace -f -e trace=execve -o "$LAB_AGENT_TRACE_DIR/\${OCF_RESOURCE_INSTANCE:-none}.\$1.\$\$" "$LAB_AGENT.real" "\$@"
EOF
	chmod 0755 "$LAB_AGENT"
}

lab_agent_trace() {
	case $1 in
	on) mkdir -p "$LAB_AGENT_TRACE_DIR" ;;
	off)
		if [ -n "${2:-}" ]; then
			rm -rf "$2" && mv "$LAB_AGENT_TRACE_DIR" "$2"
		else
			rm -rf "$LAB_AGENT_TRACE_DIR"
		fi
		;;
	esac
}

lab_agent_execs() {
	echo $(( $(grep -c 'execve.* = 0$' "$1") - 1 ))
}

lab_agent() {
	local action=$1 shell=() agent=$LAB_AGENT.real
	shift
	# The wrapper only to trace: it costs a process.
	[ -d "$LAB_AGENT_TRACE_DIR" ] && agent=$LAB_AGENT
	[ -n "${LAB_AGENT_TRACE:-}" ] && shell=(sh -x) agent=$LAB_AGENT.real
	env -i PATH="$PATH" OCF_ROOT=/usr/lib/ocf OCF_RESKEY_CRM_meta_timeout=20000 \
		OCF_RESKEY_crm_feature_set=3.16.2 "$@" "${shell[@]}" "$agent" "$action"
}

lab_agent_metadata_valid() {
	"$LAB_AGENT_SRC" meta-data >"$LAB_DIR/agent-metadata.xml" &&
		xmllint --noout --relaxng "$LAB_OCF_RNG" "$LAB_DIR/agent-metadata.xml"
}
