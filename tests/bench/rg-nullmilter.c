/*
 * rg-nullmilter - protocol-floor peer for relayguard-milter (benchmarks).
 *
 * A libmilter filter that decides nothing: it negotiates exactly what
 * relayguard-milter negotiates (CHGFROM, the same macros, no headers,
 * body, end of headers, DATA or unknown commands, and no replies at
 * connect, HELO and MAIL) and answers CONTINUE everywhere.  In the
 * end-to-end benchmark it shows what Postfix's milter client and
 * libmilter cost by themselves, so that relayguard-milter's own cost is
 * the difference.  Its negotiation is a copy of mlt_negotiate() in
 * milter/callbacks.c (this peer links nothing of relayguard): change both
 * together.
 *
 * Usage: rg-nullmilter -p unix:/path|inet:PORT@127.0.0.1
 *   -p SOCKET  where to listen (libmilter syntax); a unix socket is made
 *              mode 0666 so that Postfix's smtpd can reach it
 * Runs in the foreground until SIGTERM or SIGINT (libmilter's own
 * handling); exits 1 with a message when the socket cannot be set up.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long nm_nr;	/* SMFIP_NR_* agreed (the same for every connection) */

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	     unsigned long f2, unsigned long f3, unsigned long *pf0,
	     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	static char m_conn[] = "{client_addr}";
	static char m_helo[] = "{tls_version}";
	static char m_mail[] = "i {auth_authen} {tls_version}";
	static char m_i[] = "i";

	(void) f2;
	(void) f3;
	nm_nr = f1 & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL);
	*pf0 = f0 & (SMFIF_CHGFROM | SMFIF_SETSYMLIST);
	*pf1 = (f1 & (SMFIP_NOHDRS | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN
		      | SMFIP_NODATA)) | nm_nr;
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, m_conn);
		smfi_setsymlist(ctx, SMFIM_HELO, m_helo);
		smfi_setsymlist(ctx, SMFIM_ENVFROM, m_mail);
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, m_i);
		smfi_setsymlist(ctx, SMFIM_EOM, m_i);
	}
	return (SMFIS_CONTINUE);
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void) ctx;
	(void) host;
	(void) sa;
	return ((nm_nr & SMFIP_NR_CONN) ? SMFIS_NOREPLY : SMFIS_CONTINUE);
}

static sfsistat
nm_helo(SMFICTX *ctx, char *helo)
{
	(void) ctx;
	(void) helo;
	return ((nm_nr & SMFIP_NR_HELO) ? SMFIS_NOREPLY : SMFIS_CONTINUE);
}

static sfsistat
nm_envfrom(SMFICTX *ctx, char **argv)
{
	(void) ctx;
	(void) argv;
	return ((nm_nr & SMFIP_NR_MAIL) ? SMFIS_NOREPLY : SMFIS_CONTINUE);
}

static sfsistat
nm_envrcpt(SMFICTX *ctx, char **argv)
{
	(void) ctx;
	(void) argv;
	return (SMFIS_CONTINUE);
}

static sfsistat
nm_eom(SMFICTX *ctx)
{
	(void) ctx;
	return (SMFIS_CONTINUE);
}

static char nm_name[] = "rg-nullmilter";

static struct smfiDesc nm_desc = {
	.xxfi_name = nm_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGFROM,
	.xxfi_connect = nm_connect,
	.xxfi_helo = nm_helo,
	.xxfi_envfrom = nm_envfrom,
	.xxfi_envrcpt = nm_envrcpt,
	.xxfi_eom = nm_eom,
	.xxfi_negotiate = nm_negotiate,
};

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int	ch;

	while ((ch = getopt(argc, argv, "p:")) != -1) {
		if (ch != 'p') {
			fprintf(stderr, "usage: rg-nullmilter -p SOCKET\n");
			return (2);
		}
		sock = optarg;
	}
	if (sock == NULL) {
		fprintf(stderr, "usage: rg-nullmilter -p SOCKET\n");
		return (2);
	}
	if (strncmp(sock, "unix:", 5) == 0)
		unlink(sock + 5);
	if (smfi_setconn((char *) sock) == MI_FAILURE || smfi_register(nm_desc) == MI_FAILURE
	    || smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "rg-nullmilter: cannot listen on %s\n", sock);
		return (1);
	}
	if (strncmp(sock, "unix:", 5) == 0)
		chmod(sock + 5, 0666);
	return (smfi_main() == MI_SUCCESS ? 0 : 1);
}
