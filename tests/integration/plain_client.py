#!/usr/bin/env python3
"""A plaintext client for the tunnel tests (what a legacy program behind
"mtls tunnel" does), able to half-close and to stream a large
deterministic payload while hashing it.

usage: plain_client.py ADDR MODE [ARG]     (ADDR: PORT or unix:/path)
  sha N      send N bytes (a fixed pseudo-random stream), half-close, read
             the backend's "<bytes> <sha256>" answer; exit 0 if it matches
  trickle N  like sha, 64 KiB every 50 ms (a transfer that stays open)
  line TEXT  send TEXT and a newline, half-close, print what comes back
  hold S     send "hold\\n", read the echo, keep the connection S seconds
  recv N     send "hello\n", read until the other side's EOF, then send
             N more bytes and close; print how many bytes were read
  first      print what arrives first ("EOF" if the connection is closed
             without data), without sending anything
"""
import hashlib, socket, sys, time

addr, mode = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None

if addr.startswith("unix:"):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(60)
    sock.connect(addr[5:])
else:
    sock = socket.create_connection(("127.0.0.1", int(addr)), timeout=60)


def stream(n, pause):
    h = hashlib.sha256()
    block = hashlib.sha256(b"mtls").digest() * 2048  # 64 KiB
    sent = 0
    while sent < n:
        chunk = block[: min(len(block), n - sent)]
        sock.sendall(chunk)
        h.update(chunk)
        sent += len(chunk)
        if pause:
            time.sleep(pause)
    return h.hexdigest()


def read_all():
    out = b""
    while True:
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    return out


if mode in ("sha", "trickle"):
    n = int(arg)
    want = "%d %s" % (n, stream(n, 0.05 if mode == "trickle" else 0))
    sock.shutdown(socket.SHUT_WR)
    got = read_all().decode().strip()
    print("sent %s, backend says %s" % (want, got))
    sys.exit(0 if got == want else 1)
elif mode == "line":
    # The tunnel may already have closed the connection (an upstream that
    # refused us): then writing fails, and what was read (nothing) is the
    # answer the test checks.
    try:
        sock.sendall(arg.encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError, OSError):
        pass
    sys.stdout.write(read_all().decode(errors="replace"))
elif mode == "recv":
    sock.sendall(b"hello\n")
    got = read_all()
    sock.sendall(b"x" * int(arg))
    print("read %d bytes" % len(got))
elif mode == "hold":
    sock.sendall(b"hold\n")
    print(sock.recv(100).decode().strip())
    sys.stdout.flush()
    time.sleep(float(arg))
elif mode == "first":
    try:
        d = sock.recv(100)
    except ConnectionResetError:
        d = b""
    print(d.decode(errors="replace") if d else "EOF")
else:
    sys.exit("unknown mode " + mode)
