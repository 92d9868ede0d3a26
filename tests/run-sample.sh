#!/bin/bash
# run-sample.sh - `make run`: start relayguard on the sample config
# (conf/relayguard.conf) against a private Redis, show a few decisions
# and the main.cf lines to paste, then keep running until ^C.
# RUN_SECONDS=N stops after N seconds (default: until ^C on a terminal,
# 5 s otherwise).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
cd "$(dirname "$0")/.." || exit 1
. tests/lib/common.sh
tap_init
mktmp >/dev/null
. tests/lib/redis.sh
. tests/lib/policyd.sh

redis_start >/dev/null || { echo "run: redis-server did not start" >&2; exit 1; }
PORT=10040
port_in_use $PORT && PORT=$(free_port)
SMPORT=10041
port_in_use $SMPORT && SMPORT=$(free_port)
sed -e "s|server        = \"127.0.0.1:6379\"|server = \"127.0.0.1:$REDIS_PORT\"|" \
    -e 's|^user             = "relayguard"|user = ""|' \
    -e "s|inet:127.0.0.1:10040|inet:127.0.0.1:$PORT|" \
    -e "s|inet:127.0.0.1:10041|inet:127.0.0.1:$SMPORT|" \
    conf/relayguard.conf >"$TMP/relayguard.conf"
policyd_start "$TMP/relayguard.conf" || { cat "$TMP/policyd.log"; exit 1; }
if [ -x milter/relayguard-milter ]; then
	MPORT=$(free_port)
	sed -i "s|inet:8891@127.0.0.1|inet:$MPORT@127.0.0.1|" "$TMP/relayguard.conf"
	milter/relayguard-milter -f -c "$TMP/relayguard.conf" >>"$TMP/milter.log" 2>&1 &
	MPID=$!
	at_exit "kill $MPID 2>/dev/null; wait $MPID 2>/dev/null"
fi

cat <<MSG
relayguard is running on the sample configuration:
  config           $TMP/relayguard.conf
  redis            127.0.0.1:$REDIS_PORT (private, empty)
  policy daemon    inet:127.0.0.1:$PORT (pid $POLICYD_PID), log $TMP/policyd.log
MSG
[ -n "${MPID:-}" ] && echo "  milter           inet:$MPORT@127.0.0.1 (pid $MPID), log $TMP/milter.log"
cat <<MSG

Paste into Postfix's main.cf (then 'postfix reload'):

smtpd_relay_restrictions =
smtpd_recipient_restrictions =
    check_policy_service { inet:127.0.0.1:$PORT, timeout=10s,
        { default_action = 451 4.3.5 Policy service unavailable } },
    reject
smtpd_end_of_data_restrictions =
    check_policy_service { inet:127.0.0.1:$PORT, timeout=10s, default_action=DUNNO }
MSG
[ -n "${MPID:-}" ] && cat <<MSG
smtpd_milters = inet:127.0.0.1:$MPORT
milter_default_action = tempfail
milter_connect_macros = j {daemon_name} {daemon_addr} v _ {client_addr}
# only clients of "any" settings need the milter; the table that keeps the
# others off it (ctl/relayguardctl -c $TMP/relayguard.conf milter-map):
smtpd_milter_maps = cidr:/etc/postfix/relayguard_milter_map
MSG
[ -n "${MPID:-}" ] && ctl/relayguardctl -c "$TMP/relayguard.conf" milter-map | grep -v '^#' | sed 's/^/    /'
echo
echo "Some decisions of the sample config (policy requests as Postfix sends them):"
demo() {	# demo DESCRIPTION ATTR...
	printf '  %-58s %s\n' "$1" "$(shift; policy_rcpt "$PORT" "$@")"
}
demo "printer 192.0.2.7, sender scan@acme.example" client_address=192.0.2.7 \
	sender=scan@acme.example instance=d1
demo "printer 192.0.2.7, foreign sender" client_address=192.0.2.7 \
	sender=x@other.example instance=d2
demo "unknown client 10.9.9.9" client_address=10.9.9.9 helo_name=mx.other.example \
	sender=x@other.example instance=d3
demo "roaming alice, AUTH without TLS" client_address=10.9.9.9 \
	sasl_username=alice@acme.example sender=alice@acme.example instance=d4
demo "roaming alice, AUTH with TLS" client_address=10.9.9.9 sasl_username=alice@acme.example \
	sender=alice@acme.example encryption_protocol=TLSv1.3 instance=d5
demo "app server, foreign sender, HELO in acme.example" client_address=198.51.100.10 \
	helo_name=app.acme.example sender=x@other.example instance=d6
echo
echo "Routes of the sample config (relayguardctl check):"
ctl/relayguardctl -c "$TMP/relayguard.conf" check | sed -n '/^route /,$p' | sed 's/^/  /'
echo "A routing lookup (socketmap relayhost acme's alice):"
echo "  $(python3 tests/lib/socketmap.py "inet:127.0.0.1:$SMPORT" query 'relayhost alice@acme.example')"
echo "Postfix setup for them (relayguardctl postfix-config):"
ctl/relayguardctl -c "$TMP/relayguard.conf" postfix-config | sed 's/^/  /'
echo
echo "Explain any decision without sending mail:"
echo "  ctl/relayguardctl -c $TMP/relayguard.conf explain --client 192.0.2.7 --from a@acme.example --rcpt b@example.org"
echo
if [ -n "${RUN_SECONDS:-}" ]; then
	sleep "$RUN_SECONDS"
elif [ -t 0 ]; then
	echo "Running; ^C stops it. Decision log:"
	tail -n +1 -f "$TMP/policyd.log" &
	at_exit "kill $! 2>/dev/null"
	wait "$POLICYD_PID"
else
	sleep 5
fi
