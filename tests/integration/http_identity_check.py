#!/usr/bin/env python3
"""Checks the identity headers one request reached the backend with
(http_backend.py's log, last request) against the client's certificate
files, using python3-cryptography and a small parser of Envoy's XFCC
grammar:  element *("," element), element = pair *(";" pair),
pair = key "=" value, value = token or a double-quoted string with \\
escapes.

usage: http_identity_check.py BACKEND-LOG CLIENT-CRT WANT-BY
Prints "ok - ..." lines; exits 1 on the first mismatch.
"""
import base64, hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

logpath, crtpath, want_by = sys.argv[1:4]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def parse_xfcc(s):
    elements, pairs, i = [], [], 0
    while i <= len(s):
        j = s.index("=", i)
        key = s[i:j]
        i = j + 1
        if i < len(s) and s[i] == '"':
            i += 1
            val = ""
            while s[i] != '"':
                if s[i] == "\\":
                    i += 1
                val += s[i]
                i += 1
            i += 1
        else:
            j = i
            while j < len(s) and s[j] not in ",;":
                j += 1
            val, i = s[i:j], j
        pairs.append((key, val))
        if i >= len(s):
            elements.append(pairs)
            break
        if s[i] == ",":
            elements.append(pairs)
            pairs = []
        i += 1
    return elements


req = [json.loads(l) for l in open(logpath)][-1]
h = {}
for k, v in req["headers"]:
    h.setdefault(k.lower(), []).append(v)
certs = x509.load_pem_x509_certificates(open(crtpath, "rb").read())
leaf, chain = certs[0], certs[1:]

x = h.get("x-forwarded-client-cert")
if not x or len(x) != 1:
    fail(f"XFCC: {x}")
el = parse_xfcc(x[0])
if len(el) != 1:
    fail(f"XFCC has {len(el)} elements: {x[0]}")
pairs = el[0]
d = {}
for k, v in pairs:
    d.setdefault(k, []).append(v)
der = leaf.public_bytes(Encoding.DER)
if d.get("Hash") != [hashlib.sha256(der).hexdigest()]:
    fail(f"XFCC Hash {d.get('Hash')}")
if d.get("Subject") != [leaf.subject.rfc4514_string()]:
    fail(f"XFCC Subject {d.get('Subject')} != {leaf.subject.rfc4514_string()}")
san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
if d.get("URI", []) != san.get_values_for_type(x509.UniformResourceIdentifier):
    fail(f"XFCC URI {d.get('URI')}")
if d.get("DNS", []) != san.get_values_for_type(x509.DNSName):
    fail(f"XFCC DNS {d.get('DNS')}")
if d.get("By") != [want_by]:
    fail(f"XFCC By {d.get('By')} != {want_by}")
print("ok - XFCC (Envoy's grammar) gives back the leaf's hash, subject, URI "
      "and DNS SANs, and By names the proxy")

cc = h.get("client-cert")
if not cc or len(cc) != 1 or not (cc[0].startswith(":") and cc[0].endswith(":")):
    fail(f"Client-Cert {cc}")
got = x509.load_der_x509_certificate(base64.b64decode(cc[0][1:-1]))
if got != leaf:
    fail("Client-Cert is not the client's leaf")
ch = h.get("client-cert-chain")
if not ch or len(ch) != 1:
    fail(f"Client-Cert-Chain {ch}")
items = [x509.load_der_x509_certificate(base64.b64decode(i.strip()[1:-1]))
         for i in ch[0].split(",")]
if items != chain or not chain:
    fail(f"Client-Cert-Chain: {len(items)} certificates, want {len(chain)}")
print(f"ok - RFC 9440: Client-Cert decodes to the leaf, Client-Cert-Chain "
      f"to the {len(chain)} intermediate(s) in TLS order")
subj = h.get("x-client-subject")
if subj != [leaf.subject.rfc4514_string()]:
    fail(f"X-Client-Subject {subj}")
if h.get("x-client-san-uri") != san.get_values_for_type(x509.UniformResourceIdentifier):
    fail(f"X-Client-SAN-URI {h.get('x-client-san-uri')}")
print("ok - X-Client-Subject and X-Client-SAN-URI/-DNS are the certificate's")
