#!/usr/bin/python3
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
"""gen-conf.py - generate a benchmark relayguard.conf, its rg-loadgen pool
and the equivalent postfwd ruleset.

Usage:
  gen-conf.py -n CUSTOMERS -o relayguard.conf [-p pool.txt]
              [--postfwd-template tests/bench/postfwd.cf --postfwd-out rules.cf]
              [--redis 127.0.0.1:6379] [--listen inet:127.0.0.1:10040]
              [--milter inet:8891@127.0.0.1] [--extra 'LINE' ...]
              [--loopback] [--pool-size 5000] [--seed 1]
              [--socketmap inet:127.0.0.1:10041] [--routes] [--smpool sm.txt]

Customer i ("cust<i>") gets the domains cust<i>.example and
cust<i>-mail.example, three registered users, licenses = 100000 (so quota
limits stay out of a short benchmark's way), and the relay setting
"office" (domain_addresses, one IPv4 range); every 3rd customer also has
"devices" (registered_users, a second IPv4 range) and every 5th an IPv6
/112 in "office". IPv4 ranges are unique and do not overlap: /24s from
10.0.0.0/8 then 100.64.0.0/10, or /25 or /26 blocks when more ranges are
needed than /24s exist there. --loopback adds customer "bench-loopback"
(127.0.0.0/24, loopback.example) for end-to-end runs through Postfix.
--extra adds a raw top-level line (e.g. the switch that turns quotas off).

--routes (implied by --smpool) adds routes r<k> (N/5 of them, at least
4) of four kinds by k % 4: a plain gateway, a secure route (CA and name
checked), an IPv6-literal partner requiring TLS, an mx_lookup route; and
per customer by i % 4: outbound_route = a gateway, outbound_tls with a
secure_route, outbound_tls alone, nothing; every 3rd customer allows user
gateways and has an active one, the next has an inactive one.
--socketmap adds that socketmap listener to the policyd block.
The socketmap pool (--smpool, for rg-smload) holds "MAP KEY EXPECTED"
lines: relayhost and transport lookups of senders (customers', gateway
addresses, foreign, null) and tls lookups of next hops (every route's,
and unknown ones), each with the answer relayguard must give; about 40%
are hits.

The pool holds "tx CLIENT HELO SENDER" transactions: about 75% should be
accepted (office, devices, IPv6), 10% come from an address in no range,
10% use a sender outside the customer's domains, 5% the null sender.
Request data only: nothing here is ever connected to.

Errors: bad arguments exit 2 (argparse); an unreadable template or an
unwritable output exits 1 with a message.
"""

import argparse
import ipaddress
import random
import sys

USERS = ("alice", "bob", "carol")
V4_BLOCKS = (ipaddress.ip_network("10.0.0.0/8"),
             ipaddress.ip_network("100.64.0.0/10"))
MARKER = "# @CUSTOMERS@"
ROUTE_KINDS = 4         # gateway, secure, IPv6 partner, mx_lookup


def v4_prefix(nranges):
    """Longest-possible prefix (>= /24 sized ranges preferred) that fits."""
    for plen in (24, 25, 26, 27, 28):
        cap = sum(1 << (plen - b.prefixlen) for b in V4_BLOCKS)
        if nranges <= cap:
            return plen
    sys.exit("gen-conf: too many customers for the IPv4 test blocks")


class Layout:
    """Assigns the j-th IPv4 range: start address as int, prefix length."""

    def __init__(self, nranges):
        self.plen = v4_prefix(nranges)
        self.size = 1 << (32 - self.plen)
        self.cap0 = 1 << (self.plen - V4_BLOCKS[0].prefixlen)
        self.base = [int(b.network_address) for b in V4_BLOCKS]

    def start(self, j):
        if j < self.cap0:
            return self.base[0] + j * self.size
        return self.base[1] + (j - self.cap0) * self.size

    def cidr(self, j):
        return "%s/%d" % (ipaddress.IPv4Address(self.start(j)), self.plen)

    def host(self, j, rnd):
        return str(ipaddress.IPv4Address(self.start(j) + rnd.randint(1, self.size - 2)))


def v6_net(i):
    return "2001:db8:%x:%x::" % (i >> 16, i & 0xffff)


def customer_ranges(n):
    """Per customer: (office range index, devices range index or None)."""
    out, j = [], 0
    for i in range(n):
        dev = None
        office = j
        j += 1
        if i % 3 == 2:
            dev = j
            j += 1
        out.append((office, dev))
    return out, j


def write_conf(a, ranges, lay, fp):
    w = fp.write
    w("# relayguard.conf for benchmarks: %d customers (tests/bench/gen-conf.py)\n"
      % a.customers)
    w('redis {\n    server = "%s"\n    database = 0\n    timeout_ms = 100\n'
      '    prefix = "rg"\n}\n' % a.redis)
    w('on_backend_error = "tempfail"\nreservation_ttl = 900\nuser = ""\n')
    for line in a.extra:
        w(line + "\n")
    sm = ' socketmap = { "%s" }' % a.socketmap if a.socketmap else ""
    w('policyd { listen = { "%s" }%s }\n' % (a.listen, sm))
    w('milter { socket = "%s"\n         mode = "rewrite" }\n\n' % a.milter)
    parts = []
    nroutes = n_routes(a.customers)
    if a.routes:
        w("".join(route_block(k) for k in range(nroutes)))
    for i in range(a.customers):
        c = "cust%d" % i
        office, dev = ranges[i]
        s = ('customer "%s" {\n'
             '    domains = { "%s.example", "%s-mail.example" }\n'
             '    licenses = 100000\n'
             '    users = { "alice@%s.example", "bob@%s.example", "carol@%s.example" }\n'
             '    relay "office" {\n'
             '        allowed_senders = "domain_addresses"\n'
             '        require_smtp_auth = false\n'
             '        require_tls = false\n'
             '        ip "office" { range = "%s" }\n'
             % (c, c, c, c, c, c, lay.cidr(office)))
        if i % 5 == 4:
            s += '        ip "v6 lab" { range = "%s/112" }\n' % v6_net(i)
        s += '    }\n'
        if dev is not None:
            s += ('    relay "devices" {\n'
                  '        allowed_senders = "registered_users"\n'
                  '        ip "devices" { range = "%s" }\n'
                  '    }\n' % lay.cidr(dev))
        if a.routes:
            s += customer_routing(i, nroutes)
        s += '}\n'
        parts.append(s)
        if len(parts) >= 2000:
            w("".join(parts))
            parts = []
    w("".join(parts))
    if a.loopback:
        w('customer "bench-loopback" {\n'
          '    domains = { "loopback.example" }\n'
          '    licenses = 100000\n'
          '    users = { "bench@loopback.example" }\n'
          '    relay "local" {\n'
          '        allowed_senders = "domain_addresses"\n'
          '        ip "loopback" { range = "127.0.0.0/24" }\n'
          '    }\n}\n')


def n_routes(customers):
    return max(ROUTE_KINDS, min(2000, customers // 5) // ROUTE_KINDS * ROUTE_KINDS)


def route_of(i, kind, nroutes):
    """The route of that kind customer i uses."""
    return ROUTE_KINDS * (i % (nroutes // ROUTE_KINDS)) + kind


def route_facts(k):
    """(config body, next hop as Postfix writes it, TLS policy) of route k."""
    kind = k % ROUTE_KINDS
    if kind == 0:
        h = "gw%d.example.net" % k
        return 'host = "%s"' % h, "[%s]:25" % h, "may"
    if kind == 1:
        h = "sec%d.example.net" % k
        return ('host = "%s"  port = 587  require_tls = true  require_ca_signed = true'
                '  validate_hostname = true' % h, "[%s]:587" % h, "secure match=" + h)
    if kind == 2:
        h = str(ipaddress.IPv6Address("2001:db8:ffff::") + k)
        return ('host = "%s"  require_tls = true' % h, "[ipv6:%s]:25" % h, "encrypt")
    h = "partner%d.example" % k
    return ('host = "%s"  mx_lookup = true  require_tls = true  require_ca_signed = true'
            '  validate_hostname = true' % h, "%s:25" % h, "verify")


def route_block(k):
    return 'route "r%d" { %s }\n' % (k, route_facts(k)[0])


def gateway_addr(i, nroutes):
    """Customer i's user gateway address and its route, or None."""
    if i % 3 == 2:
        return None
    k = route_of(i, 2, nroutes)
    return "%s.cust%d@partner%d.example" % (USERS[i % 3], i, k), k


def customer_routing(i, nroutes):
    c, s = "cust%d" % i, ""
    if i % 4 == 0:
        s += '    outbound_route = "r%d"\n' % route_of(i, 0, nroutes)
    elif i % 4 in (1, 2):
        s += '    outbound_tls = true\n'
        if i % 4 == 1:
            s += '    secure_route = "r%d"\n' % route_of(i, 1, nroutes)
    gw = gateway_addr(i, nroutes)
    if gw:
        s += ('    allow_user_gateways = %s\n'
              '    user_gateway "%s" { user = "%s@%s.example"  route = "r%d" }\n'
              % ("true" if i % 3 == 0 else "false", gw[0], USERS[i % 3], c, gw[1]))
    return s


def sm_sender(i, nroutes, rnd, want_map):
    """One relayhost or transport lookup of a sender: (key, answer)."""
    c = "cust%d" % i
    r = rnd.random()
    if r < 0.15:
        gw = gateway_addr(i, nroutes)
        if gw:
            active = i % 3 == 0
            hop = route_facts(gw[1])[1]
            ans = "OK " + hop if active and want_map == "relayhost" else "NOTFOUND "
            return gw[0], ans
    if r < 0.25:
        return "someone@foreign%d.example" % rnd.randint(1, 500), "NOTFOUND "
    if r < 0.30:
        return "<>", "NOTFOUND "
    key = "%s@%s" % (rnd.choice(USERS + ("news", "Billing")),
                     rnd.choice((c + ".example", "eu.%s.example" % c,
                                 c.upper() + "-mail.example")))
    if want_map == "relayhost":
        ans = "OK " + route_facts(route_of(i, 0, nroutes))[1] if i % 4 == 0 else "NOTFOUND "
    elif i % 4 == 1:
        ans = "OK relayguard-tls-r%d" % route_of(i, 1, nroutes)
    else:
        ans = "OK relayguard-tls" if i % 4 == 2 else "NOTFOUND "
    return key, ans


def write_smpool(a, fp):
    """Socketmap lookups for rg-smload: "MAP KEY EXPECTED" lines."""
    rnd = random.Random(a.seed + 1)
    nroutes = n_routes(a.customers)
    w = fp.write
    w("# rg-smload pool for %d customers, %d routes (tests/bench/gen-conf.py)\n"
      % (a.customers, nroutes))
    for _ in range(a.pool_size):
        r = rnd.random()
        if r < 0.7:
            m = "relayhost" if r < 0.35 else "transport"
            key, ans = sm_sender(rnd.randrange(a.customers), nroutes, rnd, m)
        else:
            m = "tls"
            if rnd.random() < 0.6:
                _, hop, pol = route_facts(rnd.randrange(nroutes))
                key, ans = hop, "OK " + pol
            else:
                key, ans = "[mx%d.elsewhere.example]:25" % rnd.randint(1, 999), "NOTFOUND "
        w("%s %s %s\n" % (m, key, ans))


def write_pool(a, ranges, lay, fp):
    rnd = random.Random(a.seed)
    n = a.customers
    w = fp.write
    w("# rg-loadgen pool for %d customers (tests/bench/gen-conf.py)\n" % n)
    dev_customers = [i for i in range(n) if ranges[i][1] is not None]
    v6_customers = [i for i in range(n) if i % 5 == 4]
    for _ in range(a.pool_size):
        r = rnd.random()
        i = rnd.randrange(n)
        c = "cust%d" % i
        helo = "mail.%s.example" % c
        office = lay.host(ranges[i][0], rnd)
        local = rnd.choice(USERS + ("news", "billing", "noreply"))
        dom = rnd.choice(("%s.example" % c, "%s-mail.example" % c,
                          "eu.%s.example" % c))
        if r < 0.55:                                    # office, own domain
            w("tx %s %s %s@%s\n" % (office, helo, local, dom))
        elif r < 0.65 and dev_customers:                # devices, registered
            i = rnd.choice(dev_customers)
            c = "cust%d" % i
            w("tx %s mail.%s.example %s@%s.example\n"
              % (lay.host(ranges[i][1], rnd), c, rnd.choice(USERS), c))
        elif r < 0.75 and v6_customers:                 # IPv6 lab
            i = rnd.choice(v6_customers)
            c = "cust%d" % i
            w("tx %s%x mail.%s.example %s@%s.example\n"
              % (v6_net(i), rnd.randint(1, 0xfffe), c, rnd.choice(USERS), c))
        elif r < 0.85:                                  # no customer's range
            w("tx 203.0.113.%d host%d.elsewhere.example %s@%s\n"
              % (rnd.randint(1, 254), rnd.randint(1, 99), local, dom))
        elif r < 0.95:                                  # foreign sender
            w("tx %s %s someone@foreign%d.example\n"
              % (office, helo, rnd.randint(1, 500)))
        else:                                           # null sender
            w("tx %s %s <>\n" % (office, helo))
    for k in range(2000):
        w("rcpt r%d@dest%d.example\n" % (k, k % 50))


def write_postfwd(a, ranges, lay, fp):
    try:
        with open(a.postfwd_template) as t:
            template = t.read()
    except OSError as e:
        sys.exit("gen-conf: %s" % e)
    if MARKER not in template:
        sys.exit("gen-conf: %s has no '%s' line" % (a.postfwd_template, MARKER))
    head, tail = template.split(MARKER, 1)
    out = [head, "# %d customers generated by gen-conf.py\n" % a.customers]
    for i in range(a.customers):
        c = "cust%d" % i
        office, dev = ranges[i]
        # Several client_address items in one rule are ORed by postfwd.
        nets = "client_address=%s" % lay.cidr(office)
        if i % 5 == 4:
            nets += "; client_address=~^%s[0-9a-f]+$" % v6_net(i)
        doms = r"(%s\.example|%s-mail\.example)" % (c, c)
        out.append("id=%s_OFFICE; %s; sender=~@([^@]+\\.)?%s$; action=OK\n"
                   % (c, nets, doms))
        # An empty attribute never matches in postfwd; a negation does.
        out.append("id=%s_NULLSENDER; %s; sender=!!(@); "
                   "helo_name=~(^|\\.)%s$; action=OK\n" % (c, nets, doms))
        allnets = nets
        if dev is not None:
            out.append("id=%s_DEVICES; client_address=%s; "
                       "sender=~^(%s)@%s\\.example$; action=OK\n"
                       % (c, lay.cidr(dev), "|".join(USERS), c))
            out.append("id=%s_DEVICES_DENY; client_address=%s; "
                       "action=550 5.7.0 Mail sending denied.\n" % (c, lay.cidr(dev)))
        out.append("id=%s_DENY; %s; "
                   "action=550 5.7.1 Invalid credentials for relay [$$client_address].\n"
                   % (c, allnets))
    out.append(tail)
    fp.write("".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--customers", type=int, required=True)
    ap.add_argument("-o", "--conf", required=True)
    ap.add_argument("-p", "--pool")
    ap.add_argument("--pool-size", type=int, default=5000)
    ap.add_argument("--postfwd-template")
    ap.add_argument("--postfwd-out")
    ap.add_argument("--redis", default="127.0.0.1:6379")
    ap.add_argument("--listen", default="inet:127.0.0.1:10040")
    ap.add_argument("--milter", default="inet:8891@127.0.0.1")
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--loopback", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--socketmap")
    ap.add_argument("--routes", action="store_true")
    ap.add_argument("--smpool")
    a = ap.parse_args()
    a.routes = a.routes or bool(a.smpool)
    if a.customers < 1 or a.customers > 1000000 or a.pool_size < 1:
        ap.error("customers must be 1..1000000, pool size >= 1")
    if bool(a.postfwd_template) != bool(a.postfwd_out):
        ap.error("--postfwd-template and --postfwd-out go together")
    ranges, nranges = customer_ranges(a.customers)
    lay = Layout(nranges)
    try:
        with open(a.conf, "w") as fp:
            write_conf(a, ranges, lay, fp)
        if a.pool:
            with open(a.pool, "w") as fp:
                write_pool(a, ranges, lay, fp)
        if a.smpool:
            with open(a.smpool, "w") as fp:
                write_smpool(a, fp)
        if a.postfwd_out:
            with open(a.postfwd_out, "w") as fp:
                write_postfwd(a, ranges, lay, fp)
    except OSError as e:
        sys.exit("gen-conf: %s" % e)


if __name__ == "__main__":
    main()
