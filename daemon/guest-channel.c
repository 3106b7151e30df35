/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host side of the guest channels: connections, bounded reading and
 * writing, rate limits and heartbeat deadlines (guest-channel.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest-channel.h"
#include "log.h"
#include "macro.h"

/* Below the bus, libvirt's events and the state machine's timers. */
#define GUEST_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 10)
#define READ_MAX 512U
#define CONNECT_TRIES 5U
#define CONNECT_RETRY_USEC (200U * 1000U)
#define USEC_PER_SEC 1000000U

typedef struct Member Member;

/* A lookup of a member's channel in flight: it may outlive its member
 * (a reload), so it names the member and the attempt. */
typedef struct Lookup {
        HdhaGuestChannels *owner;
        char *domain;
        uint64_t seq;
        struct Lookup *prev, *next;
} Lookup;

struct Member {
        HdhaGuestChannels *owner;
        char *domain;
        const HdhaGroupConfig *group;
        uint64_t lookup_seq;
        unsigned n_tries;
        sd_event_source *retry;

        char *path;
        int fd;
        sd_event_source *io;
        HdhaGuestLineBuffer in;
        char out[HDHA_GUEST_OUT_MAX];
        size_t n_out;

        bool spoke;
        uint64_t last_heartbeat; /* CLOCK_MONOTONIC µs; 0: none on this connection */
        sd_event_source *deadline;
        bool failure_reported;   /* a "failed" line reported, until the next heartbeat */

        uint64_t window_start;
        unsigned n_window;
        uint64_t last_request;
        uint64_t n_dropped;
        unsigned logged; /* bit per HdhaGuestLineResult, and the two below */
};

#define LOGGED_FLOOD (1U << _HDHA_GUEST_LINE_RESULT_MAX)
#define LOGGED_OUT_FULL (1U << (_HDHA_GUEST_LINE_RESULT_MAX + 1))
#define LOGGED_RATE_LIMIT (1U << (_HDHA_GUEST_LINE_RESULT_MAX + 2))

struct HdhaGuestChannels {
        sd_event *event;
        HdhaHypervisor *hv;
        HdhaGuestChannelsEnv env;
        Member **members;
        size_t n_members;
        Lookup *lookups;
        uint64_t seq;
};

static uint64_t now_usec(const HdhaGuestChannels *c) {
        uint64_t t = 0;

        (void) sd_event_now(c->event, CLOCK_MONOTONIC, &t);
        return t;
}

static Member *member_find(const HdhaGuestChannels *c, const char *domain) {
        for (size_t i = 0; i < c->n_members; i++)
                if (c->members[i] && streq(c->members[i]->domain, domain)) /* NULL: taken over by a reload */
                        return c->members[i];
        return NULL;
}

static void member_disconnect(Member *mem, const char *why) {
        if (mem->fd >= 0 && why)
                log_info("Guest channel of '%s' closed: %s.", mem->domain, why);
        mem->io = sd_event_source_disable_unref(mem->io);
        mem->deadline = sd_event_source_disable_unref(mem->deadline);
        if (mem->fd >= 0)
                close(mem->fd);
        mem->fd = -1;
        mem->path = mfree(mem->path);
        (void) hdha_guest_line_buffer_end(&mem->in);
        mem->n_out = 0;
        mem->spoke = false;
        mem->last_heartbeat = 0;
        mem->failure_reported = false;
        mem->n_dropped = 0;
        mem->logged = 0;
        mem->window_start = mem->n_window = 0;
}

static Member *member_free(Member *mem) {
        if (!mem)
                return NULL;
        member_disconnect(mem, NULL);
        mem->retry = sd_event_source_disable_unref(mem->retry);
        free(mem->domain);
        free(mem);
        return NULL;
}

/* --- Writing ------------------------------------------------------------------ */

static int member_flush(Member *mem) {
        while (mem->n_out > 0) {
                ssize_t k = send(mem->fd, mem->out, mem->n_out, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                memmove(mem->out, mem->out + k, mem->n_out - (size_t) k);
                mem->n_out -= (size_t) k;
        }
        return sd_event_source_set_io_events(mem->io, EPOLLIN | (mem->n_out > 0 ? EPOLLOUT : 0));
}

/* Queues a reply; a guest that does not read loses it. */
static void member_reply(Member *mem, const HdhaGuestReply *reply) {
        char line[HDHA_GUEST_LINE_MAX + 1];
        int n, r;

        n = hdha_guest_format_reply(reply, line, sizeof(line));
        if (n < 0)
                return;
        if (mem->n_out + (size_t) n > sizeof(mem->out)) {
                mem->n_dropped++;
                if (!(mem->logged & LOGGED_OUT_FULL))
                        log_warning("Guest channel of '%s': the guest does not read its replies, dropping them.",
                                    mem->domain);
                mem->logged |= LOGGED_OUT_FULL;
                return;
        }
        memcpy(mem->out + mem->n_out, line, (size_t) n);
        mem->n_out += (size_t) n;
        r = member_flush(mem);
        if (r < 0)
                member_disconnect(mem, "write failed");
}

/* --- Heartbeats --------------------------------------------------------------- */

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Member *mem = userdata;
        HdhaGuestChannels *c = mem->owner;

        mem->deadline = sd_event_source_disable_unref(mem->deadline);
        mem->last_heartbeat = 0;
        log_warning("Guest channel of '%s': no heartbeat for %llu s, the guest is taken as failed.", mem->domain,
                    (unsigned long long) mem->group->guest_heartbeat_sec);
        if (c->env.failed)
                c->env.failed(c->env.userdata, mem->domain, "guest heartbeat lost");
        return 0;
}

static void member_arm_deadline(Member *mem) {
        uint64_t usec = mem->group->guest_heartbeat_sec * USEC_PER_SEC;
        int r;

        if (usec == 0 || mem->last_heartbeat == 0) {
                mem->deadline = sd_event_source_disable_unref(mem->deadline);
                return;
        }
        if (mem->deadline) {
                r = sd_event_source_set_time(mem->deadline, mem->last_heartbeat + usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(mem->deadline, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(mem->owner->event, &mem->deadline, CLOCK_MONOTONIC,
                                      mem->last_heartbeat + usec, 0, on_deadline, mem);
        if (r < 0)
                log_error_errno(r, "Guest channel of '%s': cannot arm the heartbeat deadline: %m", mem->domain);
}

/* --- Reading ------------------------------------------------------------------ */

static void member_bad(Member *mem, HdhaGuestLineResult result) {
        mem->n_dropped++;
        if (mem->logged & (1U << result))
                return;
        mem->logged |= 1U << result;
        log_warning("Guest channel of '%s': ignoring a line from the guest: %s (logged once per connection).",
                    mem->domain, hdha_guest_line_result_to_string(result));
}

static void member_request(Member *mem, HdhaGuestVerb verb) {
        HdhaGuestChannels *c = mem->owner;
        HdhaGuestReply reply = { .kind = HDHA_GUEST_REPLY_OK, .verb = verb };
        HdhaGuestRefusal refusal = HDHA_GUEST_REFUSED_FAILED;
        const char *message = "refused";
        uint64_t now = now_usec(c);
        bool quiet = false; /* an excess request after the first: neither logged nor signalled */
        int r;

        if (mem->last_request > 0 && now < mem->last_request + HDHA_GUEST_REQUEST_INTERVAL_USEC) {
                r = -EPERM;
                refusal = HDHA_GUEST_REFUSED_RATE_LIMIT;
                message = "too many requests";
        } else {
                mem->last_request = now;
                r = c->env.request ? c->env.request(c->env.userdata, mem->domain, verb, &refusal, &message) : -EPERM;
        }
        if (r < 0) {
                reply.kind = HDHA_GUEST_REPLY_REFUSED;
                reply.refusal = r == -EPERM ? refusal : HDHA_GUEST_REFUSED_FAILED;
        }
        if (r < 0 && reply.refusal == HDHA_GUEST_REFUSED_RATE_LIMIT) {
                mem->n_dropped++;
                quiet = mem->logged & LOGGED_RATE_LIMIT;
                if (!quiet)
                        log_notice("Group '%s': the guest of '%s' asks more often than every %u s, refusing the "
                                   "excess (logged once per connection).", mem->group->name, mem->domain,
                                   HDHA_GUEST_REQUEST_INTERVAL_USEC / USEC_PER_SEC);
                mem->logged |= LOGGED_RATE_LIMIT;
        } else if (r < 0) {
                log_notice("Group '%s': the guest of '%s' asked for %s: refused, %s (%s).", mem->group->name,
                           mem->domain, hdha_guest_verb_to_string(verb), hdha_guest_refusal_to_string(reply.refusal),
                           message);
        }
        if (c->env.requested && !quiet)
                c->env.requested(c->env.userdata, mem->group->name, mem->domain, verb, r >= 0,
                                 r >= 0 ? message : hdha_guest_refusal_to_string(reply.refusal));
        member_reply(mem, &reply);
}

static int on_line(void *userdata, HdhaGuestLineResult result, const char *line, size_t n) {
        Member *mem = userdata;
        HdhaGuestChannels *c = mem->owner;
        HdhaGuestRequest req;
        uint64_t now = now_usec(c);

        if (now >= mem->window_start + USEC_PER_SEC) {
                mem->window_start = now;
                mem->n_window = 0;
        }
        if (++mem->n_window > HDHA_GUEST_LINES_PER_SEC) {
                mem->n_dropped++;
                if (!(mem->logged & LOGGED_FLOOD))
                        log_warning("Guest channel of '%s': more than %u lines a second, dropping the excess "
                                    "(logged once per connection).", mem->domain, HDHA_GUEST_LINES_PER_SEC);
                mem->logged |= LOGGED_FLOOD;
                return 0;
        }
        if (result == HDHA_GUEST_LINE_OK)
                result = hdha_guest_parse_request(line, n, &req);
        if (result != HDHA_GUEST_LINE_OK) {
                member_bad(mem, result);
                return 0;
        }

        if (!mem->spoke)
                log_info("Guest channel of '%s': the guest is connected.", mem->domain);
        mem->spoke = true;
        switch (req.verb) {
        case HDHA_GUEST_HELLO:
                if (req.version != HDHA_GUEST_PROTOCOL_VERSION)
                        log_debug("Guest channel of '%s': protocol version %u, speaking %u.", mem->domain,
                                  req.version, HDHA_GUEST_PROTOCOL_VERSION);
                break;
        case HDHA_GUEST_HEARTBEAT:
                if (mem->failure_reported)
                        log_info("Guest channel of '%s': the guest's health check passes again.", mem->domain);
                mem->failure_reported = false;
                mem->last_heartbeat = now;
                member_arm_deadline(mem);
                break;
        case HDHA_GUEST_FAILED:
                /* Alive, so the deadline moves on; the failure counts once. */
                mem->last_heartbeat = now;
                member_arm_deadline(mem);
                if (mem->failure_reported)
                        break;
                mem->failure_reported = true;
                log_warning("Guest channel of '%s': the guest reports its health check failed.", mem->domain);
                if (c->env.failed)
                        c->env.failed(c->env.userdata, mem->domain, "guest health check failed");
                break;
        case HDHA_GUEST_STATUS: {
                HdhaGuestReply reply = { .kind = HDHA_GUEST_REPLY_STATUS };
                const char *role = c->env.role ? c->env.role(c->env.userdata, mem->domain) : NULL;

                if (role && strlen(role) < sizeof(reply.role)) {
                        strcpy(reply.role, role);
                        member_reply(mem, &reply);
                }
                break;
        }
        case HDHA_GUEST_RELEASE:
        case HDHA_GUEST_TAKEOVER:
                member_request(mem, req.verb);
                break;
        default:
                break;
        }
        /* The member may have been disconnected by a write failure. */
        return mem->fd < 0 ? -ECONNRESET : 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Member *mem = userdata;
        char buf[READ_MAX];
        ssize_t k;

        if (revents & EPOLLOUT) {
                if (member_flush(mem) < 0) {
                        member_disconnect(mem, "write failed");
                        return 0;
                }
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;

        /* One read per wake-up: a flooding guest gets its turn like
         * everyone else, after them. */
        k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                member_disconnect(mem, strerror(errno));
                return 0;
        }
        if (k == 0) {
                if (hdha_guest_line_buffer_end(&mem->in))
                        member_bad(mem, HDHA_GUEST_LINE_UNTERMINATED);
                member_disconnect(mem, "the domain's QEMU hung up");
                return 0;
        }
        (void) hdha_guest_line_buffer_feed(&mem->in, buf, (size_t) k, on_line, mem);
        return 0;
}

/* --- Connecting ----------------------------------------------------------------- */

static void member_lookup(Member *mem);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Member *mem = userdata;

        mem->retry = sd_event_source_disable_unref(mem->retry);
        member_lookup(mem);
        return 0;
}

static void member_retry(Member *mem, int error, const char *what) {
        int r;

        if (++mem->n_tries >= CONNECT_TRIES) {
                log_warning_errno(error, "Guest channel of '%s': %s, giving up until the domain starts again: %m",
                                  mem->domain, what);
                return;
        }
        log_debug_errno(error, "Guest channel of '%s': %s, trying again: %m", mem->domain, what);
        mem->retry = sd_event_source_disable_unref(mem->retry);
        r = sd_event_add_time_relative(mem->owner->event, &mem->retry, CLOCK_MONOTONIC,
                                       CONNECT_RETRY_USEC << mem->n_tries, 0, on_retry, mem);
        if (r < 0)
                log_warning_errno(r, "Guest channel of '%s': cannot arm a retry, ignoring: %m", mem->domain);
}

static int member_connect(Member *mem, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r == -EINPROGRESS ? -EAGAIN : r;
        }
        mem->path = strdup(path);
        if (!mem->path) {
                close(fd);
                return -ENOMEM;
        }
        mem->fd = fd;
        r = sd_event_add_io(mem->owner->event, &mem->io, fd, EPOLLIN, on_io, mem);
        if (r >= 0)
                r = sd_event_source_set_priority(mem->io, GUEST_PRIORITY);
        if (r < 0) {
                member_disconnect(mem, NULL);
                return r;
        }
        return 0;
}

static void on_lookup(void *userdata, int r, const char *message, const char *path) {
        Lookup *l = userdata;
        HdhaGuestChannels *c = l->owner;
        Member *mem = member_find(c, l->domain);
        bool current = mem && mem->lookup_seq == l->seq;

        if (l->prev)
                l->prev->next = l->next;
        else
                c->lookups = l->next;
        if (l->next)
                l->next->prev = l->prev;
        free(l->domain);
        free(l);
        if (!current)
                return;

        if (r < 0) {
                if (r == -ENOENT || r == -ENOTCONN || r == -ECONNRESET)
                        log_debug("Guest channel of '%s': not looked up: %s.", mem->domain, strna(message));
                else
                        log_warning("Guest channel of '%s': cannot read the domain's live XML: %s.", mem->domain,
                                    strna(message));
                return;
        }
        if (!path) {
                if (mem->fd >= 0)
                        member_disconnect(mem, "the domain has no channel any more");
                log_debug("Guest channel of '%s': the domain is not running or has no channel '%s'.", mem->domain,
                          HDHA_GUEST_CHANNEL_NAME);
                return;
        }
        if (mem->fd >= 0 && streq_ptr(mem->path, path))
                return; /* connected to this very boot's channel */
        member_disconnect(mem, mem->fd >= 0 ? "the domain started anew" : NULL);
        r = member_connect(mem, path);
        if (r < 0)
                return member_retry(mem, r, "cannot connect");
        mem->n_tries = 0;
        log_info("Guest channel of '%s': connected to '%s'.", mem->domain, path);
}

static void member_lookup(Member *mem) {
        HdhaGuestChannels *c = mem->owner;
        Lookup *l;
        int r;

        if (!c->hv->ops->guest_channel)
                return;
        l = calloc(1, sizeof(*l));
        if (!l || !(l->domain = strdup(mem->domain))) {
                free(l);
                log_oom();
                return;
        }
        l->owner = c;
        l->seq = mem->lookup_seq = ++c->seq;
        r = c->hv->ops->guest_channel(c->hv, mem->domain, on_lookup, l);
        if (r < 0) {
                free(l->domain);
                free(l);
                return member_retry(mem, r, "cannot look it up");
        }
        l->next = c->lookups;
        if (c->lookups)
                c->lookups->prev = l;
        c->lookups = l;
}

void hdha_guest_channels_connect(HdhaGuestChannels *c, const char *domain) {
        Member *mem = c ? member_find(c, domain) : NULL;

        if (!mem)
                return;
        mem->n_tries = 0;
        mem->retry = sd_event_source_disable_unref(mem->retry);
        member_lookup(mem);
}

void hdha_guest_channels_connect_all(HdhaGuestChannels *c) {
        for (size_t i = 0; c && i < c->n_members; i++)
                if (c->members[i]->fd < 0)
                        hdha_guest_channels_connect(c, c->members[i]->domain);
}

/* --- Set-up ------------------------------------------------------------------------- */

int hdha_guest_channels_new(sd_event *event, HdhaHypervisor *hv, const HdhaGuestChannelsEnv *env,
                            HdhaGuestChannels **ret) {
        HdhaGuestChannels *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->hv = hv;
        c->env = *env;
        *ret = c;
        return 0;
}

HdhaGuestChannels *hdha_guest_channels_free(HdhaGuestChannels *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_members; i++)
                member_free(c->members[i]);
        free(c->members);
        /* The hypervisor is gone: these never complete. */
        while (c->lookups) {
                Lookup *l = c->lookups;

                c->lookups = l->next;
                free(l->domain);
                free(l);
        }
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

int hdha_guest_channels_set_config(HdhaGuestChannels *c, const HdhaConfig *config) {
        size_t n = 0, n_members = 0;
        Member **members, **fresh;
        size_t n_fresh = 0;

        for (size_t i = 0; i < config->n_groups; i++)
                n += config->groups[i].n_domains;
        members = calloc(n ?: 1, sizeof(Member *));
        fresh = calloc(n ?: 1, sizeof(Member *));
        if (!members || !fresh) {
                free(members);
                free(fresh);
                /* Every member points into the configuration being
                 * replaced: none may outlive it. */
                for (size_t k = 0; k < c->n_members; k++) {
                        member_disconnect(c->members[k], "out of memory while the configuration changed");
                        member_free(c->members[k]);
                }
                c->members = mfree(c->members);
                c->n_members = 0;
                return -ENOMEM;
        }

        for (size_t i = 0; i < config->n_groups; i++)
                for (size_t j = 0; j < config->groups[i].n_domains; j++) {
                        const char *d = config->groups[i].domains[j];
                        Member *mem = member_find(c, d);

                        if (mem) {
                                /* Kept: out of the old list, which is freed below. */
                                for (size_t k = 0; k < c->n_members; k++)
                                        if (c->members[k] == mem)
                                                c->members[k] = NULL;
                        } else {
                                mem = calloc(1, sizeof(*mem));
                                if (mem && !(mem->domain = strdup(d)))
                                        mem = mfree(mem);
                                if (!mem) {
                                        log_oom();
                                        continue;
                                }
                                mem->owner = c;
                                mem->fd = -1;
                                fresh[n_fresh++] = mem;
                        }
                        mem->group = &config->groups[i];
                        members[n_members++] = mem;
                }

        for (size_t k = 0; k < c->n_members; k++)
                if (c->members[k]) {
                        member_disconnect(c->members[k], "the domain left the configuration");
                        member_free(c->members[k]);
                }
        free(c->members);
        c->members = members;
        c->n_members = n_members;

        /* The keys may have changed: the deadlines follow. */
        for (size_t k = 0; k < n_members; k++)
                member_arm_deadline(members[k]);
        for (size_t k = 0; k < n_fresh; k++)
                member_lookup(fresh[k]);
        free(fresh);
        return 0;
}

int hdha_guest_channels_state(const HdhaGuestChannels *c, const char *domain, HdhaGuestChannelState *ret) {
        const Member *mem = c ? member_find(c, domain) : NULL;
        uint64_t now;

        if (!mem)
                return -ENXIO;
        now = now_usec(c);
        *ret = (HdhaGuestChannelState) {
                .connected = mem->fd >= 0 && mem->spoke,
                .heartbeat_age_usec = mem->last_heartbeat > 0 && now >= mem->last_heartbeat ?
                        now - mem->last_heartbeat : UINT64_MAX,
                .n_dropped = mem->n_dropped,
        };
        return 0;
}
