/*
 * unit.h - common includes for the cmocka unit tests
 *
 * cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h before it.
 * Each tests/unit/test_*.c is one program for one engine module.
 */
/* SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE. */
#ifndef RG_UNIT_H
#define RG_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* assert_string_contains - haystack holds needle */
#define assert_string_contains(hay, needle) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (h_ == NULL || strstr(h_, n_) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_); \
} while (0)

#endif
