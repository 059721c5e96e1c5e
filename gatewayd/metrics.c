/*
 * metrics.c - GET /metrics: Prometheus text format 0.0.4.
 *
 * One scrape costs one SQL statement and one `status` call per daemon
 * socket, whatever the history holds: the counters that must survive
 * restarts are rows kept by triggers (ingest_counter, job_counter; see
 * sql/005_stats.sql), the gauges read small partial indexes (queued and
 * running jobs) and media_object (bounded by retention).  Counters kept
 * in a daemon's memory (rate-limit waits, janitor deletions) restart at
 * zero with the daemon, which Prometheus' rate() handles.  Every family
 * is listed in docs/operations.md.  Each series is written once: where a
 * table holds finer rows than a family's labels (job_counter's error
 * classes under provider_calls_total), SQL sums them first; tests/prom-parse
 * refuses a repeated series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemons.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "proto.h"
#include "refusals.h"
#include "util.h"

#define STATUS_TIMEOUT_MS	500
#define POOL_WAIT_MS		2000

/* st[] below is indexed in daemons_servers' order: ingestd, jobd, providerd, janitor. */
static const char *const *const daemons = daemons_servers;

/* (family, a, b, c, value) rows; see metrics_db() for each family. */
static const char metrics_sql[] =
	"SELECT 'ingest', slot_id, provider_id, lower(status), requests::text"
	" FROM ingest_counter"
	" UNION ALL SELECT 'bucket', provider_id, u.i::text, '', sum(u.n)::text"
	" FROM ingest_counter, unnest(buckets) WITH ORDINALITY AS u (n, i)"
	" GROUP BY provider_id, u.i"
	" UNION ALL SELECT 'sum', provider_id, '', '', (sum(ms_sum) / 1000.0)::numeric(20, 3)::text"
	" FROM ingest_counter GROUP BY provider_id"
	" UNION ALL SELECT 'bounds', array_to_string(pb_latency_bounds_ms(), ','), '', '', ''"
	" UNION ALL SELECT 'job', provider_id, event, class, n::text FROM job_counter"
	" UNION ALL SELECT 'calls', provider_id, substring(event FROM 6), '', sum(n)::text"
	" FROM job_counter WHERE event LIKE 'call\\_%' GROUP BY provider_id, event"
	" UNION ALL SELECT 'active', provider_id, state, '', count(*)::text FROM job"
	" WHERE state IN ('queued', 'running') GROUP BY provider_id, state"
	" UNION ALL SELECT 'due', provider_id, '', '', count(*)::text FROM job"
	" WHERE state = 'queued' AND run_at <= now() GROUP BY provider_id"
	" UNION ALL SELECT 'oldest', provider_id, '', '',"
	" extract(epoch FROM now() - min(created_at))::numeric(12, 3)::text FROM job"
	" WHERE state = 'queued' GROUP BY provider_id"
	" UNION ALL SELECT 'media', kind, count(*)::text, '', sum(size_bytes)::text"
	" FROM media_object GROUP BY kind"
	" UNION ALL SELECT 'webhook_backlog', '', '', '', count(*)::text FROM webhook_event"
	" WHERE state = 'pending'"
	" UNION ALL SELECT 'circuit', provider_id, model, '',"
	" CASE state WHEN 'closed' THEN '0' WHEN 'open' THEN '1' ELSE '2' END FROM provider_circuit"
	" UNION ALL SELECT 'circuit_moves', provider_id, model, '', transitions::text"
	" FROM provider_circuit"
	" UNION ALL SELECT 'spend', scope, id, '', spent::float8::text FROM pb_spend_status()"
	" UNION ALL SELECT 'spend_cap', scope, id, '', cap::float8::text FROM pb_spend_status()"
	" UNION ALL SELECT 'spend_ratio', scope, id, '', (CASE WHEN cap > 0 THEN spent / cap"
	" ELSE 1 END)::float8::text FROM pb_spend_status()";

struct out {
	struct strbuf	 b;
	PGresult	*res;
};

static void
family(struct out *o, const char *name, const char *type, const char *help)
{
	char *s = xasprintf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);

	strbuf_puts(&o->b, s);
	free(s);
}

/* A label value as the format wants it: \\, \" and \n escaped. */
static void
label(struct out *o, const char *name, const char *value, int first)
{
	if (!first)
		strbuf_putc(&o->b, ',');
	strbuf_puts(&o->b, name);
	strbuf_puts(&o->b, "=\"");
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			strbuf_putc(&o->b, '\\');
		if (*p == '\n')
			strbuf_puts(&o->b, "\\n");
		else
			strbuf_putc(&o->b, *p);
	}
	strbuf_putc(&o->b, '"');
}

/* name{k1="v1",k2="v2"} value; k2 may be NULL. */
static void
sample(struct out *o, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *value)
{
	strbuf_puts(&o->b, name);
	if (k1 != NULL) {
		strbuf_putc(&o->b, '{');
		label(o, k1, v1, 1);
		if (k2 != NULL)
			label(o, k2, v2, 0);
		strbuf_putc(&o->b, '}');
	}
	strbuf_putc(&o->b, ' ');
	strbuf_puts(&o->b, value);
	strbuf_putc(&o->b, '\n');
}

static const char *
col(struct out *o, int i, int c)
{
	return PQgetvalue(o->res, i, c);
}

static int
is_family(struct out *o, int i, const char *f)
{
	return strcmp(col(o, i, 0), f) == 0;
}

/* The ingest latency histogram per provider, cumulative as le wants. */
static void
metrics_histogram(struct out *o)
{
	const char *name = "photobridge_ingest_duration_seconds";
	char *bounds = NULL, le[32], num[32];
	int n = PQntuples(o->res);

	for (int i = 0; i < n; i++)
		if (is_family(o, i, "bounds"))
			bounds = xstrdup(col(o, i, 1));
	family(o, name, "histogram", "Time from receipt to the answer of ingests.");
	for (int i = 0; bounds != NULL && i < n; i++) {
		const char *provider = col(o, i, 1), *p = bounds;
		long long total = 0;

		if (!is_family(o, i, "sum"))
			continue;
		/* Buckets arrive in index order per provider: 1 .. bounds + 1. */
		for (int k = 1;; k++) {
			for (int j = 0; j < n; j++)
				if (is_family(o, j, "bucket") && strcmp(col(o, j, 1), provider) == 0 &&
				    atoi(col(o, j, 2)) == k)
					total += strtoll(col(o, j, 4), NULL, 10);
			if (*p == '\0') {
				snprintf(le, sizeof(le), "+Inf");
			} else {
				snprintf(le, sizeof(le), "%g", strtod(p, NULL) / 1000.0);
				p += strcspn(p, ",");
				p += *p == ',';
			}
			snprintf(num, sizeof(num), "%lld", total);
			sample(o, "photobridge_ingest_duration_seconds_bucket", "provider",
			    provider, "le", le, num);
			if (strcmp(le, "+Inf") == 0)
				break;
		}
		sample(o, "photobridge_ingest_duration_seconds_sum", "provider", provider,
		    NULL, NULL, col(o, i, 4));
		sample(o, "photobridge_ingest_duration_seconds_count", "provider", provider,
		    NULL, NULL, num);
	}
	free(bounds);
}

/* Rows of one family as samples: labels from columns a and b. */
static void
metrics_rows(struct out *o, const char *fam, const char *event, const char *name,
    const char *k1, const char *k2, int value_col)
{
	for (int i = 0; i < PQntuples(o->res); i++) {
		if (!is_family(o, i, fam) || (event != NULL && strcmp(col(o, i, 2), event) != 0))
			continue;
		sample(o, name, k1, col(o, i, 1), k2, k2 != NULL ?
		    col(o, i, event != NULL ? 3 : 2) : NULL, col(o, i, value_col));
	}
}

static void
metrics_db(struct out *o)
{
	int n = PQntuples(o->res);

	family(o, "photobridge_ingest_requests_total", "counter",
	    "Ingest requests answered (one processing_log row each).");
	for (int i = 0; i < n; i++) {
		if (!is_family(o, i, "ingest"))
			continue;
		strbuf_puts(&o->b, "photobridge_ingest_requests_total{");
		label(o, "slot", col(o, i, 1), 1);
		label(o, "provider", col(o, i, 2), 0);
		label(o, "status", col(o, i, 3), 0);
		strbuf_puts(&o->b, "} ");
		strbuf_puts(&o->b, col(o, i, 4));
		strbuf_putc(&o->b, '\n');
	}
	metrics_histogram(o);
	family(o, "photobridge_jobs", "gauge", "Jobs queued or running now.");
	metrics_rows(o, "active", NULL, "photobridge_jobs", "provider", "state", 4);
	family(o, "photobridge_queue_due", "gauge",
	    "Queued jobs whose time has come (not waiting for a retry).");
	metrics_rows(o, "due", NULL, "photobridge_queue_due", "provider", NULL, 4);
	family(o, "photobridge_queue_oldest_age_seconds", "gauge",
	    "Age of the oldest queued job.");
	metrics_rows(o, "oldest", NULL, "photobridge_queue_oldest_age_seconds", "provider",
	    NULL, 4);
	family(o, "photobridge_jobs_finished_total", "counter",
	    "Jobs that ended, by final state.");
	metrics_rows(o, "job", "finished", "photobridge_jobs_finished_total", "provider",
	    "state", 4);
	family(o, "photobridge_provider_calls_total", "counter",
	    "Provider calls (attempts) that ended, ok or error.");
	/* Summed over error classes in SQL: one sample per (provider, outcome). */
	metrics_rows(o, "calls", NULL, "photobridge_provider_calls_total", "provider",
	    "outcome", 4);
	family(o, "photobridge_provider_errors_total", "counter",
	    "Failed provider calls by error class.");
	metrics_rows(o, "job", "call_error", "photobridge_provider_errors_total",
	    "provider", "class", 4);
	family(o, "photobridge_provider_retries_total", "counter",
	    "Failed calls whose job was queued again.");
	metrics_rows(o, "job", "retry", "photobridge_provider_retries_total", "provider",
	    NULL, 4);
	family(o, "photobridge_media_files", "gauge", "Stored files by kind.");
	metrics_rows(o, "media", NULL, "photobridge_media_files", "kind", NULL, 2);
	family(o, "photobridge_media_bytes", "gauge", "Bytes of stored files by kind.");
	metrics_rows(o, "media", NULL, "photobridge_media_bytes", "kind", NULL, 4);
	family(o, "photobridge_webhook_backlog", "gauge",
	    "Webhook events not yet delivered nor abandoned.");
	metrics_rows(o, "webhook_backlog", NULL, "photobridge_webhook_backlog", NULL, NULL, 4);
	family(o, "photobridge_provider_circuit_state", "gauge",
	    "Circuit breaker per provider and model (\"\" = default): 0 closed, 1 open, "
	    "2 half-open.");
	metrics_rows(o, "circuit", NULL, "photobridge_provider_circuit_state", "provider",
	    "model", 4);
	family(o, "photobridge_provider_circuit_transitions_total", "counter",
	    "Circuit breaker state changes.");
	metrics_rows(o, "circuit_moves", NULL, "photobridge_provider_circuit_transitions_total",
	    "provider", "model", 4);
	family(o, "photobridge_spend_usd", "gauge",
	    "Today's (UTC) spend of a capped slot or provider, test runs included.");
	metrics_rows(o, "spend", NULL, "photobridge_spend_usd", "scope", "id", 4);
	family(o, "photobridge_spend_cap_usd", "gauge", "The daily spend cap.");
	metrics_rows(o, "spend_cap", NULL, "photobridge_spend_cap_usd", "scope", "id", 4);
	family(o, "photobridge_spend_cap_ratio", "gauge",
	    "Today's spend over the daily cap (the UI warns from 0.8; at 1 no paid call).");
	metrics_rows(o, "spend_ratio", NULL, "photobridge_spend_cap_ratio", "scope", "id", 4);
}

/* Members of obj (name -> integer) as samples with one label. */
static void
metrics_object(struct out *o, const char *name, const char *k, json_t *obj)
{
	const char *key;
	json_t *v;
	char num[32];

	json_object_foreach(obj, key, v) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		sample(o, name, k, key, NULL, NULL, num);
	}
}

static void
metrics_daemons(struct out *o, int db_up)
{
	json_t *st[DAEMONS_SERVERS], *req = json_pack("{s:s}", "op", PROTO_VERB_STATUS);
	char err[256], num[32];

	for (size_t i = 0; i < DAEMONS_SERVERS; i++)
		st[i] = daemon_call(daemons[i], req, STATUS_TIMEOUT_MS, err, sizeof(err));
	json_decref(req);
	family(o, "photobridge_up", "gauge",
	    "1 when the daemon answered status within 500 ms.");
	sample(o, "photobridge_up", "daemon", DAEMON_GATEWAYD, NULL, NULL, "1");
	for (size_t i = 0; i < DAEMONS_SERVERS; i++)
		sample(o, "photobridge_up", "daemon", daemons[i], NULL, NULL,
		    json_is_true(json_object_get(st[i], "ok")) ? "1" : "0");
	family(o, "photobridge_database_up", "gauge",
	    "1 when gatewayd's metrics query succeeded.");
	sample(o, "photobridge_database_up", NULL, NULL, NULL, NULL, db_up ? "1" : "0");
	family(o, "photobridge_daemon_uptime_seconds", "gauge", "Seconds since start.");
	for (size_t i = 0; i < DAEMONS_SERVERS; i++) {
		if (st[i] == NULL)
			continue;
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(json_object_get(st[i], "uptime_sec")));
		sample(o, "photobridge_daemon_uptime_seconds", "daemon", daemons[i], NULL,
		    NULL, num);
	}
	family(o, "photobridge_ingest_quota_refused_total", "counter",
	    "Ingests answered at once because the provider's quota was used up "
	    "or its queue was full (since ingestd start).");
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(
	    json_object_get(json_object_get(st[0], "ingest"), "quota_refused")));
	sample(o, "photobridge_ingest_quota_refused_total", NULL, NULL, NULL, NULL, num);
	family(o, "photobridge_ingest_waiting", "gauge",
	    "Booths waiting for their result in ingestd now.");
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(
	    json_object_get(json_object_get(st[0], "ingest"), "waiting")));
	sample(o, "photobridge_ingest_waiting", NULL, NULL, NULL, NULL, num);
	family(o, "photobridge_provider_in_flight", "gauge",
	    "Provider calls this host's jobd waits for now.");
	metrics_object(o, "photobridge_provider_in_flight", "provider",
	    json_object_get(json_object_get(st[1], "jobs"), "in_flight"));
	family(o, "photobridge_rate_limit_waits_total", "counter",
	    "jobd claim passes that found due jobs but no rate budget (since jobd start).");
	metrics_object(o, "photobridge_rate_limit_waits_total", "provider",
	    json_object_get(json_object_get(st[1], "jobs"), "rate_limited"));
	family(o, "photobridge_janitor_deleted_files_total", "counter",
	    "Files the janitor deleted, by kind (since janitor start).");
	metrics_object(o, "photobridge_janitor_deleted_files_total", "kind",
	    json_object_get(json_object_get(st[3], "janitor"), "kinds"));
	family(o, "photobridge_janitor_deleted_bytes_total", "counter",
	    "Bytes the janitor deleted (since janitor start).");
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(
	    json_object_get(json_object_get(st[3], "janitor"), "bytes")));
	sample(o, "photobridge_janitor_deleted_bytes_total", NULL, NULL, NULL, NULL, num);
	family(o, "photobridge_webhook_deliveries_total", "counter",
	    "Webhook delivery attempts by outcome: delivered, failed (retried), abandoned "
	    "(since janitor start).");
	metrics_object(o, "photobridge_webhook_deliveries_total", "outcome",
	    json_object_get(json_object_get(st[3], "webhook"), "outcomes"));
	for (size_t i = 0; i < DAEMONS_SERVERS; i++)
		json_decref(st[i]);
}

int
metrics_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *why = "";
	struct out o;
	int64_t start = now_ms();
	char took[32];
	PGconn *db;
	int status;

	(void)arg;
	if (strcmp(ri->request_method, "GET") != 0)
		return http_send_error(conn, ERR_METHOD_NOT_ALLOWED, "use GET");
	if ((status = metrics_authorize(conn, &why)) != 200) {
		log_warn("metrics.refused", "peer=%s status=%d", ri->remote_addr, status);
		return http_send_error(conn, status == 401 ? ERR_UNAUTHORIZED :
		    ERR_FORBIDDEN, why);
	}
	strbuf_init(&o.b);
	o.res = NULL;
	if ((db = pool_get(POOL_WAIT_MS)) != NULL) {
		o.res = pool_exec(db, metrics_sql, 0, NULL);
		pool_put(db);
	}
	if (o.res != NULL)
		metrics_db(&o);
	metrics_daemons(&o, o.res != NULL);
	refusals_metrics(&o.b);
	PQclear(o.res);
	family(&o, "photobridge_scrape_duration_seconds", "gauge",
	    "How long this scrape took gatewayd.");
	snprintf(took, sizeof(took), "%.3f", (double)(now_ms() - start) / 1000.0);
	sample(&o, "photobridge_scrape_duration_seconds", NULL, NULL, NULL, NULL, took);
	http_begin(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
	    (long long)o.b.len, NULL);
	mg_write(conn, o.b.data, o.b.len);
	log_debug("metrics.scraped", "peer=%s bytes=%zu ms=%lld", ri->remote_addr, o.b.len,
	    (long long)(now_ms() - start));
	strbuf_free(&o.b);
	return 200;
}
