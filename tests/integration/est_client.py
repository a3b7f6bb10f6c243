"""EST enrollments with python requests, as a fleet would run them.

    est_client.py URL CA_FILE TOKENS_FILE WORKER COUNT OUT_DIR [PAUSE]

TOKENS_FILE has "name token" lines; worker W takes lines W*COUNT to
(W+1)*COUNT.  Each enrollment makes a P-256 key and a CSR with the
cryptography package, POSTs it as base64 DER with HTTP Basic, and writes the
certificate's serial (hex) to OUT_DIR/NAME.serial.  Exits 1 on the first
answer that is not 200.  PAUSE (seconds, default 0) is waited after each
enrollment, so that a run lasts long enough to be interrupted.
"""
import base64
import os
import sys
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

url, ca, tokens, worker, count, out = sys.argv[1:7]
worker, count = int(worker), int(count)
pause = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
lines = open(tokens).read().split("\n")[worker * count:(worker + 1) * count]
session = requests.Session()
for line in lines:
    name, token = line.split()
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .sign(key, hashes.SHA256()))
    body = base64.b64encode(csr.public_bytes(serialization.Encoding.DER))
    r = session.post(url + "/.well-known/est/simpleenroll", data=body,
                     auth=(name, token), timeout=60, verify=ca,
                     headers={"Content-Type": "application/pkcs10"})
    if r.status_code != 200:
        print(f"{name}: HTTP {r.status_code}: {r.text.strip()}", file=sys.stderr)
        sys.exit(1)
    certs = pkcs7.load_der_pkcs7_certificates(base64.b64decode(r.content))
    assert len(certs) == 1, f"{name}: {len(certs)} certificates in the answer"
    cert = certs[0]
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name
    with open(os.path.join(out, name + ".serial"), "w") as f:
        f.write("%032X\n" % cert.serial_number)
    time.sleep(pause)
