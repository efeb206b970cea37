/* shared_hosts.c - the platforms whose URLs say nothing about their host. */
#include "shared_hosts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "feed_misp.h"
#include "text.h"

/* Hosts where a URL names one user's item, not the host: flagging the host
 * would block everybody's. Three kinds, each name with its subdomains:
 * sites where anyone publishes a file, page or form under the site's own
 * name; link shorteners, whose every path is someone's link; and the
 * redirectors and link wrappers of large platforms and mail filters,
 * whose URLs carry the abusive URL inside (google.com/url?q=,
 * l.facebook.com, safelinks.protection.outlook.com/?url=) - an OpenPhish
 * or PhishTank line on bit.ly, t.co or a SafeLinks wrapper had put the
 * whole host into the zone. Sites that give each user a name of their own
 * (user.github.io, x.pages.dev) are public suffixes instead, and handled
 * by that rule. */
const char *const shared_hosts_default[] = {
	/* files, pages, forms, notes, code */
	"drive.google.com", "docs.google.com", "sites.google.com", "forms.gle",
	"storage.googleapis.com", "firebasestorage.googleapis.com",
	"github.com", "gist.github.com", "raw.githubusercontent.com", "gist.githubusercontent.com",
	"objects.githubusercontent.com", "gitlab.com", "bitbucket.org",
	"googleusercontent.com", /* Drive's downloads (doc-0s-..-docs.googleusercontent.com), Sites' files */
	"dropbox.com", "dl.dropboxusercontent.com", "onedrive.live.com", "1drv.ms",
	/* OneDrive for Business and SharePoint Online: ORG-my.sharepoint.com
	 * is a whole organisation's files, not one site - a phishing file in
	 * a compromised account there had put the organisation in the zone */
	"sharepoint.com", "sway.office.com",
	"mediafire.com", "mega.nz", "wetransfer.com", "we.tl", "sendspace.com", "4shared.com",
	"box.com", "pastebin.com", "paste.ee", "telegra.ph", "t.me", "api.telegram.org",
	"discord.com", "discordapp.com", "cdn.discordapp.com", "media.discordapp.net",
	"forms.office.com", "login.microsoftonline.com", "archive.org", "ipfs.io", "cloudflare-ipfs.com",
	"notion.so", "canva.com", "jotform.com", "typeform.com", "surveymonkey.com", "evernote.com",
	"zoho.com", "zohopublic.com", "airtable.com", "linktr.ee", "cdn.jsdelivr.net", "unpkg.com",
	/* anonymous file drops, among URLhaus's most reported hosts: each
	 * URL one upload of anyone's */
	"catbox.moe", "gofile.io", "transfer.sh", "pixeldrain.com", "tmpfiles.org", "file.io", "0x0.st",
	"filebin.net", "bashupload.com",
	/* link shorteners */
	"bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "g.co", "is.gd", "v.gd", "ow.ly",
	"buff.ly", "cutt.ly", "rb.gy", "rebrand.ly", "shorturl.at", "tiny.cc", "t.ly", "s.id",
	"qrco.de", "lnkd.in", "bit.do", "shorte.st", "adf.ly", "surl.li", "clck.ru", "u.to",
	"youtu.be", "amzn.to", "fb.me", "wa.me", "aka.ms",
	/* platforms' redirectors and mail filters' link wrappers */
	"google.com", "youtube.com", "facebook.com", "instagram.com", "linkedin.com",
	"twitter.com", "x.com", "tiktok.com", "whatsapp.com",
	"safelinks.protection.outlook.com", "urldefense.com", "urldefense.proofpoint.com",
	"linkprotect.cudasvc.com", "protect2.fireeye.com", "secure-web.cisco.com",
	"protect-eu.mimecast.com", "protect-us.mimecast.com",
	NULL,
};

struct shared_hosts {
	char **names;
	size_t n;
};

static int add(struct shared_hosts *s, const char *name)
{
	if (s->n >= SHARED_HOSTS_MAX)
		return AM_ETOOBIG;
	char **nn = realloc(s->names, (s->n + 1) * sizeof *nn);
	if (!nn)
		return AM_ENOMEM;
	s->names = nn;
	if ((s->names[s->n] = strdup(name)) == NULL)
		return AM_ENOMEM;
	s->n++;
	return 0;
}

int shared_hosts_load(struct shared_hosts **out, const char *path, char *err, size_t errlen)
{
	struct shared_hosts *s = calloc(1, sizeof *s);
	char *buf = NULL, norm[AM_DOMAIN_MAX + 1], why[AM_ERRLEN];
	size_t len, line = 0;
	int rv = 0;

	*out = NULL;
	if (!s)
		return AM_ENOMEM;
	if (!path) {
		for (size_t i = 0; shared_hosts_default[i] && rv == 0; i++)
			rv = add(s, shared_hosts_default[i]);
		goto out;
	}
	if ((rv = feed_read_file(path, SHARED_HOSTS_FILE_MAX, &buf, &len, err, errlen)) != 0)
		goto out;
	for (char *p = buf, *nl; p && *p; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		line++;
		char *hash = strchr(p, '#');
		if (hash)
			*hash = '\0';
		const char *t = p;
		size_t n = strlen(p);
		feed_trim(&t, &n);
		while (n && (t[n - 1] == '\r' || t[n - 1] == ' '))
			n--;
		if (n == 0)
			continue;
		char name[DOMAIN_INPUT_MAX + 1];
		if (n > DOMAIN_INPUT_MAX)
			n = DOMAIN_INPUT_MAX;
		memcpy(name, t, n);
		name[n] = '\0';
		if ((rv = domain_normalise_suffix(name, norm, why, sizeof why)) != 0) {
			snprintf(err, errlen, "%s:%zu: %s", path, line, why);
			goto out;
		}
		if ((rv = add(s, norm)) != 0) {
			snprintf(err, errlen, "%s:%zu: %s", path, line,
			         rv == AM_ETOOBIG ? "more names than the shared-host list takes" : am_strerror(rv));
			goto out;
		}
	}
out:
	free(buf);
	if (rv != 0) {
		if (rv == AM_ENOMEM)
			snprintf(err, errlen, "out of memory");
		shared_hosts_free(s);
		return rv;
	}
	*out = s;
	return 0;
}

void shared_hosts_free(struct shared_hosts *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s);
}

bool shared_hosts_match(const struct shared_hosts *s, const char *name, const char **which)
{
	size_t nl = strlen(name);
	/* O(list): the list is short and URLs are a fraction of a feed.
	 * Below an entry, only as far as a flag on it would reach
	 * (domain_reaches): a tenant under a public suffix beneath it
	 * (x.pro.typeform.com, <cid>.cloudflare-ipfs.com) has a name of its
	 * own, as user.github.io does, and its URL flags that name. */
	for (size_t i = 0; s && i < s->n; i++) {
		size_t el = strlen(s->names[i]);
		if (nl == el ? strcmp(name, s->names[i]) == 0
		             : nl > el && name[nl - el - 1] == '.' && strcmp(name + nl - el, s->names[i]) == 0 &&
		                   domain_reaches(name, name + nl - el)) {
			if (which)
				*which = s->names[i];
			return true;
		}
	}
	return false;
}
