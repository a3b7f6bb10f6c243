/*
 * fdlimit.c - the descriptor limit raised to what the system allows.
 *
 * A proxied connection holds two descriptors (the client and the backend
 * or upstream), and the soft RLIMIT_NOFILE is often 1024 while the hard
 * limit is far higher: without raising it, a proxy refuses its 510th
 * connection while the system would let it hold thousands.  So the soft
 * limit goes up to the hard one at start, once, and the log says so (a
 * process started at the hard limit already logs nothing).
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "proxy_int.h"

void
proxy_raise_nofile(enum proxy_log_format fmt)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_msg(fmt, "warning", "descriptor limit: %s",
		    strerror(errno));
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return; /* nothing to raise, nothing to say */
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_msg(fmt, "warning", "descriptor limit: cannot raise %llu "
		    "to the hard limit %llu: %s", (unsigned long long)was,
		    (unsigned long long)rl.rlim_max, strerror(errno));
		return;
	}
	log_msg(fmt, "info", "descriptor limit: raised from %llu to the hard "
	    "limit %llu (about %llu proxied connections)",
	    (unsigned long long)was, (unsigned long long)rl.rlim_max,
	    (unsigned long long)rl.rlim_max / 2);
}
