/* providerd.h - what providerd's files share. */
#ifndef PB_PROVIDERD_H
#define PB_PROVIDERD_H

#include <jansson.h>

#include "catalog.h"
#include "image.h"
#include "providers.h"
#include "secrets.h"
#include "sockserver.h"

extern struct catalog	*providerd_catalog;
extern struct secrets	 providerd_secrets;

/* One image handed to a provider. */
struct run_input {
	char		*mime;
	unsigned char	*data;
	size_t		 len;
	char		*file_uri;	/* set once uploaded (Gemini Files API) */
};

#define RUN_MAX_INPUTS	8

/* One attempt of one job, from jobd's `run` to the reply. */
struct run {
	struct sock_conn	*conn;
	char			*job, *req, *slot, *operation_id;
	int			 attempt;
	const struct provider	*provider;
	const struct provider_client *client;
	json_t			*settings;
	struct run_input	 inputs[RUN_MAX_INPUTS];
	size_t			 ninputs;
	char			*api_key;
	int64_t			 deadline_wall_ms;
	int64_t			 started_ms;
	int			 pending;	/* HTTP calls in flight */
	struct http_call	*call;
	int			 upright_w, upright_h; /* the photo as the booth sees it */
};

/* verbs.c: the socket verbs. */
extern const struct verb providerd_verbs[];

/* run.c */
/* The run verb: job a UUID, attempt >= 0 (verbs.c checked); NULL when deferred. */
json_t	*run_start(struct sock_request *, const char *job, int attempt, const char *req);
int	run_count(void);
void	run_status(json_t *reply);
/* Ends the attempt: a retryable or final error. */
void	run_fail(struct run *, int retryable, long retry_after_ms, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Ends the attempt with a provider's RETRYABLE or FINAL result. */
void	run_fail_result(struct run *, const struct provider_result *);
/* Converts the provider's image to the slot's output (finish.c), then run_store(). */
void	run_succeed(struct run *, const unsigned char *image, size_t len,
	    const char *mime, double cost_usd);
/* Answers jobd with the committed result and frees the run. */
void	run_succeeded(struct run *, const char *media, double cost_usd);

/* store.c: stores the image and its thumbnail (may be NULL), commits the
 * job's success (fenced; waits out a database outage) and answers. */
void	run_store(struct run *, const struct image_buf *image,
	    const struct image_buf *thumb, double cost_usd);
/* Milliseconds left before the job's deadline (at least 1). */
long	run_time_left_ms(const struct run *);

/* media.c: a stored image, only if it is the job's own input or its slot's template. */
struct media_scope {
	const char	*req, *job, *slot;
};
struct media_blob {
	char		*data;
	char		*mime;
	size_t		 len;
};
enum { MEDIA_OK = 0, MEDIA_MISSING = -1, MEDIA_REFUSED = -2 };
int	media_load(const struct media_scope *, const char *id, size_t max,
	    struct media_blob *);

/* imgwork.c: image steps on worker threads; done runs on the loop. */
struct evloop;
typedef void (*imgwork_fn)(void *arg);
typedef void (*imgwork_done)(void *arg);
void	imgwork_init(struct evloop *, int threads);
void	imgwork_submit(imgwork_fn, imgwork_done, void *arg);
int	imgwork_pending(void);
void	imgwork_shutdown(void);
/* heaptrim.c: malloc_trim(0) once providerd has been idle 2 s. */
void	heaptrim_arm(void);

/* prepare.c: upright, downscaled, stripped inputs, then the client's call
 * (the prepare step of the clients that send images). */
void	prepare_start(struct run *);
long long prepare_max_pixels(void);
#define THUMB_SIDE_PX	320

/* local_ops.c: the local provider's operations (thread-safe). */
struct local_limits {
	long long	 max_pixels;
	int		 match_w, match_h;	/* for output.match_input */
};
int	local_apply(const char *operation, const json_t *settings, const void *photo,
	    size_t len, const void *tmpl, size_t tlen, const struct local_limits *,
	    struct image_buf *out, char *err, size_t errlen);

/*
 * fallback.c: the fallback verb ingestd calls when a slot's AI job failed or
 * is late; job a UUID, mode original or local (verbs.c checked).
 */
json_t	*fallback_start(struct sock_request *, const char *job, const char *mode,
	    const char *req);

/* publish.c: the inputs as signed public links (urls[ninputs], malloc'd). */
int	publish_inputs(struct run *, char **urls);

/* turbotext_call.c: turbotext_client's webhook handler. */
json_t	*turbotext_webhook(const char *token, json_t *payload);

#endif
