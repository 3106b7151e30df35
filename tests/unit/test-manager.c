/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The failover state machine on a fake hypervisor and a virtual clock.
 *
 * Each tests/unit/scenarios/NAME.scenario is a script of commands (events
 * in, manager-harness.c); its transcript (hypervisor calls, transitions,
 * signals, results out) must equal NAME.expected. HDHA_UPDATE_EXPECTED=1
 * rewrites the expected files instead; review their diff like code.
 * Besides, every scenario checks the invariant on every attach: never on
 * two running domains. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "manager-harness.h"

static char *slurp(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;

        if (!f)
                return NULL;
        if (getdelim(&buf, &n, '\0', f) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

static void run_scenario(void **state) {
        const char *path = *state;
        char *text = NULL, *expected, expected_path[512], line[512];
        size_t size = 0;
        unsigned violations;
        Run run;
        FILE *in;

        run_init(&run, open_memstream(&text, &size));
        in = fopen(path, "re");
        assert_non_null(in);
        while (fgets(line, sizeof(line), in))
                run_command(&run, line);
        fclose(in);
        violations = run_done(&run);
        fclose(run.out);

        snprintf(expected_path, sizeof(expected_path), "%.*s.expected", (int) (strlen(path) - strlen(".scenario")),
                 path);
        if (getenv("HDHA_UPDATE_EXPECTED")) {
                FILE *f = fopen(expected_path, "we");
                fputs(text, f);
                fclose(f);
        }
        expected = slurp(expected_path);
        if (!expected)
                fail_msg("no transcript '%s'", expected_path);
        if (strcmp(text, expected) != 0) {
                /* Show the first line where they part. */
                const char *a = text, *b = expected, *la = text, *lb = expected;
                unsigned lineno = 1;
                while (*a && *a == *b) {
                        if (*a == '\n') {
                                lineno++;
                                la = a + 1;
                                lb = b + 1;
                        }
                        a++, b++;
                }
                print_error("%s:%u: transcript differs\n", expected_path, lineno);
                print_error("expected: %.*s\n", (int) strcspn(lb, "\n"), lb);
                print_error("got:      %.*s\n", (int) strcspn(la, "\n"), la);
                fail();
        }
        assert_int_equal(run.failures, 0);
        assert_int_equal(violations, 0);
        free(expected);
        free(text);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

int main(void) {
        const char *top = getenv("abs_top_srcdir") ?: ".";
        struct dirent **names = NULL;
        struct CMUnitTest *tests;
        char dir[512];
        size_t n = 0;
        int count, r;

        snprintf(dir, sizeof(dir), "%s/tests/unit/scenarios", top);
        count = scandir(dir, &names, NULL, by_name);
        if (count < 0) {
                printf("Bail out! cannot read %s\n", dir);
                return 1;
        }
        tests = calloc((size_t) count, sizeof(*tests));
        for (int i = 0; i < count; i++) {
                const char *name = names[i]->d_name;
                size_t len = strlen(name);
                char *path;

                if (len < 10 || strcmp(name + len - 9, ".scenario") != 0)
                        continue;
                if (asprintf(&path, "%s/%s", dir, name) < 0)
                        return 1;
                tests[n++] = (struct CMUnitTest) {
                        .name = strdup(name),
                        .test_func = run_scenario,
                        .initial_state = path,
                };
        }

        cmocka_set_message_output(CM_OUTPUT_TAP);
        r = _cmocka_run_group_tests("manager scenarios", tests, n, NULL, NULL);
        for (size_t i = 0; i < n; i++) {
                free((char *) tests[i].name);
                free(tests[i].initial_state);
        }
        for (int i = 0; i < count; i++)
                free(names[i]);
        free(names);
        free(tests);
        return r;
}
