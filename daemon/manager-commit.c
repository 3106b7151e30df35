/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table kept durable: every write an append to its journal, the
 * groups changed by a round of events written together, each step's call
 * after the write that has it. */
#include <stdlib.h>

#include "log.h"
#include "manager-internal.h"

/* Takes the group out of the queue of the next write. */
void manager_group_commit_unqueue(ManagerGroup *g) {
        HdhaManager *m = g->manager;
        ManagerGroup *prev = NULL;

        if (!g->commit_queued)
                return;
        for (ManagerGroup *i = m->commit_head; i && i != g; i = i->commit_next)
                prev = i;
        if (prev)
                prev->commit_next = g->commit_next;
        else
                m->commit_head = g->commit_next;
        if (m->commit_tail == g)
                m->commit_tail = prev;
        g->commit_next = NULL;
        g->commit_queued = false;
}

/* Every write of the table is an append to its journal: one flush of the
 * disk for any number of groups. Past JOURNAL_COMPACT_BYTES the journal
 * is compacted into the group files (hdha_table_save()), which costs a
 * write of each changed group once: about every 15000 records. Until a
 * save succeeds after a load the journal takes nothing (a torn last
 * record would end up in its middle): a write is that save. */
static int table_write(HdhaManager *m, const HdhaTableGroup *const *tables, size_t n) {
        uint64_t size;
        int r;

        if (m->compact_needed) {
                r = hdha_table_save(m->table, m->table_path);
                if (r >= 0)
                        m->compact_needed = false;
                return r;
        }
        r = hdha_table_journal_append(m->table_path, tables, n, &size);
        if (r == -EFBIG) {
                /* Over HDHA_TABLE_JOURNAL_MAX: the compaction below failed
                 * every time; try it now, for this write. */
                m->compact_needed = true;
                return table_write(m, tables, n);
        }
        if (r >= 0 && size > JOURNAL_COMPACT_BYTES) {
                int k = hdha_table_save(m->table, m->table_path);

                if (k < 0)
                        log_warning_errno(k, "Failed to compact the allocation table's journal in '%s', "
                                          "trying again with a later write: %m", m->table_path);
        }
        return r;
}

int manager_group_commit(ManagerGroup *g) {
        HdhaManager *m = g->manager;
        int r;

        r = table_write(m, (const HdhaTableGroup *[]) { g->table }, 1);
        if (r >= 0)
                g->dirty = false;
        if (m->env.group_changed)
                m->env.group_changed(m->env.userdata, g->name);
        return r;
}

/* A group's state was written (r < 0: it could not be). */
static void commit_done(HdhaManager *m, ManagerGroup *g, int r) {
        if (r < 0)
                log_error_errno(r, "Group '%s': failed to write the allocation table '%s': %m", g->name,
                                m->table_path);
        else
                g->dirty = false;
        if (m->env.group_changed)
                m->env.group_changed(m->env.userdata, g->name);
        manager_group_step_written(g, r);
}

/* Every queued group in one write (one flush of the disk), then each
 * group's call that waited for it. The queue is emptied before anything
 * is called back: a group queued again from a callback goes into the next
 * write with what changed since. */
static void commit_queued(HdhaManager *m) {
        _cleanup_free_ const HdhaTableGroup **tables = NULL;
        _cleanup_free_ ManagerGroup **groups = NULL;
        ManagerGroup *g, *next;
        size_t n = 0, k = 0;
        int r = 0;

        for (g = m->commit_head; g; g = g->commit_next)
                n++;
        groups = calloc(n, sizeof(*groups));
        tables = calloc(n, sizeof(*tables));
        if (!groups || !tables) {
                /* Out of memory: one group at a time, each written right
                 * before its callbacks. */
                while ((g = m->commit_head)) {
                        manager_group_commit_unqueue(g);
                        if (!g->removed)
                                commit_done(m, g, table_write(m, (const HdhaTableGroup *[]) { g->table }, 1));
                }
                return;
        }
        for (g = m->commit_head; g; g = next) {
                next = g->commit_next;
                g->commit_next = NULL;
                g->commit_queued = false;
                if (g->removed)
                        continue;
                groups[k] = g;
                tables[k++] = g->table;
        }
        m->commit_head = m->commit_tail = NULL;
        if (k > 0)
                r = table_write(m, tables, k);
        for (size_t i = 0; i < k; i++)
                commit_done(m, groups[i], r);
}

static void on_commit(void *userdata) {
        HdhaManager *m = userdata;

        m->commit_source = NULL;
        commit_queued(m);
}

void manager_group_commit_later(ManagerGroup *g) {
        HdhaManager *m = g->manager;

        if (!g->commit_queued) {
                if (m->commit_tail)
                        m->commit_tail->commit_next = g;
                else
                        m->commit_head = g;
                m->commit_tail = g;
                g->commit_queued = true;
        }
        if (m->commit_source)
                return;
        if (!m->env.idle_start || m->env.idle_start(m->env.userdata, on_commit, m, &m->commit_source) < 0) {
                m->commit_source = NULL;
                commit_queued(m); /* no source for later: now */
        }
}

void manager_group_flush(ManagerGroup *g) {
        if (g->dirty)
                manager_group_commit_later(g);
}
