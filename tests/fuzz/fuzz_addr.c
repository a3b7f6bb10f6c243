/*
 * fuzz_addr - the address forms of the command line (src/proxy/addr.c):
 * HOST:PORT, [IPv6]:PORT, :PORT and unix:/path, as --listen, --backend,
 * --metrics and `mtls tunnel --connect` take them, and the loopback rule
 * that keeps plaintext off the network.
 *
 * Name lookups are kept off the network: getaddrinfo() is replaced here by
 * one that resolves "localhost" (to 127.0.0.1 and ::1) and numeric hosts
 * only.  Properties: never more addresses than asked, only the families a
 * flag allows, a backend accepted without --unsafe-backend resolves to
 * loopback or a unix socket only, and every address formats within its
 * buffer.
 */
#include "fuzz.h"

#include <dlfcn.h>
#include <netdb.h>

#include "proxy_int.h"

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

int getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	static gai_fn real;
	struct addrinfo h;

	if (real == NULL && (real = (gai_fn)dlsym(RTLD_NEXT,
	    "getaddrinfo")) == NULL)
		abort();
	memset(&h, 0, sizeof(h));
	if (hints != NULL)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	if (node != NULL && strcmp(node, "localhost") == 0) {
		h.ai_family = AF_UNSPEC;
		/* Both loopback forms, as /etc/hosts has them. */
		struct addrinfo *a = NULL, *b = NULL;
		if (real("127.0.0.1", service, &h, &a) != 0)
			return EAI_NONAME;
		if (real("::1", service, &h, &b) == 0) {
			struct addrinfo *t = a;
			while (t->ai_next != NULL)
				t = t->ai_next;
			t->ai_next = b;
		}
		*res = a;
		return 0;
	}
	return real(node, service, &h, res);
}

static void
check_formats(const struct proxy_addr *a, int n)
{
	char s[ADDR_STRLEN];

	for (int i = 0; i < n; i++) {
		FUZZ_ASSERT(a[i].len <= sizeof(a[i].u));
		memset(s, 'x', sizeof(s));
		addr_format(&a[i].u.sa, a[i].len, s, sizeof(s));
		FUZZ_ASSERT(memchr(s, '\0', sizeof(s)) != NULL);
		(void)addr_is_local(&a[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_addr a[ADDR_MAX];
	char err[512], *s;
	int flags, n;
	size_t max;

	if (size < 1 || size > 1024)
		return 0;
	flags = data[0] & (ADDR_LISTEN | ADDR_UNIX);
	max = (size_t)(data[0] >> 4) % (ADDR_MAX + 1);
	if ((s = malloc(size)) == NULL)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	n = addr_parse(s, flags, a, max, err, sizeof(err));
	if (n < 0) {
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		FUZZ_ASSERT((size_t)n <= max);
		check_formats(a, n);
		for (int i = 0; i < n; i++)
			FUZZ_ASSERT(a[i].u.sa.sa_family != AF_UNIX ||
			    (flags & ADDR_UNIX));
	}

	(void)proxy_check_listen(s, err, sizeof(err));
	if (proxy_check_backend(s, 0, err, sizeof(err)) == 0) {
		n = addr_parse(s, ADDR_UNIX, a, ADDR_MAX, err, sizeof(err));
		FUZZ_ASSERT(n > 0);
		for (int i = 0; i < n; i++)
			FUZZ_ASSERT(addr_is_local(&a[i]));
	}
	free(s);
	return 0;
}
