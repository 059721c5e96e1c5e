/*
 * fakesrv.h - what the fake providers share (tests/fakes/README.md): the
 * command line, civetweb, the control API under /_fake/, a queue of
 * scripted behaviours, replies, outgoing HTTP (downloads, webhooks) and
 * small valid images to answer with.
 *
 * A fake defines its routes and behaviour keywords in a struct fake_def
 * and calls fake_main().  Control API (no key):
 *	POST /_fake/script {"behaviours":["kw kw",...]}	appends (times=N
 *		repeats an entry); one entry the fake refuses queues nothing: 400
 *	GET /_fake/stats	the fake's counters
 *	POST /_fake/reset	clears queue and counters
 */
#ifndef PB_FAKESRV_H
#define PB_FAKESRV_H

#include <stddef.h>
#include <civetweb.h>
#include <jansson.h>

struct fake_req {
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	int				 status;	/* answered with; 0 before */
};

struct fake_def {
	const char	*name;
	/* An API request (not /_fake/): answer it with fake_reply*. */
	void		(*route)(struct fake_req *, const char *method, const char *uri);
	/* 1 when a behaviour entry (times=N removed) is understood. */
	int		(*valid)(const char *behaviour);
	json_t		*(*stats)(void);	/* under the fake's own lock */
	void		(*reset)(void);
};

extern const char *fake_api_key;	/* --api-key, NULL: any non-empty key */

int	 fake_main(int argc, char **argv, const struct fake_def *);

/* The next queued behaviour (malloc'd), or NULL when the queue is empty. */
char	*fake_next_behaviour(void);
/* The value of keyword name=VALUE in a behaviour, def when absent. */
long	 fake_kw_long(const char *behaviour, const char *name, long def);
int	 fake_kw(const char *behaviour, const char *word);	/* word present */
/* 1 when every word (name or name=value) of behaviour is in words[]. */
int	 fake_words_known(const char *behaviour, const char *const *words);

void	 fake_reply(struct fake_req *, int status, const char *ctype,
	    const void *body, size_t len, const char *extra_headers);
void	 fake_reply_json(struct fake_req *, int status, json_t *body,
	    const char *extra_headers);	/* body stolen */
/* The request body, at most max bytes; NULL when larger or unreadable. */
char	*fake_read_body(struct fake_req *, size_t max, size_t *len);
/* "Authorization: Bearer K" with the accepted key. */
int	 fake_bearer_ok(struct fake_req *);
/* Sleeps ms, in steps, returning early (1) when the client went away. */
int	 fake_hang(struct fake_req *, long ms);

/* GET url: the body (malloc'd, at most max) and *status; NULL on failure. */
char	*fake_fetch(const char *url, size_t max, size_t *len, long *status);
/* POST a JSON body to url; the HTTP status, 0 when none. */
long	 fake_post_json(const char *url, const char *body);

/* A small valid image: "jpeg" (with a comment segment), "png" or "webp". */
unsigned char *fake_image(const char *format, const char *comment, size_t *len);

#endif
