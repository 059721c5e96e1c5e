/*
 * webhook_send.c - one delivery attempt: the signed POST on the event
 * loop (common/curlm.c), so a slow receiver holds one slot of
 * PB_WEBHOOK_PARALLEL and nothing else.  No redirect is followed, no
 * proxy is used, every connected address is checked (hookurl.c), and
 * the receiver's answer is read up to 4 KiB: only its status matters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "config.h"
#include "curlm.h"
#include "hookurl.h"
#include "janitor.h"
#include "util.h"

#define ANSWER_MAX	4096

char *
webhook_signature(const char *secret, long long t, const char *body)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * sizeof(mac) + 1], ts[24];

	snprintf(ts, sizeof(ts), "%lld.", t);
	/* The key is the secret string as the operator copies it. */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	return xasprintf("t=%lld,v1=%s", t, hex);
}

static int
addr_allowed(const struct sockaddr *sa)
{
	return hookurl_addr_allowed(sa, (int)config_int("PB_WEBHOOK_ALLOW_LOOPBACK"));
}

static void
on_done(struct http_call *c, void *arg)
{
	struct webhook_delivery *d = arg;
	struct webhook_outcome o = { 0, c->status, NULL };
	char buf[64];

	/* A 2xx whose answer passed the cap was still accepted. */
	o.ok = c->status >= 200 && c->status < 300 &&
	    (c->code == CURLE_OK || c->too_large);
	if (!o.ok) {
		if (c->status != 0) {
			snprintf(buf, sizeof(buf), "http_%ld", c->status);
			o.error = buf;
		} else if (c->code == CURLE_OPERATION_TIMEDOUT)
			o.error = "timeout";
		else if (c->code == CURLE_ABORTED_BY_CALLBACK)
			o.error = "address_refused";
		else
			o.error = c->error[0] != '\0' ? c->error : "network";
	}
	d->call = NULL;
	d->done(d, &o);
}

void
webhook_send(struct webhook_delivery *d, const char *url, const char *secret,
    const char *body)
{
	char *sig = webhook_signature(secret, (long long)time(NULL), body);
	char *line;

	d->call = http_call_new(url, on_done, d);
	http_call_direct(d->call, addr_allowed);
	http_call_limits(d->call, config_int("PB_WEBHOOK_CONNECT_TIMEOUT_SEC") * 1000L,
	    config_int("PB_WEBHOOK_TIMEOUT_SEC") * 1000L, ANSWER_MAX);
	http_call_header(d->call, "Content-Type: application/json");
	line = xasprintf("Photobridge-Signature: %s", sig);
	http_call_header(d->call, line);
	free(line);
	line = xasprintf("X-Photobridge-Event-Id: %s", d->id);
	http_call_header(d->call, line);
	free(line);
	line = xasprintf("X-Photobridge-Event: %s", d->type);
	http_call_header(d->call, line);
	free(line);
	free(sig);
	http_call_body(d->call, body, strlen(body));
	http_call_start(d->call);
}
