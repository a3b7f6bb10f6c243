#!/usr/bin/env python3
"""A TLS client for the serve tests that can do what curl and s_client
cannot: send close_notify and keep reading (TLS half-close), and stream a
large deterministic payload while hashing it.

usage: tls_client.py PORT CA CERT KEY MODE [ARG]
  sha N      send N bytes (a fixed pseudo-random stream), half-close, read
             the backend's "<bytes> <sha256>" answer; exit 0 if it matches
  recv       send "hello\\n", read until the server's close_notify, then
             send ARG more bytes after it and close; print what was read
  slow N     send N bytes like sha, but read the answer only after a pause
             (backpressure); same check as sha
  trickle N  send N bytes like sha, 64 KiB every 50 ms (a long transfer)
  lazy S     like recv, but wait S seconds before reading anything
"""
import hashlib, socket, ssl, sys, time

port, ca, cert, key, mode = sys.argv[1:6]
arg = sys.argv[6] if len(sys.argv) > 6 else None

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
sock = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname="localhost")


def flush():
    d = out.read()
    if d:
        sock.sendall(d)


def feed():
    d = sock.recv(1 << 16)
    if d:
        inc.write(d)
    else:
        inc.write_eof()


def call(fn, *a):
    while True:
        try:
            r = fn(*a)
            flush()
            return r
        except ssl.SSLWantReadError:
            flush()
            feed()


def half_close():
    try:
        tls.unwrap()
    except ssl.SSLWantReadError:
        pass
    flush()


def read_all():
    got = bytearray()
    while True:
        try:
            d = call(tls.read, 1 << 16)
        except ssl.SSLZeroReturnError:
            break
        if not d:
            break
        got += d
    return bytes(got)


def stream(n, pause=0):
    h = hashlib.sha256()
    block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    sent = 0
    while sent < n:
        b = block[:min(len(block), n - sent)]
        h.update(b)
        call(tls.write, b)
        sent += len(b)
        block = block[1:] + block[:1]
        if pause:
            time.sleep(pause)
    return h.hexdigest()


call(tls.do_handshake)
if mode in ("sha", "slow", "trickle"):
    n = int(arg)
    digest = stream(n, 0.05 if mode == "trickle" else 0)
    half_close()
    if mode == "slow":
        time.sleep(1)
    got = read_all().decode().strip()
    want = "%d %s" % (n, digest)
    print("sent:", want)
    print("backend:", got)
    sys.exit(0 if got == want else 1)
elif mode in ("recv", "lazy"):
    call(tls.write, b"hello\n")
    if mode == "lazy":
        time.sleep(float(arg))
        arg = None
    got = read_all()
    print("read %d bytes sha256 %s" % (len(got), hashlib.sha256(got).hexdigest()))
    # The server's stream ended; ours may go on (TLS 1.3 half-close).
    call(tls.write, b"x" * int(arg or 0))
    half_close()
    time.sleep(0.3)
sock.close()
