/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs Pacemaker's command-line clients from the event loop: a FIFO of
 * commands, one child at a time (the order matters: a failed member's score
 * is set before its failure is reported), posix_spawn + a child source, a
 * deadline after which the child is killed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "macro.h"
#include "manager.h"
#include "pacemaker-exec.h"

#define PCMK_EXEC_QUEUE_MAX 64
#define PCMK_EXEC_TIMEOUT_USEC (20U * 1000U * 1000U)

extern char **environ;

typedef struct Command {
        char **argv;
        char *score_resource, *score_node; /* a score command's instance */
        struct Command *next;
} Command;

struct HdhaPcmkExec {
        sd_event *event;
        Command *head, *tail;
        size_t n_queued;
        sd_event_source *child;
        sd_event_source *deadline;
        pid_t pid;
        char *running; /* argv[0] and argv[1] of the child, for the log */
        char *running_resource, *running_node; /* if it writes a score */
        HdhaPcmkScoreFailedFn score_failed;
        void *score_failed_userdata;
};

static Command *command_free(Command *c) {
        if (!c)
                return NULL;
        for (char **a = c->argv; a && *a; a++)
                free(*a);
        free(c->argv);
        free(c->score_resource);
        free(c->score_node);
        return mfree(c);
}

void hdha_pcmk_exec_on_score_failed(HdhaPcmkExec *p, HdhaPcmkScoreFailedFn fn, void *userdata) {
        p->score_failed = fn;
        p->score_failed_userdata = userdata;
}

/* The running command (or one that could not start) wrote no score. */
static void score_not_written(HdhaPcmkExec *p) {
        if (p->running_resource && p->score_failed)
                p->score_failed(p->score_failed_userdata, p->running_resource, p->running_node);
}

int hdha_pcmk_exec_new(sd_event *event, HdhaPcmkExec **ret) {
        HdhaPcmkExec *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(event);
        *ret = p;
        return 0;
}

HdhaPcmkExec *hdha_pcmk_exec_free(HdhaPcmkExec *p) {
        if (!p)
                return NULL;
        while (p->head) {
                Command *c = p->head;

                p->head = c->next;
                command_free(c);
        }
        /* A child still running is left to finish on its own. */
        sd_event_source_disable_unref(p->child);
        sd_event_source_disable_unref(p->deadline);
        free(p->running);
        free(p->running_resource);
        free(p->running_node);
        sd_event_unref(p->event);
        return mfree(p);
}

static void hdha_pcmk_exec_next(HdhaPcmkExec *p);

static void hdha_pcmk_exec_ended(HdhaPcmkExec *p) {
        p->child = sd_event_source_disable_unref(p->child);
        p->deadline = sd_event_source_disable_unref(p->deadline);
        p->running = mfree(p->running);
        p->running_resource = mfree(p->running_resource);
        p->running_node = mfree(p->running_node);
        p->pid = 0;
        hdha_pcmk_exec_next(p);
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        HdhaPcmkExec *p = userdata;

        if (si->si_code == CLD_EXITED && si->si_status == 0)
                log_debug("'%s' succeeded.", p->running);
        else {
                if (si->si_code == CLD_EXITED)
                        log_warning("'%s' failed with exit status %d, ignoring.", p->running, si->si_status);
                else
                        log_warning("'%s' was killed by signal %d, ignoring.", p->running, si->si_status);
                score_not_written(p);
        }
        hdha_pcmk_exec_ended(p);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        HdhaPcmkExec *p = userdata;

        log_warning("'%s' did not finish in %u s, killing it.", p->running, PCMK_EXEC_TIMEOUT_USEC / 1000000U);
        (void) sd_event_source_send_child_signal(p->child, SIGKILL, NULL, 0);
        return 0;
}

static int hdha_pcmk_exec_spawn(HdhaPcmkExec *p, char **argv) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, dfl;
        pid_t pid;
        int r;

        sigemptyset(&none);
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGPIPE);
        sigaddset(&dfl, SIGCHLD);
        sigaddset(&dfl, SIGTERM);
        sigaddset(&dfl, SIGINT);
        sigaddset(&dfl, SIGHUP);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        /* Its output would only clutter the log; errors go to stderr. */
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &dfl);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = -posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r < 0)
                return r;

        p->pid = pid;
        r = sd_event_add_child(p->event, &p->child, pid, WEXITED, on_child, p);
        if (r < 0) {
                /* Cannot watch it: do not leave a zombie behind. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                p->pid = 0;
                return r;
        }
        (void) sd_event_source_set_child_process_own(p->child, true);
        (void) sd_event_add_time_relative(p->event, &p->deadline, CLOCK_MONOTONIC, PCMK_EXEC_TIMEOUT_USEC, 0,
                                          on_deadline, p);
        return 0;
}

static void hdha_pcmk_exec_next(HdhaPcmkExec *p) {
        while (!p->child && p->head) {
                Command *c = p->head;
                int r;

                p->head = c->next;
                if (!p->head)
                        p->tail = NULL;
                p->n_queued--;
                if (asprintf(&p->running, "%s %s", c->argv[0], c->argv[1] ?: "") < 0)
                        p->running = NULL;
                p->running_resource = TAKE_PTR(c->score_resource);
                p->running_node = TAKE_PTR(c->score_node);
                log_debug("Running '%s'.", strna(p->running));
                r = hdha_pcmk_exec_spawn(p, c->argv);
                if (r < 0) {
                        log_warning_errno(r, "Failed to run '%s', ignoring: %m", c->argv[0]);
                        score_not_written(p);
                        p->running = mfree(p->running);
                        p->running_resource = mfree(p->running_resource);
                        p->running_node = mfree(p->running_node);
                }
                command_free(c);
        }
}

static int pcmk_exec_queue(HdhaPcmkExec *p, char *const argv[], const char *score_resource,
                           const char *score_node) {
        Command *c;
        size_t n = 0;

        if (p->n_queued >= PCMK_EXEC_QUEUE_MAX)
                return -ENOBUFS;
        while (argv[n])
                n++;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->argv = calloc(n + 1, sizeof(char *));
        if (!c->argv)
                return command_free(c), -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(c->argv[i] = strdup(argv[i])))
                        return command_free(c), -ENOMEM;
        if (score_resource &&
            (!(c->score_resource = strdup(score_resource)) || !(c->score_node = strdup(score_node))))
                return command_free(c), -ENOMEM;
        if (p->tail)
                p->tail->next = c;
        else
                p->head = c;
        p->tail = c;
        p->n_queued++;
        hdha_pcmk_exec_next(p);
        return 0;
}

int hdha_pcmk_exec_queue(HdhaPcmkExec *p, char *const argv[]) {
        return pcmk_exec_queue(p, argv, NULL, NULL);
}

int hdha_pcmk_exec_set_score(HdhaPcmkExec *p, const char *resource, const char *node, int score) {
        _cleanup_free_ char *promotion = NULL, *update = NULL;

        /* The transient node attribute that holds the promotion score of
         * the instance. The option's argument is optional, so it must be
         * glued on. */
        if (asprintf(&promotion, "--promotion=%s", resource) < 0)
                return -ENOMEM;
        if (score <= HDHA_PCMK_SCORE_NEVER ? asprintf(&update, "--update=-INFINITY") < 0
                                            : asprintf(&update, "--update=%d", score) < 0)
                return -ENOMEM;
        return pcmk_exec_queue(p, (char *[]) { (char *) "crm_attribute", promotion, (char *) "--node", (char *) node,
                                               update, NULL },
                               resource, node);
}

int hdha_pcmk_exec_report_failure(HdhaPcmkExec *p, const char *resource, const char *node) {
        return hdha_pcmk_exec_queue(p, (char *[]) { (char *) "crm_resource", (char *) "--fail", (char *) "--resource",
                                               (char *) resource, (char *) "--node", (char *) node, NULL });
}
