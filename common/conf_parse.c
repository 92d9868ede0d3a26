/*
 * conf_parse - read relayguard.conf and parse it with libconfuse
 *
 * SYNOPSIS
 *	c = conf_load("/etc/relayguard/relayguard.conf", err, sizeof(err));
 *	c = conf_load_buf(text, "name", err, sizeof(err));
 *
 * DESCRIPTION
 *	The file is read whole (at most 256 MiB, no NUL bytes), its comments
 *	blanked out (libconfuse miscounts their lines), a sentinel appended
 *	(libconfuse accepts a file cut inside a section), and parsed: in one
 *	piece, or for many customers in batches (see conf_parse_any()).
 *
 * DIAGNOSTICS
 *	conf_load() returns NULL and writes the first problem as
 *	"file:line: reason" (a users_file problem names that file and line;
 *	an unreadable users_file or password_file, or a Redis host name that
 *	does not resolve, names the line of its option).
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"
#include "xmem.h"

/*
 * libconfuse 3.3 accepts a file that ends inside a section, silently
 * dropping what the cut removed.  We append this line to the text: parsed
 * at top level it proves the file was complete; inside a section it is an
 * unknown option, reported as the truncation it is.
 */
#define CONF_SENTINEL	"__end = true\n"

static struct conf_parse *conf_current;	/* parsing is single-threaded */
static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct conf_parse *p = conf_current;
	char	msg[400];

	if (p == NULL || p->failed)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "'__end'") != NULL)
		snprintf(msg, sizeof(msg), "unexpected end of file: a section or list is not closed");
	snprintf(p->err, p->errlen, "%s:%d: %s", p->file, cfg ? conf_cfg_line(cfg) : 0, msg);
	p->failed = 1;
}

/*
 * conf_cfg_line - the file's line of where libconfuse is in cfg (during
 * a parse) or where section cfg began (after it): libconfuse counts from
 * the piece's first line, the piece starts after p->lineoff of the file.
 */
int
conf_cfg_line(const cfg_t *cfg)
{
	return (cfg->line + (conf_current ? conf_current->lineoff : 0));
}

/* conf_fail - record the first problem of the parse as "file:line: reason" */
void
conf_fail(struct conf_parse *p, int line, const char *fmt, ...)
{
	char	msg[400];
	va_list	ap;

	if (p->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line, msg);
	p->failed = 1;
}

#define CONF_FILE_MAX	(256L << 20)

/* conf_read - a whole file as a string; NULL with "file:0: reason" */
static char *
conf_read(const char *path, char *err, size_t errlen)
{
	FILE   *fp;
	char   *buf = NULL;
	size_t	len = 0, cap = 0, n;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s:0: %s", path, strerror(errno));
		return (NULL);
	}
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap + 1);
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0 && len <= CONF_FILE_MAX);
	if (ferror(fp) || len > CONF_FILE_MAX || memchr(buf, 0, len) != NULL) {
		snprintf(err, errlen, "%s:0: %s", path, ferror(fp) ? strerror(errno)
			 : len > CONF_FILE_MAX ? "file too large" : "NUL byte in file");
		fclose(fp);
		free(buf);
		return (NULL);
	}
	fclose(fp);
	buf[len] = 0;
	return (buf);
}

/*
 * conf_uncomment - blank out comments (#, //, slash-star), keeping every
 * newline: libconfuse 3.3 counts each comment line three times, so the
 * line numbers of its errors after a comment were wrong.  Quoted strings
 * are left alone; an unterminated one or comment stops the scan, and
 * libconfuse reports it.
 */
static void
conf_uncomment(char *t, size_t len)
{
	size_t	i = 0;

	while (i < len) {
		char	ch = t[i];

		if (ch == '#' || (ch == '/' && i + 1 < len && t[i + 1] == '/')) {
			for (; i < len && t[i] != '\n'; i++)
				t[i] = ' ';
		} else if (ch == '/' && i + 1 < len && t[i + 1] == '*') {
			size_t	j;

			for (j = i + 2; j + 1 < len && !(t[j] == '*' && t[j + 1] == '/'); j++)
				;
			if (j + 1 >= len)
				return;
			for (; i < j + 2; i++)
				if (t[i] != '\n')
					t[i] = ' ';
		} else if (ch == '"' || ch == '\'') {
			for (i++; i < len && t[i] != ch; i++)
				if (t[i] == '\\' && i + 1 < len)
					i++;
			if (i >= len)
				return;
			i++;
		} else {
			i++;
		}
	}
}

/*
 * conf_parse_text - one libconfuse parse of text, which starts at line
 * pad + 1 of the file: every line number read from the tree while this
 * piece is current goes through conf_cfg_line(), which adds pad, so it is
 * the file's.  (Padding the text with newlines instead made each batch's
 * parse lex every line before it: quadratic in the file.)  NULL with the
 * error set.
 */
static cfg_t *
conf_parse_text(struct conf_parse *p, const char *text, size_t len, size_t pad)
{
	char   *buf = xmalloc(len + sizeof(CONF_SENTINEL) + 2), *q = buf;
	cfg_t  *cfg;
	size_t	i;
	int	rc, lines = (int) pad;

	p->lineoff = (int) pad;
	memcpy(q, text, len);
	conf_uncomment(q, len);
	for (i = 0; i < len; i++)
		lines += q[i] == '\n';
	if (len && text[len - 1] != '\n')
		q[len++] = '\n';
	memcpy(q + len, CONF_SENTINEL, sizeof(CONF_SENTINEL));
	cfg = conf_cfg_new(conf_errfunc);
	rc = cfg_parse_buf(cfg, buf);
	free(buf);
	if (rc != CFG_SUCCESS && !p->failed)
		conf_fail(p, lines, "parse error");
	else if (rc == CFG_SUCCESS && !cfg_getbool(cfg, "__end"))
		conf_fail(p, lines, "unexpected end of file: a string or comment is not closed");
	if (p->failed) {
		cfg_free(cfg);
		return (NULL);
	}
	return (cfg);
}

/* A top-level customer block of the text. */
struct conf_block {
	size_t	start;			/* the 'c' of "customer" */
	size_t	end;			/* after its closing brace */
	size_t	line;
};

/*
 * conf_split - find the top-level customer blocks: a scan that knows
 * libconfuse's comments (#, //, slash-star), quoted strings ("" and '')
 * and braces.  Returns the count, or -1 when the text does not scan
 * cleanly (unbalanced, unterminated): then the caller parses it whole
 * and libconfuse says what is wrong.
 */
static long
conf_split(const char *t, size_t len, struct conf_block **out)
{
	struct conf_block *v = NULL;
	size_t	i = 0, n = 0, cap = 0, line = 1, pend = 0, pend_line = 0;
	int	depth = 0, pending = 0, inblock = 0;

	while (i < len) {
		char	ch = t[i];

		if (ch == '\n') {
			line++;
			i++;
		} else if (ch == ' ' || ch == '\t' || ch == '\r') {
			i++;
		} else if (ch == '#' || (ch == '/' && i + 1 < len && t[i + 1] == '/')) {
			while (i < len && t[i] != '\n')
				i++;
		} else if (ch == '/' && i + 1 < len && t[i + 1] == '*') {
			for (i += 2; i + 1 < len && !(t[i] == '*' && t[i + 1] == '/'); i++)
				line += t[i] == '\n';
			if (i + 1 >= len)
				break;
			i += 2;
		} else if (ch == '"' || ch == '\'') {
			for (i++; i < len && t[i] != ch; i++) {
				if (t[i] == '\\' && i + 1 < len)
					i++;
				line += t[i] == '\n';
			}
			if (i >= len)
				break;
			i++;
		} else if (ch == '{') {
			if (depth == 0 && pending) {
				inblock = 1;
				pending = 0;
			}
			depth++;
			i++;
		} else if (ch == '}') {
			if (--depth < 0)
				break;
			if (depth == 0 && inblock) {
				if (n == cap)
					v = xreallocarray(v, cap = cap ? cap * 2 : 64, sizeof(*v));
				v[n].start = pend;
				v[n].end = i + 1;
				v[n].line = pend_line;
				n++;
				inblock = 0;
			}
			i++;
		} else if (isalnum((unsigned char) ch) || ch == '_') {
			size_t	w = i;

			while (i < len && (isalnum((unsigned char) t[i]) || strchr("_-.@:/", t[i])))
				i++;
			if (depth == 0 && !inblock) {
				if (i - w == 8 && memcmp(t + w, "customer", 8) == 0 && !pending) {
					pending = 1;
					pend = w;
					pend_line = line;
				}
			}
		} else {
			if (depth == 0 && (ch == '=' || ch == ','))
				pending = 0;		/* "customer = ...": not a section */
			i++;
		}
	}
	if (i < len || depth != 0 || inblock) {
		free(v);
		return (-1);
	}
	*out = v;
	return ((long) n);
}

static size_t conf_batch = 512;		/* customers per libconfuse parse */
static unsigned long conf_generation;	/* the last one handed out */

/* conf_set_batch - customers per parse (tests and fuzzing use small ones) */
void
conf_set_batch(size_t n)
{
	conf_batch = n ? n : 1;
}

/*
 * conf_parse_any - the whole load.  libconfuse compares each titled
 * section with every earlier one of its kind, so one parse of 100,000
 * customers costs 5 billion comparisons (minutes).  A file with many
 * customers is therefore parsed in pieces: the global options once (the
 * customer blocks blanked out, newlines kept), then the customers in
 * batches of conf_batch, each batch padded so its line numbers are the
 * file's.  Each batch is built into the configuration and its tree freed
 * before the next is parsed: the trees are ten times the size of what
 * is built from them.  Duplicate names across batches are caught by the
 * build.  A parse error anywhere is reported before any build problem,
 * as if every tree had been built at once.
 */
static struct rg_conf *
conf_parse_any(const char *path, const char *text, char *err, size_t errlen)
{
	struct conf_parse p = { .err = err, .errlen = errlen, .file = path };
	char	berr[512];
	struct conf_parse bp = { .err = berr, .errlen = sizeof(berr), .file = path };
	struct rg_conf *c = NULL;
	struct conf_builder *b = NULL;
	struct conf_block *blk = NULL;
	cfg_t  *global = NULL, **cs = NULL;
	char   *owned = NULL, *blank;
	size_t	i, j, len, n;
	long	nblk;

	err[0] = 0;
	if (text == NULL && (text = owned = conf_read(path, err, errlen)) == NULL)
		return (NULL);
	len = strlen(text);
	conf_current = &p;
	nblk = conf_split(text, len, &blk);
	if (nblk <= (long) conf_batch) {
		if ((global = conf_parse_text(&p, text, len, 0)) != NULL) {
			n = cfg_size(global, "customer");
			cs = xcalloc(n, sizeof(*cs));
			for (i = 0; i < n; i++)
				cs[i] = cfg_getnsec(global, "customer", i);
			b = conf_build_start(global, n, &bp);
			conf_build_add(b, cs, n);
		}
	} else {
		blank = xstrdup(text);
		for (i = 0; i < (size_t) nblk; i++)
			for (j = blk[i].start; j < blk[i].end; j++)
				if (blank[j] != '\n')
					blank[j] = ' ';
		global = conf_parse_text(&p, blank, len, 0);
		free(blank);
		if (global) {
			b = conf_build_start(global, (size_t) nblk, &bp);
			cfg_free(global);
			global = NULL;
		}
		cs = xcalloc(conf_batch, sizeof(*cs));
		for (i = 0; b && i < (size_t) nblk && !p.failed; i += conf_batch) {
			size_t	last = i + conf_batch < (size_t) nblk ? i + conf_batch : (size_t) nblk;
			cfg_t  *part = conf_parse_text(&p, text + blk[i].start,
					     blk[last - 1].end - blk[i].start, blk[i].line - 1);

			if (part == NULL)
				break;
			n = cfg_size(part, "customer");
			for (j = 0; j < n && j < conf_batch; j++)
				cs[j] = cfg_getnsec(part, "customer", j);
			conf_build_add(b, cs, j);
			cfg_free(part);
		}
	}
	conf_current = NULL;
	if (b) {
		c = conf_build_end(b);
		if (p.failed && c) {
			conf_unref(c);
			c = NULL;
		} else if (!p.failed && c == NULL) {
			snprintf(err, errlen, "%s", berr);
			p.failed = 1;
		}
	}
	if (global)
		cfg_free(global);
	free(cs);
	free(blk);
	free(owned);
	/* glibc keeps freed memory: give the parse trees' back. */
	malloc_trim(0);
	if (c) {
		c->path = xstrdup(path);
		c->generation = __atomic_add_fetch(&conf_generation, 1, __ATOMIC_RELAXED);
	}
	return (c);
}

/* conf_load - parse and validate a file; NULL with "file:line: reason" */
struct rg_conf *
conf_load(const char *path, char *err, size_t errlen)
{
	return (conf_parse_any(path, NULL, err, errlen));
}

/* conf_load_buf - the same from memory (tests, fuzzing); name is for errors */
struct rg_conf *
conf_load_buf(const char *text, const char *name, char *err, size_t errlen)
{
	return (conf_parse_any(name, text, err, errlen));
}

