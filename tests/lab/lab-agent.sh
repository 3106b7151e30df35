# shellcheck shell=bash
# The OCF resource agent ocf:hostdev-ha:hostdev on the lab, sourced inside
# lab-run after lab-common.sh.
#
#   lab_agent_install   make the source tree's agents/hostdev the lab's
#                       /usr/lib/ocf/resource.d/hostdev-ha/hostdev: a tmpfs
#                       over resource.d in the lab's private mount namespace,
#                       the system's providers bound back into it
#   lab_agent ACTION [VAR=VALUE...]   run the agent by hand as
#                       pacemaker-execd would (OCF_* environment)
#   lab_agent_metadata_valid   its meta-data against the OCF DTD

LAB_OCF_RA_DIR=/usr/lib/ocf/resource.d
LAB_AGENT_SRC=$LAB_HOME/../../agents/hostdev
LAB_AGENT=$LAB_OCF_RA_DIR/hostdev-ha/hostdev
LAB_OCF_DTD=/usr/share/resource-agents/ra-api-1.dtd

lab_agent_install() {
	local p
	mountpoint -q "$LAB_OCF_RA_DIR" && return 0
	[ "$(findmnt -n -o SOURCE /run)" = lab-run ] || lab_die "lab_agent_install outside lab-run"
	mkdir -p "$LAB_DIR/ocf-system"
	mount --bind "$LAB_OCF_RA_DIR" "$LAB_DIR/ocf-system" || return 1
	mount -t tmpfs -o mode=0755 lab-ocf "$LAB_OCF_RA_DIR" || return 1
	for p in "$LAB_DIR"/ocf-system/*/; do
		p=$(basename "$p")
		mkdir "$LAB_OCF_RA_DIR/$p" && mount --bind "$LAB_DIR/ocf-system/$p" "$LAB_OCF_RA_DIR/$p" || return 1
	done
	mkdir "$LAB_OCF_RA_DIR/hostdev-ha" && install -m 0755 "$LAB_AGENT_SRC" "$LAB_AGENT"
}

lab_agent() {
	local action=$1 shell=()
	shift
	[ -n "${LAB_AGENT_TRACE:-}" ] && shell=(sh -x)
	env -i PATH="$PATH" OCF_ROOT=/usr/lib/ocf OCF_RESKEY_CRM_meta_timeout=20000 \
		OCF_RESKEY_crm_feature_set=3.16.2 "$@" "${shell[@]}" "$LAB_AGENT" "$action"
}

lab_agent_metadata_valid() {
	"$LAB_AGENT_SRC" meta-data >"$LAB_DIR/agent-metadata.xml" &&
		(cd "$(dirname "$LAB_OCF_DTD")" && xmllint --noout --dtdvalid "$LAB_OCF_DTD" "$LAB_DIR/agent-metadata.xml")
}
