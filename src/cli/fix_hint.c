/*
 * fix_hint.c - the mtls commands and options that carry out a fix.  The
 * library's fixes (doctor findings, refusal reasons) say what to do in
 * words, for any program that uses it; this table, keyed by the finding's
 * or the reason's code, adds how to do it with this command line, as one
 * sentence after the fix.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *code;
	const char *hint;
} doctor_hints[] = {
	{ "file-missing", "With mtls: mtls init, mtls cert issue." },
	{ "ca-name-clash", "With mtls: mtls ca init --name NAME." },
	{ "leaf-self-signed", "With mtls: mtls cert issue --ca DIR ..." },
	{ "leaf-is-ca", "With mtls: mtls cert issue --ca DIR --server or "
	    "--client ..." },
	{ "cert-expired", "With mtls: mtls cert issue." },
	{ "cert-expires-soon", "With mtls: mtls cert issue, from a cron job; "
	    "mtls renew for an EST enrolment." },
	{ "usage-no-digitalsignature", "mtls cert issue sets it." },
	{ "usage-no-clientauth", "With mtls: mtls cert issue --client." },
	{ "usage-no-serverauth", "With mtls: mtls cert issue --server." },
	{ "name-not-in-san", "With mtls: mtls cert issue --dns NAME, or --ip "
	    "ADDRESS for an address." },
	{ "cn-without-san", "With mtls: mtls cert issue --dns NAME --ip "
	    "ADDRESS." },
	{ "crl-expired", "With mtls: mtls ca crl --ca DIR --out FILE." },
	{ "crl-wrong-issuer", "With mtls: mtls ca crl --ca DIR." },
	{ "conf-no-revocation", "With mtls: mtls ca crl --ca DIR --out FILE, "
	    "for each CA." },
	{ "conf-crl-missing-for-ca", "With mtls: mtls ca crl --ca DIR --out "
	    "FILE." },
	{ "server-cert-untrusted", "Here: --ca FILE." },
	{ "server-name-mismatch", "Here: --servername NAME; with mtls: mtls "
	    "cert issue --dns NAME or --ip ADDRESS." },
	{ "server-chain-missing", "With mtls serve: --cert takes the leaf "
	    "then the intermediates." },
	{ "client-cert-missing", "Here: --cert client.crt --key client.key." },
	{ "client-cert-rejected", "With mtls: mtls serve --ca FILE trusts a "
	    "client CA, --allow-cn, --allow-dns, --allow-uri ... allow an "
	    "identity; mtls cert issue --client issues a client "
	    "certificate." },
};

static const struct {
	enum mtls_reject_code code;
	const char *hint;
} reject_hints[] = {
	{ MTLS_REJECT_UNKNOWN_CA, "With mtls serve: --ca FILE." },
	{ MTLS_REJECT_USAGE, "With mtls: mtls cert issue --client." },
	{ MTLS_REJECT_RULES, "With mtls serve: --allow-cn, --allow-dns, "
	    "--allow-uri ..." },
};

const char *
cli_doctor_hint(const char *code)
{
	for (size_t i = 0; code != NULL && i < sizeof(doctor_hints) /
	    sizeof(doctor_hints[0]); i++)
		if (strcmp(doctor_hints[i].code, code) == 0)
			return doctor_hints[i].hint;
	return NULL;
}

const char *
cli_reject_hint(enum mtls_reject_code code)
{
	for (size_t i = 0; i < sizeof(reject_hints) / sizeof(reject_hints[0]);
	    i++)
		if (reject_hints[i].code == code)
			return reject_hints[i].hint;
	return NULL;
}

const char *
cli_fix_hinted(const char *fix, const char *hint, char *buf, size_t len)
{
	if (hint == NULL || fix == NULL)
		return fix;
	snprintf(buf, len, "%s %s", fix, hint);
	return buf;
}
