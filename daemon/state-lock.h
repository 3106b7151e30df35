/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* One daemon per state directory: two would both act on the same domains
 * and write the same table. The lock is an exclusive flock(2) on
 * STATEDIR/hostdev-had.lock, held for the daemon's life (the kernel lets
 * go of it when the process ends, however it ends); the file holds the
 * holder's pid, for the message of a second daemon. */
#define HDHA_STATE_LOCK "hostdev-had.lock"

/* Takes the lock of the state directory dir: 0 and *ret_fd (keep it open),
 * -EBUSY and *ret_holder (the holder's pid, 0 if the file does not say) if
 * another process holds it, or -errno. */
int hdha_state_lock(const char *dir, int *ret_fd, pid_t *ret_holder);
