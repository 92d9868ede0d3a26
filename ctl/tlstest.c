/*
 * tlstest - relayguardctl tls-test: the "test TLS connection" of a route
 *
 * SYNOPSIS
 *	struct tlstest_opts o = { .host = "gw.example", .port = 25,
 *				  .require_tls = 1, ... };
 *	if ((why = tlstest_check(&o)) != NULL) ... usage or config error
 *	tlstest_policy(&o, buf, sizeof(buf));	"may", "encrypt", "secure match=N"...
 *	rc = tlstest_run(&o, stdout);		0 delivered, 1 not, 2 config error
 *	ctl_tls_test(conf, argc, argv);		the subcommand (argv[0] "tls-test")
 *
 * DESCRIPTION
 *	Does what the Postfix SMTP client would do with a route, up to the
 *	point of sending mail: connect (each MX host, by preference, with
 *	mx_lookup), banner, EHLO, STARTTLS, handshake, QUIT.  It prints what
 *	it saw (the chain, OpenSSL's verification result in its own words),
 *	the TLS policy relayguard answers for such a route (DESIGN 5.3) and a
 *	verdict per route flag; the result says whether Postfix would deliver
 *	under that policy.  Every step (connect, each reply, the handshake)
 *	has its own 10 s deadline; SMTP replies are capped (line length,
 *	lines per reply: smtpreply.c), server text is printed with control
 *	bytes masked.
 *
 * DIAGNOSTICS
 *	tlstest_run returns 1 with the reason printed for anything the peer
 *	does, 2 only for a CA file that cannot be loaded.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "ctl.h"
#include "route.h"
#include "xmem.h"

#define TT_STEP_MS	10000	/* each step: connect, a reply, the handshake */
#define TT_MAX_MX	10	/* MX hosts tried */
#define TT_MAX_CHAIN	10	/* certificates printed */
#define TT_MAX_ERRS	8	/* verification errors kept */
#define TT_BUF		(SMTP_REPLY_LINE_MAX * SMTP_REPLY_LINES_MAX + 1)

/* A connection: plain, then TLS once the handshake is done. */
struct tt_conn {
	int	fd;
	SSL    *ssl;
	size_t	len;
	char	buf[TT_BUF];
};

/* What one host did. */
struct tt_host {
	int	reached;		/* 220 banner and a 250 to EHLO or HELO */
	int	offered;		/* STARTTLS in the EHLO reply */
	int	tls;			/* handshake done */
	int	nerr;			/* verification errors, in OpenSSL's order */
	int	err[TT_MAX_ERRS], depth[TT_MAX_ERRS];
	char	why[300];		/* the first failure, for the verdicts */
};

/* ---------------------------------------------------------------- I/O */

static long
tt_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((deadline->tv_sec - now.tv_sec) * 1000
		+ (deadline->tv_nsec - now.tv_nsec) / 1000000);
}

static void
tt_deadline(struct timespec *d)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += TT_STEP_MS / 1000;
}

/* Wait for fd to be readable (events POLLIN) or writable; 0, or -1 timed out. */
static int
tt_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long	ms;
	int	n;

	do {
		if ((ms = tt_left(deadline)) <= 0)
			return (-1);
		n = poll(&p, 1, (int) ms);
	} while (n < 0 && errno == EINTR);
	return (n > 0 ? 0 : -1);
}

/*
 * TLS or plain I/O until the deadline: returns bytes moved, or -1 with
 * why set.  One function for both directions keeps the retry logic in one
 * place.
 */
static ssize_t
tt_io(struct tt_conn *c, char *p, size_t n, int writing, const struct timespec *dl,
      const char **why)
{
	for (;;) {
		ssize_t	k;
		short	ev = writing ? POLLOUT : POLLIN;

		if (c->ssl) {
			int	e;

			ERR_clear_error();
			k = writing ? SSL_write(c->ssl, p, (int) n) : SSL_read(c->ssl, p, (int) n);
			if (k > 0)
				return (k);
			e = SSL_get_error(c->ssl, (int) k);
			if (e == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (e == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else {
				*why = e == SSL_ERROR_ZERO_RETURN ? "connection closed"
					: "TLS error";
				return (-1);
			}
		} else {
			k = writing ? send(c->fd, p, n, MSG_NOSIGNAL) : recv(c->fd, p, n, 0);
			if (k > 0)
				return (k);
			if (k == 0) {
				*why = "connection closed";
				return (-1);
			}
			if (errno != EAGAIN && errno != EINTR) {
				*why = strerror(errno);
				return (-1);
			}
		}
		if (tt_wait(c->fd, ev, dl) < 0) {
			*why = "timed out (10 s)";
			return (-1);
		}
	}
}

/* tt_reply - read one reply within one step; 0, or -1 with why set */
static int
tt_reply(struct tt_conn *c, struct smtp_reply *r, const char **why)
{
	struct timespec dl;
	int	n;

	tt_deadline(&dl);
	while ((n = smtp_reply_parse(c->buf, c->len, r)) == 0) {
		ssize_t	k = tt_io(c, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0, &dl, why);

		if (k < 0)
			return (-1);
		c->len += (size_t) k;
	}
	if (n < 0) {
		*why = r->error;
		return (-1);
	}
	c->len -= (size_t) n;
	memmove(c->buf, c->buf + n, c->len);
	return (0);
}

/* tt_cmd - send a command, read its reply; 0, or -1 with why set */
static int
tt_cmd(struct tt_conn *c, const char *cmd, struct smtp_reply *r, const char **why)
{
	struct timespec dl;
	char	line[600];
	size_t	n = (size_t) snprintf(line, sizeof(line), "%s\r\n", cmd), off = 0;

	tt_deadline(&dl);
	while (off < n) {
		ssize_t	k = tt_io(c, line + off, n - off, 1, &dl, why);

		if (k < 0)
			return (-1);
		off += (size_t) k;
	}
	return (tt_reply(c, r, why));
}

/* ---------------------------------------------------------------- policy */

static int
tt_is_ip(const char *h)
{
	unsigned char a[16];

	return (inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1);
}

/*
 * tlstest_check - the flag rules of a route (DESIGN 5.1): NULL when the
 * combination is one a route may have, else why not.
 */
const char *
tlstest_check(const struct tlstest_opts *o)
{
	int	named = o->tls_name && *o->tls_name;

	if (o->host == NULL || *o->host == 0)
		return ("no host");
	if (o->require_ca_signed && !o->require_tls)
		return ("--require-ca-signed needs --require-tls");
	if (o->validate_hostname && !o->require_ca_signed)
		return ("--validate-hostname needs --require-ca-signed");
	if (tt_is_ip(o->host) && o->mx_lookup)
		return ("an IP address has no MX hosts: --mx needs a name");
	if (tt_is_ip(o->host) && o->require_ca_signed && !named)
		return ("an IP address needs --tls-name when certificates are checked");
	if (o->require_ca_signed && !o->validate_hostname && !named)
		return ("--require-ca-signed without --validate-hostname needs --tls-name"
			" (Postfix checks a CA chain only together with a name)");
	return (NULL);
}

/* tlstest_policy - the smtp_tls_policy_maps answer for such a route */
void
tlstest_policy(const struct tlstest_opts *o, char *buf, size_t len)
{
	route_tls_policy(buf, len, o->require_tls, o->require_ca_signed, o->mx_lookup,
			 o->tls_name, o->host);
}

/* ---------------------------------------------------------------- TLS */

static int
tt_verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL    *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tt_host *h = SSL_get_app_data(ssl);

	if (!ok && h->nerr < TT_MAX_ERRS) {
		h->err[h->nerr] = X509_STORE_CTX_get_error(x);
		h->depth[h->nerr++] = X509_STORE_CTX_get_error_depth(x);
	}
	return (1);		/* see everything; the verdicts decide */
}

static void
tt_print_names(BIO *b, X509 *x)
{
	GENERAL_NAMES *gn = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int	i, n = gn ? sk_GENERAL_NAME_num(gn) : 0;

	BIO_printf(b, "    names:   ");
	for (i = 0; i < n && i < 20; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gn, i);
		char	s[256];

		if (g->type == GEN_DNS) {
			smtp_text_copy(s, sizeof(s), (const char *) ASN1_STRING_get0_data(g->d.dNSName),
				       (size_t) ASN1_STRING_length(g->d.dNSName));
			BIO_printf(b, "%sDNS:%s", i ? ", " : "", s);
		} else if (g->type == GEN_IPADD) {
			BIO_printf(b, "%sIP:", i ? ", " : "");
			for (int k = 0; k < ASN1_STRING_length(g->d.iPAddress); k++)
				BIO_printf(b, "%s%02x", k ? ":" : "",
					   ASN1_STRING_get0_data(g->d.iPAddress)[k]);
		}
	}
	BIO_printf(b, "%s%s\n", n == 0 ? "(no subjectAltName)" : "", n > 20 ? ", ..." : "");
	GENERAL_NAMES_free(gn);
}

static void
tt_print_chain(FILE *out, SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	BIO    *b = BIO_new_fp(out, BIO_NOCLOSE);
	int	i, n = chain ? sk_X509_num(chain) : 0;

	if (b == NULL)
		return;
	for (i = 0; i < n && i < TT_MAX_CHAIN; i++) {
		X509   *x = sk_X509_value(chain, i);

		BIO_printf(b, "  certificate %d\n    subject: ", i);
		X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_ONELINE);
		BIO_printf(b, "\n    issuer:  ");
		X509_NAME_print_ex(b, X509_get_issuer_name(x), 0, XN_FLAG_ONELINE);
		BIO_printf(b, "\n");
		tt_print_names(b, x);
		BIO_printf(b, "    valid:   ");
		ASN1_TIME_print(b, X509_get0_notBefore(x));
		BIO_printf(b, " to ");
		ASN1_TIME_print(b, X509_get0_notAfter(x));
		BIO_printf(b, "\n");
	}
	if (n == 0)
		BIO_printf(b, "  no certificate\n");
	BIO_free(b);
	fflush(out);
}

/* The handshake as one step; 0, or -1 with why set. */
static int
tt_handshake(struct tt_conn *c, SSL_CTX *ctx, struct tt_host *h, const char *name,
	     const char **why)
{
	struct timespec dl;

	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		*why = "cannot set up TLS";
		return (-1);
	}
	SSL_set_app_data(c->ssl, h);
	if (name) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		X509_VERIFY_PARAM_set1_host(vp, name, 0);
		SSL_set_tlsext_host_name(c->ssl, name);
	}
	tt_deadline(&dl);
	for (;;) {
		int	k, e;

		ERR_clear_error();
		if ((k = SSL_connect(c->ssl)) == 1)
			return (0);
		e = SSL_get_error(c->ssl, k);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			unsigned long le = ERR_peek_error();

			*why = le ? ERR_reason_error_string(le) : "connection closed";
			if (*why == NULL)
				*why = "TLS handshake failed";
			return (-1);
		}
		if (tt_wait(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, &dl) < 0) {
			*why = "timed out (10 s)";
			return (-1);
		}
	}
}

/* ---------------------------------------------------------------- a host */

/* Non-blocking connect to the first address that answers; fd or -1. */
static int
tt_connect(FILE *out, const char *host, unsigned port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char	serv[8], addr[NI_MAXHOST];
	int	e, fd = -1;

	snprintf(serv, sizeof(serv), "%u", port);
	if ((e = getaddrinfo(host, serv, &hints, &res)) != 0) {
		fprintf(out, "  connect: %s: %s\n", host, gai_strerror(e));
		return (-1);
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		struct timespec dl;
		socklen_t sl = sizeof(e);

		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				 ai->ai_protocol)) < 0)
			continue;
		tt_deadline(&dl);
		e = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			e = errno;
			if (e == EINPROGRESS)
				e = tt_wait(fd, POLLOUT, &dl) < 0 ? ETIMEDOUT
					: getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0 ? errno : e;
		}
		fprintf(out, "  connect %s port %u: %s\n", addr, port, e ? strerror(e) : "connected");
		if (e) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return (fd);
}

static void
tt_fail(struct tt_host *h, const char *step, const char *why)
{
	if (h->why[0] == 0)
		snprintf(h->why, sizeof(h->why), "%s: %.256s", step, why);
}

/* The SMTP dialogue with one host, up to QUIT; fills h. */
static void
tt_session(FILE *out, SSL_CTX *ctx, const char *host, unsigned port, const char *name,
	   struct tt_host *h)
{
	struct tt_conn *c = xcalloc(1, sizeof(*c));
	struct smtp_reply r;
	const char *why;
	char	helo[300], me[256];

	if ((c->fd = tt_connect(out, host, port)) < 0) {
		tt_fail(h, "connect", "no address answered");
		free(c);
		return;
	}
	if (gethostname(me, sizeof(me)) != 0 || strchr(me, '.') == NULL)
		snprintf(me, sizeof(me), "localhost");
	if (tt_reply(c, &r, &why) < 0) {
		fprintf(out, "  banner: %s\n", why);
		tt_fail(h, "banner", why);
		goto done;
	}
	fprintf(out, "  banner: %s\n", r.text);
	if (r.code != 220) {
		tt_fail(h, "banner", r.text);
		goto done;
	}
	snprintf(helo, sizeof(helo), "EHLO %s", me);
	if (tt_cmd(c, helo, &r, &why) < 0) {
		fprintf(out, "  EHLO: %s\n", why);
		tt_fail(h, "EHLO", why);
		goto done;
	}
	fprintf(out, "  EHLO: %s (%d lines)\n", r.text, r.lines);
	if (r.code != 250) {
		snprintf(helo, sizeof(helo), "HELO %s", me);
		if (tt_cmd(c, helo, &r, &why) < 0 || (why = r.text, r.code != 250)) {
			fprintf(out, "  HELO: %s\n", why);
			tt_fail(h, "HELO", why);
			goto done;
		}
	}
	h->reached = 1;
	h->offered = r.starttls;
	fprintf(out, "  STARTTLS %s\n", h->offered ? "offered" : "not offered");
	if (!h->offered) {
		tt_fail(h, "TLS", "STARTTLS not offered");
		goto quit;
	}
	if (tt_cmd(c, "STARTTLS", &r, &why) < 0 || (why = r.text, r.code != 220)) {
		fprintf(out, "  STARTTLS: %s\n", why);
		tt_fail(h, "STARTTLS", why);
		goto done;
	}
	if (c->len > 0) {
		/* bytes after the 220 would be read as if they came over TLS */
		fprintf(out, "  STARTTLS: the server sent data before the handshake\n");
		tt_fail(h, "STARTTLS", "the server sent data before the handshake");
		goto done;
	}
	if (tt_handshake(c, ctx, h, name, &why) < 0) {
		fprintf(out, "  handshake: %s\n", why);
		tt_fail(h, "TLS handshake", why);
		goto done;
	}
	h->tls = 1;
	fprintf(out, "  TLS: %s, cipher %s (%d bits)\n", SSL_get_version(c->ssl),
		SSL_get_cipher_name(c->ssl), SSL_get_cipher_bits(c->ssl, NULL));
	tt_print_chain(out, c->ssl);
quit:
	if (tt_cmd(c, "QUIT", &r, &why) == 0)
		fprintf(out, "  QUIT: %s\n", r.text);
	if (c->ssl)
		SSL_shutdown(c->ssl);
done:
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

/* The per-host verdicts; returns 1 when Postfix would deliver there. */
static int
tt_verdicts(FILE *out, const struct tlstest_opts *o, const struct tt_host *h, const char *name)
{
	int	i, chain_err = 0, name_err = 0, tls_ok, ca_ok, name_ok;

	if (h->tls) {
		for (i = 0; i < h->nerr; i++) {
			if (h->err[i] == X509_V_ERR_HOSTNAME_MISMATCH)
				name_err = h->err[i];
			else if (!chain_err)
				chain_err = h->err[i];
			fprintf(out, "  verification error: num=%d:%s (depth %d)\n", h->err[i],
				X509_verify_cert_error_string(h->err[i]), h->depth[i]);
		}
		fprintf(out, "  verification: %s\n", h->nerr == 0 ? "ok"
			: X509_verify_cert_error_string(h->err[0]));
		fprintf(out, "  %s TLS connection established\n",
			chain_err ? "Untrusted" : name && !name_err ? "Verified" : "Trusted");
	}
	tls_ok = h->tls;
	ca_ok = tls_ok && !chain_err;
	name_ok = tls_ok && name && !name_err;
	fprintf(out, "  require_tls:       %s (%s)\n", !o->require_tls ? "off" : tls_ok ? "PASS" : "FAIL",
		tls_ok ? "TLS established" : h->reached && !h->offered
		? "STARTTLS not offered" : h->why[0] ? h->why : "no TLS");
	fprintf(out, "  require_ca_signed: %s (%s)\n",
		!o->require_ca_signed ? "off" : ca_ok ? "PASS" : "FAIL",
		!tls_ok ? "no certificate" : chain_err ? X509_verify_cert_error_string(chain_err)
		: "the chain verifies to a trusted CA");
	fprintf(out, "  validate_hostname: %s (%s%s)\n",
		!o->validate_hostname ? "off" : name_ok ? "PASS" : "FAIL",
		!tls_ok ? "no certificate" : !name ? "no name to check: an IP address"
		: name_err ? X509_verify_cert_error_string(name_err) : "the certificate names ",
		tls_ok && name && !name_err ? name : "");
	if (!o->require_tls)
		return (h->reached);
	if (!o->require_ca_signed)
		return (tls_ok);
	return (ca_ok && name_ok);
}

/* ---------------------------------------------------------------- MX */

struct tt_mx {
	unsigned pref;
	char	name[NS_MAXDNAME];
};

static int
tt_mx_cmp(const void *a, const void *b)
{
	const struct tt_mx *x = a, *y = b;

	return ((x->pref > y->pref) - (x->pref < y->pref));
}

/*
 * The MX hosts of name by preference; none found (no MX record, or DNS
 * unavailable, said on out) means the name itself, as Postfix does for a
 * domain without MX.  Returns the count, 0 for a null MX (RFC 7505).
 */
static int
tt_mx_lookup(FILE *out, const char *name, struct tt_mx *mx, int max)
{
	unsigned char ans[4096];
	ns_msg	msg;
	ns_rr	rr;
	int	len, i, n = 0, nullmx = 0;

	len = res_query(name, ns_c_in, ns_t_mx, ans, sizeof(ans));
	if (len < 0 || ns_initparse(ans, len, &msg) < 0) {
		fprintf(out, "MX lookup of %s: %s; using %s itself\n", name,
			len < 0 && h_errno == NO_DATA ? "no MX record"
			: len < 0 && h_errno == HOST_NOT_FOUND ? "no such domain"
			: "DNS unavailable", name);
		goto self;
	}
	for (i = 0; i < ns_msg_count(msg, ns_s_an) && n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_mx
		    || ns_rr_rdlen(rr) < 3)
			continue;
		mx[n].pref = ns_get16(ns_rr_rdata(rr));
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2,
			      mx[n].name, sizeof(mx[n].name)) < 0)
			continue;
		if (mx[n].name[0] == 0 || strcmp(mx[n].name, ".") == 0) {
			nullmx = 1;
			continue;
		}
		n++;
	}
	if (nullmx && n == 0) {
		fprintf(out, "MX lookup of %s: null MX, the domain accepts no mail\n", name);
		return (0);
	}
	if (n > 0) {
		qsort(mx, (size_t) n, sizeof(*mx), tt_mx_cmp);
		return (n);
	}
	fprintf(out, "MX lookup of %s: no usable MX record; using %s itself\n", name, name);
self:
	mx[0].pref = 0;
	snprintf(mx[0].name, sizeof(mx[0].name), "%s", name);
	return (1);
}

/* ---------------------------------------------------------------- run */

/*
 * tlstest_run - test the route o describes, report on out; 0 when mail
 * would be delivered under its flags, 1 when not, 2 when the CA file
 * cannot be loaded.  The flags must have passed tlstest_check.
 */
int
tlstest_run(const struct tlstest_opts *o, FILE *out)
{
	struct tt_mx *mx = xcalloc(TT_MAX_MX, sizeof(*mx));
	char	policy[300];
	const char *name;
	SSL_CTX *ctx;
	int	i, n, ok = 0;

	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		fprintf(stderr, "relayguardctl: tls-test: cannot create a TLS context\n");
		free(mx);
		return (2);
	}
	if (o->ca_file && *o->ca_file ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1
	    : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		fprintf(stderr, "relayguardctl: tls-test: cannot load CA certificates from %s\n",
			o->ca_file && *o->ca_file ? o->ca_file : "the system's default paths");
		SSL_CTX_free(ctx);
		free(mx);
		return (2);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tt_verify_cb);
	tlstest_policy(o, policy, sizeof(policy));
	fprintf(out, "route: %s port %u; require_tls %s, require_ca_signed %s,"
		" validate_hostname %s, mx_lookup %s%s%s\n", o->host, o->port,
		o->require_tls ? "yes" : "no", o->require_ca_signed ? "yes" : "no",
		o->validate_hostname ? "yes" : "no", o->mx_lookup ? "yes" : "no",
		o->tls_name && *o->tls_name ? ", tls_name " : "",
		o->tls_name && *o->tls_name ? o->tls_name : "");
	fprintf(out, "policy: %s\n", policy);
	if (o->mx_lookup)
		n = tt_mx_lookup(out, o->host, mx, TT_MAX_MX);
	else {
		snprintf(mx[0].name, sizeof(mx[0].name), "%s", o->host);
		n = 1;
	}
	for (i = 0; i < n && !ok; i++) {
		struct tt_host h;

		memset(&h, 0, sizeof(h));
		/* the name Postfix checks: tls_name, else the MX host or the host */
		name = o->tls_name && *o->tls_name ? o->tls_name
			: tt_is_ip(mx[i].name) ? NULL : mx[i].name;
		fprintf(out, "host %s%s%s:\n", mx[i].name, name ? ", checked as " : "",
			name ? name : "");
		fflush(out);
		tt_session(out, ctx, mx[i].name, o->port, name, &h);
		ok = tt_verdicts(out, o, &h, name);
		if (!ok && o->mx_lookup && i + 1 < n)
			fprintf(out, "  (Postfix would try the next MX host)\n");
	}
	fprintf(out, "result: mail %s be delivered under policy \"%s\"\n",
		ok ? "would" : "would NOT", policy);
	SSL_CTX_free(ctx);
	free(mx);
	return (ok ? 0 : 1);
}

/* Parse HOST, HOST:PORT, [V6]:PORT, [V6] or a bare IPv6 address. */
static int
tt_hostport(char *arg, struct tlstest_opts *o)
{
	char   *colon, *end;
	unsigned long p = 25;
	struct in6_addr a6;

	if (*arg == '[') {
		if ((end = strchr(arg, ']')) == NULL || (end[1] && end[1] != ':'))
			return (-1);
		*end = 0;
		o->host = arg + 1;
		colon = end[1] ? end + 1 : NULL;
	} else if ((colon = strchr(arg, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = 0;
		o->host = arg;
	} else {
		colon = NULL;
		o->host = arg;
	}
	if (colon) {
		errno = 0;
		p = strtoul(colon + 1, &end, 10);
		if (colon[1] == 0 || *end || errno || p == 0 || p > 65535)
			return (-1);
	}
	o->port = (unsigned) p;
	/* A host name or an address: anything else is a usage error. */
	return (domain_valid(o->host) || inet_pton(AF_INET6, o->host, &a6) == 1 ? 0 : -1);
}

/*
 * ctl_tls_test - relayguardctl tls-test HOST[:PORT] [--tls-name N]
 * [--ca-file F] [--require-tls] [--require-ca-signed]
 * [--validate-hostname] [--mx]
 */
int
ctl_tls_test(const struct rg_conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tls-name", required_argument, NULL, 'n' },
		{ "ca-file", required_argument, NULL, 'f' },
		{ "require-tls", no_argument, NULL, 't' },
		{ "require-ca-signed", no_argument, NULL, 'c' },
		{ "validate-hostname", no_argument, NULL, 'v' },
		{ "mx", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct tlstest_opts o;
	const struct rg_route *r;
	const char *why;
	int	ch;

	memset(&o, 0, sizeof(o));
	optind = 0;	/* 0: GNU getopt starts afresh and permutes HOST after the options */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o.tls_name = optarg;
			break;
		case 'f':
			o.ca_file = optarg;
			break;
		case 't':
			o.require_tls = 1;
			break;
		case 'c':
			o.require_ca_signed = 1;
			break;
		case 'v':
			o.validate_hostname = 1;
			break;
		case 'm':
			o.mx_lookup = 1;
			break;
		default:
			return (2);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "relayguardctl: tls-test: one ROUTE or HOST[:PORT] expected\n");
		return (2);
	}
	/* A configured route: its host and flags (a validated route, so no check). */
	if ((r = conf_route(c, argv[optind])) != NULL) {
		o.host = r->host;
		o.port = (unsigned) r->port;
		o.tls_name = *r->tls_name ? r->tls_name : NULL;
		o.require_tls = r->require_tls;
		o.require_ca_signed = r->require_ca_signed;
		o.validate_hostname = r->validate_hostname;
		o.mx_lookup = r->mx_lookup;
		printf("route %s: next hop %s, TLS policy %s\n", r->name, r->nexthop, r->tls_policy);
		return (tlstest_run(&o, stdout));
	}
	if (tt_hostport(argv[optind], &o) < 0) {
		fprintf(stderr, "relayguardctl: tls-test: \"%s\" is neither a route nor"
			" HOST[:PORT]\n", argv[optind]);
		return (2);
	}
	if ((why = tlstest_check(&o)) != NULL) {
		fprintf(stderr, "relayguardctl: tls-test: %s\n", why);
		return (2);
	}
	return (tlstest_run(&o, stdout));
}
