/*
 * relay - the relay decision of DESIGN section 3.1-3.3
 *
 * SYNOPSIS
 *	See relay.h: relay_decide(), relay_refuse(), relay_format_log().
 *
 * DESCRIPTION
 *	Order: which customer (SASL user, else client range), which relay
 *	setting (first in file order whose every method holds), TLS, then the
 *	sender rules of the setting's allowed_senders, with the null sender
 *	handled in every mode instead of the mode's own check.  An active
 *	user gateway address (DESIGN 5.2) is its registered user.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "relay.h"
#include "route.h"

static const struct {
	int	code;
	const char *text;		/* printf format; %s = client address */
	const char *name;
} relay_replies[] = {
	[RG_ACCEPT] = { 0, "", "accept" },
	[RG_RELAY_DENIED] = { 550, "5.7.0 Mail relay denied [%s].", "relay_denied" },
	[RG_AUTH_REQUIRED] = { 530, "5.5.1 Authentication Required.", "auth_required" },
	[RG_INVALID_CREDENTIALS] = { 550, "5.7.1 Invalid credentials for relay [%s].",
	"invalid_credentials" },
	[RG_STARTTLS_REQUIRED] = { 530, "5.7.0 Must issue a STARTTLS command first.",
	"starttls_required" },
	[RG_SENDING_DENIED] = { 550, "5.7.0 Mail sending denied.", "sending_denied" },
	[RG_TOO_MANY_RECIPIENTS] = { 452, "4.5.3 Your message has too many recipients.",
	"too_many_recipients" },
	[RG_BAD_INPUT] = { 501, "5.1.3 Bad address syntax.", "bad_address" },
	[RG_QUOTA_USER] = { 550, "5.4.5 Daily SMTP relay limit exceeded for user.",
	"quota_user" },
	[RG_QUOTA_CUSTOMER_DAY] = { 550, "5.7.1 Daily SMTP relay limit exceeded for customer.",
	"quota_customer_day" },
	[RG_QUOTA_CUSTOMER_PEAK] = { 450, "4.2.1 Peak SMTP relay limit exceeded for customer.",
	"quota_customer_peak" },
	[RG_BACKEND_ERROR] = { 451, "4.3.0 Relay policy temporarily unavailable.",
	"backend_error" },
};

/* relay_class_name - a short stable name of a verdict class (tests, stats) */
const char *
relay_class_name(enum rg_class c)
{
	if ((unsigned) c >= sizeof(relay_replies) / sizeof(relay_replies[0]))
		return ("unknown");
	return (relay_replies[c].name);
}

/* Copy text for a reply or a log line: printable ASCII only, bounded. */
static void
relay_clean(char *out, size_t outlen, const char *in)
{
	size_t	i;

	for (i = 0; in && in[i] && i + 1 < outlen; i++)
		out[i] = (in[i] > ' ' && in[i] < 0x7f && in[i] != '"') ? in[i] : '?';
	out[outlen ? (i < outlen ? i : outlen - 1) : 0] = 0;
}

/*
 * relay_refuse - fill in a refusal of class cls.  ip goes into the texts
 * that name it; reason is logged and, where DESIGN says "+ reason", also
 * appended to the reply.
 */
void
relay_refuse(struct rg_verdict *v, enum rg_class cls, const char *ip, const char *reason)
{
	char	cip[RG_IP_STRLEN], text[RG_REPLY_MAX];
	size_t	len;

	relay_clean(cip, sizeof(cip), ip);
	v->cls = cls;
	v->code = relay_replies[cls].code;
	v->rewrite[0] = 0;
	snprintf(text, sizeof(text), relay_replies[cls].text, cip);
	len = (size_t) snprintf(v->reply, sizeof(v->reply), "%d %s", v->code, text);
	if (reason) {
		snprintf(v->reason, sizeof(v->reason), "%s", reason);
		if ((cls == RG_SENDING_DENIED || (cls == RG_INVALID_CREDENTIALS
			&& v->setting != NULL)) && len < sizeof(v->reply))
			snprintf(v->reply + len, sizeof(v->reply) - len, " %s", reason);
	}
}

static void
relay_denied(struct rg_verdict *v, const struct rg_txn *t, const char *helo,
	     const char *reason)
{
	char	domains[600];
	const char *sd = v->from.domain;
	size_t	len;

	relay_refuse(v, RG_RELAY_DENIED, v->client, reason);
	domains[0] = 0;
	if (*helo)
		relay_clean(domains, 256, helo);
	if (*sd && strcmp(sd, helo) != 0) {
		len = strlen(domains);
		snprintf(domains + len, sizeof(domains) - len, "%s", len ? ", " : "");
		len = strlen(domains);
		relay_clean(domains + len, sizeof(domains) - len, sd);
	}
	len = strlen(v->reply);
	snprintf(v->reply + len, sizeof(v->reply) - len,
		 " Invalid credentials for relay for one of the domains in: %s"
		 " (as obtained from HELO and MAIL FROM).", *domains ? domains : "(none)");
}

/*
 * relay_domain - D of DESIGN 3.3: the SASL username's domain when it is a
 * domain of this customer, else the customer domain the HELO name equals
 * or lies under.  Only this customer's domains qualify, so a client can
 * never borrow another organisation's postmaster.
 */
static const char *
relay_domain(const struct rg_conf *c, const struct rg_customer *cu,
	     const struct rg_addr *sasl, const char *helo, const char **via)
{
	const char *matched = NULL;

	if (sasl && *sasl->domain && conf_customer_by_domain(c, sasl->domain, NULL) == cu) {
		*via = "SASL";
		return (sasl->domain);
	}
	if (*helo && conf_customer_by_domain(c, helo, &matched) == cu && matched) {
		*via = "HELO";
		return (matched);
	}
	return (NULL);
}

/*
 * relay_verdict_init - an empty verdict: accept, nothing matched, empty
 * texts.  Only the first byte of each text is set: a verdict is 2.7 kB
 * and is made once per RCPT and per end of message.
 */
void
relay_verdict_init(struct rg_verdict *v)
{
	v->cls = RG_ACCEPT;
	v->code = 0;
	v->reply[0] = v->reason[0] = v->rewrite[0] = v->client[0] = 0;
	v->customer = NULL;
	v->setting = NULL;
	v->user = NULL;
	v->from.text[0] = v->from.key[0] = v->to.text[0] = v->to.key[0] = 0;
	v->from.domain = v->to.domain = "";
	v->from.null = v->to.null = 1;
}

/* relay_decide - the verdict for one RCPT; see relay.h */
void
relay_decide(const struct rg_conf *c, const struct rg_txn *t, struct rg_verdict *v)
{
	const struct rg_customer *cu = NULL;
	const struct rg_setting *s = NULL;
	const struct rg_user *sasl_user = NULL, *su;
	const struct rg_gateway *gw;
	struct rg_addr sasl;
	char	helo[260], why[300];
	const char *err, *d, *via = "";
	int	have_ip, have_sasl = 0, would_auth = 0;
	rg_ip	ip = 0;
	size_t	i;

	/* Both addresses are logged even when a refusal comes before parsing. */
	relay_verdict_init(v);
	/* One text for the client however the MTA wrote it (Sendmail: "IPv6:0:0:...:1"). */
	have_ip = ip_parse(t->client_addr ? t->client_addr : "", &ip) == 0;
	if (have_ip)
		ip_format(ip, v->client, sizeof(v->client));
	else
		relay_clean(v->client, sizeof(v->client), t->client_addr ? t->client_addr : "");
	if (domain_canon(t->helo ? t->helo : "", helo, sizeof(helo)) == 0)
		helo[0] = 0;
	if (addr_parse(t->sender ? t->sender : "", &v->from, &err) < 0) {
		addr_parse("", &v->from, &err);
		snprintf(why, sizeof(why), "unparsable sender: %s", err);
		relay_refuse(v, RG_BAD_INPUT, v->client, why);
		v->code = 553;
		snprintf(v->reply, sizeof(v->reply), "553 5.1.7 Bad sender address syntax.");
		return;
	}
	if (addr_parse(t->recipient ? t->recipient : "", &v->to, &err) < 0) {
		addr_parse("", &v->to, &err);
		snprintf(why, sizeof(why), "unparsable recipient: %s", err);
		relay_refuse(v, RG_BAD_INPUT, v->client, why);
		return;
	}

	/*
	 * Facts too long to be real: refused here, never cut into other ones
	 * (after the addresses, so that the log line names them).
	 */
	if (t->helo && strlen(t->helo) > RG_HELO_MAX) {
		relay_refuse(v, RG_BAD_INPUT, v->client, "HELO name longer than 255 bytes");
		snprintf(v->reply, sizeof(v->reply), "501 5.5.4 HELO name too long.");
		return;
	}
	if (t->sasl_username && strlen(t->sasl_username) > RG_SASL_MAX) {
		relay_refuse(v, RG_BAD_INPUT, v->client, "SASL username longer than 320 bytes");
		snprintf(v->reply, sizeof(v->reply), "501 5.5.4 SASL username too long.");
		return;
	}

	/* 3.1 Which customer: a registered SASL user, else the client range. */
	if (t->sasl_username && *t->sasl_username
	    && addr_parse(t->sasl_username, &sasl, &err) == 0 && !sasl.null) {
		have_sasl = 1;
		sasl_user = conf_user(c, sasl.key);
	}
	if (sasl_user)
		cu = sasl_user->customer;
	else if (have_ip)
		cu = conf_customer_by_ip(c, ip);
	if (cu == NULL) {
		relay_denied(v, t, helo, have_sasl
			     ? "SASL user is not registered and client is in no customer's range"
			     : "client is in no customer's range and did not authenticate");
		return;
	}
	v->customer = cu;

	/* 3.1 Which setting: the first whose every selected method holds. */
	for (i = 0; i < cu->nsettings; i++) {
		const struct rg_setting *x = &cu->settings[i];
		int	ip_ok = x->nranges == 0 || (have_ip && setting_has_ip(x, ip));
		int	auth_ok = !x->require_auth
		|| (sasl_user != NULL && sasl_user->customer == cu);

		if (ip_ok && auth_ok) {
			s = x;
			break;
		}
		if (ip_ok && !have_sasl)
			would_auth = 1;
	}
	if (s == NULL) {
		if (would_auth) {
			relay_refuse(v, RG_AUTH_REQUIRED, v->client,
				     "a relay setting requires SMTP AUTH");
		} else {
			snprintf(why, sizeof(why), "no relay setting of customer %s holds"
				 " for this client%s", cu->name,
				 have_sasl && !sasl_user ? " (SASL user not registered)" : "");
			relay_refuse(v, RG_INVALID_CREDENTIALS, v->client, why);
		}
		return;
	}
	v->setting = s;

	/* 3.2 TLS: required by the setting, or implied by SMTP AUTH. */
	if ((s->require_tls || s->require_auth) && !t->tls) {
		relay_refuse(v, RG_STARTTLS_REQUIRED, v->client,
			     s->require_tls ? "setting requires TLS" : "SMTP AUTH setting requires TLS");
		return;
	}

	/* 3.3 The null sender, in every mode instead of the mode's check. */
	if (v->from.null) {
		if ((d = relay_domain(c, cu, have_sasl ? &sasl : NULL, helo, &via)) == NULL) {
			relay_denied(v, t, helo, "null sender and no customer domain from SASL or HELO");
			return;
		}
		if (t->nrcpt >= 1) {
			relay_refuse(v, RG_TOO_MANY_RECIPIENTS, v->client,
				     "null sender may have one recipient per transaction");
			return;
		}
		snprintf(v->reason, sizeof(v->reason), "null sender, domain %s from %s", d, via);
		return;
	}

	/*
	 * 3.3 Senders.  5.2: an active user gateway of this customer is its
	 * user, in every mode, and never rewritten.
	 */
	su = conf_user(c, v->from.key);
	if (su == NULL && (gw = conf_gateway(c, v->from.key)) != NULL
	    && gw->active && gw->customer == cu)
		su = gw->user;
	else
		gw = NULL;
	if (su && su->customer != cu)
		su = NULL;
	if (su && su->nomail) {
		relay_refuse(v, RG_SENDING_DENIED, v->client,
			     "The sender has no mail licence.");
		return;
	}
	v->user = su;
	if (gw != NULL) {
		snprintf(v->reason, sizeof(v->reason), "user gateway of %.250s", su->address);
		return;
	}
	switch (s->senders) {
	case SENDERS_REGISTERED:
		if (su == NULL) {
			relay_refuse(v, RG_SENDING_DENIED, v->client,
				     "The sender is not a registered user.");
			return;
		}
		snprintf(v->reason, sizeof(v->reason), "registered user");
		break;
	case SENDERS_DOMAIN:
		if (conf_customer_by_domain(c, v->from.domain, NULL) != cu) {
			relay_refuse(v, RG_INVALID_CREDENTIALS, v->client,
				     "The sender's domain is not a domain of this organisation.");
			return;
		}
		snprintf(v->reason, sizeof(v->reason), "sender in customer domain");
		break;
	case SENDERS_ANY:
		if (conf_customer_by_domain(c, v->from.domain, NULL) == cu) {
			snprintf(v->reason, sizeof(v->reason), "sender in customer domain");
			break;
		}
		d = relay_domain(c, cu, have_sasl ? &sasl : NULL, helo, &via);
		if (d == NULL) {
			relay_denied(v, t, helo, "foreign sender and no customer domain from SASL or HELO");
			return;
		}
		snprintf(v->rewrite, sizeof(v->rewrite), "postmaster@%s", d);
		snprintf(v->reason, sizeof(v->reason), "foreign sender, rewrite to %.200s (domain from %s)",
			 v->rewrite, via);
		break;
	default:
		/* Not a value the config can hold: a bug, so fail closed. */
		relay_refuse(v, RG_BACKEND_ERROR, v->client, "bug: unknown allowed_senders value");
		msg_warn("bug: setting %s of customer %s has allowed_senders %d",
			 s->name, cu->name, (int) s->senders);
		return;
	}
}

/* relay_format_log - the decision line of DESIGN 3.5 */
void
relay_format_log(const struct rg_txn *t, const struct rg_verdict *v, char *buf, size_t len)
{
	char	helo[260], sasl[RG_ADDR_MAX + 8], client[RG_IP_STRLEN], action[64];
	char	rewrite[RG_ADDR_MAX + 32];
	const char *qid = t->queue_id && *t->queue_id ? t->queue_id : "NOQUEUE";

	relay_clean(helo, sizeof(helo), t->helo && *t->helo ? t->helo : "-");
	relay_clean(sasl, sizeof(sasl), t->sasl_username && *t->sasl_username
		    ? t->sasl_username : "-");
	relay_clean(client, sizeof(client), v->client[0] ? v->client : t->client_addr);
	if (v->code == 0)
		snprintf(action, sizeof(action), "OK");
	else
		snprintf(action, sizeof(action), "%s code=%.9s",
			 v->code >= 500 ? "REJECT" : "DEFER", v->reply);
	rewrite[0] = 0;
	if (v->rewrite[0])
		snprintf(rewrite, sizeof(rewrite), " rewrite=<%s>", v->rewrite);
	snprintf(buf, len, "%.32s: action=%s customer=%s setting=%s client=[%s] helo=%s"
		 " sasl=%s from=<%s> to=<%s>%s reason=\"%s\"",
		 qid, action, v->customer ? v->customer->name : "-",
		 v->setting ? v->setting->name : "-", client, helo, sasl,
		 v->from.text, v->to.text, rewrite, v->reason);
}

/* relay_log - log the decision line */
void
relay_log(const struct rg_txn *t, const struct rg_verdict *v)
{
	char	buf[2048];

	relay_format_log(t, v, buf, sizeof(buf));
	msg_info("%s", buf);
}
