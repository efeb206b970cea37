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
 *   pending            rotations offered by trusted parties, not yet approved
 *   approve NAME       NAME's pending key becomes current, the old one retired
 * Each change runs under the store's lock (trust_lock), is saved
 * atomically and reported in one line on stdout; then a running ameshd is
 * told to reload (client_reload_trust) so it applies the change at once.
 * With no daemon listening the saved file is the whole job; a daemon that
 * refuses is an error (exit 2), but the saved change stands.
 * And on this peer's own key (the config's key file):
 *   rotate [--passphrase | --passphrase-fd N]
 *                      new key in KEY, the old one kept as KEY.retired-T,
 *                      a rotation statement signed by both in KEY.rotation
 *                      (its id in KEY.chain, for the next one), published
 *                      when ameshd runs
 *   revoke --self --reason TEXT [--passphrase | --passphrase-fd N]
 *                      a signed revocation of this peer's key, published,
 *                      or saved in KEY.revocation when ameshd is down
 *   publish FILE       send a saved statement to the running ameshd
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
