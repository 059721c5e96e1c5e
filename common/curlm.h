/*
 * curlm.h - HTTP calls on libcurl's multi interface, driven by the
 * daemon's event loop: hundreds of calls in flight on one thread, with
 * connections (and TLS sessions) reused between calls.  providerd calls
 * the AI providers with it, janitor delivers webhooks.
 */
#ifndef PB_CURLM_H
#define PB_CURLM_H

#include <curl/curl.h>

#include "evloop.h"
#include "util.h"

struct http_call;
typedef void (*http_done_cb)(struct http_call *, void *arg);

struct http_call {
	/* results, valid in the done callback */
	long		 status;	/* HTTP status, 0 when no response */
	CURLcode	 code;		/* CURLE_OK or the transfer error */
	char		 error[CURL_ERROR_SIZE];
	struct strbuf	 body;
	struct strbuf	 headers;	/* raw response header lines */
	int		 too_large;	/* the response passed the body limit */
	/* private */
	CURL		*easy;
	struct curl_slist *req_headers;
	size_t		 max_body;
	http_done_cb	 done;
	void		*arg;
	void		(*body_free)(void *);
	void		*body_arg;
};

void	curlm_init(struct evloop *);
void	curlm_shutdown(void);
int	curlm_active(void);

/* A POST of body (copied) to url; headers are "Name: value" lines. */
struct http_call *http_call_new(const char *url, http_done_cb, void *arg);
void	http_call_header(struct http_call *, const char *line);
void	http_call_body(struct http_call *, const void *body, size_t len);
/*
 * A POST of len bytes that libcurl pulls with read() (CURLOPT_READFUNCTION)
 * as it sends them, seek() rewinding for a resend on a reused connection:
 * no copy of the body.  free(arg) runs when the call is freed.
 */
void	http_call_body_stream(struct http_call *, curl_off_t len,
	    curl_read_callback read, curl_seek_callback seek, void (*free_arg)(void *),
	    void *arg);
void	http_call_get(struct http_call *);
void	http_call_limits(struct http_call *, long connect_ms, long total_ms,
	    size_t max_body);
/*
 * No proxy, and the address of every connection the call makes or
 * reuses must pass allowed(): a new one is refused before connect(), a
 * cached one before the request is sent (CURLE_COULDNT_CONNECT or
 * CURLE_ABORTED_BY_CALLBACK).  Checked on the real address, so a name
 * that resolves elsewhere later is refused too.
 */
void	http_call_direct(struct http_call *, int (*allowed)(const struct sockaddr *));
void	http_call_start(struct http_call *);
/* Stops a call without running its callback, and frees it. */
void	http_call_cancel(struct http_call *);
/* "provider_timeout" or "network": what a transfer without an answer met. */
const char *http_call_failure(const struct http_call *);
/* Retry-After (seconds) or retry-after-ms of the answer; -1 when absent. */
long	http_call_retry_after_ms(const struct http_call *);
/* A response header's value (case-insensitive name), malloc'd, or NULL. */
char	*http_call_response_header(const struct http_call *, const char *name);

#endif
