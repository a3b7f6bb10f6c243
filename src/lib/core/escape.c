/*
 * escape.c - the one escaper for text of untrusted origin written into a
 * log line or a JSON string (see tools/mtls_tools.h): the proxy's logs and
 * every JSON output use it, so that a peer's or a file's bytes can
 * neither forge a line nor make the JSON invalid (RFC 8259 section 8.1:
 * JSON text is UTF-8).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tools/mtls_tools.h"

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629 section 4:
 * no overlong forms, no surrogates, nothing past U+10FFFF), its code point
 * in *cp; 0 when the bytes there are not one.
 */
static size_t
utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2, c = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3, c = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	/* The string ends with a NUL, which stops this before its end. */
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* 1: printable ASCII kept as it is; 2: the space; 3: the quote. */
static const unsigned char escape_plain_tab[256] = {
	[' '] = 2, ['!'] = 1, ['"'] = 3, ['#' ... '['] = 1, [']' ... '~'] = 1,
};

size_t
mtls_escape_plain(const char *s, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (;; n++) {
		unsigned char t = escape_plain_tab[p[n]];

		if (t == 1 || (t == 2 && !(flags & MTLS_ESC_SPACE)) ||
		    (t == 3 && (flags & MTLS_ESC_KEEP_QUOTE)))
			continue;
		return n;
	}
}

size_t
mtls_escape_next(const char *s, int flags, char out[MTLS_ESCAPE_MAX])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	int json = (flags & MTLS_ESC_JSON) != 0;
	uint32_t cp;
	size_t n;

	out[0] = '\0';
	if (*p == '\0')
		return 0;
	if ((n = utf8_seq(p, &cp)) == 0) {
		/* JSON has no way to carry a byte: the replacement
		 * character; text keeps the byte's value. */
		if (json)
			snprintf(out, MTLS_ESCAPE_MAX, "\\ufffd");
		else
			snprintf(out, MTLS_ESCAPE_MAX, "\\x%c%c", hex[*p >> 4],
			    hex[*p & 15]);
		return 1;
	}
	if (cp == '\\' || (cp == '"' && !(flags & MTLS_ESC_KEEP_QUOTE))) {
		out[0] = '\\';
		out[1] = (char)cp;
		out[2] = '\0';
	} else if (json && (cp == '\n' || cp == '\r' || cp == '\t')) {
		snprintf(out, MTLS_ESCAPE_MAX, "\\%c", cp == '\n' ? 'n' :
		    cp == '\r' ? 'r' : 't');
	} else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ||
	    (cp == ' ' && (flags & MTLS_ESC_SPACE))) {
		snprintf(out, MTLS_ESCAPE_MAX, "%s%c%c", json ? "\\u00" :
		    "\\x", hex[cp >> 4], hex[cp & 15]);
	} else if (cp == 0x2028 || cp == 0x2029) {
		/* Line and paragraph separators: a line break to many
		 * readers, and to JavaScript before ES2019. */
		snprintf(out, MTLS_ESCAPE_MAX, "\\u%04x", (unsigned)cp);
	} else {
		memcpy(out, p, n);
		out[n] = '\0';
	}
	return n;
}
