/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state directory's lock: one daemon per table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "macro.h"
#include "parse-util.h"
#include "state-lock.h"

/* The pid the holder wrote, 0 if there is none. */
static pid_t read_holder(int fd) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        int64_t pid;

        if (n <= 0)
                return 0;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        if (hdha_parse_int64(buf, 1, INT32_MAX, &pid) < 0)
                return 0;
        return (pid_t) pid;
}

int hdha_state_lock(const char *dir, int *ret_fd, pid_t *ret_holder) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[32];
        int n;

        if (!dir || !ret_fd || !ret_holder)
                return -EINVAL;
        if (asprintf(&path, "%s/" HDHA_STATE_LOCK, dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return -errno;
                *ret_holder = read_holder(fd);
                return -EBUSY;
        }
        n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t) n, 0) != n)
                return errno ? -errno : -EIO;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
