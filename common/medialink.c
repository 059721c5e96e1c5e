/* medialink.c - see medialink.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "medialink.h"
#include "util.h"
#include "uuid.h"

#define EXP_DIGITS_MAX	12

/* What is signed: a versioned text naming the id and the expiry. */
static char *
medialink_text(const char *id, long long exp)
{
	return xasprintf("photobridge.media.v1\n%s\n%lld", id, exp);
}

char *
medialink_sign(const unsigned char key[SEAL_KEY_BYTES], const char *id, long long exp)
{
	char *text = medialink_text(id, exp), *sig = jwt_hmac_b64(key, text, strlen(text));

	free(text);
	return sig;
}

char *
medialink_url(const unsigned char key[SEAL_KEY_BYTES], const char *base,
    const char *id, long long exp)
{
	char *sig = medialink_sign(key, id, exp);
	char *path = xasprintf("/public/media/%s?exp=%lld&sig=%s", id, exp, sig);
	char *url = url_join(base, path);

	free(sig);
	free(path);
	return url;
}

/* Finds "name=value" among &-separated pairs; -1 when absent or repeated. */
static int
query_get(const char *query, const char *name, const char **val, size_t *len)
{
	size_t nlen = strlen(name);
	const char *p = query;
	int found = 0;

	for (;;) {
		const char *end = strchr(p, '&');
		size_t plen = end != NULL ? (size_t)(end - p) : strlen(p);

		if (plen > nlen && p[nlen] == '=' && strncmp(p, name, nlen) == 0) {
			if (found++)
				return -1;
			*val = p + nlen + 1;
			*len = plen - nlen - 1;
		} else if (!(plen > 4 && strncmp(p, "exp=", 4) == 0) &&
		    !(plen > 4 && strncmp(p, "sig=", 4) == 0)) {
			return -1;	/* a pair we do not sign: refuse the link */
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return found == 1 ? 0 : -1;
}

static int
parse_exp(const char *s, size_t len, long long *out)
{
	long long v = 0;

	if (len == 0 || len > EXP_DIGITS_MAX || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > MEDIALINK_EXP_MAX)
		return -1;
	*out = v;
	return 0;
}

int
medialink_verify(const unsigned char key[SEAL_KEY_BYTES], const char *id,
    const char *query, long long now, long long *exp_out)
{
	char sig[MEDIALINK_SIG_LEN + 1], *text;
	const char *e, *s;
	size_t elen, slen;
	long long exp;
	int ok;

	if (id == NULL || query == NULL || !uuid_valid(id) ||
	    query_get(query, "exp", &e, &elen) != 0 ||
	    query_get(query, "sig", &s, &slen) != 0 ||
	    parse_exp(e, elen, &exp) != 0 || slen != MEDIALINK_SIG_LEN)
		return -1;
	/* Ids are canonical lower case when we sign: upper case is another link. */
	for (const char *p = id; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'F')
			return -1;
	memcpy(sig, s, slen);
	sig[slen] = '\0';
	text = medialink_text(id, exp);
	ok = jwt_hmac_check(key, text, strlen(text), sig);	/* constant time */
	free(text);
	if (!ok || exp <= now)
		return -1;
	if (exp_out != NULL)
		*exp_out = exp;
	return 0;
}
