/* tls_check.c - the TLS files' checks at start and at --check. See tls_check.h. */
#include "tls_check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/config.h"
#include "common/log.h"

/* A key with a passphrase cannot be used unattended: never prompt for one. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static FILE *open_file(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f;

	if (!path || !*path) {
		snprintf(err, errlen, "%s is not set", what);
		return NULL;
	}
	f = fopen(path, "re");
	if (!f)
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return f;
}

static void format_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm))
		snprintf(buf, len, "?");
}

/* Not yet valid or expired: an error. Expiring within GW_TLS_EXPIRY_WARN_S: a warning. */
static int check_validity(const char *what, const char *path, X509 *x, time_t now, char *err,
			  size_t errlen, char *warn, size_t warnlen)
{
	time_t soon = now + GW_TLS_EXPIRY_WARN_S;
	char when[64];

	if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0) {
		format_time(X509_get0_notBefore(x), when, sizeof(when));
		snprintf(err, errlen, "%s %s is not valid before %s", what, path, when);
		return -1;
	}
	format_time(X509_get0_notAfter(x), when, sizeof(when));
	if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
		snprintf(err, errlen, "%s %s expired on %s", what, path, when);
		return -1;
	}
	if (X509_cmp_time(X509_get0_notAfter(x), &soon) < 0 && !*warn)
		snprintf(warn, warnlen, "%s %s expires on %s, in less than %d days: renew it", what,
			 path, when, GW_TLS_EXPIRY_WARN_S / 86400);
	return 0;
}

/* Loads every certificate of the CA file into store; the first one is checked for validity. */
static int load_ca(const char *ca, X509_STORE *store, time_t now, char *err, size_t errlen,
		   char *warn, size_t warnlen)
{
	FILE *f = open_file("tls.ca", ca, err, errlen);
	X509 *x;
	int n = 0, rc = 0;

	if (!f)
		return -1;
	while (!rc && (x = PEM_read_X509(f, NULL, no_passphrase, NULL))) {
		if (n++ == 0)
			rc = check_validity("tls.ca", ca, x, now, err, errlen, warn, warnlen);
		if (!rc && !X509_STORE_add_cert(store, x)) {
			snprintf(err, errlen, "tls.ca %s: cannot use a certificate", ca);
			rc = -1;
		}
		X509_free(x);
	}
	fclose(f);
	ERR_clear_error();
	if (!rc && n == 0) {
		snprintf(err, errlen, "tls.ca %s: no PEM certificate in it", ca);
		rc = -1;
	}
	return rc;
}

static int check_key_mode(const char *key, char *err, size_t errlen)
{
	struct stat sb;

	if (stat(key, &sb)) {
		snprintf(err, errlen, "tls.key %s: %s", key, strerror(errno));
		return -1;
	}
	if (sb.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "tls.key %s is readable by other users (mode %03o): "
			 "chmod 600 it", key, (unsigned)(sb.st_mode & 0777));
		return -1;
	}
	return 0;
}

int tls_check_files(const char *cert, const char *key, const char *ca, time_t now, char *err,
		    size_t errlen, char *warn, size_t warnlen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *vctx = X509_STORE_CTX_new();
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	FILE *f;
	int rc = -1;

	warn[0] = '\0';
	if (!store || !vctx) {
		snprintf(err, errlen, "TLS check: out of memory");
		goto out;
	}
	if (load_ca(ca, store, now, err, errlen, warn, warnlen))
		goto out;
	f = open_file("tls.cert", cert, err, errlen);
	if (!f)
		goto out;
	x = PEM_read_X509(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (!x) {
		snprintf(err, errlen, "tls.cert %s: not a PEM certificate", cert);
		goto out;
	}
	if (check_validity("tls.cert", cert, x, now, err, errlen, warn, warnlen))
		goto out;
	f = open_file("tls.key", key, err, errlen);
	if (!f)
		goto out;
	pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (!pkey) {
		snprintf(err, errlen, "tls.key %s: not a PEM private key (or one with a passphrase)",
			 key);
		goto out;
	}
	if (check_key_mode(key, err, errlen))
		goto out;
	if (X509_check_private_key(x, pkey) != 1) {
		snprintf(err, errlen, "tls.key %s is not the key of tls.cert %s", key, cert);
		goto out;
	}
	if (!X509_STORE_CTX_init(vctx, store, x, NULL)) {
		snprintf(err, errlen, "TLS check: out of memory");
		goto out;
	}
	X509_STORE_CTX_set_time(vctx, 0, now);
	if (X509_verify_cert(vctx) != 1) {
		snprintf(err, errlen, "tls.cert %s is not issued by tls.ca %s: %s", cert, ca,
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	X509_free(x);
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	return rc;
}

int tls_check_config(const struct gw_config *cfg, struct gw_log *log)
{
	char err[1024], warn[1024];

	if (tls_check_files(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, time(NULL), err, sizeof(err),
			    warn, sizeof(warn))) {
		gw_err(log, "%s: %s", cfg->path, err);
		return -1;
	}
	if (*warn)
		gw_warn(log, "%s: %s", cfg->path, warn);
	return 0;
}
