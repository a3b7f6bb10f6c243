/*
 * status.c - the status page at the metrics address: "/" is plain HTML
 * rendered here (it reads complete with JavaScript off), with a little
 * inline CSS and a script that refreshes it every two seconds from
 * "/status.json", the same data for scripts.  Nothing is loaded from
 * anywhere else.  Per service: connections now and per second, handshakes
 * full and resumed, refusals of the last five minutes by reason with the
 * last refused identities, the clients seen most, the expiry of the
 * server certificate, the CA and the CRL in days (red under 7, amber under
 * 30), and the last reloads.  Peer-supplied text (subjects) is escaped for
 * HTML and JSON alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_int.h"

#define RATE_SMOOTH 0.5 /* weight of the newest second */

/* What one service shows, copied under its lock. */
struct status_view {
	const struct proxy_service *svc;
	int64_t active;
	uint64_t accepted, full, resumed;
	double rate;
	uint64_t refusals[HS_NREASONS];
	struct status_refusal refused[STATUS_REFUSED_MAX];
	size_t nrefused;
	struct status_client top[STATUS_TOP_MAX];
	size_t ntop;
	struct status_reload reloads[STATUS_RELOADS_MAX];
	size_t nreloads;
	struct metrics_gauges g;
};

static uint64_t
svc_sum_accepted(const struct svc_state *st)
{
	uint64_t n = 0;

	for (int i = 0; i < st->nworkers; i++)
		n += STAT_GET(st->stats[i].conns_accepted);
	return n;
}

void
status_tick(struct proxy *px, double now)
{
	for (size_t k = 0; k < px->nsvcs; k++) {
		struct svc_state *st = px->svcs[k]->st;
		uint64_t n = svc_sum_accepted(st);
		double dt = now - st->rate_at;

		if (st->rate_at > 0 && dt > 0) {
			double r = (double)(n - st->rate_prev) / dt;
			st->rate = RATE_SMOOTH * r + (1 - RATE_SMOOTH) *
			    st->rate;
		}
		st->rate_prev = n;
		st->rate_at = now;
	}
}

static int
client_cmp(const void *a, const void *b)
{
	const struct status_client *x = a, *y = b;

	return x->conns < y->conns ? 1 : x->conns > y->conns ? -1 :
	    strcmp(x->who, y->who);
}

static void
status_view(const struct proxy_service *svc, time_t now,
    struct status_view *v)
{
	struct svc_state *st = svc->st;
	time_t minute = now / 60;

	memset(v, 0, sizeof(*v));
	v->svc = svc;
	v->active = __atomic_load_n(&st->active, __ATOMIC_RELAXED);
	v->accepted = svc_sum_accepted(st);
	for (int i = 0; i < st->nworkers; i++) {
		v->full += STAT_GET(st->stats[i].handshakes[HS_OK]);
		v->resumed += STAT_GET(st->stats[i].handshakes_resumed);
	}
	v->full -= v->resumed;
	v->rate = st->rate;
	pthread_mutex_lock(&st->lock);
	for (size_t m = 0; m < STATUS_WINDOW / 60; m++)
		if (st->refusal_minute[m] > minute - STATUS_WINDOW / 60)
			for (int r = 0; r < HS_NREASONS; r++)
				v->refusals[r] += st->refusals[m][r];
	/* Newest first. */
	for (size_t i = 0; i < STATUS_REFUSED_MAX && i < st->nrefused; i++)
		v->refused[v->nrefused++] = st->refused[(st->nrefused - 1 - i) %
		    STATUS_REFUSED_MAX];
	memcpy(v->top, st->top, sizeof(v->top));
	v->ntop = st->ntop;
	for (size_t i = 0; i < STATUS_RELOADS_MAX && i < st->nreloads; i++)
		v->reloads[v->nreloads++] = st->reloads[(st->nreloads - 1 - i) %
		    STATUS_RELOADS_MAX];
	v->g = st->gauges;
	pthread_mutex_unlock(&st->lock);
	qsort(v->top, v->ntop, sizeof(v->top[0]), client_cmp);
	if (v->ntop > 10)
		v->ntop = 10;
}

static void
page_json(struct page *pg, const char *s)
{
	if (pg->len < pg->cap)
		pg->len += log_json_quote(pg->p + pg->len, pg->cap - pg->len -
		    1, s);
	if (pg->len < pg->cap)
		pg->p[pg->len] = '\0';
}

/* Text for HTML: the five characters that mean something there. */
static void
page_html(struct page *pg, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': page_printf(pg, "&lt;"); break;
		case '>': page_printf(pg, "&gt;"); break;
		case '&': page_printf(pg, "&amp;"); break;
		case '"': page_printf(pg, "&quot;"); break;
		case '\'': page_printf(pg, "&#39;"); break;
		default: page_printf(pg, "%c", *s); break;
		}
	}
}

/* Whole days left, rounded down (negative once expired). */
static long
days_left(time_t t, time_t now)
{
	long d = (long)(t - now);

	return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

static const char *
days_class(long days)
{
	return days < 7 ? "red" : days < 30 ? "amber" : "ok";
}

struct status_cert {
	const char *role, *file;
	time_t when;
};

static size_t
status_certs(const struct status_view *v, struct status_cert *c)
{
	const struct proxy_options *o = &v->svc->opt;
	size_t n = 0;

	if (v->g.cert_not_after != 0)
		c[n++] = (struct status_cert){ "server", o->cert_file,
		    v->g.cert_not_after };
	if (v->g.ca_not_after != 0)
		c[n++] = (struct status_cert){ "ca", o->ca_file,
		    v->g.ca_not_after };
	if (v->g.crl_next_update != 0)
		c[n++] = (struct status_cert){ "crl", o->crl_file,
		    v->g.crl_next_update };
	return n;
}

static void
json_service(struct page *pg, const struct status_view *v, time_t now)
{
	const struct proxy_service *svc = v->svc;
	struct status_cert certs[3];
	size_t nc = status_certs(v, certs);
	int first = 1;

	page_printf(pg, "{\"name\":");
	page_json(pg, svc->st->name);
	page_printf(pg, ",\"listen\":");
	page_json(pg, svc->opt.listen);
	page_printf(pg, ",\"backend\":");
	page_json(pg, svc->opt.backend);
	page_printf(pg, ",\"active\":%lld,\"accepted\":%llu,"
	    "\"per_second\":%.2f,\"handshakes\":{\"full\":%llu,"
	    "\"resumed\":%llu},\"refusals_5m\":{", (long long)v->active,
	    (unsigned long long)v->accepted, v->rate,
	    (unsigned long long)v->full, (unsigned long long)v->resumed);
	for (int r = 1; r < HS_NREASONS; r++) {
		if (v->refusals[r] == 0)
			continue;
		page_printf(pg, "%s\"%s\":%llu", first ? "" : ",",
		    hs_reason_name(r), (unsigned long long)v->refusals[r]);
		first = 0;
	}
	page_printf(pg, "},\"refused\":[");
	for (size_t i = 0; i < v->nrefused; i++) {
		page_printf(pg, "%s{\"time\":%lld,\"reason\":\"%s\",\"who\":",
		    i ? "," : "", (long long)v->refused[i].when,
		    hs_reason_name(v->refused[i].reason));
		page_json(pg, v->refused[i].who);
		page_printf(pg, ",\"why\":");
		page_json(pg, v->refused[i].why);
		page_printf(pg, "}");
	}
	page_printf(pg, "],\"top_clients\":[");
	for (size_t i = 0; i < v->ntop; i++) {
		page_printf(pg, "%s{\"who\":", i ? "," : "");
		page_json(pg, v->top[i].who);
		page_printf(pg, ",\"connections\":%llu}",
		    (unsigned long long)v->top[i].conns);
	}
	page_printf(pg, "],\"certificates\":[");
	for (size_t i = 0; i < nc; i++) {
		page_printf(pg, "%s{\"role\":\"%s\",\"file\":", i ? "," : "",
		    certs[i].role);
		page_json(pg, certs[i].file);
		page_printf(pg, ",\"expires\":%lld,\"days\":%ld}",
		    (long long)certs[i].when, days_left(certs[i].when, now));
	}
	page_printf(pg, "],\"reloads\":[");
	for (size_t i = 0; i < v->nreloads; i++) {
		page_printf(pg, "%s{\"time\":%lld,\"ok\":%s,\"what\":",
		    i ? "," : "", (long long)v->reloads[i].when,
		    v->reloads[i].ok ? "true" : "false");
		page_json(pg, v->reloads[i].what);
		page_printf(pg, "}");
	}
	page_printf(pg, "]}");
}

size_t
status_render_json(struct proxy *px, char *buf, size_t cap, time_t now)
{
	struct page pg = { buf, cap, 0 };
	struct status_view v;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	pthread_mutex_lock(&px->svcs_lock);
	page_printf(&pg, "{\"now\":%lld,\"started\":%lld,\"file\":",
	    (long long)now, (long long)px->started);
	page_json(&pg, px->file);
	page_printf(&pg, ",\"reloads\":{\"ok\":%llu,\"failed\":%llu},"
	    "\"services\":[", (unsigned long long)px->reloads_ok,
	    (unsigned long long)px->reloads_failed);
	pthread_mutex_unlock(&px->svcs_lock);
	for (size_t k = 0; k < px->nsvcs; k++) {
		status_view(px->svcs[k], now, &v);
		if (k > 0)
			page_printf(&pg, ",");
		json_service(&pg, &v, now);
	}
	page_printf(&pg, "]}\n");
	return pg.len;
}

static void
html_time(struct page *pg, time_t t)
{
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%SZ", &tm);
	page_printf(pg, "%s", b);
}

static void
html_service(struct page *pg, const struct status_view *v, time_t now)
{
	const struct proxy_service *svc = v->svc;
	struct status_cert certs[3];
	size_t nc = status_certs(v, certs);
	int any = 0;

	page_printf(pg, "<section class=\"svc\" data-name=\"");
	page_html(pg, svc->st->name);
	page_printf(pg, "\"><h2>");
	page_html(pg, svc->st->name);
	page_printf(pg, "</h2><p class=\"route\">");
	page_html(pg, svc->opt.listen);
	page_printf(pg, " &rarr; ");
	page_html(pg, svc->opt.backend != NULL ? svc->opt.backend : "");
	page_printf(pg, "</p><div class=\"nums\">"
	    "<div><b class=\"active\">%lld</b>connections now</div>"
	    "<div><b class=\"rate\">%.1f</b>per second</div>"
	    "<div><b class=\"full\">%llu</b>full handshakes</div>"
	    "<div><b class=\"resumed\">%llu</b>resumed</div></div>",
	    (long long)v->active, v->rate, (unsigned long long)v->full,
	    (unsigned long long)v->resumed);

	page_printf(pg, "<h3>Refusals, last 5 minutes</h3>"
	    "<table class=\"refusals\">");
	for (int r = 1; r < HS_NREASONS; r++) {
		if (v->refusals[r] == 0)
			continue;
		page_printf(pg, "<tr><td class=\"reason\">%s</td><td>%llu</td>"
		    "</tr>", hs_reason_name(r),
		    (unsigned long long)v->refusals[r]);
		any = 1;
	}
	if (!any)
		page_printf(pg, "<tr><td class=\"none\">none</td></tr>");
	page_printf(pg, "</table><h3>Last refused</h3><ul class=\"refused\">");
	for (size_t i = 0; i < v->nrefused; i++) {
		page_printf(pg, "<li><span class=\"when\">");
		html_time(pg, v->refused[i].when);
		page_printf(pg, "</span> <span class=\"reason\">%s</span> ",
		    hs_reason_name(v->refused[i].reason));
		page_html(pg, v->refused[i].who);
		if (v->refused[i].why[0] != '\0') {
			page_printf(pg, " <span class=\"why\">");
			page_html(pg, v->refused[i].why);
			page_printf(pg, "</span>");
		}
		page_printf(pg, "</li>");
	}
	if (v->nrefused == 0)
		page_printf(pg, "<li class=\"none\">none</li>");
	page_printf(pg, "</ul><h3>Top clients</h3><table class=\"top\">");
	for (size_t i = 0; i < v->ntop; i++) {
		page_printf(pg, "<tr><td>");
		page_html(pg, v->top[i].who);
		page_printf(pg, "</td><td>%llu</td></tr>",
		    (unsigned long long)v->top[i].conns);
	}
	if (v->ntop == 0)
		page_printf(pg, "<tr><td class=\"none\">none yet</td></tr>");
	page_printf(pg, "</table><h3>Certificates</h3><table class=\"certs\">");
	for (size_t i = 0; i < nc; i++) {
		long d = days_left(certs[i].when, now);
		page_printf(pg, "<tr class=\"%s\"><td>%s</td><td>",
		    days_class(d), certs[i].role);
		page_html(pg, certs[i].file != NULL ? certs[i].file : "");
		page_printf(pg, "</td><td class=\"days\">%ld days</td></tr>", d);
	}
	page_printf(pg, "</table><h3>Reloads</h3><ul class=\"reloads\">");
	for (size_t i = 0; i < v->nreloads; i++) {
		page_printf(pg, "<li class=\"%s\">", v->reloads[i].ok ? "ok" :
		    "red");
		html_time(pg, v->reloads[i].when);
		page_printf(pg, " ");
		page_html(pg, v->reloads[i].what);
		page_printf(pg, "</li>");
	}
	page_printf(pg, "</ul></section>");
}

/* The script redraws the same markup as html_service() from the JSON. */
static const char status_script[] =
"(function(){\n"
"function e(s){return String(s==null?'':s).replace(/[&<>\"']/g,"
"function(c){return{'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;',"
"\"'\":'&#39;'}[c];});}\n"
"function t(s){return new Date(s*1000).toISOString().replace('T',' ')"
".replace(/\\.\\d+Z/,'Z');}\n"
"function cls(d){return d<7?'red':d<30?'amber':'ok';}\n"
"function svc(s){var h='<section class=\"svc\" data-name=\"'+e(s.name)+"
"'\"><h2>'+e(s.name)+'</h2><p class=\"route\">'+e(s.listen)+' &rarr; '+"
"e(s.backend)+'</p><div class=\"nums\"><div><b class=\"active\">'+"
"s.active+'</b>connections now</div><div><b class=\"rate\">'+"
"s.per_second.toFixed(1)+'</b>per second</div><div><b class=\"full\">'+"
"s.handshakes.full+'</b>full handshakes</div><div><b class=\"resumed\">'+"
"s.handshakes.resumed+'</b>resumed</div></div>';\n"
"h+='<h3>Refusals, last 5 minutes</h3><table class=\"refusals\">';"
"var k=Object.keys(s.refusals_5m);if(!k.length)h+='<tr><td class=\"none\">"
"none</td></tr>';k.forEach(function(r){h+='<tr><td class=\"reason\">'+e(r)+"
"'</td><td>'+s.refusals_5m[r]+'</td></tr>';});\n"
"h+='</table><h3>Last refused</h3><ul class=\"refused\">';"
"if(!s.refused.length)h+='<li class=\"none\">none</li>';"
"s.refused.forEach(function(f){h+='<li><span class=\"when\">'+t(f.time)+"
"'</span> <span class=\"reason\">'+e(f.reason)+'</span> '+e(f.who)+"
"(f.why?' <span class=\"why\">'+e(f.why)+'</span>':'')+'</li>';});\n"
"h+='</ul><h3>Top clients</h3><table class=\"top\">';"
"if(!s.top_clients.length)h+='<tr><td class=\"none\">none yet</td></tr>';"
"s.top_clients.forEach(function(c){h+='<tr><td>'+e(c.who)+'</td><td>'+"
"c.connections+'</td></tr>';});\n"
"h+='</table><h3>Certificates</h3><table class=\"certs\">';"
"s.certificates.forEach(function(c){h+='<tr class=\"'+cls(c.days)+'\"><td>'+"
"e(c.role)+'</td><td>'+e(c.file)+'</td><td class=\"days\">'+c.days+"
"' days</td></tr>';});\n"
"h+='</table><h3>Reloads</h3><ul class=\"reloads\">';"
"s.reloads.forEach(function(r){h+='<li class=\"'+(r.ok?'ok':'red')+'\">'+"
"t(r.time)+' '+e(r.what)+'</li>';});return h+'</ul></section>';}\n"
"function draw(d){document.getElementById('services').innerHTML="
"d.services.map(svc).join('');document.getElementById('updated')"
".textContent=t(d.now);}\n"
"function poll(){fetch('/status.json',{cache:'no-store'}).then("
"function(r){return r.json();}).then(draw).catch(function(){});}\n"
"setInterval(poll,2000);\n"
"})();\n";

static const char status_style[] =
"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;"
"background:#fafafa}h1{font-size:1.3em}h2{margin:.2em 0}"
"h3{font-size:.95em;margin:.8em 0 .2em;color:#555}"
"#services{display:flex;flex-wrap:wrap;gap:1em}"
".svc{background:#fff;border:1px solid #ddd;border-radius:6px;"
"padding:.8em 1em;min-width:22em;flex:1}"
".route{color:#666;margin:.1em 0 .6em;font-family:monospace}"
".nums{display:flex;gap:1.2em}.nums b{display:block;font-size:1.6em}"
"table{border-collapse:collapse}td{padding:.1em .6em .1em 0}"
"ul{margin:0;padding-left:1.1em}.none{color:#999}"
".red{color:#b00;font-weight:bold}.amber{color:#b60}.ok .days{color:#070}"
".reason{font-family:monospace}.when,.why{color:#888}";

size_t
status_render_html(struct proxy *px, char *buf, size_t cap, time_t now)
{
	struct page pg = { buf, cap, 0 };
	struct status_view v;
	uint64_t ok, failed;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	pthread_mutex_lock(&px->svcs_lock);
	ok = px->reloads_ok;
	failed = px->reloads_failed;
	pthread_mutex_unlock(&px->svcs_lock);
	page_printf(&pg, "<!DOCTYPE html><html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>mtls serve: status</title>"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<style>%s</style></head><body><h1>mtls serve</h1>"
	    "<p class=\"meta\">%zu service%s &middot; started ", status_style,
	    px->nsvcs, px->nsvcs == 1 ? "" : "s");
	html_time(&pg, px->started);
	page_printf(&pg, " &middot; reloads %llu ok, %llu failed &middot; "
	    "updated <span id=\"updated\">", (unsigned long long)ok,
	    (unsigned long long)failed);
	html_time(&pg, now);
	page_printf(&pg, "</span> &middot; <a href=\"/status.json\">JSON</a> "
	    "&middot; <a href=\"/metrics\">metrics</a></p><div id=\"services\">");
	for (size_t k = 0; k < px->nsvcs; k++) {
		status_view(px->svcs[k], now, &v);
		html_service(&pg, &v, now);
	}
	page_printf(&pg, "</div><script>%s</script></body></html>\n",
	    status_script);
	return pg.len;
}
