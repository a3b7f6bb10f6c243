/*
 * relay.c - the buffers that hold data in flight between the client and
 * the backend.  A connection holds one per direction only while bytes are
 * waiting (the other side could not take them yet); an idle connection
 * holds none.  Each worker keeps a small pool so that the busy path does
 * not go to malloc for every read.
 */
#include <stdlib.h>

#include "proxy_int.h"

struct relay_buf *
relay_buf_get(struct relay_pool *pool)
{
	struct relay_buf *b = pool->free;

	if (b != NULL) {
		pool->free = b->next;
		pool->nfree--;
	} else if ((b = malloc(sizeof(*b))) == NULL) {
		return NULL;
	}
	b->next = NULL;
	b->off = b->len = 0;
	return b;
}

void
relay_buf_put(struct relay_pool *pool, struct relay_buf *b)
{
	if (b == NULL)
		return;
	if (pool->nfree >= RELAY_POOL_MAX) {
		free(b);
		return;
	}
	b->next = pool->free;
	pool->free = b;
	pool->nfree++;
}

void
relay_pool_clear(struct relay_pool *pool)
{
	struct relay_buf *b, *next;

	for (b = pool->free; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	pool->free = NULL;
	pool->nfree = 0;
}
