/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
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

struct HdhaJobQueue {
        pthread_mutex_t lock;
        pthread_cond_t cond;  /* signals workers: a job is queued or stop */
        JobList pending;      /* waiting for a worker */
        JobList finished;     /* waiting for the loop */
        bool stopping;
        pthread_t *workers;
        unsigned n_workers;
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

static void *worker_main(void *userdata) {
        HdhaJobQueue *q = userdata;

        pthread_mutex_lock(&q->lock);
        for (;;) {
                Job *j;

                while (!q->stopping && !q->pending.head)
                        pthread_cond_wait(&q->cond, &q->lock);
                if (q->stopping)
                        break;

                j = job_list_pop(&q->pending);
                pthread_mutex_unlock(&q->lock);
                j->work(j->data);
                pthread_mutex_lock(&q->lock);

                job_list_push(&q->finished, j);
                wake_loop_locked(q);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
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
        pthread_cond_init(&q->cond, NULL);

        q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &q->source, q->efd, EPOLLIN, on_wakeup, q);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(q->source, "job-queue");

        q->workers = calloc(n_workers, sizeof(pthread_t));
        if (!q->workers) {
                r = -ENOMEM;
                goto fail;
        }
        for (; q->n_workers < n_workers; q->n_workers++) {
                r = -pthread_create(&q->workers[q->n_workers], NULL, worker_main, q);
                if (r < 0)
                        goto fail;
        }

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
        pthread_mutex_unlock(&q->lock);

        for (unsigned i = 0; i < q->n_workers; i++)
                pthread_join(q->workers[i], NULL);
        q->n_workers = 0;

        /* Cancelled: never run, never completed. */
        pthread_mutex_lock(&q->lock);
        job_list_drop(&q->pending);
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
        free(q->workers);
        pthread_cond_destroy(&q->cond);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return NULL;
}

int hdha_job_queue_submit(HdhaJobQueue *q, HdhaJobFn work, HdhaJobFn done, HdhaJobFn free_data, void *data) {
        Job *j;

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
        pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&q->lock);
        return 0;
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
