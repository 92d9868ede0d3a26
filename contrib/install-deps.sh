#!/bin/sh
# install-deps.sh - install the Debian 12 packages relayguard needs to
# build and test, only those missing.  Non-interactive; Postfix is
# installed with "No configuration" so the system's mail setup is untouched.
# Packages go in with --no-install-recommends, so whatever a tool only
# recommends but a test uses is listed here: swaks needs Net::SSLeay for
# STARTTLS and IO::Socket::INET6 for IPv6 clients.  The package test
# (t-debian) builds with dpkg-dev and debhelper, checks with lintian and
# systemd-analyze (which asks man-db for the units' Documentation=).
# prometheus brings promtool, which checks the metrics text and the sample
# alert rules (t-metrics); about 19 MB to download, 96 MB installed.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
set -e
# m4 builds the test Sendmail's .cf; Sendmail itself conflicts with Postfix
# and is downloaded and extracted by tests/lib/sendmail.sh, never installed.
PKGS="build-essential pkg-config clang libmilter-dev libconfuse-dev libhiredis-dev
libcidr-dev libssl-dev libevent-dev libcmocka-dev redis-server redis-sentinel postfix swaks
miltertest sasl2-bin libsasl2-modules openssl mandoc procps iproute2 python3
libnet-ssleay-perl libio-socket-inet6-perl m4
dpkg-dev debhelper lintian systemd man-db adduser prometheus"
# make bench also compares against postfwd2, and tests/bench/instr.sh counts
# instructions with valgrind (--bench).
[ "${1:-}" = --bench ] && PKGS="$PKGS postfwd valgrind"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
		|| missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
