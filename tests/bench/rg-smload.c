/*
 * rg-smload - load generator for the Postfix socketmap protocol.
 *
 * Opens CONNS persistent connections to a socketmap server and keeps one
 * request outstanding on each, as Postfix's socketmap client does (one
 * connection per process, a lookup waits for its answer). A request is the
 * netstring "MAP KEY"; the pairs come from a pool (-p FILE, -k). A reply
 * must be one strict netstring whose payload starts with "OK ",
 * "NOTFOUND ", "TEMP ", "TIMEOUT " or "PERM ".
 *
 * Usage: rg-smload -s inet:127.0.0.1:PORT|unix:/path [-c CONNS] [-d SECS]
 *          [-w WARMUP_SECS] [-n MAXREQ] [-t TIMEOUT_MS] [-p POOLFILE]
 *          [-k 'MAP KEY'] [-r SEED] [-V] [-q]
 *        rg-smload -s SOCKET -P SECS [-k 'MAP KEY']   (readiness probe)
 *   -V  compare every answer with the pool's expected one (mismatches are
 *       counted, the first three printed on stderr)
 *
 * Pool file: one lookup a line, '#' comments: "MAP KEY [EXPECTED]", where
 * EXPECTED (the rest of the line, spaces included) is the reply payload
 * the server should give, e.g. "relayhost a@b.example OK [gw.example]:25"
 * or "tls [mx.example]:25 NOTFOUND " (gen-conf.py --smpool writes them).
 *
 * Output: a human summary (rate, latency percentiles, answers by status,
 * errors by kind), then one line
 *   RESULT rps=.. requests=.. sent=.. p50_us=.. p90_us=.. p99_us=.. max_us=..
 *          mean_us=.. errors=.. ok=.. notfound=.. temp=.. perm=.. mismatch=..
 * errors counts failed connections, EOF, timeouts, malformed replies and
 * the TEMP, TIMEOUT and PERM answers (Postfix defers the mail on each).
 * Probe mode prints "READY ms=N answer=..." or "NOTREADY ms=N". Requests
 * sent during the warm-up are not measured; the run stops after
 * WARMUP+SECS seconds or MAXREQ measured requests, then waits at most
 * min(TIMEOUT, 5 s) for answers still outstanding; SIGTERM or SIGINT ends
 * it early the same way (waiting at most 1 s).
 *
 * Errors: bad options or pool exit 1; exit 2 if no request was answered.
 * A failed connection is closed and opened again 100 ms later. Only
 * loopback targets are accepted.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#define _POSIX_C_SOURCE 200809L
#include "rgb_hist.h"
#include "rgb_run.h"
#include "rgb_sock.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CONNS   4096
#define REQ_MAX     1024        /* one request, netstring framing included */
#define REPLY_MAX   100000      /* Postfix's own cap on a socketmap reply */
#define TICK_US     20000
#define RETRY_US    100000

/* A lookup: its request on the wire, the answer the pool expects. */
struct lookup {
    char   *wire, *expect;
    size_t  wlen;
};

static struct lookup *pool;
static size_t n_pool, cap_pool;

enum { ST_DOWN, ST_IDLE, ST_WAITING };
enum { A_OK, A_NOTFOUND, A_TEMP, A_TIMEOUT, A_PERM, A_KINDS };
static const char *const answer_names[A_KINDS] = {
    "OK ", "NOTFOUND ", "TEMP ", "TIMEOUT ", "PERM ",
};
enum { E_CONNECT, E_EOF, E_TIMEOUT, E_PROTO, E_KINDS };
static const char *const err_names[E_KINDS] = {
    "connect", "eof", "timeout", "protocol",
};

struct smconn {
    struct bufferevent *bev;
    int     state, measured, fresh;  /* fresh: no answer yet on it */
    const struct lookup *lk;
    uint64_t t_sent, retry_at;
};

static struct event_base *base;
static struct rgb_addr target;
static struct smconn *conns;
static int n_conns = 8, verify, probing;
static long timeout_us = 10000000;
static uint64_t t_start, t_meas, t_stop_send, t_hard, t_last;
static unsigned long long max_req = 10000000ULL;
static unsigned long long n_sent, n_sent_meas, n_done, n_mismatch;
static unsigned long long n_answers[A_KINDS], n_errors[E_KINDS];
static struct rgb_hist hist;
static int stopping;

static void die(const char *what)
{
    fprintf(stderr, "rg-smload: %s\n", what);
    exit(1);
}

/* pool_add - "MAP KEY [EXPECTED]" (line without its newline) */
static void pool_add(const char *line, const char *where)
{
    const char *sp1 = strchr(line, ' '), *sp2;
    size_t qlen;
    struct lookup *lk;

    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    qlen = sp2 ? (size_t) (sp2 - line) : strlen(line);
    if (sp1 == NULL || sp1 == line || sp1[1] == ' ' || sp1[1] == '\0'
        || qlen + 16 > REQ_MAX) {
        fprintf(stderr, "rg-smload: %s: expected \"MAP KEY [EXPECTED]\"\n", where);
        exit(1);
    }
    if (n_pool == cap_pool) {
        cap_pool = cap_pool ? cap_pool * 2 : 256;
        if ((pool = realloc(pool, cap_pool * sizeof(*pool))) == NULL)
            die("out of memory");
    }
    lk = &pool[n_pool++];
    if ((lk->wire = malloc(REQ_MAX)) == NULL)
        die("out of memory");
    lk->wlen = (size_t) snprintf(lk->wire, REQ_MAX, "%zu:%.*s,", qlen, (int) qlen, line);
    lk->expect = sp2 ? strdup(sp2 + 1) : NULL;
    if (sp2 && lk->expect == NULL)
        die("out of memory");
}

static void pool_load(const char *path)
{
    FILE   *fp = fopen(path, "r");
    char    line[REQ_MAX + 512], where[600];
    unsigned long lineno = 0;
    size_t  len;

    if (fp == NULL) {
        fprintf(stderr, "rg-smload: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        snprintf(where, sizeof(where), "%s:%lu", path, ++lineno);
        len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(fp)) {
            fprintf(stderr, "rg-smload: %s: line too long\n", where);
            exit(1);
        }
        if (line[0] != '#' && line[0] != '\0')
            pool_add(line, where);
    }
    if (ferror(fp))
        die("pool read error");
    fclose(fp);
}

static void conn_down(struct smconn *c, int kind, uint64_t now)
{
    if (kind >= 0)
        n_errors[kind]++;
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    c->state = ST_DOWN;
    c->retry_at = now + (probing ? RETRY_US / 2 : RETRY_US);
}

/* conn_send - the next lookup, if the run still sends */
static void conn_send(struct smconn *c, uint64_t now)
{
    if (stopping || now >= t_stop_send || n_sent_meas >= max_req) {
        stopping = !probing;
        c->state = ST_IDLE;
        return;
    }
    c->lk = &pool[rgb_rng() % n_pool];
    c->t_sent = now;
    c->measured = now >= t_meas && !probing;
    if (c->measured)
        n_sent_meas++;
    n_sent++;
    c->state = ST_WAITING;
    if (bufferevent_write(c->bev, c->lk->wire, c->lk->wlen) < 0)
        conn_down(c, E_EOF, now);
}

/* answer_kind - the status of a reply payload, or -1 */
static int answer_kind(const char *p, size_t len)
{
    int i;

    for (i = 0; i < A_KINDS; i++) {
        size_t n = strlen(answer_names[i]);

        if (len >= n && memcmp(p, answer_names[i], n) == 0)
            return i;
    }
    return -1;
}

static void answered(struct smconn *c, const char *p, size_t len, uint64_t now)
{
    int kind = answer_kind(p, len);

    c->fresh = 0;
    if (kind < 0) {
        conn_down(c, E_PROTO, now);
        return;
    }
    if (probing) {
        printf("READY ms=%.1f answer=%.*s\n", (double) (now - t_start) / 1000.0,
               (int) (len < 200 ? len : 200), p);
        n_done++;
        event_base_loopbreak(base);
        return;
    }
    if (c->measured) {
        rgb_hist_add(&hist, now - c->t_sent);
        n_done++;
        n_answers[kind]++;
        if (verify && c->lk->expect
            && (strlen(c->lk->expect) != len || memcmp(c->lk->expect, p, len) != 0)) {
            if (n_mismatch++ < 3)
                fprintf(stderr, "rg-smload: mismatch: %.*s -> \"%.*s\", expected \"%s\"\n",
                        (int) c->lk->wlen, c->lk->wire, (int) (len < 200 ? len : 200),
                        p, c->lk->expect);
        }
        t_last = now;
    }
    conn_send(c, now);
}

/* on_read - one strict netstring reply; anything else is an error */
static void on_read(struct bufferevent *bev, void *arg)
{
    struct smconn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint64_t now = rgb_now_us();
    size_t  avail = evbuffer_get_length(in), i, n = 0;
    unsigned char *p;
    static char reply[REPLY_MAX + 16];

    if (c->state != ST_WAITING) {
        conn_down(c, E_PROTO, now);     /* data nobody asked for */
        return;
    }
    p = evbuffer_pullup(in, (ev_ssize_t) (avail < 9 ? avail : 9));
    for (i = 0; i < avail && i < 8 && p[i] >= '0' && p[i] <= '9'; i++)
        n = n * 10 + (size_t) (p[i] - '0');
    if (i == avail && n <= REPLY_MAX)
        return;                         /* the length is still coming */
    if (i == avail || i == 0 || p[i] != ':' || (p[0] == '0' && i > 1) || n > REPLY_MAX) {
        conn_down(c, E_PROTO, now);
        return;
    }
    if (avail < i + n + 2)
        return;
    if (avail > i + n + 2) {
        conn_down(c, E_PROTO, now);     /* more than the one reply */
        return;
    }
    evbuffer_remove(in, reply, avail);  /* the bufferevent may go below */
    if (reply[i + 1 + n] != ',') {
        conn_down(c, E_PROTO, now);
        return;
    }
    answered(c, reply + i + 1, n, now);
}

/* on_event - EOF or an error; before a first answer, a failed connect */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct smconn *c = arg;

    (void) bev;
    (void) what;
    conn_down(c, c->fresh ? (probing ? -1 : E_CONNECT) : E_EOF, rgb_now_us());
}

/* conn_open - connect; the first request is queued while it completes */
static void conn_open(struct smconn *c, uint64_t now)
{
    int in_progress, fd = rgb_sock_connect(&target, &in_progress);

    if (fd < 0) {
        conn_down(c, probing ? -1 : E_CONNECT, now);
        return;
    }
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL)
        die("cannot create a bufferevent");
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->fresh = 1;
    c->state = ST_IDLE;
    conn_send(c, now);
}

/* on_tick - timeouts, reconnects, the end */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = rgb_now_us();
    struct smconn *c;
    int     busy = 0;

    (void) fd, (void) what, (void) arg;
    stopping |= now >= t_stop_send || n_sent_meas >= max_req;
    for (c = conns; c < conns + n_conns; c++) {
        if (c->state == ST_WAITING && now - c->t_sent > (uint64_t) timeout_us)
            conn_down(c, c->fresh ? E_CONNECT : E_TIMEOUT, now);
        else if (c->bev == NULL && !stopping && now >= c->retry_at)
            conn_open(c, now);
        else if (c->state == ST_IDLE && !stopping)
            conn_send(c, now);
        busy += c->state == ST_WAITING;
    }
    if ((stopping && busy == 0) || now >= t_hard)
        event_base_loopbreak(base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void) sig, (void) what, (void) arg;
    stopping = 1;
    rgb_stop_early(rgb_now_us(), t_meas, &t_stop_send, &t_hard);
}

/* report - the summary (unless quiet) and the RESULT line */
static void report(const char *spec, double warmup, double elapsed, int quiet)
{
    unsigned long long failed = n_answers[A_TEMP] + n_answers[A_TIMEOUT] + n_answers[A_PERM];
    unsigned long long errs = failed;
    double  rps = elapsed > 0 ? (double) n_done / elapsed : 0;
    uint64_t p50 = rgb_hist_pct(&hist, 0.50), p90 = rgb_hist_pct(&hist, 0.90);
    uint64_t p99 = rgb_hist_pct(&hist, 0.99);
    int     i;

    for (i = 0; i < E_KINDS; i++)
        errs += n_errors[i];
    if (!quiet) {
        printf("target       %s  conns=%d  warmup=%.1fs  measured=%.2fs\n",
               spec, n_conns, warmup, elapsed);
        printf("lookups      %llu answered, %llu sent in all\n", n_done, n_sent);
        printf("rate         %.1f lookups/s\n", rps);
        printf("latency_us   p50=%llu p90=%llu p99=%llu max=%llu mean=%.1f\n",
               (unsigned long long) p50, (unsigned long long) p90,
               (unsigned long long) p99, hist.max, rgb_hist_mean(&hist));
        printf("answers     ");
        for (i = 0; i < A_KINDS; i++)
            printf(" %.*s=%llu", (int) strlen(answer_names[i]) - 1, answer_names[i],
                   n_answers[i]);
        printf(" mismatch=%llu%s\n", n_mismatch, verify ? "" : " (not verified)");
        printf("errors       %llu", errs);
        for (i = 0; i < E_KINDS; i++)
            printf(" %s=%llu", err_names[i], n_errors[i]);
        printf(" failed_answers=%llu\n", failed);
    }
    printf("RESULT rps=%.1f requests=%llu sent=%llu p50_us=%llu p90_us=%llu p99_us=%llu "
           "max_us=%llu mean_us=%.1f errors=%llu ok=%llu notfound=%llu temp=%llu perm=%llu "
           "mismatch=%llu\n", rps, n_done, n_sent, (unsigned long long) p50,
           (unsigned long long) p90, (unsigned long long) p99, hist.max,
           rgb_hist_mean(&hist), errs, n_answers[A_OK], n_answers[A_NOTFOUND],
           n_answers[A_TEMP] + n_answers[A_TIMEOUT], n_answers[A_PERM], n_mismatch);
}

static void usage(void)
{
    fprintf(stderr, "usage: rg-smload -s inet:127.0.0.1:PORT|unix:/path [-c CONNS] "
            "[-d SECS] [-w WARMUP] [-n MAXREQ]\n          [-t TIMEOUT_MS] "
            "[-p POOLFILE] [-k 'MAP KEY'] [-r SEED] [-V] [-q] [-P PROBE_SECS]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    /* The numeric options: letter, bounds, and where the value goes. */
    static const struct { char opt; double lo, hi; int slot; } nums[] = {
        {'c', 1, MAX_CONNS, 0}, {'d', 0.01, 3600, 1}, {'w', 0, 600, 2},
        {'n', 1, 1e12, 3}, {'t', 1, 600000, 4}, {'r', 0, 1e18, 5}, {'P', 0.01, 600, 6},
    };
    double  v[7] = {8, 10, 0, 1e7, 10000, 0, 0}, elapsed;
    const char *spec = NULL;
    char    err[256];
    int     ch, i, quiet = 0;
    struct event *ev[3];
    struct timeval tv = {0, TICK_US};

    while ((ch = getopt(argc, argv, "s:c:d:w:n:t:p:k:r:VqP:")) != -1) {
        for (i = 0; i < (int) (sizeof(nums) / sizeof(nums[0])); i++)
            if (nums[i].opt == ch)
                v[nums[i].slot] = rgb_num_arg("rg-smload", optarg, nums[i].lo, nums[i].hi, ch);
        if (ch == 's')
            spec = optarg;
        else if (ch == 'p')
            pool_load(optarg);
        else if (ch == 'k')
            pool_add(optarg, "-k");
        else if (ch == 'V' || ch == 'q')
            *(ch == 'V' ? &verify : &quiet) = 1;
        else if (ch == '?')
            usage();
    }
    if (spec == NULL || optind != argc)
        usage();
    if (rgb_sock_parse(spec, &target, err, sizeof(err)) < 0)
        die(err);
    n_conns = (int) v[0];
    max_req = (unsigned long long) v[3];
    timeout_us = (long) v[4] * 1000;
    if (n_pool == 0)
        pool_add("relayhost someone@example.org", "default");
    rgb_rng_seed((uint64_t) v[5]);
    signal(SIGPIPE, SIG_IGN);
    if (v[6] > 0) {                     /* probe: one connection until one answer */
        probing = 1;
        n_conns = 1;
        v[1] = v[6];
        v[2] = 0;
    }
    rgb_nofile(n_conns);
    if ((conns = calloc((size_t) n_conns, sizeof(*conns))) == NULL)
        die("out of memory");
    if ((base = event_base_new()) == NULL)
        die("event_base_new failed");
    t_start = rgb_now_us();
    t_meas = t_start + (uint64_t) (v[2] * 1e6);
    t_stop_send = t_meas + (uint64_t) (v[1] * 1e6);
    t_hard = probing ? t_stop_send
        : t_stop_send + (uint64_t) (timeout_us < 5000000 ? timeout_us : 5000000);
    for (i = 0; i < n_conns; i++)
        conn_open(&conns[i], t_start);
    ev[0] = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    ev[1] = evsignal_new(base, SIGTERM, on_signal, NULL);
    ev[2] = evsignal_new(base, SIGINT, on_signal, NULL);
    for (i = 0; i < 3; i++)
        if (ev[i] == NULL || event_add(ev[i], i == 0 ? &tv : NULL) < 0)
            die("cannot add events");
    event_base_dispatch(base);
    if (probing) {
        if (n_done == 0)
            printf("NOTREADY ms=%.1f\n", (double) (rgb_now_us() - t_start) / 1000.0);
        return n_done ? 0 : 2;
    }
    /* Whatever is still outstanding at the hard stop got no answer. */
    for (i = 0; i < n_conns; i++)
        if (conns[i].state == ST_WAITING && conns[i].measured)
            n_errors[E_TIMEOUT]++;
    elapsed = rgb_elapsed(t_meas, t_stop_send, t_last, n_sent_meas >= max_req);
    report(spec, v[2], elapsed, quiet);
    return n_done > 0 ? 0 : 2;
}
