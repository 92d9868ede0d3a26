-- tests/milter/sendmail-addr.lua - {client_addr} as Sendmail writes it
-- ("IPv6:0:0:0:0:0:0:0:1", uncompressed, any case of the prefix) is logged
-- and replied in the canonical form Postfix uses ("[::1]")
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local c = session{client = "::1", client_macro = "IPv6:0:0:0:0:0:0:0:1",
		  helo = "client.example"}
mail(c, {from = "<someone@foreign.example>", qid = "SMV61"})
refuse(c, "v601@dest.example",
       "550 5.7.0 Mail relay denied [::1]. Invalid credentials for relay for one of the domains in: client.example, foreign.example (as obtained from HELO and MAIL FROM).",
       "unknown IPv6 client as Sendmail writes it")
check(log_has("to=<v601@dest.example>", "client=[::1]"),
      "log shows client=[::1]")
check(not log_has("0:0:0:0:0:0:0:1"), "log never shows the uncompressed form")
close(c)

c = session{client = "2001:db8:1::5", client_macro = "ipv6:2001:0DB8:0001:0:0:0:0:0005",
	    helo = "lab.acme.example"}
mail(c, {from = "<lab@acme.example>", qid = "SMV62"})
accept(c, "v602@dest.example", "IPv6 client in range, full form, lower-case prefix")
check(log_has("to=<v602@dest.example>", "client=[2001:db8:1::5]"),
      "log shows client=[2001:db8:1::5]")
eom(c, "IPv6 message")
close(c)

c = session{client = "192.0.2.7", helo = "printer.acme.example"}
mail(c, {from = "<scan@acme.example>", qid = "SMV43"})
accept(c, "v403@dest.example", "IPv4 client as both MTAs write it")
check(log_has("to=<v403@dest.example>", "client=[192.0.2.7]"),
      "log shows client=[192.0.2.7]")
eom(c, "IPv4 message")
close(c)
finish()
