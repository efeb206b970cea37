/*
 * nngexit.h - leaving NNG sockets to the kernel when the process exits.
 *
 * NNG 1.5.2 (Debian 12's package) can wedge its reaper thread for good
 * when a pipe is closed from our side while a message is arriving on it:
 * the transport's receive callback re-arms a read on an aio that the close
 * has just stopped, the read never starts, and the protocol's receive on
 * that pipe never completes (nng#1636, fixed in NNG 1.6.0). Every later
 * nng_close() then waits for that pipe forever. Any peer can be sending at
 * any moment - a neighbour answering a long-poll, an amesh client - so no
 * ordering of ours closes a live pipe safely; we reproduced the wedge with
 * plain rep0/req0 sockets and no Abuse Mesh code.
 *
 * At exit there is nothing to gain from closing sockets: once our own
 * users are stopped (workers joined, contexts closed, aios stopped) and
 * the store is closed, the kernel closes the connections when the process
 * ends. So shutdown calls nngexit_begin() first and the modules' close
 * functions then skip every call that closes pipes (nng_close,
 * nng_listener_close) and keep what NNG's pipe callbacks may still use.
 * Closes during the process's life (a neighbour removed by SIGHUP, tests
 * that open and close sockets) still close; the README says what remains.
 */
#ifndef AMESH_NNGEXIT_H
#define AMESH_NNGEXIT_H

#include <nng/nng.h>
#include <stdbool.h>

/* The process is leaving: from now on nngexit_close() and the modules
 * that ask nngexit_leaving() leave NNG sockets, listeners and pipes open.
 * Call once, from the thread that runs the shutdown, before closing any
 * module. Not undone. */
void nngexit_begin(void);
/* True after nngexit_begin(). Thread-safe. */
bool nngexit_leaving(void);
/* nng_close(s), unless the process is leaving (then s stays open until
 * the process ends). */
void nngexit_close(nng_socket s);

#endif
