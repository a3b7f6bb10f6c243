/*
 * hostport.c - the one HOST:PORT parser (see tools/mtls_tools.h), for the
 * addresses of serve, tunnel, connect, bench and doctor.  Syntax only:
 * resolving is each caller's business.
 */
#include <stdio.h>
#include <string.h>

#include "tools/mtls_tools.h"

/* 1 to 65535, decimal digits only (strtoul would take "+80", " 80" and
 * "0x50"). */
static int
port_parse(const char *s, unsigned *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int
mtls_hostport_parse(const char *s, int flags, char *host, size_t hostlen,
    unsigned *port, char *why, size_t whylen)
{
	const char *h, *portstr;
	size_t n;

	if (s == NULL || *s == '\0') {
		snprintf(why, whylen, "expected HOST:PORT");
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':' || close == s + 1) {
			snprintf(why, whylen, "%s: expected [IPv6]:PORT", s);
			return -1;
		}
		h = s + 1;
		n = (size_t)(close - h);
		portstr = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL) {
			snprintf(why, whylen, "%s: expected HOST:PORT", s);
			return -1;
		}
		h = s;
		n = (size_t)(colon - s);
		if (memchr(s, ':', n) != NULL) {
			snprintf(why, whylen, "%s: an IPv6 address needs "
			    "brackets: [ADDRESS]:PORT", s);
			return -1;
		}
		portstr = colon + 1;
	}
	if (port_parse(portstr, port) != 0) {
		snprintf(why, whylen, "%s: '%s' is not a port: the port must "
		    "be 1 to 65535", s, portstr);
		return -1;
	}
	if (n == 0 && !(flags & MTLS_HOSTPORT_EMPTY_HOST)) {
		snprintf(why, whylen, "%s: a host is required", s);
		return -1;
	}
	if (n >= hostlen) {
		snprintf(why, whylen, "%s: the host name is too long", s);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}
