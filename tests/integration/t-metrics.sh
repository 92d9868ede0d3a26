#!/bin/bash
# t-metrics.sh - GET /metrics of relayguard-policyd and relayguard-milter
#
#  - every name of DESIGN 7 is there at 0, and promtool finds nothing;
#  - decisions move by exactly what was decided (3 accepted, 2 relay
#    denied), in policyd and in the milter (miltertest);
#  - the Redis histogram counts every quota call, and only those;
#  - a reload moves the generation and reloads_total{result="ok"}, a bad
#    file reloads_total{result="failed"};
#  - garbage, oversized requests, other paths and methods, and a flood of
#    idle HTTP connections leave the daemon deciding and scraping;
#  - contrib/prometheus: the alert rules and the scrape job check clean.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/redis.sh"
. "$TOP/tests/lib/policyd.sh"
. "$TOP/tests/milter/lib.sh"

tap_init
need_cmd redis-server python3 promtool miltertest
[ -x "$POLICYD_BIN" ] || bail_out "$POLICYD_BIN is not built (run make)"
mktmp >/dev/null
redis_start || bail_out "redis-server did not start"

# scrape PORT [PATH [METHOD]] - print the body of a 200, else "HTTP <code>"
scrape() {
	python3 - "$@" <<'PYEOF'
import sys, urllib.request, urllib.error
port, path = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "/metrics"
method = sys.argv[3] if len(sys.argv) > 3 else "GET"
req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), method=method)
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print("HTTP %d" % e.code)
except Exception as e:
    print("ERROR %s" % e)
PYEOF
}

# value TEXT SERIES - the value of one series (exact name and labels)
value() {
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }' <<<"$1"
}

# delta BEFORE AFTER SERIES - how much the series grew
delta() {
	echo $(($(value "$2" "$3") - $(value "$1" "$3")))
}

# redis_calls TEXT - the sum of relayguard_redis_calls_total
redis_calls() {
	awk '/^relayguard_redis_calls_total\{/ { n += $2 } END { print n + 0 }' <<<"$1"
}

# names_ok WHO TEXT - every DESIGN 7 name declared, and promtool is content
names_ok() {
	local who=$1 text=$2 name lint
	for name in relayguard_decisions_total relayguard_lookups_total \
		relayguard_redis_calls_total relayguard_redis_call_duration_seconds \
		relayguard_connections relayguard_config_generation \
		relayguard_config_reloads_total relayguard_config_last_reload_timestamp_seconds; do
		like "$text" "# TYPE $name (counter|gauge|histogram)" "$who: $name declared"
	done
	is "$(value "$text" 'relayguard_decisions_total{verdict="backend_error"}')" 0 \
		"$who: a verdict never given is there at 0"
	is "$(value "$text" 'relayguard_lookups_total{map="tls",result="error"}')" 0 \
		"$who: lookups are there at 0"
	lint=$(promtool check metrics <<<"$text" 2>&1)
	is "$?:$lint" "0:" "$who: promtool check metrics finds nothing"
	unlike "$text" '@|customer=|[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+"' "$who: no address or customer in a label"
}

# --- relayguard-policyd ------------------------------------------------
PP=$(free_port)
PM=$(free_port)
PS=$(free_port)
cat >"$TMP/p.conf" <<EOF
redis { server = "127.0.0.1:$REDIS_PORT"  prefix = "rgm"  timeout_ms = 500 }
user = ""
policyd { listen = { "inet:127.0.0.1:$PP" }  metrics = "127.0.0.1:$PM"  max_connections = 300
          socketmap = { "inet:127.0.0.1:$PS" } }
route "gw" { host = "gw.acme.example"  port = 587 }
customer "acme" {
    outbound_route = "gw"
    domains  = { "acme.example" }
    licenses = 100
    users    = { "bob@acme.example" }
    relay "office" {
        allowed_senders = "domain_addresses"
        ip "lan" { range = "127.0.0.1/32" }
    }
}
EOF
policyd_start "$TMP/p.conf" || bail_out "relayguard-policyd did not start"
wait_port 127.0.0.1 "$PM" 5 || bail_out "no metrics listener on $PM"

m0=$(scrape "$PM")
names_ok policyd "$m0"
is "$(value "$m0" relayguard_config_generation)" 1 "policyd: generation 1 after the first load"
like "$(python3 -c "
import urllib.request
r = urllib.request.urlopen('http://127.0.0.1:$PM/metrics', timeout=5)
print(r.status, r.headers['Content-Type'])")" '^200 text/plain; version=0\.0\.4' "policyd: 200, text/plain; version=0.0.4"

for i in 1 2 3; do
	is "$(policy_rcpt "$PP" sender=a@acme.example recipient=r$i@dest.example \
		instance=acc.$i)" "action=OK" "policyd: recipient $i accepted"
done
for i in 1 2; do
	like "$(policy_rcpt "$PP" client_address=192.0.2.77 sender=x@stranger.example \
		recipient=d$i@dest.example instance=den.$i)" "^action=550 5\.7\.0 Mail relay denied" \
		"policyd: recipient $i relay denied"
done
m1=$(scrape "$PM")
is "$(delta "$m0" "$m1" 'relayguard_decisions_total{verdict="accept"}')" 3 "policyd: accept +3"
is "$(delta "$m0" "$m1" 'relayguard_decisions_total{verdict="relay_denied"}')" 2 "policyd: relay_denied +2"
is "$(delta "$m0" "$m1" 'relayguard_decisions_total{verdict="invalid_credentials"}')" 0 \
	"policyd: no other verdict moved"
is "$(value "$m1" relayguard_redis_call_duration_seconds_count)" 3 \
	"policyd: the histogram counts the 3 reservations (relay denied costs no call)"
is "$(redis_calls "$m1")" 3 "policyd: redis_calls_total sums to the histogram's count"
is "$(value "$m1" 'relayguard_redis_calls_total{result="ok"}')" 3 "policyd: the 3 calls were ok"

# END-OF-MESSAGE commits: one more Redis call, no decision.
is "$(policy_query "$PP" request=smtpd_access_policy protocol_state=END-OF-MESSAGE \
	client_address=127.0.0.1 sender=a@acme.example recipient_count=1 instance=acc.1)" \
	"action=DUNNO" "policyd: end of message answered"
m2=$(scrape "$PM")
is "$(delta "$m1" "$m2" relayguard_redis_call_duration_seconds_count)" 1 "policyd: the commit is one Redis call"
is "$(delta "$m1" "$m2" 'relayguard_decisions_total{verdict="accept"}')" 0 \
	"policyd: end of message is not a decision"

# An open policy connection is in the gauge.
exec {held}<>"/dev/tcp/127.0.0.1/$PP"
sleep 0.2
is "$(value "$(scrape "$PM")" relayguard_connections)" 1 "policyd: the connections gauge sees an open client"
exec {held}>&-

# Socketmap lookups: counted by map and result.
out=$(python3 "$TOP/tests/lib/socketmap.py" "inet:127.0.0.1:$PS" query \
	"relayhost x@acme.example" "relayhost x@other.example" "tls [gw.acme.example]:587" "nomap x")
like "$out" "NOTFOUND" "policyd: socketmap lookups answered ($out)"
ms=$(scrape "$PM")
is "$(value "$ms" 'relayguard_lookups_total{map="relayhost",result="ok"}')" 1 \
	"policyd: lookups_total{relayhost,ok} 1"
is "$(value "$ms" 'relayguard_lookups_total{map="relayhost",result="notfound"}')" 1 \
	"policyd: lookups_total{relayhost,notfound} 1"
is "$(value "$ms" 'relayguard_lookups_total{map="tls",result="ok"}')" 1 \
	"policyd: lookups_total{tls,ok} 1"

# Reloads: a good one moves the generation, a bad one is counted as failed.
gen=$(value "$m2" relayguard_config_generation)
policyd_hup
wait_until 5 sh -c "grep -q 'reloaded configuration' '$POLICYD_LOG'"
m3=$(scrape "$PM")
ok "policyd: the generation grew on reload ($gen -> $(value "$m3" relayguard_config_generation))" \
	test "$(value "$m3" relayguard_config_generation)" -gt "$gen"
is "$(value "$m3" 'relayguard_config_reloads_total{result="ok"}')" 1 "policyd: reloads_total{ok} 1"
cp "$TMP/p.conf" "$TMP/p.good"
echo 'customer "broken" { licenses = -5 }' >>"$TMP/p.conf"
policyd_hup
wait_until 5 sh -c "grep -q 'reload failed' '$POLICYD_LOG'"
m4=$(scrape "$PM")
is "$(value "$m4" 'relayguard_config_reloads_total{result="failed"}')" 1 "policyd: reloads_total{failed} 1"
is "$(value "$m4" relayguard_config_generation)" "$(value "$m3" relayguard_config_generation)" \
	"policyd: a failed reload keeps the generation"
cp "$TMP/p.good" "$TMP/p.conf"

# Abuse of the HTTP side: answered or closed, and the daemon carries on.
is "$(scrape "$PM" /)" "HTTP 404" "policyd: another path is 404"
is "$(scrape "$PM" /metrics POST)" "HTTP 405" "policyd: POST /metrics is 405"
out=$(python3 - "$PM" <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
def send(payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(payload)
        d = s.recv(200)
        return d.split(b"\r\n")[0].decode(errors="replace") or "closed"
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()
print("garbage:", send(bytes(range(256)) * 4 + b"\r\n\r\n"))
print("headers:", send(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"))
print("body:", send(b"GET /metrics HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n" + b"b" * 100000))
idle = [socket.create_connection(("127.0.0.1", port)) for i in range(200)]
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
d = b""
while True:
    x = s.recv(65536)
    if not x:
        break
    d += x
print("flood:", d.split(b"\r\n")[0].decode())
for c in idle:
    c.close()
PYEOF
)
like "$out" "garbage: (HTTP/1\.[01] 400|closed)" "policyd: garbage: 400 or closed"
like "$out" "headers: (HTTP/1\.[01] 4[0-9][0-9]|closed)" "policyd: 100 kB of headers refused"
like "$out" "body: (HTTP/1\.[01] 413|closed)" "policyd: a 1 MB body refused"
like "$out" "flood: HTTP/1\.0 200" "policyd: scraped during a flood of 200 idle HTTP connections"
like "$(cat "$POLICYD_LOG")" "metrics: 16 connections: closing the oldest" "policyd: the HTTP connection cap is logged"
ok "policyd: alive after the HTTP abuse" policyd_running
is "$(policy_rcpt "$PP" sender=a@acme.example recipient=after@dest.example instance=after.1)" \
	"action=OK" "policyd: still deciding after the HTTP abuse"
m5=$(scrape "$PM")
is "$(delta "$m4" "$m5" 'relayguard_decisions_total{verdict="accept"}')" 1 "policyd: and still counting"
policyd_stop
is "$?" 0 "policyd: graceful stop with the metrics server"

# --- relayguard-milter -------------------------------------------------
MM=$(free_port)
cat >"$TMP/m.extra" <<EOF
quotas = true
redis { server = "127.0.0.1:$REDIS_PORT"  prefix = "rgmm"  timeout_ms = 500 }
EOF
milter_conf enforce "unix:$TMP/m.sock" "$TMP/m.extra" |
	sed "s|^milter { |milter { metrics = \"127.0.0.1:$MM\"  |" >"$TMP/m.conf"
milter_start "$TMP/m.conf" || bail_out "relayguard-milter did not start"
wait_port 127.0.0.1 "$MM" 5 || bail_out "no milter metrics listener on $MM"
n0=$(scrape "$MM")
names_ok milter "$n0"
milter_lua metrics.lua
n1=$(scrape "$MM")
is "$(delta "$n0" "$n1" 'relayguard_decisions_total{verdict="accept"}')" 3 "milter: accept +3"
is "$(delta "$n0" "$n1" 'relayguard_decisions_total{verdict="relay_denied"}')" 2 "milter: relay_denied +2"
is "$(delta "$n0" "$n1" relayguard_redis_call_duration_seconds_count)" 4 \
	"milter: the histogram counts 3 reservations and 1 commit"
is "$(redis_calls "$n1")" "$(value "$n1" relayguard_redis_call_duration_seconds_count)" \
	"milter: redis_calls_total sums to the histogram's count"
is "$(value "$n1" relayguard_connections)" 0 "milter: no session open after miltertest"
kill -HUP "$MILTER_PID"
wait_until 5 sh -c "grep -q 'configuration reloaded' '$MILTER_LOG'"
n2=$(scrape "$MM")
ok "milter: the generation grew on reload" \
	test "$(value "$n2" relayguard_config_generation)" -gt "$(value "$n1" relayguard_config_generation)"
is "$(value "$n2" 'relayguard_config_reloads_total{result="ok"}')" 1 "milter: reloads_total{ok} 1"
milter_stop

# --- contrib/prometheus -----------------------------------------------
out=$(promtool check rules "$TOP/contrib/prometheus/relayguard-rules.yml" 2>&1)
is "$?" 0 "promtool check rules: contrib/prometheus/relayguard-rules.yml" "$out"
out=$(cd "$TOP/contrib/prometheus" && promtool check config prometheus-scrape.yml 2>&1)
is "$?" 0 "promtool check config: contrib/prometheus/prometheus-scrape.yml" "$out"
for name in 'relayguard_redis_calls_total{result=~"error|timeout"}' \
	'relayguard_decisions_total{verdict="backend_error"}' \
	'relayguard_config_reloads_total{result="failed"}'; do
	like "$(cat "$TOP/contrib/prometheus/relayguard-rules.yml")" "$(sed 's/[][{}|.*+?()^$]/\\&/g' <<<"$name")" \
		"an alert rule watches $name"
done

done_testing
