/*
 * cert_inspect.c - "mtls cert inspect FILE [--json]": what a file holds, in
 * plain words: certificates (each of a chain numbered), a CSR, or CRLs, PEM
 * or DER.  A key, a PKCS#12 bundle or anything else is named in a one-line
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_pki.h"

static const char cmd[] = "mtls cert inspect";

/* Inputs are bounded like the library's (16 MiB). */
#define INSPECT_MAX_INPUT (16u * 1024 * 1024)

static void
usage(void)
{
	printf("usage: %s FILE [--json]\n"
	    "\n"
	    "Shows the certificates (a chain, each numbered), certificate "
	    "signing\n"
	    "request or CRLs in FILE, PEM or DER: names, SANs, validity, "
	    "usages, key,\n"
	    "signature algorithm, SHA-256 fingerprint and key identifiers.  "
	    "FILE '-'\n"
	    "reads standard input.\n"
	    "\n"
	    "  --json          a JSON document with the same facts\n", cmd);
}

/* Reads all of path ('-': stdin) into a heap buffer. */
static char *
read_input(const char *path, size_t *len)
{
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	size_t cap = 65536, n = 0;
	char *buf;

	if (f == NULL) {
		cli_fail("%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(cap)) == NULL) {
		cli_fail("%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= INSPECT_MAX_INPUT) {
				cli_fail("%s: file too large (limit %u bytes)",
				    path, INSPECT_MAX_INPUT);
				goto fail;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				cli_fail("%s: out of memory", path);
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				cli_fail("%s: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
	}
	if (!is_stdin)
		fclose(f);
	*len = n;
	return buf;
fail:
	if (buf != NULL) {
		/* It may have been a key. */
		mtls_cleanse(buf, n);
		free(buf);
	}
	if (!is_stdin)
		fclose(f);
	return NULL;
}

/* Whole days from now to t, rounded down (negative in the past). */
static long long
days_until(time_t t, time_t now)
{
	long long d = (long long)t - (long long)now;

	return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

static const char *
status_word(time_t from, time_t until, time_t now)
{
	if (from != 0 && now < from)
		return "not_yet_valid";
	if (until != 0 && now > until)
		return "expired";
	return "valid";
}

/* The RFC 5280 name of a CRL entry's reason, NULL when it gives none. */
static const char *
reason_name(int r)
{
	return r < 0 ? NULL :
	    mtls_revoke_reason_name((enum mtls_revoke_reason)r);
}

static void
key_words(const char *type, int bits, char *buf, size_t len)
{
	/* "EC P-256" and "Ed25519" say their size; RSA and DSA do not. */
	if (strncmp(type, "RSA", 3) == 0 || strcmp(type, "DSA") == 0 ||
	    (strncmp(type, "EC ", 3) == 0 && strncmp(type, "EC P-", 5) != 0))
		snprintf(buf, len, "%s %d", type, bits);
	else
		snprintf(buf, len, "%s", type);
}

static void
print_sans(const struct mtls_san *sans, size_t n)
{
	printf("  SANs:         ");
	if (n == 0)
		printf("(none)");
	for (size_t i = 0; i < n; i++) {
		/* Another kind of name says what it is in its value. */
		int other = sans[i].type == MTLS_SAN_OTHER;
		printf("%s%s%s%s", i ? ", " : "",
		    other ? "" : mtls_san_type_name(sans[i].type),
		    other ? "" : ":", sans[i].value);
	}
	printf("\n");
}

static void
print_cert_human(const struct mtls_cert_info *ci, size_t i, size_t n,
    time_t now)
{
	char a[32], b[32], words[96], key[96];

	printf("\nCertificate %zu of %zu (%s%s)\n", i + 1, n,
	    i == 0 ? "leaf" : ci->is_ca ? "CA" : "not a CA",
	    ci->self_signed ? ", self-signed" : "");
	printf("  Subject:      %s\n", *ci->subject ? ci->subject : "(empty)");
	printf("  Issuer:       %s\n", *ci->issuer ? ci->issuer : "(empty)");
	printf("  Serial:       %s\n", ci->serial);
	printf("  Version:      %d\n", ci->version);
	cli_datetime(ci->not_before, a, sizeof(a));
	cli_datetime(ci->not_after, b, sizeof(b));
	mtls_validity_words(ci->not_before, ci->not_after, now, words,
	    sizeof(words));
	printf("  Validity:     %s to %s (%s)\n", a, b, words);
	print_sans(ci->sans, ci->nsans);
	printf("  Key usage:    %s\n", ci->key_usage ? ci->key_usage :
	    "(absent)");
	printf("  Ext. key usage: %s\n", ci->ext_key_usage ?
	    ci->ext_key_usage : "(absent: any purpose)");
	if (!ci->is_ca)
		printf("  CA:           no\n");
	else if (ci->path_len < 0)
		printf("  CA:           yes, no path length limit\n");
	else
		printf("  CA:           yes, path length %d\n", ci->path_len);
	key_words(ci->key_type, ci->key_bits, key, sizeof(key));
	printf("  Key:          %s\n", key);
	printf("  Signature:    %s\n", ci->signature_algorithm);
	printf("  SHA-256:      %s\n", ci->fingerprint_sha256);
	printf("  SKI:          %s\n", ci->ski ? ci->ski : "(absent)");
	printf("  AKI:          %s\n", ci->aki ? ci->aki : "(absent)");
}

static void
print_cert_json(const struct mtls_cert_info *ci, size_t i, time_t now)
{
	char key[96];

	printf("%s\n    {\"index\": %zu, \"subject\": ", i ? "," : "", i + 1);
	json_str(stdout, ci->subject);
	printf(", \"issuer\": ");
	json_str(stdout, ci->issuer);
	printf(", \"common_name\": ");
	json_str(stdout, ci->common_name);
	printf(", \"serial\": ");
	json_str(stdout, ci->serial);
	printf(", \"version\": %d, ", ci->version);
	printf("\"not_before\": ");
	cli_json_time(stdout, ci->not_before);
	printf(", \"not_after\": ");
	cli_json_time(stdout, ci->not_after);
	printf(", \"days_left\": %lld, \"status\": \"%s\", \"sans\": ",
	    days_until(ci->not_after, now),
	    status_word(ci->not_before, ci->not_after, now));
	cli_json_sans(stdout, ci->sans, ci->nsans);
	printf(", \"key_usage\": ");
	cli_json_list(stdout, ci->key_usage);
	printf(", \"ext_key_usage\": ");
	cli_json_list(stdout, ci->ext_key_usage);
	printf(", \"is_ca\": %s, \"path_len\": ", ci->is_ca ? "true" : "false");
	if (ci->is_ca && ci->path_len >= 0)
		printf("%d", ci->path_len);
	else
		printf("null");
	key_words(ci->key_type, ci->key_bits, key, sizeof(key));
	printf(", \"key\": ");
	json_str(stdout, key);
	printf(", \"key_type\": ");
	json_str(stdout, ci->key_type);
	printf(", \"key_bits\": %d, \"signature_algorithm\": ", ci->key_bits);
	json_str(stdout, ci->signature_algorithm);
	printf(", \"fingerprint_sha256\": ");
	json_str(stdout, ci->fingerprint_sha256);
	printf(", \"ski\": ");
	json_str(stdout, ci->ski);
	printf(", \"aki\": ");
	json_str(stdout, ci->aki);
	printf(", \"self_signed\": %s}", ci->self_signed ? "true" : "false");
}

static int
inspect_certs(const char *path, const char *buf, size_t len,
    const struct mtls_file_contents *c, int json, time_t now)
{
	struct mtls_error err = { 0 };
	struct mtls_cert *cert = mtls_cert_load_mem(buf, len, path, &err);
	int ret = EXIT_FAIL;

	if (cert == NULL)
		return cli_fail_err(&err);
	size_t n = mtls_cert_count(cert);
	if (json) {
		printf("{\"file\": ");
		json_str(stdout, path);
		printf(", \"kind\": \"certificates\", \"format\": \"%s\", "
		    "\"count\": %zu, \"also_holds_private_key\": %s, "
		    "\"certificates\": [", c->der ? "DER" : "PEM", n,
		    c->nkeys > 0 ? "true" : "false");
	} else {
		printf("%s: %zu certificate%s (%s)%s\n", path, n,
		    n == 1 ? "" : "s", c->der ? "DER" : "PEM",
		    c->nkeys > 0 ? "; the file also holds a private key" : "");
	}
	for (size_t i = 0; i < n; i++) {
		struct mtls_cert_info ci;
		if (mtls_cert_info(cert, i, &ci, &err) != 0) {
			if (json)
				fflush(stdout);
			cli_fail("%s: %s", path, err.msg);
			goto out;
		}
		if (json)
			print_cert_json(&ci, i, now);
		else
			print_cert_human(&ci, i, n, now);
		mtls_cert_info_clear(&ci);
	}
	if (json)
		printf("\n  ]}\n");
	ret = EXIT_OK;
out:
	mtls_cert_free(cert);
	return ret;
}

static int
inspect_csr(const char *path, const char *buf, size_t len,
    const struct mtls_file_contents *c, int json)
{
	struct mtls_error err = { 0 };
	struct mtls_csr_info ci;
	struct mtls_csr *csr = mtls_csr_load_mem(buf, len, path, &err);
	char key[96];

	if (csr == NULL)
		return cli_fail_err(&err);
	if (mtls_csr_info(csr, &ci, &err) != 0) {
		mtls_csr_free(csr);
		return cli_fail("%s: %s", path, err.msg);
	}
	key_words(ci.key_type, ci.key_bits, key, sizeof(key));
	if (json) {
		printf("{\"file\": ");
		json_str(stdout, path);
		printf(", \"kind\": \"csr\", \"format\": \"%s\", \"csr\": "
		    "{\"subject\": ", c->der ? "DER" : "PEM");
		json_str(stdout, ci.subject);
		printf(", \"common_name\": ");
		json_str(stdout, ci.common_name);
		printf(", \"sans\": ");
		cli_json_sans(stdout, ci.sans, ci.nsans);
		printf(", \"key_usage\": ");
		cli_json_list(stdout, ci.key_usage);
		printf(", \"ext_key_usage\": ");
		cli_json_list(stdout, ci.ext_key_usage);
		printf(", \"basic_constraints\": ");
		if (!ci.has_basic_constraints)
			printf("null");
		else if (ci.is_ca && ci.path_len >= 0)
			printf("{\"ca\": true, \"path_len\": %d}", ci.path_len);
		else
			printf("{\"ca\": %s, \"path_len\": null}",
			    ci.is_ca ? "true" : "false");
		printf(", \"other_extensions\": [");
		for (size_t i = 0; i < ci.nother_extensions; i++) {
			if (i)
				printf(", ");
			json_str(stdout, ci.other_extensions[i]);
		}
		printf("], \"key\": ");
		json_str(stdout, key);
		printf(", \"key_type\": ");
		json_str(stdout, ci.key_type);
		printf(", \"key_bits\": %d, \"signature_algorithm\": ",
		    ci.key_bits);
		json_str(stdout, ci.signature_algorithm);
		printf(", \"signature_valid\": %s}}\n",
		    ci.signature_ok ? "true" : "false");
	} else {
		printf("%s: certificate signing request (%s)\n\n", path,
		    c->der ? "DER" : "PEM");
		printf("  Subject:      %s\n", *ci.subject ? ci.subject :
		    "(empty)");
		print_sans(ci.sans, ci.nsans);
		printf("  Key usage:    %s\n", ci.key_usage ? ci.key_usage :
		    "(not requested)");
		printf("  Ext. key usage: %s\n", ci.ext_key_usage ?
		    ci.ext_key_usage : "(not requested)");
		if (!ci.has_basic_constraints)
			printf("  CA:           (not requested)\n");
		else if (!ci.is_ca)
			printf("  CA:           no (requested)\n");
		else
			printf("  CA:           yes (requested; a CA signing "
			    "this should refuse or ignore it)\n");
		for (size_t i = 0; i < ci.nother_extensions; i++)
			printf("  Other requested extension: %s\n",
			    ci.other_extensions[i]);
		printf("  Key:          %s\n", key);
		printf("  Signature:    %s, %s\n", ci.signature_algorithm,
		    ci.signature_ok ? "verifies with the request's key" :
		    "DOES NOT VERIFY with the request's key");
	}
	mtls_csr_info_clear(&ci);
	mtls_csr_free(csr);
	return EXIT_OK;
}

static void
print_crl_human(const struct mtls_crl_info *ci, size_t i, size_t n,
    time_t now)
{
	char a[32], b[32], words[96];

	printf("\nCRL %zu of %zu\n", i + 1, n);
	printf("  Issuer:       %s\n", *ci->issuer ? ci->issuer : "(empty)");
	printf("  Version:      %d\n", ci->version);
	cli_datetime(ci->this_update, a, sizeof(a));
	printf("  This update:  %s\n", a);
	if (ci->next_update != 0) {
		cli_datetime(ci->next_update, b, sizeof(b));
		mtls_validity_words(ci->this_update, ci->next_update, now, words,
		    sizeof(words));
		printf("  Next update:  %s (%s)\n", b, words);
	} else {
		printf("  Next update:  (absent)\n");
	}
	printf("  CRL number:   %s\n", ci->crl_number ? ci->crl_number :
	    "(absent)");
	printf("  AKI:          %s\n", ci->aki ? ci->aki : "(absent)");
	printf("  Signature:    %s\n", ci->signature_algorithm);
	printf("  Revoked:      %zu certificate%s\n", ci->nentries,
	    ci->nentries == 1 ? "" : "s");
	for (size_t k = 0; k < ci->nentries; k++) {
		const struct mtls_crl_entry *e = &ci->entries[k];
		const char *why = reason_name(e->reason);
		cli_datetime(e->revoked_at, a, sizeof(a));
		printf("    serial %s  revoked %s  %s\n", e->serial, a,
		    why ? why : "(no reason given)");
	}
}

static void
print_crl_json(const struct mtls_crl_info *ci, size_t i, time_t now)
{
	printf("%s\n    {\"index\": %zu, \"issuer\": ", i ? "," : "", i + 1);
	json_str(stdout, ci->issuer);
	printf(", \"version\": %d, ", ci->version);
	printf("\"this_update\": ");
	cli_json_time(stdout, ci->this_update);
	printf(", \"next_update\": ");
	cli_json_time(stdout, ci->next_update);
	printf(", \"days_left\": ");
	if (ci->next_update != 0)
		printf("%lld", days_until(ci->next_update, now));
	else
		printf("null");
	printf(", \"status\": \"%s\", \"crl_number\": ",
	    status_word(ci->this_update, ci->next_update, now));
	json_str(stdout, ci->crl_number);
	printf(", \"aki\": ");
	json_str(stdout, ci->aki);
	printf(", \"signature_algorithm\": ");
	json_str(stdout, ci->signature_algorithm);
	printf(", \"revoked\": [");
	for (size_t k = 0; k < ci->nentries; k++) {
		const struct mtls_crl_entry *e = &ci->entries[k];
		printf("%s{\"serial\": ", k ? ", " : "");
		json_str(stdout, e->serial);
		printf(", \"revoked_at\": ");
		cli_json_time(stdout, e->revoked_at);
		printf(", \"reason\": ");
		json_str(stdout, reason_name(e->reason));
		printf("}");
	}
	printf("]}");
}

static int
inspect_crls(const char *path, const char *buf, size_t len,
    const struct mtls_file_contents *c, int json, time_t now)
{
	struct mtls_error err = { 0 };
	struct mtls_crl *crl = mtls_crl_load_mem(buf, len, path, &err);
	int ret = EXIT_FAIL;

	if (crl == NULL)
		return cli_fail_err(&err);
	size_t n = mtls_crl_count(crl);
	if (json) {
		printf("{\"file\": ");
		json_str(stdout, path);
		printf(", \"kind\": \"crl\", \"format\": \"%s\", \"count\": "
		    "%zu, \"crls\": [", c->der ? "DER" : "PEM", n);
	} else {
		printf("%s: %zu certificate revocation list%s (%s)\n", path, n,
		    n == 1 ? "" : "s", c->der ? "DER" : "PEM");
	}
	for (size_t i = 0; i < n; i++) {
		struct mtls_crl_info ci;
		if (mtls_crl_info(crl, i, &ci, &err) != 0) {
			fflush(stdout);
			cli_fail("%s: %s", path, err.msg);
			goto out;
		}
		if (json)
			print_crl_json(&ci, i, now);
		else
			print_crl_human(&ci, i, n, now);
		mtls_crl_info_clear(&ci);
	}
	if (json)
		printf("\n  ]}\n");
	ret = EXIT_OK;
out:
	mtls_crl_free(crl);
	return ret;
}

int
cmd_cert_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_file_contents c;
	struct mtls_error err = { 0 };
	int json = 0, ch, ret = EXIT_FAIL;
	char *buf = NULL;
	size_t len = 0;

	cli_getopt_reset();
	/* '+' is not used: "FILE --json" and "--json FILE" both work. */
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_getopt_fail(cmd, ch, argv);
		}
	}
	if (optind >= argc)
		return cli_usage(cmd, "a FILE to inspect is required");
	if (optind + 1 < argc)
		return cli_usage(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
	const char *path = argv[optind];
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;

	if ((buf = read_input(path, &len)) == NULL)
		return EXIT_FAIL;
	if (mtls_mem_identify(buf, len, name, &c, &err) != 0) {
		ret = cli_fail_err(&err);
		goto out;
	}
	time_t now = time(NULL);
	if (c.ncerts > 0)
		ret = inspect_certs(name, buf, len, &c, json, now);
	else if (c.ncsrs > 0)
		ret = inspect_csr(name, buf, len, &c, json);
	else if (c.ncrls > 0)
		ret = inspect_crls(name, buf, len, &c, json, now);
	else if (c.first != MTLS_OBJECT_NONE)
		ret = cli_fail("%s: this is %s, not a certificate, CSR or CRL",
		    name, mtls_object_kind_name(c.first));
	else if (len == 0)
		ret = cli_fail("%s: the file is empty", name);
	else
		ret = cli_fail("%s: not a certificate, CSR or CRL (neither "
		    "PEM nor DER)", name);
out:
	mtls_cleanse(buf, len);
	free(buf);
	return ret;
}
