/* Which CA certificates verify HTTPS.  A static binary has no compiled-in
 * bundle that fits every host, so the host's own is looked for where the
 * common Linux families keep it.  Verification is never turned off: with
 * no bundle an HTTPS source fails, naming the paths tried. */
#ifndef MB_CACERT_H
#define MB_CACERT_H

#include "err.h"

struct mb_ca {
	const char *file; /* a PEM bundle (CURLOPT_CAINFO), or NULL */
	const char *dir;  /* a hashed directory (CURLOPT_CAPATH), or NULL */
	const char *from; /* what named it: "--cacert", "SSL_CERT_FILE", ..., or "system" */
};

/* --cacert (flag, may be NULL), then $SSL_CERT_FILE, $CURL_CA_BUNDLE and
 * $SSL_CERT_DIR as given, then the first readable bundle of the usual
 * paths.  None: MB_EFETCH naming every path tried and the flag that fixes
 * it.  The strings point into the environment or static storage. */
int mb_ca_find(const char *flag, struct mb_ca *ca, struct mb_err *err);

#endif
