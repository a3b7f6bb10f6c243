/*
 * error.c - the error table, and the one place OpenSSL's error queue is
 * turned into an mtls error message (with OpenSSL's reason kept).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "core/internal.h"

static const struct {
	enum mtls_errcode code;
	const char *text;
} errtab[] = {
	{ MTLS_OK, "success" },
	{ MTLS_ERR_USAGE, "invalid argument" },
	{ MTLS_ERR_NOMEM, "out of memory" },
	{ MTLS_ERR_IO, "input/output error" },
	{ MTLS_ERR_EXISTS, "file already exists" },
	{ MTLS_ERR_PARSE, "malformed input" },
	{ MTLS_ERR_PASSPHRASE, "missing or wrong passphrase" },
	{ MTLS_ERR_KEY_MISMATCH, "key does not match certificate" },
	{ MTLS_ERR_POLICY, "refused by policy" },
	{ MTLS_ERR_VERIFY, "certificate verification failed" },
	{ MTLS_ERR_DB, "CA inventory error" },
	{ MTLS_ERR_NOT_FOUND, "not found" },
	{ MTLS_ERR_CRYPTO, "cryptographic operation failed" },
	{ MTLS_ERR_TLS, "TLS connection failed" },
};

const char *
mtls_errcode_text(enum mtls_errcode code)
{
	for (size_t i = 0; i < nitems(errtab); i++)
		if (errtab[i].code == code)
			return errtab[i].text;
	return "unknown error";
}

const char *
err_ssl_reason(char *buf, size_t len)
{
	unsigned long e, last = 0;

	/* The newest entry is the most specific one in practice for decoders
	 * ("bad decrypt", "unsupported"); keep it and drain the rest. */
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return NULL;
	const char *reason = ERR_reason_error_string(last);
	if (reason != NULL)
		snprintf(buf, len, "%s", reason);
	else
		snprintf(buf, len, "OpenSSL error %lx", last);
	return buf;
}

int
err_vset(struct mtls_error *err, enum mtls_errcode code, int with_ssl,
    const char *fmt, va_list ap)
{
	char reason[256];
	const char *r = with_ssl ? err_ssl_reason(reason, sizeof(reason)) : NULL;

	if (err == NULL)
		return -1;
	err->code = code;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		err->msg[0] = '\0';
	size_t used = strlen(err->msg);
	if (r != NULL && used < sizeof(err->msg))
		snprintf(err->msg + used, sizeof(err->msg) - used, " (%s)", r);
	return -1;
}

int
err_set(struct mtls_error *err, enum mtls_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_set_ssl(struct mtls_error *err, enum mtls_errcode code, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, 1, fmt, ap);
	va_end(ap);
	return -1;
}

void
err_clear(struct mtls_error *err)
{
	if (err == NULL)
		return;
	err->code = MTLS_OK;
	err->msg[0] = '\0';
}

const char *
mtls_version(void)
{
	return MTLS_VERSION_STRING;
}
