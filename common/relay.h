/*
 * relay - the relay decision: one function for every front end
 *
 * SYNOPSIS
 *	struct rg_txn t = { ... facts of one RCPT ... };
 *	struct rg_verdict v;
 *	relay_decide(conf, &t, &v);
 *	if (v.code == 0) -- relay permitted; v.rewrite may hold postmaster@D
 *	else             -- v.reply is "550 5.7.0 Mail relay denied [...]..."
 *	relay_log(&t, &v);	-- the one log line of DESIGN 3.5
 *
 * DESCRIPTION
 *	The facts are protocol-neutral: the policy daemon, the milter and
 *	relayguardctl explain fill one struct rg_txn, so the same facts give
 *	the same verdict everywhere.  relay_decide() is pure: it reads the
 *	configuration and writes the verdict, no I/O, no allocation.  Quota
 *	accounting comes after an accepting verdict (quota.h).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_RELAY_H
#define RG_RELAY_H

#include "addr.h"
#include "conf.h"

/*
 * Front ends hand the engine every fact uncut; the engine refuses one
 * longer than these (RG_BAD_INPUT), the same way whoever asked.
 */
#define RG_HELO_MAX	255		/* a domain name, or an address literal */
#define RG_SASL_MAX	RG_ADDR_MAX	/* registered users are addresses */

struct rg_txn {
	const char *queue_id;		/* "" before the queue file exists */
	const char *instance;		/* one transaction */
	const char *client_addr;
	const char *helo;
	const char *sasl_username;	/* "" when not authenticated */
	int	tls;			/* TLS active on this session */
	const char *sender;		/* "" or "<>" = null sender */
	const char *recipient;
	unsigned nrcpt;			/* recipients already accepted in this transaction */
	unsigned rcpt_count;		/* END-OF-MESSAGE: recipients the MTA accepted */
};

enum rg_class {
	RG_ACCEPT,
	RG_RELAY_DENIED,		/* 550 5.7.0 Mail relay denied */
	RG_AUTH_REQUIRED,		/* 530 5.5.1 */
	RG_INVALID_CREDENTIALS,		/* 550 5.7.1 */
	RG_STARTTLS_REQUIRED,		/* 530 5.7.0 */
	RG_SENDING_DENIED,		/* 550 5.7.0 Mail sending denied */
	RG_TOO_MANY_RECIPIENTS,		/* 452 4.5.3 */
	RG_BAD_INPUT,			/* 501/553: an unparsable address */
	RG_QUOTA_USER,			/* 550 5.4.5 */
	RG_QUOTA_CUSTOMER_DAY,		/* 550 5.7.1 */
	RG_QUOTA_CUSTOMER_PEAK,		/* 450 4.2.1 */
	RG_BACKEND_ERROR,		/* 451 4.3.0 */
};

#define RG_REPLY_MAX	600

struct rg_verdict {
	enum rg_class cls;
	int	code;			/* 0 = relay permitted, else SMTP code */
	char	reply[RG_REPLY_MAX];	/* "550 5.7.0 text" */
	char	reason[300];		/* for the log line */
	const struct rg_customer *customer;
	const struct rg_setting *setting;
	const struct rg_user *user;	/* sender is this registered user */
	char	rewrite[RG_ADDR_MAX + 16];	/* new envelope sender, or "" */
	char	client[RG_IP_STRLEN];	/* client address, canonical ("::1", not "IPv6:0:...:1") */
	struct rg_addr from;		/* the parsed sender */
	struct rg_addr to;		/* the parsed recipient */
};

void	relay_verdict_init(struct rg_verdict *);
void	relay_decide(const struct rg_conf *, const struct rg_txn *, struct rg_verdict *);
void	relay_refuse(struct rg_verdict *, enum rg_class, const char *ip, const char *reason);
void	relay_log(const struct rg_txn *, const struct rg_verdict *);
void	relay_format_log(const struct rg_txn *, const struct rg_verdict *, char *buf, size_t len);
const char *relay_class_name(enum rg_class);

#endif
