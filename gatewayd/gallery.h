/* gallery.h - the gallery's result rows, shared by the operator gallery and shares. */
#ifndef PB_GATEWAYD_GALLERY_H
#define PB_GATEWAYD_GALLERY_H

#include <jansson.h>
#include <libpq-fe.h>

#include "api.h"

/* Immutable stored files: the browser keeps them and never asks again. */
#define GALLERY_CACHE	"private, max-age=31536000, immutable"

/* Which results a page of the gallery holds. */
struct gallery_query {
	const char	*user_id;	/* decimal */
	const char	*slot_id;	/* NULL: every slot of the user */
	const char	*kind;		/* "ingest", "test" or NULL: both */
	const char	*from, *to;	/* finished in [from, to), ISO 8601, or NULL */
	const char	*before_at, *before_id;	/* the cursor: older than this, or NULL */
	const char	*after_at, *after_id;	/* newer than this (the live wait), or NULL */
	long		 limit;
};

/*
 * Columns: 0 job id, 1 slot id, 2 slot name, 3 kind, 4 finished_at (ISO),
 * 5 cursor, 6 result media id, 7 result mime, 8 width, 9 height,
 * 10 thumbnail media id (or NULL).  Newest first.
 */
PGresult *gallery_rows(struct api_req *, const struct gallery_query *);
/* Splits a cursor "<ISO time with microseconds>~<job uuid>"; 0 when well formed. */
int	gallery_cursor(struct api_req *, const char *cursor, const char **at,
	    const char **id);
/* Thumbnail width and height for a result of w x h (the pipeline's 320 px side). */
void	gallery_thumb_size(int w, int h, int *tw, int *th);

#endif
