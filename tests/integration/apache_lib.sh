# apache_lib.sh - Apache httpd for the integration tests, without Debian's
# apache2ctl and its APACHE_* environment: a self-contained httpd.conf in a
# temp ServerRoot that loads its modules by path.  Source it after lib.sh.
#
# apache_require: skips (77) when apache2 or mod_ssl is missing; sets
#   $APACHE and $APACHE_MODS.
# apache_conf DIR FILE: writes DIR/httpd.conf, which includes FILE.
# apache_start DIR: runs it in the foreground process (-X), tracked.

apache_require() {
	APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
	APACHE_MODS=/usr/lib/apache2/modules
	[ -x "$APACHE" ] && [ -f "$APACHE_MODS/mod_ssl.so" ] ||
	    skip "apache2 with mod_ssl is not installed"
}

apache_conf() {
	mkdir -p "$1"
	{
		echo "ServerRoot $1"
		echo "DefaultRuntimeDir $1"
		echo "PidFile $1/httpd.pid"
		echo "ErrorLog $1/error.log"
		echo "LogLevel info"
		echo "ServerName localhost"
		for m in mpm_event authz_core ssl headers proxy proxy_http; do
			echo "LoadModule ${m}_module $APACHE_MODS/mod_$m.so"
		done
		echo "Include $2"
	} >"$1/httpd.conf"
}

apache_start() {
	"$APACHE" -X -f "$1/httpd.conf" >"$1/stdout.log" 2>&1 &
	track $!
}
