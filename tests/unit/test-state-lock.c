/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state directory's lock: one daemon per table; the holder named; let
 * go when its process ends, however it ends. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "macro.h"
#include "state-lock.h"

static char dir[PATH_MAX], lock_file[PATH_MAX + 32];

static int setup(void **state) {
        strcpy(dir, "/tmp/test-state-lock-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        (void) snprintf(lock_file, sizeof(lock_file), "%s/" HDHA_STATE_LOCK, dir);
        return 0;
}

static int teardown(void **state) {
        (void) unlink(lock_file);
        return rmdir(dir);
}

static pid_t pid_in_file(void) {
        char buf[32] = "";
        int fd = open(lock_file, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
        (void) close(fd);
        return (pid_t) atoi(buf);
}

static void test_one_holder(void **state) {
        pid_t holder = -1;
        int fd = -1, fd2 = -1;

        assert_int_equal(hdha_state_lock(dir, &fd, &holder), 0);
        assert_true(fd >= 0);
        assert_int_equal(pid_in_file(), getpid());

        /* A second taker (another open of the file: flock() locks are per
         * open file, so this process counts as another daemon) is refused,
         * told who holds it, and changes nothing. */
        assert_int_equal(hdha_state_lock(dir, &fd2, &holder), -EBUSY);
        assert_int_equal(fd2, -1);
        assert_int_equal(holder, getpid());
        assert_int_equal(pid_in_file(), getpid());

        /* Closed: free again. */
        assert_int_equal(close(fd), 0);
        assert_int_equal(hdha_state_lock(dir, &fd2, &holder), 0);
        assert_int_equal(close(fd2), 0);
}

/* A holder killed (SIGKILL, as a crash) lets go; the pid it left in the
 * file is replaced. */
static void test_holder_killed(void **state) {
        int ready[2], fd = -1, status;
        pid_t child, holder = 0;
        char c;

        assert_int_equal(pipe(ready), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                int cfd;
                pid_t h;

                (void) close(ready[0]);
                if (hdha_state_lock(dir, &cfd, &h) < 0)
                        _exit(1);
                (void) write(ready[1], "x", 1);
                for (;;)
                        pause();
        }
        (void) close(ready[1]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        (void) close(ready[0]);

        assert_int_equal(hdha_state_lock(dir, &fd, &holder), -EBUSY);
        assert_int_equal(holder, child);

        assert_int_equal(kill(child, SIGKILL), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_int_equal(pid_in_file(), child);
        assert_int_equal(hdha_state_lock(dir, &fd, &holder), 0);
        assert_int_equal(pid_in_file(), getpid());
        assert_int_equal(close(fd), 0);
}

/* A file without a pid in it (written by hand, cut short): the holder is
 * unknown, 0. No state directory: the error of open(). */
static void test_unknown_holder(void **state) {
        pid_t holder = -1;
        int fd = -1, other;
        char missing[PATH_MAX + 16];

        assert_int_equal(hdha_state_lock(dir, &fd, &holder), 0);
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(pwrite(fd, "not a pid\n", 10, 0), 10);
        assert_int_equal(hdha_state_lock(dir, &other, &holder), -EBUSY);
        assert_int_equal(holder, 0);
        assert_int_equal(close(fd), 0);

        (void) snprintf(missing, sizeof(missing), "%s/missing", dir);
        assert_int_equal(hdha_state_lock(missing, &fd, &holder), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_one_holder, setup, teardown),
                cmocka_unit_test_setup_teardown(test_holder_killed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_holder, setup, teardown),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests_name("state-lock", tests, NULL, NULL);
}
