/* Workers take the items in order; `done` and `next` are the only shared
 * state, under `mu`. */
#include "unpackq.h"

#include <stdlib.h>

#include "conda.h"
#include "util.h"

static void *work(void *arg)
{
	struct mb_unpackq *q = arg;
	struct mb_err ignored = { 0 };
	size_t i;

	pthread_mutex_lock(&q->mu);
	while (!q->stop && q->next < q->n) {
		i = q->next++;
		pthread_mutex_unlock(&q->mu);
		mb_conda_unpack(q->cache, q->items[i].blob, q->items[i].sha256,
				q->items[i].filename, q->bz2_threads, &ignored);
		pthread_mutex_lock(&q->mu);
		q->done[i] = true;
		pthread_cond_broadcast(&q->changed);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

void mb_unpackq_start(struct mb_unpackq *q, const struct mb_cache *cache,
		      const struct mb_unpack_item *items, size_t n, int jobs)
{
	int want = jobs > 1 ? (n < (size_t)jobs ? (int)n : jobs) : 0;

	mb_process_umask(); /* read before the workers start (util.h) */
	q->cache = cache;
	q->items = items;
	q->n = n;
	q->next = 0;
	q->stop = false;
	q->done = xcalloc(n + 1, sizeof *q->done);
	q->threads = xcalloc((size_t)want + 1, sizeof *q->threads);
	q->n_threads = 0;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->changed, NULL);
	/* The CPUs are shared out: `want` packages at once, each decoding
	 * bzip2 on its share, so that the threads (and their memory, about
	 * 5 MB each) stay about one per CPU however many packages unpack. */
	q->bz2_threads = want ? (unsigned)(mb_online_cpus() / want) : 0;
	if (want && q->bz2_threads < 1)
		q->bz2_threads = 1;
	while (q->n_threads < want && pthread_create(&q->threads[q->n_threads], NULL, work, q) == 0)
		q->n_threads++;
}

void mb_unpackq_wait(struct mb_unpackq *q, size_t i)
{
	if (!q->n_threads || i >= q->n)
		return;
	pthread_mutex_lock(&q->mu);
	while (!q->done[i])
		pthread_cond_wait(&q->changed, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

void mb_unpackq_stop(struct mb_unpackq *q)
{
	int t;

	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_mutex_unlock(&q->mu);
	for (t = 0; t < q->n_threads; t++)
		pthread_join(q->threads[t], NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->changed);
	free(q->threads);
	free(q->done);
	q->threads = NULL;
	q->done = NULL;
	q->n_threads = 0;
}
