/* fakesrv.c - the skeleton of the fake providers; see fakesrv.h. */
#include <sys/socket.h>
#include <netdb.h>

#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakesrv.h"
#include "log.h"
#include "util.h"

#define QUEUE_MAX	10000
#define CONTROL_MAX	(1024 * 1024)

const char *fake_api_key;

static const struct fake_def *def;
static atomic_int stopping;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static char **queue;
static size_t queue_len;

static const unsigned char img_jpeg[] = {
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01,
  0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43,
  0x00, 0x0a, 0x07, 0x07, 0x08, 0x07, 0x06, 0x0a, 0x08, 0x08, 0x08, 0x0b,
  0x0a, 0x0a, 0x0b, 0x0e, 0x18, 0x10, 0x0e, 0x0d, 0x0d, 0x0e, 0x1d, 0x15,
  0x16, 0x11, 0x18, 0x23, 0x1f, 0x25, 0x24, 0x22, 0x1f, 0x22, 0x21, 0x26,
  0x2b, 0x37, 0x2f, 0x26, 0x29, 0x34, 0x29, 0x21, 0x22, 0x30, 0x41, 0x31,
  0x34, 0x39, 0x3b, 0x3e, 0x3e, 0x3e, 0x25, 0x2e, 0x44, 0x49, 0x43, 0x3c,
  0x48, 0x37, 0x3d, 0x3e, 0x3b, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x0a, 0x0b,
  0x0b, 0x0e, 0x0d, 0x0e, 0x1c, 0x10, 0x10, 0x1c, 0x3b, 0x28, 0x22, 0x28,
  0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b,
  0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b,
  0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b,
  0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b,
  0x3b, 0x3b, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x18, 0x03,
  0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x00,
  0x16, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x04, 0xff, 0xc4, 0x00,
  0x16, 0x10, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x62, 0xff, 0xc4, 0x00,
  0x16, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x06, 0xff, 0xc4, 0x00,
  0x17, 0x11, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x15, 0x61, 0xff, 0xda,
  0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00,
  0xdd, 0x57, 0x45, 0x5d, 0x22, 0xea, 0xe8, 0xab, 0xa4, 0x9a, 0x0c, 0x6b,
  0x65, 0x69, 0x57, 0x42, 0x2e, 0xae, 0x82, 0x83, 0x09, 0x7f, 0xff, 0xd9
};
static const unsigned char img_png[] = {
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
  0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x10,
  0x10, 0x02, 0x00, 0x00, 0x00, 0xd3, 0xd6, 0xf4, 0x81, 0x00, 0x00, 0x00,
  0x74, 0x49, 0x44, 0x41, 0x54, 0x48, 0xc7, 0xed, 0xd1, 0xb1, 0x11, 0x80,
  0x20, 0x10, 0x44, 0xd1, 0x63, 0xc6, 0x00, 0xc3, 0x6b, 0x81, 0x5a, 0xac,
  0x47, 0x43, 0x43, 0x2e, 0x35, 0xb4, 0x1e, 0x6a, 0xa1, 0x05, 0x0c, 0x31,
  0x3b, 0x43, 0x20, 0x91, 0x70, 0x09, 0xf8, 0x15, 0xbc, 0xd9, 0x35, 0x44,
  0x22, 0x22, 0x34, 0x4c, 0x86, 0xf9, 0xa2, 0xf3, 0x41, 0x33, 0x4a, 0x0b,
  0xb3, 0x95, 0xf7, 0x40, 0x33, 0x1a, 0xd0, 0x2a, 0x79, 0x2c, 0xd0, 0x5c,
  0xa8, 0x07, 0x9a, 0x0b, 0xf5, 0x40, 0xd6, 0xe7, 0x1d, 0xcd, 0x68, 0x41,
  0xf3, 0xb2, 0xbf, 0x4c, 0x08, 0x51, 0xdd, 0x86, 0x66, 0x94, 0xc6, 0x5b,
  0x28, 0xc6, 0xa4, 0xec, 0xd0, 0x8c, 0x0a, 0x94, 0x52, 0xf6, 0xf6, 0x46,
  0x33, 0x2a, 0x90, 0xaa, 0x2a, 0x1a, 0x51, 0xf7, 0x01, 0xcc, 0x6f, 0x28,
  0x60, 0x67, 0x6a, 0x42, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
  0x44, 0xae, 0x42, 0x60, 0x82
};
static const unsigned char img_webp[] = {
  0x52, 0x49, 0x46, 0x46, 0x62, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50,
  0x56, 0x50, 0x38, 0x20, 0x56, 0x00, 0x00, 0x00, 0xf0, 0x03, 0x00, 0x9d,
  0x01, 0x2a, 0x18, 0x00, 0x10, 0x00, 0x3e, 0x91, 0x3a, 0x97, 0x47, 0xa5,
  0xa3, 0x22, 0x21, 0x30, 0x08, 0x00, 0xb0, 0x12, 0x09, 0x6c, 0x3b, 0x80,
  0x1b, 0xd6, 0x22, 0xaf, 0xe8, 0x00, 0x0b, 0x56, 0xb2, 0xf0, 0x9e, 0x80,
  0x00, 0xfe, 0xec, 0x17, 0x8d, 0x19, 0xf1, 0xab, 0xd7, 0xff, 0xb4, 0xbf,
  0xff, 0x8a, 0x1a, 0x77, 0xdf, 0xb5, 0x1f, 0xff, 0xd4, 0x26, 0xe7, 0xff,
  0xe4, 0x26, 0xe0, 0x90, 0x44, 0xb9, 0x6f, 0x1c, 0x19, 0xcf, 0x66, 0x44,
  0xa8, 0xbc, 0x0d, 0x12, 0x23, 0x45, 0x93, 0x75, 0x70, 0x00
};

/* Head and body in one write, so that no byte waits for a delayed ACK. */
void
fake_reply(struct fake_req *r, int status, const char *ctype, const void *body,
    size_t len, const char *extra)
{
	char *head = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
	    mg_get_response_code_text(r->conn, status), ctype, len,
	    extra != NULL ? extra : "");
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_puts(&sb, head);
	strbuf_put(&sb, body, len);
	(void)mg_write(r->conn, sb.data, sb.len);
	strbuf_free(&sb);
	free(head);
	r->status = status;
}

void
fake_reply_json(struct fake_req *r, int status, json_t *body, const char *extra)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (text == NULL)
		fatal("json.encode", "in=%s", def->name);
	fake_reply(r, status, "application/json", text, strlen(text), extra);
	free(text);
}

char *
fake_read_body(struct fake_req *r, size_t max, size_t *len)
{
	struct strbuf sb;
	char buf[16384];
	int n;

	strbuf_init(&sb);
	while ((n = mg_read(r->conn, buf, sizeof(buf))) > 0) {
		if (sb.len + (size_t)n > max) {
			strbuf_free(&sb);
			return NULL;
		}
		strbuf_put(&sb, buf, (size_t)n);
	}
	*len = sb.len;
	strbuf_putc(&sb, '\0');
	return strbuf_take(&sb);
}

int
fake_bearer_ok(struct fake_req *r)
{
	const char *h = mg_get_header(r->conn, "Authorization");

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || h[7] == '\0')
		return 0;
	return fake_api_key == NULL || strcmp(h + 7, fake_api_key) == 0;
}

int
fake_hang(struct fake_req *r, long ms)
{
	(void)r;
	for (long slept = 0; slept < ms; slept += 50) {
		if (atomic_load(&stopping))
			return 1;
		usleep(50000);
	}
	return 0;
}

struct fetch_buf {
	struct strbuf	sb;
	size_t		max;
};

static size_t
fetch_bounded(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_buf *fb = arg;

	if (fb->sb.len + size * n > fb->max)
		return 0;	/* aborts the transfer */
	strbuf_put(&fb->sb, data, size * n);
	return size * n;
}

char *
fake_fetch(const char *url, size_t max, size_t *len, long *status)
{
	struct fetch_buf fb = { { NULL, 0, 0 }, max };
	CURL *c = curl_easy_init();
	CURLcode rc;

	*status = 0;
	if (c == NULL)
		return NULL;
	strbuf_init(&fb.sb);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_bounded);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &fb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		strbuf_free(&fb.sb);
		return NULL;
	}
	*len = fb.sb.len;
	strbuf_putc(&fb.sb, '\0');
	return strbuf_take(&fb.sb);
}

long
fake_post_json(const char *url, const char *body)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct fetch_buf fb = { { NULL, 0, 0 }, 65536 };
	CURL *c = curl_easy_init();
	long status = 0;

	if (c == NULL || h == NULL) {
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
		return 0;
	}
	strbuf_init(&fb.sb);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_bounded);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &fb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	strbuf_free(&fb.sb);
	return status;
}

unsigned char *
fake_image(const char *format, const char *comment, size_t *len)
{
	const unsigned char *src = img_jpeg;
	size_t n = sizeof(img_jpeg), clen = comment != NULL ? strlen(comment) : 0;
	unsigned char *out;

	if (strcmp(format, "png") == 0 || strcmp(format, "webp") == 0) {
		src = strcmp(format, "png") == 0 ? img_png : img_webp;
		n = strcmp(format, "png") == 0 ? sizeof(img_png) : sizeof(img_webp);
		out = xmalloc(n);
		memcpy(out, src, n);
		*len = n;
		return out;
	}
	if (clen > 60000)
		clen = 60000;
	/* SOI, then a COM segment naming the job, then the rest of the JPEG. */
	out = xmalloc(n + clen + 4);
	memcpy(out, src, 2);
	out[2] = 0xff;
	out[3] = 0xfe;
	out[4] = (unsigned char)((clen + 2) >> 8);
	out[5] = (unsigned char)((clen + 2) & 0xff);
	memcpy(out + 6, comment != NULL ? comment : "", clen);
	memcpy(out + 6 + clen, src + 2, n - 2);
	*len = n + clen + 4;
	return out;
}

/* --- behaviours -------------------------------------------------------- */

int
fake_kw(const char *b, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = b; (p = strstr(p, word)) != NULL; p += n)
		if ((p == b || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ',' || p[n] == '='))
			return 1;
	return 0;
}

long
fake_kw_long(const char *b, const char *name, long def_value)
{
	size_t n = strlen(name);
	long v;

	for (const char *p = b; (p = strstr(p, name)) != NULL; p += n) {
		if ((p == b || p[-1] == ' ' || p[-1] == ',') && p[n] == '=') {
			char num[24];
			size_t k = strcspn(p + n + 1, " ,");

			if (k == 0 || k >= sizeof(num))
				return def_value;
			memcpy(num, p + n + 1, k);
			num[k] = '\0';
			return parse_long(num, &v) == 0 ? v : def_value;
		}
	}
	return def_value;
}

int
fake_words_known(const char *b, const char *const *words)
{
	char *copy = xstrdup(b), *save = NULL;
	int ok = 1;

	for (char *w = strtok_r(copy, " ,", &save); w != NULL && ok;
	    w = strtok_r(NULL, " ,", &save)) {
		size_t n = strcspn(w, "=");

		ok = 0;
		for (size_t i = 0; words[i] != NULL; i++)
			if (strlen(words[i]) == n && strncmp(w, words[i], n) == 0)
				ok = 1;
	}
	free(copy);
	return ok;
}

char *
fake_next_behaviour(void)
{
	char *b = NULL;

	pthread_mutex_lock(&queue_lock);
	if (queue_len > 0) {
		b = queue[0];
		memmove(queue, queue + 1, (queue_len - 1) * sizeof(*queue));
		queue_len--;
	}
	pthread_mutex_unlock(&queue_lock);
	return b;
}

static void
queue_clear(void)
{
	pthread_mutex_lock(&queue_lock);
	for (size_t i = 0; i < queue_len; i++)
		free(queue[i]);
	free(queue);
	queue = NULL;
	queue_len = 0;
	pthread_mutex_unlock(&queue_lock);
}

static void
control_script(struct fake_req *r)
{
	size_t len, i, total = 0;
	char *body = fake_read_body(r, CONTROL_MAX, &len);
	json_t *doc = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *list = json_object_get(doc, "behaviours"), *v;

	free(body);
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		long times = s != NULL ? fake_kw_long(s, "times", 1) : 0;

		if (s == NULL || times < 1 || times > QUEUE_MAX || !def->valid(s))
			break;
		total += (size_t)times;
	}
	if (!json_is_array(list) || i != json_array_size(list) || total > QUEUE_MAX) {
		json_decref(doc);
		fake_reply_json(r, 400, json_pack("{s:s}", "error", "bad behaviour list"), NULL);
		return;
	}
	pthread_mutex_lock(&queue_lock);
	queue = xrealloc(queue, (queue_len + total + 1) * sizeof(*queue));
	json_array_foreach(list, i, v) {
		long times = fake_kw_long(json_string_value(v), "times", 1);

		while (times-- > 0)
			queue[queue_len++] = xstrdup(json_string_value(v));
	}
	total = queue_len;
	pthread_mutex_unlock(&queue_lock);
	json_decref(doc);
	fake_reply_json(r, 200, json_pack("{s:I}", "queued", (json_int_t)total), NULL);
}

static int
handle(struct mg_connection *conn, void *arg)
{
	struct fake_req r = { conn, mg_get_request_info(conn), 0 };
	const char *m = r.ri->request_method, *u = r.ri->local_uri ? r.ri->local_uri : "";
	int64_t t0 = now_ms();
	json_t *stats;

	(void)arg;
	if (strcmp(u, "/_fake/script") == 0 && strcmp(m, "POST") == 0) {
		control_script(&r);
	} else if (strcmp(u, "/_fake/stats") == 0) {
		stats = def->stats();
		pthread_mutex_lock(&queue_lock);
		json_object_set_new(stats, "queued", json_integer((json_int_t)queue_len));
		pthread_mutex_unlock(&queue_lock);
		fake_reply_json(&r, 200, stats, NULL);
	} else if (strcmp(u, "/_fake/reset") == 0 && strcmp(m, "POST") == 0) {
		queue_clear();
		def->reset();
		fake_reply_json(&r, 200, json_pack("{s:b}", "ok", 1), NULL);
	} else {
		def->route(&r, m, u);
	}
	log_info("http.request", "method=%s path=%s status=%d ms=%lld", m, u, r.status,
	    (long long)(now_ms() - t0));
	return r.status > 0 ? r.status : 1;
}

static int
on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_warn("http.engine", "msg=%s", message);
	return 1;
}

/* civetweb's master polls its listener every 2 s: a connection wakes it. */
static void
wake_master(const char *host, long port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char serv[16];
	int fd;

	snprintf(serv, sizeof(serv), "%ld", port);
	if (getaddrinfo(host, serv, &hints, &ai) != 0)
		return;
	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) != -1) {
		(void)connect(fd, ai->ai_addr, ai->ai_addrlen);
		close(fd);
	}
	freeaddrinfo(ai);
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s --port N [--listen ADDR] [--api-key K] [--threads N]\n",
	    def->name);
	exit(2);
}

int
fake_main(int argc, char **argv, const struct fake_def *d)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "api-key", required_argument, NULL, 'k' },
		{ "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *listen = "127.0.0.1";
	char ports[128], threads[16];
	const char *mgopts[] = { "listening_ports", ports, "num_threads", threads,
	    "request_timeout_ms", "30000", "enable_keep_alive", "no",
	    "decode_url", "yes", "tcp_nodelay", "1", NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx;
	long port = 0, nthreads = 32;
	sigset_t set;
	int c, sig;

	def = d;
	log_init(d->name);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, &port) != 0 || port < 1 || port > 65535)
				usage();
			break;
		case 'l':
			listen = optarg;
			break;
		case 'k':
			fake_api_key = optarg;
			break;
		case 't':
			if (parse_long(optarg, &nthreads) != 0 || nthreads < 2 || nthreads > 512)
				usage();
			break;
		default:
			usage();
		}
	}
	if (port == 0 || optind != argc)
		usage();
	snprintf(ports, sizeof(ports), "%s:%ld", listen, port);
	snprintf(threads, sizeof(threads), "%ld", nthreads);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signals", "err=%s", "cannot set the signal mask");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl.init", "err=%s", "curl_global_init failed");
	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log_message;
	mg_init_library(0);
	if ((ctx = mg_start(&cb, NULL, mgopts)) == NULL)
		fatal("http.start", "listen=%s reason=%s", ports, "civetweb failed to start");
	mg_set_request_handler(ctx, "/", handle, NULL);
	log_info("listening", "listen=%s threads=%s auth=%s", ports, threads,
	    fake_api_key != NULL ? "fixed" : "any");
	if (sigwait(&set, &sig) != 0)
		fatal("signals", "err=%s", "sigwait failed");
	atomic_store(&stopping, 1);
	wake_master(listen, port);
	mg_stop(ctx);
	mg_exit_library();
	queue_clear();
	def->reset();
	curl_global_cleanup();
	log_info("stopped", "signal=%d", sig);
	return 0;
}
