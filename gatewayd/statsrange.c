/*
 * statsrange.c - the from/to/group_by parameters of the statistics API.
 *
 * Times are ISO 8601: a date (2024-04-01, the whole day: a date `to` is
 * inclusive) or a date and time with optional seconds and fraction and a
 * zone (Z or +hh:mm; none means UTC).  They are parsed here rather than
 * by PostgreSQL so that a bad value is a 400 naming the field, and the
 * range limit is checked before any query runs.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stats.h"
#include "proto.h"
#include "util.h"

#define DAY_MS	(86400LL * 1000)

/* n decimal digits at *p; advances. */
static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
stats_parse_time(const char *s, int64_t *ms, int *date_only)
{
	struct tm tm;
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off = 0;
	time_t t;

	if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 ||
	    *p++ != '-' || digits(&p, 2, &d) != 0)
		return -1;
	*date_only = *p == '\0';
	if (!*date_only) {
		if (*p != 'T' && *p != ' ')
			return -1;
		p++;
		if (digits(&p, 2, &h) != 0 || *p++ != ':' || digits(&p, 2, &mi) != 0)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) != 0)
				return -1;
		}
		if (*p == '.') {
			int scale = 100;

			for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
				frac_ms += (*p - '0') * scale;
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;

			if (digits(&p, 2, &oh) != 0)
				return -1;
			if (*p == ':')
				p++;
			if (digits(&p, 2, &om) != 0 || oh > 14 || om > 59)
				return -1;
			off = sign * (oh * 60 + om);
		}
		if (*p != '\0')
			return -1;
	}
	if (y < 2000 || y > 2200 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 2024-02-31 to March: refuse what it had to fix. */
	if (t == (time_t)-1 || tm.tm_mon != mo - 1 || tm.tm_mday != d)
		return -1;
	*ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac_ms;
	return 0;
}

static int
group_valid(const char *g, const char *const *allowed)
{
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(g, allowed[i]) == 0)
			return 1;
	return 0;
}

int
stats_range(struct api_req *r, struct stats_range *rg, int max_days,
    const char *const *groups, const char *def_group, int def_days)
{
	const char *from = api_query(r, "from"), *to = api_query(r, "to");
	const char *g = api_query(r, "group_by");
	int date_only;

	rg->group_by = g != NULL && g[0] != '\0' ? g : def_group;
	if (!group_valid(rg->group_by, groups)) {
		json_t *list = json_array();

		for (size_t i = 0; groups[i] != NULL; i++)
			json_array_append_new(list, json_string(groups[i]));
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s, s:o}",
		    "field", "group_by", "allowed", list), "group_by is not one of the allowed values");
	}
	if (to == NULL || to[0] == '\0') {
		rg->to_ms = wall_ms();
	} else if (stats_parse_time(to, &rg->to_ms, &date_only) != 0) {
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s}", "field",
		    "to"), "to is not an ISO 8601 date or time");
	} else if (date_only) {
		rg->to_ms += DAY_MS;
	}
	if (from == NULL || from[0] == '\0')
		rg->from_ms = rg->to_ms - def_days * DAY_MS;
	else if (stats_parse_time(from, &rg->from_ms, &date_only) != 0)
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s}", "field",
		    "from"), "from is not an ISO 8601 date or time");
	if (rg->from_ms >= rg->to_ms)
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s}", "field",
		    "from"), "from must be before to");
	if (rg->to_ms - rg->from_ms > max_days * DAY_MS)
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s, s:i}",
		    "field", "to", "max_days", max_days),
		    "the range is longer than %d days", max_days);
	snprintf(rg->from_s, sizeof(rg->from_s), "%lld.%03lld",
	    (long long)(rg->from_ms / 1000), (long long)(rg->from_ms % 1000));
	snprintf(rg->to_s, sizeof(rg->to_s), "%lld.%03lld",
	    (long long)(rg->to_ms / 1000), (long long)(rg->to_ms % 1000));
	return 0;
}

json_t *
stats_range_json(const struct stats_range *rg)
{
	char from[32], to[32];

	stats_iso(rg->from_ms, from, sizeof(from));
	stats_iso(rg->to_ms, to, sizeof(to));
	return json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "group_by",
	    rg->group_by);
}

void
stats_iso(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	if (ms % 1000 != 0)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    (int)(ms % 1000));
	else
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
