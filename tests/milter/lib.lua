-- tests/milter/lib.lua - helpers for the relayguard-milter miltertest scripts
--
-- SYNOPSIS
--	dofile(DIR .. "/lib.lua")
--	local c = session{client = "192.0.2.5", helo = "mx.acme.example", tls = true}
--	mail(c, {from = "<a@acme.example>", sasl = "alice@acme.example", qid = "Q1"})
--	accept(c, "c01@dest.example", "printer may relay")
--	refuse(c, "c02@dest.example", "550 5.7.0 Mail sending denied. ...", "desc")
--	eom(c, "desc", "LATEQID")	-- {i} sent with end of message, as Postfix does
--	close(c)
--	finish()
--
-- DESCRIPTION
--	Globals from miltertest -D: SOCK (the milter socket, libmilter syntax),
--	LOG (the file the milter's foreground log goes to), DIR (this directory).
--	Every check prints "ok - DESC" or "not ok - DESC" plus "# " lines; the
--	shell test turns them into TAP.  finish() raises an error when a check
--	failed, so miltertest exits non-zero.
--
--	miltertest shows only the reply type at RCPT (SMFIR_REPLYCODE when the
--	milter set a reply), never the text.  The milter writes the reply it
--	gives into its decision log line ("... to=<rcpt> ... reply=\"550 ...\""),
--	synchronously before it answers, so refuse() reads the text from LOG.
--	Use a distinct recipient for every check.
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

SMFIC_BODYEOB = 69		-- 'E': end of message (macros of that stage)

local nfail, nok = 0, 0

-- check - record one outcome
function check(cond, desc, ...)
	if cond then
		nok = nok + 1
		print("ok - " .. desc)
	else
		nfail = nfail + 1
		print("not ok - " .. desc)
		for _, d in ipairs({...}) do
			print("# " .. tostring(d))
		end
	end
	return cond
end

local reply_names = {
	[SMFIR_CONTINUE] = "CONTINUE", [SMFIR_ACCEPT] = "ACCEPT",
	[SMFIR_REJECT] = "REJECT", [SMFIR_TEMPFAIL] = "TEMPFAIL",
	[SMFIR_REPLYCODE] = "REPLYCODE", [SMFIR_DISCARD] = "DISCARD",
}

function reply_name(r)
	return reply_names[r] or tostring(r)
end

local function must(err, what)
	if err ~= nil then
		error(what .. ": " .. tostring(err))
	end
end

-- session - connect, send connect info and HELO; o.client, o.helo, o.tls,
--	o.client_macro (default o.client; Sendmail sends "IPv6:..."),
--	o.v (the MTA's macro v, default "Postfix 3.7.11"; false: not sent)
function session(o)
	local conn = mt.connect(SOCK, 40, 0.05)
	if conn == nil then
		error("cannot connect to " .. SOCK)
	end
	local ip = o.client or "10.9.9.9"
	local v = o.v
	if v == nil then
		v = "Postfix 3.7.11"
	end
	if v then
		mt.macro(conn, SMFIC_CONNECT, "{client_addr}", o.client_macro or ip, "v", v)
	else
		mt.macro(conn, SMFIC_CONNECT, "{client_addr}", o.client_macro or ip)
	end
	must(mt.conninfo(conn, o.name or "client.test", ip), "mt.conninfo")
	if o.tls then
		mt.macro(conn, SMFIC_HELO, "{tls_version}", "TLSv1.3",
			 "{cipher}", "TLS_AES_256_GCM_SHA384")
	end
	must(mt.helo(conn, o.helo or "client.example"), "mt.helo")
	return conn
end

-- mail - MAIL FROM with {auth_authen} and {i} when given
function mail(conn, o)
	local m = {}
	if o.sasl then
		table.insert(m, "{auth_authen}"); table.insert(m, o.sasl)
		table.insert(m, "{auth_type}"); table.insert(m, "PLAIN")
	end
	if o.qid then
		table.insert(m, "i"); table.insert(m, o.qid)
	end
	if #m > 0 then
		mt.macro(conn, SMFIC_MAIL, table.unpack(m))
	end
	must(mt.mailfrom(conn, o.from or "<>"), "mt.mailfrom")
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE then
		error("MAIL FROM " .. (o.from or "<>") .. ": reply " .. reply_name(r))
	end
end

-- log_reply - the reply="..." of the last decision line naming to=<rcpt>
--	(or containing key, when given)
function log_reply(rcpt, key)
	local f = io.open(LOG, "r")
	if f == nil then
		return nil, "cannot open " .. tostring(LOG)
	end
	local found, line = nil, nil
	for l in f:lines() do
		if string.find(l, key or ("to=<" .. rcpt .. ">"), 1, true) then
			line = l
			found = string.match(l, ' reply="(.-)"')
		end
	end
	f:close()
	return found, line
end

-- rcpt - send RCPT TO, return the reply type
function rcpt(conn, to)
	must(mt.rcptto(conn, "<" .. to .. ">"), "mt.rcptto")
	return mt.getreply(conn)
end

-- accept - the RCPT must be accepted
function accept(conn, to, desc)
	local r = rcpt(conn, to)
	local text, line = log_reply(to)
	return check(r == SMFIR_CONTINUE, desc .. ": <" .. to .. "> accepted",
		     "reply " .. reply_name(r) .. (text and (" " .. text) or ""),
		     line and ("log: " .. line) or "no log line")
end

-- refuse - the RCPT must be refused with exactly this reply; key finds
--	the log line when the recipient is not in it (a malformed address)
function refuse(conn, to, want, desc, key)
	local r = rcpt(conn, to)
	local text, line = log_reply(to, key)
	return check(r == SMFIR_REPLYCODE and text == want,
		     desc .. ": <" .. to .. "> " .. string.sub(want, 1, 9),
		     "got reply " .. reply_name(r) .. " \"" .. tostring(text) .. "\"",
		     "expected REPLYCODE \"" .. want .. "\"",
		     line and ("log: " .. line) or "no log line")
end

-- passes - the RCPT gets SMFIR_CONTINUE although the engine refuses it
--	(rewrite mode); the log must say so
function passes(conn, to, want, desc)
	local r = rcpt(conn, to)
	local text, line = log_reply(to)
	return check(r == SMFIR_CONTINUE and text == want and line ~= nil
		     and string.find(line, "not enforced", 1, true) ~= nil,
		     desc .. ": <" .. to .. "> passes (" .. string.sub(want, 1, 9) .. " not enforced)",
		     "got reply " .. reply_name(r) .. " \"" .. tostring(text) .. "\"",
		     line and ("log: " .. line) or "no log line")
end

-- eom - end of message must be accepted; qid is sent as {i} with it
function eom(conn, desc, qid)
	if qid then
		mt.macro(conn, SMFIC_BODYEOB, "i", qid)
	end
	must(mt.eom(conn), "mt.eom")
	local r = mt.getreply(conn)
	return check(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT,
		     desc .. ": end of message accepted", "reply " .. reply_name(r))
end

-- log_count - how many lines of LOG contain every one of the plain strings
function log_count(...)
	local want = {...}
	local f = io.open(LOG, "r")
	if f == nil then
		return 0
	end
	local n = 0
	for l in f:lines() do
		local all = true
		for _, w in ipairs(want) do
			if not string.find(l, w, 1, true) then
				all = false
				break
			end
		end
		if all then
			n = n + 1
		end
	end
	f:close()
	return n
end

-- log_has - some line of LOG contains every one of the plain strings
function log_has(...)
	local want = {...}
	local f = io.open(LOG, "r")
	if f == nil then
		return false
	end
	for l in f:lines() do
		local all = true
		for _, w in ipairs(want) do
			if not string.find(l, w, 1, true) then
				all = false
				break
			end
		end
		if all then
			f:close()
			return true
		end
	end
	f:close()
	return false
end

function close(conn)
	mt.disconnect(conn)
end

-- finish - summary; an error (non-zero exit) when a check failed
function finish()
	print(string.format("# %d ok, %d failed", nok, nfail))
	if nfail > 0 then
		error(nfail .. " check(s) failed")
	end
end
