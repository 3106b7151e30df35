/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The allocation table (docs/architecture.md): per group, the domain the device is
 * allocated to, a generation that grows on every change, the operation in
 * flight with its step, and each member's role. It is the truth about where
 * the device should be; libvirt is the truth about where it is. Besides, it
 * keeps what the daemon must still know after a restart: whether the group
 * is frozen, and under policy pacemaker which resource instance on which
 * node stands for each member (told by the agent; without it a failure
 * could not be reported to Pacemaker before the agent's next call).
 *
 * The table lives in one JSON file per group, STATEDIR/table.d/NAME.json,
 * and the journal beside them (HDHA_TABLE_JOURNAL below), where the daemon
 * appends each write, of one group or of many at once, with one flush; a
 * full save (hdha_table_save()) folds the journal into the files. A
 * group's file:
 *
 *   {
 *     "format": 3,
 *     "group": "nic0",
 *     "active": "vm-a",            (null: attached to no domain)
 *     "generation": 7,
 *     "operation": "switch",
 *     "step": "waiting-release",
 *     "source": "vm-a",            (null when the operation has none)
 *     "target": "vm-b",
 *     "frozen": false,
 *     "members": [
 *       { "domain": "vm-a", "role": "active",
 *         "resource": "hd:0", "node": "node1" },
 *       { "domain": "vm-b", "role": "standby",
 *         "resource": null, "node": null }         (no instance known)
 *     ]
 *   }
 *
 * Formats 1 and 2 kept every group in one file, STATEDIR/table.json:
 * {"format": 2, "groups": [ GROUP, ... ]}, each GROUP the above without
 * "format" (format 1 also without "frozen", "resource" and "node"). While
 * that file exists it is the table (whatever table.d holds: an upgrade cut
 * short); the daemon upgrades it at start-up by writing every group's file
 * and only then removing table.json. Format 1 reads as not frozen with no
 * instance known.
 *
 * Every key of a file's format is required, unknown keys are refused, a
 * file of another format version is refused, and so is a file in table.d
 * whose name is not its group's name followed by ".json" (names starting
 * with a dot, the temporary files of a write cut short, are skipped): a
 * table the daemon cannot read completely is an error, never a silent
 * reset.
 *
 * The promotion score last sent to Pacemaker is not kept: it is derived
 * from the table (and a switch Pacemaker is asked to carry out, which ends
 * with the daemon), its write is asynchronous and may be lost with the
 * daemon, so after a restart the daemon sends every score once again. */

#define HDHA_TABLE_FORMAT 3     /* written: one file per group */
#define HDHA_TABLE_FORMAT_ONE_FILE 2 /* the newest format of the single file */
#define HDHA_TABLE_FORMAT_MIN 1 /* the oldest read */
#define HDHA_TABLE_FILE_MAX (1024 * 1024) /* bytes, for load and save */
#define HDHA_TABLE_GROUPS_MAX 1024
#define HDHA_TABLE_MEMBERS_MAX 32
#define HDHA_TABLE_NAME_MAX 255 /* bytes in a group or domain name */

typedef enum HdhaRole {
        HDHA_ROLE_ACTIVE,      /* holds the device, full CPU quota */
        HDHA_ROLE_STANDBY,     /* running without the device, standby quota */
        HDHA_ROLE_DEACTIVATED, /* shut off on purpose (or after a failure) */
        HDHA_ROLE_REBUILDING,  /* being restarted as a new standby */
        HDHA_ROLE_FAILED,      /* failed and not (yet) recovered */
        _HDHA_ROLE_MAX,
        _HDHA_ROLE_INVALID = -EINVAL,
} HdhaRole;

typedef enum HdhaOperation {
        HDHA_OPERATION_NONE,
        HDHA_OPERATION_SWITCH,     /* planned move: source = active, target = new holder */
        HDHA_OPERATION_FAILOVER,   /* source = failed active, target = chosen standby */
        HDHA_OPERATION_RELEASE,    /* source = active, no target: the device ends unallocated */
        HDHA_OPERATION_DEACTIVATE, /* source = the domain stopped */
        HDHA_OPERATION_ACTIVATE,   /* target = the domain started as standby */
        HDHA_OPERATION_REBUILD,    /* target = the deactivated domain restarted */
        _HDHA_OPERATION_MAX,
        _HDHA_OPERATION_INVALID = -EINVAL,
} HdhaOperation;

/* The step of the operation in flight. A step is written before its action
 * starts, so after a crash the action may or may not have happened: recovery
 * asks libvirt about that step (is the device still in the source's live XML?
 * is the source shut off? is the device in the target's live XML?) and then
 * finishes the operation, or rolls it back while the source still holds the
 * device. The usual orders:
 *   switch:     raising-quota(target) detaching(source) waiting-release
 *               [deactivating(source) on timeout] attaching(target)
 *               lowering-quota(source) done
 *   failover:   deactivating(source) raising-quota(target) attaching(target)
 *               rebuilding(source) lowering-quota(source) done
 *   release:    detaching waiting-release [deactivating] lowering-quota done
 *   deactivate: deactivating done
 *   activate:   starting lowering-quota done
 *   rebuild:    rebuilding lowering-quota done
 * The attach never starts before the source is confirmed to have let go. */
typedef enum HdhaStep {
        HDHA_STEP_NONE,            /* no operation, or not started yet */
        HDHA_STEP_RAISING_QUOTA,   /* giving the target its active CPU quota */
        HDHA_STEP_DETACHING,       /* detach requested from the source */
        HDHA_STEP_WAITING_RELEASE, /* waiting for DEVICE_REMOVED from the source */
        HDHA_STEP_DEACTIVATING,    /* destroying the source */
        HDHA_STEP_ATTACHING,       /* attach requested to the target */
        HDHA_STEP_STARTING,        /* starting a domain as standby */
        HDHA_STEP_REBUILDING,      /* restarting a deactivated domain */
        HDHA_STEP_LOWERING_QUOTA,  /* giving a domain its standby CPU quota */
        HDHA_STEP_DONE,            /* every action finished, not yet cleared */
        _HDHA_STEP_MAX,
        _HDHA_STEP_INVALID = -EINVAL,
} HdhaStep;

/* to_string() returns NULL for a value out of range; from_string() returns
 * the _INVALID value (-EINVAL) for an unknown or NULL string. */
const char *hdha_role_to_string(HdhaRole r);
HdhaRole hdha_role_from_string(const char *s);
const char *hdha_operation_to_string(HdhaOperation o);
HdhaOperation hdha_operation_from_string(const char *s);
const char *hdha_step_to_string(HdhaStep s);
HdhaStep hdha_step_from_string(const char *s);

typedef struct HdhaTableMember {
        char *domain;
        HdhaRole role;
        /* Policy pacemaker: the resource instance that stands for the member
         * and the node it runs on; both NULL while unknown. */
        char *resource;
        char *node;
} HdhaTableMember;

/* Read the fields freely; change them only through the functions below, so
 * that the generation follows every change and the rules hold: every
 * domain named (active, source, target) is a member; at most one member has
 * the role active; no operation means no step, source or target. */
typedef struct HdhaTableGroup {
        char *name;
        char *active; /* NULL: the device is allocated to no domain */
        uint64_t generation;
        HdhaOperation operation;
        HdhaStep step;
        char *op_source; /* NULL: none */
        char *op_target; /* NULL: none */
        bool frozen; /* no automatic action, no move but a forced switch */
        HdhaTableMember *members;
        size_t n_members;
} HdhaTableGroup;

typedef struct HdhaTable {
        HdhaTableGroup **groups; /* pointers stay valid while groups are added */
        size_t n_groups;
} HdhaTable;

/* A name is 1..HDHA_TABLE_NAME_MAX bytes without control characters or '/'. */
bool hdha_table_name_is_valid(const char *name);

int hdha_table_new(HdhaTable **ret);
HdhaTable *hdha_table_free(HdhaTable *t);
static inline void hdha_table_freep(HdhaTable **t) {
        hdha_table_free(*t);
}
int hdha_table_dup(const HdhaTable *t, HdhaTable **ret);
bool hdha_table_equal(const HdhaTable *a, const HdhaTable *b);

HdhaTableGroup *hdha_table_get_group(const HdhaTable *t, const char *name);
/* A new group has no members, no active domain, no operation, generation 0.
 * -EINVAL bad name, -EEXIST already there, -E2BIG too many groups. */
int hdha_table_add_group(HdhaTable *t, const char *name, HdhaTableGroup **ret);
/* -ENOENT if there is no such group. */
int hdha_table_remove_group(HdhaTable *t, const char *name);

HdhaTableMember *hdha_table_group_get_member(const HdhaTableGroup *g, const char *domain);

/* The setters return 1 when they changed something (and then increase the
 * generation by one), 0 when the group already was so (generation kept), or
 * -errno and change nothing: -EINVAL bad name or value, -ENOENT not a member,
 * -EEXIST member already there, -E2BIG too many members, -EBUSY the change
 * would break a rule (a second active role; removing a member named as
 * active, source or target). */
int hdha_table_group_add_member(HdhaTableGroup *g, const char *domain, HdhaRole role);
int hdha_table_group_remove_member(HdhaTableGroup *g, const char *domain);
int hdha_table_group_set_active(HdhaTableGroup *g, const char *domain);
int hdha_table_group_set_role(HdhaTableGroup *g, const char *domain, HdhaRole role);
/* Starts (or replaces) the operation in flight. HDHA_OPERATION_NONE needs
 * HDHA_STEP_NONE and no source or target. */
int hdha_table_group_set_operation(
                HdhaTableGroup *g,
                HdhaOperation operation,
                HdhaStep step,
                const char *source,
                const char *target);
/* -EINVAL if no operation is in flight and step is not HDHA_STEP_NONE. */
int hdha_table_group_set_step(HdhaTableGroup *g, HdhaStep step);
int hdha_table_group_clear_operation(HdhaTableGroup *g);

/* Frozen and the Pacemaker instances are kept beside the allocation: they
 * do not change the generation (the agent's calls would grow it otherwise).
 * They return 1 when they changed something, 0 when it already was so, or
 * -errno: -ENOENT not a member, -EINVAL a resource or node that is not a
 * valid name, or only one of the two given. */
int hdha_table_group_set_frozen(HdhaTableGroup *g, bool frozen);
int hdha_table_group_set_instance(HdhaTableGroup *g, const char *domain, const char *resource, const char *node);

/* STATEDIR/table.d, the folder of the table's files, where the daemon keeps
 * the table and the hook reads it; STATEDIR/table.json, the single file of
 * formats 1 and 2, beside it. */
#define HDHA_TABLE_DIR "table.d"
#define HDHA_TABLE_ONE_FILE "table.json"
int hdha_table_path(const char *state_directory, char **ret);

/* Returned by hdha_table_load() when there is no table yet. */
#define HDHA_TABLE_MISSING 1
/* ... and when the table came from the single file of an older format
 * (table.json beside path): hdha_table_save() upgrades it. */
#define HDHA_TABLE_ONE_FILE_FOUND 2

/* Reads the table of the folder path (STATEDIR/table.d): its group files,
 * then the journal's records over them; or the single file beside it
 * while that exists (the journal is not read then). Returns 0 and the table,
 * HDHA_TABLE_ONE_FILE_FOUND and the table, or HDHA_TABLE_MISSING and an
 * empty table if neither exists (nothing allocated yet: the caller logs
 * it). On any other problem returns -errno (-EBADMSG for bad content or a
 * stray file, -EFBIG for a file over HDHA_TABLE_FILE_MAX, -E2BIG for more
 * than HDHA_TABLE_GROUPS_MAX files, the read's errno for an unreadable
 * file) and, if reterr_message is not NULL, writes a message that starts
 * with the file's path and says what is wrong, e.g.
 * "/var/lib/hostdev-ha/table.d/nic0.json: members[1].role: unknown role 'spare'",
 * "/var/lib/hostdev-ha/table.d/journal: record at byte 1234: checksum mismatch".
 * Nothing is ever modified. */
int hdha_table_load(const char *path, HdhaTable **ret, char **reterr_message);
/* The same for one group only (the hook's question): the table holds that
 * group, or no group if it has neither a file nor a record yet. The
 * journal's other records are checked, not parsed. */
int hdha_table_load_group(const char *path, const char *group, HdhaTable **ret, char **reterr_message);

/* The single file's text (formats 1 and 2: name is where the text came
 * from, at the start of every message). Returns 0 and the table, or
 * -EBADMSG (an empty text too), -EFBIG, -ENOMEM. */
int hdha_table_parse(const char *text, size_t size, const char *name, HdhaTable **ret, char **reterr_message);
/* The table as the single file of format 2, which hdha_table_parse() reads
 * back to an equal table (what an older version wrote). */
int hdha_table_format(const HdhaTable *t, char **ret);

/* One group's file (format 3), read into t (which must not have that
 * group yet) and written. A file that holds another group than group (if
 * not NULL) is refused. */
int hdha_table_group_parse(HdhaTable *t, const char *text, size_t size, const char *name, const char *group,
                           char **reterr_message);
int hdha_table_group_format(const HdhaTableGroup *g, char **ret);

/* Writes one group's file durably: a temporary file in the folder path
 * (made if missing, mode 0755; the file 0644), fsync, rename over
 * NAME.json, fsync of the folder. On failure before the rename the
 * temporary file is removed and the old file is left as it was. Only a
 * failure of the folder's fsync is reported after the file was replaced.
 * -EFBIG if the file would exceed HDHA_TABLE_FILE_MAX. */
int hdha_table_save_group(const HdhaTableGroup *g, const char *path);

/* STATEDIR/table.d/journal: the table's writes since the last
 * hdha_table_save(), appended. A record is one group's whole state, the
 * text of its file (as hdha_table_group_format() writes it):
 *
 *   HDHA-J1 CHECKSUM LENGTH GROUP\n
 *   JSON\n
 *
 * CHECKSUM: 8 lowercase hex digits, FNV-1a (32 bits) of the rest of the
 * record, from LENGTH to its last newline; LENGTH: the bytes of JSON;
 * GROUP last, as a name may hold spaces. A load applies the records in
 * order after the files: a record replaces its group or adds it, unless
 * its generation is lower than the group's (a full save wrote the file
 * after it). So a group written here must have every later change written
 * here too until hdha_table_save(): frozen and the instances do not change
 * the generation, a record would hide them. A last record the journal
 * ends inside (an append cut short: never acknowledged) is ignored; any
 * other bad record is an error (-EBADMSG). hdha_table_save() empties it. */
#define HDHA_TABLE_JOURNAL "journal"
#define HDHA_TABLE_JOURNAL_MAX (64 * 1024 * 1024) /* bytes, for load and append */

/* Appends one record per group (the group's full state, as its file would
 * have it) to the journal in the folder path with one write(2) and one
 * fdatasync(2): a write of n groups costs one flush, not 2n. Makes the
 * folder (0755) and the journal (0644) if missing, durably (fsync of the
 * folder after creating the file). On failure the journal is cut back to
 * its size before the call (ftruncate) so that no partial record stays,
 * and -errno is returned (-EINVAL for a name that cannot be a file's,
 * -EFBIG if a record would exceed HDHA_TABLE_FILE_MAX or the journal
 * HDHA_TABLE_JOURNAL_MAX: then hdha_table_save() first). If ret_size is
 * not NULL it gets the journal's size after the append. After a load,
 * call hdha_table_journal_trim() or hdha_table_save() before the first
 * append: a torn last record the load ignored would otherwise be buried
 * in the middle, an error. */
int hdha_table_journal_append(const char *path, const HdhaTableGroup *const *groups, size_t n, uint64_t *ret_size);
/* Cuts a torn last record (an append cut short, which a load ignores) off
 * the journal of the folder path, durably: after a load, what the first
 * append needs, cheaper than hdha_table_save(). Returns 1 if it cut, 0 if
 * there was nothing to cut (or no journal), -EBADMSG if the journal has a
 * bad record (left as it is), or -errno. */
int hdha_table_journal_trim(const char *path);

/* Removes the temporary files a write cut short left in the folder path
 * (".NAME.json.XXXXXX": never renamed, so never part of the table): for
 * the daemon at start-up, which alone writes the folder. Returns how many
 * it removed, or -errno. */
int hdha_table_remove_temporaries(const char *path);

/* Makes the folder path hold the whole table t, and compacts: writes every
 * group whose file differs (each written and flushed under a temporary
 * name, then all renamed, then one fsync of the folder: n files cost
 * n + 1 flushes, not 2n; a failure removes the temporary files left),
 * removes the files of groups t does not have, then the journal (fsync of
 * the folder), and last the single file of the older format beside it
 * (fsync of its folder): a write cut short anywhere leaves the old table
 * readable, or the new one. -errno from the first failure. */
int hdha_table_save(const HdhaTable *t, const char *path);
