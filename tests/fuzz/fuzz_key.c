/*
 * fuzz_key - private keys as `mtls serve --key`, `mtls cert export` and the
 * library read them: mtls_key_load_mem() on PEM (any block, encrypted or
 * not) and DER, without a passphrase (an encrypted key must be refused
 * before any key derivation runs, so a file cannot make us spend a KDF's
 * time), then the key's description.
 */
#include "fuzz.h"

#include <openssl/err.h>

#include "x509/inspect.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtls_error err;
	struct mtls_key *key;
	char *type = NULL;
	int bits = 0;

	memset(&err, 0, sizeof(err));
	if ((key = mtls_key_load_mem(data, size, NULL, "fuzz", &err)) == NULL) {
		FUZZ_ASSERT(err.msg[0] != '\0');
		FUZZ_ASSERT(err.code == MTLS_ERR_PARSE ||
		    err.code == MTLS_ERR_PASSPHRASE ||
		    err.code == MTLS_ERR_NOMEM);
		return 0;
	}
	FUZZ_ASSERT(key->pkey != NULL);
	if (x509_key_describe(key->pkey, &type, &bits) == 0)
		FUZZ_ASSERT(type != NULL);
	free(type);
	mtls_key_free(key);
	ERR_clear_error();
	return 0;
}
