#include "cacert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The families' bundle paths, as Go's crypto/x509 looks for them. */
static const char *const system_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Arch, Gentoo */
	"/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL 6 */
	"/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
	"/etc/pki/tls/cacert.pem",                           /* OpenELEC */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* CentOS, RHEL 7 and later */
	"/etc/ssl/cert.pem",                                 /* Alpine */
};
#define N_SYSTEM (sizeof system_bundles / sizeof system_bundles[0])

static const char *set_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int mb_ca_find(const char *flag, struct mb_ca *ca, struct mb_err *err)
{
	static const char *const file_vars[] = { "SSL_CERT_FILE", "CURL_CA_BUNDLE" };
	char tried[MB_ERR_MSG_MAX / 2] = "";
	size_t i, at = 0;

	memset(ca, 0, sizeof *ca);
	if (flag) {
		ca->file = flag, ca->from = "--cacert";
		return 0;
	}
	for (i = 0; i < 2; i++)
		if ((ca->file = set_env(file_vars[i]))) {
			ca->from = file_vars[i];
			return 0;
		}
	if ((ca->dir = set_env("SSL_CERT_DIR"))) {
		ca->from = "SSL_CERT_DIR";
		return 0;
	}
	for (i = 0; i < N_SYSTEM; i++) {
		if (access(system_bundles[i], R_OK) == 0) {
			ca->file = system_bundles[i], ca->from = "system";
			return 0;
		}
		if (at < sizeof tried)
			at += (size_t)snprintf(tried + at, sizeof tried - at, "%s%s", i ? ", " : "",
					       system_bundles[i]);
	}
	return mb_errf(err, MB_EFETCH,
		       "no CA certificates found for HTTPS (tried %s): pass --cacert FILE or set SSL_CERT_FILE",
		       tried);
}
