/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "macro.h"
#include "names.h"

const sd_bus_error_map hdha_bus_error_map[] = {
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_NO_SUCH_GROUP, ENOENT),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_NO_SUCH_DOMAIN, ENXIO),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_NOT_MEMBER, EXDEV),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_FROZEN, EROFS),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_NOTHING_TO_DO, EALREADY),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_NOT_CONNECTED, EHOSTDOWN),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_NOT_STANDBY, ESRCH),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_LIBVIRT_FAILURE, EIO),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_STATE_WRITE_FAILURE, ENOSPC),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_INTERRUPTED, ECANCELED),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_ACCESS_DENIED, EACCES),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_ACCESS_DENIED, EPERM),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_BAD_CONFIGURATION, EBADMSG),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_PACEMAKER_FAILURE, ETIMEDOUT),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_PACEMAKER_FAILURE, ENOTCONN),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_HELD_ELSEWHERE, EUSERS),
        SD_BUS_ERROR_MAP(HDHA_BUS_ERROR_NO_QUORUM, ENOLINK),
        SD_BUS_ERROR_MAP_END,
};

int hdha_bus_error_register(void) {
        /* sd-bus keeps the map and ignores a second registration of it. */
        return sd_bus_error_add_map(hdha_bus_error_map);
}

const char *hdha_bus_error_from_errno(int error) {
        error = abs(error);
        for (const sd_bus_error_map *e = hdha_bus_error_map; e->name; e++)
                if (e->code == error)
                        return e->name;
        return NULL;
}

int hdha_bus_group_path(const char *group, char **ret) {
        if (!group || !*group)
                return -EINVAL;
        return sd_bus_path_encode(HDHA_BUS_GROUP_PREFIX, group, ret);
}

int hdha_bus_group_from_path(const char *path, char **ret) {
        _cleanup_free_ char *name = NULL;
        int r;

        /* sd_bus_path_decode() refuses what is no object path at all with
         * -EINVAL: that is no group's path either. */
        if (!path || !sd_bus_object_path_is_valid(path))
                return 0;
        r = sd_bus_path_decode(path, HDHA_BUS_GROUP_PREFIX, &name);
        if (r <= 0)
                return r;
        if (!hdha_group_name_is_valid(name))
                return 0;
        *ret = TAKE_PTR(name);
        return 1;
}
