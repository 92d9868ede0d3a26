/*
 * callbacks - the libmilter callbacks of relayguard-milter
 *
 * SYNOPSIS
 *	mlt_callbacks_init();
 *	smfi_register(mlt_desc);
 *
 * DESCRIPTION
 *	A connection context (client address, HELO name, TLS) holds one
 *	message context (configuration reference, sender, SASL name, queue
 *	id, recipients accepted, pending rewrite, quota reservations).  The
 *	message context is reset at MAIL, at abort and at close; a message
 *	that did not reach end of message gives its quota reservations back
 *	there at once.  All of it lives behind smfi_setpriv(): callbacks of
 *	one connection never overlap but may run on different threads.
 *
 *	Each RCPT becomes one struct rg_txn for relay_decide(); the milter
 *	adds no rule of its own.  What it does with the verdict depends on
 *	the mode of the configuration the message started with:
 *
 *	enforce	every refusal is the RCPT's reply; an accepted RCPT reserves
 *		quota (when quotas are on), committed at end of message.
 *	rewrite	the policy service is the relay authority and has already
 *		answered every RCPT Postfix passes on.  Only the null-sender
 *		recipient limit (452 4.5.3) and the TLS rule (530 5.7.0) are
 *		enforced; any other refusal means the policy service saw the
 *		RCPT differently or is not wired in: it is logged as "not
 *		enforced" and the RCPT passes.  No quota work.
 *
 *	In both modes an accepted foreign sender of an "any" setting is
 *	replaced with postmaster@D at end of message (smfi_chgfrom); the
 *	null sender never is.
 *
 *	Only Postfix runs the policy service that rewrite mode relies on, so
 *	rewrite mode serves only an MTA whose connect macro v starts with
 *	"Postfix"; a session of any other MTA, or one without v, gets a
 *	temporary failure at every RCPT, the first stage the milter answers.
 *	Any mode value other than rewrite is handled as enforce.
 *
 *	The facts (HELO name, sender, SASL name) are kept as the MTA gave
 *	them, however long, in heap copies: the engine judges an overlong
 *	one, never a cut one that might name someone else.
 *
 * DIAGNOSTICS
 *	Each decision is logged as relay_log() writes it, a refusal with
 *	reply="..." (the text the MTA is given) appended; rewrite mode logs
 *	only what it acts on or lets pass against the verdict.  A rewrite is
 *	logged again at end of message with the queue id, which Postfix
 *	sends late ({i} is asked for again there).  A session refused
 *	because rewrite mode met an MTA other than Postfix is logged once,
 *	as a warning naming the MTA's v.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "milter.h"
#include "xmem.h"

#define MLT_QID_MAX	64
#define MLT_MTA_LOG_MAX	100		/* of v, in the log */

struct mlt_msg {
	int	active;			/* between MAIL and its end */
	struct rg_conf *conf;		/* one reference for the whole message */
	unsigned gen;			/* conf's generation (quota pool) */
	char   *sender;			/* as the client gave it, uncut */
	char   *sasl;			/* {auth_authen}, "" when none, uncut */
	char	instance[48];
	char	qid[MLT_QID_MAX];
	unsigned nrcpt;			/* recipients accepted so far */
	int	null_sender;
	char	from[RG_ADDR_MAX + 8];	/* the parsed sender, for the rewrite log */
	char	rewrite[RG_ADDR_MAX + 16];	/* new sender, or "" */
	char  **reserved;		/* customers holding a reservation */
	size_t	nreserved;
};

struct mlt_conn {
	char	client[80];
	char   *helo;			/* as the client gave it, uncut; NULL before HELO */
	char   *mta;			/* connect macro v ("Postfix 3.7.11"); NULL if missing */
	int	tls;
	unsigned long noreply;		/* SMFIP_NR_* agreed at negotiation */
	int	stop_refused;		/* stopping at connect: refuse at RCPT */
	int	mta_warned;		/* the non-Postfix refusal is logged */
	struct mlt_msg msg;
};

/*
 * Stages whose callback never refuses: when the MTA agrees, it sends them
 * without waiting for a reply, one round trip less each (connect only
 * while not stopping: a stopping milter refuses new connections there).
 */
#define MLT_NOREPLY	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL)

/* The reply of a stage that always goes on. */
#define MLT_GO_ON(c, flag) (((c)->noreply & (flag)) ? SMFIS_NOREPLY : SMFIS_CONTINUE)

static char mlt_inst_prefix[24];
static unsigned long mlt_inst_seq;
static unsigned mlt_nconn;		/* connection contexts alive */
static int mlt_stopping;		/* no new connections */

/* A macro value, or NULL; libmilter wants a writable name. */
static const char *
mlt_macro(SMFICTX *ctx, const char *name)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%s", name);
	return (smfi_getsymval(ctx, buf));
}

static void
mlt_copy(char *out, size_t outlen, const char *in)
{
	snprintf(out, outlen, "%s", in ? in : "");
}

/* The connection context; made here too if connect never ran. */
static struct mlt_conn *
mlt_conn_get(SMFICTX *ctx)
{
	struct mlt_conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
		__atomic_add_fetch(&mlt_nconn, 1, __ATOMIC_RELAXED);
	}
	return (c);
}

/* Note the MTA's name and version, connect macro v (kept all session). */
static void
mlt_mta_note(SMFICTX *ctx, struct mlt_conn *c)
{
	const char *v;

	if (c->mta == NULL && (v = mlt_macro(ctx, "v")) != NULL && *v)
		c->mta = xstrdup(v);
}

/*
 * Rewrite mode leaves the relay decision to the policy service, which only
 * Postfix consults: a session of any other MTA, or of one that does not say
 * which it is, is refused (temporarily) rather than relayed unchecked.
 * True when conf refuses the session; the first refusal is logged.
 */
static int
mlt_mta_refused(SMFICTX *ctx, struct mlt_conn *c, const struct rg_conf *conf)
{
	if (conf->milter_mode != MILTER_REWRITE)
		return (0);
	mlt_mta_note(ctx, c);
	if (c->mta != NULL && strncmp(c->mta, "Postfix", 7) == 0)
		return (0);
	if (!c->mta_warned) {
		c->mta_warned = 1;
		msg_warn("NOQUEUE: client=[%s]: rewrite mode serves only Postfix, but the MTA's"
			 " macro v is %s%.*s%s: temporary failure for this session;"
			 " use mode = \"enforce\" with this MTA", *c->client ? c->client : "unknown",
			 c->mta ? "\"" : "missing", MLT_MTA_LOG_MAX, c->mta ? c->mta : "",
			 c->mta ? "\"" : "");
	}
	return (1);
}

static void
mlt_txn_fill(struct rg_txn *t, const struct mlt_conn *c, const char *rcpt)
{
	const struct mlt_msg *m = &c->msg;

	memset(t, 0, sizeof(*t));
	t->queue_id = m->qid;
	t->instance = m->instance;
	t->client_addr = c->client;
	t->helo = c->helo ? c->helo : "";
	t->sasl_username = m->sasl ? m->sasl : "";
	t->tls = c->tls;
	t->sender = m->sender ? m->sender : "";
	t->recipient = rcpt ? rcpt : "";
	t->nrcpt = m->nrcpt;
}

/* The decision line; a refusal also shows the reply the MTA gets. */
static void
mlt_log(const struct rg_txn *t, const struct rg_verdict *v)
{
	char	line[2048];

	if (v->code == 0) {
		relay_log(t, v);
		return;
	}
	relay_format_log(t, v, line, sizeof(line));
	msg_info("%s reply=\"%s\"", line, v->reply);
}

/* Give back (release) or confirm (commit) every reservation of the message. */
static enum quota_result
mlt_quota_finish(struct mlt_conn *c, int commit)
{
	struct mlt_msg *m = &c->msg;
	enum quota_result r, worst = QUOTA_OK;
	struct quota_sync *qs;
	struct rg_txn t;
	unsigned qgen;
	size_t	i;

	if (m->nreserved == 0)
		return (QUOTA_OK);
	mlt_txn_fill(&t, c, "");
	/*
	 * Every recipient reserved was accepted here, and the MTA asks the
	 * milter last (Postfix runs its own restrictions first): commit them
	 * as reserved (rcpt_count 0).
	 */
	t.rcpt_count = 0;
	qs = mlt_qpool_get(m->conf, m->gen, &qgen);
	for (i = 0; i < m->nreserved; i++) {
		r = qs == NULL ? QUOTA_BACKEND_ERROR : commit
		    ? quota_sync_commit(qs, m->conf, &t, m->reserved[i])
		    : quota_sync_release(qs, m->conf, &t, m->reserved[i]);
		if (r != QUOTA_OK) {
			msg_warn("%s: quota %s for customer %s: %s", *m->qid ? m->qid : "NOQUEUE",
				 commit ? "commit" : "release", m->reserved[i],
				 quota_result_name(r));
			worst = r;
		}
	}
	mlt_qpool_put(qs, qgen);
	return (worst);
}

/* End the message: give back what it did not commit, drop its state. */
static void
mlt_msg_end(struct mlt_conn *c, int release)
{
	struct mlt_msg *m = &c->msg;
	size_t	i;

	if (!m->active)
		return;
	if (release)
		mlt_quota_finish(c, 0);
	for (i = 0; i < m->nreserved; i++)
		free(m->reserved[i]);
	free(m->reserved);
	free(m->sender);
	free(m->sasl);
	conf_unref(m->conf);
	memset(m, 0, sizeof(*m));
}

static void
mlt_msg_begin(SMFICTX *ctx, struct mlt_conn *c, const char *sender)
{
	struct mlt_msg *m = &c->msg;
	const char *v;

	mlt_msg_end(c, 1);
	m->active = 1;
	m->conf = mlt_conf_get(&m->gen);
	m->sender = xstrdup(sender ? sender : "");
	v = mlt_macro(ctx, "{auth_authen}");
	m->sasl = xstrdup(v ? v : "");
	mlt_copy(m->qid, sizeof(m->qid), mlt_macro(ctx, "i"));
	snprintf(m->instance, sizeof(m->instance), "%s.%lx", mlt_inst_prefix,
		 __atomic_add_fetch(&mlt_inst_seq, 1, __ATOMIC_RELAXED));
	/* TLS macros come with HELO; look again in case of a late EHLO. */
	if ((v = mlt_macro(ctx, "{tls_version}")) != NULL && *v)
		c->tls = 1;
}

static void
mlt_note_reserved(struct mlt_msg *m, const char *customer)
{
	size_t	i;

	for (i = 0; i < m->nreserved; i++)
		if (strcmp(m->reserved[i], customer) == 0)
			return;
	m->reserved = xreallocarray(m->reserved, m->nreserved + 1, sizeof(char *));
	m->reserved[m->nreserved++] = xstrdup(customer);
}

/* An accepted RCPT: count it, remember a rewrite the verdict asks for. */
static sfsistat
mlt_rcpt_accepted(struct mlt_msg *m, const struct rg_verdict *v)
{
	m->nrcpt++;
	m->null_sender = v->from.null;
	if (v->rewrite[0] && !v->from.null) {
		if (m->rewrite[0] == 0) {
			mlt_copy(m->rewrite, sizeof(m->rewrite), v->rewrite);
			mlt_copy(m->from, sizeof(m->from), v->from.text);
		} else if (strcmp(m->rewrite, v->rewrite) != 0) {
			msg_warn("%s: recipients ask for different senders <%s> and <%s>;"
				 " keeping the first", *m->qid ? m->qid : "NOQUEUE",
				 m->rewrite, v->rewrite);
		}
	}
	return (SMFIS_CONTINUE);
}

static sfsistat
mlt_rcpt_enforce(SMFICTX *ctx, struct mlt_conn *c, const struct rg_txn *t,
		 struct rg_verdict *v)
{
	struct mlt_msg *m = &c->msg;
	struct quota_sync *qs;
	enum quota_result r;
	unsigned qgen;

	if (v->code == 0 && m->conf->quotas && v->customer != NULL) {
		qs = mlt_qpool_get(m->conf, m->gen, &qgen);
		r = qs ? quota_sync_reserve(qs, m->conf, t, v) : QUOTA_BACKEND_ERROR;
		mlt_qpool_put(qs, qgen);
		if (r == QUOTA_OK)
			mlt_note_reserved(m, v->customer->name);
		quota_apply(m->conf, v, r);
	}
	mlt_log(t, v);
	if (v->code != 0)
		return (mlt_reply_set(ctx, v));
	return (mlt_rcpt_accepted(m, v));
}

static sfsistat
mlt_rcpt_rewrite(SMFICTX *ctx, struct mlt_conn *c, const struct rg_txn *t,
		 struct rg_verdict *v)
{
	char	line[2048];

	switch (v->cls) {
	case RG_TOO_MANY_RECIPIENTS:
	case RG_STARTTLS_REQUIRED:
		mlt_log(t, v);
		return (mlt_reply_set(ctx, v));
	case RG_ACCEPT:
		if (v->rewrite[0])
			relay_log(t, v);
		return (mlt_rcpt_accepted(&c->msg, v));
	default:
		relay_format_log(t, v, line, sizeof(line));
		msg_info("%s reply=\"%s\" (not enforced: rewrite mode, the policy service decides)",
			 line, v->reply);
		c->msg.nrcpt++;
		return (SMFIS_CONTINUE);
	}
}

/*
 * xxfi_negotiate: ask for CHGFROM, the macros the engine needs, no stages
 * it does not use, and no replies where it never refuses.
 */
static sfsistat
mlt_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
	      unsigned long f2, unsigned long f3, unsigned long *pf0,
	      unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	static char m_conn[] = "{client_addr} v";
	static char m_helo[] = "{tls_version}";
	static char m_mail[] = "i {auth_authen} {tls_version}";
	static char m_rcpt[] = "i";
	static char m_eom[] = "i";
	struct mlt_conn *c = mlt_conn_get(ctx);
	unsigned long nr = MLT_NOREPLY;

	(void) f2;
	(void) f3;
	if (!(f0 & SMFIF_CHGFROM))
		msg_warn("the MTA does not offer CHGFROM: envelope senders cannot be rewritten");
	if (__atomic_load_n(&mlt_stopping, __ATOMIC_RELAXED))
		nr &= ~SMFIP_NR_CONN;
	c->noreply = f1 & nr;
	*pf0 = f0 & (SMFIF_CHGFROM | SMFIF_SETSYMLIST);
	*pf1 = (f1 & (SMFIP_NOHDRS | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN
		      | SMFIP_NODATA)) | c->noreply;
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_CONNECT, m_conn);
		smfi_setsymlist(ctx, SMFIM_HELO, m_helo);
		smfi_setsymlist(ctx, SMFIM_ENVFROM, m_mail);
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, m_rcpt);
		smfi_setsymlist(ctx, SMFIM_EOM, m_eom);
	}
	return (SMFIS_CONTINUE);
}

/* xxfi_connect: the client address, from {client_addr} or the socket. */
static sfsistat
mlt_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct mlt_conn *c = mlt_conn_get(ctx);
	const char *v = mlt_macro(ctx, "{client_addr}");

	if (__atomic_load_n(&mlt_stopping, __ATOMIC_RELAXED)) {
		if (!(c->noreply & SMFIP_NR_CONN))
			return (SMFIS_TEMPFAIL);
		c->stop_refused = 1;	/* stopped since negotiation */
	}
	if (v && *v) {
		struct in6_addr a6;
		struct in_addr a4;

		/*
		 * Sendmail writes IPv6 clients as "IPv6:0:0:0:0:0:0:0:1",
		 * Postfix as "::1": logs and replies show one canonical form.
		 */
		if (strncasecmp(v, "IPv6:", 5) == 0)
			v += 5;
		if (inet_pton(AF_INET6, v, &a6) == 1)
			inet_ntop(AF_INET6, &a6, c->client, sizeof(c->client));
		else if (inet_pton(AF_INET, v, &a4) == 1)
			inet_ntop(AF_INET, &a4, c->client, sizeof(c->client));
		else
			mlt_copy(c->client, sizeof(c->client), v);
	} else if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *) (void *) sa)->sin_addr,
			  c->client, sizeof(c->client));
	} else if (sa && sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) (void *) sa)->sin6_addr,
			  c->client, sizeof(c->client));
	} else {
		c->client[0] = 0;
	}
	return (MLT_GO_ON(c, SMFIP_NR_CONN));
}

/* xxfi_helo: the HELO name; TLS is active when {tls_version} is set. */
static sfsistat
mlt_helo(SMFICTX *ctx, char *helo)
{
	struct mlt_conn *c = mlt_conn_get(ctx);
	const char *v = mlt_macro(ctx, "{tls_version}");

	free(c->helo);
	c->helo = xstrdup(helo ? helo : "");
	c->tls = v != NULL && *v != 0;
	return (MLT_GO_ON(c, SMFIP_NR_HELO));
}

/* xxfi_envfrom: a new message. */
static sfsistat
mlt_envfrom(SMFICTX *ctx, char **argv)
{
	struct mlt_conn *c = mlt_conn_get(ctx);

	mlt_msg_begin(ctx, c, argv ? argv[0] : "");
	return (MLT_GO_ON(c, SMFIP_NR_MAIL));
}

/* xxfi_envrcpt: the decision for one recipient. */
static sfsistat
mlt_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mlt_conn *c = mlt_conn_get(ctx);
	struct mlt_msg *m = &c->msg;
	struct rg_verdict v;
	struct rg_txn t;
	const char *qid;

	if (c->stop_refused)
		return (SMFIS_TEMPFAIL);
	if (!m->active)
		mlt_msg_begin(ctx, c, "");
	/*
	 * The first stage the milter answers: libmilter takes the SMFIP_NR_*
	 * flags for it even from an MTA that lacks them (and answers CONTINUE
	 * itself), so connect, HELO and MAIL cannot refuse.
	 */
	if (mlt_mta_refused(ctx, c, m->conf))
		return (SMFIS_TEMPFAIL);
	if ((qid = mlt_macro(ctx, "i")) != NULL && *qid)
		mlt_copy(m->qid, sizeof(m->qid), qid);
	mlt_txn_fill(&t, c, argv ? argv[0] : "");
	memset(&v, 0, sizeof(v));	/* relay_decide() may leave parts unset */
	relay_decide(m->conf, &t, &v);
	/* Anything but an explicit rewrite mode enforces. */
	if (m->conf->milter_mode == MILTER_REWRITE)
		return (mlt_rcpt_rewrite(ctx, c, &t, &v));
	return (mlt_rcpt_enforce(ctx, c, &t, &v));
}

/* xxfi_eom: rewrite the sender, commit the reservations. */
static sfsistat
mlt_eom(SMFICTX *ctx)
{
	struct mlt_conn *c = mlt_conn_get(ctx);
	struct mlt_msg *m = &c->msg;
	char	newfrom[RG_ADDR_MAX + 24];
	const char *qid;
	struct rg_verdict v;
	enum quota_result r;
	sfsistat st = SMFIS_CONTINUE;

	if (!m->active)
		return (SMFIS_CONTINUE);
	if ((qid = mlt_macro(ctx, "i")) != NULL && *qid)
		mlt_copy(m->qid, sizeof(m->qid), qid);
	qid = *m->qid ? m->qid : "NOQUEUE";
	if (m->rewrite[0] && !m->null_sender) {
		snprintf(newfrom, sizeof(newfrom), "<%s>", m->rewrite);
		if (smfi_chgfrom(ctx, newfrom, NULL) == MI_SUCCESS) {
			msg_info("%s: sender rewritten: from=<%s> to=<%s>", qid, m->from, m->rewrite);
		} else {
			msg_error("%s: smfi_chgfrom(%s) failed (CHGFROM not negotiated?):"
				  " deferring the message", qid, newfrom);
			memset(&v, 0, sizeof(v));
			relay_refuse(&v, RG_BACKEND_ERROR, c->client, "sender rewrite failed");
			st = mlt_reply_set(ctx, &v);
		}
	}
	if (st == SMFIS_CONTINUE && m->nreserved && (r = mlt_quota_finish(c, 1)) != QUOTA_OK) {
		memset(&v, 0, sizeof(v));
		quota_apply(m->conf, &v, r);
		if (v.code != 0) {
			msg_info("%s: end of message refused: %s", qid, v.reply);
			st = mlt_reply_set(ctx, &v);
		}
	}
	/* Committed reservations stay; a refused message gives back its own. */
	mlt_msg_end(c, st != SMFIS_CONTINUE);
	return (st);
}

/* xxfi_abort: the message ends without end of message. */
static sfsistat
mlt_abort(SMFICTX *ctx)
{
	struct mlt_conn *c = smfi_getpriv(ctx);

	if (c)
		mlt_msg_end(c, 1);
	return (SMFIS_CONTINUE);
}

/* xxfi_close: the connection ends; it may never have been set up. */
static sfsistat
mlt_close(SMFICTX *ctx)
{
	struct mlt_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return (SMFIS_CONTINUE);
	mlt_msg_end(c, 1);
	free(c->helo);
	free(c->mta);
	free(c);
	smfi_setpriv(ctx, NULL);
	__atomic_sub_fetch(&mlt_nconn, 1, __ATOMIC_RELAXED);
	return (SMFIS_CONTINUE);
}

static char mlt_name[] = MLT_PROG;

struct smfiDesc mlt_desc = {
	.xxfi_name = mlt_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGFROM,
	.xxfi_connect = mlt_connect,
	.xxfi_helo = mlt_helo,
	.xxfi_envfrom = mlt_envfrom,
	.xxfi_envrcpt = mlt_envrcpt,
	.xxfi_eom = mlt_eom,
	.xxfi_abort = mlt_abort,
	.xxfi_close = mlt_close,
	.xxfi_negotiate = mlt_negotiate,
};

/* mlt_callbacks_init - a prefix that makes message instances unique */
void
mlt_callbacks_init(void)
{
	unsigned rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (unsigned) getpid() * 2654435761u ^ (unsigned) time(NULL);
	snprintf(mlt_inst_prefix, sizeof(mlt_inst_prefix), "m%x.%lx", rnd,
		 (unsigned long) getpid());
}

/* mlt_callbacks_stop - refuse new connections (temporarily) from now on */
void
mlt_callbacks_stop(void)
{
	__atomic_store_n(&mlt_stopping, 1, __ATOMIC_RELAXED);
}

/* mlt_conn_count - connection contexts still open (for a clean stop) */
unsigned
mlt_conn_count(void)
{
	return (__atomic_load_n(&mlt_nconn, __ATOMIC_RELAXED));
}
