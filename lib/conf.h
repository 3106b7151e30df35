/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "macro.h"
#include "names.h"
#include "parse-util.h"

/* The configuration: DIR/hostdev-ha.conf (sections [Daemon] and [Cluster]) and one group
 * per DIR/groups.d/NAME.conf (section [Group]), INI syntax.
 *
 * Syntax:
 * - "Key=value" lines inside a "[Section]"; keys and sections are
 *   case-sensitive; blanks around keys and values are dropped;
 * - comments: a line starting with '#' or ';', and the rest of a line from
 *   a '#' or ';' that follows a blank ("Managed=no   # why");
 * - no continuation lines: an indented line is an ordinary line;
 * - an empty value ("Policy=") means the default;
 * - a key given twice in a file is an error, except Domains=, which appends
 *   (so long member lists can be split, though a line may hold
 *   HDHA_CONFIG_LINE_MAX characters, which is room for the longest
 *   Domains= line there can be);
 * - a file holds at most HDHA_CONFIG_FILE_MAX bytes.
 *
 * [Daemon] keys (all optional; a missing hostdev-ha.conf means defaults):
 *   LibvirtURI=      default qemu:///system
 *   StateDirectory=  absolute path, default /var/lib/hostdev-ha
 *   AdminGroup=      unix group allowed to change things besides root;
 *                    must exist when the configuration is loaded
 *
 * [Cluster] keys (all optional, in hostdev-ha.conf too):
 *   Enabled=               auto | yes | no, default auto (HdhaClusterMode)
 *   QuorumLossReleaseSec=  1..3600, default 10: how long a host that lost
 *                          quorum keeps its active member
 *
 * [Group] keys:
 *   Device=             PCI address (0000:03:00.0, 03:00.0) or node device
 *                       name (pci_0000_03_00_0); exclusive with DeviceXML=
 *   DeviceXML=          absolute path of a file holding one libvirt device
 *                       element, at most HDHA_DEVICE_XML_MAX bytes, no
 *                       DOCTYPE; read once at load and kept as text
 *   Managed=            boolean, default no (PCI only)
 *   Domains=            member domains in order, space-separated, 2 to
 *                       HDHA_GROUP_DOMAINS_MAX, no duplicates; may repeat
 *   Policy=             pacemaker | auto | manual, default pacemaker
 *   ActiveVcpuQuota=    -1 (unlimited) or 1000..17592186044415, default -1
 *   StandbyVcpuQuota=   same range, default 10000
 *   VcpuPeriod=         1000..1000000, default 100000
 *   ReleaseTimeoutSec=  1..3600, default 5
 *   GuestHeartbeatSec=  0 (off) or 1..3600, default 0: a member whose guest
 *                       spoke on its channel and then stays silent this
 *                       long has failed
 *   GuestRequests=      none | release | takeover, default none
 *                       (HdhaGuestRequests)
 *
 * Across groups, a domain belongs to one group only, and a device (PCI
 * address, DeviceXML= file, or DeviceXML= content) to one group only. */

#define HDHA_CONFIG_FILE_MAX (64U * 1024U)
#define HDHA_CONFIG_LINE_MAX (16U * 1024U)
#define HDHA_DEVICE_XML_MAX (64U * 1024U)
#define HDHA_GROUPS_MAX 1024U
#define HDHA_GROUP_DOMAINS_MAX 64U
#define HDHA_CONFIG_ERRORS_MAX 256U

#define HDHA_DEFAULT_CONFIG_DIR "/etc/hostdev-ha"
/* Exists while hostdev-had runs or restarts on this host: made at start-up
 * (systemd's RuntimeDirectory= with RuntimeDirectoryPreserve=restart
 * removes it on a deliberate stop). The OCF agent tells "not here" from
 * "restarting" by it. */
#define HDHA_RUNTIME_DIR "/run/hostdev-ha"
#define HDHA_DEFAULT_LIBVIRT_URI "qemu:///system"
#define HDHA_DEFAULT_STATE_DIRECTORY "/var/lib/hostdev-ha"
#define HDHA_VCPU_QUOTA_UNLIMITED INT64_C(-1)
#define HDHA_VCPU_QUOTA_MIN INT64_C(1000)
#define HDHA_VCPU_QUOTA_MAX INT64_C(17592186044415)
#define HDHA_DEFAULT_ACTIVE_VCPU_QUOTA HDHA_VCPU_QUOTA_UNLIMITED
#define HDHA_DEFAULT_STANDBY_VCPU_QUOTA INT64_C(10000)
#define HDHA_VCPU_PERIOD_MIN UINT64_C(1000)
#define HDHA_VCPU_PERIOD_MAX UINT64_C(1000000)
#define HDHA_DEFAULT_VCPU_PERIOD UINT64_C(100000)
#define HDHA_RELEASE_TIMEOUT_SEC_MIN UINT64_C(1)
#define HDHA_RELEASE_TIMEOUT_SEC_MAX UINT64_C(3600)
#define HDHA_DEFAULT_RELEASE_TIMEOUT_SEC UINT64_C(5)
#define HDHA_GUEST_HEARTBEAT_SEC_MAX UINT64_C(3600)
#define HDHA_QUORUM_LOSS_RELEASE_SEC_MIN UINT64_C(1)
#define HDHA_QUORUM_LOSS_RELEASE_SEC_MAX UINT64_C(3600)
#define HDHA_DEFAULT_QUORUM_LOSS_RELEASE_SEC UINT64_C(10)

typedef enum HdhaPolicy {
        HDHA_POLICY_PACEMAKER,
        HDHA_POLICY_AUTO,
        HDHA_POLICY_MANUAL,
        _HDHA_POLICY_MAX,
        _HDHA_POLICY_INVALID = -EINVAL,
} HdhaPolicy;

const char *hdha_policy_to_string(HdhaPolicy p);
HdhaPolicy hdha_policy_from_string(const char *s);

/* GuestRequests=: what a member's guest may ask for on its channel; each
 * value allows what the one before it does. */
typedef enum HdhaGuestRequests {
        HDHA_GUEST_REQUESTS_NONE,     /* requests are logged and refused */
        HDHA_GUEST_REQUESTS_RELEASE,  /* the active member's guest may give the device away */
        HDHA_GUEST_REQUESTS_TAKEOVER, /* ... and a standby's may take it over */
        _HDHA_GUEST_REQUESTS_MAX,
        _HDHA_GUEST_REQUESTS_INVALID = -EINVAL,
} HdhaGuestRequests;

const char *hdha_guest_requests_to_string(HdhaGuestRequests g);
HdhaGuestRequests hdha_guest_requests_from_string(const char *s);

/* [Cluster] Enabled=: whether hostdev-had joins the Corosync cluster. */
typedef enum HdhaClusterMode {
        HDHA_CLUSTER_MODE_AUTO, /* join when Corosync runs, run alone while it does not */
        HDHA_CLUSTER_MODE_YES,  /* keep trying to join; activate nothing until joined */
        HDHA_CLUSTER_MODE_NO,   /* never connect to Corosync */
        _HDHA_CLUSTER_MODE_MAX,
        _HDHA_CLUSTER_MODE_INVALID = -EINVAL,
} HdhaClusterMode;

const char *hdha_cluster_mode_to_string(HdhaClusterMode m);
HdhaClusterMode hdha_cluster_mode_from_string(const char *s);

typedef enum HdhaDeviceKind {
        HDHA_DEVICE_PCI, /* Device= */
        HDHA_DEVICE_XML, /* DeviceXML= */
        _HDHA_DEVICE_KIND_MAX,
        _HDHA_DEVICE_KIND_INVALID = -EINVAL,
} HdhaDeviceKind;

const char *hdha_device_kind_to_string(HdhaDeviceKind k);
HdhaDeviceKind hdha_device_kind_from_string(const char *s);

typedef struct HdhaGroupConfig {
        char *name;            /* file name without ".conf" */
        char *file;            /* DIR/groups.d/NAME.conf */
        HdhaDeviceKind device_kind;
        HdhaPciAddress pci;    /* HDHA_DEVICE_PCI */
        char *device_xml_path; /* HDHA_DEVICE_XML: as written */
        char *device_xml;      /* HDHA_DEVICE_XML: the file's text */
        bool managed;
        char **domains;        /* n_domains names, in order */
        size_t n_domains;
        HdhaPolicy policy;
        int64_t active_vcpu_quota;  /* -1 = unlimited */
        int64_t standby_vcpu_quota; /* -1 = unlimited */
        uint64_t vcpu_period;
        uint64_t release_timeout_sec;
        uint64_t guest_heartbeat_sec; /* 0: off */
        HdhaGuestRequests guest_requests;
} HdhaGroupConfig;

typedef struct HdhaConfig {
        char *dir;
        char *libvirt_uri;
        char *state_directory;
        char *admin_group; /* NULL: none */
        gid_t admin_gid;   /* valid when admin_group is set */
        HdhaClusterMode cluster_mode;
        uint64_t quorum_loss_release_sec;
        HdhaGroupConfig *groups; /* sorted by name */
        size_t n_groups;
} HdhaConfig;

/* One problem found while loading. line is 0 when the problem concerns the
 * whole file; key is NULL when it concerns no key. */
typedef struct HdhaConfigError {
        char *file;
        unsigned line;
        char *key;
        char *message;
} HdhaConfigError;

/* At most HDHA_CONFIG_ERRORS_MAX problems are kept; n_dropped counts the
 * others. Embed it and release it with hdha_config_errors_done(). */
typedef struct HdhaConfigErrors {
        HdhaConfigError *errors;
        size_t n_errors;
        size_t n_dropped;
} HdhaConfigErrors;

/* Parses dir into a fresh HdhaConfig; no global state is touched, so a
 * reload can load a new copy and swap it in only when this succeeds.
 * Returns 0 and sets *ret when there is no problem at all. Otherwise every
 * problem found is appended to errors (may be NULL) and returns -ENOENT or
 * another -errno when dir cannot be opened, -ENOMEM when out of memory, and
 * -EINVAL for any problem in the configuration itself. */
int hdha_config_load(const char *dir, HdhaConfig **ret, HdhaConfigErrors *errors);

HdhaConfig *hdha_config_free(HdhaConfig *c);
static inline void hdha_config_freep(HdhaConfig **c) {
        *c = hdha_config_free(*c);
}

const HdhaGroupConfig *hdha_config_find_group(const HdhaConfig *c, const char *name);
/* The group that has domain as a member, or NULL. */
const HdhaGroupConfig *hdha_config_find_domain(const HdhaConfig *c, const char *domain);

void hdha_config_errors_done(HdhaConfigErrors *e);

/* "FILE:LINE: Key=: message", leaving out ":LINE" when line is 0 and
 * " Key=:" when there is no key. */
int hdha_config_error_format(const HdhaConfigError *e, char **ret);
/* Prints one formatted line per problem, then a line about the dropped
 * ones if any. Returns the number of problems, or -errno. */
int hdha_config_errors_print(const HdhaConfigErrors *e, FILE *f);


