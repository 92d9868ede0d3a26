/*
 * metrics_http - GET /metrics over libevent's HTTP server (evhttp)
 *
 * SYNOPSIS
 *	See metrics.h: metrics_http_open() binds (before the privilege drop),
 *	metrics_http_start() serves on an event loop of the caller's,
 *	metrics_http_thread() on a loop of its own in a new thread.
 *
 * DESCRIPTION
 *	GET (or HEAD) /metrics answers 200 with the text of metrics_render(),
 *	Content-Type "text/plain; version=0.0.4"; another path is 404,
 *	another method on /metrics 405.  Bounds, as for the policy listener:
 *	request headers METRICS_HTTP_HEADERS bytes, a body METRICS_HTTP_BODY
 *	bytes, METRICS_HTTP_IDLE seconds of silence, METRICS_HTTP_CONNS open
 *	connections.  evhttp has no connection cap (libevent 2.1), so we make
 *	each connection's bufferevent and hold a reference to it: evhttp's
 *	bufferevent_free() clears its callbacks, shuts the socket for
 *	writing (the client sees the end at once) and lets go; a sweep each
 *	second (and at each new connection) finds the ones let go and drops
 *	our reference, which closes the socket.  At the cap the oldest
 *	connection is told EOF (evhttp closes it); at twice the cap (closes
 *	still in progress) the listener pauses until a sweep frees one.
 *
 * DIAGNOSTICS
 *	metrics_http_open() returns -1 with a reason; a connection closed to
 *	make room is logged at most once a minute.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "xmem.h"

#define METRICS_HTTP_CONNS	16
#define METRICS_HTTP_HEADERS	8192
#define METRICS_HTTP_BODY	1024
#define METRICS_HTTP_IDLE	10

struct mh_conn {
	struct bufferevent *bev;	/* one reference is ours */
	int	told;			/* told EOF to make room */
	TAILQ_ENTRY(mh_conn) link;	/* oldest first */
};

struct metrics_http {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *lis;
	struct event *sweep;
	TAILQ_HEAD(, mh_conn) conns;
	int	nconns;			/* bufferevents alive */
	int	nopen;			/* ... of which not told EOF */
	int	paused;
	time_t	logged;
};

/*
 * metrics_http_open - a listening socket on "host:port" or "[v6]:port";
 * -1 with a reason in err
 */
int
metrics_http_open(const char *hostport, char *err, size_t errlen)
{
	char	host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { 0 }, *ai;
	size_t	n;
	int	fd, rc;

	if (colon == NULL || (n = (size_t) (colon - hostport)) >= sizeof(host)) {
		snprintf(err, errlen, "metrics \"%s\": expected host:port", hostport);
		return (-1);
	}
	if (hostport[0] == '[' && n >= 2 && colon[-1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int) n - 2, hostport + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int) n, hostport);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
		snprintf(err, errlen, "metrics %s: %s", hostport, gai_strerror(rc));
		return (-1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -1 : evutil_make_listen_socket_reuseable(fd);
	if (rc == 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) {
		freeaddrinfo(ai);
		return (fd);
	}
	snprintf(err, errlen, "metrics %s: %s", hostport, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return (-1);
}

static void
mh_reply(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer *body;
	char   *text;
	size_t	n;

	(void) arg;
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(hdr, "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	text = xmalloc(METRICS_TEXT_MAX);
	n = metrics_render(text, METRICS_TEXT_MAX);
	if (n >= METRICS_TEXT_MAX)
		msg_panic("metrics: %zu bytes of text, more than METRICS_TEXT_MAX", n);
	evhttp_add_header(hdr, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	if ((body = evbuffer_new()) == NULL || evbuffer_add(body, text, n) != 0)
		msg_fatal("metrics: out of memory");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
	free(text);
}

/* Drop our reference to the connections evhttp let go (no callbacks). */
static void
mh_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *h = arg;
	struct mh_conn *c, *next;
	bufferevent_data_cb readcb;

	(void) fd;
	(void) what;
	for (c = TAILQ_FIRST(&h->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
		if (readcb != NULL)
			continue;
		TAILQ_REMOVE(&h->conns, c, link);
		h->nconns--;
		if (!c->told)
			h->nopen--;
		bufferevent_decref(c->bev);	/* the last one: closes the socket */
		free(c);
	}
	if (h->paused && h->nconns < 2 * METRICS_HTTP_CONNS) {
		h->paused = 0;
		evconnlistener_enable(h->lis);
	}
}

/* Make room: evhttp closes the oldest connection on an EOF of its own. */
static void
mh_make_room(struct metrics_http *h)
{
	struct mh_conn *c;
	time_t	now = time(NULL);

	TAILQ_FOREACH(c, &h->conns, link)
		if (!c->told)
			break;
	if (c == NULL)
		return;
	if (now - h->logged >= 60) {
		msg_warn("metrics: %d connections: closing the oldest", h->nopen);
		h->logged = now;
	}
	c->told = 1;
	h->nopen--;
	bufferevent_trigger_event(c->bev, BEV_EVENT_EOF | BEV_EVENT_READING,
				  BEV_TRIG_DEFER_CALLBACKS);
}

/* evhttp asks for each new connection's bufferevent: a counted one. */
static struct bufferevent *
mh_new_bev(struct event_base *base, void *arg)
{
	struct metrics_http *h = arg;
	struct mh_conn *c = xcalloc(1, sizeof(*c));

	if ((c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		msg_fatal("metrics: cannot create a bufferevent");
	bufferevent_incref(c->bev);
	mh_sweep(-1, 0, h);
	if (h->nopen >= METRICS_HTTP_CONNS)
		mh_make_room(h);
	TAILQ_INSERT_TAIL(&h->conns, c, link);
	h->nconns++;
	h->nopen++;
	if (h->nconns >= 2 * METRICS_HTTP_CONNS && !h->paused) {
		h->paused = 1;
		evconnlistener_disable(h->lis);
	}
	return (c->bev);
}

/* metrics_http_start - serve GET /metrics on fd from base's loop */
struct metrics_http *
metrics_http_start(struct event_base *base, int fd)
{
	struct metrics_http *h = xcalloc(1, sizeof(*h));
	struct evhttp_bound_socket *bs;
	struct timeval sec = { 1, 0 };

	h->base = base;
	TAILQ_INIT(&h->conns);
	if ((h->http = evhttp_new(base)) == NULL
	    || (bs = evhttp_accept_socket_with_handle(h->http, fd)) == NULL)
		msg_fatal("metrics: cannot start the HTTP server");
	h->lis = evhttp_bound_socket_get_listener(bs);
	evhttp_set_max_headers_size(h->http, METRICS_HTTP_HEADERS);
	evhttp_set_max_body_size(h->http, METRICS_HTTP_BODY);
	evhttp_set_timeout(h->http, METRICS_HTTP_IDLE);
	evhttp_set_bevcb(h->http, mh_new_bev, h);
	evhttp_set_gencb(h->http, mh_reply, h);
	if ((h->sweep = event_new(base, -1, EV_PERSIST, mh_sweep, h)) == NULL
	    || event_add(h->sweep, &sec) != 0)
		msg_fatal("metrics: cannot create a timer");
	return (h);
}

/* metrics_http_free - close the server and its connections */
void
metrics_http_free(struct metrics_http *h)
{
	struct mh_conn *c;

	if (h == NULL)
		return;
	evhttp_free(h->http);		/* lets every connection go */
	while ((c = TAILQ_FIRST(&h->conns)) != NULL) {
		TAILQ_REMOVE(&h->conns, c, link);
		bufferevent_decref(c->bev);
		free(c);
	}
	event_free(h->sweep);
	free(h);
}

static void *
mh_thread(void *arg)
{
	struct event_base *base = arg;

	event_base_dispatch(base);
	msg_error("metrics: the HTTP loop ended");
	return (NULL);
}

/* metrics_http_thread - serve GET /metrics on fd from a thread of its own */
void
metrics_http_thread(int fd)
{
	struct event_base *base;
	pthread_t tid;

	if ((base = event_base_new()) == NULL)
		msg_fatal("metrics: cannot create an event loop");
	(void) metrics_http_start(base, fd);
	if ((errno = pthread_create(&tid, NULL, mh_thread, base)) != 0)
		msg_fatal("metrics: pthread_create: %m");
	pthread_detach(tid);
}
