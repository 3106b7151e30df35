/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "fake-hypervisor.h"
#include "macro.h"

typedef enum ItemKind {
        ITEM_DONE,
        ITEM_INSPECT,
        ITEM_EVENT,
} ItemKind;

typedef struct Item {
        ItemKind kind;
        char *op; /* attach, detach, destroy, start, quota */
        char *domain;
        long long quota;
        HdhaHvDoneFn done;
        HdhaHvInspectFn inspect_done;
        void *userdata;
        HdhaHvEvent event;
        struct Item *next;
} Item;

typedef struct FakeHypervisor {
        HdhaHypervisor hv;
        FILE *out;
        FakeDomain *domains;
        size_t n_domains;
        size_t *slots; /* domains by name: 1 + index, 0 free (open addressing) */
        size_t n_slots;
        Item *head, *tail;
        unsigned violations;
        char *alias;
        bool disconnected;
} FakeHypervisor;

static FakeHypervisor *fake(HdhaHypervisor *hv) {
        return (FakeHypervisor *) hv;
}

static size_t name_hash(const char *s) {
        size_t h = 5381;

        while (*s)
                h = h * 33 + (unsigned char) *s++;
        return h;
}

/* The slot of name: where it is, or the free one where it would go. */
static size_t *slot_of(FakeHypervisor *f, const char *name) {
        size_t i = name_hash(name) & (f->n_slots - 1);

        while (f->slots[i] && strcmp(f->domains[f->slots[i] - 1].name, name) != 0)
                i = (i + 1) & (f->n_slots - 1);
        return &f->slots[i];
}

/* Keeps the table at most half full. */
static void slots_grow(FakeHypervisor *f) {
        size_t n = f->n_slots ? 2 * f->n_slots : 64;

        if (2 * (f->n_domains + 1) <= f->n_slots)
                return;
        free(f->slots);
        f->slots = calloc(n, sizeof(*f->slots));
        f->n_slots = n;
        for (size_t i = 0; i < f->n_domains; i++)
                *slot_of(f, f->domains[i].name) = i + 1;
}

FakeDomain *fake_hv_domain(HdhaHypervisor *hv, const char *name) {
        FakeHypervisor *f = fake(hv);
        size_t *slot;

        slots_grow(f);
        slot = slot_of(f, name);
        if (*slot)
                return &f->domains[*slot - 1];
        f->domains = realloc(f->domains, (f->n_domains + 1) * sizeof(*f->domains));
        f->domains[f->n_domains] = (FakeDomain) { .name = strdup(name), .quota = -1 };
        *slot = ++f->n_domains;
        return &f->domains[f->n_domains - 1];
}

void fake_hv_set_group(HdhaHypervisor *hv, const char *alias, const char *const *domains, size_t n) {
        FakeHypervisor *f = fake(hv);

        for (size_t i = 0; i < n; i++)
                (void) fake_hv_domain(hv, domains[i]);
        for (size_t i = 0; i < n; i++) {
                FakeDomain *d = fake_hv_domain(hv, domains[i]);

                free(d->alias);
                d->alias = strdup(alias);
                d->group_next = *slot_of(f, domains[(i + 1) % n]);
        }
}

static const char *domain_alias(FakeHypervisor *f, const FakeDomain *d) {
        return d->alias ?: f->alias;
}

/* The domains that hold d's device: d's group, or every domain. */
static void check_attach(FakeHypervisor *f, FakeDomain *d) {
        size_t i = d->group_next ? d->group_next - 1 : 0;

        for (size_t seen = 0; seen < f->n_domains; seen++) {
                FakeDomain *o = &f->domains[i];

                if (o != d && o->running && o->has_device) {
                        fprintf(f->out, "VIOLATION: device attached to %s while %s holds it\n", d->name, o->name);
                        f->violations++;
                }
                if (d->group_next) {
                        i = o->group_next - 1;
                        if (&f->domains[i] == d)
                                return;
                } else
                        i++;
        }
}

static void queue(FakeHypervisor *f, Item *it) {
        if (f->tail)
                f->tail->next = it;
        else
                f->head = it;
        f->tail = it;
}

static Item *item_new(ItemKind kind, const char *op, const char *domain) {
        Item *it = calloc(1, sizeof(*it));

        it->kind = kind;
        it->op = op ? strdup(op) : NULL;
        it->domain = domain ? strdup(domain) : NULL;
        return it;
}

static void item_free(Item *it) {
        free(it->op);
        free(it->domain);
        free((char *) it->event.domain);
        free((char *) it->event.alias);
        free((char *) it->event.reason);
        free(it);
}

void fake_hv_queue_event(HdhaHypervisor *hv, HdhaHvEventKind kind, const char *domain, const char *alias,
                         const char *reason) {
        Item *it = item_new(ITEM_EVENT, NULL, NULL);

        it->event = (HdhaHvEvent) {
                .kind = kind,
                .domain = domain ? strdup(domain) : NULL,
                .alias = alias ? strdup(alias) : NULL,
                .reason = reason ? strdup(reason) : NULL,
        };
        queue(fake(hv), it);
}

static int queue_op(HdhaHypervisor *hv, const char *op, const char *domain, long long quota, HdhaHvDoneFn done,
                    void *userdata) {
        FakeHypervisor *f = fake(hv);
        Item *it = item_new(ITEM_DONE, op, domain);

        it->quota = quota;
        it->done = done;
        it->userdata = userdata;
        if (strcmp(op, "quota") == 0)
                fprintf(f->out, "hv: quota %s %lld\n", domain, quota);
        else
                fprintf(f->out, "hv: %s %s\n", op, domain);
        queue(f, it);
        return 0;
}

static int fake_attach(HdhaHypervisor *hv, const char *domain, const char *xml, HdhaHvDoneFn done, void *ud) {
        return queue_op(hv, "attach", domain, 0, done, ud);
}

static int fake_detach(HdhaHypervisor *hv, const char *domain, const char *xml, HdhaHvDoneFn done, void *ud) {
        return queue_op(hv, "detach", domain, 0, done, ud);
}

static int fake_destroy(HdhaHypervisor *hv, const char *domain, HdhaHvDoneFn done, void *ud) {
        return queue_op(hv, "destroy", domain, 0, done, ud);
}

static int fake_start(HdhaHypervisor *hv, const char *domain, HdhaHvDoneFn done, void *ud) {
        return queue_op(hv, "start", domain, 0, done, ud);
}

static int fake_quota(HdhaHypervisor *hv, const char *domain, int64_t quota, uint64_t period, HdhaHvDoneFn done,
                      void *ud) {
        return queue_op(hv, "quota", domain, quota, done, ud);
}

static int fake_bind_vfio(HdhaHypervisor *hv, const char *nodedev, HdhaHvDoneFn done, void *ud) {
        return queue_op(hv, "bind-vfio", nodedev, 0, done, ud);
}

static int fake_inspect(HdhaHypervisor *hv, const char *domain, const char *alias, HdhaHvInspectFn done,
                        void *ud) {
        FakeHypervisor *f = fake(hv);
        Item *it = item_new(ITEM_INSPECT, "inspect", domain);

        it->inspect_done = done;
        it->userdata = ud;
        fprintf(f->out, "hv: inspect %s\n", domain);
        queue(f, it);
        return 0;
}

/* Applies a completed operation to the fake domain; returns its result. */
static int apply(FakeHypervisor *f, Item *it, const char **ret_message) {
        FakeDomain *d = fake_hv_domain(&f->hv, it->domain);

        if (d->fail_op && strcmp(d->fail_op, it->op) == 0) {
                *ret_message = d->fail_message;
                d->fail_op = mfree(d->fail_op);
                return d->fail_errno ?: -EIO;
        }

        if (strcmp(it->op, "attach") == 0) {
                if (!d->running) {
                        *ret_message = "domain is not running";
                        return -EIO;
                }
                check_attach(f, d);
                d->has_device = true;
        } else if (strcmp(it->op, "detach") == 0) {
                if (!d->running) {
                        *ret_message = "domain is not running";
                        return -EIO;
                }
                switch (d->release) {
                case FAKE_RELEASE_NORMAL:
                        if (d->has_device) {
                                d->has_device = false;
                                fake_hv_queue_event(&f->hv, HDHA_HV_EVENT_DEVICE_REMOVED, d->name, domain_alias(f, d),
                                                    NULL);
                        }
                        break;
                case FAKE_RELEASE_LOST_ONCE:
                        d->release = FAKE_RELEASE_NORMAL;
                        break;
                case FAKE_RELEASE_REFUSE:
                        fake_hv_queue_event(&f->hv, HDHA_HV_EVENT_DEVICE_REMOVAL_FAILED, d->name, domain_alias(f, d), NULL);
                        break;
                case FAKE_RELEASE_NEVER:
                        break;
                }
        } else if (strcmp(it->op, "destroy") == 0) {
                if (d->running) {
                        d->running = d->has_device = false;
                        fake_hv_queue_event(&f->hv, HDHA_HV_EVENT_STOPPED, d->name, NULL, "destroyed");
                }
        } else if (strcmp(it->op, "start") == 0) {
                if (!d->running) {
                        d->running = true;
                        d->release = FAKE_RELEASE_NORMAL;
                        d->quota = -1;
                        fake_hv_queue_event(&f->hv, HDHA_HV_EVENT_STARTED, d->name, NULL, "booted");
                }
        } else if (strcmp(it->op, "quota") == 0) {
                if (!d->running) {
                        *ret_message = "domain is not running";
                        return -EIO;
                }
                d->quota = it->quota;
        }
        return 0;
}

bool fake_hv_run_one(HdhaHypervisor *hv) {
        FakeHypervisor *f = fake(hv);
        const char *message = NULL;
        Item *it = f->head;
        int r;

        if (!it)
                return false;
        f->head = it->next;
        if (!f->head)
                f->tail = NULL;

        switch (it->kind) {
        case ITEM_DONE:
                if (f->disconnected) {
                        r = -ECONNRESET;
                        message = "End of file while reading data: Input/output error (code 38)";
                } else
                        r = apply(f, it, &message);
                fprintf(f->out, "hv: %s %s -> %s%s%s\n", it->op, it->domain, r < 0 ? "failed" : "done",
                        message ? ": " : "", message ?: "");
                it->done(it->userdata, r, message);
                break;
        case ITEM_INSPECT: {
                FakeDomain *d = fake_hv_domain(hv, it->domain);
                if (f->disconnected) {
                        fprintf(f->out, "hv: inspect %s -> failed: not connected\n", it->domain);
                        it->inspect_done(it->userdata, -ECONNRESET, "not connected", NULL);
                        break;
                }
                HdhaDomainInfo info = {
                        .exists = true,
                        .running = d->running,
                        .has_device = d->running && d->has_device,
                };
                fprintf(f->out, "hv: inspect %s -> %s%s\n", it->domain, d->running ? "running" : "shut off",
                        info.has_device ? ", has the device" : "");
                it->inspect_done(it->userdata, 0, NULL, &info);
                break;
        }
        case ITEM_EVENT:
                fprintf(f->out, "event: %s %s%s%s\n", hdha_hv_event_to_string(it->event.kind),
                        it->event.domain ?: "", it->event.reason ? " " : "", it->event.reason ?: "");
                hdha_hypervisor_emit(hv, &it->event);
                break;
        }
        item_free(it);
        return true;
}

unsigned fake_hv_run(HdhaHypervisor *hv) {
        unsigned n = 0;

        while (fake_hv_run_one(hv))
                n++;
        return n;
}

unsigned fake_hv_pending(HdhaHypervisor *hv) {
        unsigned n = 0;

        for (Item *it = fake(hv)->head; it; it = it->next)
                n++;
        return n;
}

void fake_hv_drop_pending(HdhaHypervisor *hv) {
        FakeHypervisor *f = fake(hv);

        while (f->head) {
                Item *it = f->head;

                f->head = it->next;
                item_free(it);
        }
        f->tail = NULL;
}

void fake_hv_crash_pending(HdhaHypervisor *hv) {
        FakeHypervisor *f = fake(hv);
        Item *it = f->head;

        f->head = f->tail = NULL;
        while (it) {
                Item *next = it->next;
                const char *message = NULL;

                /* The hypervisor carries on with what it was asked. */
                if (it->kind == ITEM_DONE && !f->disconnected) {
                        int r = apply(f, it, &message);
                        fprintf(f->out, "hv: %s %s -> %s, nobody listening\n", it->op, it->domain,
                                r < 0 ? "failed" : "done");
                }
                item_free(it);
                it = next;
        }
        /* What those effects emitted has no listener either. */
        fake_hv_drop_pending(hv);
}

void fake_hv_set_connected(HdhaHypervisor *hv, bool connected) {
        fake(hv)->disconnected = !connected;
        fake_hv_queue_event(hv, connected ? HDHA_HV_EVENT_CONNECTED : HDHA_HV_EVENT_DISCONNECTED, NULL, NULL,
                            NULL);
}

void fake_hv_kill(HdhaHypervisor *hv, const char *domain) {
        FakeDomain *d = fake_hv_domain(hv, domain);

        d->running = d->has_device = false;
        fake_hv_queue_event(hv, HDHA_HV_EVENT_STOPPED, domain, NULL, "crashed");
}

unsigned fake_hv_violations(HdhaHypervisor *hv) {
        return fake(hv)->violations;
}

void fake_hv_set_alias(HdhaHypervisor *hv, const char *alias) {
        FakeHypervisor *f = fake(hv);

        free(f->alias);
        f->alias = strdup(alias);
}

static HdhaHypervisor *fake_free(HdhaHypervisor *hv) {
        FakeHypervisor *f = fake(hv);

        fake_hv_drop_pending(hv);
        for (size_t i = 0; i < f->n_domains; i++) {
                free(f->domains[i].name);
                free(f->domains[i].fail_op);
                free(f->domains[i].fail_message);
                free(f->domains[i].alias);
        }
        free(f->domains);
        free(f->slots);
        free(f->alias);
        free(f);
        return NULL;
}

static const HdhaHypervisorOps fake_ops = {
        .name = "fake",
        .free = fake_free,
        .attach = fake_attach,
        .detach = fake_detach,
        .destroy = fake_destroy,
        .start = fake_start,
        .set_vcpu_quota = fake_quota,
        .inspect = fake_inspect,
        .bind_vfio = fake_bind_vfio,
};

HdhaHypervisor *fake_hv_new(FILE *transcript) {
        FakeHypervisor *f = calloc(1, sizeof(*f));

        f->hv.ops = &fake_ops;
        f->out = transcript;
        f->alias = strdup("ua-hostdev-nic0");
        return &f->hv;
}
