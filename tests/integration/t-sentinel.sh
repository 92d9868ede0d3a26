#!/bin/bash
# t-sentinel.sh - relayguard on Redis Sentinel (DESIGN 2, 7; issue 12)
#
# A master, a replica and three sentinels on loopback ports:
#  - the config checks: server with sentinels, sentinels without
#    sentinel_master, sentinel_master alone are refused with file:line;
#  - relayguard-policyd (quotas on) under continuous RCPT requests (a
#    python3 client, 4 connections, RATE requests/s) through a forced
#    failover (SENTINEL failover) and then a SIGKILLed master: no client
#    error, no answer slower than timeout_ms + MARGIN_MS, every answer
#    OK or 451 (on_backend_error), all OK again within 5 s of the
#    failover, and the counts lost with the old master (accepted RCPTs
#    the new master does not hold, read with relayguardctl quota show)
#    within the bound relayguard.conf(5) states;
#  - relayguard-milter (enforce mode) running across both failovers:
#    quota.lua before and after (relayguardctl quota reset in between);
#  - relayguardctl quota show against the sentinels.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/policyd.sh"
. "$TOP/tests/milter/lib.sh"

tap_init
need_cmd redis-server redis-cli redis-sentinel python3 miltertest
CTL=${CTL_BIN:-$TOP/ctl/relayguardctl}
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
[ -x "$MILTER_BIN" ] || bail_out "$MILTER_BIN is not built (run make)"
mktmp >/dev/null
sentinel_start relayguard || bail_out "the sentinels did not start"

TIMEOUT_MS=200
MARGIN_MS=100
RATE=500
# relayguard.conf(5): at most 1.5 s of decisions per forced failover (the
# sentinels announce the new master up to ~1 s after promoting it), a
# few for a master that dies (replication lag)
BOUND_FORCED=$((RATE * 3 / 2))
BOUND_KILL=25
PORT=$(free_port)
S=""
for p in $SENT_PORTS; do S="$S${S:+, }\"127.0.0.1:$p\""; done
redis_block() {	# redis_block PREFIX
	cat <<EOF
redis {
    sentinels       = { "127.0.0.1:$(free_port)", $S }
    sentinel_master = "relayguard"
    timeout_ms      = $TIMEOUT_MS
    prefix          = "$1"
}
EOF
}
{ redis_block rgs; cat <<EOF
user   = ""
quotas = true
policyd { listen = { "inet:127.0.0.1:$PORT" } }
customer "acme" {
    domains  = { "acme.example" }
    licenses = 100000
    limits { customer_recipients_per_10min = 300000  customer_recipients_per_day = 4000000 }
    relay "printers" {
        allowed_senders = "domain_addresses"
        ip "office" { range = "192.0.2.0/24" }
    }
}
EOF
} >"$TMP/rg.conf"

# --- configuration checks --------------------------------------------------
bad() {	# bad NAME REDIS-BLOCK EXPECTED-ERROR
	printf '%s\ncustomer "a" { domains = { "a.example" } licenses = 1 relay "r" { ip "i" { range = "192.0.2.0/24" } } }\n' \
		"$2" >"$TMP/bad.conf"
	out=$("$POLICYD_BIN" -t -c "$TMP/bad.conf" 2>&1)
	like "$out" "^$(re_quote "$TMP/bad.conf"):$3" "config: $1 refused"
}
bad "server with sentinels" 'redis {
    server = "127.0.0.1:6379"
    sentinels = { "127.0.0.1:26379" }
    sentinel_master = "m"
}' '2: server: not with sentinels'
bad "sentinels without sentinel_master" 'redis {
    sentinels = { "127.0.0.1:26379" }
}' '2: sentinels: sentinel_master is required'
bad "sentinel_master without sentinels" 'redis {
    sentinel_master = "m"
}' '2: sentinel_master and sentinel_password_file need sentinels'
bad "a sentinel that is not host:port" 'redis {
    sentinels = { "unix:/tmp/s" }
    sentinel_master = "m"
}' '2: sentinel "unix:/tmp/s": expected host:port'
bad "an unreadable sentinel_password_file" 'redis {
    sentinels = { "127.0.0.1:26379" }
    sentinel_master = "m"
    sentinel_password_file = "/nonexistent/pw"
}' '4: sentinel_password_file /nonexistent/pw: No such file'
ok "config: the sentinel config passes -t" "$POLICYD_BIN" -t -c "$TMP/rg.conf"

# --- the milter and policyd, started against the first master -------------
{ redis_block rgm; cat <<EOF
quotas = true
on_backend_error = "tempfail"
EOF
cat "$TOP/tests/milter/quota-customers.conf"; } >"$TMP/milter.extra"
milter_conf enforce "unix:$TMP/m.sock" "$TMP/milter.extra" >"$TMP/m.conf"
milter_start "$TMP/m.conf" || bail_out "milter did not start"
milter_lua quota.lua
policyd_start "$TMP/rg.conf" || bail_out "relayguard-policyd did not start"
first_ok() {
	[ "$(policy_rcpt "$PORT" client_address=192.0.2.5 sender=a@acme.example instance=s.0)" \
		= "action=OK" ]
}
ok "policyd: an RCPT through the sentinels' master" wait_until 5 first_ok
ok "policyd: the quota keys are on the master" \
	test "$(redis-cli -p "$SENT_MASTER_PORT" --scan --pattern 'rgs:{acme}:*' | wc -l)" -gt 0
like "$(grep 'quota: sentinels name' "$POLICYD_LOG")" "127.0.0.1:$SENT_MASTER_PORT \\(master relayguard\\)" \
	"policyd: logs the master the sentinels name (the first sentinel is down)"

cat >"$TMP/load.py" <<'PYEOF'
# load.py PORT SECONDS RATE THREADS OUT - RCPTs at RATE/s over THREADS connections
import os, socket, sys, threading, time
port, secs, rate, nthr, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5]
t0 = time.time()
lock = threading.Lock()
rows, counter = [], [0]
def worker():
    s = f = None
    next_t = time.time()
    while time.time() - t0 < secs:
        with lock:
            counter[0] += 1
            n = counter[0]
        a = time.time()
        try:
            if s is None:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                f = s.makefile("rb")
            s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\n"
                       "client_address=192.0.2.5\nsender=load@acme.example\n"
                       "recipient=r%d@dest.example\ninstance=load.%d.%d\n\n"
                       % (n, os.getpid(), n)).encode())
            action = None
            while True:
                line = f.readline()
                if not line:
                    raise OSError("connection closed")
                line = line.decode().rstrip("\n")
                if line == "":
                    break
                if line.startswith("action="):
                    action = line[7:].split(" ")[0]
            with lock:
                rows.append((a - t0, (time.time() - a) * 1000, action))
        except OSError as e:
            with lock:
                rows.append((a - t0, -1, "ERROR"))
            s = None
        next_t += nthr / rate
        d = next_t - time.time()
        if d > 0:
            time.sleep(d)
ts = [threading.Thread(target=worker) for k in range(nthr)]
for t in ts: t.start()
for t in ts: t.join()
with open(out, "w") as o:
    for r in sorted(rows):
        o.write("%.4f %.2f %s\n" % r)
PYEOF

# used - the customer's day usage as relayguardctl shows it
used() {
	"$CTL" -c "$TMP/rg.conf" quota show acme | sed -n 's/.*customer_recipients_per_day *\([0-9]*\) of.*/\1/p'
}

# failover NAME BOUND ACTION... - 12 s of load, ACTION after 2 s, then the checks
failover() {
	local name=$1 bound=$2 before after old lp t_act out accepted lost
	shift 2
	old=$(sentinel_master_port)
	before=$(used)
	python3 "$TMP/load.py" "$PORT" 12 "$RATE" 4 "$TMP/$name.out" &
	lp=$!
	sleep 2
	"$@"
	wait "$lp"
	t_act=2
	out=$TMP/$name.out
	isnt "$(sentinel_master_port)" "$old" "$name: the sentinels name a new master"
	is "$(awk '$3 == "ERROR"' "$out" | wc -l)" 0 "$name: no client error (policyd up)"
	is "$(awk '$3 != "OK" && $3 != "451"' "$out" | wc -l)" 0 "$name: every answer OK or 451 4.3.0"
	ok "$name: no answer slower than timeout_ms + ${MARGIN_MS} ms ($(awk '$2 > m { m = $2 } END { print m }' "$out") ms)" \
		awk -v lim=$((TIMEOUT_MS + MARGIN_MS)) '$2 > lim { bad = 1 } END { exit bad }' "$out"
	ok "$name: all OK again within 5 s ($(awk '$3 != "OK" { l = $1 } END { print l ? l - 2 : 0 }' "$out") s after)" \
		awk -v t=$t_act '$3 != "OK" && $1 > t + 5 { bad = 1 } END { exit bad }' "$out"
	ok "$name: OK answers in the last second" awk '$1 > 11 && $3 == "OK" { n++ } END { exit !n }' "$out"
	diag "$name: $(wc -l <"$out") requests, $(awk '$3 == "451"' "$out" | wc -l) answered 451"
	accepted=$(awk '$3 == "OK"' "$out" | wc -l)
	after=$(used)
	lost=$((before + accepted - after))
	ok "$name: counts lost with the old master: $lost (bound $bound)" test "$lost" -le "$bound"
}

force() { sentinel_cli SENTINEL failover relayguard >/dev/null; }
failover forced "$BOUND_FORCED" force
# the old master, a replica now, has caught up
old_replica_up() {
	redis-cli -p "$SENT_MASTER_PORT" INFO replication | grep -q master_link_status:up
}
wait_until 20 old_replica_up || diag "the old master is not a synced replica"
kill_master() { kill -KILL "$(sentinel_node_pid "$(sentinel_master_port)")"; }
failover sigkill "$BOUND_KILL" kill_master

# --- the milter followed both failovers -------------------------------------
for c in q1 q2 q3 q4 q5; do
	"$CTL" -c "$TMP/m.conf" quota reset "$c" >/dev/null
done
milter_lua quota.lua
ok "milter: still running" kill -0 "$MILTER_PID"
like "$("$CTL" -c "$TMP/m.conf" quota show q2)" "customer_recipients_per_day +3 of 3 used" \
	"relayguardctl quota show: through the sentinels, on the new master"
ok "policyd: still running" kill -0 "$POLICYD_PID"
like "$(grep -c '+switch-master relayguard' "$POLICYD_LOG")" "^[12]$" \
	"policyd: followed +switch-master"
done_testing
