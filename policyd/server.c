/*
 * server - the policy daemon's connections on one libevent loop
 *
 * SYNOPSIS
 *	s = pd_server_create(base, conf, fds, nfds); pd_server_reload(s, conf);
 *	pd_server_flush(s) after each loop pass; pd_server_shutdown(s);
 *	pd_server_free(s).
 *
 * DESCRIPTION
 *	Each connection reads requests (policy_scan finds their end, with caps),
 *	answers them one at a time and in order: while a quota call is out,
 *	reading pauses.  A request that cannot be parsed is logged and the
 *	connection closed without a reply, so Postfix retries and then applies
 *	its default_action; other connections carry on.  Connections are kept
 *	in least-recently-used order: at max_connections the idlest one is
 *	closed to make room, so a flood of idle connections cannot lock out
 *	the MTAs.  Per connection memory is bounded by POLICY_REQ_MAX of input,
 *	the same again for the copy of the request being answered (the engine
 *	sees every fact uncut: the txn points into it) and PD_OUT_MAX of
 *	unread output.
 *
 *	Lifetime: pd_conn_close() closes the socket and takes the connection
 *	off the LRU list at once, but its memory is freed only by
 *	pd_server_reap(), between passes of the loop (and at the end), when no
 *	callback can be on the stack and no quota call is out for it.  So code
 *	running for a connection may close it anywhere and still look at it
 *	afterwards (c->fd < 0 means closed); nothing is ever used after free.
 *
 *	Deciding is the engine's: each RCPT and END-OF-MESSAGE becomes a call
 *	on the engine's struct txn (common/txn.c), whose answer becomes the
 *	reply.  Transactions live in the server-wide instance table
 *	(instance.c), since Postfix may send a transaction's requests over
 *	more than one connection.
 *
 *	I/O is a persistent read event and direct writes: the replies of a
 *	batch of input go out in one write(2), and a write event is armed only
 *	when the socket is full, so a request costs no epoll_ctl(2).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "policyd.h"
#include "quota.h"
#include "relay.h"
#include "request.h"
#include "txn.h"
#include "xmem.h"

#define PD_OUT_MAX	65536		/* unread replies: a client not reading */
#define PD_READ_CHUNK	16384		/* at most this much per read(2) */

struct pd_conn {
	struct pd_server *srv;
	evutil_socket_t fd;		/* -1 once closed */
	struct event *rev;		/* readable, or idle for idle_timeout */
	struct event *wev;		/* armed while replies wait for room */
	struct evbuffer *in;
	struct evbuffer *out;
	TAILQ_ENTRY(pd_conn) lru;	/* open: LRU (first = idlest); closed: reap list */
	struct policy_scan scan;
	char	peer[80];
	/* The request being answered, moved out of the input. */
	char   *req;
	size_t	reqcap;
	/* The request waiting for its verdict, if any. */
	int	pending;
	int	in_handle;		/* the verdict may come inside pd_handle() */
	int	eom;			/* it is an END-OF-MESSAGE */
	struct txn *own;		/* a transaction only this request has */
	int	socketmap;		/* a socketmap client (socketmap.c), not a policy one */
	int	closing;		/* close once the replies are written */
};

struct pd_server {
	struct event_base *base;
	struct rg_conf *conf;
	struct quota *quota;
	struct txn_quota *tq;		/* the engine's view of quota */
	struct evconnlistener **lis;
	size_t	nlis;
	TAILQ_HEAD(, pd_conn) conns;	/* open, least recently used first */
	TAILQ_HEAD(, pd_conn) closed;	/* closed, freed by pd_server_reap() */
	long	nconns;
	int	stopping;
	struct pd_insts *insts;		/* transactions in progress */
	unsigned long evicted_logged;
};

static void pd_conn_close(struct pd_conn *);

/* pd_lru_touch - the connection is now the most recently used */
static void
pd_lru_touch(struct pd_server *s, struct pd_conn *c)
{
	TAILQ_REMOVE(&s->conns, c, lru);
	TAILQ_INSERT_TAIL(&s->conns, c, lru);
}

static void
pd_conn_free(struct pd_conn *c)
{
	event_free(c->rev);
	event_free(c->wev);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	free(c->req);
	free(c);
}

/*
 * pd_conn_close - close a connection now; its memory stays valid until
 * pd_server_reap(), so every caller up the stack may still look at it.
 */
static void
pd_conn_close(struct pd_conn *c)
{
	struct pd_server *s = c->srv;

	if (c->fd < 0)
		return;
	event_del(c->rev);
	event_del(c->wev);
	close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&s->conns, c, lru);
	s->nconns--;
	metrics_connections(-1);
	TAILQ_INSERT_TAIL(&s->closed, c, lru);
}

/* pd_server_reap - free the closed connections no quota call waits for */
static void
pd_server_reap(struct pd_server *s)
{
	struct pd_conn *c, *next;

	for (c = TAILQ_FIRST(&s->closed); c; c = next) {
		next = TAILQ_NEXT(c, lru);
		if (!c->pending) {
			TAILQ_REMOVE(&s->closed, c, lru);
			pd_conn_free(c);
		}
	}
}

static long
pd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((long) ts.tv_sec);
}

static void
pd_reply(struct pd_conn *c, const char *action)
{
	/* Three copies, no printf: this runs for every request. */
	evbuffer_add(c->out, "action=", 7);
	evbuffer_add(c->out, action, strlen(action));
	evbuffer_add(c->out, "\n\n", 2);
}

/* pd_flush - write what replies the socket takes; arm wev for the rest */
static void
pd_flush(struct pd_conn *c)
{
	while (c->fd >= 0 && evbuffer_get_length(c->out) > 0) {
		if (evbuffer_write(c->out, c->fd) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				if (evbuffer_get_length(c->out) > PD_OUT_MAX) {
					msg_warn("%s: client does not read its replies; closing", c->peer);
					pd_conn_close(c);
					return;
				}
				event_add(c->wev, NULL);
				return;
			}
			if (errno != ECONNRESET && errno != EPIPE)
				msg_warn("%s: write: %s", c->peer, strerror(errno));
			pd_conn_close(c);
			return;
		}
	}
	if (c->closing && c->fd >= 0)
		pd_conn_close(c);
}

static void
pd_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	pd_flush(arg);
}

/*
 * The transaction of this request: the one of its instance, on whichever
 * connection it began, else a new one.  The facts are passed uncut: the
 * engine alone judges their length.  A request without an instance (not
 * Postfix) is a transaction of its own.
 */
static struct txn *
pd_txn_for(struct pd_conn *c, const struct policy_req *r, int keep)
{
	struct pd_server *s = c->srv;
	struct txn_facts f = {
		.instance = r->instance, .queue_id = r->queue_id,
		.client = r->client_address, .helo = r->helo_name,
		.sasl = r->sasl_username, .tls = r->encryption_protocol[0] != 0,
		.sender = r->sender,
	};
	struct txn *x = *r->instance ? pd_inst_find(s->insts, r->instance, pd_now()) : NULL;

	if (x != NULL && txn_busy(x))
		return (NULL);
	if (x != NULL && !txn_same(x, &f)) {
		/* Not Postfix's: an instance is one transaction's.  Start anew. */
		pd_inst_end(s->insts, r->instance);
		x = NULL;
	}
	if (x != NULL) {
		txn_reconf(x, s->conf);
		txn_facts(x, &f);
		return (x);
	}
	x = txn_new(s->conf, TXN_DECIDE, s->tq);
	txn_facts(x, &f);
	if (!keep || *r->instance == 0) {
		c->own = x;
		return (x);
	}
	pd_inst_add(s->insts, r->instance, x, pd_now());
	if (pd_insts_evicted(s->insts) > s->evicted_logged) {
		msg_warn("more than %d transactions in progress: forgot the oldest", PD_INST_MAX);
		s->evicted_logged = pd_insts_evicted(s->insts) + PD_INST_MAX;
	}
	return (x);
}

static void pd_conn_resume(struct pd_conn *);

/* The verdict of a RCPT or END-OF-MESSAGE: answer, and go on reading. */
static void
pd_answered(void *arg, struct txn *x, const struct rg_verdict *v)
{
	struct pd_conn *c = arg;

	c->pending = 0;
	if (c->fd >= 0)
		pd_reply(c, v->code != 0 ? v->reply : c->eom ? "DUNNO" : "OK");
	/*
	 * v lives in x: nothing of it is used below.  A transaction whose
	 * recipients were all refused is not kept: the next request of its
	 * instance starts it anew from the same facts, and refused mail (most
	 * of a relay's) does not fill the table until it expires.
	 */
	if (c->own == x) {
		txn_free(x);
		c->own = NULL;
	} else if (c->eom || txn_idle(x)) {
		pd_inst_end(c->srv->insts, txn_instance(x));
	}
	if (!c->in_handle && c->fd >= 0)
		pd_conn_resume(c);
}

/* pd_handle - answer one parsed request; returns 1 while its verdict is out */
static int
pd_handle(struct pd_conn *c, const struct policy_req *r)
{
	struct txn *x;
	int	rcpt = strcmp(r->protocol_state, "RCPT") == 0;

	if (strcmp(r->request, "smtpd_access_policy") != 0) {
		msg_warn("%s: unknown request type \"%.40s\"; answering DUNNO", c->peer, r->request);
		pd_reply(c, "DUNNO");
		return (0);
	}
	if (!rcpt && strcmp(r->protocol_state, "END-OF-MESSAGE") != 0) {
		pd_reply(c, "DUNNO");
		return (0);
	}
	if ((x = pd_txn_for(c, r, rcpt)) == NULL) {
		/* Postfix asks one thing at a time: not this client, then. */
		msg_warn("%s: instance %.60s is already waiting for a verdict; deferring",
			 c->peer, r->instance);
		pd_reply(c, "451 4.3.0 Relay policy temporarily unavailable.");
		return (0);
	}
	c->pending = 1;
	c->in_handle = 1;
	c->eom = !rcpt;
	if (rcpt) {
		txn_rcpt(x, r->recipient, pd_answered, c);
	} else {
		txn_set_queue_id(x, r->queue_id);
		txn_eom(x, (unsigned) strtoul(r->recipient_count, NULL, 10), pd_answered, c);
	}
	c->in_handle = 0;
	return (c->pending);
}

/* Process every complete request in the input, in order. */
static void
pd_conn_process(struct pd_conn *c)
{
	struct evbuffer *in;
	struct policy_req req;
	const char *why;
	size_t	len;
	long	n;
	char   *data;

	if (c->socketmap) {
		/* Lookups answer at once: every complete request, in order. */
		if (c->fd >= 0 && !c->closing) {
			if (sm_process(c->srv->conf, c->in, c->out, c->peer) < 0) {
				c->closing = 1;
				event_del(c->rev);
			}
			pd_lru_touch(c->srv, c);
		}
		pd_flush(c);
		return;
	}
	while (c->fd >= 0 && !c->pending) {
		in = c->in;
		if ((len = evbuffer_get_length(in)) == 0)
			break;
		data = (char *) evbuffer_pullup(in, (ssize_t) len);
		n = policy_scan(&c->scan, data, len);
		if (n == POLICY_SCAN_MORE)
			break;
		if (n < 0) {
			msg_warn("%s: malformed request: %s; closing without reply", c->peer, c->scan.why);
			pd_conn_close(c);
			return;
		}
		/* Move the request out of the input: its facts live in c->req. */
		if ((size_t) n > c->reqcap) {
			c->reqcap = (size_t) n < 2048 ? 2048 : (size_t) n;
			c->req = xrealloc(c->req, c->reqcap);
		}
		evbuffer_remove(in, c->req, (size_t) n);
		policy_scan_init(&c->scan);
		if (policy_parse(c->req, (size_t) n, &req, &why) < 0) {
			msg_warn("%s: malformed request: %s; closing without reply", c->peer, why);
			pd_conn_close(c);
			return;
		}
		pd_lru_touch(c->srv, c);
		pd_handle(c, &req);
	}
	/* One write for all the replies of this batch of input. */
	pd_flush(c);
}

static void
pd_conn_resume(struct pd_conn *c)
{
	struct timeval idle = { c->srv->conf->idle_timeout, 0 };

	pd_flush(c);
	if (c->fd >= 0 && !event_pending(c->rev, EV_READ, NULL))
		event_add(c->rev, &idle);
	pd_conn_process(c);
}

static void
pd_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pd_conn *c = arg;
	size_t	have = evbuffer_get_length(c->in), want;
	struct evbuffer_iovec iov;
	ssize_t	n;

	if (what & EV_TIMEOUT) {
		msg_info("%s: idle timeout; closing", c->peer);
		pd_conn_close(c);
		return;
	}
	/* Never buffer more than one maximal request (plus one byte to see it). */
	if (have > POLICY_REQ_MAX) {
		event_del(c->rev);		/* while a request waits for Redis */
		return;
	}
	/*
	 * read(2) into reserved space rather than evbuffer_read(), which asks
	 * the kernel for FIONREAD first: one system call less per request.
	 */
	want = POLICY_REQ_MAX + 1 - have;
	if (want > PD_READ_CHUNK)
		want = PD_READ_CHUNK;
	if (evbuffer_reserve_space(c->in, (ev_ssize_t) want, &iov, 1) < 1) {
		msg_warn("%s: out of memory for input; closing", c->peer);
		pd_conn_close(c);
		return;
	}
	if (iov.iov_len > want)
		iov.iov_len = want;
	n = read(fd, iov.iov_base, iov.iov_len);
	if (n > 0) {
		iov.iov_len = (size_t) n;
		evbuffer_commit_space(c->in, &iov, 1);
	}
	if (n == 0) {
		pd_conn_close(c);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno != ECONNRESET)
			msg_warn("%s: read: %s", c->peer, strerror(errno));
		pd_conn_close(c);
		return;
	}
	if (!c->pending)			/* else answer in order, later */
		pd_conn_process(c);
}

static void
pd_peer_name(const struct sockaddr *sa, const char *what, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *) sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s client %s:%d", what, host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *) sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "%s client [%s]:%d", what, host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "%s client (unix)", what);
	}
}

/* A new client of either protocol: the same caps, LRU and idle timeout. */
static void
pd_accept(struct pd_server *s, evutil_socket_t fd, struct sockaddr *sa, int socketmap)
{
	struct pd_conn *c;
	struct timeval idle;

	if (s->stopping) {
		close(fd);
		return;
	}
	if (s->nconns >= s->conf->max_connections && !TAILQ_EMPTY(&s->conns)) {
		msg_warn("%ld connections (max_connections): closing the idlest, %s",
			 s->nconns, TAILQ_FIRST(&s->conns)->peer);
		pd_conn_close(TAILQ_FIRST(&s->conns));
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->socketmap = socketmap;
	pd_peer_name(sa, socketmap ? "socketmap" : "policy", c->peer, sizeof(c->peer));
	c->fd = fd;
	evutil_make_socket_nonblocking(fd);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, pd_read_cb, c);
	c->wev = event_new(s->base, fd, EV_WRITE, pd_write_cb, c);
	if (c->in == NULL || c->out == NULL || c->rev == NULL || c->wev == NULL)
		msg_fatal("out of memory setting up a connection");
	policy_scan_init(&c->scan);
	idle.tv_sec = s->conf->idle_timeout;
	idle.tv_usec = 0;
	event_add(c->rev, &idle);
	TAILQ_INSERT_TAIL(&s->conns, c, lru);
	s->nconns++;
	metrics_connections(1);
}

static void
pd_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	     int salen, void *arg)
{
	(void) l;
	(void) salen;
	pd_accept(arg, fd, sa, 0);
}

static void
pd_accept_sm_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		int salen, void *arg)
{
	(void) l;
	(void) salen;
	pd_accept(arg, fd, sa, 1);
}

static void
pd_accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void) l;
	(void) arg;
	/* EMFILE and friends: libevent retries on the next readiness. */
	msg_warn("accept: %s", strerror(errno));
}

/*
 * pd_server_create - serve the listening descriptors with this config:
 * the first nfds - nsm speak the policy protocol, the last nsm socketmap
 */
struct pd_server *
pd_server_create(struct event_base *base, struct rg_conf *conf, const int *fds, size_t nfds,
		 size_t nsm)
{
	struct pd_server *s = xcalloc(1, sizeof(*s));
	size_t	i;

	s->base = base;
	s->conf = conf;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->closed);
	s->insts = pd_insts_create();
	if (conf->quotas) {
		s->quota = quota_create(base, conf);
		s->tq = txn_quota_async(s->quota);
	}
	s->lis = xcalloc(nfds, sizeof(*s->lis));
	for (i = 0; i < nfds; i++) {
		s->lis[i] = evconnlistener_new(base, i + nsm >= nfds ? pd_accept_sm_cb : pd_accept_cb, s,
			     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fds[i]);
		if (s->lis[i] == NULL)
			msg_fatal("cannot listen on descriptor %d", fds[i]);
		evconnlistener_set_error_cb(s->lis[i], pd_accept_error_cb);
	}
	s->nlis = nfds;
	return (s);
}

/* pd_server_conf - the configuration in force */
struct rg_conf *
pd_server_conf(struct pd_server *s)
{
	return (s->conf);
}

/* pd_server_reload - switch to a new, validated configuration */
void
pd_server_reload(struct pd_server *s, struct rg_conf *conf)
{
	struct rg_conf *old = s->conf;

	s->conf = conf;
	if (conf->quotas && s->quota == NULL) {
		s->quota = quota_create(s->base, conf);
		s->tq = txn_quota_async(s->quota);
	} else if (s->quota) {
		quota_reconfigure(s->quota, conf);
	}
	/* Transactions in progress hold their own reference. */
	conf_unref(old);
}

/*
 * pd_server_drain - while stopping: close the connections not waiting
 * for Redis, end the transactions without a call out (their
 * reservations are given back now rather than left to expire), and
 * return how much is still under way: connections waiting, transactions
 * with a call out, quota calls (those releases among them) unanswered.
 */
int
pd_server_drain(struct pd_server *s)
{
	struct pd_conn *c, *next;
	int	pending = 0;

	for (c = TAILQ_FIRST(&s->conns); c; c = next) {
		next = TAILQ_NEXT(c, lru);
		if (c->pending)
			pending++;
		else
			pd_conn_close(c);
	}
	pd_insts_expire(s->insts, LONG_MAX, 0);
	return (pending + (int) pd_insts_count(s->insts)
		+ (s->quota ? (int) quota_calls(s->quota) : 0));
}

/* pd_server_shutdown - stop accepting, then drain (see pd_server_drain) */
int
pd_server_shutdown(struct pd_server *s)
{
	size_t	i;

	s->stopping = 1;
	for (i = 0; i < s->nlis; i++)
		if (s->lis[i])
			evconnlistener_disable(s->lis[i]);
	return (pd_server_drain(s));
}

/* pd_server_free - release everything (after the loop has ended) */
void
pd_server_free(struct pd_server *s)
{
	size_t	i;

	struct pd_conn *c;

	while (!TAILQ_EMPTY(&s->conns))
		pd_conn_close(TAILQ_FIRST(&s->conns));
	/*
	 * The transactions go first (their reservations are given back), then
	 * the client answers every open call.  A transaction freed while its
	 * call was out tells no connection: none can be waiting any more.
	 */
	pd_insts_free(s->insts);
	if (s->quota)
		quota_free(s->quota);
	txn_quota_free(s->tq);
	TAILQ_FOREACH(c, &s->closed, lru)
		c->pending = 0;
	pd_server_reap(s);
	for (i = 0; i < s->nlis; i++)
		evconnlistener_free(s->lis[i]);
	free(s->lis);
	conf_unref(s->conf);
	free(s);
}

/*
 * pd_server_flush - after each pass of the loop: send the quota calls
 * queued in this pass in one write, free the connections closed in it,
 * forget the transactions whose reservations have expired.
 */
void
pd_server_flush(struct pd_server *s)
{
	if (s->quota)
		quota_flush(s->quota);
	if (!TAILQ_EMPTY(&s->closed))
		pd_server_reap(s);
	pd_insts_expire(s->insts, pd_now(), s->conf->reservation_ttl);
}
