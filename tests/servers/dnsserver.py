#!/usr/bin/env python3
"""A tiny DNS server for tests: answers A queries for the names given with
127.0.0.1 and NXDOMAIN for every other name, over UDP on 127.0.0.1:53
(the resolver of a static musl binary only speaks to port 53).

    dnsserver.py --name mirror.test [--name ...] [--log FILE] [--ready FILE]

Runs until killed; --ready is written once the socket is bound.  Each
query's name is appended to --log, so a test can see that the resolver
asked."""
import argparse
import socket
import struct


def qname(msg, at):
    labels = []
    while msg[at]:
        n = msg[at]
        labels.append(msg[at + 1:at + 1 + n].decode("ascii", "replace"))
        at += 1 + n
    return ".".join(labels).lower(), at + 1


def answer(msg, names):
    ident, flags, qd = struct.unpack(">HHH", msg[:6])
    if qd != 1:
        return None
    name, end = qname(msg, 12)
    qtype, qclass = struct.unpack(">HH", msg[end:end + 4])
    question = msg[12:end + 4]
    known = name in names
    rcode = 0 if known else 3
    an = 1 if known and qtype == 1 else 0
    head = struct.pack(">HHHHHH", ident, 0x8180 | rcode, 1, an, 0, 0)
    body = b""
    if an:
        body = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    return name, head + question + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", action="append", default=[])
    ap.add_argument("--log")
    ap.add_argument("--ready")
    a = ap.parse_args()
    names = {n.lower() for n in a.name}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    if a.ready:
        open(a.ready, "w").write("ready\n")
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            r = answer(msg, names)
        except (IndexError, struct.error):
            continue
        if r is None:
            continue
        if a.log:
            with open(a.log, "a") as f:
                f.write(r[0] + "\n")
        s.sendto(r[1], peer)


if __name__ == "__main__":
    main()
