/*
 * addr.c - the address forms of the command-line contract: HOST:PORT,
 * [IPv6]:PORT, :PORT (every address, for a listener) and unix:/path (for a
 * backend), and the loopback test that keeps plaintext off the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_tools.h"
#include "proxy_int.h"

static int
addr_unix(const char *path, struct proxy_addr *out, char *err, size_t errlen)
{
	size_t n = strlen(path);

	memset(out, 0, sizeof(*out));
	if (n == 0 || path[0] != '/') {
		snprintf(err, errlen, "unix:%s: the path must be absolute", path);
		return -1;
	}
	if (n >= sizeof(out->u.un.sun_path)) {
		snprintf(err, errlen, "unix:%s: the path is longer than %zu "
		    "bytes", path, sizeof(out->u.un.sun_path) - 1);
		return -1;
	}
	out->u.un.sun_family = AF_UNIX;
	memcpy(out->u.un.sun_path, path, n + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 1;
}

int
addr_parse(const char *s, int flags, struct proxy_addr *out, size_t max,
    char *err, size_t errlen)
{
	char host[256], portstr[8];
	struct addrinfo hints, *res = NULL, *ai;
	unsigned port;
	size_t n = 0;
	int rc;

	if (max == 0)
		return 0;
	if (strncmp(s, "unix:", 5) == 0) {
		if (!(flags & ADDR_UNIX)) {
			snprintf(err, errlen, "%s: a unix socket cannot be "
			    "used here", s);
			return -1;
		}
		return addr_unix(s + 5, out, err, errlen);
	}
	if (mtls_hostport_parse(s, (flags & ADDR_LISTEN) ?
	    MTLS_HOSTPORT_EMPTY_HOST : 0, host, sizeof(host), &port, err,
	    errlen) == -1) {
		if (strchr(s, ':') == NULL && (flags & ADDR_UNIX))
			snprintf(err, errlen, "%s: expected HOST:PORT or "
			    "unix:/path", s);
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);

	memset(out, 0, sizeof(*out) * max);
	if (flags & ADDR_SYNTAX)
		return 1;
	if (host[0] == '\0') {
		/* Every address: one dual-stack IPv6 socket (the listener
		 * clears IPV6_V6ONLY), and IPv4 as well for a host without
		 * IPv6, which listener_open() handles. */
		out[0].u.in6.sin6_family = AF_INET6;
		out[0].u.in6.sin6_addr = in6addr_any;
		out[0].u.in6.sin6_port = htons((uint16_t)port);
		out[0].len = sizeof(out[0].u.in6);
		return 1;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | ((flags & ADDR_LISTEN) ?
	    AI_PASSIVE : 0);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", s, rc == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		size_t i;
		int dup = 0;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(out[n].u))
			continue;
		for (i = 0; i < n; i++)
			if (out[i].len == ai->ai_addrlen &&
			    memcmp(&out[i].u, ai->ai_addr, ai->ai_addrlen) == 0)
				dup = 1;
		if (dup)
			continue;
		memcpy(&out[n].u, ai->ai_addr, ai->ai_addrlen);
		out[n].len = ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(err, errlen, "%s: no IPv4 or IPv6 address", s);
		return -1;
	}
	return (int)n;
}

int
addr_is_local(const struct proxy_addr *a)
{
	const unsigned char *b;

	switch (a->u.sa.sa_family) {
	case AF_UNIX:
		return 1;
	case AF_INET:
		return (ntohl(a->u.in.sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr))
			return 1;
		b = a->u.in6.sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr) &&
		    b[12] == 127;
	default:
		return 0;
	}
}

void
addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t buflen)
{
	char host[INET6_ADDRSTRLEN];

	if (buflen == 0)
		return;
	buf[0] = '\0';
	if (sa == NULL || len < sizeof(sa_family_t)) {
		snprintf(buf, buflen, "-");
		return;
	}
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, buflen, "%s:%u", host, ntohs(in->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host,
			    sizeof(host));
			snprintf(buf, buflen, "%s:%u", host,
			    ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host,
			    sizeof(host));
			snprintf(buf, buflen, "[%s]:%u", host,
			    ntohs(in6->sin6_port));
		}
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *un = (const void *)sa;
		size_t n = len > offsetof(struct sockaddr_un, sun_path) ?
		    len - offsetof(struct sockaddr_un, sun_path) : 0;
		if (n > sizeof(un->sun_path))
			n = sizeof(un->sun_path);
		snprintf(buf, buflen, "unix:%.*s", (int)strnlen(un->sun_path,
		    n), un->sun_path);
		break;
	}
	default:
		snprintf(buf, buflen, "-");
	}
}

int
proxy_check_listen(const char *addr, char *err, size_t errlen)
{
	struct proxy_addr a[ADDR_MAX];

	return addr_parse(addr, ADDR_LISTEN, a, ADDR_MAX, err, errlen) < 0 ?
	    -1 : 0;
}

int
proxy_check_backend(const char *addr, int unsafe_backend, char *err,
    size_t errlen)
{
	struct proxy_addr a[ADDR_MAX];
	int n = addr_parse(addr, ADDR_UNIX, a, ADDR_MAX, err, errlen);

	if (n < 0)
		return -1;
	if (unsafe_backend)
		return 0;
	/* Every address the name resolves to must be local: the one we
	 * connect to is the first, but a name is only as safe as its
	 * least safe answer. */
	for (int i = 0; i < n; i++) {
		if (!addr_is_local(&a[i])) {
			char s[ADDR_STRLEN];
			addr_format(&a[i].u.sa, a[i].len, s, sizeof(s));
			snprintf(err, errlen, "%s: %s is not a loopback "
			    "address or unix socket; plaintext would cross "
			    "the network", addr, s);
			return PROXY_ADDR_NOT_LOCAL;
		}
	}
	return 0;
}

int
proxy_check_tunnel_listen(const char *addr, int unsafe_listen, char *err,
    size_t errlen)
{
	struct proxy_addr a[ADDR_MAX];
	char why[512];
	int n = addr_parse(addr, ADDR_LISTEN | ADDR_UNIX, a, ADDR_MAX, why,
	    sizeof(why));

	if (n < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (unsafe_listen)
		return 0;
	/* The tunnel's listener takes plaintext: anyone who can reach it
	 * speaks with our client certificate. */
	for (int i = 0; i < n; i++) {
		if (!addr_is_local(&a[i])) {
			char s[ADDR_STRLEN];
			if (a[i].u.sa.sa_family == AF_INET6 &&
			    IN6_IS_ADDR_UNSPECIFIED(&a[i].u.in6.sin6_addr))
				snprintf(s, sizeof(s), "every address");
			else
				addr_format(&a[i].u.sa, a[i].len, s,
				    sizeof(s));
			snprintf(err, errlen, "%s: %s is not a loopback "
			    "address or unix socket; anyone who reaches it "
			    "would connect with this client certificate",
			    addr, s);
			return PROXY_ADDR_NOT_LOCAL;
		}
	}
	return 0;
}

int
proxy_check_connect(const char *addr, char *err, size_t errlen)
{
	struct proxy_addr a[ADDR_MAX];
	char why[512];

	/* The form only: a name that does not resolve now is a failure to
	 * start (exit 1), not a usage error. */
	if (addr_parse(addr, ADDR_SYNTAX, a, 1, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}
