/*
 * config_files.h - what a config names on disk, checked as the daemon will
 * open it.
 *
 * config.h parses a config alone, so `ameshd --check' (systemd's
 * ExecStartPre) said "configuration is valid" for a peer that could not
 * start: a missing key file, one readable by others, a .pub file given as
 * the secret key, a data_dir that cannot be made. These checks read the
 * files the way ameshd does at start (keyfile.h's loader, the store's
 * mkdir), and each problem names the config line that set the path - or
 * says the path is the default - so the operator knows what to edit:
 *   amesh.conf:19: key: /srv/amesh/ops.key: cannot open secret key: No such file or directory
 * A passphrase-protected key is not a problem here: --check has no
 * passphrase, and the file's form is checked all the same.
 */
#ifndef AMESH_CONFIG_FILES_H
#define AMESH_CONFIG_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Checks cfg's key file, data_dir (and the audit trail in it) and control
 * socket's directory; each problem goes through diag (line = the option's
 * line, 0 for a default), with the option's name and the path in msg.
 * *encrypted (may be NULL) says whether the key is passphrase-protected.
 * Returns the number of problems. Reads only: it creates and changes
 * nothing. */
unsigned config_files_check(const struct config *cfg, config_diag_fn diag, void *arg, bool *encrypted);

/* Can this host listen on the HOST of url (tcp://HOST:PORT, as config.h
 * checked it)? Resolved and bound with port 0 on each address, as NNG
 * would bind it, so a running daemon's port is no obstacle. Returns 0
 * (also for a wildcard HOST), or -1 with why saying what is wrong: a
 * name that does not resolve, an address no interface of this host has.
 * NNG said only "Address invalid" for both, at start. */
int config_files_listen_host(const char *url, char *why, size_t whylen);

/* "PATH:LINE: OPTION" when the option was set on that line of cfg's file,
 * else "PATH: OPTION (the default)": where a message about a file the
 * config names points the operator. */
void config_files_where(const struct config *cfg, unsigned line, const char *option, char *out, size_t outlen);

#endif
