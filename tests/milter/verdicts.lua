-- tests/milter/verdicts.lua - the milter's answer to every row of a table
--
-- -D TABLE=verdicts.table -D OUT=file: for each RCPT row writes
-- "txn|recipient|reply" to OUT, reply = "OK" or the full refusal text.
-- Consecutive rows with the same txn share one transaction.  IPv6 clients
-- are sent as Sendmail writes them ("IPv6:addr").
-- SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
dofile(DIR .. "/lib.lua")

local rows = {}
for line in io.lines(TABLE) do
	if not string.match(line, "^%s*#") and string.match(line, "%S") then
		local f = {}
		for field in string.gmatch(line .. "|", "([^|]*)|") do
			table.insert(f, field)
		end
		table.insert(rows, {txn = f[1], client = f[2], helo = f[3], sasl = f[4],
			tls = f[5] == "1", sender = f[6], rcpt = f[7]})
	end
end

local out = assert(io.open(OUT, "w"))
local i = 1
while i <= #rows do
	local r = rows[i]
	local macro = r.client
	if string.find(r.client, ":", 1, true) then
		macro = "IPv6:" .. r.client
	end
	local c = session{client = r.client, client_macro = macro, helo = r.helo, tls = r.tls}
	local from = r.sender
	if from ~= "<>" then
		from = "<" .. from .. ">"
	end
	mail(c, {from = from, sasl = (r.sasl ~= "" and r.sasl or nil), qid = "V" .. r.txn})
	while i <= #rows and rows[i].txn == r.txn do
		local x = rows[i]
		local got = rcpt(c, x.rcpt)
		local text
		if got == SMFIR_CONTINUE then
			text = "OK"
		elseif got == SMFIR_REPLYCODE then
			-- the newest decision line of this transaction is this RCPT's
			text = log_reply(x.rcpt, "V" .. x.txn .. ": action=") or "(no log line)"
		else
			text = "(reply " .. reply_name(got) .. ")"
		end
		out:write(x.txn .. "|" .. x.rcpt .. "|" .. text .. "\n")
		i = i + 1
	end
	eom(c, "txn " .. r.txn)
	close(c)
end
out:close()
finish()
