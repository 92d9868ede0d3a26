-- tests/milter/mta.lua - rewrite mode serves only Postfix; enforce is the default
--
-- -D MODE=rewrite|enforce|default: the mode of the running milter
-- (tests/milter/lib.sh's configuration; "default" has no mode line).
--
-- Rewrite mode lets the policy service decide, which only Postfix asks: a
-- session whose connect macro v is missing or names another MTA (Sendmail
-- sends "8.17.1") gets a temporary failure at its first answered stage --
-- here RCPT, as miltertest takes SMFIP_NR_CONN/HELO/MAIL -- and one warning
-- in the log.  Enforce mode decides whatever the MTA, and a configuration
-- without a mode line enforces.
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local RD = "550 5.7.0 Mail relay denied [10.1.2.3]. Invalid credentials for relay for" ..
	   " one of the domains in: client.example, foreign.example (as obtained from HELO and MAIL FROM)."
local WARN = "rewrite mode serves only Postfix"
local c, r

-- tempfail - every RCPT of a session of this MTA gets TEMPFAIL, logged once
local function tempfail(client, v, vlog, desc)
	c = session{client = client, helo = "mx.acme.example", v = v}
	mail(c, {from = "<app@foreign.example>"})
	r = rcpt(c, "m-" .. client .. "-1@dest.example")
	check(r == SMFIR_TEMPFAIL, desc .. ": RCPT answered TEMPFAIL", "reply " .. reply_name(r))
	r = rcpt(c, "m-" .. client .. "-2@dest.example")
	check(r == SMFIR_TEMPFAIL, desc .. ": second RCPT answered TEMPFAIL", "reply " .. reply_name(r))
	close(c)
	check(log_count("client=[" .. client .. "]: " .. WARN, vlog,
			'use mode = "enforce"') == 1,
	      desc .. ": one warning for the session, naming v (" .. vlog .. ") and enforce mode",
	      "lines: " .. log_count("client=[" .. client .. "]: " .. WARN))
	check(not log_has("to=<m-" .. client .. "-1@dest.example>"),
	      desc .. ": no decision made for it")
end

if MODE == "rewrite" then
	-- Postfix, as before: a foreign sender of an "any" setting is accepted
	-- and rewritten; a relay refusal is the policy service's to make.
	c = session{client = "198.51.100.10", helo = "mx.acme.example", v = "Postfix 3.7.11"}
	mail(c, {from = "<app@foreign.example>"})
	accept(c, "m01@dest.example", "v=Postfix 3.7.11, any setting")
	eom(c, "v=Postfix message", "MQID1")
	check(log_has("MQID1: sender rewritten: from=<app@foreign.example> to=<postmaster@acme.example>"),
	      "v=Postfix: sender rewritten")
	close(c)
	c = session{client = "10.1.2.3", helo = "client.example", v = "Postfix 3.7.11"}
	mail(c, {from = "<x@foreign.example>"})
	passes(c, "m02@dest.example", RD, "v=Postfix, relay denied")
	close(c)

	tempfail("10.5.0.1", false, "macro v is missing", "v missing")
	tempfail("10.5.0.2", "8.17.1", 'macro v is "8.17.1"', "v=8.17.1 (Sendmail)")
	tempfail("10.5.0.3", "Exim 4.96", 'macro v is "Exim 4.96"', "v=Exim 4.96")
	check(log_count(WARN) == 3, "no other session warned", "lines: " .. log_count(WARN))
else
	-- enforce, named or by default: decides without v, and refuses what
	-- rewrite mode would let through
	c = session{client = "198.51.100.10", helo = "mx.acme.example", v = false}
	mail(c, {from = "<app@foreign.example>"})
	accept(c, "m11@dest.example", MODE .. ", v missing: any setting")
	eom(c, MODE .. ", v missing: message", "MQID11")
	check(log_has("MQID11: sender rewritten: from=<app@foreign.example> to=<postmaster@acme.example>"),
	      MODE .. ", v missing: sender rewritten")
	close(c)
	c = session{client = "10.1.2.3", helo = "client.example", v = false}
	mail(c, {from = "<x@foreign.example>"})
	refuse(c, "m12@dest.example", RD, MODE .. ", v missing: relay denied")
	close(c)
	c = session{client = "10.1.2.3", helo = "client.example", v = "8.17.1"}
	mail(c, {from = "<x@foreign.example>"})
	refuse(c, "m13@dest.example", RD, MODE .. ", v=8.17.1: relay denied")
	close(c)
	c = session{client = "10.1.2.3", helo = "client.example", v = "Postfix 3.7.11"}
	mail(c, {from = "<x@foreign.example>"})
	refuse(c, "m14@dest.example", RD, MODE .. ", v=Postfix: relay denied")
	close(c)
	check(not log_has(WARN), MODE .. ": no MTA warning")
end

finish()
