/*
 * log - syslog or stderr logging with info/warn/error/fatal/panic levels
 *
 * Every level keeps errno intact for the caller.  In foreground mode lines
 * go to stderr as "prog: level: text" (info lines without a level tag, as
 * Postfix does), otherwise to syslog with LOG_PID.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"

static const char *log_prog = "relayguard";
static int log_fg = 1;
static int log_quiet;

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

static void
log_emit(int prio, const char *tag, const char *fmt, va_list ap)
{
	char	buf[2048];
	int	saved = errno;

	if (prio == LOG_INFO && log_quiet)
		return;
	errno = saved;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_fg) {
		if (tag)
			fprintf(stderr, "%s: %s: %s\n", log_prog, tag, buf);
		else
			fprintf(stderr, "%s: %s\n", log_prog, buf);
	} else {
		if (tag)
			syslog(prio, "%s: %s", tag, buf);
		else
			syslog(prio, "%s", buf);
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
