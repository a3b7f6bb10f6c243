/*
 * doctor.c - the diagnosis: the table of every finding (declared once, with
 * its code, severity and texts), the finding list, and mtls_doctor_run(),
 * which runs the local checks and then the remote ones.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "doctor/doctor.h"

/*
 * The table.  Explanations say what is wrong and where; fixes say what to
 * do, on which side.  %1..%9 are filled by the check that adds the finding;
 * slots names them, in order, for the documentation.
 * docs/doctor.md lists the same codes; tests/unit/test_doctor.c checks that
 * every code there is documented.
 */
static const struct doctor_entry {
	const char *code;
	enum mtls_severity sev;
	const char *slots;          /* names of %1, %2..., for documentation */
	const char *explanation;
	const char *fix;
} table[DR_NCODES] = {
	[DR_FILE_MISSING] = { "file-missing", MTLS_SEVERITY_ERROR,
	    "kind file",
	    "The %1 file %2 does not exist.",
	    "Check the path, or create the file." },
	[DR_FILE_UNREADABLE] = { "file-unreadable", MTLS_SEVERITY_ERROR,
	    "kind file reason",
	    "The %1 file %2 cannot be read: %3.",
	    "Give the user that runs the program read access to %2 "
	    "(for a key: owner only, mode 0600)." },
	[DR_NOT_PEM_OR_DER] = { "not-pem-or-der", MTLS_SEVERITY_ERROR,
	    "kind file reason",
	    "The %1 file %2 is neither PEM nor DER: %3.",
	    "Point to the PEM file itself (\"-----BEGIN ...\"), not to a "
	    "bundle in another format or a damaged copy." },
	[DR_WRONG_OBJECT_KIND] = { "wrong-object-kind", MTLS_SEVERITY_ERROR,
	    "kind file found wanted hint",
	    "The %1 file %2 holds %3, not %4.",
	    "%5." },
	[DR_OK_FILES] = { "ok-files", MTLS_SEVERITY_OK,
	    "kind file contents",
	    "The %1 file %2 holds %3.",
	    "Nothing to do." },

	[DR_KEY_ENCRYPTED_NO_PASSPHRASE] = { "key-encrypted-no-passphrase",
	    MTLS_SEVERITY_ERROR,
	    "key",
	    "The key %1 is encrypted and no passphrase was given, so it "
	    "cannot be used unattended.",
	    "Set MTLS_KEY_PASSPHRASE, or store the key unencrypted with mode "
	    "0600 (openssl pkey -in %1 -out plain.key)." },
	[DR_KEY_WRONG_PASSPHRASE] = { "key-wrong-passphrase",
	    MTLS_SEVERITY_ERROR,
	    "key",
	    "The key %1 is encrypted and the passphrase given does not "
	    "decrypt it.",
	    "Give the passphrase the key was encrypted with "
	    "(MTLS_KEY_PASSPHRASE)." },
	[DR_KEY_PERMISSIONS] = { "key-permissions", MTLS_SEVERITY_WARNING,
	    "key mode",
	    "The key %1 can be read by other users (mode %2).",
	    "Make it readable by its owner only: chmod 600 %1." },
	[DR_KEY_MISMATCH] = { "key-mismatch", MTLS_SEVERITY_ERROR,
	    "key cert file",
	    "The key %1 is not the private key of the certificate %2 in %3.",
	    "Use the key that was generated with this certificate's CSR, or "
	    "issue a new certificate for this key." },
	[DR_OK_KEY_MATCH] = { "ok-key-match", MTLS_SEVERITY_OK,
	    "key cert",
	    "The key %1 belongs to the certificate %2.",
	    "Nothing to do." },

	[DR_CHAIN_WRONG_ORDER] = { "chain-wrong-order", MTLS_SEVERITY_ERROR,
	    "file detail",
	    "The certificates in %1 are out of order: %2.",
	    "Put the leaf first, then each issuer in turn "
	    "(cat leaf.crt intermediate.crt > %1)." },
	[DR_CHAIN_EXTRA_CERT] = { "chain-extra-cert", MTLS_SEVERITY_WARNING,
	    "file cert",
	    "%1 holds the certificate %2, which is not part of the leaf's "
	    "chain.",
	    "Remove it from %1; peers ignore it at best." },
	[DR_CHAIN_MISSING_INTERMEDIATE] = { "chain-missing-intermediate",
	    MTLS_SEVERITY_ERROR,
	    "leaf last-found missing-issuer cert-file ca-file",
	    "The chain of %1 stops at %2: its issuer %3 is in none of the "
	    "files given.",
	    "If %3 is an intermediate CA, append its certificate to %4 after "
	    "the leaf; if it is a root, put it in the CA file %5." },
	[DR_CA_NAME_CLASH] = { "ca-name-clash", MTLS_SEVERITY_ERROR,
	    "leaf issuer ca-file",
	    "%1 was issued by a CA named %2, and %3 holds a CA of that name "
	    "with another key: two different CAs share the name %2 (two "
	    "mtls init runs, for example), and %1 is from the other one.",
	    "Use the CA file of the CA that issued %1 (the ca.crt of the "
	    "same PKI), or reissue %1 from the CA in %3; give CAs distinct "
	    "names." },
	[DR_CHAIN_UNTRUSTED] = { "chain-untrusted", MTLS_SEVERITY_ERROR,
	    "leaf top-ca ca-file ca-file-contents",
	    "The chain of %1 leads to the CA %2, which is not in the CA "
	    "file %3 (it holds %4).",
	    "Use the CA that issued the certificate (%2) as the CA file, or "
	    "get a certificate from the CA in %3." },
	[DR_CHAIN_INVALID] = { "chain-invalid", MTLS_SEVERITY_ERROR,
	    "leaf ca-file reason",
	    "The chain of %1 does not verify against %2: %3.",
	    "Reissue the certificate from the CA in %2, or fix the chain as "
	    "the reason says." },
	[DR_CHAIN_INCOMPLETE] = { "chain-incomplete", MTLS_SEVERITY_WARNING,
	    "file intermediate",
	    "%1 holds only the leaf, but it was issued by the intermediate "
	    "%2, which peers that trust only the root cannot find.",
	    "Append the intermediate's certificate to %1 after the leaf, so "
	    "that it is sent in the handshake." },
	[DR_OK_CHAIN] = { "ok-chain", MTLS_SEVERITY_OK,
	    "leaf top-ca",
	    "The chain of %1 verifies up to %2.",
	    "Nothing to do." },
	[DR_CA_NOT_CA] = { "ca-not-ca", MTLS_SEVERITY_ERROR,
	    "ca-file cert reason",
	    "%1 holds %2, which is not a CA certificate (%3), so nothing it "
	    "signed can be trusted.",
	    "Put the CA's own certificate (ca.crt, basicConstraints CA:TRUE, "
	    "keyUsage keyCertSign) in %1, not a leaf." },
	[DR_CA_NO_ROOT] = { "ca-no-root", MTLS_SEVERITY_ERROR,
	    "ca-file cas root",
	    "%1 holds only %2 and not the root %3 it leads to: a chain is "
	    "verified up to a root, so every peer is refused as from an "
	    "unknown CA.",
	    "Put the root %3 in %1 too (cat root.crt >> %1), or give the "
	    "root's certificate file instead (with mtls: the root CA "
	    "directory's ca.crt)." },
	[DR_LEAF_SELF_SIGNED] = { "leaf-self-signed", MTLS_SEVERITY_ERROR,
	    "cert file",
	    "The certificate %1 in %2 is self-signed: it was not issued by "
	    "your CA or any other, so the peer accepts it only if it pins "
	    "this exact certificate.",
	    "Issue the certificate from a CA and give the peer that CA." },
	[DR_LEAF_IS_CA] = { "leaf-is-ca", MTLS_SEVERITY_ERROR,
	    "cert file",
	    "The certificate %1 in %2 is a CA certificate, not a server or "
	    "client certificate: peers refuse it as an end-entity "
	    "certificate.",
	    "Use a certificate this CA issued (a server or client one), not "
	    "the CA's own." },

	[DR_CERT_NOT_YET_VALID] = { "cert-not-yet-valid", MTLS_SEVERITY_ERROR,
	    "cert file not-before time-left",
	    "The certificate %1 in %2 is not valid until %3, %4 from now.",
	    "Wait, or reissue it with a start time in the past; if it was "
	    "just issued, fix the clock (see clock-skew)." },
	[DR_CLOCK_SKEW] = { "clock-skew", MTLS_SEVERITY_WARNING,
	    "cert time-ahead",
	    "The certificate %1 starts %2 in the future, which suggests that "
	    "the clock of this machine or of the CA is off by about that much.",
	    "Synchronize both clocks (NTP: timedatectl set-ntp true) and "
	    "compare with date -u." },
	[DR_CERT_EXPIRED] = { "cert-expired", MTLS_SEVERITY_ERROR,
	    "cert file not-after time-since",
	    "The certificate %1 in %2 expired on %3, %4 ago.",
	    "Issue a new certificate and replace %2." },
	[DR_CERT_EXPIRES_SOON] = { "cert-expires-soon", MTLS_SEVERITY_WARNING,
	    "cert file not-after time-left",
	    "The certificate %1 in %2 expires on %3, in %4.",
	    "Renew it before then and automate renewal (cert-manager, a "
	    "cron job)." },
	[DR_OK_VALIDITY] = { "ok-validity", MTLS_SEVERITY_OK,
	    "file not-after",
	    "The certificates in %1 are valid now (the leaf until %2).",
	    "Nothing to do." },

	[DR_USAGE_NO_CLIENTAUTH] = { "usage-no-clientauth", MTLS_SEVERITY_ERROR,
	    "cert file eku",
	    "The certificate %1 in %2 has an extended key usage (%3) without "
	    "clientAuth, so servers refuse it as a client certificate.",
	    "Issue a client certificate, whose extended key usage includes "
	    "clientAuth." },
	[DR_USAGE_NO_SERVERAUTH] = { "usage-no-serverauth", MTLS_SEVERITY_ERROR,
	    "cert file eku",
	    "The certificate %1 in %2 has an extended key usage (%3) without "
	    "serverAuth, so clients refuse it as a server certificate.",
	    "Issue a server certificate, whose extended key usage includes "
	    "serverAuth." },
	[DR_USAGE_NO_DIGITALSIGNATURE] = { "usage-no-digitalsignature",
	    MTLS_SEVERITY_ERROR,
	    "cert file key-usage",
	    "The certificate %1 in %2 has a key usage (%3) without "
	    "digitalSignature, which a TLS handshake needs.",
	    "Reissue it with keyUsage digitalSignature." },
	[DR_OK_USAGE] = { "ok-usage", MTLS_SEVERITY_OK,
	    "cert role",
	    "The certificate %1 may be used as a %2 certificate.",
	    "Nothing to do." },
	[DR_NAME_NOT_IN_SAN] = { "name-not-in-san", MTLS_SEVERITY_ERROR,
	    "name cert sans san-type",
	    "The name %1 is not among the subject alternative names of %2 "
	    "(%3), so clients connecting to %1 refuse it.",
	    "Reissue the certificate with the SAN %4:%1, or connect with a "
	    "name it has." },
	[DR_CN_WITHOUT_SAN] = { "cn-without-san", MTLS_SEVERITY_ERROR,
	    "cert file",
	    "The certificate %1 in %2 has a common name but no subject "
	    "alternative name, and clients ignore the common name "
	    "(RFC 6125).",
	    "Reissue it with the server's names as SANs (DNS names, IP "
	    "addresses)." },
	[DR_OK_NAME] = { "ok-name", MTLS_SEVERITY_OK,
	    "name cert",
	    "The name %1 matches the certificate %2.",
	    "Nothing to do." },

	[DR_WEAK_KEY] = { "weak-key", MTLS_SEVERITY_ERROR,
	    "cert file key",
	    "The certificate %1 in %2 has a weak key (%3), refused at "
	    "OpenSSL's security level 2.",
	    "Issue a new key and certificate with ec-p256 or rsa-2048 or "
	    "stronger." },
	[DR_SHA1_SIGNATURE] = { "sha1-signature", MTLS_SEVERITY_ERROR,
	    "cert file algorithm",
	    "The certificate %1 in %2 is signed with %3, which current TLS "
	    "libraries refuse.",
	    "Reissue it signed with SHA-256 (any current CA does so)." },

	[DR_CERT_REVOKED] = { "cert-revoked", MTLS_SEVERITY_ERROR,
	    "cert serial file date reason crl-file",
	    "The certificate %1 (serial %2) in %3 was revoked on %4 "
	    "(reason: %5), according to %6.",
	    "Issue a new certificate to replace it; a revoked certificate "
	    "cannot be reinstated." },
	[DR_CRL_EXPIRED] = { "crl-expired", MTLS_SEVERITY_ERROR,
	    "issuer crl-file next-update time-since",
	    "The CRL of %1 in %2 expired on %3, %4 ago, and servers that "
	    "check revocation then refuse every certificate of this CA.",
	    "Publish a fresh CRL to %2 and schedule it well before "
	    "nextUpdate." },
	[DR_CRL_NOT_YET_VALID] = { "crl-not-yet-valid", MTLS_SEVERITY_ERROR,
	    "issuer crl-file this-update time-left",
	    "The CRL of %1 in %2 is not valid until %3, %4 from now.",
	    "Check the clock of this machine and of the CA, then publish "
	    "the CRL again." },
	[DR_CRL_WRONG_ISSUER] = { "crl-wrong-issuer", MTLS_SEVERITY_ERROR,
	    "crl-file issuer chain-cas",
	    "The CRL in %1 issued by %2 is not signed by any CA of the "
	    "chain (%3).",
	    "Use the CRL published by the CA that issued the "
	    "certificates." },
	[DR_CRL_MISSING_FOR_INTERMEDIATE] = { "crl-missing-for-intermediate",
	    MTLS_SEVERITY_ERROR,
	    "crl-file ca cert",
	    "%1 holds no CRL of the intermediate CA %2, which issued %3, so "
	    "a server that checks the whole chain fails closed.",
	    "Add the intermediate's CRL to %1 (cat root.crl "
	    "intermediate.crl > %1)." },
	[DR_CRL_MISSING_FOR_ROOT] = { "crl-missing-for-root",
	    MTLS_SEVERITY_ERROR,
	    "crl-file ca cert",
	    "%1 holds no CRL of the root CA %2, which issued %3, so a server "
	    "that checks the whole chain fails closed.",
	    "Add the root's CRL to %1 (cat root.crl intermediate.crl > %1)." },
	[DR_OK_CRL] = { "ok-crl", MTLS_SEVERITY_OK,
	    "crl-file cert",
	    "%1 is current and signed by the CA, and %2 is not revoked.",
	    "Nothing to do." },

	[DR_DNS_FAILED] = { "dns-failed", MTLS_SEVERITY_ERROR,
	    "host reason",
	    "The name %1 cannot be resolved: %2.",
	    "Check the spelling and this machine's DNS (getent hosts %1)." },
	[DR_TCP_REFUSED] = { "tcp-refused", MTLS_SEVERITY_ERROR,
	    "target",
	    "Nothing listens on %1: the connection was refused.",
	    "Start the server, or check the port and that it listens on "
	    "this address (ss -ltn on the server)." },
	[DR_TCP_TIMEOUT] = { "tcp-timeout", MTLS_SEVERITY_ERROR,
	    "target timeout",
	    "%1 did not answer within %2: a firewall drops the packets or "
	    "the host is down.",
	    "Check the firewall rules and security groups between here and "
	    "%1, and that the host is up." },
	[DR_TCP_UNREACHABLE] = { "tcp-unreachable", MTLS_SEVERITY_ERROR,
	    "target reason",
	    "%1 cannot be reached: %2.",
	    "Check the address, the routes (ip route get) and the network "
	    "between here and the server." },
	[DR_OK_TCP] = { "ok-tcp", MTLS_SEVERITY_OK,
	    "target address",
	    "A TCP connection to %1 (%2) succeeded.",
	    "Nothing to do." },

	[DR_TLS_NOT_TLS] = { "tls-not-tls", MTLS_SEVERITY_ERROR,
	    "target answer",
	    "%1 does not speak TLS: it answered %2.",
	    "Connect to the TLS port, or turn TLS on in the server (nginx: "
	    "listen ... ssl)." },
	[DR_TLS_TIMEOUT] = { "tls-timeout", MTLS_SEVERITY_ERROR,
	    "target timeout",
	    "%1 accepted the TCP connection but did not answer the TLS "
	    "handshake within %2.",
	    "Check that this port serves TLS and that the server is not "
	    "overloaded or waiting for something else (a PROXY header)." },
	[DR_TLS_CLOSED] = { "tls-closed", MTLS_SEVERITY_ERROR,
	    "target servername",
	    "%1 closed the connection during the handshake without a TLS "
	    "alert.",
	    "Look at the server's log: it may refuse this client's address, "
	    "the SNI name %2, or not serve TLS on this port." },
	[DR_TLS_VERSION] = { "tls-version", MTLS_SEVERITY_ERROR,
	    "target reason",
	    "%1 and this client share no TLS version: %2.",
	    "Enable TLS 1.2 or 1.3 on the server (nginx: ssl_protocols "
	    "TLSv1.2 TLSv1.3); older versions are unsafe." },
	[DR_TLS_NO_SHARED_CIPHER] = { "tls-no-shared-cipher",
	    MTLS_SEVERITY_ERROR,
	    "target reason",
	    "%1 and this client share no cipher suite or group: %2.",
	    "Enable ECDHE with AES-GCM or ChaCha20-Poly1305 on the server." },
	[DR_TLS_HANDSHAKE_FAILED] = { "tls-handshake-failed",
	    MTLS_SEVERITY_ERROR,
	    "target reason",
	    "The TLS handshake with %1 failed: %2.",
	    "Look at the server's log for the same moment, which names its "
	    "side of the reason." },
	[DR_OK_HANDSHAKE] = { "ok-handshake", MTLS_SEVERITY_OK,
	    "target parameters",
	    "The TLS handshake with %1 completed: %2.",
	    "Nothing to do." },

	[DR_SERVER_CERT_UNTRUSTED] = { "server-cert-untrusted",
	    MTLS_SEVERITY_ERROR,
	    "cert ca-file reason",
	    "The server's certificate %1 does not verify against %2: %3.",
	    "Give the server a certificate from your CA, or give this client "
	    "the CA that issued the server's certificate as its CA file." },
	[DR_SERVER_NAME_MISMATCH] = { "server-name-mismatch",
	    MTLS_SEVERITY_ERROR,
	    "cert name sans san-type",
	    "The server's certificate %1 is not valid for the name %2 (it "
	    "has %3).",
	    "Connect with a name the certificate has as the server name, or "
	    "reissue the server's certificate with the SAN %4:%2." },
	[DR_SERVER_CHAIN_INCOMPLETE] = { "server-chain-incomplete",
	    MTLS_SEVERITY_WARNING,
	    "cert intermediate",
	    "The server sends only its leaf %1, not the intermediate %2 that "
	    "issued it; clients that trust only the root fail.",
	    "On the server, append the intermediate to the certificate file "
	    "(nginx ssl_certificate takes leaf + intermediates)." },
	[DR_SERVER_CHAIN_MISSING] = { "server-chain-missing",
	    MTLS_SEVERITY_ERROR,
	    "cert issuer ca-file ca-file-contents",
	    "The server sends only its leaf %1, and its issuer %2 is not in "
	    "%3 (it holds %4): the intermediate the server should send is "
	    "missing.",
	    "On the server, send the chain: append the intermediate %2 to "
	    "its certificate file after the leaf (nginx ssl_certificate: "
	    "leaf then intermediates).  Only if %2 is not under your root, "
	    "give the client the CA that issued it." },
	[DR_OK_SERVER_CERT] = { "ok-server-cert", MTLS_SEVERITY_OK,
	    "cert ca-file name",
	    "The server's certificate %1 verifies against %2 and is valid "
	    "for %3.",
	    "Nothing to do." },
	[DR_SERVER_NO_CLIENT_AUTH] = { "server-no-client-auth",
	    MTLS_SEVERITY_WARNING,
	    "target",
	    "%1 does not ask for a client certificate, so this is not "
	    "mutual TLS and your certificate is not used.",
	    "Turn client authentication on in the server (mtls serve does by "
	    "default; nginx: ssl_verify_client on; ssl_client_certificate "
	    "ca.crt)." },
	[DR_CLIENT_CA_NOT_ACCEPTED] = { "client-ca-not-accepted",
	    MTLS_SEVERITY_WARNING,
	    "target accepted-cas issuer",
	    "%1 accepts client certificates from %2, but yours was issued by "
	    "%3.",
	    "Add your CA (%3) to the server's client CA bundle, or use a "
	    "client certificate from one of the CAs it names." },
	[DR_OK_CLIENT_AUTH_REQUESTED] = { "ok-client-auth-requested",
	    MTLS_SEVERITY_OK,
	    "target accepted-cas",
	    "%1 asks for a client certificate (accepted CAs: %2).",
	    "Nothing to do." },
	[DR_CLIENT_CERT_MISSING] = { "client-cert-missing", MTLS_SEVERITY_ERROR,
	    "target evidence",
	    "%1 requires a client certificate and none was given (%2).",
	    "Pass your client certificate and its key." },
	[DR_CLIENT_CERT_UNUSABLE] = { "client-cert-unusable",
	    MTLS_SEVERITY_ERROR,
	    "target cert-file evidence",
	    "%1 requires a client certificate; %2 was given but not sent, "
	    "because it cannot be used (see the findings above) (%3).",
	    "Fix the certificate and key as the findings above say (for "
	    "key-mismatch: give the key that belongs to %2)." },
	[DR_CLIENT_CERT_REJECTED] = { "client-cert-rejected",
	    MTLS_SEVERITY_ERROR,
	    "target cert alert cause fix",
	    "%1 refused your client certificate %2 with the alert %3: %4.",
	    "%5" },
	[DR_HTTP_CLIENT_CERT_REFUSED] = { "http-client-cert-refused",
	    MTLS_SEVERITY_ERROR,
	    "target answer depth-note",
	    "%1 completed the handshake but its HTTP server refused the "
	    "client certificate: %2.",
	    "Read the server's error log at info level: the reason is there; "
	    "usually a CA missing from ssl_client_certificate or a "
	    "certificate without clientAuth.%3" },
	[DR_OK_CLIENT_CERT_ACCEPTED] = { "ok-client-cert-accepted",
	    MTLS_SEVERITY_OK,
	    "target cert",
	    "%1 accepted the client certificate %2.",
	    "Nothing to do." },

	[DR_CONF_SYNTAX] = { "conf-syntax", MTLS_SEVERITY_ERROR,
	    "file line reason",
	    "The configuration %1 cannot be read past line %2: %3.",
	    "Fix the syntax there (nginx -t, apache2 -t or haproxy -c name "
	    "the same place); nothing after it was checked." },
	[DR_CONF_INCLUDE_MISSING] = { "conf-include-missing",
	    MTLS_SEVERITY_WARNING,
	    "where file",
	    "%1 includes %2, which does not exist, so what it should hold "
	    "was not checked (and the server refuses to start).",
	    "Correct the path of the include, relative to the configuration's "
	    "directory (nginx) or ServerRoot (Apache)." },
	[DR_CONF_NO_TLS_SERVER] = { "conf-no-tls-server", MTLS_SEVERITY_WARNING,
	    "file software what",
	    "The %2 configuration %1 holds no TLS server (%3), so there is no "
	    "mutual TLS to check.",
	    "Check the file that holds the TLS server, or say which server "
	    "software the file is for if the guess was wrong." },
	[DR_CONF_CLIENT_AUTH_OFF] = { "conf-client-auth-off",
	    MTLS_SEVERITY_ERROR,
	    "where state fix",
	    "The TLS server at %1 does not ask for client certificates (%2), "
	    "so any client gets in: this is not mutual TLS.",
	    "Require a client certificate: %3." },
	[DR_CONF_OPTIONAL_UNCHECKED] = { "conf-optional-unchecked",
	    MTLS_SEVERITY_ERROR,
	    "where state variable fix",
	    "The TLS server at %1 lets clients in without a valid certificate "
	    "(%2) and nothing in its configuration checks %3, so the backend "
	    "serves them as if they had been verified.",
	    "Require the certificate instead, or refuse unverified clients "
	    "where requests are handled: %4." },
	[DR_CONF_CLIENT_AUTH_PER_LOCATION] = { "conf-client-auth-per-location",
	    MTLS_SEVERITY_ERROR,
	    "where directive",
	    "%1 asks for a client certificate only inside a section (%2): "
	    "with TLS 1.2 that takes a renegotiation, with TLS 1.3 "
	    "post-handshake authentication, which browsers and HTTP/2 refuse, "
	    "so those clients fail.",
	    "Require the client certificate for the whole virtual host "
	    "(SSLVerifyClient require next to SSLEngine on), and serve what "
	    "needs none on another name or port." },
	[DR_CONF_CLIENT_CA_MISSING] = { "conf-client-ca-missing",
	    MTLS_SEVERITY_ERROR,
	    "where directive",
	    "%1 asks for client certificates but names no CA to verify them "
	    "(no %2), so no client can be verified.",
	    "Add %2 with the CA certificates that issue your client "
	    "certificates (the root, and any intermediate)." },
	[DR_CONF_FILE_MISSING] = { "conf-file-missing", MTLS_SEVERITY_ERROR,
	    "where directive file reason",
	    "%1: %2 names %3, which cannot be used: %4.",
	    "Point %2 to an existing PEM file that the server's user can "
	    "read." },
	[DR_CONF_CA_NOT_CA] = { "conf-ca-not-ca", MTLS_SEVERITY_ERROR,
	    "where file cert",
	    "%1: the client CA file %2 holds %3, which is not a CA "
	    "certificate, so it cannot vouch for any client.",
	    "Put the certificates of the CAs that issue your client "
	    "certificates in %2 (the root, and any intermediate), not "
	    "leaves." },
	[DR_CONF_CA_MIXED_ROOTS] = { "conf-ca-mixed-roots",
	    MTLS_SEVERITY_WARNING,
	    "where file roots",
	    "%1: the client CA file %2 holds several unrelated roots (%3): a "
	    "certificate from any of them gets in.",
	    "Keep only the CA that issues your clients in %2; if several are "
	    "meant, restrict the accepted subjects (an nginx map, Apache "
	    "Require expr, an HAProxy ACL)." },
	[DR_CONF_CA_NOT_SENT] = { "conf-ca-not-sent", MTLS_SEVERITY_WARNING,
	    "where directive file cas",
	    "%1: the CAs %4 of %3 (%2) verify clients but are not named in "
	    "the CertificateRequest, so clients that pick a certificate by "
	    "those names (browsers, curl with several identities) may send "
	    "none.",
	    "Put the CAs that issue client certificates in the file whose "
	    "names are sent (nginx ssl_client_certificate, HAProxy ca-file, "
	    "Apache SSLCACertificateFile)." },
	[DR_CONF_VERIFY_DEPTH] = { "conf-verify-depth", MTLS_SEVERITY_ERROR,
	    "where directive depth chain needed",
	    "%1: %2 is %3, but the client CAs form the chain %4, which needs "
	    "%5, so clients issued by its last CA are refused.",
	    "Set %2 to %5." },
	[DR_CONF_NO_REVOCATION] = { "conf-no-revocation",
	    MTLS_SEVERITY_WARNING,
	    "where directive",
	    "%1 checks no certificate revocation list, so a revoked client "
	    "certificate gets in until it expires.",
	    "Publish a CRL for every CA of the chain and name the file "
	    "with %2." },
	[DR_CONF_CRL_NOT_CHECKED] = { "conf-crl-not-checked",
	    MTLS_SEVERITY_ERROR,
	    "where file",
	    "%1 names the CRL file %2, but SSLCARevocationCheck is none (the "
	    "default), so revocation is not checked at all.",
	    "Add SSLCARevocationCheck chain next to SSLCARevocationFile." },
	[DR_CONF_CRL_LEAF_ONLY] = { "conf-crl-leaf-only",
	    MTLS_SEVERITY_WARNING,
	    "where chain",
	    "%1 checks revocation of the client certificate only "
	    "(SSLCARevocationCheck leaf), not of the intermediate CAs of %2.",
	    "Use SSLCARevocationCheck chain, with a CRL of every CA in the "
	    "file." },
	[DR_CONF_CRL_MISSING_FOR_CA] = { "conf-crl-missing-for-ca",
	    MTLS_SEVERITY_ERROR,
	    "where crl-file ca",
	    "%1: %2 holds no CRL of the CA %3, and the server checks a CRL "
	    "for every CA of the chain, so every client whose chain includes "
	    "%3 is refused.",
	    "Add the CRL of %3 to %2 (cat root.crl intermediate.crl > "
	    "%2)." },
	[DR_CONF_IDENTITY_HEADER_SPOOFABLE] = {
	    "conf-identity-header-spoofable", MTLS_SEVERITY_ERROR,
	    "where header how fix",
	    "%1: the identity header %2 %3, so a client can send its own %2 "
	    "and be taken for someone else.",
	    "%4." },
	[DR_CONF_OLD_TLS] = { "conf-old-tls", MTLS_SEVERITY_WARNING,
	    "where directive",
	    "%1 enables TLS 1.0 or 1.1 (%2), which RFC 8996 deprecates.",
	    "Allow TLS 1.2 and 1.3 only (nginx ssl_protocols TLSv1.2 "
	    "TLSv1.3; Apache SSLProtocol -all +TLSv1.2 +TLSv1.3; HAProxy "
	    "ssl-min-ver TLSv1.2)." },
	[DR_OK_CONF_MTLS] = { "ok-conf-mtls", MTLS_SEVERITY_OK,
	    "where chain",
	    "%1 requires client certificates and verifies them against the "
	    "CA chain %2.",
	    "Nothing to do." },
};

struct doctor_finding {
	enum doctor_code code;
	char *subject;
	char *explanation;
	char *fix;
};

struct mtls_doctor {
	struct doctor_finding *f;
	size_t n;
	size_t cap;
	int oom;
};

const char *
mtls_severity_name(enum mtls_severity sev)
{
	switch (sev) {
	case MTLS_SEVERITY_OK:
		return "ok";
	case MTLS_SEVERITY_WARNING:
		return "warning";
	case MTLS_SEVERITY_ERROR:
		return "error";
	}
	return "unknown";
}

/*
 * Fills the slots %1..%9 of tmpl with args (a missing argument becomes
 * "?").  "%%" is a literal percent sign.  Returns a heap string or NULL.
 */
static char *
fill_template(const char *tmpl, const char *const *args, size_t nargs)
{
	size_t len = 1;
	const char *p;
	char *out, *o;

	for (p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] >= '1' && p[1] <= '9') {
			size_t i = (size_t)(p[1] - '1');
			len += strlen(i < nargs && args[i] ? args[i] : "?");
			p++;
		} else {
			len++;
		}
	}
	if ((out = malloc(len)) == NULL)
		return NULL;
	for (p = tmpl, o = out; *p; p++) {
		if (p[0] == '%' && p[1] >= '1' && p[1] <= '9') {
			size_t i = (size_t)(p[1] - '1');
			const char *a = i < nargs && args[i] ? args[i] : "?";
			size_t n = strlen(a);
			memcpy(o, a, n);
			o += n;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			*o++ = '%';
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

void
doctor_add(struct mtls_doctor *d, enum doctor_code code, const char *subject,
    ...)
{
	const char *args[9];
	size_t nargs = 0;
	struct doctor_finding *f;
	const char *a;
	va_list ap;

	if (d->oom || code >= DR_NCODES)
		return;
	va_start(ap, subject);
	while ((a = va_arg(ap, const char *)) != NULL && nargs < nitems(args))
		args[nargs++] = a;
	va_end(ap);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		f = realloc(d->f, cap * sizeof(*f));
		if (f == NULL) {
			d->oom = 1;
			return;
		}
		d->f = f;
		d->cap = cap;
	}
	f = &d->f[d->n];
	f->code = code;
	f->subject = strdup(subject != NULL ? subject : "");
	f->explanation = fill_template(table[code].explanation, args, nargs);
	f->fix = fill_template(table[code].fix, args, nargs);
	if (f->subject == NULL || f->explanation == NULL || f->fix == NULL) {
		free(f->subject);
		free(f->explanation);
		free(f->fix);
		d->oom = 1;
		return;
	}
	d->n++;
}

int
doctor_has(const struct mtls_doctor *d, enum doctor_code code)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->f[i].code == code)
			return 1;
	return 0;
}

void
doctor_state_clear(struct doctor_state *st)
{
	sk_X509_pop_free(st->certs, X509_free);
	sk_X509_pop_free(st->cas, X509_free);
	sk_X509_CRL_pop_free(st->crls, X509_CRL_free);
	EVP_PKEY_free(st->key);
	memset(st, 0, sizeof(*st));
}

/* With no role given, a check against a running server means we are
 * the client, and a name to match means a server certificate. */
static enum mtls_purpose
guess_role(const struct mtls_doctor_options *opt)
{
	if (opt->role != MTLS_PURPOSE_ANY)
		return opt->role;
	if (opt->connect != NULL)
		return MTLS_PURPOSE_CLIENT;
	if (opt->name != NULL)
		return MTLS_PURPOSE_SERVER;
	return MTLS_PURPOSE_ANY;
}

struct mtls_doctor *
mtls_doctor_run(const struct mtls_doctor_options *opt, struct mtls_error *err)
{
	struct doctor_state st;
	struct mtls_doctor *d;

	if (opt == NULL || (opt->cert_file == NULL && opt->key_file == NULL &&
	    opt->ca_file == NULL && opt->crl_file == NULL &&
	    opt->connect == NULL && opt->server_config == NULL)) {
		err_set(err, MTLS_ERR_USAGE, "nothing to check: give a "
		    "certificate, key, CA, CRL, a server to connect to or a "
		    "server configuration");
		return NULL;
	}
	if (opt->role != MTLS_PURPOSE_ANY && opt->role != MTLS_PURPOSE_SERVER &&
	    opt->role != MTLS_PURPOSE_CLIENT) {
		err_set(err, MTLS_ERR_USAGE, "unknown role %d", (int)opt->role);
		return NULL;
	}
	if (opt->connect != NULL && opt->role == MTLS_PURPOSE_SERVER) {
		err_set(err, MTLS_ERR_USAGE, "connect checks a server as its "
		    "client: the role server does not apply");
		return NULL;
	}
	if (opt->connect != NULL && doctor_parse_target(opt->connect) != 0) {
		err_set(err, MTLS_ERR_USAGE, "%s: not HOST:PORT or [IPv6]:PORT",
		    opt->connect);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	st.opt = opt;
	st.now = opt->now != 0 ? opt->now : time(NULL);
	st.warn_days = opt->expiry_warn_days > 0 ? opt->expiry_warn_days : 30;
	st.role = guess_role(opt);

	doctor_check_local(d, &st);
	if (opt->server_config != NULL)
		doctor_check_server_config(d, &st);
	if (opt->connect != NULL)
		doctor_check_remote(d, &st);
	doctor_state_clear(&st);
	ERR_clear_error();

	if (d->oom) {
		mtls_doctor_free(d);
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	return d;
}

size_t
mtls_doctor_count(const struct mtls_doctor *d)
{
	return d != NULL ? d->n : 0;
}

size_t
mtls_doctor_count_severity(const struct mtls_doctor *d,
    enum mtls_severity sev)
{
	size_t n = 0;

	for (size_t i = 0; d != NULL && i < d->n; i++)
		if (table[d->f[i].code].sev == sev)
			n++;
	return n;
}

const char *
mtls_doctor_code(const struct mtls_doctor *d, size_t i)
{
	return d != NULL && i < d->n ? table[d->f[i].code].code : NULL;
}

enum mtls_severity
mtls_doctor_severity(const struct mtls_doctor *d, size_t i)
{
	return d != NULL && i < d->n ? table[d->f[i].code].sev :
	    MTLS_SEVERITY_OK;
}

const char *
mtls_doctor_subject(const struct mtls_doctor *d, size_t i)
{
	return d != NULL && i < d->n ? d->f[i].subject : NULL;
}

const char *
mtls_doctor_explanation(const struct mtls_doctor *d, size_t i)
{
	return d != NULL && i < d->n ? d->f[i].explanation : NULL;
}

const char *
mtls_doctor_fix(const struct mtls_doctor *d, size_t i)
{
	return d != NULL && i < d->n ? d->f[i].fix : NULL;
}

void
mtls_doctor_free(struct mtls_doctor *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->f[i].subject);
		free(d->f[i].explanation);
		free(d->f[i].fix);
	}
	free(d->f);
	free(d);
}

size_t
mtls_doctor_table_size(void)
{
	return DR_NCODES;
}

int
mtls_doctor_table_entry(size_t i, const char **code, enum mtls_severity *sev,
    const char **slots, const char **explanation, const char **fix)
{
	if (i >= DR_NCODES)
		return -1;
	if (code != NULL)
		*code = table[i].code;
	if (sev != NULL)
		*sev = table[i].sev;
	if (slots != NULL)
		*slots = table[i].slots;
	if (explanation != NULL)
		*explanation = table[i].explanation;
	if (fix != NULL)
		*fix = table[i].fix;
	return 0;
}
