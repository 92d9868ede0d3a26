-- tests/milter/backend.lua - Redis unreachable in enforce mode with quotas
--
-- -D WANT=tempfail: on_backend_error = "tempfail" -> 451 4.3.0
-- -D WANT=accept:   on_backend_error = "accept"   -> the RCPT passes
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local c = session{client = "100.64.3.5", helo = "lan.q3.example"}
mail(c, {from = "<a@q3.example>"})
if WANT == "accept" then
	accept(c, "b1@dest.example", "backend down, on_backend_error accept")
	eom(c, "backend down, accepted message")
else
	refuse(c, "b1@dest.example", "451 4.3.0 Relay policy temporarily unavailable.",
	       "backend down, on_backend_error tempfail")
end
close(c)

-- a refusal that needs no quota is unchanged
c = session{client = "10.1.2.3", helo = "client.example"}
mail(c, {from = "<x@foreign.example>"})
refuse(c, "b2@dest.example", "550 5.7.0 Mail relay denied [10.1.2.3]. Invalid credentials" ..
       " for relay for one of the domains in: client.example, foreign.example" ..
       " (as obtained from HELO and MAIL FROM).", "relay denied needs no backend")
close(c)

finish()
