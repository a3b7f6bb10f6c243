/*
 * inv_admin.c - the public face of the inventory's administration: creating
 * and migrating a schema, and importing a CA's SQLite inventory into
 * another (PostgreSQL, typically) when the CA moves to several front ends.
 */
#include <stdlib.h>

#include "ca/inventory.h"
#include "ca/pki.h"

int
mtls_ca_db_init(const char *db, struct mtls_error *err)
{
	struct inv *inv = inv_open(db, 1, err);

	if (inv == NULL)
		return -1;
	inv_close(inv);
	return 0;
}

int
mtls_ca_db_migrate(const char *db, int *from, int *to,
    struct mtls_error *err)
{
	struct inv *inv;
	int v = 0;

	/* Opened as if to create, which accepts any version: the check that
	 * refuses an old schema is what this is here to lift. */
	if (db == NULL || *db == '\0')
		return err_set(err, MTLS_ERR_USAGE, "no inventory given");
	if ((inv = inv_open(db, -1, err)) == NULL)
		return -1;
	if (inv_migrate(inv, &v) == -1) {
		if (err != NULL)
			*err = *inv_error(inv);
		inv_close(inv);
		return -1;
	}
	if (from != NULL)
		*from = v;
	if (to != NULL)
		*to = INV_SCHEMA_VERSION;
	inv_close(inv);
	return 0;
}

int
mtls_ca_db_import(const char *db, const char *from_dir, size_t *added,
    size_t *revoked, struct mtls_error *err)
{
	struct mtls_ca *ca;
	struct inv *dst = NULL;
	size_t a = 0, r = 0;
	int ret = -1;

	if (from_dir == NULL || *from_dir == '\0')
		return err_set(err, MTLS_ERR_USAGE, "no CA directory to import "
		    "from");
	/* The CA itself, not only its file: the destination is tied to its
	 * certificate, so that a second CA cannot import into the first's
	 * inventory. */
	if ((ca = mtls_ca_open_db(from_dir, NULL, NULL, err)) == NULL)
		return -1;
	if ((dst = inv_open(db, 0, err)) == NULL)
		goto out;
	if (ca_bind_inventory(ca, dst) == -1) {
		if (err != NULL)
			*err = ca->err;
		goto out;
	}
	if (inv_import(dst, ca->inv, &a, &r) == -1) {
		if (err != NULL)
			*err = *inv_error(dst);
		goto out;
	}
	if (added != NULL)
		*added = a;
	if (revoked != NULL)
		*revoked = r;
	ret = 0;
out:
	inv_close(dst);
	mtls_ca_free(ca);
	return ret;
}

char *
mtls_ca_db_label(const char *db)
{
	return db != NULL ? inv_label(db) : NULL;
}
