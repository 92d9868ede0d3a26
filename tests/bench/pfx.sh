# tests/bench/pfx.sh - a minimal private Postfix for the benchmark (sourced).
#
# Usage (as root, from sh/bash):
#   . tests/bench/pfx.sh
#   pfx_setup DIR SMTPD_PORT SINK_PORT ["main.cf line" ...]
#   pfx_start DIR SMTPD_PORT     # runs "postfix start-fg" in the background
#   pfx_stop DIR                 # "postfix stop", then waits for master
# The instance listens on 127.0.0.1:SMTPD_PORT, relays every message to
# [127.0.0.1]:SINK_PORT, runs nothing chrooted and logs to DIR/maillog.
# Extra arguments to pfx_setup are appended to main.cf (later lines win).
#
# Errors: every function returns non-zero with a message on stderr when a
# step fails (postfix check, start-up not answering within 30 s).
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.

pfx_setup() {
    _d=$1 _port=$2 _sink=$3
    shift 3
    mkdir -p "$_d/queue" "$_d/data" || return 1
    chown postfix "$_d/data" || return 1
    cat >"$_d/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $_d/queue
data_directory = $_d/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.relayguard.test
mydomain = relayguard.test
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$_sink
smtp_host_lookup = native
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = $_d/maillog
maillog_file_prefixes = $_d
smtpd_banner = \$myhostname ESMTP
default_process_limit = 100
EOF
    for _l in "$@"; do printf '%s\n' "$_l" >>"$_d/main.cf"; done
    cat >"$_d/master.cf" <<EOF
127.0.0.1:$_port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    # postfix(1) writes its errors to stderr only when that is a tty.
    script -qec "postfix -c $_d check" /dev/null >"$_d/check.log" 2>&1 || {
        echo "pfx: postfix check failed:" >&2; cat "$_d/check.log" >&2; return 1; }
}

pfx_start() {
    _d=$1 _port=$2
    postfix -c "$_d" start-fg >"$_d/master.out" 2>&1 &
    echo $! >"$_d/start-fg.pid"
    _i=0
    while [ $_i -lt 300 ]; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$_port") 2>/dev/null; then return 0; fi
        sleep 0.1; _i=$((_i + 1))
    done
    echo "pfx: postfix did not answer on 127.0.0.1:$_port" >&2
    cat "$_d/master.out" "$_d/maillog" >&2 2>/dev/null
    return 1
}

pfx_stop() {
    _d=$1
    postfix -c "$_d" stop >/dev/null 2>&1
    if [ -f "$_d/start-fg.pid" ]; then
        _p=$(cat "$_d/start-fg.pid")
        _i=0
        while kill -0 "$_p" 2>/dev/null && [ $_i -lt 100 ]; do
            sleep 0.1; _i=$((_i + 1))
        done
        kill -0 "$_p" 2>/dev/null && kill -9 "$_p" 2>/dev/null
        rm -f "$_d/start-fg.pid"
    fi
    return 0
}
