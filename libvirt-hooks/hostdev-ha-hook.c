/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hostdev-ha's libvirt QEMU hook, installed as
 * /etc/libvirt/hooks/qemu.d/hostdev-ha: refuses to start a domain whose
 * definition carries a group's device while the allocation table gives the
 * device to another domain (see hook.h).
 *
 *   hostdev-ha NAME OP SUBOP EXTRA      domain XML on stdin
 *
 * Exit status 0: go ahead; 1: refused, the reason on stderr in one line
 * (libvirt puts it in the error the user sees); 2: bad usage.
 *
 * The configuration is read from /etc/hostdev-ha, the daemon's default.
 * HOSTDEV_HA_CONFIG_DIR overrides it when the hook is run by hand or by a
 * test; libvirtd does not pass it on (it runs hooks with LC_ALL, PATH and
 * HOME only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "conf.h"
#include "hook.h"
#include "macro.h"

int main(int argc, char *argv[]) {
        _cleanup_free_ char *message = NULL;
        HdhaHookVerdict v;
        const char *dir;

        if (argc < 4) {
                fprintf(stderr, "Usage: %s NAME OP SUBOP [EXTRA] < DOMAIN-XML\n",
                        argc > 0 ? argv[0] : "hostdev-ha");
                return 2;
        }

        /* Most calls end here, before anything is loaded. */
        if (!streq(argv[2], "prepare") || !streq(argv[3], "begin"))
                return 0;

        xmlInitParser();
        dir = secure_getenv("HOSTDEV_HA_CONFIG_DIR");
        if (!dir || !*dir)
                dir = HDHA_DEFAULT_CONFIG_DIR;

        v = hdha_hook_run(dir, argv[1], argv[2], argv[3], stdin, &message);
        if (message)
                fprintf(stderr, "%s\n", message);
        return v == HDHA_HOOK_REFUSE ? 1 : 0;
}
