-- tests/milter/rewrite.lua - rewrite mode (Postfix with the policy service)
--
-- Only the null-sender recipient limit and the TLS rule are enforced; the
-- sender rewrite happens at end of message; every other refusal of the
-- engine passes (the policy service has answered that RCPT already).
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local c

-- null sender: the second and later RCPT get 452 4.5.3
c = session{client = "198.51.100.10", helo = "mx.acme.example"}
mail(c, {from = "<>", qid = "R1"})
accept(c, "r01a@dest.example", "null sender, first recipient")
refuse(c, "r01b@dest.example", "452 4.5.3 Your message has too many recipients.",
       "null sender, second recipient")
eom(c, "null sender message", "R1")
check(not log_has("R1: sender rewritten"), "null sender never rewritten")
close(c)

-- require_tls without TLS: 530 5.7.0
c = session{client = "203.0.113.5", helo = "office.globex.example"}
mail(c, {from = "<hank@globex.example>"})
refuse(c, "r02@dest.example", "530 5.7.0 Must issue a STARTTLS command first.",
       "require_tls without TLS")
close(c)

-- ... and with TLS (the {tls_version} macro of HELO) it passes
c = session{client = "203.0.113.5", helo = "office.globex.example", tls = true}
mail(c, {from = "<hank@globex.example>"})
accept(c, "r03@dest.example", "require_tls with TLS")
eom(c, "globex message")
close(c)

-- foreign sender of an "any" setting: accepted, rewritten at end of message
c = session{client = "198.51.100.10", helo = "mx.acme.example"}
mail(c, {from = "<app@foreign.example>"})
accept(c, "r04a@dest.example", "any, foreign sender")
accept(c, "r04b@dest.example", "any, foreign sender, second recipient")
eom(c, "rewritten message reaches end of message", "RQID4")
check(log_has("RQID4: sender rewritten: from=<app@foreign.example> to=<postmaster@acme.example>"),
      "rewrite logged with the late queue id")
close(c)

-- a sender of the customer's own domain is left alone
c = session{client = "198.51.100.10", helo = "mx.acme.example"}
mail(c, {from = "<billing@acme.example>"})
accept(c, "r05@dest.example", "any, customer-domain sender")
eom(c, "customer-domain message", "RQID5")
check(not log_has("RQID5: sender rewritten"), "customer-domain sender not rewritten")
close(c)

-- other refusal classes are the policy service's business: they pass
local RD = "550 5.7.0 Mail relay denied [10.1.2.3]. Invalid credentials for relay for" ..
	   " one of the domains in: client.example, foreign.example (as obtained from HELO and MAIL FROM)."
c = session{client = "10.1.2.3", helo = "client.example"}
mail(c, {from = "<x@foreign.example>"})
passes(c, "r06@dest.example", RD, "relay denied")
eom(c, "not enforced message")
close(c)

c = session{client = "198.51.100.20", helo = "vpn.acme.example", tls = true}
mail(c, {from = "<alice@acme.example>"})
passes(c, "r07@dest.example", "530 5.5.1 Authentication Required.", "AUTH required")
close(c)

c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<carol@acme.example>"})
passes(c, "r08@dest.example", "550 5.7.0 Mail sending denied. The sender has no mail licence.",
       "nomail user")
close(c)

-- the 452 counts recipients of this message only
c = session{client = "198.51.100.10", helo = "mx.acme.example"}
mail(c, {from = "<>"})
accept(c, "r09a@dest.example", "null sender, first message")
mt.abort(c)
mail(c, {from = "<>"})
accept(c, "r09b@dest.example", "null sender, after an abort")
close(c)

finish()
