-- tests/milter/smoke.lua - a few sessions checked by reply type only (for a
-- milter that logs to syslog, where LOG is of no use)
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local c = session{client = "198.51.100.10", helo = "mx.acme.example"}
mail(c, {from = "<>"})
check(rcpt(c, "s1@dest.example") == SMFIR_CONTINUE, "null sender, first recipient accepted")
check(rcpt(c, "s2@dest.example") == SMFIR_REPLYCODE, "null sender, second recipient refused")
eom(c, "null sender message")
mail(c, {from = "<app@foreign.example>"})
check(rcpt(c, "s3@dest.example") == SMFIR_CONTINUE, "foreign sender accepted")
eom(c, "rewritten message")
close(c)
finish()
