-- tests/milter/cluster.lua - after quota.lua, on a Redis Cluster: the
-- limits quota.lua reached still hold, read from whichever node serves
-- each customer's slot now (t-milter-cluster.sh moves one between runs).
--
-- Globals: PHASE (a word that keeps descriptions and recipients apart).
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local DAY = "550 5.7.1 Daily SMTP relay limit exceeded for customer."
local PEAK = "450 4.2.1 Peak SMTP relay limit exceeded for customer."
local c

c = session{client = "100.64.2.6", helo = "lan.q2.example"}
mail(c, {from = "<z@q2.example>"})
refuse(c, "q2-" .. PHASE .. "@dest.example", DAY, PHASE .. ": q2's day limit still reached")
close(c)

c = session{client = "100.64.3.6", helo = "lan.q3.example"}
mail(c, {from = "<z@q3.example>"})
refuse(c, "q3-" .. PHASE .. "@dest.example", PEAK, PHASE .. ": q3's 10-minute limit still reached")
close(c)

-- q6 has room for two: one message of two recipients, then no more
c = session{client = "100.64.6.6", helo = "lan.q6.example"}
mail(c, {from = "<z@q6.example>"})
accept(c, "q6a-" .. PHASE .. "@dest.example", PHASE .. ": q6, 1")
accept(c, "q6b-" .. PHASE .. "@dest.example", PHASE .. ": q6, 2")
refuse(c, "q6c-" .. PHASE .. "@dest.example", PEAK, PHASE .. ": q6, 3rd")
eom(c, PHASE .. ": q6 message")
close(c)

finish()
