/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "table.h"

/* The messages the hosts send each other through Corosync's CPG
 * (docs/cluster.md). Pure: bytes in, bytes out, no Corosync.
 *
 * Every number is little-endian. A message is a fixed header
 *
 *   magic "HDHA" (4 bytes), version u16 (1), type u16, ring_seq u64
 *
 * then the body of its type. A string is a u16 length and that many bytes,
 * without a NUL; a list is a u16 count and that many entries.
 *
 *   REQUEST  group, domain
 *   RELEASE  group, generation u64
 *   EXPIRE   group, generation u64, node u32
 *   STATE    tokens: [group, holder_node u32, holder_domain, generation u64]
 *            groups: [group, active, generation u64, operation, step, frozen u8]
 *
 * A free token has holder_node 0 and an empty holder_domain; a group on no
 * domain has an empty active; operation and step are the allocation
 * table's names ("switch", "waiting-release").
 *
 * Decoding is strict: a message that is not exactly one valid message of
 * this version (wrong magic, other version, unknown type, truncated,
 * trailing bytes, an invalid name, a count over its limit, a duplicate
 * group, a holder without a domain) is refused with -EBADMSG and a message
 * saying what is wrong. It never reads past the buffer. Encoding refuses
 * what decoding would refuse, so that what one host sends every host reads. */

#define HDHA_CLUSTER_MSG_MAGIC "HDHA"
#define HDHA_CLUSTER_MSG_VERSION 1
#define HDHA_CLUSTER_MSG_HEADER_SIZE 16U
/* A cluster shares at most 256 groups (a host alone serves up to
 * HDHA_TABLE_GROUPS_MAX): a STATE with every list full stays near 128 KiB. */
#define HDHA_CLUSTER_GROUPS_MAX 256U
#define HDHA_CLUSTER_MSG_TOKENS_MAX HDHA_CLUSTER_GROUPS_MAX
#define HDHA_CLUSTER_MSG_GROUPS_MAX HDHA_CLUSTER_GROUPS_MAX
/* The longest name of an operation or a step on the wire. */
#define HDHA_CLUSTER_MSG_WORD_MAX 32U
/* The largest message: a STATE with both lists full of the longest names. */
#define HDHA_CLUSTER_MSG_SIZE_MAX                                                               \
        (HDHA_CLUSTER_MSG_HEADER_SIZE + 2U +                                                    \
         HDHA_CLUSTER_MSG_TOKENS_MAX * (2U + HDHA_GROUP_NAME_MAX + 4U + 2U + HDHA_DOMAIN_NAME_MAX + 8U) + \
         2U +                                                                                   \
         HDHA_CLUSTER_MSG_GROUPS_MAX * (2U + HDHA_GROUP_NAME_MAX + 2U + HDHA_DOMAIN_NAME_MAX + 8U + \
                                        2U * (2U + HDHA_CLUSTER_MSG_WORD_MAX) + 1U))

/* The values are the type numbers on the wire. */
typedef enum HdhaClusterMsgType {
        HDHA_CLUSTER_MSG_REQUEST, /* a host asks for a group's token for one of its domains */
        HDHA_CLUSTER_MSG_RELEASE, /* the holder gives it back */
        HDHA_CLUSTER_MSG_EXPIRE,  /* a quorate partition frees the token of a departed holder */
        HDHA_CLUSTER_MSG_STATE,   /* a host's token table and its own groups */
        _HDHA_CLUSTER_MSG_TYPE_MAX,
        _HDHA_CLUSTER_MSG_TYPE_INVALID = -EINVAL,
} HdhaClusterMsgType;

/* "request", "release", "expire", "state". */
const char *hdha_cluster_msg_type_to_string(HdhaClusterMsgType t);
HdhaClusterMsgType hdha_cluster_msg_type_from_string(const char *s);

/* One token of a STATE. */
typedef struct HdhaClusterMsgToken {
        const char *group;
        uint32_t holder_node;      /* 0: free */
        const char *holder_domain; /* NULL: free */
        uint64_t generation;
} HdhaClusterMsgToken;

/* One of the sender's own groups in a STATE: its allocation table's entry. */
typedef struct HdhaClusterMsgGroup {
        const char *group;
        const char *active; /* NULL: on no domain */
        uint64_t generation;
        HdhaOperation operation;
        HdhaStep step; /* HDHA_STEP_NONE when operation is HDHA_OPERATION_NONE */
        bool frozen;
} HdhaClusterMsgGroup;

/* A message; which fields count depends on the type. A message built by a
 * caller for encoding points to the caller's strings; one returned by
 * hdha_cluster_msg_decode() owns everything it points to. */
typedef struct HdhaClusterMsg {
        HdhaClusterMsgType type;
        uint64_t ring_seq;   /* the totem ring the sender was in when it sent */
        const char *group;   /* REQUEST, RELEASE, EXPIRE */
        const char *domain;  /* REQUEST */
        uint64_t generation; /* RELEASE, EXPIRE: the token's generation */
        uint32_t node;       /* EXPIRE: the departed holder, never 0 */
        const HdhaClusterMsgToken *tokens; /* STATE */
        size_t n_tokens;
        const HdhaClusterMsgGroup *groups; /* STATE */
        size_t n_groups;
} HdhaClusterMsg;

/* The bytes m takes on the wire. -EBADMSG if m is not a valid message
 * (the same checks as decoding: invalid name, count over its limit, ...). */
int hdha_cluster_msg_size(const HdhaClusterMsg *m, size_t *ret_size);
/* Writes m into buf. Returns the number of bytes written, -EBADMSG if m is
 * not a valid message, -ENOBUFS if it does not fit in size bytes (then buf
 * is left as it was). */
int hdha_cluster_msg_encode(const HdhaClusterMsg *m, void *buf, size_t size);
/* The same into a new buffer of exactly the message's size. */
int hdha_cluster_msg_encode_alloc(const HdhaClusterMsg *m, void **ret_buf, size_t *ret_size);

/* Reads one message from exactly len bytes of buf. Returns 0 and the
 * message, or -EBADMSG and, if reterr_message is not NULL, a message such as
 * "STATE: tokens[2].group: invalid group name", or -ENOMEM (-EINVAL: buf
 * NULL with len > 0). */
int hdha_cluster_msg_decode(const void *buf, size_t len, HdhaClusterMsg **ret, char **reterr_message);

/* Frees a message returned by hdha_cluster_msg_decode() (and only those). */
HdhaClusterMsg *hdha_cluster_msg_free(HdhaClusterMsg *m);
static inline void hdha_cluster_msg_freep(HdhaClusterMsg **m) {
        hdha_cluster_msg_free(*m);
}
