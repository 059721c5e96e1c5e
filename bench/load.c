/*
 * bench-load - a closed-loop HTTP load generator on libcurl's multi interface.
 *
 * SYNOPSIS
 *	bench-load --url URL --body FILE [--header 'Name: value' ...]
 *	    [--concurrency N] [--requests M] [--unique-header NAME]
 *	    [--timeout S] [--keep-alive] [--booth-addresses]
 *
 * DESCRIPTION
 *	Sends M POSTs of FILE's bytes to URL with at most N in flight: a new
 *	request starts as soon as one ends, as N booths would.  Each request
 *	opens its own connection (a booth's photo arrives on a fresh one);
 *	--keep-alive lets requests reuse connections instead, as providerd
 *	does with a provider.  With --booth-addresses each of the N booths
 *	connects from its own loopback address (127.1.X.Y), as booths on an
 *	event's network do: gatewayd caps connections per client address.
 *	With --unique-header, each request carries NAME with a value of its
 *	own (e.g. Idempotency-Key, so that no request repeats another).  The
 *	latency of a request is from its start to the last byte of its answer.
 *	Prints one line of key=value pairs on stdout:
 *
 *	requests= ok= errors= seconds= rps= ok_rps= mean_ms= p50_ms= p95_ms=
 *	    p99_ms= max_ms= resp_bytes= cpu_ms= [err_STATUS=N ...]
 *	    [err_transport=N]
 *
 *	ok counts 200 answers, ok_rps is ok per second; errors counts the
 *	rest by status, a failed transfer (refused, reset, timed out) as
 *	transport.  Percentiles are over every request, answered or not.
 *	resp_bytes is the mean size of a 200 answer, cpu_ms the CPU time
 *	(user + system) bench-load itself used.
 *
 * EXIT STATUS
 *	0 the run completed (whatever the answers), 1 failure, 2 usage.
 */
#include <sys/resource.h>

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_HEADERS	32
#define MAX_BODY	(256L << 20)
#define MAX_STATUS	600

struct flight {
	CURL			*easy;
	struct curl_slist	*headers;
	int64_t			 start_us;
	size_t			 bytes;
};

static struct {
	const char	*url, *unique;
	const char	*headers[MAX_HEADERS];
	int		 nheaders;
	char		*body;
	size_t		 bodylen;
	long		 timeout_s;
	int		 keep_alive, booth_addresses;
	char		 prefix[64];
} opt = { .timeout_s = 60 };

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: bench-load --url URL --body FILE "
	    "[--header 'Name: value' ...]\n"
	    "    [--concurrency N] [--requests M] [--unique-header NAME] "
	    "[--timeout S] [--keep-alive] [--booth-addresses]\n");
	exit(2);
}

static long
arg_long(const char *s, long min, long max)
{
	long v;

	if (parse_long(s, &v) == -1 || v < min || v > max)
		usage();
	return v;
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct flight *f = arg;

	(void)p;
	f->bytes += size * n;
	return size * n;
}

static struct curl_slist *
append_header(struct curl_slist *list, const char *h)
{
	struct curl_slist *l = curl_slist_append(list, h);

	if (l == NULL)
		fatal("oom", "in=%s", "curl_slist_append");
	return l;
}

/* Booth k (its flight's index) is 127.1.k/250.k%250+1. */
static void
flight_start(CURLM *multi, struct flight *f, long seq, long booth)
{
	char *h, addr[64];
	int i;

	f->headers = NULL;
	for (i = 0; i < opt.nheaders; i++)
		f->headers = append_header(f->headers, opt.headers[i]);
	if (opt.unique != NULL) {
		h = xasprintf("%s: %s-%ld", opt.unique, opt.prefix, seq);
		f->headers = append_header(f->headers, h);
		free(h);
	}
	if ((f->easy = curl_easy_init()) == NULL)
		fatal("curl.init", "err=%s", "curl_easy_init failed");
	curl_easy_setopt(f->easy, CURLOPT_URL, opt.url);
	curl_easy_setopt(f->easy, CURLOPT_POSTFIELDS, opt.body);
	curl_easy_setopt(f->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)opt.bodylen);
	curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->headers);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
	curl_easy_setopt(f->easy, CURLOPT_FORBID_REUSE, opt.keep_alive ? 0L : 1L);
	curl_easy_setopt(f->easy, CURLOPT_TIMEOUT, opt.timeout_s);
	curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
	if (opt.booth_addresses) {
		snprintf(addr, sizeof(addr), "host!127.1.%ld.%ld", booth / 250,
		    booth % 250 + 1);
		curl_easy_setopt(f->easy, CURLOPT_INTERFACE, addr);
	}
	f->bytes = 0;
	f->start_us = now_us();
	if (curl_multi_add_handle(multi, f->easy) != CURLM_OK)
		fatal("curl.add", "err=%s", "curl_multi_add_handle failed");
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, in milliseconds. */
static double
pctl(const int64_t *sorted, long n, double p)
{
	long rank = (long)(p / 100.0 * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1000.0;
}

static void
report(int64_t *lat, long n, const long *status, long transport,
    double seconds, unsigned long long bytes)
{
	long ok = status[200], s;

	struct rusage ru;
	double cpu = 0, sum = 0;
	long i;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	if (seconds <= 0)
		seconds = 1e-6;
	for (i = 0; i < n; i++)
		sum += (double)lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("requests=%ld ok=%ld errors=%ld seconds=%.3f rps=%.2f ok_rps=%.2f "
	    "mean_ms=%.2f p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f "
	    "resp_bytes=%llu cpu_ms=%.0f", n, ok, n - ok, seconds,
	    (double)n / seconds, (double)ok / seconds, sum / (double)n / 1000.0,
	    pctl(lat, n, 50), pctl(lat, n, 95),
	    pctl(lat, n, 99), (double)lat[n - 1] / 1000.0,
	    ok > 0 ? bytes / (unsigned long long)ok : 0, cpu);
	for (s = 0; s < MAX_STATUS; s++)
		if (s != 200 && status[s] > 0)
			printf(" err_%ld=%ld", s, status[s]);
	if (transport > 0)
		printf(" err_transport=%ld", transport);
	printf("\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "body", required_argument, NULL, 'b' },
		{ "header", required_argument, NULL, 'H' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "requests", required_argument, NULL, 'n' },
		{ "unique-header", required_argument, NULL, 'U' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keep-alive", no_argument, NULL, 'k' },
		{ "booth-addresses", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	const char *bodyfile = NULL;
	long conc = 1, total = 1, started = 0, done = 0, transport = 0;
	long status[MAX_STATUS] = { 0 };
	unsigned long long bytes = 0;
	struct flight *flights, *f;
	int64_t *lat, t0;
	CURLM *multi;
	CURLMsg *msg;
	int c, running, left;

	log_init("bench-load");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': opt.url = optarg; break;
		case 'b': bodyfile = optarg; break;
		case 'H':
			if (opt.nheaders == MAX_HEADERS || strchr(optarg, ':') == NULL)
				usage();
			opt.headers[opt.nheaders++] = optarg;
			break;
		case 'c': conc = arg_long(optarg, 1, 10000); break;
		case 'n': total = arg_long(optarg, 1, 10000000); break;
		case 'U': opt.unique = optarg; break;
		case 't': opt.timeout_s = arg_long(optarg, 1, 3600); break;
		case 'k': opt.keep_alive = 1; break;
		case 'a': opt.booth_addresses = 1; break;
		default: usage();
		}
	}
	if (opt.url == NULL || bodyfile == NULL || optind != argc)
		usage();
	if ((opt.body = read_file(bodyfile, MAX_BODY, &opt.bodylen)) == NULL)
		fatal("body.read", "path=%s err=%s", bodyfile, strerror(errno));
	snprintf(opt.prefix, sizeof(opt.prefix), "bench-%ld-%lld",
	    (long)getpid(), (long long)wall_ms());
	if (conc > total)
		conc = total;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL)
		fatal("curl.init", "err=%s", "curl_multi_init failed");
	flights = xcalloc((size_t)conc, sizeof(*flights));
	lat = xcalloc((size_t)total, sizeof(*lat));

	t0 = now_us();
	for (; started < conc; started++)
		flight_start(multi, &flights[started], started, started);
	while (done < total) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			fatal("curl.multi", "err=%s", "curl_multi_perform failed");
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			long code = 0;
			char *priv;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			f = (struct flight *)(void *)priv;
			lat[done++] = now_us() - f->start_us;
			curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result != CURLE_OK)
				transport++;
			else if (code >= 0 && code < MAX_STATUS)
				status[code]++;
			else
				transport++;
			if (msg->data.result == CURLE_OK && code == 200)
				bytes += f->bytes;
			curl_multi_remove_handle(multi, f->easy);
			curl_easy_cleanup(f->easy);
			curl_slist_free_all(f->headers);
			if (started < total)
				flight_start(multi, f, started++, f - flights);
		}
		if (done < total && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK)
			fatal("curl.multi", "err=%s", "curl_multi_poll failed");
	}
	report(lat, total, status, transport, (double)(now_us() - t0) / 1e6, bytes);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	free(flights);
	free(lat);
	free(opt.body);
	return 0;
}
