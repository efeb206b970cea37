/*
 * wire_budget.h - the protobuf-c allocator with a memory budget that every
 * wire_* module unpacks untrusted bytes with.
 *
 * protobuf-c has no limit of its own (FIELD-NOTES): a message of millions of
 * tiny repeated fields costs little on the wire and much in memory. Each
 * block carries its size in a header so free gives the budget back; an
 * allocation past the budget fails and protobuf-c's unpack returns NULL.
 * The caller picks the limit for its message type (input length times a
 * small factor, plus what the most elements an honest message carries cost).
 */
#ifndef AMESH_WIRE_BUDGET_H
#define AMESH_WIRE_BUDGET_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#define WIRE_BUDGET_SLACK (64u << 10)

struct wire_budget {
	size_t left;
	bool exhausted; /* an allocation was refused: the budget, not malformed input */
};

/* Sets up a to allocate from b, at most limit bytes in total. b must outlive
 * every use of a (keep them side by side). */
void wire_budget_init(struct wire_budget *b, ProtobufCAllocator *a, size_t limit);

#endif
