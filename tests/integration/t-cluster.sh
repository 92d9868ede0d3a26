#!/bin/bash
# t-cluster.sh - relay quotas on a Redis Cluster (three masters on loopback)
#
#  - three customers whose {customer} slots sit on three different nodes;
#  - exactness for each: 100 RCPT requests race a limit of 20 over 10
#    connections to two relayguard-policyd processes; exactly 20 pass, and
#    the counters live on the node that serves the customer's slot;
#  - the first seed is dead: the next one is asked;
#  - a slot migrated step by step (SETSLOT MIGRATING/IMPORTING, MIGRATE,
#    SETSLOT NODE): answers that need -ASK, -TRYAGAIN and -MOVED;
#  - a slot moved back with redis-cli --cluster reshard under load: not
#    one backend error, the limit exact across the move;
#  - relayguardctl quota show and reset on the cluster.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/policyd.sh"

CTL=${CTL_BIN:-$TOP/ctl/relayguardctl}
tap_init
need_cmd redis-server redis-cli python3
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
mktmp >/dev/null
cluster_start || bail_out "the cluster did not form: $(tail -n 5 "$TMP/cluster/create.log")"
read -r N1 N2 N3 <<<"$CLUSTER_PORTS"

# one customer name per node
declare -A CUST
for i in $(seq 0 200); do
	n=$(cluster_node_of "{c$i}")
	[ -z "${CUST[$n]:-}" ] && CUST[$n]=c$i
done
for n in $N1 $N2 $N3; do
	[ -n "${CUST[$n]:-}" ] || bail_out "no customer name lands on node $n"
done
CA=${CUST[$N1]} CB=${CUST[$N2]} CC=${CUST[$N3]}

DEAD=$(free_port)
P1=$(free_port)
P2=$(free_port)
write_conf() {	# write_conf FILE PORT
	local c i=2
	cat >"$1" <<EOF
redis {
    cluster    = { "127.0.0.1:$DEAD", "127.0.0.1:$N2", "127.0.0.1:$N3" }
    timeout_ms = 300
    prefix     = "rgc"
}
user = ""
policyd { listen = { "inet:127.0.0.1:$2" } }
EOF
	for c in $CA $CB $CC; do
		cat >>"$1" <<EOF
customer "$c" {
    domains  = { "$c.example" }
    licenses = 1000
    limits { customer_recipients_per_10min = 20 }
    relay "office" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.$i/32" }
    }
}
EOF
		i=$((i + 1))
	done
}
write_conf "$TMP/p1.conf" "$P1"
write_conf "$TMP/p2.conf" "$P2"
policyd_start "$TMP/p1.conf" || bail_out "first relayguard-policyd did not start"
"$POLICYD_BIN" -f -c "$TMP/p2.conf" </dev/null >>"$TMP/policyd2.log" 2>&1 &
PID2=$!
at_exit "kill_wait $PID2"
wait_port 127.0.0.1 "$P2" 10 || bail_out "second relayguard-policyd did not start"
sleep 1		# the slot maps

# race TAG N-CONN N-REQ SENDER CLIENT-IP [PAUSE] - N-CONN connections, half
#	to each daemon, each sending N-REQ RCPT requests (PAUSE seconds
#	apart, else pipelined); prints "TIME ACTION" per request
race() {
	python3 - "$P1" "$P2" "$@" <<'PYEOF'
import socket, sys, threading, time
p1, p2, tag, nconn, nreq, sender, ip = sys.argv[1:8]
pause = float(sys.argv[8]) if len(sys.argv) > 8 else 0
nconn, nreq = int(nconn), int(nreq)
out, lock, go = [], threading.Lock(), threading.Event()
def req(n):
    return ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
            "protocol_name=ESMTP\nhelo_name=client.test\nqueue_id=\n"
            "sender=%s\nrecipient=r%d@dest.example\nrecipient_count=0\n"
            "client_address=%s\nclient_name=localhost\n"
            "reverse_client_name=localhost\ninstance=%s.%d\n"
            "sasl_method=\nsasl_username=\nencryption_protocol=\n\n"
            % (sender, n, ip, tag, n)).encode()
def conn(c):
    s = socket.create_connection(("127.0.0.1", int(p1 if c % 2 else p2)), timeout=20)
    f = s.makefile("rb")
    go.wait()
    if not pause:
        s.sendall(b"".join(req(c * nreq + i) for i in range(nreq)))
    got = []
    for i in range(nreq):
        if pause:
            s.sendall(req(c * nreq + i))
        a = ""
        for line in f:
            if line == b"\n":
                break
            if line.startswith(b"action="):
                a = line[7:].decode().strip()
        got.append("%.3f %s" % (time.time(), a))
        if pause:
            time.sleep(pause)
    with lock:
        out.extend(got)
ts = [threading.Thread(target=conn, args=(c,)) for c in range(nconn)]
for t in ts: t.start()
go.set()
for t in ts: t.join()
print("\n".join(out))
PYEOF
}
ok_count() { cut -d' ' -f2- <<<"$1" | grep -c '^OK$'; }

# ---------------------------------------------------------- exactness per node

i=2
for c in $CA $CB $CC; do
	node=$(cluster_node_of "{$c}")
	out=$(race "$c" 10 10 "sender@$c.example" "127.0.0.$i")
	is "$(grep -c . <<<"$out")" 100 "$c (node $node): 100 racing RCPT requests answered"
	is "$(ok_count "$out")" 20 "$c (node $node): exactly the limit (20) accepted"
	is "$(cut -d' ' -f2- <<<"$out" | grep -c '^450 4.2.1 Peak SMTP relay limit exceeded for customer.$')" 80 \
		"$c: the other 80 get 450 4.2.1"
	is "$(redis-cli -p "$node" --scan --pattern "rgc:{$c}:cust:*" | grep -c .)" 2 \
		"$c: its counters live on node $node"
	i=$((i + 1))
done

# ---------------------------------------------------------- relayguardctl

out=$("$CTL" -c "$TMP/p1.conf" quota show "$CB"); rc=$?
is "$rc" 0 "quota show on the cluster: exit 0"
like "$out" "customer_recipients_per_10min +20 of 20 used" "quota show: usage read from the customer's node"
like "$("$CTL" -c "$TMP/p1.conf" quota reset "$CB" 2>&1)" "reset" "quota reset on the cluster"
is "$(redis-cli -p "$N2" --scan --pattern "rgc:{$CB}:*" | grep -c .)" 0 \
	"quota reset: the customer's keys are gone from its node"
like "$("$CTL" -c "$TMP/p1.conf" quota show "$CB")" "customer_recipients_per_10min +0 of 20 used" \
	"quota show: zero after reset"
is "$(ok_count "$(race again 4 10 "sender@$CB.example" 127.0.0.3)")" 20 "after reset, the limit again"

# ---------------------------------------------------------- slot migration
#
# Step by step first, so that each redirect is proved by an answer that
# needs it.  The slot is set MIGRATING/IMPORTING and the customer's keys
# are MIGRATEd; then:
#  - a transaction begun before (its reservation key moved with the
#    others) asks for its second recipient: the old node has none of the
#    keys and answers -ASK; only ASKING and the call on the new node,
#    which has all of them, give the answer;
#  - a new transaction's call meets -TRYAGAIN there (its reservation key
#    exists nowhere yet, so the keys count as split); it is sent again
#    until SETSLOT NODE, 0.1 s later, ends the migration;
#  - then the old node answers -MOVED: the daemons load the new map.

"$CTL" -c "$TMP/p1.conf" quota reset "$CA" >/dev/null
SLOT=$(redis-cli -p "$N1" CLUSTER KEYSLOT "{$CA}")
ID1=$(redis-cli -p "$N1" CLUSTER MYID)
ID3=$(redis-cli -p "$N3" CLUSTER MYID)
maps() { cat "$POLICYD_LOG" "$TMP/policyd2.log" | grep -c "slot map of [0-9]* nodes loaded"; }
mrcpt() { policy_rcpt "$P1" client_address=127.0.0.2 "sender=s@$CA.example" "$@"; }
is "$(mrcpt instance=ask.1 recipient=a1@dest.example)" "action=OK" "before the move: a transaction's first recipient"
cluster_migrate "$SLOT" "$N1" "$N3"
is "$(redis-cli -p "$N3" --scan --pattern "rgc:{$CA}:rsv:*" | grep -c .)" 1 "its reservation moved to the new node"
is "$(mrcpt instance=ask.1 recipient=a2@dest.example)" "action=OK" \
	"during the migration: its second recipient, through -ASK"
is "$(mrcpt instance=ask.1 protocol_state=END-OF-MESSAGE recipient_count=2)" "action=DUNNO" \
	"... and its END-OF-MESSAGE commits, through -ASK"
maps_before=$(maps)
mrcpt instance=try.1 recipient=t1@dest.example >"$TMP/try.out" &
TPID=$!
sleep 0.1
for p in $N1 $N2 $N3; do
	redis-cli -p "$p" CLUSTER SETSLOT "$SLOT" NODE "$ID3" >/dev/null
done
wait "$TPID"
is "$(cat "$TMP/try.out")" "action=OK" \
	"a new transaction during the migration: -TRYAGAIN, sent again until the slot moved"
is "$(policy_rcpt "$P2" client_address=127.0.0.2 "sender=s@$CA.example" instance=moved.1)" \
	"action=OK" "after SETSLOT NODE: the other daemon's call, through -MOVED"
ok "-MOVED made the daemons load the new slot map ($maps_before -> $(maps))" \
	test "$(maps)" -gt "$maps_before"
is "$(cluster_node_of "{$CA}")" "$N3" "the slot is served by the third node now"
is "$(redis-cli -p "$N3" --scan --pattern "rgc:{$CA}:cust:*" | grep -c .)" 2 "the counters moved with it"
like "$("$CTL" -c "$TMP/p1.conf" quota show "$CA" 2>/dev/null)" \
	"customer_recipients_per_10min +4 of 20 used" "quota show after the move: the 4 recipients, none lost"

# Then as operators move slots, under load: redis-cli --cluster reshard
# moves the slot back while 2 connections (one per daemon) send a request
# every 0.05 s.  Not one answer may be a backend error, and exactly the
# limit passes across the move.
"$CTL" -c "$TMP/p1.conf" quota reset "$CA" >/dev/null
race mig 2 60 "sender@$CA.example" 127.0.0.2 0.05 >"$TMP/mig.out" &
RPID=$!
sleep 0.5
maps_before=$(maps)
mstart=$(date +%s.%N)
redis-cli --cluster reshard "127.0.0.1:$N1" --cluster-from "$ID3" --cluster-to "$ID1" \
	--cluster-slots 1 --cluster-yes >"$TMP/reshard.log" 2>&1
rc=$?
mend=$(date +%s.%N)
wait "$RPID"
is "$rc" 0 "redis-cli --cluster reshard moved a slot under load"
is "$(cluster_node_of "{$CA}")" "$N1" "... the customer's slot: it is on the first node again"
out=$(cat "$TMP/mig.out")
is "$(grep -c . <<<"$out")" 120 "reshard: 120 spaced requests answered"
is "$(ok_count "$out")" 20 "reshard: exactly the limit (20) accepted across the move"
is "$(cut -d' ' -f2- <<<"$out" | grep -vc -e '^OK$' -e '^450 ')" 0 \
	"reshard: not one backend error (every answer OK or the limit's)"
ok "reshard: requests were answered while it ran and after it" \
	test "$(awk -v a="$mstart" '$1 >= a' <<<"$out" | grep -c .)" -ge 10
ok "reshard: the daemons loaded the new slot map" test "$(maps)" -gt "$maps_before"
is "$(policy_rcpt "$P1" client_address=127.0.0.2 sender=x@$CA.example instance=one.more)" \
	"action=450 4.2.1 Peak SMTP relay limit exceeded for customer." "never one more, after the move"

# A reload that keeps the seeds keeps the node connections, and they take
# its timeout_ms: 300 -> 2000, then the customer's node stalls for 0.8 s
# (CLIENT PAUSE): the answer waits for it instead of timing out.
"$CTL" -c "$TMP/p1.conf" quota reset "$CB" >/dev/null
sed -i 's/timeout_ms = 300/timeout_ms = 2000/' "$TMP/p1.conf"
nreload=$(grep -c "reloaded configuration" "$POLICYD_LOG")
policyd_hup
wait_until 10 test "$(grep -c "reloaded configuration" "$POLICYD_LOG")" -gt "$nreload"
NB=$(cluster_node_of "{$CB}")
redis-cli -p "$NB" CLIENT PAUSE 800 ALL >/dev/null
t0=$(date +%s%N)
is "$(policy_rcpt "$P1" client_address=127.0.0.3 "sender=s@$CB.example" instance=slow.1)" "action=OK" \
	"after a reload to timeout_ms = 2000: a call to a node paused for 0.8 s waits for it"
ok "... and its answer came after the pause, not before" test $(( ($(date +%s%N) - t0) / 1000000 )) -ge 600
sed -i 's/timeout_ms = 2000/timeout_ms = 300/' "$TMP/p1.conf"
nreload=$(grep -c "reloaded configuration" "$POLICYD_LOG")
policyd_hup
wait_until 10 test "$(grep -c "reloaded configuration" "$POLICYD_LOG")" -gt "$nreload"
redis-cli -p "$NB" CLIENT PAUSE 800 ALL >/dev/null
like "$(policy_rcpt "$P1" client_address=127.0.0.3 "sender=s@$CB.example" instance=slow.2)" "^action=4[0-9][0-9] " \
	"back to timeout_ms = 300: the same pause is a backend error (tempfail)"
sleep 0.8

done_testing
