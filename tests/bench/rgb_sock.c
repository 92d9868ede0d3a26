/*
 * rgb_sock.c - socket helpers for rg-loadgen and rg-baseline.
 *
 * Parses "inet:HOST:PORT" (HOST a numeric IPv4/IPv6 loopback address,
 * IPv6 in brackets, or "localhost") and "unix:/path" specs, opens
 * non-blocking client and server sockets, and reads the monotonic clock.
 * No name resolution is done, so a spec can only name this machine.
 *
 * Errors: see rgb_sock.h; every function returns -1 on failure.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#define _POSIX_C_SOURCE 200809L
#include "rgb_sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *s == '\0' || *end != '\0' || v < 1 || v > 65535)
        return -1;
    *port = (uint16_t) v;
    return 0;
}

/* rgb_sock_parse - parse a socket spec, refuse non-loopback targets */
int rgb_sock_parse(const char *spec, struct rgb_addr *addr,
                   char *err, size_t errlen)
{
    memset(addr, 0, sizeof(*addr));
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *) &addr->ss;
        const char *path = spec + 5;

        if (*path == '\0' || strlen(path) >= sizeof(sun->sun_path)) {
            snprintf(err, errlen, "%s: bad or too long unix socket path", spec);
            return -1;
        }
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, path, strlen(path) + 1);
        addr->len = (socklen_t) sizeof(*sun);
        addr->family = AF_UNIX;
        return 0;
    }
    if (strncmp(spec, "inet:", 5) == 0) {
        char host[128];
        const char *h = spec + 5, *colon;
        uint16_t port;
        size_t hl;

        if (*h == '[') {
            const char *rb = strchr(h, ']');

            if (rb == NULL || rb[1] != ':') {
                snprintf(err, errlen, "%s: expected inet:[v6addr]:port", spec);
                return -1;
            }
            hl = (size_t) (rb - h - 1);
            h++;
            colon = rb + 1;
        } else {
            colon = strrchr(h, ':');
            if (colon == NULL) {
                snprintf(err, errlen, "%s: expected inet:host:port", spec);
                return -1;
            }
            hl = (size_t) (colon - h);
        }
        if (hl == 0 || hl >= sizeof(host)) {
            snprintf(err, errlen, "%s: bad host", spec);
            return -1;
        }
        memcpy(host, h, hl);
        host[hl] = '\0';
        if (parse_port(colon + 1, &port) < 0) {
            snprintf(err, errlen, "%s: bad port", spec);
            return -1;
        }
        if (strcmp(host, "localhost") == 0)
            strcpy(host, "127.0.0.1");
        {
            struct sockaddr_in *sin = (struct sockaddr_in *) &addr->ss;
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &addr->ss;

            if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
                if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
                    snprintf(err, errlen, "%s: only 127.0.0.0/8 may be used", spec);
                    return -1;
                }
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                addr->len = (socklen_t) sizeof(*sin);
                addr->family = AF_INET;
                return 0;
            }
            if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
                if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
                    snprintf(err, errlen, "%s: only ::1 may be used", spec);
                    return -1;
                }
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(port);
                addr->len = (socklen_t) sizeof(*sin6);
                addr->family = AF_INET6;
                return 0;
            }
        }
        snprintf(err, errlen, "%s: host must be a numeric loopback address", spec);
        return -1;
    }
    snprintf(err, errlen, "%s: expected inet:host:port or unix:/path", spec);
    return -1;
}

/* rgb_nonblock - set O_NONBLOCK */
int rgb_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

/* rgb_sock_connect - non-blocking socket + connect */
int rgb_sock_connect(const struct rgb_addr *addr, int *in_progress)
{
    int fd, one = 1;

    *in_progress = 0;
    fd = socket(addr->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rgb_nonblock(fd) < 0) {
        close(fd);
        return -1;
    }
    if (addr->family != AF_UNIX)
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *) &addr->ss, addr->len) < 0) {
        if (errno == EINPROGRESS || errno == EAGAIN) {
            *in_progress = 1;
            return fd;
        }
        {
            int saved = errno;

            close(fd);
            errno = saved;
        }
        return -1;
    }
    return fd;
}

/* rgb_sock_listen - non-blocking listening socket */
int rgb_sock_listen(const struct rgb_addr *addr, int backlog)
{
    int fd, one = 1;

    fd = socket(addr->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (addr->family == AF_UNIX)
        (void) unlink(((const struct sockaddr_un *) &addr->ss)->sun_path);
    else
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *) &addr->ss, addr->len) < 0
        || listen(fd, backlog) < 0 || rgb_nonblock(fd) < 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* rgb_now_us - monotonic clock in microseconds */
uint64_t rgb_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}
