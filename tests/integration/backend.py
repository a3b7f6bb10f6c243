#!/usr/bin/env python3
"""A backend for the serve tests: listens on 127.0.0.1:PORT (or a unix
socket), appends one line per connection to LOG the moment it accepts it (so
an empty LOG means the backend never saw a connection), and then:

  echo   sends back what it reads, until EOF
  sha    reads to EOF, then answers "<bytes> <sha256 hex>\\n" and closes
  http   answers one HTTP request with "hello from the backend\\n"
  pp2    parses a PROXY v2 header, logs its fields as JSON, then echoes
  send N writes N bytes of a fixed pattern, then half-closes and reports
         what it read after that ("after-eof <bytes>") in LOG
  swallow reads one chunk (the request), then closes without a byte back

usage: backend.py MODE ADDR LOG [ARG]   (ADDR: PORT or unix:/path)
"""
import hashlib, json, os, socket, struct, sys, threading

mode, addr, logpath = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
lock = threading.Lock()


def log(line):
    with lock:
        with open(logpath, "a") as f:
            f.write(line + "\n")


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError("short read")
        b += d
    return b


def parse_pp2(c):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    head = recv_exact(c, 16)
    if head[:12] != sig:
        return {"error": "no PROXY v2 signature"}
    cmd, fam, ln = head[12], head[13], struct.unpack("!H", head[14:16])[0]
    body = recv_exact(c, ln)
    out = {"cmd": cmd, "fam": fam}
    off = 0
    if fam == 0x11:
        s, d, sp, dp = struct.unpack("!4s4sHH", body[:12])
        out["src"] = "%s:%d" % (socket.inet_ntop(socket.AF_INET, s), sp)
        out["dst"] = "%s:%d" % (socket.inet_ntop(socket.AF_INET, d), dp)
        off = 12
    elif fam == 0x21:
        s, d, sp, dp = struct.unpack("!16s16sHH", body[:36])
        out["src"] = "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, s), sp)
        out["dst"] = "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, d), dp)
        off = 36
    names = {0x21: "version", 0x22: "cn", 0x23: "cipher", 0x24: "sig_alg",
             0x25: "key_alg"}
    while off < len(body):
        t, l = body[off], struct.unpack("!H", body[off + 1:off + 3])[0]
        v = body[off + 3:off + 3 + l]
        if len(v) != l:
            return {"error": "TLV runs past the header"}
        off += 3 + l
        if t == 0x20:
            out["client"], out["verify"] = v[0], struct.unpack("!I", v[1:5])[0]
            so = 5
            while so < len(v):
                st, sl = v[so], struct.unpack("!H", v[so + 1:so + 3])[0]
                out[names.get(st, "sub%02x" % st)] = v[so + 3:so + 3 + sl].decode()
                so += 3 + sl
    return out


def handle(c):
    try:
        if mode == "echo":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        elif mode == "sha":
            h, n = hashlib.sha256(), 0
            while True:
                d = c.recv(1 << 20)
                if not d:
                    break
                h.update(d)
                n += len(d)
            c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
        elif mode == "http":
            req = b""
            while b"\r\n\r\n" not in req:
                d = c.recv(4096)
                if not d:
                    return
                req += d
            body = b"hello from the backend\n"
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                      % len(body) + body)
        elif mode == "pp2":
            log("pp2 " + json.dumps(parse_pp2(c), sort_keys=True))
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        elif mode == "swallow":
            log("swallowed %d" % len(c.recv(65536)))
        elif mode == "send":
            n = int(arg)
            chunk = b"0123456789abcdef" * 4096
            left = n
            while left > 0:
                c.sendall(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
            c.shutdown(socket.SHUT_WR)
            got = 0
            while True:
                d = c.recv(65536)
                if not d:
                    break
                got += len(d)
            log("after-eof %d" % got)
    except (OSError, EOFError) as e:
        log("error %s" % e)
    finally:
        c.close()


if addr.startswith("unix:"):
    path = addr[5:]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(addr)))
s.listen(128)
open(logpath, "a").close()
while True:
    c, peer = s.accept()
    log("conn")
    threading.Thread(target=handle, args=(c,), daemon=True).start()
