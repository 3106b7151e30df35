/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation table's file (lib/table-file.c): any text is read; a table
 * read obeys the table's rules, and written out and read back it is the
 * same table and the same text. */
#include <errno.h>

#include "fuzz-util.h"
#include "macro.h"
#include "table.h"

static void check_rules(const HdhaTable *t) {
        FUZZ_CHECK(t->n_groups <= HDHA_TABLE_GROUPS_MAX);
        for (size_t i = 0; i < t->n_groups; i++) {
                const HdhaTableGroup *g = t->groups[i];
                size_t n_active = 0;

                FUZZ_CHECK(hdha_table_name_is_valid(g->name));
                FUZZ_CHECK(hdha_table_get_group(t, g->name) == g);
                FUZZ_CHECK(g->n_members >= 1 && g->n_members <= HDHA_TABLE_MEMBERS_MAX);
                for (size_t j = 0; j < g->n_members; j++) {
                        FUZZ_CHECK(hdha_table_name_is_valid(g->members[j].domain));
                        FUZZ_CHECK(hdha_table_group_get_member(g, g->members[j].domain) == &g->members[j]);
                        FUZZ_CHECK(hdha_role_to_string(g->members[j].role));
                        n_active += g->members[j].role == HDHA_ROLE_ACTIVE;
                }
                FUZZ_CHECK(n_active <= 1);
                FUZZ_CHECK(!g->active || hdha_table_group_get_member(g, g->active));
                FUZZ_CHECK(!g->op_source || hdha_table_group_get_member(g, g->op_source));
                FUZZ_CHECK(!g->op_target || hdha_table_group_get_member(g, g->op_target));
                FUZZ_CHECK(hdha_operation_to_string(g->operation));
                FUZZ_CHECK(hdha_step_to_string(g->step));
                if (g->operation == HDHA_OPERATION_NONE)
                        FUZZ_CHECK(g->step == HDHA_STEP_NONE && !g->op_source && !g->op_target);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hdha_table_freep) HdhaTable *t = NULL, *back = NULL, *copy = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL, *text2 = NULL, *err2 = NULL;
        int r;

        r = hdha_table_parse((const char *) data, size, "table.json", &t, &err);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EFBIG || r == -ENOMEM);
        if (r == -EBADMSG || r == -EFBIG)
                FUZZ_CHECK(err && strncmp(err, "table.json: ", 12) == 0);
        if (r < 0)
                return 0;

        /* JSON text has no NUL byte (a string escapes it as \u0000). */
        FUZZ_CHECK(!memchr(data, 0, size));
        check_rules(t);

        r = hdha_table_format(t, &text);
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return 0;
        r = hdha_table_parse(text, strlen(text), "table.json", &back, &err2);
        if (r == -ENOMEM)
                return 0;
        if (r != 0)
                fprintf(stderr, "written table not read back: %s\n", strna(err2));
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(hdha_table_equal(t, back));
        r = hdha_table_format(back, &text2);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0 && streq(text, text2));

        r = hdha_table_dup(t, &copy);
        if (r == -ENOMEM)
                return 0;
        FUZZ_CHECK(r == 0 && hdha_table_equal(t, copy));
        return 0;
}
