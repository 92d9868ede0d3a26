-- tests/milter/stress.lua - many sessions of every shape, some cut short
--
-- -D SESSIONS=N (default 10000).  Config: t-milter-stress.sh (enforce mode,
-- quotas on): s1 (100.65.0.0/16, domain_addresses, huge limits), s2
-- (100.66.0.1, any), q3 (100.64.3.0/24, 2 recipients per 10 minutes).
-- Replies are checked loosely (type only); what counts is that the milter
-- survives, answers every command and frees everything.
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local N = tonumber(SESSIONS) or 10000
local bad, done = 0, 0
local first_bad = nil

local function want(conn, what, r_want)
	local r = mt.getreply(conn)
	if r ~= r_want then
		bad = bad + 1
		if first_bad == nil then
			first_bad = what .. ": got " .. reply_name(r) .. ", want " .. reply_name(r_want)
		end
	end
end

local function open(ip, helo, tls, macro)
	local conn = mt.connect(SOCK, 20, 0.05)
	if conn == nil then
		error("cannot connect to " .. SOCK)
	end
	mt.macro(conn, SMFIC_CONNECT, "{client_addr}", macro or ip)
	mt.conninfo(conn, "c.test", ip)
	if helo then
		if tls then
			mt.macro(conn, SMFIC_HELO, "{tls_version}", "TLSv1.3")
		end
		mt.helo(conn, helo)
	end
	return conn
end

local function from(conn, addr, qid)
	if qid then
		mt.macro(conn, SMFIC_MAIL, "i", qid)
	end
	mt.mailfrom(conn, addr)
	want(conn, "MAIL " .. addr, SMFIR_CONTINUE)
end

local function to(conn, addr, r_want)
	mt.rcptto(conn, addr)
	want(conn, "RCPT " .. addr, r_want)
end

local function eom(conn, qid)
	if qid then
		mt.macro(conn, SMFIC_BODYEOB, "i", qid)
	end
	mt.eom(conn)
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
		bad = bad + 1
		first_bad = first_bad or ("EOM: got " .. reply_name(r))
	end
end

for i = 1, N do
	local k = i % 10
	local ip = string.format("100.65.%d.%d", (i // 250) % 250, i % 250 + 1)
	local c
	if k == 0 then
		c = open(ip, "h.s1.example")
		from(c, "<u" .. i .. "@s1.example>", "S" .. i)
		to(c, "<a" .. i .. "@dest.example>", SMFIR_CONTINUE)
		to(c, "<b" .. i .. "@dest.example>", SMFIR_CONTINUE)
		eom(c)
		mt.disconnect(c)
	elseif k == 1 then
		c = open(ip, "h.s1.example")
		from(c, "<u" .. i .. "@s1.example>")
		to(c, "<a" .. i .. "@dest.example>", SMFIR_CONTINUE)
		to(c, "<b" .. i .. "@dest.example>", SMFIR_CONTINUE)
		mt.abort(c)
		from(c, "<v" .. i .. "@s1.example>")
		to(c, "<c" .. i .. "@dest.example>", SMFIR_CONTINUE)
		eom(c, "T" .. i)
		mt.disconnect(c)
	elseif k == 2 then
		c = open(ip, "h.s1.example")
		from(c, "<u" .. i .. "@s1.example>")
		to(c, "<a" .. i .. "@dest.example>", SMFIR_CONTINUE)
		mt.disconnect(c, i % 4 == 0)	-- polite or abrupt, mid-message
	elseif k == 3 then
		c = open("100.66.0.1", "mx.s2.example")
		from(c, "<>")
		to(c, "<a" .. i .. "@dest.example>", SMFIR_CONTINUE)
		to(c, "<b" .. i .. "@dest.example>", SMFIR_REPLYCODE)
		to(c, "<c" .. i .. "@dest.example>", SMFIR_REPLYCODE)
		eom(c)
		mt.disconnect(c)
	elseif k == 4 then
		c = open("10.3.2.1", "nowhere.example")
		from(c, "<x" .. i .. "@foreign.example>")
		to(c, "<a" .. i .. "@dest.example>", SMFIR_REPLYCODE)
		mt.disconnect(c)
	elseif k == 5 then
		c = open("100.66.0.1", "mx.s2.example", i % 2 == 0)
		from(c, "<x" .. i .. "@foreign.example>", "R" .. i)
		to(c, "<a" .. i .. "@dest.example>", SMFIR_CONTINUE)
		eom(c, "R" .. i)
		mt.disconnect(c)
	elseif k == 6 then
		c = open("100.64.3.9", "lan.q3.example")
		from(c, "<y" .. i .. "@q3.example>")
		mt.rcptto(c, "<a" .. i .. "@dest.example>")
		mt.getreply(c)			-- accepted or 450, by the window
		mt.abort(c)
		mt.disconnect(c)
	elseif k == 7 then
		c = open(ip, nil)
		mt.disconnect(c, i % 3 == 0)
	elseif k == 8 then
		c = open(ip, "h.s1.example")
		from(c, "<u" .. i .. "@s1.example>")
		mt.disconnect(c)
	else
		local v6 = "2001:db8:1::" .. string.format("%x", i % 65000 + 1)
		c = open(v6, "lab.acme.example", false, "IPv6:" .. v6)
		from(c, "<lab@acme-mail.example>")
		to(c, "<a" .. i .. "@dest.example>", SMFIR_CONTINUE)
		eom(c)
		from(c, "<x@foreign.example>")
		to(c, "<b" .. i .. "@dest.example>", SMFIR_REPLYCODE)
		mt.abort(c)
		mt.disconnect(c, false)
	end
	done = done + 1
end

check(bad == 0, done .. " sessions, every reply as expected",
      bad .. " unexpected replies; first: " .. tostring(first_bad))
finish()
