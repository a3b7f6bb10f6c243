/*
 * cert_verify.c - "mtls cert verify": verifies a certificate (and its chain)
 * against --ca only, strictly, for a purpose and a name, at a time, with a
 * CRL; says OK with the chain, or in one line which certificate failed and
 * why.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_pki.h"

static const char cmd[] = "mtls cert verify";

static void
usage(void)
{
	printf("usage: %s --ca FILE [--untrusted FILE] [--crl FILE]\n"
	    "           [--purpose server|client] [--name HOST] [--at RFC3339]\n"
	    "           [--json] FILE\n"
	    "\n"
	    "Verifies the first certificate of FILE; the other certificates "
	    "of FILE\n"
	    "count as untrusted intermediates.  Only --ca is trusted (never "
	    "the system\n"
	    "store).  Strict RFC 5280 checks; a name is matched against the "
	    "SANs only\n"
	    "(never the CN) and partial wildcards (f*.example.com) are "
	    "refused.\n"
	    "\n"
	    "  --ca FILE          the trusted CA certificate(s)\n"
	    "  --untrusted FILE   intermediate CA certificates\n"
	    "  --crl FILE         CRL(s): the leaf's revocation is checked "
	    "(and every\n"
	    "                     certificate's when FILE has a CRL from "
	    "each CA)\n"
	    "  --purpose P        server or client: EKU serverAuth / "
	    "clientAuth\n"
	    "  --name HOST        a DNS name or IP address the certificate "
	    "must hold\n"
	    "  --at TIME          verify at TIME (RFC 3339, e.g. "
	    "2030-01-01T00:00:00Z)\n"
	    "  --json             the verdict as one JSON object: ok, error "
	    "and the chain\n"
	    "                     (exit status as without it)\n", cmd);
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

/* RFC 3339 section 5.6 date-time: 2025-01-01T00:00:00[.frac](Z|+hh:mm). */
static int
parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;

	memset(&tm, 0, sizeof(tm));
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) ||
	    (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second: its last one */
	time_t t = timegm(&tm);
	/* timegm normalizes 2025-02-31 to March: refuse such dates. */
	struct tm back;
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL ||
	    back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;
	t -= (time_t)sign * (oh * 3600 + om * 60);
	if (t <= 0)
		return -1;
	*out = t;
	return 0;
}

/* "CN" of certificate i of chain, or its whole subject. */
static void
chain_names(const struct mtls_cert *chain)
{
	struct mtls_error err = { 0 };
	size_t n = mtls_cert_count(chain);

	for (size_t i = 0; i < n; i++) {
		struct mtls_cert_info ci;
		const char *s = "?";
		int have = mtls_cert_info(chain, i, &ci, &err) == 0;
		if (have)
			s = ci.common_name ? ci.common_name :
			    *ci.subject ? ci.subject : "(empty subject)";
		printf("%s%s", i ? " -> " : "", s);
		if (have)
			mtls_cert_info_clear(&ci);
	}
}

/* The verdict as JSON (mtls(1), JSON OUTPUT): the chain built on success,
 * the one-line reason on failure. */
static void
print_json(const char *path, const struct mtls_cert *chain, const char *why)
{
	struct mtls_error err = { 0 };
	size_t n = chain != NULL ? mtls_cert_count(chain) : 0;

	printf("{\"file\": ");
	json_str(stdout, path);
	printf(", \"ok\": %s, \"error\": ", why == NULL ? "true" : "false");
	json_str(stdout, why);
	printf(", \"chain\": [");
	for (size_t i = 0; i < n; i++) {
		struct mtls_cert_info ci;

		if (mtls_cert_info(chain, i, &ci, &err) != 0)
			continue;
		printf("%s\n  {\"subject\": ", i ? "," : "");
		json_str(stdout, ci.subject);
		printf(", \"issuer\": ");
		json_str(stdout, ci.issuer);
		printf(", \"common_name\": ");
		json_str(stdout, ci.common_name);
		printf(", \"serial\": ");
		json_str(stdout, ci.serial);
		printf(", \"not_before\": ");
		cli_json_time(stdout, ci.not_before);
		printf(", \"not_after\": ");
		cli_json_time(stdout, ci.not_after);
		printf(", \"sans\": ");
		cli_json_sans(stdout, ci.sans, ci.nsans);
		printf("}");
		mtls_cert_info_clear(&ci);
	}
	printf("%s]}\n", n ? "\n" : "");
}

int
cmd_cert_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		{ "untrusted", required_argument, NULL, 'u' },
		{ "crl", required_argument, NULL, 'r' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* The library's messages name the inputs by our options. */
	struct mtls_verify_options vo = { .ca_label = "--ca",
	    .untrusted_label = "--untrusted" };
	struct mtls_error err = { 0 };
	struct mtls_cert *cert = NULL, *chain = NULL;
	int c, json = 0, ret = EXIT_FAIL;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			vo.ca_file = optarg;
			break;
		case 'u':
			vo.untrusted_file = optarg;
			break;
		case 'r':
			vo.crl_file = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "server") == 0)
				vo.purpose = MTLS_PURPOSE_SERVER;
			else if (strcmp(optarg, "client") == 0)
				vo.purpose = MTLS_PURPOSE_CLIENT;
			else
				return cli_usage(cmd, "--purpose: '%s' is not "
				    "server or client", optarg);
			break;
		case 'n':
			if (*optarg == '\0')
				return cli_usage(cmd, "--name: empty name");
			vo.name = optarg;
			break;
		case 'a':
			if (parse_rfc3339(optarg, &vo.at) != 0)
				return cli_usage(cmd, "--at: '%s' is not an RFC "
				    "3339 time such as 2030-01-01T00:00:00Z",
				    optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_getopt_fail(cmd, c, argv);
		}
	}
	if (vo.ca_file == NULL)
		return cli_usage(cmd, "--ca is required (the system store "
		    "is never used)");
	if (optind >= argc)
		return cli_usage(cmd, "a certificate FILE to verify is "
		    "required");
	if (cli_ca_file_check(vo.ca_file) != 0)
		return EXIT_FAIL;
	if (optind + 1 < argc)
		return cli_usage(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
	const char *path = argv[optind];

	if ((cert = mtls_cert_load_file(path, &err)) == NULL) {
		struct mtls_file_contents fc;
		struct mtls_error ierr = { 0 };
		/* Say what the file is when it holds something else. */
		if (err.code == MTLS_ERR_PARSE &&
		    mtls_file_identify(path, &fc, &ierr) == 0 &&
		    fc.ncerts == 0 && fc.first != MTLS_OBJECT_NONE)
			return cli_fail("%s: this is %s, not a certificate",
			    path, mtls_object_kind_name(fc.first));
		return cli_fail_err(&err);
	}
	if (mtls_verify_cert_chain(cert, &vo, &chain, &err) != 0) {
		if (err.code == MTLS_ERR_VERIFY && json)
			print_json(path, NULL, err.msg);
		if (err.code == MTLS_ERR_VERIFY)
			ret = cli_fail("%s: %s", path, err.msg);
		else if (err.code == MTLS_ERR_USAGE)
			ret = cli_usage(cmd, "%s", err.msg);
		else
			ret = cli_fail_err(&err);
		goto out;
	}
	if (json) {
		print_json(path, chain, NULL);
	} else {
		printf("%s: OK (chain: ", path);
		chain_names(chain);
		printf(")\n");
	}
	ret = EXIT_OK;
out:
	mtls_cert_free(chain);
	mtls_cert_free(cert);
	return ret;
}
