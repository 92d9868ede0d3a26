/*
 * callbacks - the libmilter callbacks of relayguard-milter
 *
 * SYNOPSIS
 *	mlt_callbacks_init();
 *	smfi_register(mlt_desc);
 *	mlt_callbacks_stop();  n = mlt_callbacks_sweep();	-- at stop
 *
 * DESCRIPTION
 *	A connection context (client address, HELO name, TLS, the MTA's
 *	name) holds the message in progress as the engine's struct txn
 *	(common/txn.c), made at MAIL and ended at end of message, abort or
 *	close; a message that did not reach end of message gives its quota
 *	reservations back there at once.  All of it lives behind
 *	smfi_setpriv(): callbacks of one connection never overlap but may
 *	run on different threads.  Quota calls are blocking, on connections
 *	lent by qpool.c.  Every context is also on a list, so that at stop
 *	mlt_callbacks_sweep() can give back what the messages libmilter
 *	abandons had reserved.
 *
 *	Each RCPT is txn_rcpt(), end of message txn_eom(); the milter adds
 *	no rule of its own.  The transaction's mode is the configuration's,
 *	as the message started:
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
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "milter.h"
#include "txn.h"
#include "xmem.h"

#define MLT_MTA_LOG_MAX	100		/* of v, in the log */

struct mlt_conn {
	char   *client;			/* {client_addr} as the MTA wrote it */
	char   *helo;			/* as the client gave it, uncut; NULL before HELO */
	char   *mta;			/* connect macro v ("Postfix 3.7.11"); NULL if missing */
	int	tls;
	unsigned long noreply;		/* SMFIP_NR_* agreed at negotiation */
	int	stop_refused;		/* stopping at connect: refuse at RCPT */
	int	mta_warned;		/* the non-Postfix refusal is logged */
	struct txn *txn;		/* the message in progress, or NULL */
	TAILQ_ENTRY(mlt_conn) live;	/* on mlt_live */
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
static struct txn_quota *mlt_tq;	/* blocking quota calls on qpool.c */
static unsigned long mlt_inst_seq;
static unsigned mlt_nconn;		/* connection contexts alive */
static int mlt_stopping;		/* no new connections */

/*
 * At stop libmilter stops serving the open sessions without calling
 * their close callback, so what their messages reserved would count
 * until reservation_ttl.  mlt_callbacks_sweep() gives it back: it takes
 * mlt_gate for writing (the callbacks that touch a message hold it for
 * reading), ends every live connection's message and marks the gate
 * swept, after which those callbacks refuse with a temporary failure.
 */
static TAILQ_HEAD(, mlt_conn) mlt_live = TAILQ_HEAD_INITIALIZER(mlt_live);
static pthread_mutex_t mlt_live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t mlt_gate = PTHREAD_RWLOCK_INITIALIZER;
static int mlt_swept;

/* A macro value, or NULL; libmilter wants a writable name. */
static const char *
mlt_macro(SMFICTX *ctx, const char *name)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%s", name);
	return (smfi_getsymval(ctx, buf));
}

/* The connection context; made here too if connect never ran. */
static struct mlt_conn *
mlt_conn_get(SMFICTX *ctx)
{
	struct mlt_conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
		pthread_mutex_lock(&mlt_live_lock);
		TAILQ_INSERT_TAIL(&mlt_live, c, live);
		pthread_mutex_unlock(&mlt_live_lock);
		__atomic_add_fetch(&mlt_nconn, 1, __ATOMIC_RELAXED);
		metrics_connections(1);
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
			 " use mode = \"enforce\" with this MTA", c->client ? c->client : "unknown",
			 c->mta ? "\"" : "missing", MLT_MTA_LOG_MAX, c->mta ? c->mta : "",
			 c->mta ? "\"" : "");
	}
	return (1);
}

/* End the message: give back what it did not commit, drop it. */
static void
mlt_msg_end(struct mlt_conn *c)
{
	if (c->txn == NULL)
		return;
	txn_abort(c->txn);
	txn_free(c->txn);
	c->txn = NULL;
}

/* A message from MAIL on: the engine's transaction on the current config. */
static void
mlt_msg_begin(SMFICTX *ctx, struct mlt_conn *c, const char *sender)
{
	struct rg_conf *conf;
	const char *v;
	char	inst[48];

	mlt_msg_end(c);
	conf = mlt_conf_get(NULL);
	/* Anything but an explicit rewrite mode enforces. */
	c->txn = txn_new(conf, conf->milter_mode == MILTER_REWRITE ? TXN_REWRITE : TXN_DECIDE,
			 mlt_tq);
	conf_unref(conf);
	snprintf(inst, sizeof(inst), "%s.%lx", mlt_inst_prefix,
		 __atomic_add_fetch(&mlt_inst_seq, 1, __ATOMIC_RELAXED));
	/* TLS macros come with HELO; look again in case of a late EHLO. */
	if ((v = mlt_macro(ctx, "{tls_version}")) != NULL && *v)
		c->tls = 1;
	v = mlt_macro(ctx, "{auth_authen}");
	txn_facts(c->txn, &(struct txn_facts) {
		.instance = inst, .queue_id = mlt_macro(ctx, "i"), .client = c->client,
		.helo = c->helo, .sasl = v ? v : "", .tls = c->tls, .sender = sender,
	});
}

/* The verdict of a call, kept for the callback's reply. */
static void
mlt_answered(void *arg, struct txn *x, const struct rg_verdict *v)
{
	(void) x;
	*(struct rg_verdict *) arg = *v;
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
	free(c->client);
	c->client = NULL;
	if (v && *v) {
		/* As written: the engine reads Sendmail's "IPv6:..." too. */
		c->client = xstrdup(v);
	} else if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		char	host[INET6_ADDRSTRLEN];
		const void *a = sa->sa_family == AF_INET
		? (const void *) &((struct sockaddr_in *) (void *) sa)->sin_addr
		: (const void *) &((struct sockaddr_in6 *) (void *) sa)->sin6_addr;

		if (inet_ntop(sa->sa_family, a, host, sizeof(host)) != NULL)
			c->client = xstrdup(host);
	}
	mlt_mta_note(ctx, c);
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
mlt_envfrom_in(SMFICTX *ctx, char **argv)
{
	struct mlt_conn *c = mlt_conn_get(ctx);

	mlt_msg_begin(ctx, c, argv ? argv[0] : "");
	return (MLT_GO_ON(c, SMFIP_NR_MAIL));
}

/* xxfi_envrcpt: the decision for one recipient. */
static sfsistat
mlt_envrcpt_in(SMFICTX *ctx, char **argv)
{
	struct mlt_conn *c = mlt_conn_get(ctx);
	struct rg_verdict v;

	if (c->stop_refused)
		return (SMFIS_TEMPFAIL);
	if (c->txn == NULL)
		mlt_msg_begin(ctx, c, "");
	/*
	 * The first stage the milter answers: libmilter takes the SMFIP_NR_*
	 * flags for it even from an MTA that lacks them (and answers CONTINUE
	 * itself), so connect, HELO and MAIL cannot refuse.
	 */
	if (mlt_mta_refused(ctx, c, txn_conf(c->txn)))
		return (SMFIS_TEMPFAIL);
	txn_set_queue_id(c->txn, mlt_macro(ctx, "i"));
	txn_rcpt(c->txn, argv ? argv[0] : "", mlt_answered, &v);
	return (v.code != 0 ? mlt_reply_set(ctx, &v) : SMFIS_CONTINUE);
}

/* xxfi_eom: rewrite the sender, commit the reservations. */
static sfsistat
mlt_eom_in(SMFICTX *ctx)
{
	struct mlt_conn *c = mlt_conn_get(ctx);
	char	newfrom[RG_ADDR_MAX + 24];
	const char *qid, *rewrite, *from;
	struct rg_verdict v;
	sfsistat st = SMFIS_CONTINUE;

	if (c->txn == NULL)
		return (SMFIS_CONTINUE);
	txn_set_queue_id(c->txn, mlt_macro(ctx, "i"));
	qid = txn_queue_id(c->txn);
	if ((rewrite = txn_rewrite(c->txn, &from)) != NULL) {
		snprintf(newfrom, sizeof(newfrom), "<%s>", rewrite);
		if (smfi_chgfrom(ctx, newfrom, NULL) == MI_SUCCESS) {
			msg_info("%s: sender rewritten: from=<%s> to=<%s>", qid, from, rewrite);
		} else {
			msg_error("%s: smfi_chgfrom(%s) failed (CHGFROM not negotiated?):"
				  " deferring the message", qid, newfrom);
			memset(&v, 0, sizeof(v));
			relay_refuse(&v, RG_BACKEND_ERROR, c->client ? c->client : "",
				     "sender rewrite failed");
			st = mlt_reply_set(ctx, &v);
		}
	}
	if (st == SMFIS_CONTINUE) {
		/* The MTA asks the milter last: what was accepted here was accepted. */
		txn_eom(c->txn, 0, mlt_answered, &v);
		if (v.code != 0)
			st = mlt_reply_set(ctx, &v);
	}
	/* Committed reservations stay; a refused message gave back its own. */
	mlt_msg_end(c);
	return (st);
}

/* xxfi_abort: the message ends without end of message. */
static sfsistat
mlt_abort_in(SMFICTX *ctx)
{
	struct mlt_conn *c = smfi_getpriv(ctx);

	if (c)
		mlt_msg_end(c);
	return (SMFIS_CONTINUE);
}

/* xxfi_close: the connection ends; it may never have been set up. */
static sfsistat
mlt_close_in(SMFICTX *ctx)
{
	struct mlt_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return (SMFIS_CONTINUE);
	mlt_msg_end(c);
	pthread_mutex_lock(&mlt_live_lock);
	TAILQ_REMOVE(&mlt_live, c, live);
	pthread_mutex_unlock(&mlt_live_lock);
	free(c->client);
	free(c->helo);
	free(c->mta);
	free(c);
	smfi_setpriv(ctx, NULL);
	__atomic_sub_fetch(&mlt_nconn, 1, __ATOMIC_RELAXED);
	metrics_connections(-1);
	return (SMFIS_CONTINUE);
}

/*
 * The stages that touch a message, behind mlt_gate: once swept (at stop)
 * a recipient or an end of message gets a temporary failure.  MAIL, abort
 * and close still run: MAIL reserves nothing and may have been agreed
 * without a reply (SMFIP_NR_MAIL), so it must not answer one; abort and
 * close only end what is there and free the context.
 */
static int
mlt_enter(int refuse_swept)
{
	pthread_rwlock_rdlock(&mlt_gate);
	if (refuse_swept && mlt_swept) {
		pthread_rwlock_unlock(&mlt_gate);
		return (0);
	}
	return (1);
}

#define MLT_GATED(call, refuse_swept) do {				\
	sfsistat st_ = SMFIS_TEMPFAIL;					\
									\
	if (mlt_enter(refuse_swept)) {					\
		st_ = (call);						\
		pthread_rwlock_unlock(&mlt_gate);			\
	}								\
	return (st_);							\
} while (0)

static sfsistat
mlt_envfrom(SMFICTX *ctx, char **argv)
{
	MLT_GATED(mlt_envfrom_in(ctx, argv), 0);
}

static sfsistat
mlt_envrcpt(SMFICTX *ctx, char **argv)
{
	MLT_GATED(mlt_envrcpt_in(ctx, argv), 1);
}

static sfsistat
mlt_eom(SMFICTX *ctx)
{
	MLT_GATED(mlt_eom_in(ctx), 1);
}

static sfsistat
mlt_abort(SMFICTX *ctx)
{
	MLT_GATED(mlt_abort_in(ctx), 0);
}

static sfsistat
mlt_close(SMFICTX *ctx)
{
	MLT_GATED(mlt_close_in(ctx), 0);
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
	mlt_tq = txn_quota_blocking(mlt_qpool_lend, mlt_qpool_return);
}

/* mlt_callbacks_done - release what mlt_callbacks_init() made (at exit) */
void
mlt_callbacks_done(void)
{
	txn_quota_free(mlt_tq);
	mlt_tq = NULL;
}

/* mlt_callbacks_stop - refuse new connections (temporarily) from now on */
void
mlt_callbacks_stop(void)
{
	__atomic_store_n(&mlt_stopping, 1, __ATOMIC_RELAXED);
}

/*
 * mlt_callbacks_sweep - at stop: give back what the messages of the
 * connections still open reserved (see mlt_gate); returns how many
 */
unsigned
mlt_callbacks_sweep(void)
{
	struct mlt_conn *c;
	unsigned n = 0;

	pthread_rwlock_wrlock(&mlt_gate);
	mlt_swept = 1;
	pthread_mutex_lock(&mlt_live_lock);
	TAILQ_FOREACH(c, &mlt_live, live)
		if (c->txn != NULL) {
			mlt_msg_end(c);
			n++;
		}
	pthread_mutex_unlock(&mlt_live_lock);
	pthread_rwlock_unlock(&mlt_gate);
	return (n);
}

/* mlt_conn_count - connection contexts still open (for a clean stop) */
unsigned
mlt_conn_count(void)
{
	return (__atomic_load_n(&mlt_nconn, __ATOMIC_RELAXED));
}
