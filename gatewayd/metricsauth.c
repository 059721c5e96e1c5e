/*
 * metricsauth.c - who may scrape /metrics.
 *
 * A scraper is let in by a bearer token equal to PB_METRICS_TOKEN
 * (compared in constant time), or by its address being inside one of the
 * CIDR blocks of PB_METRICS_ALLOW (comma-separated, IPv4 or IPv6; an
 * IPv4-mapped IPv6 peer is matched as IPv4).  A wrong token is 401 even
 * from an allowed address, so a misconfigured scraper is noticed.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "metrics.h"
#include "secrets.h"
#include "util.h"

/* Parses "a.b.c.d" or an IPv6 address into 16 bytes (IPv4 mapped); bits. */
static int
addr_parse(const char *s, unsigned char out[16], int *bits)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*bits = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0xff, 0xff };

		*bits = memcmp(out, mapped, 12) == 0 ? 32 : 128;
		return 0;
	}
	return -1;
}

static int
prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

int
metrics_addr_allowed(const char *list, const char *peer)
{
	unsigned char p[16], net[16];
	char *copy, *item, *save = NULL;
	int pbits, nbits, allowed = 0;

	if (list == NULL || addr_parse(peer, p, &pbits) != 0)
		return 0;
	copy = xstrdup(list);
	for (item = strtok_r(copy, ", ", &save); item != NULL && !allowed;
	    item = strtok_r(NULL, ", ", &save)) {
		char *slash = strchr(item, '/');
		long len = -1;

		if (slash != NULL) {
			*slash = '\0';
			if (parse_long(slash + 1, &len) != 0)
				continue;
		}
		if (addr_parse(item, net, &nbits) != 0 || nbits != pbits)
			continue;
		if (len < 0)
			len = nbits;
		if (len > nbits)
			continue;
		/* An IPv4 prefix counts from the mapped address's 96 leading bits. */
		allowed = prefix_equal(p, net, (int)len + (128 - nbits));
	}
	free(copy);
	return allowed;
}

int
metrics_authorize(struct mg_connection *conn, const char **why)
{
	const char *auth = mg_get_header(conn, "Authorization");
	const char *token = config_get("PB_METRICS_TOKEN");

	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		if (token != NULL && token[0] != '\0' && secret_equal(auth + 7, token))
			return 200;
		*why = "wrong metrics token";
		return 401;
	}
	if (metrics_addr_allowed(config_get("PB_METRICS_ALLOW"),
	    mg_get_request_info(conn)->remote_addr))
		return 200;
	if (token != NULL && token[0] != '\0') {
		*why = "send Authorization: Bearer <PB_METRICS_TOKEN>";
		return 401;
	}
	*why = "this address may not scrape /metrics (PB_METRICS_ALLOW)";
	return 403;
}
