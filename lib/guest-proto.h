/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* The guest channel's line protocol: what a guest's hostdev-ha-guest and
 * hostdev-had say to each other over the virtio-serial port
 * org.hostdevha.guest.0 (docs/guest-channel.md). Pure: bytes in, values
 * out, no allocation, no I/O; the daemon and the static guest tool both
 * compile it.
 *
 * A line is 1 to HDHA_GUEST_LINE_MAX - 1 bytes of printable ASCII, words
 * separated by one space, ended by '\n'. Everything the guest sends is
 * untrusted: each way a line can be wrong is a named result, and a wrong
 * line means nothing.
 *
 * Guest to host:            Host to guest:
 *   hello 1                   ok VERB
 *   heartbeat                 refused VERB REASON
 *   failed                    status ROLE
 *   status
 *   release
 *   takeover
 */

#define HDHA_GUEST_CHANNEL_NAME "org.hostdevha.guest.0"
#define HDHA_GUEST_PROTOCOL_VERSION 1
/* The longest line, with its '\n'. */
#define HDHA_GUEST_LINE_MAX 64U

/* What a guest asks. */
typedef enum HdhaGuestVerb {
        HDHA_GUEST_HELLO,     /* hello VERSION: the tool started */
        HDHA_GUEST_HEARTBEAT, /* alive and well */
        HDHA_GUEST_FAILED,    /* alive, but its health check failed */
        HDHA_GUEST_STATUS,    /* what is my role? */
        HDHA_GUEST_RELEASE,   /* (the active member) give the device to a standby */
        HDHA_GUEST_TAKEOVER,  /* (a standby) the active one failed: give it to me */
        _HDHA_GUEST_VERB_MAX,
        _HDHA_GUEST_VERB_INVALID = -EINVAL,
} HdhaGuestVerb;

const char *hdha_guest_verb_to_string(HdhaGuestVerb v);
HdhaGuestVerb hdha_guest_verb_from_string(const char *s);

/* Why the host refused a request (the last word of "refused VERB REASON"). */
typedef enum HdhaGuestRefusal {
        HDHA_GUEST_REFUSED_NOT_ALLOWED, /* GuestRequests= does not allow it */
        HDHA_GUEST_REFUSED_NOT_ACTIVE,  /* release from a member that does not hold the device */
        HDHA_GUEST_REFUSED_NOT_STANDBY, /* takeover from a member that is not a running standby */
        HDHA_GUEST_REFUSED_NO_STANDBY,  /* release: nothing to give the device to */
        HDHA_GUEST_REFUSED_BUSY,        /* an operation is in flight */
        HDHA_GUEST_REFUSED_FROZEN,      /* the group is frozen */
        HDHA_GUEST_REFUSED_RATE_LIMIT,  /* too many requests */
        HDHA_GUEST_REFUSED_FAILED,      /* the daemon could not start it */
        _HDHA_GUEST_REFUSAL_MAX,
        _HDHA_GUEST_REFUSAL_INVALID = -EINVAL,
} HdhaGuestRefusal;

const char *hdha_guest_refusal_to_string(HdhaGuestRefusal r);
HdhaGuestRefusal hdha_guest_refusal_from_string(const char *s);

/* What a line can be. */
typedef enum HdhaGuestLineResult {
        HDHA_GUEST_LINE_OK,
        HDHA_GUEST_LINE_EMPTY,            /* nothing before the '\n' */
        HDHA_GUEST_LINE_TOO_LONG,         /* HDHA_GUEST_LINE_MAX or more bytes without a '\n' */
        HDHA_GUEST_LINE_NOT_TEXT,         /* a NUL, control character (CR too) or byte >= 0x7f */
        HDHA_GUEST_LINE_BAD_SPACING,      /* a leading, trailing or doubled space */
        HDHA_GUEST_LINE_UNKNOWN_VERB,     /* the first word is no verb */
        HDHA_GUEST_LINE_MISSING_ARGUMENT, /* hello without a version, ... */
        HDHA_GUEST_LINE_EXTRA_ARGUMENT,   /* more words than the verb takes */
        HDHA_GUEST_LINE_BAD_ARGUMENT,     /* an argument outside its set */
        HDHA_GUEST_LINE_UNTERMINATED,     /* the peer went away in the middle of a line */
        _HDHA_GUEST_LINE_RESULT_MAX,
        _HDHA_GUEST_LINE_RESULT_INVALID = -EINVAL,
} HdhaGuestLineResult;

const char *hdha_guest_line_result_to_string(HdhaGuestLineResult r);
HdhaGuestLineResult hdha_guest_line_result_from_string(const char *s);

typedef struct HdhaGuestRequest {
        HdhaGuestVerb verb;
        unsigned version; /* hello */
} HdhaGuestRequest;

/* One line from a guest, without its '\n' (n bytes, NUL bytes included).
 * Writes *ret only when the result is HDHA_GUEST_LINE_OK. */
HdhaGuestLineResult hdha_guest_parse_request(const char *line, size_t n, HdhaGuestRequest *ret);
/* The line for req, with its '\n' and a NUL, into buf (at least
 * HDHA_GUEST_LINE_MAX + 1 bytes); returns its length, or -EINVAL. */
int hdha_guest_format_request(const HdhaGuestRequest *req, char *buf, size_t size);

/* A host's reply, as the guest tool reads it. */
typedef enum HdhaGuestReplyKind {
        HDHA_GUEST_REPLY_OK,      /* ok VERB */
        HDHA_GUEST_REPLY_REFUSED, /* refused VERB REASON */
        HDHA_GUEST_REPLY_STATUS,  /* status ROLE */
        _HDHA_GUEST_REPLY_KIND_MAX,
        _HDHA_GUEST_REPLY_KIND_INVALID = -EINVAL,
} HdhaGuestReplyKind;

const char *hdha_guest_reply_kind_to_string(HdhaGuestReplyKind k);
HdhaGuestReplyKind hdha_guest_reply_kind_from_string(const char *s);

/* The roles a status reply names: the allocation table's (lib/table.h),
 * spelled out here so that the guest tool needs nothing else. */
#define HDHA_GUEST_ROLE_MAX 16U

typedef struct HdhaGuestReply {
        HdhaGuestReplyKind kind;
        HdhaGuestVerb verb;        /* ok, refused: release or takeover */
        HdhaGuestRefusal refusal;  /* refused */
        char role[HDHA_GUEST_ROLE_MAX]; /* status: [a-z]{1,15} */
} HdhaGuestReply;

HdhaGuestLineResult hdha_guest_parse_reply(const char *line, size_t n, HdhaGuestReply *ret);
int hdha_guest_format_reply(const HdhaGuestReply *reply, char *buf, size_t size);

/* Splits a byte stream into lines, bounded: a line that grows to
 * HDHA_GUEST_LINE_MAX bytes without a '\n' is reported once as
 * HDHA_GUEST_LINE_TOO_LONG and the rest of it, up to the next '\n', is
 * dropped. */
typedef struct HdhaGuestLineBuffer {
        char buf[HDHA_GUEST_LINE_MAX];
        size_t n;
        bool discarding;
} HdhaGuestLineBuffer;

/* Called for every complete line (without its '\n'); result is
 * HDHA_GUEST_LINE_OK for a line of the right length (its content not
 * checked yet), or HDHA_GUEST_LINE_TOO_LONG (line is then NULL). Returns
 * < 0 to stop feeding (the rest of the data is not consumed). */
typedef int (*HdhaGuestLineFn)(void *userdata, HdhaGuestLineResult result, const char *line, size_t n);

/* Feeds n bytes; returns 0, or fn's value when fn returned < 0 (the
 * bytes after that line are not consumed). */
int hdha_guest_line_buffer_feed(HdhaGuestLineBuffer *b, const char *data, size_t n, HdhaGuestLineFn fn,
                                void *userdata);
/* The stream ended: true if a line was left without its '\n' (it is
 * dropped; HDHA_GUEST_LINE_UNTERMINATED). Empties the buffer. */
bool hdha_guest_line_buffer_end(HdhaGuestLineBuffer *b);
