/* hookurl.c - where an outgoing webhook may go; see hookurl.h. */
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "hookurl.h"
#include "util.h"

/* IPv4 in host order: 1 when public. */
static int
v4_public(uint32_t a)
{
	static const struct { uint32_t net, mask; } bad[] = {
		{ 0x00000000, 0xff000000 },	/* 0/8 "this network" */
		{ 0x0a000000, 0xff000000 },	/* 10/8 */
		{ 0x64400000, 0xffc00000 },	/* 100.64/10 CGNAT */
		{ 0x7f000000, 0xff000000 },	/* 127/8 */
		{ 0xa9fe0000, 0xffff0000 },	/* 169.254/16 link-local */
		{ 0xac100000, 0xfff00000 },	/* 172.16/12 */
		{ 0xc0000000, 0xffffff00 },	/* 192.0.0/24 IETF */
		{ 0xc0a80000, 0xffff0000 },	/* 192.168/16 */
		{ 0xc6120000, 0xfffe0000 },	/* 198.18/15 benchmarking */
		{ 0xe0000000, 0xe0000000 },	/* 224/3 multicast, reserved, broadcast */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if ((a & bad[i].mask) == bad[i].net)
			return 0;
	return 1;
}

int
hookurl_addr_allowed(const struct sockaddr *sa, int allow_loopback)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);

		if ((a >> 24) == 127)
			return allow_loopback;
		return v4_public(a);
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return allow_loopback;
		if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
			uint32_t v4;

			memcpy(&v4, &a->s6_addr[12], 4);
			v4 = ntohl(v4);
			return (v4 >> 24) == 127 ? allow_loopback : v4_public(v4);
		}
		/* Global unicast only (2000::/3), less 2001:db8::/32 (documentation). */
		if ((a->s6_addr[0] & 0xe0) != 0x20)
			return 0;
		return !(a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x01 &&
		    a->s6_addr[2] == 0x0d && a->s6_addr[3] == 0xb8);
	}
	return 0;
}

/* Every address of host must be allowed (a mixed answer could pick either). */
static int
host_check(const char *host, const char *port, int allow_loopback, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return errorf(err, errlen, "host %s does not resolve: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (!hookurl_addr_allowed(ai->ai_addr, allow_loopback))
			break;
	freeaddrinfo(res);
	if (ai != NULL)
		return errorf(err, errlen, "host %s resolves to a private, loopback or "
		    "link-local address", host);
	return 0;
}

int
hookurl_check(const char *url, int allow_loopback, char *err, size_t errlen)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
	int rc = -1;

	if (strlen(url) > HOOKURL_MAX)
		return errorf(err, errlen, "the URL is longer than %d bytes", HOOKURL_MAX);
	if ((u = curl_url()) == NULL)
		return errorf(err, errlen, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		errorf(err, errlen, "not an absolute URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		errorf(err, errlen, "the URL may not carry a user name or password");
		goto out;
	}
	if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) {
		errorf(err, errlen, "the URL must be https://");
		goto out;
	}
	if (host[0] == '[') {	/* curl keeps an IPv6 literal's brackets */
		size_t n = strlen(host);

		memmove(host, host + 1, n - 1);
		host[n - 2] = '\0';
	}
	if ((rc = host_check(host, port, allow_loopback, err, errlen)) != 0)
		goto out;
	/* http only to loopback, and only when loopback is allowed at all. */
	if (strcasecmp(scheme, "http") == 0 && (!allow_loopback ||
	    host_check(host, port, 0, err, errlen) == 0))
		rc = errorf(err, errlen, "the URL must be https:// (http only to loopback "
		    "with PB_WEBHOOK_ALLOW_LOOPBACK=1)");
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return rc;
}
