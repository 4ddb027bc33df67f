#!/usr/bin/python3
"""A tiny authoritative DNS responder for the network e2e tests (runs inside a test netns).

    dns_responder.py BIND_IP ANSWER_IP [TCP_PORT [NAME...]]

Answers A queries for relay.example-rmm.test with ANSWER_IP (through a CNAME, so the test also
covers chain resolution: relay.example-rmm.test CNAME edge.cdn-rmm.test, edge.cdn-rmm.test A ip),
answers other A/AAAA queries with an empty NOERROR, and answers queries for names starting with
"bad-<kind>." with deliberately malformed messages (truncated, pointer loop, oversized label).
With TCP_PORT it also accepts TCP connections there, reads until EOF, and closes. Each further NAME
is answered with a plain A record ANSWER_IP (the detection tests' vendor relay names).
Prints "ready" once listening.
"""
import socket
import struct
import sys
import threading

NAME = "relay.example-rmm.test"
CNAME = "edge.cdn-rmm.test"


def encode_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_question(msg):
    pos, labels = 12, []
    while msg[pos]:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode(errors="replace"))
        pos += 1 + n
    qtype, qclass = struct.unpack(">HH", msg[pos + 1:pos + 5])
    return ".".join(labels).lower(), qtype, msg[12:pos + 5]


def answer(query, answer_ip, direct_names=()):
    qid = query[:2]
    name, qtype, question = parse_question(query)
    if name.startswith("bad-"):
        kind = name.split(".")[0][4:]
        head = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        if kind == "truncated":
            return head + question + b"\xc0\x0c\x00\x01\x00"  # RR header cut short
        if kind == "loop":
            # an answer whose owner is a pointer to itself
            off = 12 + len(question)
            return head + question + struct.pack(">H", 0xC000 | off) + b"\0\1\0\1" + b"\0" * 6
        if kind == "label":
            # question name with a 64-byte label (length octet 0x40: a reserved label type)
            return qid + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + b"\x40" + b"a" * 64 + b"\0\0\1\0\1"
        return head[:6]
    if name == NAME and qtype == 1:
        c = encode_name(CNAME)
        rr1 = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 5, len(c)) + c
        cname_off = 12 + len(question) + 12
        rr2 = struct.pack(">H", 0xC000 | cname_off) + struct.pack(">HHIH", 1, 1, 5, 4) + \
            socket.inet_aton(answer_ip)
        return qid + struct.pack(">HHHHH", 0x8180, 1, 2, 0, 0) + question + rr1 + rr2
    if name in direct_names and qtype == 1:
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton(answer_ip)
        return qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question + rr
    return qid + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + question


def serve_tcp(srv):
    while True:
        c, _ = srv.accept()
        while c.recv(1 << 16):
            pass
        c.close()


def main():
    bind_ip, answer_ip = sys.argv[1], sys.argv[2]
    direct_names = {n.lower() for n in sys.argv[4:]}
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((bind_ip, 53))
    if len(sys.argv) > 3:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((bind_ip, int(sys.argv[3])))
        srv.listen(16)
        threading.Thread(target=serve_tcp, args=(srv,), daemon=True).start()
    print("ready", flush=True)
    while True:
        msg, peer = udp.recvfrom(4096)
        try:
            udp.sendto(answer(msg, answer_ip, direct_names), peer)
        except (IndexError, struct.error):
            pass


if __name__ == "__main__":
    main()
