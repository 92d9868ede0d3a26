#!/bin/bash
# t-milter-cluster.sh - relayguard-milter's quotas on a Redis Cluster
#
#  - a real 3-master cluster on loopback; the milter (enforce mode) with
#    redis { cluster = ... }, its blocking client routing each call to the
#    node of the customer's slot;
#  - tests/milter/quota.lua unchanged: every quota class, abort and close;
#  - each customer's keys on the node serving its slot, over several nodes;
#  - four miltertest processes racing one customer's limit: exactly it;
#  - two customers' slots moved to other nodes: their limits still hold
#    and a fresh one gets exactly its limit (MOVED followed);
#  - a reload's new timeout_ms reaches the node connections.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/milter/lib.sh"
tap_init
need_cmd miltertest redis-server redis-cli
[ -x "$MILTER_BIN" ] || bail_out "no $MILTER_BIN (run make)"
mktmp >/dev/null
cluster_start || bail_out "the cluster did not form: $(tail -n 5 "$TMP/cluster/create.log")"
read -r N1 N2 N3 <<<"$CLUSTER_PORTS"

{
	cat <<EOF
quotas = true
on_backend_error = "tempfail"
redis { cluster = { "127.0.0.1:$N1", "127.0.0.1:$N2" }  prefix = "rgm"  timeout_ms = 500 }
EOF
	cat "$TOP/tests/milter/quota-customers.conf"
	cat <<EOF
customer "q6" {
    domains = { "q6.example" }  licenses = 1
    limits { customer_recipients_per_10min = 2 }
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "100.64.6.0/24" } }
}
customer "slow" {
    domains = { "slow.example" }  licenses = 10
    limits { customer_recipients_per_10min = 10 }
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "100.64.10.0/24" } }
}
customer "race" {
    domains = { "race.example" }  licenses = 100
    limits { customer_recipients_per_10min = 20 }
    relay "lan" { allowed_senders = "domain_addresses"  ip "lan" { range = "100.64.9.0/24" } }
}
EOF
} >"$TMP/cluster.extra"
milter_conf enforce "unix:$TMP/m.sock" "$TMP/cluster.extra" >"$TMP/m.conf"
milter_start "$TMP/m.conf" || bail_out "milter did not start"

milter_lua quota.lua

nodes=
for c in q1 q2 q3 q4 q5; do
	n=$(cluster_node_of "{$c}")
	nodes+="$n"$'\n'
	nk=0
	for p in $CLUSTER_PORTS; do
		[ "$p" = "$n" ] && continue
		nk=$((nk + $(redis-cli -p "$p" --scan --pattern "rgm:{$c}:*" | grep -c .)))
	done
	ok "$c's keys are on node $n, the one serving its slot" \
		test "$(redis-cli -p "$n" --scan --pattern "rgm:{$c}:*" | grep -c .)" -gt 0
	is "$nk" 0 "... and on no other node"
done
ok "the customers' keys are spread over several nodes" \
	test "$(sort -u <<<"$nodes" | grep -c .)" -ge 2

# Four miltertest processes, 10 recipients each, race a limit of 20.
cat >"$TMP/race.lua" <<'EOF'
dofile(DIR .. "/lib.lua")
local c = session{client = "100.64.9.5", helo = "lan.race.example"}
local n = 0
mail(c, {from = "<s@race.example>", qid = "R" .. WHO})
for i = 1, 10 do
	if rcpt(c, "r" .. WHO .. "-" .. i .. "@dest.example") == SMFIR_CONTINUE then
		n = n + 1
	end
end
-- commit: a session closed before its end of message gives its
-- reservations back, and the next racer may take them
eom(c, "race " .. WHO)
print("accepted " .. n)
close(c)
EOF
pids=
for w in 1 2 3 4; do
	miltertest -D "SOCK=$MILTER_SOCK" -D "WHO=$w" -D "DIR=$TOP/tests/milter" \
		-D "LOG=$MILTER_LOG" -s "$TMP/race.lua" >"$TMP/race.$w" 2>&1 &
	pids+=" $!"
done
# shellcheck disable=SC2086
wait $pids		# not the milter, also a child of this shell
total=$(cat "$TMP"/race.? | awk '/^accepted/ { s += $2 } END { print s + 0 }')
is "$total" 20 "four racing miltertest sessions: exactly the limit (20) accepted"

# move CUSTOMER - its slot to another node (SETSLOT MIGRATING/IMPORTING,
#	MIGRATE, SETSLOT NODE); prints the new node's port
move() {
	local slot from to tid p
	slot=$(redis-cli -p "$N1" CLUSTER KEYSLOT "{$1}")
	from=$(cluster_node_of "{$1}")
	case $from in "$N1") to=$N2 ;; "$N2") to=$N3 ;; *) to=$N1 ;; esac
	tid=$(redis-cli -p "$to" CLUSTER MYID)
	cluster_migrate "$slot" "$from" "$to"
	for p in "$to" "$from" $CLUSTER_PORTS; do
		redis-cli -p "$p" CLUSTER SETSLOT "$slot" NODE "$tid" >/dev/null
	done
	echo "$to"
}
milter_lua cluster.lua -D PHASE=before
before3=$(cluster_node_of "{q3}")
to3=$(move q3)
move q6 >/dev/null
"$TOP/ctl/relayguardctl" -c "$TMP/m.conf" quota reset q6 >/dev/null 2>&1
is "$(cluster_node_of "{q3}")" "$to3" "q3's slot moved to another node ($before3 -> $to3)"
is "$(redis-cli -p "$to3" --scan --pattern "rgm:{q3}:cust:*" | grep -c .)" 2 "q3's counters moved with it"
milter_lua cluster.lua -D PHASE=after
# A reload that keeps the seeds and changes timeout_ms (500 -> 2000): the
# node connections, whose socket timeouts hiredis set when they connected,
# are not reused (milter/qpool.c drops those of an older configuration),
# so a node paused for 1 s is waited for.
cat >"$TMP/slow.lua" <<'EOF'
dofile(DIR .. "/lib.lua")
local c = session{client = "100.64.10.5", helo = "lan.slow.example"}
mail(c, {from = "<s@slow.example>", qid = "S" .. WHO})
local r = rcpt(c, "slow" .. WHO .. "@dest.example")
print("reply " .. reply_name(r))
close(c)
EOF
slow() {	# slow N: one RCPT of customer "slow" while its node is paused 1 s
	redis-cli -p "$(cluster_node_of "{slow}")" CLIENT PAUSE 1000 ALL >/dev/null
	miltertest -D "SOCK=$MILTER_SOCK" -D "WHO=$1" -D "DIR=$TOP/tests/milter" \
		-D "LOG=$MILTER_LOG" -s "$TMP/slow.lua" 2>&1 | grep '^reply'
	sleep 1
}
is "$(slow 1)" "reply REPLYCODE" "timeout_ms = 500: a node paused for 1 s is refused..."
like "$(grep 'to=<slow1@dest.example>' "$MILTER_LOG")" "action=DEFER .*backend" "... with a tempfail: a backend error"
sed -i 's/timeout_ms = 500/timeout_ms = 2000/' "$TMP/m.conf"
kill -HUP "$MILTER_PID"
wait_until 5 grep -q "configuration reloaded" "$MILTER_LOG"
is "$(slow 2)" "reply CONTINUE" "after a reload to timeout_ms = 2000, the same pause is waited for: accepted"
ok "the milter is alive" kill -0 "$MILTER_PID"
milter_stop
done_testing
