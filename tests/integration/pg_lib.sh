# pg_lib.sh - a real PostgreSQL server for the integration tests of the
# shared CA inventory.  Source it after lib.sh.
#
# pg_require: skips the test (77) when Debian's PostgreSQL server binaries
# (initdb, pg_ctl in /usr/lib/postgresql/*/bin) are absent; sets $PGBIN.
#
# pg_start: a fresh cluster in its own temp dir, owned by an unprivileged
# user (the "postgres" system user the package creates, when the test runs
# as root; else the test's own user), listening only on a unix socket in
# that dir, with password authentication (scram-sha-256), and a database
# "mtls".  Sets:
#   $PGSOCK  the socket directory
#   $PGPW    the superuser's password
#   $PGURL   postgres://postgres:$PGPW@/mtls?host=$PGSOCK (with the password,
#            so that tests can check it is never printed)
# The server is stopped by its PID when the test exits.
#
# pg_stop: a fast shutdown (SIGINT to the postmaster), waiting until it is
# gone.  pg_restart: start the same cluster again.
#
# pg_sql SQL: runs SQL in the database "mtls" with psql; output unaligned.

pg_require() {
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
	    skip "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
	command -v psql >/dev/null || skip "psql is not installed"
}

# Runs a command as the cluster's owner.
pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_stop() {
	[ -n "${PGPID:-}" ] || return 0
	kill -INT "$PGPID" 2>/dev/null
	i=0
	while kill -0 "$PGPID" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -0 "$PGPID" 2>/dev/null && kill -KILL "$PGPID" 2>/dev/null
	PGPID=""
}

pg_cleanup() {
	pg_stop
	cleanup
	[ -n "${PGTMP:-}" ] && rm -rf "$PGTMP"
}

pg_restart() {
	pg_as_owner "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w -t 60 \
	    -o "-k $PGTMP -c listen_addresses= -c max_connections=40" start \
	    >"$T/pg_ctl.out" 2>&1 || { cat "$T/pg_ctl.out" "$PGTMP/log"; fail "PostgreSQL did not start"; }
	PGPID=$(head -n 1 "$PGTMP/data/postmaster.pid")
	[ -n "$PGPID" ] || fail "no postmaster.pid"
}

pg_sql() {
	PGPASSWORD=$PGPW psql -X -q -A -t -h "$PGSOCK" -U postgres -d mtls \
	    -v ON_ERROR_STOP=1 -c "$1"
}

pg_start() {
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres ||
		    fail "cannot create the postgres user"
	fi
	# Outside $T, which only the test's user may enter.
	PGTMP=$(mktemp -d "${TMPDIR:-/tmp}/mtls-pg.XXXXXX")
	trap pg_cleanup EXIT INT TERM
	PGPW="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	printf '%s\n' "$PGPW" >"$PGTMP/pwfile"
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$PGTMP"
	chmod 700 "$PGTMP"
	pg_as_owner "$PGBIN/initdb" -D "$PGTMP/data" -U postgres \
	    --pwfile="$PGTMP/pwfile" --auth=scram-sha-256 -E UTF8 \
	    --no-sync >"$T/initdb.out" 2>&1 || { cat "$T/initdb.out"; fail "initdb failed"; }
	rm -f "$PGTMP/pwfile"
	PGSOCK=$PGTMP
	pg_restart
	PGPASSWORD=$PGPW psql -X -q -h "$PGSOCK" -U postgres -d postgres \
	    -c 'CREATE DATABASE mtls' >"$T/createdb.out" 2>&1 ||
	    { cat "$T/createdb.out"; fail "cannot create the database"; }
	PGURL="postgres://postgres:$PGPW@/mtls?host=$PGSOCK"
}
