/*
 * reason.c - the one table of refusal reasons (see reason.h): by code,
 * the label, alert, words and fix; by cause, which OpenSSL verify errors
 * lead to which code (with a phrase for those that need no more words);
 * by alert received, what a server's refusal of our certificate means.
 *
 * Which alert OpenSSL 3.0 sends for a verify error is its own fixed table
 * (ssl/statem/statem_lib.c, ssl_x509err2alert); the alert column records
 * it for the reasons a server of ours refuses with.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "core/internal.h"
#include "core/reason.h"

static const struct reason_info reasons[] = {
	{ MTLS_REJECT_NONE, "ok", -1, "not refused", "" },
	{ MTLS_REJECT_NO_CERT, "no_certificate",
	    TLS13_AD_CERTIFICATE_REQUIRED, "no client certificate",
	    "Send a client certificate issued by a CA the server trusts." },
	{ MTLS_REJECT_UNKNOWN_CA, "unknown_ca", TLS1_AD_UNKNOWN_CA,
	    "the chain does not lead to a trusted CA",
	    "Trust the CA that issued the certificate, or send the "
	    "intermediate after the leaf." },
	{ MTLS_REJECT_EXPIRED, "certificate_expired",
	    SSL3_AD_CERTIFICATE_EXPIRED, "certificate expired",
	    "Renew the certificate; if it is current, check the clocks." },
	{ MTLS_REJECT_NOT_YET_VALID, "certificate_not_yet_valid",
	    SSL3_AD_BAD_CERTIFICATE, "certificate not yet valid",
	    "Check the clocks of both machines, or wait for notBefore." },
	{ MTLS_REJECT_REVOKED, "certificate_revoked",
	    SSL3_AD_CERTIFICATE_REVOKED, "certificate revoked",
	    "Issue a new certificate; a revoked one cannot be reinstated." },
	{ MTLS_REJECT_CRL, "crl_unavailable", TLS1_AD_UNKNOWN_CA,
	    "revocation cannot be checked (CRL missing, expired or unusable)",
	    "Publish a fresh CRL from the issuing CA and reload." },
	{ MTLS_REJECT_USAGE, "unsupported_certificate",
	    SSL3_AD_UNSUPPORTED_CERTIFICATE,
	    "certificate not valid for this purpose (extended key usage)",
	    "Issue a certificate of the right kind (clientAuth for a client, "
	    "serverAuth for a server)." },
	{ MTLS_REJECT_RULES, "access_denied", SSL3_AD_HANDSHAKE_FAILURE,
	    "no access rule allows the certificate's identity",
	    "Allow the identity on the server, or use the identity it "
	    "expects." },
	{ MTLS_REJECT_NAME, "name_mismatch", SSL3_AD_BAD_CERTIFICATE,
	    "the server's name is not among its certificate's SANs",
	    "Connect with a name the certificate holds, or reissue it with "
	    "that name as a SAN." },
	{ MTLS_REJECT_BAD_CERT, "bad_certificate", SSL3_AD_BAD_CERTIFICATE,
	    "the certificate cannot be accepted as it is",
	    "Reissue the certificate from a CA that follows RFC 5280." },
	{ MTLS_REJECT_PROTOCOL, "protocol_error", TLS1_AD_DECODE_ERROR,
	    "malformed handshake", "Check that the peer speaks TLS 1.2 or "
	    "1.3." },
	{ MTLS_REJECT_OTHER, "other", SSL3_AD_HANDSHAKE_FAILURE,
	    "refused", "See the reason in words." },
	{ MTLS_REJECT_NOT_TLS, "not_tls", -1, "the peer does not speak TLS",
	    "Connect to the TLS port, or turn TLS on in the peer." },
	{ MTLS_REJECT_VERSION, "protocol_version", TLS1_AD_PROTOCOL_VERSION,
	    "no TLS version in common",
	    "Enable TLS 1.2 or 1.3 on both sides." },
};

/* OpenSSL verify errors, by reason.  A phrase is given where the error
 * alone says what is wrong; expiry, issuers, revocation, CRLs, purpose and
 * names are told by each caller with the dates, files and roles it
 * knows. */
static const struct {
	int err;
	enum mtls_reject_code code;
	const char *phrase;
} causes[] = {
	{ X509_V_ERR_CERT_HAS_EXPIRED, MTLS_REJECT_EXPIRED, NULL },
	{ X509_V_ERR_CERT_NOT_YET_VALID, MTLS_REJECT_NOT_YET_VALID, NULL },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, MTLS_REJECT_UNKNOWN_CA, NULL },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, MTLS_REJECT_UNKNOWN_CA,
	    NULL },
	{ X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, MTLS_REJECT_UNKNOWN_CA,
	    NULL },
	{ X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, MTLS_REJECT_UNKNOWN_CA,
	    NULL },
	{ X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, MTLS_REJECT_UNKNOWN_CA, NULL },
	{ X509_V_ERR_CERT_REVOKED, MTLS_REJECT_REVOKED, NULL },
	{ X509_V_ERR_UNABLE_TO_GET_CRL, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_CRL_HAS_EXPIRED, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_CRL_NOT_YET_VALID, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_CRL_SIGNATURE_FAILURE, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_KEYUSAGE_NO_CRL_SIGN, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_DIFFERENT_CRL_SCOPE, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_CRL_PATH_VALIDATION_ERROR, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD, MTLS_REJECT_CRL, NULL },
	{ X509_V_ERR_INVALID_PURPOSE, MTLS_REJECT_USAGE, NULL },
	{ X509_V_ERR_HOSTNAME_MISMATCH, MTLS_REJECT_NAME, NULL },
	{ X509_V_ERR_IP_ADDRESS_MISMATCH, MTLS_REJECT_NAME, NULL },
	{ X509_V_ERR_EMAIL_MISMATCH, MTLS_REJECT_NAME, NULL },
	/* What the access rules set, see tls_cert_verify_cb(). */
	{ X509_V_ERR_APPLICATION_VERIFICATION, MTLS_REJECT_RULES, NULL },
	{ X509_V_ERR_CERT_SIGNATURE_FAILURE, MTLS_REJECT_BAD_CERT,
	    "its signature does not verify with the key of its issuer" },
	{ X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE, MTLS_REJECT_BAD_CERT,
	    "its signature does not verify with the key of its issuer" },
	{ X509_V_ERR_INVALID_CA, MTLS_REJECT_BAD_CERT,
	    "not a valid CA certificate (basicConstraints CA:TRUE with "
	    "keyCertSign is needed to issue certificates)" },
	{ X509_V_ERR_PATH_LENGTH_EXCEEDED, MTLS_REJECT_BAD_CERT,
	    "the chain is longer than the path length constraint of an "
	    "issuing CA allows" },
	{ X509_V_ERR_KEYUSAGE_NO_CERTSIGN, MTLS_REJECT_BAD_CERT,
	    "its key usage does not allow signing certificates "
	    "(keyCertSign)" },
	{ X509_V_ERR_CERT_CHAIN_TOO_LONG, MTLS_REJECT_BAD_CERT,
	    "the chain is too long" },
	{ X509_V_ERR_EE_KEY_TOO_SMALL, MTLS_REJECT_BAD_CERT,
	    "the key is too small: at least 112-bit security (RSA 2048, EC "
	    "P-256) is required" },
	{ X509_V_ERR_CA_KEY_TOO_SMALL, MTLS_REJECT_BAD_CERT,
	    "the key is too small: at least 112-bit security (RSA 2048, EC "
	    "P-256) is required" },
	{ X509_V_ERR_CA_MD_TOO_WEAK, MTLS_REJECT_BAD_CERT,
	    "the signature digest is too weak: SHA-256 or better is "
	    "required" },
	{ X509_V_ERR_PERMITTED_VIOLATION, MTLS_REJECT_BAD_CERT,
	    "a name is outside the names an issuing CA's name constraints "
	    "permit" },
	{ X509_V_ERR_EXCLUDED_VIOLATION, MTLS_REJECT_BAD_CERT,
	    "a name is among the names an issuing CA's name constraints "
	    "exclude" },
	{ X509_V_ERR_SUBTREE_MINMAX, MTLS_REJECT_BAD_CERT,
	    "its names cannot be checked against an issuing CA's name "
	    "constraints (unsupported form)" },
	{ X509_V_ERR_UNSUPPORTED_NAME_SYNTAX, MTLS_REJECT_BAD_CERT,
	    "its names cannot be checked against an issuing CA's name "
	    "constraints (unsupported form)" },
	{ X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE, MTLS_REJECT_BAD_CERT,
	    "its names cannot be checked against an issuing CA's name "
	    "constraints (unsupported form)" },
	{ X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX, MTLS_REJECT_BAD_CERT,
	    "its names cannot be checked against an issuing CA's name "
	    "constraints (unsupported form)" },
	{ X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, MTLS_REJECT_BAD_CERT,
	    "it has a critical extension that is not understood" },
};

/*
 * What an alert received after we sent our certificate means, and whose
 * side must change (alert names of RFC 8446 section 6.2, as
 * mtls_conn_alert_received() gives them).  %1 in the texts is our
 * certificate's issuer.
 */
static const struct {
	const char *name;
	enum mtls_reject_code code;
	const char *cause;
	const char *fix;
} alerts[] = {
	{ "unknown_ca", MTLS_REJECT_UNKNOWN_CA,
	    "the server does not trust the CA that issued your certificate "
	    "(%1)",
	    "On the server: add that CA's certificate (%1) to its client CA "
	    "bundle (nginx ssl_client_certificate); or use a client "
	    "certificate from a CA the server trusts." },
	{ "certificate_expired", MTLS_REJECT_EXPIRED,
	    "your certificate expired, or is not yet valid by the server's "
	    "clock",
	    "On your side: renew the client certificate; if it is current, "
	    "check the server's clock." },
	{ "certificate_revoked", MTLS_REJECT_REVOKED,
	    "your certificate is on the server's revocation list",
	    "On your side: get a new client certificate; a revoked one cannot "
	    "be reinstated." },
	{ "unsupported_certificate", MTLS_REJECT_USAGE,
	    "your certificate may not be used for client authentication (its "
	    "key usage or extended key usage)",
	    "On your side: issue a client certificate (EKU clientAuth, "
	    "keyUsage digitalSignature)." },
	{ "bad_certificate", MTLS_REJECT_BAD_CERT,
	    "the server could not use your certificate: usually the usage "
	    "(no clientAuth), a missing intermediate, or a malformed "
	    "certificate",
	    "On your side: see the local findings for your certificate; "
	    "send the intermediate after the leaf in the certificate file." },
	{ "certificate_unknown", MTLS_REJECT_OTHER,
	    "the server refused your certificate without a precise reason "
	    "(often its usage or a chain it cannot build)",
	    "Look at the server's log for the reason; check the local "
	    "findings for your certificate." },
	{ "access_denied", MTLS_REJECT_RULES,
	    "the server refused access: no access rule on it allows your "
	    "certificate's identity (GnuTLS servers also send this alert "
	    "for a certificate that did not verify)",
	    "On the server: allow your identity (a rule on its CN, DNS name, "
	    "URI ...), or use the identity it expects." },
	{ "decrypt_error", MTLS_REJECT_BAD_CERT,
	    "the server could not verify your handshake signature: the key "
	    "does not belong to the certificate",
	    "On your side: use the key that matches the certificate (see "
	    "key-mismatch)." },
	{ "handshake_failure", MTLS_REJECT_OTHER,
	    "the server ended the handshake after your certificate (TLS 1.2 "
	    "servers send this alert for any client certificate problem, and "
	    "OpenSSL 3.0 servers, mtls serve among them, when no access rule "
	    "allows a valid certificate)",
	    "Look at the server's log for the reason; if the local findings "
	    "for your certificate are clean, ask the server's operator to "
	    "allow its identity." },
	/* No explanation of its own: the server asked for a certificate
	 * and we sent none (the connection's own facts tell it). */
	{ "certificate_required", MTLS_REJECT_NO_CERT, NULL, NULL },
	/* Not about our certificate: the versions offered. */
	{ "protocol_version", MTLS_REJECT_VERSION, NULL, NULL },
};

/* fmt appended to buf, cut short at len: a truncated reason is still a
 * reason, and names taken from certificates can be long. */
static void MTLS_PRINTF(3, 4)
cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

#define FACT(s) ((s) != NULL ? (s) : "?")

void
reason_verify_words(const struct verify_facts *f, char *buf, size_t len)
{
	const char *what = f->what != NULL ? f->what : "certificate";
	const char *subj = FACT(f->subject);
	const char *anchors = f->anchors != NULL ? f->anchors :
	    "the trusted CAs";
	char where[160] = "";

	if (len == 0)
		return;
	buf[0] = '\0';
	if (f->where != NULL)
		snprintf(where, sizeof(where), " %s", f->where);
	switch (f->err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		cat(buf, len, "%s expired (%s, notAfter %s", what, subj,
		    FACT(f->not_after));
		if (f->expired_ago != NULL)
			cat(buf, len, ", %s ago", f->expired_ago);
		cat(buf, len, ")%s", where);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		cat(buf, len, "%s not yet valid (%s, notBefore %s", what, subj,
		    FACT(f->not_before));
		if (f->starts_in != NULL)
			cat(buf, len, ", starts in %s", f->starts_in);
		cat(buf, len, ")%s", where);
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		cat(buf, len, "unknown CA: issuer %s is not trusted (%s %s)%s",
		    FACT(f->issuer), what, subj, where);
		if (f->depth == 0 && f->untrusted != NULL)
			cat(buf, len, ": pass the intermediate with %s or append "
			    "it to the file, or check that %s is the CA that "
			    "issued it", f->untrusted, anchors);
		else if (f->depth > 0 && f->anchors != NULL)
			cat(buf, len, ": the chain does not lead to a CA in %s",
			    anchors);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		cat(buf, len, "unknown CA: %s %s is self-signed and not in %s",
		    what, subj, anchors);
		break;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		cat(buf, len, "unknown CA: issuer %s is not trusted (a root%s, "
		    "not in %s)", subj, where, anchors);
		break;
	case X509_V_ERR_CERT_REVOKED:
		cat(buf, len, "%s revoked (", what);
		if (f->revoked != NULL)
			cat(buf, len, "%s, ", f->revoked);
		cat(buf, len, "%s", subj);
		if (f->serial != NULL)
			cat(buf, len, ", serial %s", f->serial);
		cat(buf, len, ")%s", where);
		break;
	case X509_V_ERR_INVALID_PURPOSE:
		cat(buf, len, "%s %s %s %s", what, subj, f->depth == 0 ?
		    "is not valid for" : "may not issue certificates for",
		    FACT(f->purpose));
		if (f->usage != NULL)
			cat(buf, len, " (%s)", f->usage);
		cat(buf, len, "%s", where);
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		cat(buf, len, "%s does not match the name %s (it holds %s; the "
		    "CN is not used)", what, FACT(f->name), FACT(f->holds));
		break;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		cat(buf, len, "CRL for %s is missing", FACT(f->issuer));
		if (f->crl_file != NULL)
			cat(buf, len, " from %s", f->crl_file);
		cat(buf, len, " (needed to check %s)", subj);
		break;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		cat(buf, len, "CRL of %s has expired (nextUpdate %s",
		    FACT(f->crl_issuer), FACT(f->crl_next_update));
		if (f->crl_expired_ago != NULL)
			cat(buf, len, ", %s ago", f->crl_expired_ago);
		cat(buf, len, "): revocation of %s cannot be checked", subj);
		break;
	case X509_V_ERR_CRL_NOT_YET_VALID:
		cat(buf, len, "CRL of %s is not yet valid (thisUpdate %s",
		    FACT(f->crl_issuer), FACT(f->crl_this_update));
		if (f->crl_starts_in != NULL)
			cat(buf, len, ", starts in %s", f->crl_starts_in);
		cat(buf, len, "): revocation of %s cannot be checked", subj);
		break;
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
		cat(buf, len, "CRL of %s does not verify with its issuer's key: "
		    "revocation of %s cannot be checked", FACT(f->crl_issuer),
		    subj);
		break;
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
		cat(buf, len, "CRL for %s cannot be used (%s)", subj,
		    FACT(f->words));
		break;
	default:
		cat(buf, len, "%s %s%s: %s", what, subj, where,
		    FACT(f->words));
		break;
	}
}

const struct reason_info *
reason_info(enum mtls_reject_code code)
{
	for (size_t i = 0; i < nitems(reasons); i++)
		if (reasons[i].code == code)
			return &reasons[i];
	return reason_info(MTLS_REJECT_OTHER);
}

const char *
mtls_reject_code_name(enum mtls_reject_code code)
{
	return reason_info(code)->label;
}

enum mtls_reject_code
reason_from_verify_error(int x509_v_err)
{
	for (size_t i = 0; i < nitems(causes); i++)
		if (causes[i].err == x509_v_err)
			return causes[i].code;
	return MTLS_REJECT_OTHER;
}

const char *
reason_verify_phrase(int x509_v_err)
{
	for (size_t i = 0; i < nitems(causes); i++)
		if (causes[i].err == x509_v_err)
			return causes[i].phrase;
	return NULL;
}

int
reason_from_alert(const char *alert, enum mtls_reject_code *code,
    const char **cause, const char **fix)
{
	if (alert == NULL)
		return -1;
	for (size_t i = 0; i < nitems(alerts); i++) {
		if (strcmp(alerts[i].name, alert) != 0)
			continue;
		if (code != NULL)
			*code = alerts[i].code;
		if (cause != NULL)
			*cause = alerts[i].cause;
		if (fix != NULL)
			*fix = alerts[i].fix;
		return 0;
	}
	if (code != NULL)
		*code = MTLS_REJECT_OTHER;
	return -1;
}
