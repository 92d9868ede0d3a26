# tests/lib/postfix.sh - a private Postfix relaying into smtp-sink (bash)
#
# SYNOPSIS
#	. "$TOP/tests/lib/postfix.sh"	# after common.sh, tap_init, mktmp
#	sink_start			# smtp-sink on 127.0.0.1:$SINK_PORT
#	pf_init				# config + queue + data dir, main.cf
#	pf_tls; pf_sasl; pf_sasl_user alice@acme.example pw
#	pf_conf "smtpd_recipient_restrictions = ..."	# more main.cf
#	pf_start			# postfix start-fg, waits for SMTP
#	out=$(swaks_send --from a@x --to b@y --local-interface 127.0.0.2)
#	rcpt_reply "$out"; data_reply "$out"
#	pf_wait_delivered 3 10; sink_mail_args; sink_rcpts
#	pf_stop; sink_stop		# also run by at_exit hooks
#
# DESCRIPTION
#	Runs as root and never touches /etc/postfix (only master.cf is
#	copied from there). Everything lives in $TMP/postfix:
#	  conf/   main.cf, master.cf, sasl/ (smtpd.conf, sasldb2), tls/
#	  queue/  queue_directory        data/  data_directory
#	  sink/   smtp-sink dump files   postfix.log  Postfix's maillog
#	Postfix listens on 127.0.0.1:$SMTP_PORT only, relays everything
#	to [127.0.0.1]:$SINK_PORT. mynetworks grants nothing by itself:
#	smtpd_relay_restrictions is empty and smtpd_recipient_restrictions
#	defaults to "reject" until the caller sets it with pf_conf.
#
# EXPORTS
#	PF_DIR PF_CONF PF_QUEUE PF_LOG SMTP_PORT SINK_PORT SINK_DIR
#	PF_CERT PF_KEY (after pf_tls) PF_SASLDB (after pf_sasl)
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

[ -n "${_RG_POSTFIX_SH:-}" ] && return 0
_RG_POSTFIX_SH=1

PF_PID=
SINK_PID=
_pf_hook=0
_sink_hook=0
_swaks_n=0

_pf_need() {
	need_root
	need_cmd postfix postconf smtp-sink swaks
	[ -n "$TMP" ] || mktmp >/dev/null
}

# ---------------------------------------------------------------- smtp-sink

# sink_start - run smtp-sink on 127.0.0.1:$SINK_PORT, one file per message
sink_start() {
	_pf_need
	SINK_PORT=${SINK_PORT:-$(free_port)}
	SINK_DIR=$TMP/postfix/sink
	export SINK_PORT SINK_DIR
	mkdir -p "$SINK_DIR"
	chown postfix "$SINK_DIR"
	if [ "$_sink_hook" = 0 ]; then
		at_exit sink_stop
		_sink_hook=1
	fi
	smtp-sink -u postfix -h sink.test -d "$SINK_DIR/%M." \
		"127.0.0.1:$SINK_PORT" 100 </dev/null \
		>>"$TMP/postfix/sink.log" 2>&1 &
	SINK_PID=$!
	wait_port 127.0.0.1 "$SINK_PORT" 10 || {
		diag "smtp-sink did not start:" "$(cat "$TMP/postfix/sink.log")"
		return 1
	}
}

# sink_stop - stop smtp-sink
sink_stop() {
	[ -n "$SINK_PID" ] || return 0
	kill_wait "$SINK_PID" 5
	SINK_PID=
}

# sink_files - list the dump files, oldest first
sink_files() {
	ls -1tr "$SINK_DIR"/* 2>/dev/null
}

# sink_count - number of messages received by smtp-sink
sink_count() {
	local n
	n=$(find "$SINK_DIR" -type f 2>/dev/null | wc -l)
	echo "$n"
}

# sink_clear - forget received messages
sink_clear() {
	find "$SINK_DIR" -type f -delete 2>/dev/null
	return 0
}

_sink_header() {	# _sink_header NAME - that header of every message
	local f
	for f in $(sink_files); do
		sed -n "s/^$1: //p" "$f"
	done
}

# sink_mail_args - every X-Mail-Args value (envelope sender + ESMTP args)
sink_mail_args() { _sink_header X-Mail-Args; }

# sink_rcpts - every X-Rcpt-Args value (one line per recipient)
sink_rcpts() { _sink_header X-Rcpt-Args; }

# sink_helos - every X-Helo-Args value
sink_helos() { _sink_header X-Helo-Args; }

# sink_mail_for RCPT - X-Mail-Args of each message delivered to RCPT
sink_mail_for() {
	local f
	for f in $(sink_files); do
		grep -Fq "X-Rcpt-Args: <$1>" "$f" &&
			sed -n 's/^X-Mail-Args: //p' "$f"
	done
}

# sink_grep ERE - names of dump files whose text matches ERE
sink_grep() {
	local f
	for f in $(sink_files); do
		grep -Eq -- "$1" "$f" && echo "$f"
	done
}

# ---------------------------------------------------------------- postfix

# pf_init - create the private instance (needs SINK_PORT: sink_start first,
#	or set it); SMTP_PORT is chosen unless set
pf_init() {
	_pf_need
	PF_DIR=$TMP/postfix
	PF_CONF=$PF_DIR/conf
	PF_QUEUE=$PF_DIR/queue
	PF_LOG=$PF_DIR/postfix.log
	SMTP_PORT=${SMTP_PORT:-$(free_port)}
	SINK_PORT=${SINK_PORT:-$(free_port)}
	export PF_DIR PF_CONF PF_QUEUE PF_LOG SMTP_PORT SINK_PORT
	mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DIR/data"
	chmod 755 "$PF_DIR" "$PF_CONF" "$PF_QUEUE"
	chown root:root "$PF_QUEUE"
	chown postfix "$PF_DIR/data"
	chmod 700 "$PF_DIR/data"
	: >"$PF_LOG"

	# master.cf: smtpd on our port only, nothing chrooted
	awk -v port="$SMTP_PORT" '
	    /^[#[:space:]]/ || NF < 8 { print; next }
	    $1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port }
	    { $5 = "n"; print }' /etc/postfix/master.cf >"$PF_CONF/master.cf"

	cat >"$PF_CONF/main.cf" <<EOF
# private test instance, written by tests/lib/postfix.sh
compatibility_level = 3.6
config_directory = $PF_CONF
queue_directory = $PF_QUEUE
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test.example
mydomain = test.example
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
alias_maps =
alias_database =
local_recipient_maps =
biff = no
readme_directory = no
smtpd_banner = \$myhostname ESMTP relayguard-test
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_client_connection_rate_limit = 0
smtpd_relay_restrictions =
smtpd_recipient_restrictions = reject
maximal_backoff_time = 10s
minimal_backoff_time = 5s
queue_run_delay = 5s
EOF
	if [ "$_pf_hook" = 0 ]; then
		at_exit pf_stop
		_pf_hook=1
	fi
}

# pf_conf "name = value"... - set main.cf parameters (postconf -e)
pf_conf() {
	postconf -c "$PF_CONF" -e "$@"
}

# pf_postconf ARGS... - postconf on the private instance (e.g. -h name)
pf_postconf() {
	postconf -c "$PF_CONF" "$@"
}

# pf_tls - self-signed certificate; STARTTLS offered (level may)
pf_tls() {
	mkdir -p "$PF_CONF/tls"
	PF_CERT=$PF_CONF/tls/cert.pem
	PF_KEY=$PF_CONF/tls/key.pem
	export PF_CERT PF_KEY
	if [ ! -s "$PF_CERT" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-subj "/CN=relay.test.example" \
			-keyout "$PF_KEY" -out "$PF_CERT" >/dev/null 2>&1 ||
			{ diag "openssl req failed"; return 1; }
		chmod 600 "$PF_KEY"
	fi
	pf_conf "smtpd_tls_cert_file = $PF_CERT" \
		"smtpd_tls_key_file = $PF_KEY" \
		"smtpd_tls_security_level = may" \
		"smtpd_tls_loglevel = 1" \
		"smtpd_tls_received_header = yes"
}

# pf_sasl - Cyrus SASL AUTH (PLAIN, LOGIN) against a sasldb of our own,
#	with and without TLS; users added with pf_sasl_user
pf_sasl() {
	need_cmd saslpasswd2
	mkdir -p "$PF_CONF/sasl"
	chmod 755 "$PF_CONF/sasl"
	PF_SASLDB=$PF_CONF/sasl/sasldb2
	export PF_SASLDB
	cat >"$PF_CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $PF_SASLDB
mech_list: PLAIN LOGIN
EOF
	pf_conf "smtpd_sasl_auth_enable = yes" \
		"smtpd_sasl_type = cyrus" \
		"cyrus_sasl_config_path = $PF_CONF/sasl" \
		"smtpd_sasl_path = smtpd" \
		"smtpd_sasl_local_domain =" \
		"smtpd_sasl_security_options = noanonymous" \
		"smtpd_sasl_tls_security_options = noanonymous" \
		"smtpd_tls_auth_only = no" \
		"broken_sasl_auth_clients = no"
}

# pf_sasl_user USER@DOMAIN PASSWORD - add a SASL user; clients log in as
#	USER@DOMAIN and Postfix reports sasl_username=USER@DOMAIN
pf_sasl_user() {
	local user=${1%@*} dom=${1##*@}
	printf '%s' "$2" | saslpasswd2 -p -c -f "$PF_SASLDB" -u "$dom" "$user" ||
		return 1
	chown root:postfix "$PF_SASLDB"
	chmod 640 "$PF_SASLDB"
}

_pf_master_pid() {
	sed -n '1s/[^0-9]//gp' "$PF_QUEUE/pid/master.pid" 2>/dev/null
}

# pf_start - start Postfix (start-fg in the background), wait for SMTP
pf_start() {
	local out
	if ! out=$(postfix -c "$PF_CONF" check 2>&1); then
		diag "postfix check failed:" "$out"
		return 1
	fi
	[ -n "$out" ] && diag "postfix check: $out"
	postfix -c "$PF_CONF" start-fg </dev/null >>"$PF_DIR/start-fg.out" 2>&1 &
	PF_PID=$!
	export PF_PID
	if ! wait_port 127.0.0.1 "$SMTP_PORT" 20; then
		diag "postfix did not listen on 127.0.0.1:$SMTP_PORT" \
			"$(tail -n 20 "$PF_DIR/start-fg.out" "$PF_LOG" 2>/dev/null)"
		return 1
	fi
}

# pf_reload - make a running Postfix re-read main.cf/master.cf
pf_reload() {
	postfix -c "$PF_CONF" reload >/dev/null 2>&1
}

# pf_stop - stop Postfix: "postfix stop", then make sure master is gone
pf_stop() {
	local mpid
	[ -n "$PF_PID" ] || return 0
	mpid=$(_pf_master_pid)
	postfix -c "$PF_CONF" stop >/dev/null 2>&1
	kill_wait "$PF_PID" 10
	if [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null; then
		kill -KILL "$mpid" 2>/dev/null
	fi
	# children of a killed master notice on their own; hurry them
	if [ -n "$mpid" ]; then
		pkill -KILL -P "$mpid" 2>/dev/null
	fi
	PF_PID=
}

# pf_queue_count - messages still in the queue (not yet delivered)
pf_queue_count() {
	local n
	n=$(find "$PF_QUEUE/incoming" "$PF_QUEUE/active" "$PF_QUEUE/deferred" \
		"$PF_QUEUE/hold" "$PF_QUEUE/maildrop" -type f 2>/dev/null | wc -l)
	echo "$n"
}

# pf_flush - ask the queue manager to deliver everything now
#	(postqueue -c refuses a non-default config dir when it runs
#	set-gid, so the trigger goes straight to the qmgr fifo, as
#	postqueue -f does: flush dead-site cache, scan all queues)
pf_flush() {
	postqueue -c "$PF_CONF" -f >/dev/null 2>&1 ||
		printf 'FA' >"$PF_QUEUE/public/qmgr"
}

_pf_delivered() {	# _pf_delivered N
	[ "$(sink_count)" -ge "$1" ] && [ "$(pf_queue_count)" -eq 0 ]
}

# pf_wait_delivered N [TIMEOUT_S] - wait until smtp-sink holds >= N
#	messages and the Postfix queue is empty
pf_wait_delivered() {
	local n=$1 t=${2:-15}
	wait_until "$t" _pf_delivered "$n" && return 0
	diag "delivered $(sink_count) of $n, $(pf_queue_count) still queued"
	return 1
}

# pf_log_grep ERE - matching lines of the Postfix maillog
pf_log_grep() {
	grep -E -- "$1" "$PF_LOG"
}

# ---------------------------------------------------------------- swaks

# swaks_send [--auth USER PASS] [--tls] [other swaks options]... - one
#	SMTP transaction against the private Postfix; prints the transcript
#	(also kept in $TMP/postfix/swaks.N.log) and returns swaks' status
swaks_send() {
	local args=() log
	while [ $# -gt 0 ]; do
		case $1 in
		--auth)
			args+=(--auth PLAIN --auth-user "$2" --auth-password "$3")
			shift 3
			;;
		--auth-login)
			args+=(--auth LOGIN --auth-user "$2" --auth-password "$3")
			shift 3
			;;
		*)
			args+=("$1")
			shift
			;;
		esac
	done
	_swaks_n=$((_swaks_n + 1))
	log=$TMP/postfix/swaks.$BASHPID.$_swaks_n.log
	timeout 30 swaks --server 127.0.0.1 --port "$SMTP_PORT" --timeout 15 \
		--helo "${SWAKS_HELO:-client.test}" \
		--header "Subject: relayguard test" \
		--body "relayguard integration test" \
		"${args[@]}" >"$log" 2>&1
	local rc=$?
	cat "$log"
	return $rc
}

# _replies_to TRANSCRIPT CMD-ERE - reply lines (codes + text) that follow
#	each client command matching CMD-ERE, one line per command;
#	multi-line replies are joined with " "
_replies_to() {
	printf '%s\n' "$1" | awk -v cmd="$2" '
	    function flush() { if (want && got != "") print got; want = 0; got = "" }
	    /^ *(->|~>) / {
	        flush(); line = $0; sub(/^ *(->|~>) /, "", line)
	        if (line ~ cmd) want = 1
	        next
	    }
	    /^ *(<-|<\*\*|<~|<~\*) / {
	        if (!want) next
	        line = $0; sub(/^ *(<-|<\*\*|<~|<~\*) +/, "", line)
	        # "250-text" continuation: keep texts, one code
	        if (line ~ /^[0-9][0-9][0-9]-/) {
	            got = got (got == "" ? substr(line, 1, 3) " " : " ") substr(line, 5)
	        } else if (got != "") {
	            got = got " " substr(line, 5); flush()
	        } else {
	            got = line; flush()
	        }
	        next
	    }
	    END { flush() }'
}

# rcpt_reply TRANSCRIPT [N] - the reply to the Nth RCPT TO (default 1)
rcpt_reply() {
	_replies_to "$1" '^RCPT TO:' | sed -n "${2:-1}p"
}

# rcpt_replies TRANSCRIPT - the replies to every RCPT TO, one per line
rcpt_replies() {
	_replies_to "$1" '^RCPT TO:'
}

# mail_reply / auth_reply / starttls_reply TRANSCRIPT - reply to that command
mail_reply() { _replies_to "$1" '^MAIL FROM:' | tail -n 1; }
auth_reply() { _replies_to "$1" '^AUTH ' | tail -n 1; }
starttls_reply() { _replies_to "$1" '^STARTTLS' | tail -n 1; }

# data_reply TRANSCRIPT - the reply to the end of data (".")
data_reply() {
	_replies_to "$1" '^\.$' | tail -n 1
}

# final_reply TRANSCRIPT - the last non-QUIT reply: what decided the
#	transaction ("250 2.0.0 Ok: queued as ...", or the refusal)
final_reply() {
	printf '%s\n' "$1" | awk '
	    /^ *(->|~>) QUIT/ { exit }
	    /^ *(<-|<\*\*|<~|<~\*) +[0-9][0-9][0-9] / {
	        line = $0; sub(/^ *(<-|<\*\*|<~|<~\*) +/, "", line); last = line
	    }
	    END { print last }'
}

# queue_id TRANSCRIPT - the queue id from "250 2.0.0 Ok: queued as ID"
queue_id() {
	data_reply "$1" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p'
}
