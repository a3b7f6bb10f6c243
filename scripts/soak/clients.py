#!/usr/bin/env python3
"""Clients for scripts/soak.sh.

  clients.py check HOST PORT BYTES [CAFILE CERT KEY SERVERNAME]
      Sends BYTES random bytes to an echo service (over mutual TLS when the
      certificate arguments are given, plain TCP otherwise), reads them back
      and compares SHA-256 of what was sent and what came back.
      Exit 0: transfer completed and the digests match; 1: completed but
      the digests differ; 3: not completed (connection refused, reset, ...).
  clients.py slow HOST PORT SECONDS   one byte a second, then close
  clients.py garbage HOST PORT        random bytes, then close
  clients.py partial HOST PORT        the first part of a real ClientHello,
                                      then close (vanishes mid-handshake)
"""
import hashlib
import os
import socket
import ssl
import sys
import time


def check(host, port, nbytes, tls):
    data = os.urandom(nbytes)
    sent = hashlib.sha256(data).hexdigest()
    try:
        raw = socket.create_connection((host, port), timeout=20)
        if tls:
            cafile, cert, key, name = tls
            ctx = ssl.create_default_context(cafile=cafile)
            ctx.load_cert_chain(cert, key)
            sock = ctx.wrap_socket(raw, server_hostname=name)
        else:
            sock = raw
        # Lock-step, one chunk out, the same chunk back, from one thread:
        # an SSL object must not be read and written by two threads at once.
        got = hashlib.sha256()
        count = [0]
        chunk = 65536
        for off in range(0, nbytes, chunk):
            part = data[off:off + chunk]
            sock.sendall(part)
            want = count[0] + len(part)
            while count[0] < want:
                b = sock.recv(min(65536, want - count[0]))
                if not b:
                    break
                got.update(b)
                count[0] += len(b)
            if count[0] < want:
                break
        # An orderly end: close_notify over TLS, FIN otherwise, so that the
        # proxies log this connection as ok.
        if tls and count[0] >= nbytes:
            try:
                sock = sock.unwrap()
            except (OSError, ValueError):
                pass
        sock.close()
    except OSError as e:
        print("check %s:%d: not completed: %s" % (host, port, e))
        return 3
    if count[0] < nbytes:
        print("check %s:%d: not completed: %d of %d bytes back"
              % (host, port, count[0], nbytes))
        return 3
    if got.hexdigest() != sent:
        print("check %s:%d: SHA-256 MISMATCH sent %s got %s"
              % (host, port, sent, got.hexdigest()))
        return 1
    print("check %s:%d: %d bytes, sha256 %s ok" % (host, port, nbytes, sent[:16]))
    return 0


def client_hello():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "check":
        tls = tuple(sys.argv[5:9]) if len(sys.argv) >= 9 else None
        return check(host, port, int(sys.argv[4]), tls)
    try:
        s = socket.create_connection((host, port), timeout=5)
        if mode == "slow":
            end = time.time() + float(sys.argv[4])
            hello = client_hello()
            i = 0
            while time.time() < end and i < len(hello):
                s.send(hello[i:i + 1])
                i += 1
                time.sleep(1)
            # Half-close and drain what the far end sends back, so that
            # close() does not reset the connection.
            s.shutdown(socket.SHUT_WR)
            s.settimeout(10)
            while s.recv(65536):
                pass
        elif mode == "garbage":
            s.send(os.urandom(int.from_bytes(os.urandom(2), "big") % 4000 + 1))
            time.sleep(0.2)
        elif mode == "partial":
            hello = client_hello()
            s.send(hello[: len(hello) // 2])
        s.close()
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
