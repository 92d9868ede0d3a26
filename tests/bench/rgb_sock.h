/*
 * rgb_sock.h - socket helpers shared by the relayguard benchmark tools.
 *
 * Usage: rgb_sock_parse("inet:127.0.0.1:10040" | "inet:[::1]:10040" |
 * "unix:/path", &addr, err, sizeof(err)) fills an rgb_addr; only loopback
 * addresses (127.0.0.0/8, ::1, "localhost") are accepted, because the
 * benchmark must never send traffic anywhere else. rgb_sock_connect()
 * starts a non-blocking connect, rgb_sock_listen() binds and listens.
 *
 * Errors: functions return -1 and put a message in err (parse) or leave
 * errno set (connect/listen).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RGB_SOCK_H
#define RGB_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rgb_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;                 /* AF_INET, AF_INET6 or AF_UNIX */
};

/* rgb_sock_parse - parse a socket spec, refuse non-loopback targets */
int rgb_sock_parse(const char *spec, struct rgb_addr *addr,
                   char *err, size_t errlen);

/* rgb_sock_connect - non-blocking socket + connect; returns fd or -1 */
int rgb_sock_connect(const struct rgb_addr *addr, int *in_progress);

/* rgb_sock_listen - non-blocking listening socket; returns fd or -1 */
int rgb_sock_listen(const struct rgb_addr *addr, int backlog);

/* rgb_nonblock - set O_NONBLOCK; returns 0 or -1 */
int rgb_nonblock(int fd);

/* rgb_now_us - monotonic clock in microseconds */
uint64_t rgb_now_us(void);

#endif
