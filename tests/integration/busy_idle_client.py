#!/usr/bin/env python3
"""Busy connections that then go idle, for the serve memory tests.

usage: busy_idle_client.py PORT CA CERT KEY N ROUNDS SIZE
Opens N mTLS connections to 127.0.0.1:PORT (an echo service behind it);
on each, ROUNDS exchanges of SIZE bytes, each answer read in full and
checked, one after the other; then prints "held N" and keeps every
connection open, saying nothing, until it is killed.
"""
import socket, ssl, sys, time

port, ca, cert, key = sys.argv[1:5]
n, rounds, size = (int(a) for a in sys.argv[5:8])

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
msg = (b"0123456789abcdef" * (size // 16 + 1))[:size]
held = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)),
                                                 timeout=60),
                        server_hostname="localhost")
    for r in range(rounds):
        s.sendall(msg)
        got = b""
        while len(got) < size:
            d = s.recv(65536)
            if not d:
                sys.exit("connection %d closed after %d bytes" % (i, len(got)))
            got += d
        if got != msg:
            sys.exit("connection %d: the echo differs" % i)
    held.append(s)
print("held", len(held), flush=True)
while True:
    time.sleep(3600)
