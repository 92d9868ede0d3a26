/*
 * rg-loadgen - load generator for the Postfix policy delegation protocol.
 *
 * Opens CONNS persistent connections to a policy server and keeps one
 * request outstanding on each, as every Postfix smtpd process does. Each
 * connection plays SMTP transactions: 1..MAXRCPT requests with
 * protocol_state=RCPT, then, if at least one recipient was accepted (as
 * Postfix only reaches DATA then), one END-OF-MESSAGE request with
 * recipient_count. Every request carries all 29 attributes Postfix 3.7
 * sends, in the order its smtpd writes them (not the README's order);
 * "instance" is unique per transaction, "queue_id" is empty
 * at the first RCPT and set once a recipient was accepted. Clients, HELO
 * names, senders and recipients come from pools (-p FILE and/or -C/-H/-F/-R).
 *
 * Usage: rg-loadgen -s inet:127.0.0.1:PORT|unix:/path [-c CONNS] [-d SECS]
 *          [-w WARMUP_SECS] [-n MAXREQ] [-t TIMEOUT_MS] [-m MAXRCPT]
 *          [-p POOLFILE] [-C ip,ip] [-H helo,..] [-F sender,..] [-R rcpt,..]
 *          [-r SEED] [-q]
 *        rg-loadgen -s SOCKET -P SECS [pool options]   (readiness probe)
 *
 * Pool file: one entry a line, '#' comments:
 *   client IP | helo NAME | sender ADDR ("<>" = null sender) | rcpt ADDR
 *   tx CLIENT HELO SENDER [SASL_USER|-] [tls]   (a consistent transaction)
 * With tx lines a transaction takes one tx entry; otherwise it draws client,
 * HELO and sender independently. Recipients always come from the rcpt pool.
 *
 * Output: a human summary (rate, latency percentiles from a log-linear
 * histogram, counts of each reply action truncated to 30 characters,
 * errors by kind), then one line
 *   RESULT rps=.. requests=.. sent=.. p50_us=.. p90_us=.. p99_us=.. max_us=..
 *          mean_us=.. errors=.. accepted=.. refused=.. transactions=..
 * Probe mode prints "READY ms=N action=..." or "NOTREADY ms=N".
 * Requests sent during the warm-up are not measured; the run stops by
 * itself after WARMUP+SECS seconds or MAXREQ measured requests, then waits
 * at most min(TIMEOUT, 5 s) for replies still outstanding. SIGTERM or
 * SIGINT ends the run early the same way (waiting at most 1 s).
 *
 * Errors: bad options or pool exit 1; exit 2 if no request was answered.
 * Connection failures, EOF, timeouts (TIMEOUT_MS, default 10000) and
 * malformed replies (no action=, over 4 KiB, data nobody asked for) are
 * counted, the connection is closed and opened again 100 ms later.
 * Only loopback targets are accepted.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#define _POSIX_C_SOURCE 200809L
#include "rgb_hist.h"
#include "rgb_run.h"
#include "rgb_sock.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS      4096
#define OUT_MAX        4096
#define REPLY_MAX      4096
#define VALUE_MAX      255
#define ACTION_KEYLEN  30
#define ACTION_SLOTS   64
#define TICK_US        20000
#define RETRY_US       100000

/* ---- pools ---------------------------------------------------------- */

struct pool {
    char  **v;
    size_t  n, cap;
};

struct tuple {
    const char *client, *helo, *sender, *sasl;
    int     tls;
};

static struct pool p_client, p_helo, p_sender, p_rcpt;
static struct tuple *tuples;
static size_t n_tuples, cap_tuples;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);

    if (q == NULL) {
        fprintf(stderr, "rg-loadgen: out of memory\n");
        exit(1);
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xrealloc(NULL, n), s, n);
}

/* pool_value - validate and copy one value; "<>" becomes "" */
static char *pool_value(const char *s, const char *where)
{
    if (strlen(s) > VALUE_MAX) {
        fprintf(stderr, "rg-loadgen: %s: value longer than %d bytes\n",
                where, VALUE_MAX);
        exit(1);
    }
    return xstrdup(strcmp(s, "<>") == 0 ? "" : s);
}

static void pool_add(struct pool *p, const char *s, const char *where)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    p->v[p->n++] = pool_value(s, where);
}

static void pool_add_list(struct pool *p, const char *list)
{
    char *copy = xstrdup(list), *save = NULL, *tok;

    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        pool_add(p, tok, "command line");
    free(copy);
}

static void pool_load(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[2048], where[512];
    unsigned long lineno = 0;

    if (fp == NULL) {
        fprintf(stderr, "rg-loadgen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *tok[8], *save = NULL, *t;
        int nt = 0;

        lineno++;
        snprintf(where, sizeof(where), "%s:%lu", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            fprintf(stderr, "rg-loadgen: %s: line too long\n", where);
            exit(1);
        }
        if ((t = strchr(line, '#')) != NULL)
            *t = '\0';
        for (t = strtok_r(line, " \t\r\n", &save); t && nt < 8;
             t = strtok_r(NULL, " \t\r\n", &save))
            tok[nt++] = t;
        if (nt == 0)
            continue;
        if (nt == 2 && strcmp(tok[0], "client") == 0)
            pool_add(&p_client, tok[1], where);
        else if (nt == 2 && strcmp(tok[0], "helo") == 0)
            pool_add(&p_helo, tok[1], where);
        else if (nt == 2 && strcmp(tok[0], "sender") == 0)
            pool_add(&p_sender, tok[1], where);
        else if (nt == 2 && strcmp(tok[0], "rcpt") == 0)
            pool_add(&p_rcpt, tok[1], where);
        else if (nt >= 4 && nt <= 6 && strcmp(tok[0], "tx") == 0) {
            struct tuple *tp;

            if (n_tuples == cap_tuples) {
                cap_tuples = cap_tuples ? cap_tuples * 2 : 64;
                tuples = xrealloc(tuples, cap_tuples * sizeof(*tuples));
            }
            tp = &tuples[n_tuples++];
            tp->client = pool_value(tok[1], where);
            tp->helo = pool_value(tok[2], where);
            tp->sender = pool_value(tok[3], where);
            tp->sasl = pool_value(nt >= 5 && strcmp(tok[4], "-") != 0
                                  ? tok[4] : "", where);
            tp->tls = nt == 6 && strcmp(tok[5], "tls") == 0;
            if (nt == 6 && !tp->tls && strcmp(tok[5], "notls") != 0) {
                fprintf(stderr, "rg-loadgen: %s: expected tls or notls\n", where);
                exit(1);
            }
        } else {
            fprintf(stderr, "rg-loadgen: %s: unknown entry \"%s\"\n", where, tok[0]);
            exit(1);
        }
    }
    if (ferror(fp)) {
        fprintf(stderr, "rg-loadgen: %s: read error\n", path);
        exit(1);
    }
    fclose(fp);
}

static size_t rng_below(size_t n)
{
    return (size_t) (rgb_rng() % n);
}

static struct rgb_hist hist;

/* ---- reply actions ---------------------------------------------------- */

struct action_count {
    char    key[ACTION_KEYLEN + 1];
    unsigned long long n;
};

static struct action_count actions[ACTION_SLOTS];
static int n_actions;
static unsigned long long n_actions_other;

static void action_count(const char *a, size_t len)
{
    int i;

    if (len > ACTION_KEYLEN)
        len = ACTION_KEYLEN;
    for (i = 0; i < n_actions; i++)
        if (strncmp(actions[i].key, a, len) == 0 && actions[i].key[len] == '\0') {
            actions[i].n++;
            return;
        }
    if (n_actions == ACTION_SLOTS) {
        n_actions_other++;
        return;
    }
    memcpy(actions[n_actions].key, a, len);
    actions[n_actions].key[len] = '\0';
    actions[n_actions++].n = 1;
}

/* action_accepts - would smtpd go on with this recipient? */
static int action_accepts(const char *a, size_t len)
{
    static const char *const refuse[] = {
        "REJECT", "DEFER", "DEFER_IF_PERMIT", "DISCARD",
    };
    size_t i, k;

    if (len > 0 && (a[0] == '4' || a[0] == '5'))
        return 0;
    for (i = 0; i < sizeof(refuse) / sizeof(refuse[0]); i++) {
        k = strlen(refuse[i]);
        if (len >= k && strncasecmp(a, refuse[i], k) == 0
            && (len == k || a[k] == ' '))
            return 0;
    }
    return 1;
}

/* ---- connections ------------------------------------------------------ */

enum { ST_DOWN, ST_CONNECTING, ST_IDLE, ST_SENDING, ST_WAITING };
enum { E_CONNECT, E_EOF, E_TIMEOUT, E_IO, E_PROTO, E_KINDS };
static const char *const err_names[E_KINDS] = {
    "connect", "eof", "timeout", "io", "protocol",
};

struct conn {
    int     id, fd, state;
    struct event *rev, *wev;
    char    out[OUT_MAX];
    size_t  out_len, out_off;
    char    in[REPLY_MAX + 1];
    size_t  in_len;
    uint64_t t_sent, retry_at;
    int     measured;
    /* the transaction being played */
    struct tuple tx;
    int     in_txn, is_eom, nrcpt, rcpt_i, accepted;
    const char *rcpt_cur, *rcpt_acc;
    char    queue_id[16], instance[64];
    unsigned size, client_port;
};

static struct event_base *base;
static struct rgb_addr target;
static struct conn *conns;
static int n_conns = 8, max_rcpt = 3;
static long timeout_us = 10000000;
static uint64_t t_start, t_meas, t_stop_send, t_hard, t_last;
static unsigned long long max_req = 10000000ULL;
static unsigned long long n_sent_total, n_sent_meas, n_done, n_rcpt, n_eom;
static unsigned long long n_txn, n_accepted, n_refused, n_errors[E_KINDS];
static unsigned long long txn_seq;
static int stopping;

static void conn_next(struct conn *c);
static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

static void conn_close(struct conn *c)
{
    if (c->rev) {
        event_free(c->rev);
        c->rev = NULL;
    }
    if (c->wev) {
        event_free(c->wev);
        c->wev = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = ST_DOWN;
}

static void conn_fail(struct conn *c, int kind, uint64_t now)
{
    n_errors[kind]++;
    conn_close(c);
    c->in_txn = 0;                      /* smtpd would give up this one */
    c->retry_at = now + RETRY_US;
}

static void conn_open(struct conn *c, uint64_t now)
{
    int in_progress;

    c->in_len = 0;
    c->fd = rgb_sock_connect(&target, &in_progress);
    if (c->fd < 0) {
        conn_fail(c, E_CONNECT, now);
        return;
    }
    c->rev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(base, c->fd, EV_WRITE, on_write, c);
    if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) < 0) {
        fprintf(stderr, "rg-loadgen: cannot add events\n");
        exit(1);
    }
    if (in_progress) {
        c->state = ST_CONNECTING;
        event_add(c->wev, NULL);
    } else {
        c->state = ST_IDLE;
        conn_next(c);
    }
}

static void txn_begin(struct conn *c)
{
    if (n_tuples > 0)
        c->tx = tuples[rng_below(n_tuples)];
    else {
        c->tx.client = p_client.v[rng_below(p_client.n)];
        c->tx.helo = p_helo.v[rng_below(p_helo.n)];
        c->tx.sender = p_sender.v[rng_below(p_sender.n)];
        c->tx.sasl = "";
        c->tx.tls = 0;
    }
    c->in_txn = 1;
    c->is_eom = 0;
    c->nrcpt = 1 + (int) rng_below((size_t) max_rcpt);
    c->rcpt_i = 0;
    c->accepted = 0;
    c->rcpt_acc = NULL;
    c->queue_id[0] = '\0';
    c->size = 1000 + (unsigned) rng_below(60000);
    c->client_port = 1024 + (unsigned) rng_below(64000);
    /* Postfix: hex pid, seconds, microseconds, counter; unique per MAIL. */
    snprintf(c->instance, sizeof(c->instance), "%x.%llx.%x.%llx",
             (unsigned) getpid(), (unsigned long long) t_start,
             (unsigned) c->id, ++txn_seq);
    n_txn++;
}

/* build_request - format the next request of the transaction */
static void build_request(struct conn *c)
{
    const char *rcpt;
    int n, count;

    if (!c->is_eom) {
        c->rcpt_cur = p_rcpt.v[rng_below(p_rcpt.n)];
        rcpt = c->rcpt_cur;
        count = 0;
    } else {
        /* At END-OF-MESSAGE recipient is set only for exactly one. */
        rcpt = c->accepted == 1 ? c->rcpt_acc : "";
        count = c->accepted;
    }
    /* The order is the one Postfix 3.7.11 puts on the wire (captured from
     * a real smtpd), which differs from the list in SMTPD_POLICY_README. */
    n = snprintf(c->out, sizeof(c->out),
                 "request=smtpd_access_policy\n"
                 "protocol_state=%s\n"
                 "protocol_name=ESMTP\n"
                 "client_address=%s\n"
                 "client_name=unknown\n"
                 "client_port=%u\n"
                 "reverse_client_name=unknown\n"
                 "server_address=127.0.0.1\n"
                 "server_port=25\n"
                 "helo_name=%s\n"
                 "sender=%s\n"
                 "recipient=%s\n"
                 "recipient_count=%d\n"
                 "queue_id=%s\n"
                 "instance=%s\n"
                 "size=%u\n"
                 "etrn_domain=\n"
                 "stress=\n"
                 "sasl_method=%s\n"
                 "sasl_username=%s\n"
                 "sasl_sender=\n"
                 "ccert_subject=\n"
                 "ccert_issuer=\n"
                 "ccert_fingerprint=\n"
                 "ccert_pubkey_fingerprint=\n"
                 "encryption_protocol=%s\n"
                 "encryption_cipher=%s\n"
                 "encryption_keysize=%s\n"
                 "policy_context=\n"
                 "\n",
                 c->is_eom ? "END-OF-MESSAGE" : "RCPT",
                 c->tx.client, c->client_port, c->tx.helo, c->tx.sender,
                 rcpt, count, c->queue_id, c->instance, c->size,
                 c->tx.sasl[0] ? "PLAIN" : "", c->tx.sasl,
                 c->tx.tls ? "TLSv1.3" : "",
                 c->tx.tls ? "TLS_AES_256_GCM_SHA384" : "",
                 c->tx.tls ? "256" : "0");
    if (n < 0 || (size_t) n >= sizeof(c->out)) {
        fprintf(stderr, "rg-loadgen: request too long\n");
        exit(1);
    }
    c->out_len = (size_t) n;
    c->out_off = 0;
}

static void conn_flush(struct conn *c, uint64_t now)
{
    ssize_t n;

    while (c->out_off < c->out_len) {
        n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            event_add(c->wev, NULL);
            return;
        }
        if (n <= 0) {
            conn_fail(c, errno == EPIPE || errno == ECONNRESET ? E_EOF : E_IO, now);
            return;
        }
        c->out_off += (size_t) n;
    }
    c->state = ST_WAITING;
    n_sent_total++;
}

static void conn_next(struct conn *c)
{
    uint64_t now = rgb_now_us();

    if (stopping || now >= t_stop_send || n_sent_meas >= max_req) {
        stopping = 1;
        c->state = ST_IDLE;
        return;
    }
    if (!c->in_txn)
        txn_begin(c);
    build_request(c);
    c->state = ST_SENDING;
    c->t_sent = now;
    c->measured = now >= t_meas;
    if (c->measured)
        n_sent_meas++;
    conn_flush(c, now);
}

/* reply_done - one complete reply: account for it, advance the txn */
static void reply_done(struct conn *c, const char *action, size_t alen,
                       uint64_t now)
{
    int ok = action_accepts(action, alen);

    if (c->measured) {
        rgb_hist_add(&hist, now - c->t_sent);
        action_count(action, alen);
        n_done++;
        if (c->is_eom)
            n_eom++;
        else {
            n_rcpt++;
            if (ok)
                n_accepted++;
            else
                n_refused++;
        }
        t_last = now;
    }
    c->state = ST_IDLE;
    if (c->is_eom) {
        c->in_txn = 0;
    } else {
        if (ok) {
            c->accepted++;
            c->rcpt_acc = c->rcpt_cur;
            if (c->queue_id[0] == '\0')
                snprintf(c->queue_id, sizeof(c->queue_id), "%010llX",
                         (unsigned long long) (rgb_rng() & 0xFFFFFFFFFFULL));
        }
        if (++c->rcpt_i >= c->nrcpt) {
            if (c->accepted > 0)
                c->is_eom = 1;
            else
                c->in_txn = 0;
        }
    }
    conn_next(c);
}

/* parse_reply - find a whole reply in c->in; 0 = need more, -1 = bad */
static int parse_reply(struct conn *c, uint64_t now)
{
    char *end, *line, *nl, *action = NULL;
    size_t alen = 0, used;

    c->in[c->in_len] = '\0';
    if (c->in_len >= 1 && c->in[0] == '\n')
        return -1;                      /* reply without attributes */
    end = strstr(c->in, "\n\n");
    if (end == NULL)
        return c->in_len >= REPLY_MAX ? -1 : 0;
    used = (size_t) (end - c->in) + 2;
    if (used != c->in_len)
        return -1;                      /* more than one reply */
    for (line = c->in; line <= end; line = nl + 1) {
        char *eq;

        nl = strchr(line, '\n');
        eq = memchr(line, '=', (size_t) (nl - line));
        if (eq == NULL || eq == line)
            return -1;                  /* not a name=value line */
        if (strncmp(line, "action=", 7) == 0 && action == NULL) {
            action = line + 7;
            alen = (size_t) (nl - action);
        }
    }
    if (action == NULL)
        return -1;
    c->in_len = 0;
    reply_done(c, action, alen, now);
    return 1;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    uint64_t now = rgb_now_us();
    ssize_t n;

    (void) what;
    n = read(fd, c->in + c->in_len, REPLY_MAX - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        conn_fail(c, E_EOF, now);
        return;
    }
    if (n < 0) {
        conn_fail(c, E_IO, now);
        return;
    }
    if (c->state != ST_WAITING) {
        conn_fail(c, E_PROTO, now);     /* data nobody asked for */
        return;
    }
    c->in_len += (size_t) n;
    if (parse_reply(c, now) < 0)
        conn_fail(c, E_PROTO, now);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    uint64_t now = rgb_now_us();

    (void) what;
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
            conn_fail(c, E_CONNECT, now);
            return;
        }
        c->state = ST_IDLE;
        conn_next(c);
    } else if (c->state == ST_SENDING)
        conn_flush(c, now);
}

/* on_tick - timeouts, reconnects, phase changes, the end */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = rgb_now_us();
    int i, busy = 0;

    (void) fd;
    (void) what;
    (void) arg;
    if (now >= t_stop_send || n_sent_meas >= max_req)
        stopping = 1;
    for (i = 0; i < n_conns; i++) {
        struct conn *c = &conns[i];

        if ((c->state == ST_SENDING || c->state == ST_WAITING
             || c->state == ST_CONNECTING)
            && now - (c->state == ST_CONNECTING ? c->retry_at : c->t_sent)
            > (uint64_t) timeout_us) {
            conn_fail(c, c->state == ST_CONNECTING ? E_CONNECT : E_TIMEOUT, now);
        } else if (c->state == ST_DOWN && !stopping && now >= c->retry_at) {
            c->retry_at = now;          /* connect start, for its timeout */
            conn_open(c, now);
        } else if (c->state == ST_IDLE && !stopping)
            conn_next(c);
        if (c->state == ST_SENDING || c->state == ST_WAITING)
            busy++;
    }
    if ((stopping && busy == 0) || now >= t_hard)
        event_base_loopbreak(base);
}

/* on_signal - SIGTERM/SIGINT: stop sending now, report what was measured */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    uint64_t now = rgb_now_us();

    (void) sig;
    (void) what;
    (void) arg;
    stopping = 1;
    rgb_stop_early(now, t_meas, &t_stop_send, &t_hard);
}

/* ---- probe mode --------------------------------------------------------- */

/* probe - wait until the server answers one request; blocking sockets */
static int probe(double secs)
{
    uint64_t t0 = rgb_now_us(), deadline = t0 + (uint64_t) (secs * 1e6);
    struct conn *c = &conns[0];
    struct timespec pause = {0, 5000000};

    while (rgb_now_us() < deadline) {
        int in_progress, fd = rgb_sock_connect(&target, &in_progress);
        uint64_t until = rgb_now_us() + 1000000;

        if (fd >= 0) {
            size_t off = 0;
            ssize_t n;

            txn_begin(c);
            build_request(c);
            c->in_len = 0;
            while (rgb_now_us() < until) {
                if (off < c->out_len) {
                    n = write(fd, c->out + off, c->out_len - off);
                    if (n > 0)
                        off += (size_t) n;
                    else if (n < 0 && errno != EAGAIN && errno != ENOTCONN
                             && errno != EINTR)
                        break;
                } else {
                    n = read(fd, c->in + c->in_len, REPLY_MAX - c->in_len);
                    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        break;
                    if (n > 0) {
                        char *end;

                        c->in_len += (size_t) n;
                        c->in[c->in_len] = '\0';
                        if ((end = strstr(c->in, "\n\n")) != NULL) {
                            char *a = strstr(c->in, "action=");

                            printf("READY ms=%.1f action=%.*s\n",
                                   (double) (rgb_now_us() - t0) / 1000.0,
                                   a ? (int) strcspn(a + 7, "\n") : 0,
                                   a ? a + 7 : "");
                            close(fd);
                            return 0;
                        }
                        if (c->in_len >= REPLY_MAX)
                            break;
                        continue;
                    }
                }
                {
                    struct timespec tiny = {0, 200000};

                    nanosleep(&tiny, NULL);
                }
            }
            close(fd);
        }
        nanosleep(&pause, NULL);
    }
    printf("NOTREADY ms=%.1f\n", (double) (rgb_now_us() - t0) / 1000.0);
    return 2;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: rg-loadgen -s inet:127.0.0.1:PORT|unix:/path [-c CONNS] "
            "[-d SECS] [-w WARMUP] [-n MAXREQ]\n"
            "          [-t TIMEOUT_MS] [-m MAXRCPT] [-p POOLFILE] [-C ips] "
            "[-H helos] [-F senders] [-R rcpts]\n"
            "          [-r SEED] [-q] [-P PROBE_SECS]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    const char *spec = NULL;
    double duration = 10, warmup = 0, probe_secs = 0, elapsed;
    char err[256];
    int ch, i, quiet = 0;
    uint64_t seed = 0;
    struct event *tick, *sterm, *sint;
    struct timeval tv = {0, TICK_US};

    while ((ch = getopt(argc, argv, "s:c:d:w:n:t:m:p:C:H:F:R:r:qP:")) != -1) {
        switch (ch) {
        case 's': spec = optarg; break;
        case 'c': n_conns = (int) rgb_num_arg("rg-loadgen", optarg, 1, MAX_CONNS, ch); break;
        case 'd': duration = rgb_num_arg("rg-loadgen", optarg, 0.01, 3600, ch); break;
        case 'w': warmup = rgb_num_arg("rg-loadgen", optarg, 0, 600, ch); break;
        case 'n': max_req = (unsigned long long) rgb_num_arg("rg-loadgen", optarg, 1, 1e12, ch); break;
        case 't': timeout_us = (long) rgb_num_arg("rg-loadgen", optarg, 1, 600000, ch) * 1000; break;
        case 'm': max_rcpt = (int) rgb_num_arg("rg-loadgen", optarg, 1, 1000, ch); break;
        case 'p': pool_load(optarg); break;
        case 'C': pool_add_list(&p_client, optarg); break;
        case 'H': pool_add_list(&p_helo, optarg); break;
        case 'F': pool_add_list(&p_sender, optarg); break;
        case 'R': pool_add_list(&p_rcpt, optarg); break;
        case 'r': seed = (uint64_t) rgb_num_arg("rg-loadgen", optarg, 0, 1e18, ch); break;
        case 'q': quiet = 1; break;
        case 'P': probe_secs = rgb_num_arg("rg-loadgen", optarg, 0.01, 600, ch); break;
        default: usage();
        }
    }
    if (spec == NULL || optind != argc)
        usage();
    if (rgb_sock_parse(spec, &target, err, sizeof(err)) < 0) {
        fprintf(stderr, "rg-loadgen: %s\n", err);
        return 1;
    }
    /* Defaults keep a run meaningful with no pool at all. */
    if (p_client.n == 0)
        pool_add(&p_client, "192.0.2.10", "default");
    if (p_helo.n == 0)
        pool_add(&p_helo, "mail.example.org", "default");
    if (p_sender.n == 0)
        pool_add(&p_sender, "someone@example.org", "default");
    if (p_rcpt.n == 0)
        pool_add(&p_rcpt, "rcpt@example.net", "default");
    rgb_rng_seed(seed);
    signal(SIGPIPE, SIG_IGN);
    t_start = rgb_now_us();

    conns = calloc((size_t) n_conns, sizeof(*conns));
    if (conns == NULL) {
        fprintf(stderr, "rg-loadgen: out of memory\n");
        return 1;
    }
    for (i = 0; i < n_conns; i++) {
        conns[i].id = i;
        conns[i].fd = -1;
    }
    if (probe_secs > 0)
        return probe(probe_secs);

    rgb_nofile(n_conns);
    if ((base = event_base_new()) == NULL) {
        fprintf(stderr, "rg-loadgen: event_base_new failed\n");
        return 1;
    }
    t_meas = t_start + (uint64_t) (warmup * 1e6);
    t_stop_send = t_meas + (uint64_t) (duration * 1e6);
    t_hard = t_stop_send + (uint64_t) (timeout_us < 5000000 ? timeout_us : 5000000);
    for (i = 0; i < n_conns; i++) {
        conns[i].retry_at = t_start;
        conn_open(&conns[i], t_start);
    }
    tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    sterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    sint = evsignal_new(base, SIGINT, on_signal, NULL);
    if (tick == NULL || event_add(tick, &tv) < 0 || sterm == NULL
        || sint == NULL || event_add(sterm, NULL) < 0 || event_add(sint, NULL) < 0) {
        fprintf(stderr, "rg-loadgen: cannot add timer\n");
        return 1;
    }
    event_base_dispatch(base);

    /* Whatever is still outstanding at the hard stop did not get an answer. */
    for (i = 0; i < n_conns; i++) {
        if (conns[i].state == ST_SENDING || conns[i].state == ST_WAITING)
            n_errors[E_TIMEOUT]++;
        conn_close(&conns[i]);
    }
    elapsed = rgb_elapsed(t_meas, t_stop_send, t_last, n_sent_meas >= max_req);
    {
        unsigned long long errs = 0;
        double rps = elapsed > 0 ? (double) n_done / elapsed : 0;

        for (i = 0; i < E_KINDS; i++)
            errs += n_errors[i];
        if (!quiet) {
            printf("target       %s  conns=%d  warmup=%.1fs  measured=%.2fs\n",
                   spec, n_conns, warmup, elapsed);
            printf("requests     %llu answered (%llu RCPT, %llu END-OF-MESSAGE), "
                   "%llu transactions, %llu sent in all\n",
                   n_done, n_rcpt, n_eom, n_txn, n_sent_total);
            printf("rate         %.1f requests/s\n", rps);
            printf("latency_us   p50=%llu p90=%llu p99=%llu max=%llu mean=%.1f\n",
                   (unsigned long long) rgb_hist_pct(&hist, 0.50),
                   (unsigned long long) rgb_hist_pct(&hist, 0.90),
                   (unsigned long long) rgb_hist_pct(&hist, 0.99), hist.max,
                   rgb_hist_mean(&hist));
            printf("actions:\n");
            for (i = 0; i < n_actions; i++)
                printf("  %10llu  %s\n", actions[i].n, actions[i].key);
            if (n_actions_other)
                printf("  %10llu  (other actions)\n", n_actions_other);
            printf("errors       %llu", errs);
            for (i = 0; i < E_KINDS; i++)
                printf(" %s=%llu", err_names[i], n_errors[i]);
            printf("\n");
        }
        printf("RESULT rps=%.1f requests=%llu sent=%llu p50_us=%llu p90_us=%llu "
               "p99_us=%llu max_us=%llu mean_us=%.1f errors=%llu accepted=%llu "
               "refused=%llu eom=%llu transactions=%llu\n",
               rps, n_done, n_sent_total, (unsigned long long) rgb_hist_pct(&hist, 0.50),
               (unsigned long long) rgb_hist_pct(&hist, 0.90),
               (unsigned long long) rgb_hist_pct(&hist, 0.99), hist.max,
               rgb_hist_mean(&hist), errs, n_accepted,
               n_refused, n_eom, n_txn);
    }
    return n_done > 0 ? 0 : 2;
}
