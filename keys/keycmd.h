/*
 * keycmd.h - the `amesh keys ...` subcommands that work on files.
 *
 * `amesh` hands everything after `keys` to keycmd_main(). Subcommands come
 * from a table that also generates the usage text:
 *   generate -o FILE [--comment TEXT] [--passphrase | --passphrase-fd N]
 *   public FILE        print the public-key line of a secret or .pub file
 *   fingerprint FILE   print the short fingerprint
 * Exit status: 0 ok, 2 usage or runtime error (one line on stderr).
 */
#ifndef AMESH_KEYCMD_H
#define AMESH_KEYCMD_H

#include <stdbool.h>

/* argv[0] is "keys". json selects machine-readable output. */
int keycmd_main(int argc, char **argv, bool json);

#endif
