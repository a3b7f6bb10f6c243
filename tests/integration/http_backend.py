#!/usr/bin/env python3
"""An HTTP/1.1 backend for the serve --http tests that records everything it
receives: every byte, per connection, in LOG.raw (appended as it arrives),
and one JSON line per request in LOG: {"conn", "method", "path", "headers":
[[name, value], ...], "body": hex}.  Its own parser is strict and simple
(CRLF lines, Content-Length or chunked); anything else it logs as
{"error": ...} and closes.

It answers 200 with a JSON body naming the request (method, path, headers,
body length), keep-alive, except for these paths:
  /slow       never answers (the proxy's 504)
  /close      closes without answering (the proxy's 502)
  /eof        answers without Content-Length and closes (EOF-delimited)
  /upgrade    101 Switching Protocols when asked to upgrade, then echoes
  /continue   reads the body only after the head (Expect: 100-continue)
  /stale...   on a connection that has answered before: logged as
              {"conn", "dropped": path, "method"} and closed without an
              answer (/stale-rst: reset), as a server whose idle timer
              fired just as the request came; answered as usual on a
              fresh connection

usage: http_backend.py PORT LOG
"""
import json, socket, struct, sys, threading, time

port, logpath = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
nconn = [0]


def log(obj):
    with lock:
        with open(logpath, "a") as f:
            f.write(json.dumps(obj) + "\n")


def lograw(data):
    with lock:
        with open(logpath + ".raw", "ab") as f:
            f.write(data)


class Conn:
    def __init__(self, sock, cid):
        self.s, self.buf, self.cid = sock, b"", cid

    def fill(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        lograw(d)
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        if b"\n" in ln or b"\r" in ln:
            raise ValueError("bare CR or LF")
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d


def handle(sock, cid):
    c = Conn(sock, cid)
    answered = 0
    try:
        while True:
            try:
                start = c.line()
            except EOFError:
                return
            method, path, version = start.decode("latin-1").split(" ")
            headers = []
            while True:
                ln = c.line()
                if ln == b"":
                    break
                name, value = ln.split(b":", 1)
                if name != name.strip() or name == b"":
                    raise ValueError("bad field name")
                headers.append([name.decode("latin-1"),
                                value.strip().decode("latin-1")])
            low = {}
            for k, v in headers:
                low.setdefault(k.lower(), []).append(v)
            body = b""
            if "transfer-encoding" in low:
                if low["transfer-encoding"] != ["chunked"] or "content-length" in low:
                    raise ValueError("framing")
                while True:
                    size = int(c.line().decode(), 16)
                    if size == 0:
                        if c.line() != b"":
                            raise ValueError("trailer")
                        break
                    body += c.exact(size)
                    if c.exact(2) != b"\r\n":
                        raise ValueError("chunk end")
            elif "content-length" in low:
                if len(low["content-length"]) != 1:
                    raise ValueError("two lengths")
                body = c.exact(int(low["content-length"][0]))
            if path.startswith("/stale") and answered > 0:
                log({"conn": cid, "dropped": path, "method": method})
                if path == "/stale-rst":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                return
            log({"conn": cid, "method": method, "path": path,
                 "version": version, "headers": headers, "body": body.hex()})
            answered += 1
            if path == "/slow":
                time.sleep(30)
                return
            if path == "/close":
                return
            if path == "/upgrade" and "upgrade" in low:
                sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                             b"Connection: upgrade\r\nUpgrade: " +
                             low["upgrade"][0].encode() + b"\r\n\r\n" +
                             c.buf)
                c.buf = b""
                while True:
                    d = sock.recv(65536)
                    if not d:
                        return
                    lograw(d)
                    sock.sendall(d)
            answer = json.dumps({"method": method, "path": path,
                                 "headers": headers,
                                 "body_len": len(body)}).encode() + b"\n"
            if path == "/eof":
                sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + answer)
                return
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            if method == "HEAD":
                sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(answer))
                continue
            sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(answer) + answer)
            if any(v.lower() == "close" for v in low.get("connection", [])):
                return
    except (ValueError, UnicodeDecodeError) as e:
        log({"conn": cid, "error": str(e)})
    except (EOFError, OSError):
        pass
    finally:
        sock.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(128)
while True:
    s, _ = srv.accept()
    nconn[0] += 1
    threading.Thread(target=handle, args=(s, nconn[0]), daemon=True).start()
