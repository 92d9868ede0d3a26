/*
 * rg-smbaseline - protocol-ceiling baseline for the Postfix socketmap protocol.
 *
 * A trivial socketmap server: every well-formed request (a netstring
 * "MAP KEY") is answered "9:NOTFOUND ,", pipelined ones in order, without
 * looking anything up. A socketmap server that does real lookups cannot
 * be faster than this on the same machine: it measures the protocol, the
 * sockets and the load generator alone.
 *
 * Usage: rg-smbaseline -s inet:127.0.0.1:PORT|unix:/path [-d SECS] [-q]
 *   -d SECS  exit by itself after SECS seconds (default 3600)
 *   -q       no start-up message
 * On SIGTERM, SIGINT or the -d limit it prints one line on stderr:
 *   SMBASELINE requests=N connections=N bad_requests=N
 *
 * Errors: a malformed request (strict netstrings: no leading zero, at most
 * 10,000 bytes, the comma, a space after the map name) or an empty one is
 * answered "PERM invalid request" and that connection is closed, as
 * relayguard-policyd does (counted in bad_requests); set-up failures exit
 * 1 with a message.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#define _POSIX_C_SOURCE 200809L
#include "rgb_sock.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_LIMIT  10000        /* request bytes, as Postfix and relayguard */
#define BUF_SIZE   (REQ_LIMIT + 16)
#define OUT_SIZE   65536

static const char notfound[] = "9:NOTFOUND ,";
static const char perm[] = "22:PERM invalid request,";

struct smb_conn {
    int     fd;
    struct event *ev;
    size_t  len;
    char    buf[BUF_SIZE];
};

static struct event_base *base;
static unsigned long long n_requests, n_conns, n_bad;

/*
 * scan - one request at the start of p: its length in bytes, 0 for "need
 * more", -1 for malformed (the same rules as relayguard's netstring.c).
 */
static long scan(const char *p, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        if (i == 1 && p[0] == '0')
            return -1;
        if ((n = n * 10 + (size_t) (p[i] - '0')) > REQ_LIMIT)
            return -1;
    }
    if (i == len)
        return 0;
    if (i == 0 || p[i] != ':')
        return -1;
    if (len < i + n + 2)
        return 0;
    if (p[i + 1 + n] != ',' || n == 0 || memchr(p + i + 1, ' ', n) == NULL
        || p[i + 1] == ' ')
        return -1;
    return (long) (i + n + 2);
}

static void conn_end(struct smb_conn *c)
{
    event_free(c->ev);
    close(c->fd);
    free(c);
}

/* write_all - the replies of one read; a client that does not read fails */
static int write_all(int fd, const char *p, size_t len)
{
    ssize_t w;

    while (len > 0) {
        w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t) w;
    }
    return 0;
}

static void on_data(evutil_socket_t fd, short what, void *arg)
{
    struct smb_conn *c = arg;
    char    out[OUT_SIZE];
    size_t  off = 0, olen = 0;
    ssize_t r;
    long    n = 0;

    (void) what;
    r = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        if (c->len > 0)
            n_bad++;                    /* gone mid-request */
        conn_end(c);
        return;
    }
    c->len += (size_t) r;
    while (off < c->len && (n = scan(c->buf + off, c->len - off)) > 0) {
        if (olen + sizeof(notfound) > sizeof(out)) {
            if (write_all(fd, out, olen) < 0)
                break;
            olen = 0;
        }
        memcpy(out + olen, notfound, sizeof(notfound) - 1);
        olen += sizeof(notfound) - 1;
        off += (size_t) n;
        n_requests++;
    }
    if (n < 0) {
        memcpy(out + olen, perm, sizeof(perm) - 1);
        olen += sizeof(perm) - 1;
    }
    if ((olen > 0 && write_all(fd, out, olen) < 0) || n < 0) {
        n_bad += n < 0;
        conn_end(c);
        return;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static void on_conn(struct evconnlistener *l, evutil_socket_t fd,
                    struct sockaddr *sa, int salen, void *arg)
{
    struct smb_conn *c = calloc(1, sizeof(*c));

    (void) l, (void) sa, (void) salen, (void) arg;
    if (c != NULL)
        c->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_data, c);
    if (c == NULL || c->ev == NULL || event_add(c->ev, NULL) < 0) {
        close(fd);                      /* no room: the client retries */
        if (c != NULL && c->ev != NULL)
            event_free(c->ev);
        free(c);
        return;
    }
    c->fd = fd;
    n_conns++;
}

static void on_quit(evutil_socket_t sig, short what, void *arg)
{
    (void) sig, (void) what, (void) arg;
    event_base_loopbreak(base);
}

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "rg-smbaseline: %s%s\n", what, why);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *spec = NULL;
    struct rgb_addr addr;
    struct evconnlistener *lst;
    struct event *ev[3];
    struct timeval life = {3600, 0};
    char    err[256];
    int     ch, fd, i, quiet = 0;

    while ((ch = getopt(argc, argv, "s:d:q")) != -1) {
        if (ch == 's')
            spec = optarg;
        else if (ch == 'd' && atol(optarg) > 0 && atol(optarg) <= 86400)
            life.tv_sec = atol(optarg);
        else if (ch == 'q')
            quiet = 1;
        else
            spec = NULL, optind = argc + 1;
    }
    if (spec == NULL || optind != argc)
        fail("usage: rg-smbaseline -s inet:127.0.0.1:PORT|unix:/path [-d SECS] [-q]", "");
    if (rgb_sock_parse(spec, &addr, err, sizeof(err)) < 0)
        fail(err, "");
    signal(SIGPIPE, SIG_IGN);
    if ((fd = rgb_sock_listen(&addr, 1024)) < 0 || (base = event_base_new()) == NULL)
        fail("cannot listen: ", strerror(errno));
    /* Accepted sockets are non-blocking: a client that leaves the replies
     * to its pipelined requests unread is dropped, not waited for. */
    lst = evconnlistener_new(base, on_conn, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    ev[0] = evsignal_new(base, SIGTERM, on_quit, NULL);
    ev[1] = evsignal_new(base, SIGINT, on_quit, NULL);
    ev[2] = evtimer_new(base, on_quit, NULL);
    for (i = 0; i < 3; i++)
        if (lst == NULL || ev[i] == NULL || event_add(ev[i], i == 2 ? &life : NULL) < 0)
            fail("cannot set up events", "");
    if (!quiet)
        fprintf(stderr, "rg-smbaseline: listening on %s, answering NOTFOUND\n", spec);
    event_base_dispatch(base);
    fprintf(stderr, "SMBASELINE requests=%llu connections=%llu bad_requests=%llu\n",
            n_requests, n_conns, n_bad);
    if (addr.family == AF_UNIX)
        (void) unlink(((struct sockaddr_un *) &addr.ss)->sun_path);
    return 0;
}
