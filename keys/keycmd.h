/*
 * keycmd.h - the `amesh keys ...` subcommands that work on files.
 *
 * `amesh` hands everything after `keys` to keycmd_main(). Subcommands come
 * from a table that also generates the usage text:
 *   generate -o FILE [--comment TEXT] [--passphrase | --passphrase-fd N]
 *   public FILE        print the public-key line of a secret or .pub file
 *   fingerprint FILE   print the short fingerprint
 * and, on the trust store (trust.h) of the peer whose config is given:
 *   trust PUBKEY --name NAME [--as neighbour|origin] [--note TEXT] [--force]
 *   list               one line per entry (--json: one object per line)
 *   show NAME          every field of one entry
 *   distrust NAME      remove the entry
 *   revoke NAME --reason TEXT   keep the entry, marked revoked
 * Each change is saved atomically and reported in one line on stdout.
 * Exit status: 0 ok, 2 usage or runtime error (one line on stderr).
 */
#ifndef AMESH_KEYCMD_H
#define AMESH_KEYCMD_H

#include <stdbool.h>

/* argv[0] is "keys". json selects machine-readable output. config is the
 * peer's config file (amesh -c), borrowed; NULL when none was given, which
 * the trust store commands refuse ("which peer? give -c CONFIG"). */
int keycmd_main(int argc, char **argv, bool json, const char *config);

#endif
