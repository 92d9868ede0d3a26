/*
 * log - the one logging module of relayguard
 *
 * SYNOPSIS
 *	log_open("relayguard-policyd", foreground, "mail");
 *	msg_info("%s: action=OK ...", queue_id);
 *	msg_fatal("bind %s: %m");	-- environment problem: exit(1)
 *	msg_panic("bad state %d", s);	-- a bug: abort()
 *
 * DESCRIPTION
 *	Messages go to syslog (LOG_PID, the configured facility) or, in
 *	foreground mode, to stderr with the program name.  errno is preserved
 *	across every call, so "%m" works.  Safe from several threads.
 *	An event loop may call log_batch(1) and then log_flush() after each
 *	pass: foreground info lines of one pass then cost one write(2).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_LOG_H
#define RG_LOG_H

#include <stdarg.h>

#define RG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void	log_open(const char *prog, int foreground, const char *facility);
int	log_facility(const char *name);		/* -1 when unknown */
void	log_set_quiet(int quiet);		/* tests: drop info lines */
void	log_batch(int on);			/* hold info lines for log_flush() */
void	log_flush(void);

void	msg_info(const char *fmt, ...) RG_PRINTF(1, 2);
void	msg_warn(const char *fmt, ...) RG_PRINTF(1, 2);
void	msg_error(const char *fmt, ...) RG_PRINTF(1, 2);
void	msg_fatal(const char *fmt, ...) RG_PRINTF(1, 2) __attribute__((noreturn));
void	msg_panic(const char *fmt, ...) RG_PRINTF(1, 2) __attribute__((noreturn));

#endif
