-- tests/milter/enforce.lua - every reply of DESIGN 3.1-3.3 in enforce mode
--
-- Config: tests/integration/t-milter-miltertest.sh (milter_conf), quotas off.
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local RD = "550 5.7.0 Mail relay denied [%s]. Invalid credentials for relay for" ..
	   " one of the domains in: %s (as obtained from HELO and MAIL FROM)."
local c

-- 3.1 nobody: unknown client, no AUTH
c = session{client = "10.1.2.3", helo = "client.example"}
mail(c, {from = "<x@foreign.example>", qid = "E1"})
refuse(c, "e01@dest.example", string.format(RD, "10.1.2.3", "client.example, foreign.example"),
       "unknown client")
close(c)

-- 3.1 a disabled range does not identify the customer
c = session{client = "192.0.3.7", helo = "printer.acme.example"}
mail(c, {from = "<scan@acme.example>"})
refuse(c, "e02@dest.example",
       string.format(RD, "192.0.3.7", "printer.acme.example, acme.example"),
       "disabled range")
close(c)

-- 3.1 an unregistered SASL name from outside every range
c = session{client = "10.1.2.3", helo = "laptop.example", tls = true}
mail(c, {from = "<mallory@acme.example>", sasl = "mallory@acme.example"})
refuse(c, "e03@dest.example", string.format(RD, "10.1.2.3", "laptop.example, acme.example"),
       "unregistered SASL user")
close(c)

-- 3.1 customer by IP, only an AUTH setting would hold
c = session{client = "198.51.100.20", helo = "vpn.acme.example", tls = true}
mail(c, {from = "<alice@acme.example>"})
refuse(c, "e04@dest.example", "530 5.5.1 Authentication Required.", "AUTH required")
close(c)

-- 3.1 customer by IP, authenticated but not as one of its users
c = session{client = "198.51.100.20", helo = "vpn.acme.example", tls = true}
mail(c, {from = "<alice@acme.example>", sasl = "mallory@elsewhere.example"})
refuse(c, "e05@dest.example", "550 5.7.1 Invalid credentials for relay [198.51.100.20].",
       "invalid credentials")
close(c)

-- 3.2 require_tls without TLS
c = session{client = "203.0.113.5", helo = "office.globex.example"}
mail(c, {from = "<hank@globex.example>"})
refuse(c, "e06@dest.example", "530 5.7.0 Must issue a STARTTLS command first.",
       "require_tls without TLS")
close(c)

-- 3.2 SMTP AUTH implies TLS
c = session{client = "10.1.2.3", helo = "laptop.example"}
mail(c, {from = "<alice@acme.example>", sasl = "alice@acme.example"})
refuse(c, "e07@dest.example", "530 5.7.0 Must issue a STARTTLS command first.",
       "AUTH setting without TLS")
close(c)

-- 3.3 registered_users: not a registered user
c = session{client = "203.0.113.5", helo = "office.globex.example", tls = true}
mail(c, {from = "<nobody@globex.example>"})
refuse(c, "e08@dest.example", "550 5.7.0 Mail sending denied. The sender is not a registered user.",
       "registered_users, unknown sender")
close(c)

-- 3.3 registered user without a mail licence (domain_addresses setting)
c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<carol@acme.example>"})
refuse(c, "e09@dest.example", "550 5.7.0 Mail sending denied. The sender has no mail licence.",
       "nomail user")
close(c)

-- 3.3 domain_addresses: foreign sender
c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<scan@foreign.example>"})
refuse(c, "e10@dest.example", "550 5.7.1 Invalid credentials for relay [192.0.2.5]." ..
       " The sender's domain is not a domain of this organisation.", "domain_addresses, foreign sender")
close(c)

-- 3.3 any: foreign sender with neither SASL nor a customer HELO
c = session{client = "198.51.100.10", helo = "app.example"}
mail(c, {from = "<x@foreign.example>"})
refuse(c, "e11@dest.example", string.format(RD, "198.51.100.10", "app.example, foreign.example"),
       "any, no domain for the rewrite")
close(c)

-- 3.3 null sender without a domain from SASL or HELO
c = session{client = "198.51.100.10", helo = "app.example"}
mail(c, {from = "<>"})
refuse(c, "e12@dest.example", string.format(RD, "198.51.100.10", "app.example"),
       "null sender, no domain")
close(c)

-- 3.3 null sender: one recipient per transaction; only the extra RCPT is refused
c = session{client = "198.51.100.10", helo = "mx.acme.example"}
mail(c, {from = "<>", qid = "E13"})
accept(c, "e13a@dest.example", "null sender, first recipient")
refuse(c, "e13b@dest.example", "452 4.5.3 Your message has too many recipients.",
       "null sender, second recipient")
refuse(c, "e13c@dest.example", "452 4.5.3 Your message has too many recipients.",
       "null sender, third recipient")
eom(c, "null sender message with its one recipient")
mail(c, {from = "<>"})
accept(c, "e13d@dest.example", "null sender, next transaction starts again")
mt.abort(c)
mail(c, {from = "<>"})
accept(c, "e13e@dest.example", "null sender, after an abort too")
close(c)

-- malformed addresses
c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<scan@acme.example>"})
refuse(c, "e15@dest..example", "501 5.1.3 Bad address syntax.", "unparsable recipient",
       'reason="unparsable recipient')
mail(c, {from = "<scan@acme..example>"})
refuse(c, "e16@dest.example", "553 5.1.7 Bad sender address syntax.", "unparsable sender",
       'reason="unparsable sender')
close(c)

-- accepted cases
c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<scan@branch.acme.example>", qid = "A1"})
accept(c, "a01@dest.example", "domain_addresses, subdomain sender")
accept(c, "a02@dest.example", "domain_addresses, second recipient")
eom(c, "printer message")
mail(c, {from = "<Alice@ACME-Mail.example>"})
accept(c, "a03@dest.example", "second message of the connection")
eom(c, "second message")
close(c)

c = session{client = "2001:db8:1::5", client_macro = "IPv6:2001:db8:1::5", helo = "lab.acme.example"}
mail(c, {from = "<lab@acme-mail.example>"})
accept(c, "a04@dest.example", "IPv6 client as Sendmail writes it")
eom(c, "IPv6 message")
close(c)

c = session{client = "203.0.113.5", helo = "office.globex.example", tls = true}
mail(c, {from = "<Hank@Globex.Example>"})
accept(c, "a05@dest.example", "require_tls with TLS, registered user")
eom(c, "globex message")
close(c)

c = session{client = "10.1.2.3", helo = "laptop.example", tls = true}
mail(c, {from = "<bob@acme.example>", sasl = "alice@acme.example"})
accept(c, "a06@dest.example", "roaming: AUTH + TLS, registered sender")
eom(c, "roaming message")
close(c)

c = session{client = "198.51.100.10", helo = "mx.acme.example"}
mail(c, {from = "<app@foreign.example>"})
accept(c, "a07@dest.example", "any: foreign sender, domain from HELO")
eom(c, "rewritten message", "QREWRITE1")
check(log_has("QREWRITE1: sender rewritten: from=<app@foreign.example> to=<postmaster@acme.example>"),
      "rewrite logged with the queue id sent at end of message")
close(c)

c = session{client = "10.1.2.3", helo = "laptop.example", tls = true}
mail(c, {from = "<app@foreign.example>", sasl = "ivan@initech.example"})
accept(c, "a08@dest.example", "any + AUTH: foreign sender, domain from SASL")
eom(c, "rewritten message", "QREWRITE2")
check(log_has("QREWRITE2: sender rewritten: from=<app@foreign.example> to=<postmaster@initech.example>"),
      "SASL rewrite logged")
close(c)

-- closing in the middle of a message, and a connection with no message
c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<scan@acme.example>"})
accept(c, "a09@dest.example", "message left open")
close(c)
c = session{client = "192.0.2.5"}
close(c)

finish()
