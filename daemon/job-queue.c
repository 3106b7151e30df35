/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "job-queue.h"
#include "macro.h"

typedef struct Job Job;
struct Job {
        HdhaJobFn work, done, free_data;
        void *data;
        Job *next;
};

/* A FIFO of jobs. */
typedef struct JobList {
        Job *head, *tail;
} JobList;

/* A worker with nothing to do for this long ends; the next job starts one
 * again. An idle daemon has no worker and no wake-up of theirs. */
#define WORKER_IDLE_SEC 30

struct HdhaJobQueue {
        pthread_mutex_t lock;
        pthread_cond_t cond;  /* signals workers: a job is queued or stop */
        pthread_cond_t gone;  /* signals stop_workers(): the last worker ended */
        JobList pending;      /* waiting for a worker */
        JobList finished;     /* waiting for the loop */
        bool stopping;
        unsigned max_workers;
        unsigned n_alive;     /* worker threads running */
        unsigned n_idle;      /* ... of which waiting for a job */
        unsigned n_pending;   /* jobs in pending */
        int efd;
        sd_event_source *source;
};

static void job_list_push(JobList *l, Job *j) {
        j->next = NULL;
        if (l->tail)
                l->tail->next = j;
        else
                l->head = j;
        l->tail = j;
}

static Job *job_list_pop(JobList *l) {
        Job *j = l->head;

        if (j) {
                l->head = j->next;
                if (!l->head)
                        l->tail = NULL;
        }
        return j;
}

static void job_free(Job *j) {
        if (j->free_data)
                j->free_data(j->data);
        free(j);
}

static void job_list_drop(JobList *l) {
        Job *j;

        while ((j = job_list_pop(l)))
                job_free(j);
}

/* Called with the lock held. */
static void wake_loop_locked(HdhaJobQueue *q) {
        uint64_t one = 1;

        /* Only EAGAIN (counter saturated) can fail: the loop is woken anyway. */
        (void) !write(q->efd, &one, sizeof(one));
}

/* Waits for a job or the stop, at most WORKER_IDLE_SEC; false: time to end.
 * Called with the lock held. */
static bool wait_for_job_locked(HdhaJobQueue *q) {
        struct timespec deadline;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += WORKER_IDLE_SEC;
        while (!q->stopping && !q->pending.head) {
                int r;

                q->n_idle++;
                r = pthread_cond_timedwait(&q->cond, &q->lock, &deadline);
                q->n_idle--;
                if (r == ETIMEDOUT && !q->stopping && !q->pending.head)
                        return false;
        }
        return !q->stopping;
}

static void *worker_main(void *userdata) {
        HdhaJobQueue *q = userdata;

        pthread_mutex_lock(&q->lock);
        while (wait_for_job_locked(q)) {
                Job *j = job_list_pop(&q->pending);

                q->n_pending--;
                pthread_mutex_unlock(&q->lock);
                j->work(j->data);
                pthread_mutex_lock(&q->lock);

                job_list_push(&q->finished, j);
                wake_loop_locked(q);
        }
        if (--q->n_alive == 0)
                pthread_cond_broadcast(&q->gone);
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

/* A job was queued: a waiting worker takes it, or a new one if every
 * worker is busy and there is room. Called with the lock held. */
static int dispatch_locked(HdhaJobQueue *q) {
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        if (q->n_pending <= q->n_idle || q->n_alive >= q->max_workers) {
                pthread_cond_signal(&q->cond);
                return 0;
        }
        r = -pthread_attr_init(&attr);
        if (r < 0)
                return r;
        r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r >= 0)
                r = -pthread_create(&thread, &attr, worker_main, q);
        (void) pthread_attr_destroy(&attr);
        if (r < 0)
                return q->n_alive > 0 ? 0 : r; /* a running worker takes it later */
        q->n_alive++;
        return 0;
}

static int on_wakeup(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HdhaJobQueue *q = userdata;
        JobList batch;
        bool stopping;
        uint64_t n;
        Job *j;

        (void) !read(q->efd, &n, sizeof(n));

        pthread_mutex_lock(&q->lock);
        batch = q->finished;
        q->finished = (JobList) {};
        stopping = q->stopping;
        pthread_mutex_unlock(&q->lock);

        while ((j = job_list_pop(&batch))) {
                if (j->done && !stopping)
                        j->done(j->data);
                job_free(j);
        }
        return 0;
}

int hdha_job_queue_new(sd_event *event, unsigned n_workers, HdhaJobQueue **ret) {
        HdhaJobQueue *q;
        int r;

        if (!event || n_workers == 0 || !ret)
                return -EINVAL;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        pthread_mutex_init(&q->lock, NULL);
        {
                pthread_condattr_t attr;

                pthread_condattr_init(&attr);
                pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
                pthread_cond_init(&q->cond, &attr);
                pthread_condattr_destroy(&attr);
        }
        pthread_cond_init(&q->gone, NULL);
        q->max_workers = n_workers;

        q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &q->source, q->efd, EPOLLIN, on_wakeup, q);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(q->source, "job-queue");

        *ret = q;
        return 0;

fail:
        hdha_job_queue_free(q);
        return r;
}

void hdha_job_queue_stop_workers(HdhaJobQueue *q) {
        if (!q)
                return;

        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->cond);
        while (q->n_alive > 0)
                pthread_cond_wait(&q->gone, &q->lock);

        /* Cancelled: never run, never completed. */
        job_list_drop(&q->pending);
        q->n_pending = 0;
        pthread_mutex_unlock(&q->lock);
}

HdhaJobQueue *hdha_job_queue_free(HdhaJobQueue *q) {
        if (!q)
                return NULL;

        hdha_job_queue_stop_workers(q);
        job_list_drop(&q->finished);
        sd_event_source_disable_unref(q->source);
        if (q->efd >= 0)
                close(q->efd);
        pthread_cond_destroy(&q->gone);
        pthread_cond_destroy(&q->cond);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return NULL;
}

int hdha_job_queue_submit(HdhaJobQueue *q, HdhaJobFn work, HdhaJobFn done, HdhaJobFn free_data, void *data) {
        Job *j;
        int r;

        if (!q || !work)
                return -EINVAL;

        j = malloc(sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (Job) { .work = work, .done = done, .free_data = free_data, .data = data };

        pthread_mutex_lock(&q->lock);
        if (q->stopping) {
                pthread_mutex_unlock(&q->lock);
                free(j);
                return -ESHUTDOWN;
        }
        job_list_push(&q->pending, j);
        q->n_pending++;
        r = dispatch_locked(q);
        if (r < 0) {
                /* No worker at all: so it is the only job queued. */
                q->pending = (JobList) {};
                q->n_pending = 0;
        }
        pthread_mutex_unlock(&q->lock);
        if (r < 0)
                free(j);
        return r;
}

int hdha_job_queue_post(HdhaJobQueue *q, HdhaJobFn done, HdhaJobFn free_data, void *data) {
        Job *j;

        if (!q)
                return -EINVAL;

        j = malloc(sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (Job) { .done = done, .free_data = free_data, .data = data };

        pthread_mutex_lock(&q->lock);
        job_list_push(&q->finished, j);
        wake_loop_locked(q);
        pthread_mutex_unlock(&q->lock);
        return 0;
}
