#!/bin/bash
# t-same-verdicts.sh - the same facts give the same verdict in every front
#	end: each row of tests/milter/verdicts.table is asked of
#	relayguard-policyd (policy protocol, one connection per transaction,
#	as a Postfix smtpd process would) and of relayguard-milter in
#	enforce mode (miltertest, IPv6 clients written as Sendmail does),
#	and both must give exactly the expected reply.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/policyd.sh"
. "$TOP/tests/milter/lib.sh"
tap_init
need_cmd miltertest
mktmp >/dev/null
[ -x "$MILTER_BIN" ] || bail_out "no $MILTER_BIN (run make)"
[ -x "$POLICYD_BIN" ] || bail_out "no $POLICYD_BIN (run make)"
TABLE=$TOP/tests/milter/verdicts.table

P_PORT=$(free_port)
printf 'policyd { listen = { "inet:127.0.0.1:%s" } }\n' "$P_PORT" >"$TMP/policyd.extra"
echo 'quotas = false' >>"$TMP/policyd.extra"
milter_conf enforce "unix:$TMP/v.sock" "$TMP/policyd.extra" >"$TMP/v.conf"
policyd_start "$TMP/v.conf" || bail_out "relayguard-policyd did not start"
milter_start "$TMP/v.conf" || bail_out "relayguard-milter did not start"

# --- the policy daemon: one connection per transaction ---------------------
_pfd=
pol_open() { exec {_pfd}<>"/dev/tcp/127.0.0.1/$P_PORT"; }
pol_close() { [ -n "$_pfd" ] && exec {_pfd}>&-; _pfd=; }
# pol_rcpt TXN CLIENT HELO SASL TLS SENDER RCPT - print the action's value
pol_rcpt() {
	local sender=$6 line action=
	[ "$sender" = "<>" ] && sender=
	{
		printf '%s\n' request=smtpd_access_policy protocol_state=RCPT \
			protocol_name=ESMTP "helo_name=$3" queue_id= \
			"sender=$sender" "recipient=$7" recipient_count=0 \
			"client_address=$2" client_name=unknown \
			reverse_client_name=unknown "instance=sv.$1.0" \
			"sasl_method=${4:+PLAIN}" "sasl_username=$4" sasl_sender= \
			size=0 ccert_subject= ccert_issuer= ccert_fingerprint= \
			"encryption_protocol=$([ "$5" = 1 ] && echo TLSv1.3)" \
			"encryption_cipher=$([ "$5" = 1 ] && echo TLS_AES_256_GCM_SHA384)" \
			"encryption_keysize=$([ "$5" = 1 ] && echo 256 || echo 0)" \
			etrn_domain= stress= ccert_pubkey_fingerprint= \
			client_port=40000 policy_context= server_address=127.0.0.1 \
			server_port=25
		printf '\n'
	} >&"$_pfd"
	while IFS= read -r -t 5 line <&"$_pfd"; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case $line in action=*) action=${line#action=} ;; esac
	done
	printf '%s\n' "${action:-(no answer)}"
}

declare -A POL WANT
prev=
while IFS='|' read -r txn client helo sasl tls sender rcpt want; do
	case $txn in '' | \#*) continue ;; esac
	if [ "$txn" != "$prev" ]; then
		pol_close
		pol_open || bail_out "cannot connect to relayguard-policyd"
		prev=$txn
	fi
	POL[$txn\|$rcpt]=$(pol_rcpt "$txn" "$client" "$helo" "$sasl" "$tls" "$sender" "$rcpt")
	WANT[$txn\|$rcpt]=$want
done <"$TABLE"
pol_close
[ "${#WANT[@]}" -ge 30 ] || bail_out "only ${#WANT[@]} rows in $TABLE"

# --- the milter --------------------------------------------------------------
milter_lua verdicts.lua -D "TABLE=$TABLE" -D "OUT=$TMP/milter.out" >"$TMP/lua.tap" 2>&1 ||
	cat "$TMP/lua.tap"
declare -A MIL
while IFS='|' read -r txn rcpt reply; do
	MIL[$txn\|$rcpt]=$reply
done <"$TMP/milter.out"

# --- compare -----------------------------------------------------------------
while IFS='|' read -r txn client helo sasl tls sender rcpt want; do
	case $txn in '' | \#*) continue ;; esac
	k=$txn\|$rcpt
	p=${POL[$k]} m=${MIL[$k]:-(not asked)}
	if [ "$p" = "$want" ] && [ "$m" = "$want" ]; then
		pass "$txn <$rcpt>: both ${want:0:9}"
	else
		fail "$txn <$rcpt>: same verdict" "client=$client helo=$helo sasl=$sasl tls=$tls from=$sender" \
			"expected: $want" "policyd:  $p" "milter:   $m"
	fi
done <"$TABLE"
is "$(grep -c '^not ok' "$TMP/lua.tap")" 0 "miltertest run clean"

done_testing
