/*
 * stats.h - the statistics API (SPEC.md §7): GET /api/stats/{slot_id} and
 * GET /api/stats/global (reset_stats is in slots.c).  Everything
 * is computed by PostgreSQL from processing_log; the queries are in
 * stats.c, the parameter parsing in statsrange.c.
 */
#ifndef PB_GATEWAYD_STATS_H
#define PB_GATEWAYD_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "api.h"

struct stats_range {
	int64_t		 from_ms, to_ms;	/* [from, to), Unix ms */
	char		 from_s[32], to_s[32];	/* Unix seconds for to_timestamp() */
	const char	*group_by;		/* one of the allowed units */
};


/* 0 on success, else answered with 400 and its status. */
int	stats_range(struct api_req *, struct stats_range *, int max_days,
	    const char *const *groups, const char *def_group, int def_days);
json_t	*stats_range_json(const struct stats_range *);
/* ISO 8601 (date, or date and time with optional zone) to Unix ms; 0 or -1. */
int	stats_parse_time(const char *, int64_t *ms, int *date_only);
void	stats_iso(int64_t ms, char *buf, size_t len);	/* ...Z */

/* stats.c: one read-only snapshot for the queries of an answer (0, or -1). */
int	stats_begin(struct api_req *);
void	stats_end(struct api_req *);
/* Periods of the range for the caller's slots (provider, slot: "" for all). */
int	stats_periods(struct api_req *, const struct stats_range *, const char *provider,
	    const char *slot, json_t **periods, json_t **totals);
/* statsview.c: GET /api/stats/overview. */
int	stats_overview(struct api_req *);

#endif
