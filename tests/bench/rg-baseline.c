/*
 * rg-baseline - protocol-ceiling baseline for the Postfix policy protocol.
 *
 * A trivial policy server: it reads each request (name=value lines up to an
 * empty line) and answers "action=DUNNO\n\n" (or -a TEXT). What a real
 * policy daemon does beyond that is its own cost; this server measures
 * the cost of the protocol, the sockets and the load generator alone.
 *
 * Usage: rg-baseline -s inet:127.0.0.1:PORT|unix:/path [-a ACTION] [-d SECS]
 *                    [-R RAW] [-x] [-V] [-D N] [-q]
 *   -a ACTION  reply "action=ACTION" (default DUNNO)
 *   -R RAW     reply RAW exactly, "\n" standing for a newline; an empty
 *              RAW never replies (client self-tests: bad and missing replies)
 *   -d SECS    exit by itself after SECS seconds (default 3600)
 *   -x         fragment every reply: one byte per write, with a short
 *              pause, to test a client's handling of partial reads
 *   -V         verify that every request carries exactly the attributes
 *              Postfix 3.7 smtpd sends, in its order (rg-loadgen self-test)
 *   -D N       print the first N requests on stderr
 *   -q         no start-up message
 * On SIGTERM, SIGINT or the -d limit it prints one line on stderr:
 *   BASELINE requests=N connections=N bad_requests=N order_mismatch=N ...
 *
 * Errors: a line longer than 2048 bytes, more than 100 attributes, a line
 * without '=' or a request over 64 KiB closes that connection (counted in
 * bad_requests); set-up failures exit 1 with a message.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#define _POSIX_C_SOURCE 200809L
#include "rgb_sock.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN   2048     /* one attribute line, newline included */
#define ATTR_MAX       100      /* attributes per request */
#define REQ_MAX        65536    /* bytes per request */
#define IN_BUF         8192
#define OUT_MAX        1100

/* The attributes Postfix 3.7.11 smtpd sends, in its wire order (captured
 * from a real smtpd; SMTPD_POLICY_README lists the same set differently). */
static const char *const postfix37_attrs[] = {
    "request", "protocol_state", "protocol_name", "client_address",
    "client_name", "client_port", "reverse_client_name", "server_address",
    "server_port", "helo_name", "sender", "recipient", "recipient_count",
    "queue_id", "instance", "size", "etrn_domain", "stress", "sasl_method",
    "sasl_username", "sasl_sender", "ccert_subject", "ccert_issuer",
    "ccert_fingerprint", "ccert_pubkey_fingerprint", "encryption_protocol",
    "encryption_cipher", "encryption_keysize", "policy_context",
};
#define N_POSTFIX37 (sizeof(postfix37_attrs) / sizeof(postfix37_attrs[0]))

struct conn {
    int     fd;
    struct event *ev;
    struct event *wev;
    char    in[IN_BUF];
    size_t  in_len;
    size_t  req_bytes;          /* bytes of the request being read */
    int     nattr;
    int     order_bad;
    char    out[OUT_MAX];
    size_t  out_len, out_off;
};

static struct event_base *base;
static char reply[OUT_MAX];
static size_t reply_len;
static int opt_fragment, opt_verify, opt_dump, opt_silent;
static unsigned long long n_requests, n_conns, n_bad, n_order, n_dumped;
static unsigned long long n_state_rcpt, n_state_eom, n_state_other;

static void conn_close(struct conn *c)
{
    event_free(c->ev);
    if (c->wev)
        event_free(c->wev);
    close(c->fd);
    free(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    ssize_t n;

    (void) what;
    while (c->out_off < c->out_len) {
        n = write(fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;                     /* wev stays pending */
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t) n;
    }
    c->out_len = c->out_off = 0;
    event_del(c->wev);
}

/* send_reply - answer one request; returns -1 if the connection closed */
static int send_reply(struct conn *c)
{
    ssize_t n;
    size_t off = 0;

    if (opt_silent)
        return 0;
    if (opt_fragment) {
        struct timespec pause = {0, 200000};

        /* Blocking-ish byte-by-byte writes: a test mode, not a fast one. */
        while (off < reply_len) {
            n = write(c->fd, reply + off, 1);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                return -1;
            off++;
            nanosleep(&pause, NULL);
        }
        return 0;
    }
    if (c->out_len == 0) {              /* else queue behind earlier ones */
        n = write(c->fd, reply, reply_len);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        off = n > 0 ? (size_t) n : 0;
        if (off == reply_len)
            return 0;
    }
    if (c->out_len + reply_len - off > sizeof(c->out))
        return -1;                      /* client does not read replies */
    memcpy(c->out + c->out_len, reply + off, reply_len - off);
    c->out_len += reply_len - off;
    if (c->wev == NULL)
        c->wev = event_new(base, c->fd, EV_WRITE | EV_PERSIST, on_write, c);
    event_add(c->wev, NULL);
    return 0;
}

/* handle_line - one request line (without newline); -1 closes */
static int handle_line(struct conn *c, char *line, size_t len)
{
    char *eq;

    if (len == 0) {
        if (c->nattr == 0)
            return -1;                  /* empty request */
        n_requests++;
        if (opt_verify && (c->order_bad || (size_t) c->nattr != N_POSTFIX37))
            n_order++;
        if (opt_dump && n_dumped < (unsigned long long) opt_dump) {
            fprintf(stderr, "---- end of request %llu\n", n_dumped + 1);
            n_dumped++;
        }
        c->nattr = 0;
        c->order_bad = 0;
        c->req_bytes = 0;
        return send_reply(c);
    }
    eq = memchr(line, '=', len);
    if (eq == NULL || eq == line)
        return -1;
    if (++c->nattr > ATTR_MAX)
        return -1;
    if (opt_dump && n_dumped < (unsigned long long) opt_dump)
        fprintf(stderr, "%.*s\n", (int) len, line);
    if (opt_verify) {
        size_t nl = (size_t) (eq - line);
        size_t i = (size_t) c->nattr - 1;

        if (i >= N_POSTFIX37 || strlen(postfix37_attrs[i]) != nl
            || memcmp(postfix37_attrs[i], line, nl) != 0)
            c->order_bad = 1;
    }
    if ((size_t) (eq - line) == 14 && memcmp(line, "protocol_state", 14) == 0) {
        size_t vl = len - 15;

        if (vl == 4 && memcmp(eq + 1, "RCPT", 4) == 0)
            n_state_rcpt++;
        else if (vl == 14 && memcmp(eq + 1, "END-OF-MESSAGE", 14) == 0)
            n_state_eom++;
        else
            n_state_other++;
    }
    return 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    ssize_t n;
    size_t start = 0, i;

    (void) what;
    n = read(fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n < 0 || c->in_len > 0 || c->nattr > 0)
            n_bad++;                    /* died mid-request */
        conn_close(c);
        return;
    }
    c->req_bytes += (size_t) n;
    if (c->req_bytes > REQ_MAX) {
        n_bad++;
        conn_close(c);
        return;
    }
    for (i = c->in_len; i < c->in_len + (size_t) n; i++) {
        if (c->in[i] != '\n')
            continue;
        if (handle_line(c, c->in + start, i - start) < 0) {
            n_bad++;
            conn_close(c);
            return;
        }
        start = i + 1;
    }
    c->in_len += (size_t) n;
    if (start > 0) {
        memmove(c->in, c->in + start, c->in_len - start);
        c->in_len -= start;
    }
    if (c->in_len >= LINE_MAX_LEN) {    /* partial line already too long */
        n_bad++;
        conn_close(c);
    }
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    int fd;
    struct conn *c;

    (void) what;
    (void) arg;
    for (;;) {
        fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return;
        if (rgb_nonblock(fd) < 0 || (c = calloc(1, sizeof(*c))) == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
        if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
            if (c->ev)
                event_free(c->ev);
            close(fd);
            free(c);
            continue;
        }
        n_conns++;
    }
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    (void) sig;
    (void) what;
    (void) arg;
    event_base_loopbreak(base);
}

static void usage(void)
{
    fprintf(stderr, "usage: rg-baseline -s inet:127.0.0.1:PORT|unix:/path "
            "[-a ACTION] [-d SECS] [-R RAW] [-x] [-V] [-D N] [-q]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    const char *spec = NULL, *action = "DUNNO", *raw = NULL;
    struct rgb_addr addr;
    char err[256];
    int ch, lfd, quiet = 0;
    long lifetime = 3600;
    struct event *lev, *sterm, *sint, *timer;
    struct timeval tv;

    while ((ch = getopt(argc, argv, "s:a:d:R:xVD:q")) != -1) {
        switch (ch) {
        case 's': spec = optarg; break;
        case 'a': action = optarg; break;
        case 'R': raw = optarg; break;
        case 'd': lifetime = atol(optarg); break;
        case 'x': opt_fragment = 1; break;
        case 'V': opt_verify = 1; break;
        case 'D': opt_dump = atoi(optarg); break;
        case 'q': quiet = 1; break;
        default: usage();
        }
    }
    if (spec == NULL || optind != argc || lifetime < 1 || lifetime > 86400)
        usage();
    if (raw != NULL) {
        const char *r;

        for (r = raw, reply_len = 0; *r && reply_len < sizeof(reply) - 1; r++) {
            if (r[0] == '\\' && r[1] == 'n') {
                reply[reply_len++] = '\n';
                r++;
            } else
                reply[reply_len++] = *r;
        }
        opt_silent = reply_len == 0;
    } else {
        reply_len = (size_t) snprintf(reply, sizeof(reply), "action=%s\n\n", action);
        if (reply_len >= sizeof(reply) || strchr(action, '\n') != NULL) {
            fprintf(stderr, "rg-baseline: bad -a action\n");
            return 1;
        }
    }
    if (rgb_sock_parse(spec, &addr, err, sizeof(err)) < 0) {
        fprintf(stderr, "rg-baseline: %s\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((lfd = rgb_sock_listen(&addr, 1024)) < 0) {
        fprintf(stderr, "rg-baseline: listen %s: %s\n", spec, strerror(errno));
        return 1;
    }
    if ((base = event_base_new()) == NULL) {
        fprintf(stderr, "rg-baseline: event_base_new failed\n");
        return 1;
    }
    lev = event_new(base, lfd, EV_READ | EV_PERSIST, on_accept, NULL);
    sterm = evsignal_new(base, SIGTERM, on_stop, NULL);
    sint = evsignal_new(base, SIGINT, on_stop, NULL);
    timer = evtimer_new(base, on_stop, NULL);
    tv.tv_sec = lifetime;
    tv.tv_usec = 0;
    if (lev == NULL || sterm == NULL || sint == NULL || timer == NULL
        || event_add(lev, NULL) < 0 || event_add(sterm, NULL) < 0
        || event_add(sint, NULL) < 0 || event_add(timer, &tv) < 0) {
        fprintf(stderr, "rg-baseline: cannot set up events\n");
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "rg-baseline: listening on %s, answering action=%s\n",
                spec, action);
    event_base_dispatch(base);
    fprintf(stderr, "BASELINE requests=%llu connections=%llu bad_requests=%llu "
            "order_mismatch=%llu rcpt=%llu eom=%llu other_state=%llu\n",
            n_requests, n_conns, n_bad, n_order, n_state_rcpt, n_state_eom,
            n_state_other);
    if (addr.family == AF_UNIX)
        (void) unlink(((struct sockaddr_un *) &addr.ss)->sun_path);
    return 0;
}
