-- tests/milter/metrics.lua - decisions for t-metrics.sh to count
--
-- Config: tests/milter/lib.sh (enforce mode, quotas on).  Three recipients
-- accepted in one message (three quota reservations, one commit), then two
-- refused as relay denied (no customer: no Redis call).
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<scanner@acme.example>"})
for i = 1, 3 do
	local r = rcpt(c, "m" .. i .. "@dest.example")
	check(r == SMFIR_CONTINUE, "recipient " .. i .. " accepted", "reply " .. reply_name(r))
end
eom(c, "three recipients")
close(c)

c = session{client = "10.9.9.9", helo = "stranger.example"}
mail(c, {from = "<x@stranger.example>"})
for i = 1, 2 do
	local r = rcpt(c, "d" .. i .. "@dest.example")
	check(r == SMFIR_REPLYCODE, "recipient " .. i .. " refused", "reply " .. reply_name(r))
end
close(c)
finish()
