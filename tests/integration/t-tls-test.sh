#!/bin/bash
# t-tls-test.sh - relayguardctl tls-test against the TLS next hops of
#	tests/lib/tlshops.sh (a test CA; right name, wrong name, self-signed,
#	expired, no STARTTLS) and against servers that talk garbage.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
tap_init
mktmp >/dev/null
. "$TOP/tests/lib/postfix.sh"
. "$TOP/tests/lib/tlshops.sh"
need_cmd openssl python3
CTL=${CTL_BIN:-$TOP/ctl/relayguardctl}
CONF=$TOP/conf/relayguard.conf

pf_init || bail_out "pf_init"
for h in good:good wrong:wrongname self:selfsigned old:expired plain:plain; do
	tlshop_add "${h%%:*}" "${h#*:}" || bail_out "tlshop_add $h"
done
pf_start || bail_out "postfix did not start"
tlshop_wait || bail_out "next hops not listening"

# tt ARGS... - run tls-test, set out and rc
tt() {
	out=$(timeout 60 "$CTL" -c "$CONF" tls-test "$@" 2>&1)
	rc=$?
}
ALL=(--ca-file "$TLSHOP_CA" --require-tls --require-ca-signed --validate-hostname)

tt "127.0.0.1:$(tlshop_port good)" --tls-name good.tls.test "${ALL[@]}"
is "$rc" 0 "good hop, CA given, right name, all flags: exit 0"
like "$out" "STARTTLS offered" "good: STARTTLS offered"
like "$out" "TLS: TLSv1\.[23], cipher [A-Z0-9_-]+ \([0-9]+ bits\)" "good: protocol and cipher"
like "$out" "subject: CN = good\.tls\.test" "good: chain subject"
like "$out" "issuer:  CN = relayguard test CA" "good: chain issuer"
like "$out" "names:   DNS:good\.tls\.test" "good: certificate names"
like "$out" "valid:   [A-Z][a-z]+ +[0-9]+ [0-9:]+ 20[0-9]+ GMT to " "good: validity"
like "$out" "verification: ok" "good: verification ok"
like "$out" "Verified TLS connection established" "good: verified, in posttls-finger's words"
like "$out" "policy: secure match=good\.tls\.test" "good: the policy relayguard answers"
like "$out" "require_tls: +PASS" "good: require_tls verdict"
like "$out" "require_ca_signed: PASS" "good: require_ca_signed verdict"
like "$out" "validate_hostname: PASS \(the certificate names good\.tls\.test\)" "good: validate_hostname verdict"
like "$out" "result: mail would be delivered" "good: result line"
# the hop itself takes mail over TLS and logs it as status=sent (sink-good)
swaks --server 127.0.0.1 --port "$(tlshop_port good)" --tls --timeout 15 \
	--from a@x.example --to b@y.example >"$TMP/swaks.log" 2>&1
ok "a TLS next hop takes mail (tlshops.sh)" tlshop_wait_sent good 1 15

tt "127.0.0.1:$(tlshop_port wrong)" --tls-name wrong.tls.test "${ALL[@]}"
is "$rc" 1 "wrong name: exit 1"
like "$out" "num=62:hostname mismatch" "wrong name: OpenSSL's error 62"
like "$out" "validate_hostname: FAIL \(hostname mismatch\)" "wrong name: validate_hostname fails"
like "$out" "require_ca_signed: PASS" "wrong name: the chain itself is fine"
like "$out" "result: mail would NOT be delivered" "wrong name: result line"

tt "127.0.0.1:$(tlshop_port self)" --tls-name self.tls.test "${ALL[@]}"
is "$rc" 1 "self-signed: exit 1"
like "$out" "require_ca_signed: FAIL \(self-signed certificate\)" "self-signed: reason"
like "$out" "Untrusted TLS connection established" "self-signed: untrusted"

tt "127.0.0.1:$(tlshop_port old)" --tls-name old.tls.test "${ALL[@]}"
is "$rc" 1 "expired: exit 1"
like "$out" "require_ca_signed: FAIL \(certificate has expired\)" "expired: reason"
like "$out" "valid:   Jan  1 00:00:00 2020 GMT to Feb  1 00:00:00 2020 GMT" "expired: validity shown"

tt "127.0.0.1:$(tlshop_port good)" --tls-name good.tls.test --require-tls --require-ca-signed --validate-hostname
is "$rc" 1 "no --ca-file: the system's CAs do not know the test CA: exit 1"
like "$out" "unable to get local issuer certificate" "no --ca-file: reason"

tt "127.0.0.1:$(tlshop_port self)" --require-tls
is "$rc" 0 "self-signed with require_tls only (encrypt): exit 0"
like "$out" "policy: encrypt" "encrypt policy"
like "$out" "require_ca_signed: off" "flags off are said to be off"

tt "127.0.0.1:$(tlshop_port plain)" --require-tls
is "$rc" 1 "no STARTTLS, require_tls: exit 1"
like "$out" "STARTTLS not offered" "no STARTTLS: reason"
like "$out" "require_tls: +FAIL \(STARTTLS not offered\)" "no STARTTLS: require_tls verdict"
tt "127.0.0.1:$(tlshop_port plain)"
is "$rc" 0 "no STARTTLS, no flags (policy may): exit 0"
like "$out" "policy: may" "may policy"

# --mx: no DNS here, so the name itself is the host (as Postfix does for a
# domain without MX); "verify" checks the MX host name, localhost.
RES_OPTIONS="timeout:1 attempts:1" tt "localhost:$(tlshop_port good)" --mx "${ALL[@]}"
is "$rc" 1 "--mx on localhost, all flags: the certificate does not name localhost"
like "$out" "MX lookup of localhost: .*using localhost itself" "--mx: falls back to the name itself"
like "$out" "policy: verify" "--mx: verify policy"
like "$out" "hostname mismatch" "--mx: the MX host name is checked"
RES_OPTIONS="timeout:1 attempts:1" tt "localhost:$(tlshop_port good)" --mx --tls-name good.tls.test "${ALL[@]}"
is "$rc" 0 "--mx with --tls-name: exit 0"
like "$out" "policy: verify match=good\.tls\.test" "--mx with --tls-name: verify match=NAME"

port=$(free_port)
tt "127.0.0.1:$port" --require-tls
is "$rc" 1 "unreachable port: exit 1"
like "$out" "Connection refused" "unreachable port: reason"

tt; is "$rc" 2 "no host: exit 2"
tt 127.0.0.1:1 --require-ca-signed; is "$rc" 2 "--require-ca-signed without --require-tls: exit 2"
like "$out" "needs --require-tls" "flag rule: said why"
tt 127.0.0.1:1 --require-tls --require-ca-signed --validate-hostname
is "$rc" 2 "an IP address with certificate checks needs --tls-name: exit 2"
tt 127.0.0.1:99999; is "$rc" 2 "port out of range: exit 2"
tt "127.0.0.1:$(tlshop_port good)" --ca-file "$TMP/no-such-ca.pem"; is "$rc" 2 "unreadable CA file: exit 2"
tt 127.0.0.1:25 --frobnicate; is "$rc" 2 "unknown option: exit 2"
tt a b; is "$rc" 2 "two hosts: exit 2"
out=$("$CTL" -c "$TMP/missing.conf" tls-test 127.0.0.1 2>&1); rc=$?
is "$rc" 2 "config error: exit 2"

# The ROUTE form: a configured route's host, port and flags.
cat >"$TMP/routes.conf" <<EOF
user = ""
route "hop" { host = "127.0.0.1" port = $(tlshop_port good) require_tls = true
              require_ca_signed = true validate_hostname = true tls_name = "good.tls.test" }
route "bad" { host = "127.0.0.1" port = $(tlshop_port wrong) require_tls = true
              require_ca_signed = true validate_hostname = true tls_name = "wrong.tls.test" }
EOF
out=$(timeout 60 "$CTL" -c "$TMP/routes.conf" tls-test hop --ca-file "$TLSHOP_CA" 2>&1); rc=$?
is "$rc" 0 "route hop (CA, right name): exit 0"
like "$out" "route hop: next hop \[127\.0\.0\.1\]:[0-9]+, TLS policy secure match=good\.tls\.test" \
	"route hop: its next hop and the TLS policy the socketmap answers"
out=$(timeout 60 "$CTL" -c "$TMP/routes.conf" tls-test bad --ca-file "$TLSHOP_CA" 2>&1); rc=$?
is "$rc" 1 "route bad (wrong name): exit 1"
like "$out" "hostname mismatch" "route bad: hostname mismatch"
out=$(timeout 60 "$CTL" -c "$TMP/routes.conf" tls-test "no such!" 2>&1); rc=$?
is "$rc" 2 "neither a route nor HOST[:PORT]: exit 2"

# Garbage servers: each mode answers every connection the same way.
cat >"$TMP/junk.py" <<'EOF'
import socket, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
def serve(c):
    try:
        if mode == "long":
            c.sendall(b"220 " + b"A" * 200000)
        elif mode == "flood":
            c.sendall(b"220-junk\r\n" * 5000)
        elif mode == "junk":
            c.sendall(b"\x00\xffHELLO THERE\x1b[2J\r\n")
        elif mode == "mixed":
            c.sendall(b"220-a\r\n250 b\r\n")
        elif mode == "drip":
            for _ in range(60):
                c.sendall(b"2")
                time.sleep(0.5)
        elif mode == "silent":
            time.sleep(30)
        elif mode == "refuse":
            c.sendall(b"220 junk.test ESMTP\r\n")
            c.recv(1000)
            c.sendall(b"250-junk.test\r\n250 STARTTLS\r\n")
            c.recv(1000)
            c.sendall(b"454 4.7.0 TLS not available\r\n")
        elif mode in ("tlsjunk", "inject"):
            c.sendall(b"220 junk.test ESMTP\r\n")
            c.recv(1000)
            c.sendall(b"250-junk.test\r\n250 STARTTLS\r\n")
            c.recv(1000)
            if mode == "inject":
                c.sendall(b"220 go ahead\r\n250 injected\r\n")
            else:
                c.sendall(b"220 go ahead\r\n")
                c.recv(1000)
                c.sendall(b"\x15\x03\x03\x00\x02\x02\x28" + b"X" * 5000)
        time.sleep(12)
    except OSError:
        pass
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
junk() {	# junk MODE ERE DESC - tls-test against that server: exit 1, reason, < 15 s
	local p pid t0
	p=$(free_port)
	python3 "$TMP/junk.py" "$1" "$p" >/dev/null 2>&1 &
	pid=$!
	at_exit "kill $pid"
	wait_port 127.0.0.1 "$p" 10 || { fail "$3: server did not start"; return; }
	t0=$SECONDS
	tt "127.0.0.1:$p" --require-tls
	is "$rc" 1 "$3: exit 1"
	like "$out" "$2" "$3: reason"
	ok "$3: bounded time ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 15
	kill "$pid" 2>/dev/null
}
junk long "banner: reply line too long" "overlong banner line"
junk flood "banner: too many reply lines" "endless multi-line banner"
junk junk "banner: not an SMTP reply" "binary junk"
junk mixed "banner: reply codes differ" "codes that change within a reply"
junk drip "banner: timed out \(10 s\)" "a server that drips one byte at a time"
junk silent "banner: timed out \(10 s\)" "a silent server"
junk tlsjunk "handshake: " "junk instead of a TLS handshake"
junk refuse "STARTTLS: 454 4.7.0 TLS not available" "STARTTLS refused"
junk inject "sent data before the handshake" "data injected after the STARTTLS reply"
unlike "$out" "Verified|Trusted" "injected: no TLS claimed"

done_testing
