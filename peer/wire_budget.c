/* wire_budget.c - a budgeted allocator for unpacking untrusted protobuf. */
#include "wire_budget.h"

#include <stdlib.h>

union block_hdr {
	size_t size;
	max_align_t align_; /* keep the payload aligned for any type */
};

static void *budget_alloc(void *data, size_t size)
{
	struct wire_budget *b = data;
	size_t total = size + sizeof(union block_hdr);

	if (total < size || total > b->left) {
		b->exhausted = true;
		return NULL;
	}
	union block_hdr *h = malloc(total);
	if (!h)
		return NULL;
	h->size = total;
	b->left -= total;
	return h + 1;
}

static void budget_free(void *data, void *ptr)
{
	struct wire_budget *b = data;

	if (!ptr)
		return;
	union block_hdr *h = (union block_hdr *)ptr - 1;
	b->left += h->size;
	free(h);
}

void wire_budget_init(struct wire_budget *b, ProtobufCAllocator *a, size_t limit)
{
	b->left = limit;
	b->exhausted = false;
	a->alloc = budget_alloc;
	a->free = budget_free;
	a->allocator_data = b;
}
