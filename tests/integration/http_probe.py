#!/usr/bin/env python3
"""A raw HTTP/1.1-over-mTLS client for the serve --http tests: it writes
exactly the bytes a case gives (no client library would send most of
them), reads the answers, and checks them against http_backend.py's log.

usage: http_probe.py MODE PORT CERTPREFIX|- CAFILE BACKEND-LOG [ARGS]
  spoof      every identity header in every spelling (case, '_', doubled,
             listed in Connection, obs-fold): the backend sees only ours
  smuggle    the smuggling corpus: each case refused with its status or
             forwarded as exactly one request; no /smuggled ever arrives
  pipeline   three requests in one write; answers in order
  keepalive  N requests on one connection, each with the right identity
  upgrade    a refused upgrade stays HTTP; an accepted one becomes raw
  raw FILE   sends FILE, prints what comes back
Prints "ok - ..." per check; exits 1 at the first failure.
"""
import base64, hashlib, json, socket, ssl, sys, time

mode, port, certpfx, cafile, blog = sys.argv[1:6]
args = sys.argv[6:]
port = int(port)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ctx(tls_max=None):
    c = ssl.create_default_context(cafile=cafile)
    if certpfx != "-":
        c.load_cert_chain(certpfx + ".crt", certpfx + ".key")
    if tls_max:
        c.maximum_version = tls_max
    return c


def connect(tls_max=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx(tls_max).wrap_socket(s, server_hostname="localhost")


def read_answers(s, n=None, idle=3.0):
    """Reads answers (status, headers, body) until n answers, EOF, or idle
    seconds of silence; returns them and the raw bytes."""
    buf, out = b"", []
    s.settimeout(idle)
    while n is None or len(out) < n:
        # parse what we have
        while True:
            if b"\r\n\r\n" not in buf:
                break
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ")[1])
            hdrs = {}
            for ln in lines[1:]:
                k, v = ln.split(b":", 1)
                hdrs[k.strip().lower().decode()] = v.strip().decode()
            if 100 <= status < 200 and status != 101:
                buf = rest
                out.append((status, hdrs, b""))
                continue
            ln = int(hdrs.get("content-length", "0"))
            if status == 101:
                ln = 0
            if len(rest) < ln:
                break
            out.append((status, hdrs, rest[:ln]))
            buf = rest[ln:]
            if n is not None and len(out) >= n:
                return out, buf
        try:
            d = s.recv(65536)
        except (socket.timeout, ssl.SSLError, ConnectionResetError):
            break
        if not d:
            break
        buf += d
    return out, buf


def backend_requests():
    reqs = []
    try:
        with open(blog) as f:
            for line in f:
                reqs.append(json.loads(line))
    except FileNotFoundError:
        pass
    return reqs


def exchange(data, n=1, tls_max=None):
    """data is bytes, or a list of pieces sent 0.3 s apart (each in its
    own TLS record and, at the proxy, its own read)."""
    s = connect(tls_max)
    for i, piece in enumerate(data if isinstance(data, list) else [data]):
        if i:
            time.sleep(0.3)
        s.sendall(piece)
    ans, rest = read_answers(s, n)
    s.close()
    return ans


IDENTITY = ["X-Forwarded-Client-Cert", "Client-Cert", "Client-Cert-Chain",
            "X-Client-Subject", "X-Client-SAN-URI", "X-Client-SAN-DNS",
            "X-Forwarded-For", "X-Forwarded-Proto", "Forwarded"]


def fold(name):
    return name.lower().replace("_", "-")


def spoof():
    have_cert = certpfx != "-"
    spellings = []
    for name in IDENTITY:
        spellings += [
            ("lower", [(name.lower(), "spoofed")]),
            ("upper", [(name.upper(), "spoofed")]),
            ("underscore", [(name.replace("-", "_"), "spoofed")]),
            ("mixed", [(name.replace("-", "_").title(), "spoofed")]),
            ("doubled", [(name, "spoofed"), (name, "spoofed2")]),
            ("connection", [("Connection", "keep-alive, " + name),
                            (name, "spoofed")]),
            ("connection-underscore",
             [("Connection", name.replace("-", "_")), (name, "spoofed")]),
        ]
        spellings = [(f"{name} {k}", v) for k, v in spellings[-7:]] + \
            spellings[:-7]
    n = 0
    for label, hdrs in spellings:
        before = len(backend_requests())
        req = b"GET /spoof HTTP/1.1\r\nHost: localhost\r\n"
        for k, v in hdrs:
            req += f"{k}: {v}\r\n".encode()
        req += b"\r\n"
        ans = exchange(req)
        client_cert_twice = label.startswith("Client-Cert doubled")
        if client_cert_twice:
            if not ans or ans[0][0] != 400:
                fail(f"{label}: expected 400, got {ans and ans[0][0]}")
            if len(backend_requests()) != before:
                fail(f"{label}: reached the backend")
            n += 1
            continue
        if not ans or ans[0][0] != 200:
            fail(f"{label}: expected 200, got {ans and ans[0][0]}")
        seen = backend_requests()[-1]["headers"]
        for k, v in seen:
            if "spoofed" in v:
                fail(f"{label}: the backend saw {k}: {v}")
        names = [fold(k) for k, _ in seen]
        for want in ["x-forwarded-for", "x-forwarded-proto", "forwarded"]:
            if names.count(want) != 1:
                fail(f"{label}: {want} {names.count(want)} times")
        for want in ["x-forwarded-client-cert", "client-cert"]:
            if names.count(want) != (1 if have_cert else 0):
                fail(f"{label}: {want} {names.count(want)} times "
                     f"(certificate: {have_cert})")
        n += 1
    print(f"ok - {n} spoofing variants: the backend saw only the proxy's "
          f"identity headers ({'with' if have_cert else 'without'} a "
          f"client certificate)")
    # obs-fold of an identity header: refused, not fixed.
    before = len(backend_requests())
    ans = exchange(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\n"
                   b"X-Forwarded-Client-Cert: a\r\n Hash=1\r\n\r\n")
    if not ans or ans[0][0] != 400 or len(backend_requests()) != before:
        fail("an obs-folded identity header was not refused with 400")
    print("ok - an obs-folded identity header is refused with 400")


# The smuggling corpus: (name, bytes, expected).  expected is a status the
# proxy answers itself, or "ok" for one request forwarded.  Every case that
# hides a second request names it /smuggled; the backend must never log it.
S = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
P = b"POST /s HTTP/1.1\r\nHost: localhost\r\n"
CORPUS = [
    ("CL.TE", P + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + S, 400),
    ("TE.CL", P + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 400),
    ("TE xchunked", P + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + S, 400),
    ("TE chunked-x", P + b"Transfer-Encoding: chunked-x\r\n\r\n0\r\n\r\n", 400),
    ("TE space chunked", P + b"Transfer-Encoding:  chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "ok"),
    ("TE chunked, identity", P + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + S, 400),
    ("TE identity, chunked", P + b"Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", 501),
    ("TE gzip, chunked", P + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("TE tab chunked", P + b"Transfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "ok"),
    ("TE chunked tab", P + b"Transfer-Encoding: chunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400),
    # llhttp reads "chunked<HTAB>" as not chunked: the refusal must come
    # before the head is forwarded, not when the body arrives.
    ("TE chunked tab, body later", [P + b"Transfer-Encoding: chunked\t\r\n\r\n", b"3\r\nabc\r\n0\r\n\r\n"], 400),
    ("TE space before colon", P + b"Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + S, 400),
    ("TE doubled", P + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("TE doubled identity", P + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", 400),
    ("TE obs-fold", P + b"Transfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + S, 400),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + S, 400),
    ("PRI in HTTP/1.1", b"PRI /s HTTP/1.1\r\nHost: localhost\r\n\r\n" + S, 400),
    ("TE in HTTP/1.0", b"POST /s HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("TE underscore", P + b"Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", "ok"),
    ("TE upper CHUNKED", P + b"Transfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "ok"),
    ("CL doubled same", P + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    ("CL doubled differ", P + b"Content-Length: 5\r\nContent-Length: 48\r\n\r\nhello" + S, 400),
    ("CL +5", P + b"Content-Length: +5\r\n\r\nhello", 400),
    ("CL 5, 5", P + b"Content-Length: 5, 5\r\n\r\nhello", 400),
    ("CL -1", P + b"Content-Length: -1\r\n\r\n", 400),
    ("CL hex", P + b"Content-Length: 0x5\r\n\r\nhello", 400),
    ("CL space inside", P + b"Content-Length: 1 0\r\n\r\nhello12345", 400),
    ("CL overflow", P + b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    ("CL obs-fold", P + b"Content-Length:\r\n 5\r\n\r\nhello", 400),
    ("CL ok", P + b"Content-Length: 5\r\n\r\nhello", "ok"),
    ("obs-fold X", b"GET /s HTTP/1.1\r\nHost: localhost\r\nX: a\r\n\tb\r\n\r\n", 400),
    ("space before colon", b"GET /s HTTP/1.1\r\nHost : localhost\r\n\r\n", 400),
    ("bare CR in header", b"GET /s HTTP/1.1\r\nHost: localhost\r\nX: a\rb\r\n\r\n", 400),
    ("bare LF", b"GET /s HTTP/1.1\nHost: localhost\n\n", 400),
    ("bare LF between headers", b"GET /s HTTP/1.1\r\nHost: localhost\nX: b\r\n\r\n", 400),
    ("bare CR line end", b"GET /s HTTP/1.1\rHost: localhost\r\n\r\n", 400),
    ("NUL in value", b"GET /s HTTP/1.1\r\nHost: localhost\r\nX: a\x00b\r\n\r\n", 400),
    ("NUL in name", b"GET /s HTTP/1.1\r\nHost: localhost\r\nX\x00Y: a\r\n\r\n", 400),
    ("NUL in target", b"GET /s\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    ("chunk size overflow", P + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk size bad", P + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk size space", P + b"Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400),
    ("chunk size LF only", P + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400),
    ("chunk data too long", P + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n", 400),
    ("chunk extension", P + b"Transfer-Encoding: chunked\r\n\r\n3;name=val\r\nabc\r\n0\r\n\r\n", "ok"),
    ("chunk extension quoted", P + b"Transfer-Encoding: chunked\r\n\r\n3;n=\"v;x\"\r\nabc\r\n0\r\n\r\n", "ok"),
    ("trailers", P + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Forwarded-Client-Cert: spoofed\r\n\r\n", "ok"),
    ("trailer hides request", P + b"Transfer-Encoding: chunked\r\n\r\n0\r\nX: " + S + b"\r\n", "ok"),
    ("two Host", b"GET /s HTTP/1.1\r\nHost: localhost\r\nHost: evil\r\n\r\n", 400),
    ("no Host", b"GET /s HTTP/1.1\r\n\r\n", 400),
    # RFC 9112 3.2.2: the target's authority wins over Host.
    ("absolute-form, another server", b"GET http://evil/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 421),
    ("absolute-form, Host names another", b"GET http://localhost/s HTTP/1.1\r\nHost: evil\r\n\r\n", "ok"),
    ("absolute-form with userinfo", b"GET http://evil@localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    ("HTTP/1.2", b"GET /s HTTP/1.2\r\nHost: localhost\r\n\r\n", 400),
    ("HTTP/2.0 line", b"GET /s HTTP/2.0\r\nHost: localhost\r\n\r\n", 505),
    ("space in target", b"GET /a b HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    ("Host other server", b"GET /s HTTP/1.1\r\nHost: evil.example\r\n\r\n", 421),
    ("CONNECT", b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n", 405),
    ("Expect other", b"GET /s HTTP/1.1\r\nHost: localhost\r\nExpect: 200-ok\r\n\r\n", 417),
    ("long target", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414),
    ("many fields", b"GET /s HTTP/1.1\r\nHost: localhost\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
    ("huge field", b"GET /s HTTP/1.1\r\nHost: localhost\r\nX: " + b"v" * 40000 + b"\r\n\r\n", 431),
    ("GET with body then smuggle", b"GET /s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(S) + S, "ok"),
    ("chunk CRLF missing", P + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXY5\r\nhello\r\n0\r\n\r\n", 400),
]


def smuggle():
    bad = 0
    for name, data, want in CORPUS:
        before = len(backend_requests())
        ans = exchange(data, n=1)
        got = ans[0][0] if ans else None
        after = backend_requests()[before:]
        if want == "ok":
            if got != 200 or len(after) != 1:
                print(f"FAIL: {name}: status {got}, {len(after)} "
                      f"requests at the backend, expected 200 and one")
                bad += 1
        else:
            if got != want or after:
                print(f"FAIL: {name}: status {got}, {len(after)} "
                      f"requests at the backend, expected {want} and none")
                bad += 1
            elif ans[0][1].get("connection") != "close":
                print(f"FAIL: {name}: the refusal lacks Connection: close")
                bad += 1
    reqs = backend_requests()
    if any(r.get("path") == "/smuggled" for r in reqs):
        fail("a smuggled request reached the backend")
    if any("error" in r for r in reqs):
        fail("the backend's parser choked on what it got: %r" %
             [r for r in reqs if "error" in r])
    # The backend's byte log: the only /smuggled in it are body bytes of
    # requests it logged, and it parsed exactly the requests meant to go.
    raw = open(blog + ".raw", "rb").read()
    in_bodies = sum(bytes.fromhex(r["body"]).count(b"GET /smuggled")
                    for r in reqs if "body" in r)
    oks = sum(1 for c in CORPUS if c[2] == "ok")
    count = len(reqs)
    if raw.count(b"GET /smuggled") != in_bodies or count != oks:
        fail(f"the backend's byte log holds {raw.count(b'GET /smuggled')} "
             f"/smuggled (bodies: {in_bodies}), {count} requests "
             f"(expected {oks})")
    if bad:
        sys.exit(1)
    print(f"ok - {len(CORPUS)} smuggling cases: each refused with its "
          f"status and Connection: close, or forwarded as exactly one "
          f"request ({oks}); the backend's byte log holds {count} "
          f"requests and no /smuggled")


def pipeline():
    reqs = b"".join(b"GET /p%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i
                    for i in range(3))
    reqs += b"POST /p3 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc"
    reqs += b"GET /p4 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    s = connect()
    s.sendall(reqs)
    ans, _ = read_answers(s, 5)
    paths = [json.loads(b)["path"] for _, _, b in ans]
    if paths != ["/p0", "/p1", "/p2", "/p3", "/p4"]:
        fail(f"pipelined answers out of order or missing: {paths}")
    if s.recv(10) != b"":
        fail("the connection stayed open after Connection: close")
    print("ok - five pipelined requests (one with a body) answered in "
          "order, then the connection closed as asked")


def keepalive():
    n = int(args[0]) if args else 100
    want_hash = None
    with open(certpfx + ".crt", "rb") as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem.decode().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    want_hash = hashlib.sha256(der).hexdigest()
    for ver, tmax in (("TLS 1.3", None), ("TLS 1.2", ssl.TLSVersion.TLSv1_2)):
        before = backend_requests()
        s = connect(tmax)
        for i in range(n):
            s.sendall(b"GET /k%d HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Client-Cert: Hash=%d\r\n\r\n" % (i, i))
            ans, _ = read_answers(s, 1)
            if not ans or ans[0][0] != 200:
                fail(f"{ver}: request {i} got {ans and ans[0][0]}")
            hdrs = dict((k.lower(), v) for k, v in json.loads(ans[0][2])["headers"])
            x = hdrs.get("x-forwarded-client-cert", "")
            if f"Hash={want_hash}" not in x or "Hash=%d;" % i in x:
                fail(f"{ver}: request {i}: XFCC {x}")
        s.close()
        after = backend_requests()[len(before):]
        conns = {r["conn"] for r in after}
        if len(after) != n or len(conns) != 1:
            fail(f"{ver}: {len(after)} requests over {len(conns)} backend "
                 f"connections")
        print(f"ok - {ver}: {n} requests on one connection, one backend "
              f"connection, each with the client's own XFCC")


def upgrade():
    # Declined: the backend answers 200; the next request on the same
    # connection is parsed and sanitized like the first.
    s = connect()
    s.sendall(b"GET /noupgrade HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
              b"GET /after HTTP/1.1\r\nHost: localhost\r\nClient-Cert: :AAAA:\r\n\r\n")
    ans, _ = read_answers(s, 2)
    if [a[0] for a in ans] != [200, 200]:
        fail(f"declined upgrade: {[a[0] for a in ans]}")
    h = dict((k.lower(), v) for k, v in json.loads(ans[1][2])["headers"])
    if h.get("client-cert") == ":AAAA:":
        fail("after a declined upgrade the next request was not sanitized")
    s.close()
    print("ok - an upgrade the backend declines stays HTTP: the next "
          "request is parsed and sanitized")
    s = connect()
    s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    ans, rest = read_answers(s, 1)
    if not ans or ans[0][0] != 101:
        fail(f"upgrade: {ans and ans[0][0]}")
    want = b"GET /raw HTTP/1.1\r\nHost: x\r\n\r\nraw bytes, not HTTP\r\n"
    s.sendall(want)
    got = rest
    s.settimeout(5)
    while len(got) < len(want):
        d = s.recv(4096)
        if not d:
            break
        got += d
    if got != want:
        fail(f"after 101 the relay is not raw: {got!r}")
    s.close()
    print("ok - after the backend's 101 the connection is a raw relay")


def raw():
    data = open(args[0], "rb").read()
    s = connect()
    s.sendall(data)
    ans, rest = read_answers(s, None, idle=2)
    for st, h, b in ans:
        print(st, json.dumps(h), b.decode(errors="replace").strip())


{"spoof": spoof, "smuggle": smuggle, "pipeline": pipeline,
 "keepalive": keepalive, "upgrade": upgrade, "raw": raw}[mode]()
