/*
 * fuzz_inspect - the inspection reader (src/lib/x509/inspect.c): every object of
 * a PEM or DER input, as `mtls cert inspect`, `mtls doctor` and the
 * verification code read them, then the facts of each certificate, CSR and
 * CRL found, as inspect prints them.
 */
#include "fuzz.h"

#include "x509/inspect.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x509_objects o;
	struct mtls_file_contents c;
	struct mtls_error err;

	memset(&o, 0, sizeof(o));
	if (x509_objects_read(data, size, "fuzz", &o, &err) != 0) {
		FUZZ_ASSERT(err.msg[0] != '\0');
		FUZZ_ASSERT(mtls_mem_identify(data, size, "fuzz", &c, &err) != 0);
		return 0;
	}
	/* The identification is the same reading. */
	FUZZ_ASSERT(mtls_mem_identify(data, size, "fuzz", &c, &err) == 0);
	FUZZ_ASSERT(memcmp(&c, &o.c, sizeof(c)) == 0);
	FUZZ_ASSERT(o.c.ncerts == (size_t)(o.certs ?
	    sk_X509_num(o.certs) : 0));
	FUZZ_ASSERT(o.c.ncerts + o.c.ncsrs + o.c.ncrls <= X509_OBJECTS_MAX);

	if (o.certs != NULL) {
		struct mtls_cert cert = { o.certs };
		for (int i = 0; i < sk_X509_num(o.certs) && i < 16; i++) {
			struct mtls_cert_info info;
			memset(&info, 0, sizeof(info));
			if (mtls_cert_info(&cert, (size_t)i, &info, &err) == 0)
				FUZZ_ASSERT(info.subject != NULL &&
				    info.serial != NULL);
			mtls_cert_info_clear(&info);
			free(x509_sans_line(sk_X509_value(o.certs, i)));
		}
	}
	if (o.csr != NULL) {
		struct mtls_csr csr = { o.csr };
		struct mtls_csr_info info;
		memset(&info, 0, sizeof(info));
		(void)mtls_csr_info(&csr, &info, &err);
		mtls_csr_info_clear(&info);
	}
	if (o.crls != NULL) {
		struct mtls_crl crl = { o.crls };
		for (int i = 0; i < sk_X509_CRL_num(o.crls) && i < 16; i++) {
			struct mtls_crl_info info;
			memset(&info, 0, sizeof(info));
			(void)mtls_crl_info(&crl, (size_t)i, &info, &err);
			mtls_crl_info_clear(&info);
		}
	}
	x509_objects_clear(&o);
	return 0;
}
