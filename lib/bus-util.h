/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The D-Bus names of hostdev-ha (docs/architecture.md), its named errors
 * and the object paths of groups: shared by the daemon's bus code and by
 * clients (hostdevctl, tests). */

#define HDHA_BUS_NAME "org.hostdevha.Manager1"
#define HDHA_BUS_PATH "/org/hostdevha/Manager1"
#define HDHA_BUS_MANAGER_INTERFACE "org.hostdevha.Manager1"
#define HDHA_BUS_GROUP_INTERFACE "org.hostdevha.Group1"
#define HDHA_BUS_GROUP_PREFIX "/org/hostdevha/Manager1/group"

/* The errors. Each is one row of hdha_bus_error_map (lib/bus-util.c), the one
 * table from cause to name: the errno there is the cause as the state
 * machine reports it (daemon/manager.h) and what a client gets from
 * sd_bus_error_get_errno() once hdha_bus_error_register() ran. A name may
 * stand for several causes (rows); clients get the errno of its first row. */
#define HDHA_BUS_ERROR_NO_SUCH_GROUP "org.hostdevha.Error.NoSuchGroup"        /* ENOENT */
#define HDHA_BUS_ERROR_NO_SUCH_DOMAIN "org.hostdevha.Error.NoSuchDomain"      /* ENXIO */
#define HDHA_BUS_ERROR_NOT_MEMBER "org.hostdevha.Error.NotMember"             /* EXDEV */
#define HDHA_BUS_ERROR_BUSY "org.hostdevha.Error.Busy"                        /* EBUSY */
#define HDHA_BUS_ERROR_FROZEN "org.hostdevha.Error.Frozen"                    /* EROFS */
#define HDHA_BUS_ERROR_NOTHING_TO_DO "org.hostdevha.Error.NothingToDo"        /* EALREADY */
#define HDHA_BUS_ERROR_NOT_CONNECTED "org.hostdevha.Error.NotConnected"       /* EHOSTDOWN */
#define HDHA_BUS_ERROR_NOT_STANDBY "org.hostdevha.Error.NotStandby"           /* ESRCH */
#define HDHA_BUS_ERROR_LIBVIRT_FAILURE "org.hostdevha.Error.LibvirtFailure"   /* EIO */
#define HDHA_BUS_ERROR_STATE_WRITE_FAILURE "org.hostdevha.Error.StateWriteFailure" /* ENOSPC */
#define HDHA_BUS_ERROR_INTERRUPTED "org.hostdevha.Error.Interrupted"          /* ECANCELED */
#define HDHA_BUS_ERROR_ACCESS_DENIED "org.hostdevha.Error.AccessDenied"       /* EACCES, EPERM */
#define HDHA_BUS_ERROR_INVALID_ARGUMENT "org.hostdevha.Error.InvalidArgument" /* EINVAL */
#define HDHA_BUS_ERROR_BAD_CONFIGURATION "org.hostdevha.Error.BadConfiguration" /* EBADMSG */
#define HDHA_BUS_ERROR_PACEMAKER_FAILURE "org.hostdevha.Error.PacemakerFailure" /* ETIMEDOUT, ENOTCONN */
#define HDHA_BUS_ERROR_HELD_ELSEWHERE "org.hostdevha.Error.HeldElsewhere"    /* EUSERS */
#define HDHA_BUS_ERROR_NO_QUORUM "org.hostdevha.Error.NoQuorum"              /* ENOLINK */

extern const sd_bus_error_map hdha_bus_error_map[];

/* Registers hdha_bus_error_map with sd-bus (once per process; idempotent). */
int hdha_bus_error_register(void);

/* The error name for the cause -errno (or errno), or NULL if it has none. */
const char *hdha_bus_error_from_errno(int error);

/* HDHA_BUS_GROUP_PREFIX "/" escaped name (sd_bus_path_encode()). */
int hdha_bus_group_path(const char *group, char **ret);
/* The group name of such a path: 1 and *ret, 0 if path is not a group's
 * (not an object path at all, other prefix, deeper path, or not a valid
 * group name), or -ENOMEM. */
int hdha_bus_group_from_path(const char *path, char **ret);
