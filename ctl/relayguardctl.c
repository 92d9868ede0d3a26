/*
 * relayguardctl - the operators' tool
 *
 * SYNOPSIS
 *	relayguardctl [-c FILE] check [-q]
 *	relayguardctl [-c FILE] explain --client IP [--helo H] [--sasl U] [--tls]
 *			--from ADDR --rcpt ADDR [--nrcpt N]
 *	relayguardctl [-c FILE] quota show|reset CUSTOMER|USER
 *	relayguardctl [-c FILE] milter-map [--milters LIST] [--others LIST]
 *	relayguardctl [-c FILE] postfix-config
 *	relayguardctl [-c FILE] tls-test HOST[:PORT] [--tls-name N] [--ca-file F]
 *			[--require-tls] [--require-ca-signed] [--validate-hostname] [--mx]
 *
 * DESCRIPTION
 *	check validates the configuration exactly as the daemons' -t does and
 *	prints what it holds: customers, relay settings, ranges and the limits
 *	in force.  explain runs the relay decision for the facts given, the
 *	same function the daemons call, and prints the verdict, the customer,
 *	the setting and why; it consumes no quota.  quota show prints the
 *	usage of a customer or user against each limit and when it frees up;
 *	quota reset clears it.  milter-map prints a Postfix cidr table for
 *	smtpd_milter_maps that sends only the clients of "any" relay settings
 *	(the only ones whose sender may be rewritten) through the milter in
 *	rewrite mode.  tls-test connects to a next hop as Postfix would,
 *	up to the TLS handshake, and says whether mail would be delivered
 *	under the route flags given (tlstest.c).  See relayguardctl(8).
 *
 * EXIT STATUS
 *	check: 0 valid, 1 invalid.  explain: 0 relay permitted, 1 refused,
 *	2 usage or configuration error.  quota: 0 done, 1 failed (Redis
 *	unreachable, unknown customer or user), 2 usage or configuration.
 *	milter-map: 0 printed, 1 the milter is in enforce mode (it must see
 *	every client), 2 usage or configuration.  postfix-config: 0
 *	printed, 2 usage or no socketmap listener configured.
 *	tls-test: 0 mail would be delivered, 1 not, 2 usage or configuration.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "quota.h"
#include "relay.h"
#include "rlink.h"

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
		"usage: relayguardctl [-c FILE] check [-q]\n"
		"       relayguardctl [-c FILE] explain --client IP [--helo NAME] [--sasl USER] [--tls]\n"
		"                     --from ADDR --rcpt ADDR [--nrcpt N]\n"
		"       relayguardctl [-c FILE] quota show|reset CUSTOMER|USER\n"
		"       relayguardctl [-c FILE] milter-map [--milters LIST] [--others LIST]\n"
		"       relayguardctl [-c FILE] postfix-config\n"
		"       relayguardctl [-c FILE] tls-test HOST[:PORT] [--tls-name N] [--ca-file F]\n"
		"                     [--require-tls] [--require-ca-signed] [--validate-hostname] [--mx]\n");
	exit(2);
}

static void
ctl_print_customer(const struct rg_customer *cu)
{
	size_t	i, j;

	printf("customer %s: licenses %ld (%s), %zu users, domains", cu->name,
	       cu->licenses, billing_name(cu->billing), cu->nusers);
	for (i = 0; i < cu->ndomains; i++)
		printf("%s %s", i ? "," : "", cu->domains[i]);
	printf("\n  limits: user_messages_per_day %" PRId64 ", user_recipients_per_day %" PRId64 ","
	       " customer_recipients_per_day %" PRId64 ", customer_recipients_per_10min %" PRId64 "\n",
	       cu->limits.user_messages_per_day, cu->limits.user_recipients_per_day,
	       cu->limits.customer_recipients_per_day, cu->limits.customer_recipients_per_10min);
	for (i = 0; i < cu->nsettings; i++) {
		const struct rg_setting *s = &cu->settings[i];

		printf("  relay %s: allowed_senders %s, require_smtp_auth %s, require_tls %s%s\n",
		       s->name, senders_name(s->senders), s->require_auth ? "yes" : "no",
		       s->require_tls ? "yes" : "no",
		       s->require_auth && !s->require_tls ? " (AUTH implies TLS)" : "");
		for (j = 0; j < s->nranges; j++)
			printf("    ip %s: %s%s\n", s->ranges[j].name, s->ranges[j].text,
			       s->ranges[j].enabled ? "" : " (disabled)");
	}
}

static int
ctl_check(const struct rg_conf *c, int argc, char **argv)
{
	size_t	i, nsettings = 0;
	int	quiet = argc > 1 && strcmp(argv[1], "-q") == 0;

	if (argc > 1 + quiet)
		usage();
	for (i = 0; i < c->ncustomers; i++)
		nsettings += c->customers[i].nsettings;
	printf("%s: valid\n", c->path);
	printf("customers %zu, relay settings %zu, IP ranges %zu, users %zu\n",
	       c->ncustomers, nsettings, c->nranges, c->nusers);
	printf("redis %s (database %ld, prefix %s, timeout %ld ms), quotas %s,"
	       " on_backend_error %s, reservation_ttl %ld s\n",
	       c->redis.server, c->redis.database, c->redis.prefix, c->redis.timeout_ms,
	       c->quotas ? "on" : "off", backend_error_name(c->on_backend_error),
	       c->reservation_ttl);
	if (!quiet) {
		for (i = 0; i < c->ncustomers; i++)
			ctl_print_customer(&c->customers[i]);
		ctl_print_routes(c, stdout);
	}
	return (0);
}

static int
ctl_explain(const struct rg_conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "client", required_argument, NULL, 'a' },
		{ "helo", required_argument, NULL, 'h' },
		{ "sasl", required_argument, NULL, 's' },
		{ "tls", no_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "nrcpt", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct rg_txn t;
	struct rg_verdict v;
	int	ch, have_from = 0;

	memset(&t, 0, sizeof(t));
	t.queue_id = t.instance = t.helo = t.sasl_username = t.sender = t.recipient = "";
	t.client_addr = NULL;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			t.client_addr = optarg;
			break;
		case 'h':
			t.helo = optarg;
			break;
		case 's':
			t.sasl_username = optarg;
			break;
		case 't':
			t.tls = 1;
			break;
		case 'f':
			t.sender = optarg;
			have_from = 1;
			break;
		case 'r':
			t.recipient = optarg;
			break;
		case 'n':
			t.nrcpt = (unsigned) strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || t.client_addr == NULL || !have_from || *t.recipient == 0) {
		fprintf(stderr, "explain: --client, --from (\"\" for the null sender) and --rcpt are required\n");
		usage();
	}
	relay_decide(c, &t, &v);
	printf("verdict:  %s\n", v.code == 0 ? "OK (relay permitted)" : v.reply);
	printf("customer: %s\n", v.customer ? v.customer->name : "(none)");
	printf("setting:  %s\n", v.setting ? v.setting->name : "(none)");
	printf("reason:   %s\n", v.reason);
	if (v.rewrite[0])
		printf("rewrite:  envelope sender <%s> becomes <%s> (relayguard-milter)\n",
		       v.from.text, v.rewrite);
	if (v.code == 0 && v.customer) {
		if (v.user)
			printf("quotas:   user %s (user_messages_per_day %" PRId64 ", user_recipients_per_day %" PRId64 "),"
			       " customer %s\n", v.user->address,
			       v.customer->limits.user_messages_per_day,
			       v.customer->limits.user_recipients_per_day, v.customer->name);
		else
			printf("quotas:   customer %s only (the sender is not a registered user)\n",
			       v.customer->name);
	}
	return (v.code == 0 ? 0 : 1);
}

static int
ctl_quota(const struct rg_conf *c, int argc, char **argv)
{
	struct rlink_sync l;
	int	rc;

	if (argc != 3 || (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "reset") != 0))
		usage();
	signal(SIGPIPE, SIG_IGN);
	memset(&l, 0, sizeof(l));
	if (strcmp(argv[1], "show") == 0)
		rc = ctl_quota_show(&l, c, argv[2], stdout);
	else if ((rc = ctl_quota_reset(&l, c, argv[2])) == 0)
		printf("quota of %s reset\n", argv[2]);
	rlink_sync_close(&l);
	return (rc == 0 ? 0 : 1);
}

/*
 * The milter's socket as Postfix writes it: inet:PORT@HOST -> inet:HOST:PORT,
 * an IPv6 host in brackets.
 */
static void
ctl_postfix_milter(const char *sock, char *out, size_t len)
{
	const char *at;

	if ((strncmp(sock, "inet:", 5) == 0 || strncmp(sock, "inet6:", 6) == 0)
	    && (at = strchr(sock, '@')) != NULL) {
		const char *port = strchr(sock, ':') + 1, *host = at + 1;
		int	bracket = strchr(host, ':') != NULL && *host != '[';

		snprintf(out, len, "inet:%s%s%s:%.*s", bracket ? "[" : "", host,
			 bracket ? "]" : "", (int) (at - port), port);
	} else if (strncmp(sock, "local:", 6) == 0) {
		snprintf(out, len, "unix:%s", sock + 6);
	} else {
		snprintf(out, len, "%s", sock);
	}
}

/* One enabled range as a cidr_table(5) pattern: network/prefix. */
static void
ctl_cidr(const struct rg_iprange *r, char *out, size_t len)
{
	char	net[RG_IP_STRLEN];
	rg_ip	n = r->r.hi - r->r.lo;
	int	bits = 0, v4 = (r->r.lo >> 32) == 0xffff;

	while (n) {
		bits++;
		n >>= 1;
	}
	ip_format(r->r.lo, net, sizeof(net));
	snprintf(out, len, "%s/%d", net, (v4 ? 32 : 128) - bits);
}

/*
 * ctl_milter_map - smtpd_milter_maps for rewrite mode: the enabled ranges
 * of every "any" setting get the milters (--milters: the whole list for
 * them, default the relayguard milter alone), everybody else --others
 * (default DISABLE; a map result replaces smtpd_milters, so a site with
 * other milters names them there).  An "any" setting chosen by SMTP AUTH
 * alone may match any address: then every client gets the milters.
 */
static int
ctl_milter_map(const struct rg_conf *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "milters", required_argument, NULL, 'm' },
		{ "others", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char	milter[512], cidr[RG_IP_STRLEN + 16];
	size_t	i, j, k, nany = 0, nranges = 0;
	const char *everyone = NULL, *milters = NULL, *others = "DISABLE";
	int	ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'm')
			milters = optarg;
		else if (ch == 'o')
			others = optarg;
		else
			usage();
	}
	if (optind != argc || (milters && !*milters) || !*others)
		usage();
	if (c->milter_mode != MILTER_REWRITE) {
		fprintf(stderr, "relayguardctl: %s: milter mode is enforce: the milter decides"
			" for every client, so it must see every client; no map\n", c->path);
		return (1);
	}
	if (milters)
		snprintf(milter, sizeof(milter), "%s", milters);
	else
		ctl_postfix_milter(c->milter_socket, milter, sizeof(milter));
	printf("# smtpd_milter_maps = cidr:/etc/postfix/relayguard_milter_map\n"
	       "# written by relayguardctl milter-map from %s; write it again and\n"
	       "# run \"postfix reload\" whenever an \"any\" setting or its ranges change.\n"
	       "# Clients of \"any\" settings (foreign senders are rewritten) get the milter,\n"
	       "# every other client skips it: relayguard-policyd decides for them alone.\n",
	       c->path);
	for (i = 0; i < c->ncustomers; i++) {
		const struct rg_customer *cu = &c->customers[i];

		for (j = 0; j < cu->nsettings; j++) {
			const struct rg_setting *s = &cu->settings[j];

			if (s->senders != SENDERS_ANY)
				continue;
			nany++;
			if (s->nranges == 0) {
				if (everyone == NULL)
					everyone = s->name;
				printf("# %s/%s: any sender, SMTP AUTH from any address\n",
				       cu->name, s->name);
				continue;
			}
			printf("# %s/%s: any sender\n", cu->name, s->name);
			for (k = 0; k < s->nranges; k++) {
				if (!s->ranges[k].enabled)
					continue;
				ctl_cidr(&s->ranges[k], cidr, sizeof(cidr));
				printf("%s\t%s\n", cidr, milter);
				nranges++;
			}
		}
	}
	if (everyone != NULL) {
		printf("# An \"any\" setting chosen by SMTP AUTH alone (%s) may match any\n"
		       "# client address: the milter stays on for every client.\n", everyone);
		printf("0.0.0.0/0\t%s\n::/0\t%s\n", milter, milter);
	} else {
		printf("# %zu \"any\" setting(s), %zu range(s); everybody else:\n", nany, nranges);
		printf("0.0.0.0/0\t%s\n::/0\t%s\n", others, others);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	const char *path = RG_DEFAULT_CONF;
	struct rg_conf *c;
	char	err[512];
	int	ch, rc;

	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		if (ch == 'c')
			path = optarg;
		else
			usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	log_open("relayguardctl", 1, NULL);
	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return (strcmp(argv[0], "check") == 0 ? 1 : 2);
	}
	if (strcmp(argv[0], "check") == 0)
		rc = ctl_check(c, argc, argv);
	else if (strcmp(argv[0], "explain") == 0)
		rc = ctl_explain(c, argc, argv);
	else if (strcmp(argv[0], "quota") == 0)
		rc = ctl_quota(c, argc, argv);
	else if (strcmp(argv[0], "milter-map") == 0)
		rc = ctl_milter_map(c, argc, argv);
	else if (strcmp(argv[0], "postfix-config") == 0 && argc == 1)
		rc = ctl_postfix_config(c, stdout);
	else if (strcmp(argv[0], "tls-test") == 0)
		rc = ctl_tls_test(c, argc, argv);
	else
		usage();
	conf_unref(c);
	return (rc);
}
