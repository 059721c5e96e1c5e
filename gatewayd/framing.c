/* framing.c - see framing.h. */
#include <string.h>
#include <strings.h>

#include "framing.h"
#include "http.h"
#include "linger.h"
#include "log.h"
#include "proto.h"
#include "refusals.h"

/* 1..18 digits, no sign, no leading zero (but "0"), then optional blanks. */
static int
canonical_length(const char *v)
{
	size_t n = strspn(v, "0123456789");

	if (n == 0 || n > 18 || (v[0] == '0' && n > 1))
		return 0;
	return v[n + strspn(v + n, " \t")] == '\0';
}

/*
 * civetweb parses headers in place: "Name : v" becomes "Name\0\0 v", so a
 * NUL between the name's end and its value is a blank before the colon.
 */
static int
blank_before_colon(const struct mg_header *h)
{
	for (const char *p = h->name + strlen(h->name) + 1; p < h->value; p++)
		if (*p == '\0')
			return 1;
	return 0;
}

int
framing_check(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *why = NULL, *header = NULL;
	int lengths = 0, encodings = 0;

	linger_reset();
	for (int i = 0; i < ri->num_headers && why == NULL; i++) {
		const struct mg_header *h = &ri->http_headers[i];

		header = h->name;
		if (blank_before_colon(h))
			why = "whitespace between a header name and its colon";
		else if (strcasecmp(h->name, "Content-Length") == 0 &&
		    (lengths++ > 0 || !canonical_length(h->value)))
			why = "Content-Length must be given once, as a decimal number";
		else if (strcasecmp(h->name, "Transfer-Encoding") == 0 && encodings++ > 0)
			why = "Transfer-Encoding must be given once";
	}
	if (why == NULL && lengths > 0 && encodings > 0) {
		why = "Transfer-Encoding and Content-Length together are refused";
		header = "Transfer-Encoding";
	}
	if (why == NULL)
		return 0;
	log_warn("http.framing_refused", "peer=%s msg=%s", ri->remote_addr, why);
	refusals_count(ERR_BAD_REQUEST);
	linger_arm(conn);
	/* civetweb keeps header names to printable ASCII: safe in JSON. */
	http_send_json(conn, 400, json_pack("{s:{s:s, s:s, s:{s:s}}}", "error", "code",
	    ERR_BAD_REQUEST, "message", why, "details", "header", header));
	return 400;
}
