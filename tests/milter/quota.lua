-- tests/milter/quota.lua - quota replies in enforce mode (DESIGN 3.4)
--
-- Config: tests/milter/quota-customers.conf: q1 user_recipients_per_day 2,
-- q2 customer_recipients_per_day 3, q3/q4/q5 customer_recipients_per_10min 2.
-- Redis is empty when this starts.
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local USER = "550 5.4.5 Daily SMTP relay limit exceeded for user."
local DAY = "550 5.7.1 Daily SMTP relay limit exceeded for customer."
local PEAK = "450 4.2.1 Peak SMTP relay limit exceeded for customer."
local c

-- per-user limit counts unique recipients of a registered sender
c = session{client = "100.64.1.5", helo = "lan.q1.example"}
mail(c, {from = "<uma@q1.example>"})
accept(c, "q1a@dest.example", "user limit, 1st recipient")
accept(c, "q1b@dest.example", "user limit, 2nd recipient")
eom(c, "q1 first message")
mail(c, {from = "<uma@q1.example>"})
accept(c, "q1a@dest.example", "user limit, a known recipient again")
refuse(c, "q1c@dest.example", USER, "user limit, 3rd unique recipient")
eom(c, "q1 second message with the recipients that stand")
mail(c, {from = "<printer@q1.example>"})
accept(c, "q1d@dest.example", "user limit: an unregistered sender is not counted per user")
eom(c, "q1 third message")
close(c)

-- customer daily limit
c = session{client = "100.64.2.5", helo = "lan.q2.example"}
mail(c, {from = "<a@q2.example>"})
accept(c, "q2a@dest.example", "customer day, 1")
accept(c, "q2b@dest.example", "customer day, 2")
accept(c, "q2c@dest.example", "customer day, 3")
refuse(c, "q2d@dest.example", DAY, "customer day, 4th recipient")
eom(c, "q2 message")
close(c)

-- customer 10-minute limit
c = session{client = "100.64.3.5", helo = "lan.q3.example"}
mail(c, {from = "<a@q3.example>"})
accept(c, "q3a@dest.example", "customer peak, 1")
accept(c, "q3b@dest.example", "customer peak, 2")
refuse(c, "q3c@dest.example", PEAK, "customer peak, 3rd recipient")
eom(c, "q3 message")
mail(c, {from = "<b@q3.example>"})
refuse(c, "q3d@dest.example", PEAK, "customer peak, next message")
close(c)

-- an aborted message gives its reservations back at once
c = session{client = "100.64.4.5", helo = "lan.q4.example"}
mail(c, {from = "<a@q4.example>"})
accept(c, "q4a@dest.example", "abort: reserve 1")
accept(c, "q4b@dest.example", "abort: reserve 2")
mt.abort(c)
mail(c, {from = "<a@q4.example>"})
accept(c, "q4c@dest.example", "after abort: 1")
accept(c, "q4d@dest.example", "after abort: 2")
refuse(c, "q4e@dest.example", PEAK, "after abort: 3rd")
eom(c, "q4 message")
close(c)

-- so does a connection closed in the middle of a message
c = session{client = "100.64.5.5", helo = "lan.q5.example"}
mail(c, {from = "<a@q5.example>"})
accept(c, "q5a@dest.example", "close: reserve 1")
accept(c, "q5b@dest.example", "close: reserve 2")
close(c)
mt.sleep(0.5)	-- the close callback runs on its own
c = session{client = "100.64.5.5", helo = "lan.q5.example"}
mail(c, {from = "<a@q5.example>"})
accept(c, "q5c@dest.example", "after close: 1")
accept(c, "q5d@dest.example", "after close: 2")
refuse(c, "q5e@dest.example", PEAK, "after close: 3rd")
eom(c, "q5 message")
close(c)

finish()
