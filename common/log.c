/*
 * log - syslog or stderr logging with info/warn/error/fatal/panic levels
 *
 * SYNOPSIS
 *	See log.h: log_open(), msg_info() ... msg_panic(), log_flush().
 *
 * DESCRIPTION
 *	Every level keeps errno intact for the caller.  In foreground mode lines
 *	go to stderr as "prog: level: text" (info lines without a level tag, as
 *	Postfix does), otherwise to syslog with LOG_PID.
 *
 *	A single-threaded event loop may hold foreground lines back with
 *	log_batch(1) and write them with log_flush() once per pass of the loop:
 *	one write(2) for all the decisions of a pass instead of one each.  Lines
 *	are never held longer than that pass, fatal and panic lines flush
 *	everything first, and a full buffer is written at once.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "relayguard";
static int log_fg = 1;
static int log_quiet;

#define LOG_BATCH_MAX	65536
static int log_batching;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[LOG_BATCH_MAX];
static size_t log_len;

static const struct {
	const char *name;
	int	facility;
} log_facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* log_facility - map a facility name to its syslog value */
int
log_facility(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
		if (strcasecmp(name, log_facilities[i].name) == 0)
			return (log_facilities[i].facility);
	return (-1);
}

/* log_open - choose the destination; may be called again after a reload */
void
log_open(const char *prog, int foreground, const char *facility)
{
	int	fac = facility ? log_facility(facility) : LOG_MAIL;

	log_prog = prog;
	log_fg = foreground;
	if (!foreground)
		openlog(prog, LOG_PID | LOG_NDELAY, fac < 0 ? LOG_MAIL : fac);
}

/* log_set_quiet - suppress info lines (unit tests) */
void
log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

/* log_write - write all of buf to stderr; the caller holds log_lock */
static void
log_write(const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(STDERR_FILENO, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return;			/* nowhere left to complain */
		}
		buf += n;
		len -= (size_t) n;
	}
}

/* log_flush - write the lines held back since the last flush */
void
log_flush(void)
{
	int	saved = errno;

	pthread_mutex_lock(&log_lock);
	log_write(log_buf, log_len);
	log_len = 0;
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

/* log_batch - hold foreground lines until log_flush() (on) or not (off) */
void
log_batch(int on)
{
	if (!on)
		log_flush();
	log_batching = on;
}

/* log_cat - append n bytes of s to line at *at, within cap */
static void
log_cat(char *line, size_t *at, size_t cap, const char *s, size_t n)
{
	if (n > cap - *at)
		n = cap - *at;
	memcpy(line + *at, s, n);
	*at += n;
}

/*
 * log_emit - one line.  A decision is logged once per RCPT, so the line
 * is put together with memcpy, and a format of just "%s" (a line made
 * by the caller) is not run through vsnprintf again.
 */
static void
log_emit(int prio, const char *tag, const char *fmt, va_list ap)
{
	char	buf[2048], line[2048 + 128];
	const char *text = buf;
	size_t	n = 0, tlen;
	int	saved = errno;

	if (prio == LOG_INFO && log_quiet)
		return;
	errno = saved;
	if (strcmp(fmt, "%s") == 0)
		text = va_arg(ap, const char *);
	else
		vsnprintf(buf, sizeof(buf), fmt, ap);
	if ((tlen = strlen(text)) > sizeof(buf) - 1)
		tlen = sizeof(buf) - 1;		/* the same cut either way */
	if (log_fg) {
		log_cat(line, &n, sizeof(line) - 1, log_prog, strlen(log_prog));
		log_cat(line, &n, sizeof(line) - 1, ": ", 2);
		if (tag) {
			log_cat(line, &n, sizeof(line) - 1, tag, strlen(tag));
			log_cat(line, &n, sizeof(line) - 1, ": ", 2);
		}
		log_cat(line, &n, sizeof(line) - 1, text, tlen);
		line[n++] = '\n';		/* cut short or not, one line */
		pthread_mutex_lock(&log_lock);
		if (log_batching && prio == LOG_INFO) {
			if (log_len + n > sizeof(log_buf)) {
				log_write(log_buf, log_len);
				log_len = 0;
			}
			memcpy(log_buf + log_len, line, n);
			log_len += n;
		} else {
			/* Warnings and worse go out now, after what was held. */
			log_write(log_buf, log_len);
			log_len = 0;
			log_write(line, n);
		}
		pthread_mutex_unlock(&log_lock);
	} else {
		if (tag)
			syslog(prio, "%s: %.*s", tag, (int) tlen, text);
		else
			syslog(prio, "%.*s", (int) tlen, text);
	}
	errno = saved;
}

#define LOG_BODY(prio, tag) do { \
	va_list ap; \
	va_start(ap, fmt); \
	log_emit((prio), (tag), fmt, ap); \
	va_end(ap); \
} while (0)

/* msg_info - an ordinary event, such as one decision */
void
msg_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, NULL);
}

/* msg_warn - something the operator should look at; work goes on */
void
msg_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning");
}

/* msg_error - a failed operation; work goes on */
void
msg_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, "error");
}

/* msg_fatal - an environment problem we cannot work around: exit 1 */
void
msg_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal");
	exit(1);
}

/* msg_panic - a bug: abort so that there is a core */
void
msg_panic(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "panic");
	abort();
}
