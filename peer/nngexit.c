/* nngexit.c - see nngexit.h: why exit leaves NNG sockets to the kernel. */
#include "nngexit.h"

static bool leaving; /* atomic */

void nngexit_begin(void)
{
	__atomic_store_n(&leaving, true, __ATOMIC_RELEASE);
}

bool nngexit_leaving(void)
{
	return __atomic_load_n(&leaving, __ATOMIC_ACQUIRE);
}

void nngexit_close(nng_socket s)
{
	if (!nngexit_leaving())
		nng_close(s);
}
