#!/usr/bin/env python3
# socketmap.py - a Postfix socketmap client for the tests
#
#   socketmap.py ADDR query "map key" ...   pipelines the requests in one
#                                           write, prints each reply's payload
#   socketmap.py ADDR raw PYTHON-BYTES      sends the bytes (a Python bytes
#                                           literal body), prints every reply
#                                           and then CLOSED if the daemon closed
# ADDR is inet:HOST:PORT or unix:PATH.
# SPDX-License-Identifier: ISC.  Copyright (c) 2026 the relayguard developers; see LICENSE.
import ast
import socket
import sys


def connect(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
    else:
        host, port = addr[5:].rsplit(":", 1)
        s = socket.create_connection((host.strip("[]"), int(port)))
    s.settimeout(5)
    return s


def replies(buf):
    out = []
    while True:
        colon = buf.find(b":")
        if colon < 0:
            return out, buf
        n = int(buf[:colon])
        if len(buf) < colon + n + 2:
            return out, buf
        out.append(buf[colon + 1:colon + 1 + n].decode("latin-1"))
        buf = buf[colon + n + 2:]


def main():
    addr, mode = sys.argv[1], sys.argv[2]
    s = connect(addr)
    if mode == "query":
        reqs = [a.encode() for a in sys.argv[3:]]
        s.sendall(b"".join(b"%d:%s," % (len(r), r) for r in reqs))
        buf, got = b"", []
        while len(got) < len(reqs):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            more, buf = replies(buf)
            got += more
        print("\n".join(got))
        return
    s.sendall(ast.literal_eval("b'" + sys.argv[3] + "'"))
    buf = b""
    closed = False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            buf += chunk
    except socket.timeout:
        pass
    got, _ = replies(buf)
    print("\n".join(got + (["CLOSED"] if closed else [])))


main()
