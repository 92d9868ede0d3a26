#!/usr/bin/python3
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
"""tests/milter/wire.py - relayguard-milter's protocol negotiation, on the wire

Usage: wire.py SOCKET_PATH

miltertest hides whether a stage was answered, so this speaks the milter
protocol (version 6) itself over the milter's unix socket and checks the
bytes: offered SMFIP_NR_CONN, SMFIP_NR_HELO and SMFIP_NR_MAIL, the milter
takes them and sends nothing at connect, HELO and MAIL, and its RCPT
replies stay in step; not offered, each of those stages gets a CONTINUE.
It asks for the macros it needs, the MTA's name (v) among them, and
without v (not Postfix) RCPT gets a TEMPFAIL.  The milter must run in rewrite mode with the test
configuration of tests/milter/lib.sh (198.51.100.10 may relay for
acme.example).

Prints "ok - ..." / "not ok - ..." lines (tests/milter/lib.sh turns them
into TAP) and exits 1 when a check failed.
"""
import select
import socket
import struct
import sys

SMFIF_CHGFROM = 0x40
SMFIF_SETSYMLIST = 0x100
SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH = 0x10, 0x20, 0x40
SMFIP_NOUNKNOWN, SMFIP_NODATA = 0x100, 0x200
SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL = 0x1000, 0x2000, 0x4000
SMFIM_CONNECT = 0
SKIP = SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA
NR = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL

failed = 0


def check(cond, desc, *diag):
    global failed
    print(("ok - " if cond else "not ok - ") + desc)
    if not cond:
        failed += 1
        for d in diag:
            print("# " + str(d))
    return cond


class Milter:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("milter closed the connection")
            buf += chunk
        return buf

    def reply(self):
        (n,) = struct.unpack("!I", self.read_exact(4))
        body = self.read_exact(n)
        return body[:1], body[1:]

    def silent(self, secs=0.3):
        """True when nothing arrives within secs."""
        r, _, _ = select.select([self.s], [], [], secs)
        return not r

    def negotiate(self, protocol):
        self.send(b"O", struct.pack("!III", 6, SMFIF_CHGFROM | SMFIF_SETSYMLIST, protocol))
        cmd, data = self.reply()
        if cmd != b"O" or len(data) < 12:
            raise ValueError("bad negotiation reply %r %r" % (cmd, data[:12]))
        # then the macro lists asked for: stage (uint32), "names\0"
        self.symlists = {}
        rest = data[12:]
        while len(rest) >= 5:
            (stage,) = struct.unpack("!I", rest[:4])
            names, _, rest = rest[4:].partition(b"\0")
            self.symlists[stage] = names.decode().split()
        return struct.unpack("!III", data[:12])

    def connect_stage(self, ip, v="Postfix 3.7.11"):
        macros = b"C{client_addr}\0" + ip.encode() + b"\0"
        if v is not None:
            macros += b"v\0" + v.encode() + b"\0"
        self.send(b"D", macros)
        self.send(b"C", b"client.test\0" + b"4" + struct.pack("!H", 4711) + ip.encode() + b"\0")

    def quit(self):
        self.send(b"Q")
        self.s.close()


def main():
    path = sys.argv[1]

    # Offered: taken, and connect, HELO, MAIL go unanswered.
    m = Milter(path)
    _, actions, proto = m.negotiate(NR | SKIP)
    check(proto & NR == NR, "NR offered: the milter takes SMFIP_NR_CONN, _HELO and _MAIL",
          "protocol 0x%x" % proto)
    check(actions & SMFIF_CHGFROM, "the milter asks for CHGFROM", "actions 0x%x" % actions)
    conn_macros = m.symlists.get(SMFIM_CONNECT, [])
    check("{client_addr}" in conn_macros and "v" in conn_macros,
          "the milter asks for {client_addr} and v at connect", m.symlists)
    m.connect_stage("198.51.100.10")
    check(m.silent(), "NR offered: no reply to connect")
    m.send(b"H", b"mx.acme.example\0")
    check(m.silent(), "NR offered: no reply to HELO")
    m.send(b"M", b"<>\0")
    check(m.silent(), "NR offered: no reply to MAIL")
    m.send(b"R", b"<w01a@dest.example>\0")
    cmd, _ = m.reply()
    check(cmd == b"c", "NR offered: first RCPT of the null sender answered CONTINUE", cmd)
    m.send(b"R", b"<w01b@dest.example>\0")
    cmd, data = m.reply()
    check(cmd == b"y" and data.startswith(b"452 4.5.3"),
          "NR offered: second RCPT of the null sender answered 452 4.5.3", cmd, data)
    m.quit()

    # Not offered (an older MTA): every stage answers CONTINUE.
    m = Milter(path)
    _, _, proto = m.negotiate(SKIP)
    check(proto & NR == 0, "NR not offered: not asked for", "protocol 0x%x" % proto)
    m.connect_stage("198.51.100.10")
    got = [m.reply()[0]]
    m.send(b"H", b"mx.acme.example\0")
    got.append(m.reply()[0])
    m.send(b"M", b"<>\0")
    got.append(m.reply()[0])
    check(got == [b"c", b"c", b"c"], "NR not offered: connect, HELO and MAIL answered CONTINUE", got)
    m.send(b"R", b"<w02@dest.example>\0")
    cmd, _ = m.reply()
    check(cmd == b"c", "NR not offered: RCPT answered CONTINUE", cmd)
    m.quit()

    # No v (not Postfix): rewrite mode refuses at RCPT, the first stage it
    # answers (libmilter answers connect, HELO and MAIL itself when the MTA
    # does not offer SMFIP_NR_*).
    for proto, how in ((NR | SKIP, "NR offered"), (SKIP, "NR not offered")):
        m = Milter(path)
        m.negotiate(proto)
        m.connect_stage("198.51.100.10", v=None)
        m.send(b"H", b"mx.acme.example\0")
        m.send(b"M", b"<app@foreign.example>\0")
        if proto & NR:
            got = [] if m.silent() else [b"?"]
        else:
            got = [m.reply()[0] for _ in range(3)]
        m.send(b"R", b"<w03@dest.example>\0")
        cmd, _ = m.reply()
        check(cmd == b"t" and got in ([], [b"c", b"c", b"c"]),
              how + ", v missing: RCPT answered TEMPFAIL", got, cmd)
        m.quit()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
