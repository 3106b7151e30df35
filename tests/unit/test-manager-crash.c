/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon killed after every possible number of completed hypervisor
 * steps of an operation, then started again (manager-harness.c's "crash"
 * and "restart"): the device ends on exactly the table's holder, no
 * operation is left over, the table's files hold what the daemon has.
 * Each test runs twice: writing every change at once, and batching the
 * writes of a round of events as the daemon does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "manager-harness.h"

/* crash_loop: for n = 0, 1, ... until the operation completes before the
 * crash: SETUP, OPERATION, n hypervisor steps, then AFTER (a crash, a
 * restart, ...); the transcript is printed when OK says no, ASSERT_RUN
 * asserts. */
static bool crash_batched; /* each crash test runs again with the writes batched */

static void crash_loop(const char *setup, const char *operation, const char *after, bool (*ok)(Run *run),
                       void (*assert_run)(Run *run)) {
        for (unsigned n = 0;; n++) {
                char *text = NULL, cmd[64];
                size_t size = 0;
                bool finished;
                Run run;

                run_init(&run, open_memstream(&text, &size));
                if (crash_batched)
                        run_commands(&run, "batch\n");
                run_commands(&run, setup);
                run_commands(&run, operation);
                snprintf(cmd, sizeof(cmd), "run %u", n);
                run_command(&run, cmd);
                finished = fake_hv_pending(run.hv) == 0 && !run_idle_pending(&run);
                run_commands(&run, after);
                fflush(run.out);
                if (!ok(&run))
                        print_error("crash after %u steps:\n%s\n", n, text);
                assert_run(&run);
                assert_int_equal(run_done(&run), 0);
                fclose(run.out);
                free(text);
                if (finished)
                        break;
        }
}

static bool one_holder_ok(Run *run) {
        const HdhaTable *t = hdha_manager_table(run->m);

        return run->failures == 0 && t->groups[0]->operation == HDHA_OPERATION_NONE && t->groups[0]->active;
}

static void one_holder_check(Run *run) {
        const HdhaTable *t = hdha_manager_table(run->m);

        assert_int_equal(run->failures, 0);
        assert_int_equal(t->groups[0]->operation, HDHA_OPERATION_NONE);
        assert_non_null(t->groups[0]->active);
}

/* The daemon killed after each possible number of completed hypervisor
 * steps of an operation, then started again: the device ends on exactly
 * the table's holder, one of the two, with no operation left over. */
static void crash_at_every_step(const char *setup, const char *operation) {
        crash_loop(setup, operation, "crash\nrestart\nrun\ncheck vm-a vm-b\nrun", one_holder_ok, one_holder_check);
}

static const char *const setup_two =
        "conf nic0 Domains=vm-a vm-b\n"
        "conf nic0 Policy=manual\n"
        "domain vm-a running device\n"
        "domain vm-b running\n"
        "start\n"
        "run\n";

static void test_crash_during_switch(void **state) {
        crash_at_every_step(setup_two, "switch nic0 vm-b");
}

static void test_crash_during_failover(void **state) {
        crash_at_every_step(setup_two, "kill vm-a\nrun\nfailover nic0");
}

static void test_crash_during_forced_switch(void **state) {
        crash_at_every_step(setup_two, "force-switch nic0 vm-b");
}

/* Policy auto, three members: the standby chosen first refuses the device
 * (QEMU's "Duplicate ID"), the failover goes on to the other. */
static void test_crash_during_refused_failover(void **state) {
        crash_loop("conf nic0 Domains=vm-a vm-b vm-c\nconf nic0 Policy=auto\n"
                   "domain vm-a running device\ndomain vm-b running\ndomain vm-c running\nstart\nrun\n",
                   "fail attach vm-b unable to execute QEMU command 'netdev_add': Duplicate ID (code 1)\nkill vm-a",
                   "crash\nrestart\nrun\ncheck vm-a vm-b vm-c\nrun", one_holder_ok, one_holder_check);
}

static void test_crash_during_timeout(void **state) {
        crash_at_every_step("conf nic0 Domains=vm-a vm-b\nconf nic0 Policy=manual\nconf nic0 ReleaseTimeoutSec=1\n"
                            "domain vm-a running device holds-on\ndomain vm-b running\nstart\nrun\n",
                            "switch nic0 vm-b\nrun\nadvance 1");
}

/* Every group: its device on exactly the table's holder among its members,
 * no operation left, and the table's files hold what the daemon has. */
static void check_every_group(Run *run) {
        const HdhaTable *t = hdha_manager_table(run->m);
        HdhaTable *file = NULL;

        for (size_t i = 0; i < t->n_groups; i++) {
                const HdhaTableGroup *g = t->groups[i];
                unsigned holders = 0;

                for (size_t k = 0; k < g->n_members; k++) {
                        FakeDomain *d = fake_hv_domain(run->hv, g->members[k].domain);

                        if (d->running && d->has_device) {
                                holders++;
                                assert_string_equal(d->name, g->active);
                        }
                }
                assert_int_equal(holders, 1);
                assert_int_equal(g->operation, HDHA_OPERATION_NONE);
        }
        assert_int_equal(hdha_table_load(run->table_path, &file, NULL), 0);
        assert_true(hdha_table_equal(t, file));
        hdha_table_free(file);
}

static bool no_violation_ok(Run *run) {
        return fake_hv_violations(run->hv) == 0;
}

/* Two groups, one file each: the daemon killed after each possible number
 * of completed hypervisor steps of what happens to them, started again:
 * both end on one holder each, the files as the daemon has them. */
static void crash_groups_at_every_step(const char *operation) {
        static const char *const setup =
                "conf nic0 Domains=vm-a vm-b\n"
                "conf nic0 Policy=auto\n"
                "conf nic1 Domains=vm-c vm-d\n"
                "conf nic1 Policy=auto\n"
                "group-alias nic0 vm-a vm-b\n"
                "group-alias nic1 vm-c vm-d\n"
                "domain vm-a running device\n"
                "domain vm-b running\n"
                "domain vm-c running device\n"
                "domain vm-d running\n"
                "start\n"
                "run\n";

        crash_loop(setup, operation, "crash\nrestart\nrun", no_violation_ok, check_every_group);
}

static void test_crash_groups_switch(void **state) {
        crash_groups_at_every_step("switch nic0 vm-b");
}

static void test_crash_groups_all_fail(void **state) {
        crash_groups_at_every_step("kill vm-a\nkill vm-c");
}

static char *test_name(const char *name, bool batched) {
        char *s;

        if (asprintf(&s, "%s%s", name, batched ? ", writes batched" : "") < 0)
                abort();
        return s;
}

static int batch_on(void **state) {
        crash_batched = true;
        return 0;
}

static int batch_off(void **state) {
        crash_batched = false;
        return 0;
}

static const struct {
        const char *name;
        CMUnitTestFunction test_func;
} crash_tests[] = {
        { "crash at every step of a switch", test_crash_during_switch },
        { "crash at every step of a failover", test_crash_during_failover },
        { "crash at every step of a forced switch", test_crash_during_forced_switch },
        { "crash at every step of a failover its first target refuses", test_crash_during_refused_failover },
        { "crash at every step after a release timeout", test_crash_during_timeout },
        { "crash at every step of one group's switch beside another", test_crash_groups_switch },
        { "crash at every step of two groups failing over at once", test_crash_groups_all_fail },
};

int main(void) {
        struct CMUnitTest tests[2 * ELEMENTSOF(crash_tests)];
        size_t n = 0;
        int r;

        for (int batched = 0; batched < 2; batched++)
                for (size_t i = 0; i < ELEMENTSOF(crash_tests); i++)
                        tests[n++] = (struct CMUnitTest) {
                                .name = test_name(crash_tests[i].name, batched),
                                .test_func = crash_tests[i].test_func,
                                .setup_func = batched ? batch_on : NULL,
                                .teardown_func = batched ? batch_off : NULL,
                        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        r = _cmocka_run_group_tests("manager crashes", tests, n, NULL, NULL);
        for (size_t i = 0; i < n; i++)
                free((char *) tests[i].name);
        return r;
}
