/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* hostdevctl: a thin client of hostdev-had's D-Bus API. Verbs return the
 * process's exit status (one of the CTL_EXIT_* below), having printed what
 * went wrong; the table is repeated in --help and in hostdevctl(1). */

typedef enum CtlExit {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,       /* LibvirtFailure, StateWriteFailure, PacemakerFailure, Interrupted,
                                     * BadConfiguration, anything else */
        CTL_EXIT_USAGE = 2,         /* bad command line, InvalidArgument */
        CTL_EXIT_NOT_FOUND = 3,     /* NoSuchGroup, NoSuchDomain, NotMember */
        CTL_EXIT_BUSY = 4,          /* Busy */
        CTL_EXIT_ACCESS = 5,        /* AccessDenied (daemon or bus policy) */
        CTL_EXIT_NOT_RUNNING = 6,   /* no bus, or nobody owns org.hostdevha.Manager1 */
        CTL_EXIT_FROZEN = 7,        /* Frozen */
        CTL_EXIT_NOTHING_TO_DO = 8, /* NothingToDo: already so */
        CTL_EXIT_NOT_STANDBY = 9,   /* NotStandby */
        CTL_EXIT_NOT_CONNECTED = 10, /* NotConnected: the daemon has no libvirt connection */
        CTL_EXIT_HELD_ELSEWHERE = 11, /* HeldElsewhere: another host of the cluster holds the group */
        CTL_EXIT_NO_QUORUM = 12,    /* NoQuorum: this host is not in a quorate cluster partition */
} CtlExit;

/* Global options. */
extern bool arg_json;
extern bool arg_no_block;
extern bool arg_force;
extern bool arg_cluster;

typedef struct CtlMember {
        char *domain;
        char *role;
} CtlMember;

/* One group as GetStatus() reports it. */
typedef struct CtlGroup {
        char *name;
        char *device;
        char *active; /* "" = none */
        uint64_t generation;
        char *operation; /* "" = none */
        char *step;      /* "" = none */
        CtlMember *members;
        size_t n_members;
        char *policy;
        bool frozen;
        bool busy;
} CtlGroup;

typedef struct CtlStatus {
        bool connected;
        CtlGroup *groups;
        size_t n_groups;
} CtlStatus;

CtlStatus *ctl_status_free(CtlStatus *s);
static inline void ctl_status_freep(CtlStatus **s) {
        *s = ctl_status_free(*s);
}

const CtlGroup *ctl_status_find_group(const CtlStatus *s, const char *name);
/* The group that has domain as a member, and the member. */
const CtlGroup *ctl_status_find_domain(const CtlStatus *s, const char *domain, const CtlMember **ret_member);
const char *ctl_group_role(const CtlGroup *g, const char *domain);

/* Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS honoured). On failure
 * prints why and returns the exit status (> 0). */
int ctl_bus_open(sd_bus **ret);
/* GetStatus(); on failure prints why and returns the exit status (> 0). */
int ctl_get_status(sd_bus *bus, CtlStatus **ret);

/* Prints "error: PREFIX: the daemon's message" (or the errno's text) and
 * returns the exit status that error maps to. */
int ctl_fail_bus(const sd_bus_error *error, int r, const char *format, ...) _printf_(3, 4);
int ctl_exit_from_bus_error(const sd_bus_error *error, int r);

/* JSON of a group: group, device, active (null = none), generation,
 * operation (null), step (null), members [{domain, role}], policy, frozen,
 * busy. */
json_object *ctl_group_json(const CtlGroup *g);
/* Prints one JSON value on a line (pretty on a terminal unless one_line). */
int ctl_json_print(json_object *o, bool one_line);

/* Terminal colours, empty when stdout is no terminal or $NO_COLOR is set. */
bool ctl_colors(void);
const char *ctl_ansi_highlight(void);
const char *ctl_ansi_green(void);
const char *ctl_ansi_red(void);
const char *ctl_ansi_yellow(void);
const char *ctl_ansi_grey(void);
const char *ctl_ansi_normal(void);
const char *ctl_role_color(const char *role);

/* Verbs. */
int verb_status(int argc, char *argv[]);
int verb_list_groups(int argc, char *argv[]);
int verb_list_domains(int argc, char *argv[]);
int verb_monitor(int argc, char *argv[]);
int verb_operation(int argc, char *argv[]);
int verb_reload(int argc, char *argv[]);
