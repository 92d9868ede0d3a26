# tests/lib/tlshops.sh - TLS next hops for routing tests: a test CA and
#	extra smtpd listeners of the private Postfix (bash)
#
# SYNOPSIS
#	. "$TOP/tests/lib/postfix.sh"; . "$TOP/tests/lib/tlshops.sh"
#	sink_start; pf_init			# the private Postfix, not started
#	tlshop_add good good			# NAME KIND, before pf_start
#	tlshop_add wrong wrongname; tlshop_add self selfsigned
#	tlshop_add old expired; tlshop_add plain plain
#	pf_start; tlshop_wait			# every hop listening
#	tlshop_port good	-> 41234	(its 127.0.0.1 port)
#	tlshop_name good	-> good.tls.test (the name to validate it as)
#	tlshop_nexthop good	-> [127.0.0.1]:41234 (relayhost syntax)
#	$TLSHOP_CA		the test CA's certificate (smtp_tls_CAfile,
#				relayguardctl tls-test --ca-file)
#	tlshop_sent good	-> messages the hop took (count)
#	tlshop_wait_sent good 1 [TIMEOUT_S]	true once it took that many
#
# DESCRIPTION
#	A hop is a listener "127.0.0.1:PORT inet ... smtpd" added to the
#	private Postfix's master.cf (tests/lib/postfix.sh): its banner and
#	EHLO name are NAME.tls.test (never the relay's own myhostname, or the
#	relay would see a mail loop), it accepts mail from 127.0.0.0/8 for
#	anyone, with no policy service or milter, and discards it with
#	content_filter=discard:sink-NAME, which Postfix logs as
#	"status=sent (sink-NAME)": that line is the proof of delivery.
#	KIND is the certificate it presents with STARTTLS:
#	  good        signed by the test CA, names NAME.tls.test
#	  wrongname   signed by the test CA, names elsewhere.tls.test only
#	  selfsigned  names NAME.tls.test, signed by itself
#	  expired     signed by the test CA, names NAME.tls.test, valid in 2020
#	  plain       no certificate: STARTTLS is not offered
#	All files live in $TMP/tlshops (ca/, one NAME.pem key+chain per hop).
#	Needs openssl(1); run after common.sh's tap_init and postfix.sh's
#	pf_init, since the hops are part of that Postfix.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

[ -n "${_RG_TLSHOPS_SH:-}" ] && return 0
_RG_TLSHOPS_SH=1

declare -A _tlshop_port=()
TLSHOP_DIR=
TLSHOP_CA=

_tlshop_ca() {	# the test CA, once
	[ -n "$TLSHOP_CA" ] && return 0
	need_cmd openssl
	TLSHOP_DIR=$TMP/tlshops
	mkdir -p "$TLSHOP_DIR/ca/new"
	: >"$TLSHOP_DIR/ca/index.txt"
	echo 1000 >"$TLSHOP_DIR/ca/serial"
	cat >"$TLSHOP_DIR/ca/ca.cnf" <<EOF
[ ca ]
default_ca = testca
[ testca ]
dir = $TLSHOP_DIR/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/new
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = hop
[ anything ]
commonName = supplied
[ hop ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::TLSHOP_SAN
EOF
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
		-subj "/CN=relayguard test CA" \
		-addext "basicConstraints=critical,CA:true" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$TLSHOP_DIR/ca/ca.key" -out "$TLSHOP_DIR/ca/ca.pem" \
		>"$TLSHOP_DIR/ca/req.log" 2>&1 ||
		{ diag "openssl: cannot make the test CA" "$(cat "$TLSHOP_DIR/ca/req.log")"; return 1; }
	TLSHOP_CA=$TLSHOP_DIR/ca/ca.pem
	export TLSHOP_CA TLSHOP_DIR
}

_tlshop_cert() {	# _tlshop_cert NAME KIND -> $TLSHOP_DIR/NAME.pem (key, then cert)
	local name=$1 kind=$2 d=$TLSHOP_DIR cn=$1.tls.test dates
	[ "$kind" = wrongname ] && cn=elsewhere.tls.test
	if [ "$kind" = selfsigned ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$cn" \
			-addext "subjectAltName=DNS:$cn" \
			-keyout "$d/$name.key" -out "$d/$name.crt" >"$d/$name.log" 2>&1 ||
			return 1
	else
		case $kind in
		expired) dates=(-startdate 20200101000000Z -enddate 20200201000000Z) ;;
		*) dates=(-days 30) ;;
		esac
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" \
			-keyout "$d/$name.key" -out "$d/$name.csr" >"$d/$name.log" 2>&1 &&
		TLSHOP_SAN="DNS:$cn" openssl ca -batch -notext -config "$d/ca/ca.cnf" \
			"${dates[@]}" -in "$d/$name.csr" -out "$d/$name.crt" \
			>>"$d/$name.log" 2>&1 || return 1
	fi
	cat "$d/$name.key" "$d/$name.crt" >"$d/$name.pem"
	chmod 600 "$d/$name.pem"
}

# tlshop_add NAME KIND - a next hop on a free 127.0.0.1 port (see KIND
#	above); after pf_init, before pf_start (or pf_reload afterwards)
tlshop_add() {
	local name=$1 kind=$2 port tls
	[ -n "$PF_CONF" ] || { diag "tlshop_add: pf_init first"; return 1; }
	case $kind in
	good | wrongname | selfsigned | expired | plain) ;;
	*) diag "tlshop_add: unknown kind $kind"; return 1 ;;
	esac
	_tlshop_ca || return 1
	port=$(free_port) || return 1
	if [ "$kind" = plain ]; then
		tls="-o smtpd_tls_security_level=none"
	else
		_tlshop_cert "$name" "$kind" ||
			{ diag "openssl: no certificate for $name" "$(cat "$TLSHOP_DIR/$name.log")"; return 1; }
		tls="-o smtpd_tls_security_level=may -o smtpd_tls_chain_files=$TLSHOP_DIR/$name.pem -o smtpd_tls_loglevel=1"
	fi
	cat >>"$PF_CONF/master.cf" <<EOF
# relayguard test next hop $name ($kind), tests/lib/tlshops.sh
127.0.0.1:$port inet n - n - - smtpd
  -o myhostname=$name.tls.test $tls
  -o smtpd_milters= -o smtpd_relay_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o content_filter=discard:sink-$name
EOF
	_tlshop_port[$name]=$port
}

# tlshop_wait - true once every hop listens (after pf_start)
tlshop_wait() {
	local n
	for n in "${!_tlshop_port[@]}"; do
		wait_port 127.0.0.1 "${_tlshop_port[$n]}" 20 ||
			{ diag "next hop $n is not listening on ${_tlshop_port[$n]}"; return 1; }
	done
}

# tlshop_port / tlshop_name / tlshop_nexthop NAME - see SYNOPSIS
tlshop_port() { printf '%s\n' "${_tlshop_port[$1]}"; }
tlshop_name() { printf '%s.tls.test\n' "$1"; }
tlshop_nexthop() { printf '[127.0.0.1]:%s\n' "${_tlshop_port[$1]}"; }

# tlshop_sent NAME - how many messages the hop took
tlshop_sent() {
	local n
	n=$(grep -cF "status=sent (sink-$1)" "$PF_LOG" 2>/dev/null)
	echo "${n:-0}"
}

_tlshop_has() { [ "$(tlshop_sent "$1")" -ge "$2" ]; }

# tlshop_wait_sent NAME N [TIMEOUT_S] - wait until the hop took N messages
tlshop_wait_sent() {
	wait_until "${3:-15}" _tlshop_has "$1" "$2"
}
