-- tests/milter/facts.lua - overlong facts reach the engine uncut (enforce mode)
--
-- -D LONGUSER=ADDR: a registered user of 320 bytes (64 local + @ + 255
-- domain) of a customer whose only setting needs SMTP AUTH
-- (tests/integration/t-milter-miltertest.sh writes it).
--
-- A front end that cut a HELO name at 255 bytes or a SASL name at 320 would
-- turn an overlong, invalid one into a valid one naming a customer domain or
-- a registered user.  The milter passes the facts as the MTA gave them; the
-- engine refuses an overlong one.  Each overlong case has a control: its
-- valid prefix alone is accepted, so the refusal is for the length.
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local c, r

-- HELO: 255 bytes under acme.example, the longest valid name
local helo255 = string.rep("a", 63) .. "." .. string.rep("b", 63) .. "." ..
		string.rep("c", 63) .. "." .. string.rep("d", 50) .. ".acme.example"
assert(#helo255 == 255)
local helo600 = helo255 .. string.rep("x", 600 - #helo255)

-- A foreign sender of an "any" setting is relayed only with a customer
-- domain from SASL or HELO: the HELO alone decides here.
c = session{client = "198.51.100.10", helo = helo255}
mail(c, {from = "<app@foreign.example>"})
accept(c, "f01@dest.example", "255-byte HELO under acme.example (control)")
close(c)

c = session{client = "198.51.100.10", helo = helo600}
mail(c, {from = "<app@foreign.example>"})
refuse(c, "f02@dest.example", "501 5.5.4 HELO name too long.",
       "600-byte HELO whose first 255 bytes are the control's")
eom(c, "600-byte HELO message", "FQID2")
check(not log_has("FQID2: sender rewritten"), "600-byte HELO: no rewrite")
close(c)

-- SASL: the registered 320-byte user, then 400 bytes starting with it
c = session{client = "10.1.2.3", helo = "laptop.example", tls = true}
mail(c, {from = "<" .. LONGUSER .. ">", sasl = LONGUSER})
accept(c, "f03@dest.example", "320-byte registered SASL user (control)")
close(c)

c = session{client = "10.1.2.3", helo = "laptop.example", tls = true}
mail(c, {from = "<" .. LONGUSER .. ">", sasl = LONGUSER .. string.rep("x", 400 - #LONGUSER)})
refuse(c, "f04@dest.example", "501 5.5.4 SASL username too long.",
       "400-byte SASL name whose first 320 bytes are a user")
close(c)

-- both at once, and the milter still answers afterwards
c = session{client = "10.1.2.3", helo = helo600, tls = true}
mail(c, {from = "<" .. LONGUSER .. ">", sasl = LONGUSER .. string.rep("x", 80)})
refuse(c, "f05@dest.example", "501 5.5.4 HELO name too long.",
       "600-byte HELO and 400-byte SASL name")
close(c)

c = session{client = "192.0.2.5", helo = "printer.acme.example"}
mail(c, {from = "<scan@acme.example>"})
accept(c, "f06@dest.example", "an ordinary session afterwards")
close(c)

finish()
