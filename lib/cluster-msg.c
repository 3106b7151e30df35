/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CPG messages: their wire format, written and read. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-msg.h"
#include "macro.h"
#include "string-table.h"

static const char *const msg_type_table[_HDHA_CLUSTER_MSG_TYPE_MAX] = {
        [HDHA_CLUSTER_MSG_REQUEST] = "request",
        [HDHA_CLUSTER_MSG_RELEASE] = "release",
        [HDHA_CLUSTER_MSG_EXPIRE] = "expire",
        [HDHA_CLUSTER_MSG_STATE] = "state",
};

DEFINE_STRING_TABLE_LOOKUP(hdha_cluster_msg_type, HdhaClusterMsgType, msg_type_table)

/* Writes a message to *reterr (if asked for) and returns -EBADMSG. */
_printf_(2, 3) static int bad(char **reterr, const char *fmt, ...) {
        va_list ap;
        char *m;
        int k;

        if (!reterr)
                return -EBADMSG;
        va_start(ap, fmt);
        k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        *reterr = m;
        return -EBADMSG;
}

static bool type_is_valid(HdhaClusterMsgType t) {
        return t >= 0 && t < _HDHA_CLUSTER_MSG_TYPE_MAX;
}

/* "REQUEST", for messages. */
static const char *type_label(HdhaClusterMsgType t) {
        static const char *const labels[_HDHA_CLUSTER_MSG_TYPE_MAX] = {
                [HDHA_CLUSTER_MSG_REQUEST] = "REQUEST",
                [HDHA_CLUSTER_MSG_RELEASE] = "RELEASE",
                [HDHA_CLUSTER_MSG_EXPIRE] = "EXPIRE",
                [HDHA_CLUSTER_MSG_STATE] = "STATE",
        };
        return type_is_valid(t) ? labels[t] : "?";
}

/* ---- the checks both directions share ------------------------------------ */

static int check_tokens(const HdhaClusterMsg *m, char **reterr) {
        if (m->n_tokens > HDHA_CLUSTER_MSG_TOKENS_MAX)
                return bad(reterr, "STATE: %zu tokens, more than %u", m->n_tokens, HDHA_CLUSTER_MSG_TOKENS_MAX);
        for (size_t i = 0; i < m->n_tokens; i++) {
                const HdhaClusterMsgToken *t = &m->tokens[i];

                if (!hdha_group_name_is_valid(t->group))
                        return bad(reterr, "STATE: tokens[%zu].group: invalid group name", i);
                if ((t->holder_node == 0) != !t->holder_domain)
                        return bad(reterr, "STATE: tokens[%zu]: a holder needs both a node and a domain", i);
                if (t->holder_domain && !hdha_domain_name_is_valid(t->holder_domain))
                        return bad(reterr, "STATE: tokens[%zu].holder_domain: invalid domain name", i);
                for (size_t j = 0; j < i; j++)
                        if (streq(m->tokens[j].group, t->group))
                                return bad(reterr, "STATE: tokens[%zu].group: '%s' is also tokens[%zu]", i,
                                           t->group, j);
        }
        return 0;
}

static int check_groups(const HdhaClusterMsg *m, char **reterr) {
        if (m->n_groups > HDHA_CLUSTER_MSG_GROUPS_MAX)
                return bad(reterr, "STATE: %zu groups, more than %u", m->n_groups, HDHA_CLUSTER_MSG_GROUPS_MAX);
        for (size_t i = 0; i < m->n_groups; i++) {
                const HdhaClusterMsgGroup *g = &m->groups[i];

                if (!hdha_group_name_is_valid(g->group))
                        return bad(reterr, "STATE: groups[%zu].group: invalid group name", i);
                if (g->active && !hdha_domain_name_is_valid(g->active))
                        return bad(reterr, "STATE: groups[%zu].active: invalid domain name", i);
                if (!hdha_operation_to_string(g->operation))
                        return bad(reterr, "STATE: groups[%zu].operation: unknown operation", i);
                if (!hdha_step_to_string(g->step))
                        return bad(reterr, "STATE: groups[%zu].step: unknown step", i);
                if (g->operation == HDHA_OPERATION_NONE && g->step != HDHA_STEP_NONE)
                        return bad(reterr, "STATE: groups[%zu].step: %s without an operation", i,
                                   hdha_step_to_string(g->step));
                for (size_t j = 0; j < i; j++)
                        if (streq(m->groups[j].group, g->group))
                                return bad(reterr, "STATE: groups[%zu].group: '%s' is also groups[%zu]", i,
                                           g->group, j);
        }
        return 0;
}

/* What makes a message valid beyond its bytes. */
static int msg_check(const HdhaClusterMsg *m, char **reterr) {
        const char *label = type_label(m->type);
        int r;

        if (!type_is_valid(m->type))
                return bad(reterr, "unknown message type %i", (int) m->type);

        if (m->type == HDHA_CLUSTER_MSG_STATE) {
                r = check_tokens(m, reterr);
                if (r < 0)
                        return r;
                return check_groups(m, reterr);
        }

        if (!hdha_group_name_is_valid(m->group))
                return bad(reterr, "%s: invalid group name", label);
        if (m->type == HDHA_CLUSTER_MSG_REQUEST && !hdha_domain_name_is_valid(m->domain))
                return bad(reterr, "%s: invalid domain name", label);
        if (m->type == HDHA_CLUSTER_MSG_EXPIRE && m->node == 0)
                return bad(reterr, "%s: node 0 is no node", label);
        return 0;
}

/* ---- writing ------------------------------------------------------------- */

/* Counts the bytes when p is NULL, writes them otherwise. The size is
 * always computed first, so a write never passes the end. */
typedef struct Writer {
        uint8_t *p;
        size_t n;
} Writer;

static void put_uint(Writer *w, uint64_t v, size_t bytes) {
        if (w->p)
                for (size_t i = 0; i < bytes; i++)
                        w->p[w->n + i] = (uint8_t) (v >> (8 * i));
        w->n += bytes;
}

static void put_bytes(Writer *w, const void *s, size_t n) {
        if (w->p && n > 0)
                memcpy(w->p + w->n, s, n);
        w->n += n;
}

/* NULL is written as the empty string. Names are checked before: short. */
static void put_string(Writer *w, const char *s) {
        size_t n = s ? strlen(s) : 0;

        put_uint(w, n, 2);
        put_bytes(w, s, n);
}

static void put_message(Writer *w, const HdhaClusterMsg *m) {
        put_bytes(w, HDHA_CLUSTER_MSG_MAGIC, 4);
        put_uint(w, HDHA_CLUSTER_MSG_VERSION, 2);
        put_uint(w, (uint64_t) m->type, 2);
        put_uint(w, m->ring_seq, 8);

        switch (m->type) {
        case HDHA_CLUSTER_MSG_REQUEST:
                put_string(w, m->group);
                put_string(w, m->domain);
                break;
        case HDHA_CLUSTER_MSG_RELEASE:
                put_string(w, m->group);
                put_uint(w, m->generation, 8);
                break;
        case HDHA_CLUSTER_MSG_EXPIRE:
                put_string(w, m->group);
                put_uint(w, m->generation, 8);
                put_uint(w, m->node, 4);
                break;
        case HDHA_CLUSTER_MSG_STATE:
                put_uint(w, m->n_tokens, 2);
                for (size_t i = 0; i < m->n_tokens; i++) {
                        put_string(w, m->tokens[i].group);
                        put_uint(w, m->tokens[i].holder_node, 4);
                        put_string(w, m->tokens[i].holder_domain);
                        put_uint(w, m->tokens[i].generation, 8);
                }
                put_uint(w, m->n_groups, 2);
                for (size_t i = 0; i < m->n_groups; i++) {
                        put_string(w, m->groups[i].group);
                        put_string(w, m->groups[i].active);
                        put_uint(w, m->groups[i].generation, 8);
                        put_string(w, hdha_operation_to_string(m->groups[i].operation));
                        put_string(w, hdha_step_to_string(m->groups[i].step));
                        put_uint(w, m->groups[i].frozen, 1);
                }
                break;
        default:
                break;
        }
}

int hdha_cluster_msg_size(const HdhaClusterMsg *m, size_t *ret_size) {
        Writer w = {};
        int r;

        if (!m)
                return -EINVAL;
        r = msg_check(m, NULL);
        if (r < 0)
                return r;
        put_message(&w, m);
        *ret_size = w.n;
        return 0;
}

int hdha_cluster_msg_encode(const HdhaClusterMsg *m, void *buf, size_t size) {
        size_t n;
        int r;

        if (!buf)
                return -EINVAL;
        r = hdha_cluster_msg_size(m, &n);
        if (r < 0)
                return r;
        if (n > size)
                return -ENOBUFS;
        put_message(&(Writer) { .p = buf }, m);
        return (int) n;
}

int hdha_cluster_msg_encode_alloc(const HdhaClusterMsg *m, void **ret_buf, size_t *ret_size) {
        _cleanup_free_ void *buf = NULL;
        size_t n;
        int r;

        r = hdha_cluster_msg_size(m, &n);
        if (r < 0)
                return r;
        buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        put_message(&(Writer) { .p = buf }, m);
        *ret_buf = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

/* ---- reading ------------------------------------------------------------- */

/* A decoded message and what it owns. Every string is copied into one pool:
 * a string of n bytes takes n + 2 bytes on the wire and n + 1 in the pool,
 * so a pool as large as the message always suffices. */
typedef struct MsgStorage {
        HdhaClusterMsg msg; /* first: the public pointer is this one */
        HdhaClusterMsgToken *tokens;
        HdhaClusterMsgGroup *groups;
        char *pool;
} MsgStorage;

HdhaClusterMsg *hdha_cluster_msg_free(HdhaClusterMsg *m) {
        MsgStorage *s = (MsgStorage *) m;

        if (!s)
                return NULL;
        free(s->tokens);
        free(s->groups);
        free(s->pool);
        free(s);
        return NULL;
}

typedef struct Reader {
        const uint8_t *p;
        size_t len, off;
        char *pool;
        size_t pool_used, pool_size;
        const char *label; /* the type, for messages */
        char **reterr;
} Reader;

static int need(Reader *rd, size_t n, const char *what) {
        if (rd->len - rd->off < n)
                return bad(rd->reterr, "%s: truncated at byte %zu of %zu (reading %s)", rd->label, rd->off,
                           rd->len, what);
        return 0;
}

/* A little-endian number of the given bytes at p. */
static uint64_t le(const uint8_t *p, size_t bytes) {
        uint64_t v = 0;

        for (size_t i = 0; i < bytes; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static int get_uint(Reader *rd, size_t bytes, const char *what, uint64_t *ret) {
        int r;

        r = need(rd, bytes, what);
        if (r < 0)
                return r;
        *ret = le(rd->p + rd->off, bytes);
        rd->off += bytes;
        return 0;
}

static int get_u16(Reader *rd, const char *what, uint16_t *ret) {
        uint64_t v;
        int r;

        r = get_uint(rd, 2, what, &v);
        if (r < 0)
                return r;
        *ret = (uint16_t) v;
        return 0;
}

static int get_u32(Reader *rd, const char *what, uint32_t *ret) {
        uint64_t v;
        int r;

        r = get_uint(rd, 4, what, &v);
        if (r < 0)
                return r;
        *ret = (uint32_t) v;
        return 0;
}

/* A string of at most max bytes, copied into the pool; the empty string is
 * NULL. Names are checked later, by msg_check(). */
static int get_string(Reader *rd, size_t max, const char *what, const char **ret) {
        uint16_t n;
        char *s;
        int r;

        r = get_u16(rd, what, &n);
        if (r < 0)
                return r;
        if (n > max)
                return bad(rd->reterr, "%s: %s: %u bytes, longer than %zu", rd->label, what, n, max);
        r = need(rd, n, what);
        if (r < 0)
                return r;
        if (memchr(rd->p + rd->off, 0, n))
                return bad(rd->reterr, "%s: %s: contains a NUL byte", rd->label, what);
        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        if (rd->pool_size - rd->pool_used < (size_t) n + 1) /* cannot happen, see MsgStorage */
                return bad(rd->reterr, "%s: %s: out of string space", rd->label, what);
        s = rd->pool + rd->pool_used;
        memcpy(s, rd->p + rd->off, n);
        s[n] = 0;
        rd->pool_used += (size_t) n + 1;
        rd->off += n;
        *ret = s;
        return 0;
}

/* A string that must be one of the names of a string table. */
static int get_word(Reader *rd, const char *what, const char *noun, int (*from_string)(const char *), int *ret) {
        const char *s;
        int r, v;

        r = get_string(rd, HDHA_CLUSTER_MSG_WORD_MAX, what, &s);
        if (r < 0)
                return r;
        v = from_string(s);
        if (v < 0)
                return bad(rd->reterr, "%s: %s: unknown %s", rd->label, what, noun);
        *ret = v;
        return 0;
}

static int operation_from_string(const char *s) {
        return hdha_operation_from_string(s);
}

static int step_from_string(const char *s) {
        return hdha_step_from_string(s);
}

/* The count of a list: bounded before anything is allocated. */
static int get_count(Reader *rd, const char *what, size_t max, size_t *ret) {
        uint16_t n;
        int r;

        r = get_u16(rd, what, &n);
        if (r < 0)
                return r;
        if (n > max)
                return bad(rd->reterr, "%s: %u %s, more than %zu", rd->label, n, what, max);
        *ret = n;
        return 0;
}

static int get_tokens(Reader *rd, MsgStorage *s) {
        char what[64];
        size_t n;
        int r;

        r = get_count(rd, "tokens", HDHA_CLUSTER_MSG_TOKENS_MAX, &n);
        if (r < 0)
                return r;
        if (n > 0) {
                s->tokens = calloc(n, sizeof(HdhaClusterMsgToken));
                if (!s->tokens)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                HdhaClusterMsgToken *t = &s->tokens[i];
                uint64_t gen;

                snprintf(what, sizeof(what), "tokens[%zu].group", i);
                r = get_string(rd, HDHA_GROUP_NAME_MAX, what, &t->group);
                if (r < 0)
                        return r;
                snprintf(what, sizeof(what), "tokens[%zu].holder_node", i);
                r = get_u32(rd, what, &t->holder_node);
                if (r < 0)
                        return r;
                snprintf(what, sizeof(what), "tokens[%zu].holder_domain", i);
                r = get_string(rd, HDHA_DOMAIN_NAME_MAX, what, &t->holder_domain);
                if (r < 0)
                        return r;
                snprintf(what, sizeof(what), "tokens[%zu].generation", i);
                r = get_uint(rd, 8, what, &gen);
                if (r < 0)
                        return r;
                t->generation = gen;
                s->msg.n_tokens = i + 1;
        }
        s->msg.tokens = s->tokens;
        return 0;
}

static int get_groups(Reader *rd, MsgStorage *s) {
        char what[64];
        size_t n;
        int r;

        r = get_count(rd, "groups", HDHA_CLUSTER_MSG_GROUPS_MAX, &n);
        if (r < 0)
                return r;
        if (n > 0) {
                s->groups = calloc(n, sizeof(HdhaClusterMsgGroup));
                if (!s->groups)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                HdhaClusterMsgGroup *g = &s->groups[i];
                uint64_t v;
                int e = 0;

                snprintf(what, sizeof(what), "groups[%zu].group", i);
                r = get_string(rd, HDHA_GROUP_NAME_MAX, what, &g->group);
                if (r < 0)
                        return r;
                snprintf(what, sizeof(what), "groups[%zu].active", i);
                r = get_string(rd, HDHA_DOMAIN_NAME_MAX, what, &g->active);
                if (r < 0)
                        return r;
                snprintf(what, sizeof(what), "groups[%zu].generation", i);
                r = get_uint(rd, 8, what, &g->generation);
                if (r < 0)
                        return r;
                snprintf(what, sizeof(what), "groups[%zu].operation", i);
                r = get_word(rd, what, "operation", operation_from_string, &e);
                if (r < 0)
                        return r;
                g->operation = (HdhaOperation) e;
                snprintf(what, sizeof(what), "groups[%zu].step", i);
                r = get_word(rd, what, "step", step_from_string, &e);
                if (r < 0)
                        return r;
                g->step = (HdhaStep) e;
                snprintf(what, sizeof(what), "groups[%zu].frozen", i);
                r = get_uint(rd, 1, what, &v);
                if (r < 0)
                        return r;
                if (v > 1)
                        return bad(rd->reterr, "%s: %s: %u is not 0 or 1", rd->label, what, (unsigned) v);
                g->frozen = v;
                s->msg.n_groups = i + 1;
        }
        s->msg.groups = s->groups;
        return 0;
}

static int get_body(Reader *rd, MsgStorage *s) {
        HdhaClusterMsg *m = &s->msg;
        int r;

        switch (m->type) {
        case HDHA_CLUSTER_MSG_REQUEST:
                r = get_string(rd, HDHA_GROUP_NAME_MAX, "group", &m->group);
                if (r < 0)
                        return r;
                return get_string(rd, HDHA_DOMAIN_NAME_MAX, "domain", &m->domain);
        case HDHA_CLUSTER_MSG_RELEASE:
                r = get_string(rd, HDHA_GROUP_NAME_MAX, "group", &m->group);
                if (r < 0)
                        return r;
                return get_uint(rd, 8, "generation", &m->generation);
        case HDHA_CLUSTER_MSG_EXPIRE:
                r = get_string(rd, HDHA_GROUP_NAME_MAX, "group", &m->group);
                if (r < 0)
                        return r;
                r = get_uint(rd, 8, "generation", &m->generation);
                if (r < 0)
                        return r;
                return get_u32(rd, "node", &m->node);
        case HDHA_CLUSTER_MSG_STATE:
                r = get_tokens(rd, s);
                if (r < 0)
                        return r;
                return get_groups(rd, s);
        default:
                return bad(rd->reterr, "unknown message type %i", (int) m->type);
        }
}

static void msg_storage_freep(MsgStorage **s) {
        hdha_cluster_msg_free((HdhaClusterMsg *) *s);
}

int hdha_cluster_msg_decode(const void *buf, size_t len, HdhaClusterMsg **ret, char **reterr_message) {
        _cleanup_(msg_storage_freep) MsgStorage *s = NULL;
        Reader rd = {
                .p = buf,
                .len = len,
                .label = "message",
                .reterr = reterr_message,
        };
        uint64_t version, type;
        int r;

        if (!buf && len > 0)
                return -EINVAL;

        r = need(&rd, HDHA_CLUSTER_MSG_HEADER_SIZE, "the header");
        if (r < 0)
                return r;
        if (memcmp(rd.p, HDHA_CLUSTER_MSG_MAGIC, 4) != 0)
                return bad(reterr_message, "message: wrong magic, not a hostdev-ha message");
        version = le(rd.p + 4, 2);
        if (version != HDHA_CLUSTER_MSG_VERSION)
                return bad(reterr_message, "message: version %u, expected %u", (unsigned) version,
                           HDHA_CLUSTER_MSG_VERSION);
        type = le(rd.p + 6, 2);
        if (type >= _HDHA_CLUSTER_MSG_TYPE_MAX)
                return bad(reterr_message, "message: unknown message type %u", (unsigned) type);

        s = calloc(1, sizeof(MsgStorage));
        if (!s)
                return -ENOMEM;
        s->msg.type = (HdhaClusterMsgType) type;
        s->msg.ring_seq = le(rd.p + 8, 8);
        rd.off = HDHA_CLUSTER_MSG_HEADER_SIZE;
        rd.label = type_label(s->msg.type);

        rd.pool_size = len;
        s->pool = malloc(rd.pool_size);
        if (!s->pool)
                return -ENOMEM;
        rd.pool = s->pool;

        r = get_body(&rd, s);
        if (r < 0)
                return r;
        if (rd.off != len)
                return bad(reterr_message, "%s: %zu trailing bytes after the message", rd.label, len - rd.off);
        r = msg_check(&s->msg, reterr_message);
        if (r < 0)
                return r;

        *ret = (HdhaClusterMsg *) TAKE_PTR(s);
        return 0;
}
