/*
 * fake-gemini - a fake Gemini API server for the photobridge test suite.
 *
 * SYNOPSIS
 *	fake-gemini --port N [--listen ADDR] [--api-key K] [--latency-ms N]
 *	    [--threads N] [--record-dir DIR]
 *
 * DESCRIPTION
 *	Speaks the Gemini REST wire format (v1beta) on ADDR:N (IPv4,
 *	default 127.0.0.1): generateContent answers with a real PNG (64x48 RGB by
 *	default, its pattern seeded by a hash of the request, never equal to
 *	an input), the Files API takes resumable uploads.  The API key comes
 *	in x-goog-api-key or ?key=; with --api-key only K is accepted, else
 *	any non-empty key.  Requests are validated as strictly as the real
 *	service: JSON, field names, base64, image magic bytes, file names.
 *	Logs one logfmt line per request to stderr; TERM or INT stops it.
 *
 * API
 *	POST /v1beta/models/{model}:generateContent
 *	POST /upload/v1beta/files			resumable start
 *	POST /upload/v1beta/files?upload_id=ID		upload, finalize, query
 *	GET|DELETE /v1beta/files/{id}, GET /v1beta/files
 *
 * SCRIPTING
 *	Keywords in any text part, [fake:KW ...], or queued behaviours, one
 *	consumed per authenticated generateContent; prompt keywords override
 *	the queued entry.  KW: ok, latency=MS, 429, retry=Ns, 500, 503,
 *	no_image, safety, blocked, malformed, hang, text_only, reset,
 *	thought, and in a queued entry times=N.
 *
 * CONTROL (no key)
 *	POST /_fake/script {"behaviours":["429 retry=1s",...],"latency_ms":N}
 *	GET /_fake/stats, POST /_fake/reset.  See tests/fakes/README.md.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netdb.h>

#include <civetweb.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "log.h"
#include "util.h"

#define GEN_MAX_BODY	(20L << 20)	/* the real inline request limit */
#define UPLOAD_MAX	(64L << 20)
#define DISCARD_MAX	(256L << 20)	/* read and drop beyond a limit, then close */
#define MAX_FLIGHTS	1024		/* >= --threads */
#define MAX_FILES	10000
#define MAX_QUEUE	10000
#define HANG_MS		600000
#define IMAGE_TOKENS	258
#define OUT_TOKENS	1290

enum kind { K_UNSET = -1, K_OK, K_429, K_500, K_503, K_NO_IMAGE, K_SAFETY,
	K_BLOCKED, K_MALFORMED, K_HANG, K_TEXT_ONLY, K_RESET };
static const char *kind_names[] = { "ok", "429", "500", "503", "no_image",
	"safety", "blocked", "malformed", "hang", "text_only", "reset" };

struct behaviour {
	int	 kind;
	long	 latency_ms;		/* -1: the default */
	int	 thought;
	char	 retry[16];		/* "" or e.g. "2s" */
};

struct file {
	struct file	*next;
	char		 id[16], upload_id[33];
	char		*display_name, *mime;
	long		 declared, received;	/* declared -1: not given */
	crypto_hash_sha256_state sha;
	unsigned char	 head[16], digest[32];
	int		 active;
	int64_t		 created;
};

struct flight {
	int	 used, counted, fd;
};

struct req {
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	int				 api, flight, fd, status;
};

static struct {
	pthread_mutex_t	 lock;
	long		 requests, generate, uploads, in_flight, max_in_flight;
	long		 latency_ms, connections;
	json_t		*by_status, *last_request;
	struct behaviour *queue;
	size_t		 qhead, qlen, qcap, nfiles;
	struct file	*files;
	struct flight	 flights[MAX_FLIGHTS];
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *api_key;
static long default_latency;
static atomic_int stopping;
static const char *record_dir;		/* --record-dir: inline images land here */
static atomic_int recorded;

static json_t *
jmust(json_t *j)
{
	if (j == NULL)
		fatal("oom", "in=%s", "jansson");
	return j;
}

/* First of two spellings: the API takes camelCase and snake_case. */
static json_t *
jget2(const json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	return v != NULL ? v : json_object_get(o, b);
}

static int
word_in(const char *w, const char *list)
{
	size_t n = strlen(w);
	const char *p = list;

	while (n > 0 && (p = strstr(p, w)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static void
random_id(char *out, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;

	for (i = 0; i + 1 < n; i++)
		out[i] = al[randombytes_uniform(sizeof(al) - 1)];
	out[i] = '\0';
}

static void
rfc3339(int64_t ms, char *buf, size_t size)
{
	time_t t = ms / 1000;
	struct tm tm;
	char day[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(day, sizeof(day), "1970-01-01T00:00:00");
	snprintf(buf, size, "%s.%03dZ", day, (int)(ms % 1000));
}

/* --- the connection's socket: who is still waiting ------------------- */

static int
sock_port(int fd, int peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc;

	rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
	    getsockname(fd, (struct sockaddr *)&ss, &len);
	if (rc == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/*
 * civetweb hides the socket; find it by its port pair so a request whose
 * client gave up stops counting as in flight (-1: not found, never gone).
 */
static int
conn_fd(const struct mg_request_info *ri)
{
	DIR *d;
	struct dirent *de;
	long v;
	int found = -1;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (found == -1 && (de = readdir(d)) != NULL) {
		if (parse_long(de->d_name, &v) == -1 || v == dirfd(d))
			continue;
		if (sock_port((int)v, 1) == ri->remote_port &&
		    sock_port((int)v, 0) == ri->server_port)
			found = (int)v;
	}
	closedir(d);
	return found;
}

/* Waits up to ms for the peer to close; 1 if it did. */
static int
conn_gone(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	if (fd < 0) {
		if (ms > 0)
			usleep((useconds_t)ms * 1000);
		return 0;
	}
	if (poll(&p, 1, ms) <= 0)
		return 0;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Sleeps ms in slices; 1 when the client left or we are stopping. */
static int
wait_ms(struct req *r, long ms)
{
	int64_t end = now_ms() + ms, left;

	while ((left = end - now_ms()) > 0) {
		if (atomic_load(&stopping))
			return 1;
		if (conn_gone(r->fd, left > 100 ? 100 : (int)left))
			return 1;
	}
	return 0;
}

/* Lock held.  Drops requests whose client went away from in_flight. */
static void
flight_sweep(void)
{
	struct flight *f;
	int i;

	for (i = 0; i < MAX_FLIGHTS; i++) {
		f = &st.flights[i];
		if (f->used && f->counted && conn_gone(f->fd, 0)) {
			f->counted = 0;
			st.in_flight--;
		}
	}
}

static void
flight_enter(struct req *r)
{
	int i;

	r->fd = conn_fd(r->ri);
	pthread_mutex_lock(&st.lock);
	flight_sweep();
	for (i = 0; i < MAX_FLIGHTS && st.flights[i].used; i++)
		;
	if (i < MAX_FLIGHTS) {
		st.flights[i] = (struct flight){ 1, 1, r->fd };
		r->flight = i;
		if (++st.in_flight > st.max_in_flight)
			st.max_in_flight = st.in_flight;
	}
	pthread_mutex_unlock(&st.lock);
}

/* Lock held. */
static void
flight_leave(struct req *r)
{
	struct flight *f;

	if (r->flight < 0)
		return;
	f = &st.flights[r->flight];
	if (f->counted)
		st.in_flight--;
	f->used = f->counted = 0;
	r->flight = -1;
}

/* --- replies ----------------------------------------------------------- */

/* Counters first: a response seen by the client is already in the stats. */
static void
reply_raw(struct req *r, int status, const char *body, size_t len,
    const char *lines)
{
	char num[32], key[16];
	json_t *n;

	pthread_mutex_lock(&st.lock);
	flight_leave(r);
	if (r->api) {
		snprintf(key, sizeof(key), "%d", status);
		n = json_object_get(st.by_status, key);
		json_object_set_new(st.by_status, key,
		    jmust(json_integer(n ? json_integer_value(n) + 1 : 1)));
	}
	pthread_mutex_unlock(&st.lock);
	r->status = status;
	snprintf(num, sizeof(num), "%zu", len);
	mg_response_header_start(r->conn, status);
	mg_response_header_add(r->conn, "Content-Type",
	    "application/json; charset=UTF-8", -1);
	mg_response_header_add(r->conn, "Content-Length", num, -1);
	if (lines != NULL)
		mg_response_header_add_lines(r->conn, lines);
	mg_response_header_send(r->conn);
	if (len > 0)
		(void)mg_write(r->conn, body, len);
}

/*
 * A 200 announcing the whole body, half of it, then a TCP reset (RST), as
 * a load balancer dropping the connection mid-response does: connect()
 * with AF_UNSPEC disconnects an established socket with a reset and
 * leaves the descriptor to civetweb, which closes it as usual.
 */
static void
reply_reset(struct req *r, const char *body, size_t len)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	char num[32];

	pthread_mutex_lock(&st.lock);
	flight_leave(r);
	pthread_mutex_unlock(&st.lock);
	r->status = 0;
	snprintf(num, sizeof(num), "%zu", len);
	mg_response_header_start(r->conn, 200);
	mg_response_header_add(r->conn, "Content-Type",
	    "application/json; charset=UTF-8", -1);
	mg_response_header_add(r->conn, "Content-Length", num, -1);
	mg_response_header_send(r->conn);
	(void)mg_write(r->conn, body, len / 2);
	if (r->fd < 0 || connect(r->fd, &unspec, sizeof(unspec)) != 0)
		log_warn("reset.failed", "fd=%d err=%s", r->fd, strerror(errno));
}

static void
reply_json(struct req *r, int status, json_t *body, const char *lines)
{
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (text == NULL)
		fatal("oom", "in=%s", "json_dumps");
	reply_raw(r, status, text, strlen(text), lines);
	free(text);
}

static const char *
grpc_status(int code)
{
	switch (code) {
	case 400: return "INVALID_ARGUMENT";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 429: return "RESOURCE_EXHAUSTED";
	case 503: return "UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	default: return "INTERNAL";
	}
}

/* Messages quote client bytes, maybe cut mid-character: ASCII only. */
static json_t *
ascii_string(const char *s)
{
	char buf[640], *p;

	snprintf(buf, sizeof(buf), "%s", s);
	for (p = buf; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	return jmust(json_string(buf));
}

/* The google.rpc.Status body every Google API error has. */
static void
reply_error(struct req *r, int code, const char *msg, json_t *details)
{
	json_t *e;

	e = jmust(json_pack("{s:i, s:o, s:s}", "code", code, "message",
	    ascii_string(msg), "status", grpc_status(code)));
	if (details != NULL)
		json_object_set_new(e, "details", details);
	reply_json(r, code, jmust(json_pack("{s:o}", "error", e)), NULL);
}

static void
reply_invalid(struct req *r, const char *field, const char *msg)
{
	json_t *d = NULL;

	if (field != NULL && *field != '\0')
		d = jmust(json_pack("[{s:s, s:[{s:o, s:o}]}]", "@type",
		    "type.googleapis.com/google.rpc.BadRequest", "fieldViolations",
		    "field", ascii_string(field), "description", ascii_string(msg)));
	reply_error(r, 400, msg, d);
}

/*
 * The whole body, at most max bytes, NUL-terminated.  A larger body is
 * read and dropped (so the client sees our answer, not a reset) and
 * *big set; NULL then.
 */
static char *
read_body(struct req *r, long max, size_t *len, int *big)
{
	struct strbuf sb;
	char buf[65536];
	long total = 0;
	int n;

	strbuf_init(&sb);
	strbuf_put(&sb, "", 0);
	*big = r->ri->content_length > max;
	while (total <= DISCARD_MAX &&
	    (n = mg_read(r->conn, buf, sizeof(buf))) > 0) {
		total += n;
		if (total > max)
			*big = 1;
		if (!*big)
			strbuf_put(&sb, buf, (size_t)n);
	}
	if (*big) {
		strbuf_free(&sb);
		return NULL;
	}
	*len = sb.len;
	return strbuf_take(&sb);
}

static int
auth_ok(struct req *r)
{
	const char *k = mg_get_header(r->conn, "x-goog-api-key");
	const char *qs = r->ri->query_string;
	char qk[256];

	if (k == NULL && qs != NULL &&
	    mg_get_var(qs, strlen(qs), "key", qk, sizeof(qk)) > 0)
		k = qk;
	if (k == NULL || *k == '\0') {
		reply_error(r, 403, "Method doesn't allow unregistered callers "
		    "(callers without established identity). Please use API Key "
		    "or other form of API consumer identity to call this API.", NULL);
		return 0;
	}
	if (api_key != NULL && strcmp(k, api_key) != 0) {
		reply_error(r, 400, "API key not valid. Please pass a valid API key.",
		    jmust(json_pack("[{s:s, s:s, s:s, s:{s:s}}, {s:s, s:s, s:s}]",
		    "@type", "type.googleapis.com/google.rpc.ErrorInfo",
		    "reason", "API_KEY_INVALID", "domain", "googleapis.com",
		    "metadata", "service", "generativelanguage.googleapis.com",
		    "@type", "type.googleapis.com/google.rpc.LocalizedMessage",
		    "locale", "en-US",
		    "message", "API key not valid. Please pass a valid API key.")));
		return 0;
	}
	return 1;
}

/* --- behaviours -------------------------------------------------------- */

static int
retry_valid(const char *s)
{
	size_t n = strspn(s, "0123456789"), m;

	if (n == 0)
		return 0;
	if (s[n] == '.' && (m = strspn(s + n + 1, "0123456789")) > 0)
		n += m + 1;
	return s[n] == 's' && s[n + 1] == '\0';
}

static int
token_apply(const char *t, struct behaviour *b, long *times)
{
	long v;
	size_t i;

	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(t, kind_names[i]) == 0) {
			b->kind = (int)i;
			return 0;
		}
	if (strcmp(t, "thought") == 0)
		b->thought = 1;
	else if (strncmp(t, "latency=", 8) == 0 && parse_long(t + 8, &v) == 0 &&
	    v >= 0 && v <= HANG_MS)
		b->latency_ms = v;
	else if (strncmp(t, "retry=", 6) == 0 && retry_valid(t + 6) &&
	    strlen(t + 6) < sizeof(b->retry)) {
		memcpy(b->retry, t + 6, strlen(t + 6) + 1);
		if (b->kind == K_UNSET)
			b->kind = K_429;
	} else if (times != NULL && strncmp(t, "times=", 6) == 0 &&
	    parse_long(t + 6, &v) == 0 && v >= 1 && v <= MAX_QUEUE)
		*times = v;
	else
		return -1;
	return 0;
}

/* Parses "429 retry=2s latency=100" (n bytes of s) into b; -1 + bad token. */
static int
behaviour_parse(const char *s, size_t n, struct behaviour *b, long *times,
    char *bad, size_t badlen)
{
	char tok[64];
	size_t i = 0, k;

	while (i < n) {
		i += strspn(s + i, " \t,");
		for (k = 0; i + k < n && !strchr(" \t,", s[i + k]); k++)
			;
		if (k == 0)
			break;
		snprintf(tok, sizeof(tok), "%.*s", (int)k, s + i);
		if (k >= sizeof(tok) || token_apply(tok, b, times) == -1) {
			snprintf(bad, badlen, "%.*s", (int)k, s + i);
			return -1;
		}
		i += k;
	}
	return 0;
}

static void
behaviour_init(struct behaviour *b)
{
	memset(b, 0, sizeof(*b));
	b->kind = K_UNSET;
	b->latency_ms = -1;
}

/* The next queued behaviour with the prompt's keywords laid over it. */
static struct behaviour
behaviour_next(const struct behaviour *prompt)
{
	struct behaviour b;

	behaviour_init(&b);
	pthread_mutex_lock(&st.lock);
	if (st.qhead < st.qlen)
		b = st.queue[st.qhead++];
	if (st.qhead == st.qlen)
		st.qhead = st.qlen = 0;
	if (b.latency_ms < 0 && prompt->latency_ms < 0)
		b.latency_ms = st.latency_ms;
	pthread_mutex_unlock(&st.lock);
	if (prompt->kind != K_UNSET) {
		b.kind = prompt->kind;
		memcpy(b.retry, prompt->retry, sizeof(b.retry));
	}
	if (prompt->latency_ms >= 0)
		b.latency_ms = prompt->latency_ms;
	b.thought |= prompt->thought;
	return b;
}

/* --- images ------------------------------------------------------------ */

static const char *
image_sniff(const unsigned char *p, size_t n)
{
	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return "image/jpeg";
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 12 && memcmp(p + 4, "ftyp", 4) == 0) {
		if (memcmp(p + 8, "hei", 3) == 0 || memcmp(p + 8, "hev", 3) == 0)
			return "image/heic";
		if (memcmp(p + 8, "mif1", 4) == 0 || memcmp(p + 8, "msf1", 4) == 0)
			return "image/heif";
	}
	return NULL;
}

/* Does the declared MIME type match the bytes?  HEIC and HEIF are one family. */
static int
image_matches(const char *mime, const unsigned char *p, size_t n)
{
	const char *real = image_sniff(p, n);

	if (real == NULL)
		return 0;
	if (strncmp(real, "image/hei", 9) == 0)
		return strcmp(mime, "image/heic") == 0 || strcmp(mime, "image/heif") == 0;
	return strcmp(mime, real) == 0;
}

static uint32_t
crc32_update(uint32_t c, const unsigned char *p, size_t n)
{
	int k;

	c = ~c;
	while (n-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320U & (0U - (c & 1)));
	}
	return ~c;
}

static void
put_be32(struct strbuf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	strbuf_put(b, x, 4);
}

static void
png_chunk(struct strbuf *png, const char *type, const unsigned char *d, size_t n)
{
	uint32_t crc = crc32_update(0, (const unsigned char *)type, 4);

	put_be32(png, (uint32_t)n);
	strbuf_put(png, type, 4);
	if (n > 0)
		strbuf_put(png, d, n);
	put_be32(png, crc32_update(crc, d, n));
}

/* zlib stream of stored (uncompressed) deflate blocks: no zlib needed. */
static void
zlib_stored(struct strbuf *z, const unsigned char *raw, size_t n)
{
	uint32_t a = 1, b = 0;
	size_t off = 0, i, blen;
	unsigned char h[5];

	strbuf_put(z, "\x78\x01", 2);
	do {
		blen = n - off > 65535 ? 65535 : n - off;
		h[0] = off + blen == n;
		h[1] = blen & 0xff, h[2] = blen >> 8;
		h[3] = ~blen & 0xff, h[4] = (~blen >> 8) & 0xff;
		strbuf_put(z, h, 5);
		strbuf_put(z, raw + off, blen);
		off += blen;
	} while (off < n);
	for (i = 0; i < n; i++) {
		a = (a + raw[i]) % 65521;
		b = (b + a) % 65521;
	}
	put_be32(z, b << 16 | a);
}

/* A w x h RGB PNG whose pattern (gradients and a checker) depends on seed. */
static void
png_make(const unsigned char seed[32], int w, int h, struct strbuf *png)
{
	size_t row = 1 + 3 * (size_t)w, rawlen = row * (size_t)h;
	unsigned char *raw = xcalloc(1, rawlen), ihdr[13], *p;
	struct strbuf z;
	int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			p = raw + (size_t)y * row + 1 + 3 * (size_t)x;
			p[0] = seed[0] + x * (seed[4] % 7 + 1);
			p[1] = seed[1] + y * (seed[5] % 7 + 1);
			p[2] = seed[2] ^ ((((x >> 3) + (y >> 3)) & 1) ? seed[3] : 0);
		}
	strbuf_init(&z);
	zlib_stored(&z, raw, rawlen);
	free(raw);
	memcpy(ihdr, (unsigned char[]){ w >> 24, w >> 16, w >> 8, w,
	    h >> 24, h >> 16, h >> 8, h, 8, 2, 0, 0, 0 }, 13);
	strbuf_put(png, "\x89PNG\r\n\x1a\n", 8);
	png_chunk(png, "IHDR", ihdr, sizeof(ihdr));
	png_chunk(png, "IDAT", (unsigned char *)z.data, z.len);
	png_chunk(png, "IEND", NULL, 0);
	strbuf_free(&z);
}

static char *
base64_encode(const void *p, size_t n)
{
	size_t size = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(size);

	sodium_bin2base64(out, size, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Standard or URL-safe, padded or not, as proto JSON accepts; NULL if bad. */
static unsigned char *
base64_decode(const char *s, size_t *out)
{
	static const int variants[] = { sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	    sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING };
	size_t n = strlen(s), i;
	unsigned char *bin = xmalloc(n / 4 * 3 + 3);

	for (i = 0; i < 4; i++)
		if (sodium_base642bin(bin, n / 4 * 3 + 3, s, n, NULL, out, NULL,
		    variants[i]) == 0)
			return bin;
	free(bin);
	return NULL;
}

/* --- generateContent --------------------------------------------------- */

struct gen {
	const char	*model;
	json_t		*req;
	crypto_generichash_state seed;
	struct behaviour prompt;
	unsigned char	(*inputs)[32];	/* sha256 of every input image */
	size_t		 ninputs, text_bytes;
	int		 image_model, want_text, want_image, w, h;
	int		 code;
	char		 field[128], msg[512];
};

static int
gen_fail(struct gen *g, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
gen_fail(struct gen *g, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	g->code = code;
	snprintf(g->field, sizeof(g->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void
gen_input(struct gen *g, const unsigned char digest[32])
{
	g->inputs = xrealloc(g->inputs, (g->ninputs + 1) * sizeof(*g->inputs));
	memcpy(g->inputs[g->ninputs++], digest, 32);
	crypto_generichash_update(&g->seed, digest, 32);
}

static int
gen_text(struct gen *g, const char *path, const char *t)
{
	const char *p = t, *end;
	char bad[64], f[160];

	crypto_generichash_update(&g->seed, (const unsigned char *)t, strlen(t));
	g->text_bytes += strlen(t);
	while ((p = strstr(p, "[fake:")) != NULL) {
		p += 6;
		if ((end = strchr(p, ']')) == NULL)
			end = p + strlen(p);
		if (behaviour_parse(p, (size_t)(end - p), &g->prompt, NULL,
		    bad, sizeof(bad)) == -1) {
			snprintf(f, sizeof(f), "%s.text", path);
			return gen_fail(g, 400, f, "fake-gemini: unknown keyword "
			    "\"%s\" in [fake:...]", bad);
		}
	}
	return 0;
}

/* Keeps a received image as DIR/NNNNNN.EXT, for tests to inspect what was sent. */
static void
record_image(const char *mime, const unsigned char *bin, size_t n)
{
	char *path = xasprintf("%s/%06d.%s", record_dir, atomic_fetch_add(&recorded, 1) + 1,
	    strchr(mime, '/') + 1);

	if (atomic_write(path, bin, n, 0644) != 0)
		log_warn("record.failed", "path=%s err=%s", path, strerror(errno));
	free(path);
}

static int
gen_inline(struct gen *g, const char *path, json_t *o)
{
	const char *mime = json_string_value(jget2(o, "mime_type", "mimeType"));
	const char *data = json_string_value(json_object_get(o, "data"));
	unsigned char *bin, digest[32];
	size_t n;

	if (!json_is_object(o) || mime == NULL || data == NULL)
		return gen_fail(g, 400, path, "* GenerateContentRequest.%s: "
		    "inline_data needs mime_type and data strings", path);
	if ((bin = base64_decode(data, &n)) == NULL)
		return gen_fail(g, 400, path, "Invalid value at '%s.data' "
		    "(TYPE_BYTES), Base64 decoding failed for \"%.16s\"", path, data);
	if (!word_in(mime, "image/png image/jpeg image/webp image/heic image/heif")) {
		free(bin);
		return gen_fail(g, 400, path, "Unsupported MIME type: %s", mime);
	}
	if (!image_matches(mime, bin, n)) {
		free(bin);
		return gen_fail(g, 400, path, "Unable to process input image. "
		    "Please retry or report in "
		    "https://developers.generativeai.google/guide/troubleshooting");
	}
	crypto_hash_sha256(digest, bin, n);
	if (record_dir != NULL)
		record_image(mime, bin, n);
	free(bin);
	gen_input(g, digest);
	/* last_request shows the size, never the bytes. */
	json_object_set_new(o, "data", jmust(json_sprintf("<%zu bytes>", n)));
	return 0;
}

static struct file *
file_find(const char *id, int by_upload)
{
	struct file *f;

	for (f = st.files; f != NULL; f = f->next)
		if (strcmp(by_upload ? f->upload_id : f->id, id) == 0)
			return f;
	return NULL;
}

static int
gen_file(struct gen *g, const char *path, json_t *o)
{
	const char *uri = json_string_value(jget2(o, "file_uri", "fileUri"));
	const char *id;
	struct file *f;
	unsigned char digest[32];
	int found = 0, image = 0;

	if (uri == NULL)
		return gen_fail(g, 400, path, "* GenerateContentRequest.%s.file_uri: "
		    "file_uri is not specified", path);
	id = strstr(uri, "files/") ? strrchr(uri, '/') + 1 : uri;
	pthread_mutex_lock(&st.lock);
	if ((f = file_find(id, 0)) != NULL && f->active) {
		found = 1;
		memcpy(digest, f->digest, 32);
		image = image_matches(f->mime, f->head, sizeof(f->head));
	}
	pthread_mutex_unlock(&st.lock);
	if (!found)
		return gen_fail(g, 403, "", "You do not have permission to access "
		    "the File %s or it may not exist.", id);
	if (!image)
		return gen_fail(g, 400, path, "Unable to process input image. "
		    "Please retry or report in "
		    "https://developers.generativeai.google/guide/troubleshooting");
	gen_input(g, digest);
	return 0;
}

static int
gen_part(struct gen *g, const char *cpath, size_t j, json_t *p)
{
	char path[128];
	const char *k;
	json_t *v, *t, *in, *fd;

	snprintf(path, sizeof(path), "%s.parts[%zu]", cpath, j);
	if (!json_is_object(p))
		return gen_fail(g, 400, path, "Invalid value at '%s': not an object", path);
	json_object_foreach(p, k, v)
		if (!word_in(k, "text inline_data inlineData file_data fileData "
		    "thought thought_signature thoughtSignature"))
			return gen_fail(g, 400, path, "Invalid JSON payload received. "
			    "Unknown name \"%s\" at '%s': Cannot find field.", k, path);
	t = json_object_get(p, "text");
	in = jget2(p, "inline_data", "inlineData");
	fd = jget2(p, "file_data", "fileData");
	if ((t != NULL) + (in != NULL) + (fd != NULL) != 1)
		return gen_fail(g, 400, path, "* GenerateContentRequest.%s.data: "
		    "required oneof field 'data' must have exactly one initialized "
		    "field", path);
	if (t != NULL)
		return json_is_string(t) ? gen_text(g, path, json_string_value(t)) :
		    gen_fail(g, 400, path, "Invalid value at '%s.text' (TYPE_STRING)", path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".%s",
	    in != NULL ? "inline_data" : "file_data");
	return in != NULL ? gen_inline(g, path, in) : gen_file(g, path, fd);
}

static int
gen_content(struct gen *g, size_t i, json_t *c)
{
	char path[64];
	const char *k, *role;
	json_t *v, *parts;
	size_t j;

	snprintf(path, sizeof(path), "contents[%zu]", i);
	if (!json_is_object(c))
		return gen_fail(g, 400, path, "Invalid value at '%s': not an object", path);
	json_object_foreach(c, k, v)
		if (strcmp(k, "role") != 0 && strcmp(k, "parts") != 0)
			return gen_fail(g, 400, path, "Invalid JSON payload received. "
			    "Unknown name \"%s\" at '%s': Cannot find field.", k, path);
	role = json_string_value(json_object_get(c, "role"));
	if (json_object_get(c, "role") != NULL &&
	    (role == NULL || !word_in(role, "user model")))
		return gen_fail(g, 400, path, "Please use a valid role: user, model.");
	parts = json_object_get(c, "parts");
	if (!json_is_array(parts) || json_array_size(parts) == 0)
		return gen_fail(g, 400, path, "* GenerateContentRequest.%s.parts: "
		    "contents.parts must not be empty.", path);
	json_array_foreach(parts, j, v)
		if (gen_part(g, path, j, v) == -1)
			return -1;
	return 0;
}

static int
gen_aspect(struct gen *g, json_t *ic)
{
	const char *ar = json_string_value(jget2(ic, "aspectRatio", "aspect_ratio"));
	int a, b;

	if (ar == NULL)
		return 0;
	if (!word_in(ar, "1:1 2:3 3:2 3:4 4:3 4:5 5:4 9:16 16:9 21:9") ||
	    sscanf(ar, "%d:%d", &a, &b) != 2)
		return gen_fail(g, 400, "generation_config.image_config.aspect_ratio",
		    "Unsupported aspect ratio: %s", ar);
	g->w = a >= b ? 64 : 64 * a / b;
	g->h = a >= b ? 64 * b / a : 64;
	return 0;
}

static int
gen_config(struct gen *g, json_t *cfg)
{
	json_t *mods, *m;
	const char *s;
	size_t i;

	g->want_text = 1;
	g->want_image = g->image_model;
	if (cfg == NULL)
		return 0;
	if (!json_is_object(cfg))
		return gen_fail(g, 400, "generation_config", "Invalid value at "
		    "'generation_config': not an object");
	mods = jget2(cfg, "responseModalities", "response_modalities");
	if (json_array_size(mods) > 0) {
		g->want_text = g->want_image = 0;
		json_array_foreach(mods, i, m) {
			s = json_string_value(m);
			if (s != NULL && strcasecmp(s, "TEXT") == 0)
				g->want_text = 1;
			else if (s != NULL && strcasecmp(s, "IMAGE") == 0)
				g->want_image = 1;
			else
				return gen_fail(g, 400, "generation_config.response_modalities",
				    "Model does not support the requested response "
				    "modalities: %s", s != NULL ? s : "?");
		}
		if (g->want_image && !g->image_model)
			return gen_fail(g, 400, "generation_config.response_modalities",
			    "Model does not support the requested response "
			    "modalities: image");
	}
	return gen_aspect(g, jget2(cfg, "imageConfig", "image_config"));
}

static int
gen_parse(struct gen *g)
{
	json_t *contents, *v;
	const char *k;
	size_t i;

	if (!json_is_object(g->req))
		return gen_fail(g, 400, "", "Invalid JSON payload received. "
		    "Expected an object.");
	json_object_foreach(g->req, k, v)
		if (!word_in(k, "contents generationConfig generation_config "
		    "safetySettings safety_settings systemInstruction "
		    "system_instruction tools toolConfig tool_config cachedContent "
		    "cached_content"))
			return gen_fail(g, 400, k, "Invalid JSON payload received. "
			    "Unknown name \"%s\": Cannot find field.", k);
	contents = json_object_get(g->req, "contents");
	if (!json_is_array(contents) || json_array_size(contents) == 0)
		return gen_fail(g, 400, "contents", "* GenerateContentRequest.contents: "
		    "contents is not specified");
	json_array_foreach(contents, i, v)
		if (gen_content(g, i, v) == -1)
			return -1;
	return gen_config(g, jget2(g->req, "generationConfig", "generation_config"));
}

/* The PNG as base64; re-seeded in the unlikely case it equals an input. */
static char *
gen_image(struct gen *g, const unsigned char seed0[32])
{
	unsigned char seed[32], digest[32];
	struct strbuf png;
	char *b64;
	size_t i;

	memcpy(seed, seed0, 32);
	for (;;) {
		strbuf_init(&png);
		png_make(seed, g->w, g->h, &png);
		crypto_hash_sha256(digest, (unsigned char *)png.data, png.len);
		for (i = 0; i < g->ninputs && memcmp(digest, g->inputs[i], 32); i++)
			;
		if (i == g->ninputs)
			break;
		strbuf_free(&png);
		seed[31]++;
	}
	b64 = base64_encode(png.data, png.len);
	strbuf_free(&png);
	return b64;
}

static json_t *
gen_usage(struct gen *g, int image, int text, int thought)
{
	long ptext = g->text_bytes > 0 ? (long)g->text_bytes / 4 + 1 : 0;
	long pimg = (long)g->ninputs * IMAGE_TOKENS;
	long out = (image ? OUT_TOKENS : 0) + (text ? 12 : 0);
	json_t *u, *pd = jmust(json_array()), *cd = jmust(json_array());

	if (ptext > 0)
		json_array_append_new(pd, jmust(json_pack("{s:s, s:i}",
		    "modality", "TEXT", "tokenCount", (json_int_t)ptext)));
	if (pimg > 0)
		json_array_append_new(pd, jmust(json_pack("{s:s, s:i}",
		    "modality", "IMAGE", "tokenCount", (json_int_t)pimg)));
	if (image)
		json_array_append_new(cd, jmust(json_pack("{s:s, s:i}",
		    "modality", "IMAGE", "tokenCount", OUT_TOKENS)));
	if (text)
		json_array_append_new(cd, jmust(json_pack("{s:s, s:i}",
		    "modality", "TEXT", "tokenCount", 12)));
	u = jmust(json_pack("{s:I, s:I, s:I, s:o, s:o}", "promptTokenCount",
	    (json_int_t)(ptext + pimg), "candidatesTokenCount", (json_int_t)out,
	    "totalTokenCount", (json_int_t)(ptext + pimg + out + (thought ? 180 : 0)),
	    "promptTokensDetails", pd, "candidatesTokensDetails", cd));
	if (thought)
		json_object_set_new(u, "thoughtsTokenCount", jmust(json_integer(180)));
	if (out == 0) {		/* as the service: no empty candidate counts */
		json_object_del(u, "candidatesTokenCount");
		json_object_del(u, "candidatesTokensDetails");
	}
	return u;
}

/* A success body; NO_IMAGE and IMAGE_SAFETY candidates carry no content. */
static json_t *
gen_success(struct gen *g, const struct behaviour *b, const unsigned char seed[32])
{
	int image = g->want_image && b->kind != K_TEXT_ONLY;
	int text = g->want_text || !image;
	json_t *parts, *cand, *ip;
	char *png;

	if (b->kind == K_NO_IMAGE || b->kind == K_SAFETY) {
		cand = jmust(json_pack("{s:s, s:i}", "finishReason",
		    b->kind == K_SAFETY ? "IMAGE_SAFETY" : "NO_IMAGE", "index", 0));
		return jmust(json_pack("{s:[o], s:o}", "candidates", cand,
		    "usageMetadata", gen_usage(g, 0, 0, 0)));
	}
	parts = jmust(json_array());
	if (b->thought)
		json_array_append_new(parts, jmust(json_pack("{s:s, s:b}", "text",
		    "**Planning the image**\n\nI am working out the composition "
		    "the prompt asks for.", "thought", 1)));
	if (text)
		json_array_append_new(parts, jmust(json_pack("{s:s}", "text", image ?
		    "Here is the image you asked for." :
		    "I can describe it, but I did not make an image this time.")));
	if (image) {
		png = gen_image(g, seed);
		ip = jmust(json_pack("{s:{s:s, s:s}}", "inlineData",
		    "mimeType", "image/png", "data", png));
		if (b->thought)
			json_object_set_new(ip, "thoughtSignature",
			    jmust(json_string("ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==")));
		json_array_append_new(parts, ip);
		free(png);
	}
	cand = jmust(json_pack("{s:{s:o, s:s}, s:s, s:i}", "content", "parts",
	    parts, "role", "model", "finishReason", "STOP", "index", 0));
	return jmust(json_pack("{s:[o], s:o}", "candidates", cand,
	    "usageMetadata", gen_usage(g, image, text, b->thought)));
}

static void
gen_reply(struct req *r, struct gen *g, const struct behaviour *b)
{
	unsigned char seed[32], rid[16];
	char id[32], *text;
	json_t *resp;

	crypto_generichash_final(&g->seed, seed, sizeof(seed));
	if (b->kind == K_BLOCKED)
		resp = jmust(json_pack("{s:{s:s}, s:o}", "promptFeedback",
		    "blockReason", "SAFETY", "usageMetadata", gen_usage(g, 0, 0, 0)));
	else
		resp = gen_success(g, b, seed);
	randombytes_buf(rid, sizeof(rid));
	sodium_bin2base64(id, sizeof(id), rid, sizeof(rid),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	json_object_set_new(resp, "modelVersion", jmust(json_string(g->model)));
	json_object_set_new(resp, "responseId", jmust(json_string(id)));
	if (b->kind != K_MALFORMED && b->kind != K_RESET) {
		reply_json(r, 200, resp, NULL);
		return;
	}
	if ((text = json_dumps(resp, JSON_COMPACT)) == NULL)
		fatal("oom", "in=%s", "json_dumps");
	json_decref(resp);
	if (b->kind == K_MALFORMED)	/* a 200 whose JSON stops half-way (broken proxy) */
		reply_raw(r, 200, text, strlen(text) / 2, NULL);
	else
		reply_reset(r, text, strlen(text));
	free(text);
}

static void
gen_scripted(struct req *r, struct gen *g, const struct behaviour *b)
{
	json_t *d;

	switch (b->kind) {
	case K_429:
		d = jmust(json_pack("[{s:s, s:[{s:s, s:s}]}]",
		    "@type", "type.googleapis.com/google.rpc.QuotaFailure",
		    "violations", "quotaMetric",
		    "generativelanguage.googleapis.com/generate_content_requests",
		    "quotaId", "GenerateRequestsPerMinutePerProjectPerModel"));
		if (b->retry[0] != '\0')
			json_array_append_new(d, jmust(json_pack("{s:s, s:s}", "@type",
			    "type.googleapis.com/google.rpc.RetryInfo",
			    "retryDelay", b->retry)));
		reply_error(r, 429, "You exceeded your current quota, please check "
		    "your plan and billing details.", d);
		break;
	case K_500:
		reply_error(r, 500, "An internal error has occurred. Please retry or "
		    "report in https://developers.generativeai.google/guide/"
		    "troubleshooting", NULL);
		break;
	case K_503:
		reply_error(r, 503, "The model is overloaded. Please try again later.",
		    NULL);
		break;
	case K_HANG:
		if (!wait_ms(r, HANG_MS))
			reply_error(r, 504, "Deadline expired before operation could "
			    "complete.", NULL);
		break;
	default:
		gen_reply(r, g, b);
	}
}

/* Parses and validates; 0 with g filled, else the error is in g. */
static int
gen_load(struct gen *g, const char *body, size_t len)
{
	json_error_t je;

	if ((g->req = json_loadb(body, len, 0, &je)) == NULL)
		return gen_fail(g, 400, "", "Invalid JSON payload received. %s at "
		    "line %d column %d.", je.text, je.line, je.column);
	if (gen_parse(g) == -1)
		return -1;
	json_object_set_new(g->req, "model", jmust(json_string(g->model)));
	pthread_mutex_lock(&st.lock);
	json_decref(st.last_request);
	st.last_request = json_incref(g->req);
	pthread_mutex_unlock(&st.lock);
	return 0;
}

static void
handle_generate(struct req *r, const char *model)
{
	struct gen g;
	struct behaviour b;
	char *body;
	size_t len = 0;
	int big, rc;

	memset(&g, 0, sizeof(g));
	behaviour_init(&g.prompt);
	g.model = model;
	g.image_model = strstr(model, "image") != NULL;
	g.w = 64, g.h = 48;
	crypto_generichash_init(&g.seed, NULL, 0, 32);
	crypto_generichash_update(&g.seed, (const unsigned char *)model, strlen(model));
	pthread_mutex_lock(&st.lock);
	st.generate++;
	pthread_mutex_unlock(&st.lock);
	flight_enter(r);
	body = read_body(r, GEN_MAX_BODY, &len, &big);
	if (!auth_ok(r))
		goto out;
	if (body == NULL) {
		reply_invalid(r, "", "Request payload size exceeds the limit: "
		    "20971520 bytes.");
		goto out;
	}
	rc = gen_load(&g, body, len);
	b = behaviour_next(&g.prompt);
	if (wait_ms(r, b.latency_ms))
		goto out;	/* the client left: nobody to answer */
	if (rc == -1 && g.code == 400)
		reply_invalid(r, g.field, g.msg);
	else if (rc == -1)
		reply_error(r, g.code, g.msg, NULL);
	else
		gen_scripted(r, &g, &b);
out:
	pthread_mutex_lock(&st.lock);
	flight_leave(r);
	pthread_mutex_unlock(&st.lock);
	free(body);
	free(g.inputs);
	json_decref(g.req);
}

/* --- Files API --------------------------------------------------------- */

static void
base_url(struct req *r, char *buf, size_t size)
{
	const char *host = mg_get_header(r->conn, "Host");

	if (host != NULL && strlen(host) < 200 &&
	    host[strspn(host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")] == '\0')
		snprintf(buf, size, "http://%s", host);
	else
		snprintf(buf, size, "http://127.0.0.1:%d", r->ri->server_port);
}

/* Lock held.  The File resource. */
static json_t *
file_json(struct req *r, const struct file *f)
{
	char base[256], uri[320], name[32], c[40], e[40], hex[65], size[24], *sha;
	json_t *j;

	base_url(r, base, sizeof(base));
	snprintf(uri, sizeof(uri), "%s/v1beta/files/%s", base, f->id);
	snprintf(name, sizeof(name), "files/%s", f->id);
	snprintf(size, sizeof(size), "%ld", f->received);
	rfc3339(f->created, c, sizeof(c));
	rfc3339(f->created + 48 * 3600 * 1000LL, e, sizeof(e));
	sodium_bin2hex(hex, sizeof(hex), f->digest, 32);
	sha = base64_encode(hex, 64);
	j = jmust(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s}", "name", name, "displayName", f->display_name,
	    "mimeType", f->mime, "sizeBytes", size, "createTime", c,
	    "updateTime", c, "expirationTime", e, "sha256Hash", sha, "uri", uri,
	    "state", "ACTIVE", "source", "UPLOADED"));
	free(sha);
	return j;
}

static void
file_free(struct file *f)
{
	free(f->display_name);
	free(f->mime);
	free(f);
}

static void
upload_start(struct req *r)
{
	const char *proto = mg_get_header(r->conn, "X-Goog-Upload-Protocol");
	const char *cmd = mg_get_header(r->conn, "X-Goog-Upload-Command");
	const char *clen = mg_get_header(r->conn, "X-Goog-Upload-Header-Content-Length");
	const char *ctype = mg_get_header(r->conn, "X-Goog-Upload-Header-Content-Type");
	const char *dn;
	char *body, base[256], lines[512];
	size_t len = 0;
	long declared = -1;
	int big, full;
	json_t *j = NULL;
	struct file *f;

	body = read_body(r, 1 << 20, &len, &big);
	if (!auth_ok(r))
		goto out;
	if (proto == NULL || strcmp(proto, "resumable") != 0 ||
	    cmd == NULL || strcmp(cmd, "start") != 0) {
		reply_invalid(r, "", "fake-gemini takes only X-Goog-Upload-Protocol: "
		    "resumable with X-Goog-Upload-Command: start here");
		goto out;
	}
	if (ctype != NULL && (strlen(ctype) > 100 || ctype[strspn(ctype,
	    "abcdefghijklmnopqrstuvwxyz0123456789/+.-")] != '\0')) {
		reply_invalid(r, "", "Invalid X-Goog-Upload-Header-Content-Type.");
		goto out;
	}
	if (clen != NULL && (parse_long(clen, &declared) == -1 || declared < 0 ||
	    declared > UPLOAD_MAX)) {
		reply_invalid(r, "", "Invalid X-Goog-Upload-Header-Content-Length "
		    "(fake-gemini takes at most 64 MiB).");
		goto out;
	}
	if (body == NULL || (len > 0 && (j = json_loadb(body, len, 0, NULL)) == NULL)) {
		reply_invalid(r, "", "Invalid JSON payload received.");
		goto out;
	}
	dn = json_string_value(jget2(json_object_get(j, "file"), "display_name",
	    "displayName"));
	f = xcalloc(1, sizeof(*f));
	random_id(f->id, 13);
	random_id(f->upload_id, sizeof(f->upload_id));
	f->display_name = xstrdup(dn != NULL ? dn : "");
	f->mime = xstrdup(ctype != NULL ? ctype : "application/octet-stream");
	f->declared = declared;
	f->created = wall_ms();
	crypto_hash_sha256_init(&f->sha);
	pthread_mutex_lock(&st.lock);
	if ((full = st.nfiles >= MAX_FILES) == 0) {
		f->next = st.files;
		st.files = f;
		st.nfiles++;
	}
	pthread_mutex_unlock(&st.lock);
	if (full) {
		file_free(f);
		reply_error(r, 429, "fake-gemini holds at most 10000 files.", NULL);
		goto out;
	}
	base_url(r, base, sizeof(base));
	snprintf(lines, sizeof(lines), "X-Goog-Upload-URL: %s/upload/v1beta/files"
	    "?upload_id=%s&upload_protocol=resumable\r\nX-Goog-Upload-Status: active\r\n"
	    "X-Goog-Upload-Chunk-Granularity: 8388608", base, f->upload_id);
	reply_raw(r, 200, "", 0, lines);
out:
	free(body);
	json_decref(j);
}

/* Lock held.  Checks one upload/finalize step; NULL when it may proceed. */
static const char *
upload_check(struct file *f, int up, int fin, long offset, size_t len)
{
	if (up && offset != f->received)
		return "X-Goog-Upload-Offset does not match the bytes received.";
	if (f->declared >= 0 && f->received + (long)len > f->declared)
		return "More bytes than X-Goog-Upload-Header-Content-Length.";
	if (fin && f->declared >= 0 && f->received + (long)len != f->declared)
		return "Finalized before X-Goog-Upload-Header-Content-Length bytes.";
	return NULL;
}

/* Lock held. */
static void
upload_apply(struct file *f, const char *body, size_t len)
{
	size_t n;

	if (f->received < (long)sizeof(f->head)) {
		n = sizeof(f->head) - (size_t)f->received;
		memcpy(f->head + f->received, body, n < len ? n : len);
	}
	crypto_hash_sha256_update(&f->sha, (const unsigned char *)body, len);
	f->received += (long)len;
}

static void
upload_command(struct req *r, const char *uid)
{
	const char *cmd = mg_get_header(r->conn, "X-Goog-Upload-Command");
	const char *off = mg_get_header(r->conn, "X-Goog-Upload-Offset");
	const char *err = NULL;
	int up = cmd && strstr(cmd, "upload"), fin = cmd && strstr(cmd, "finalize");
	long offset = -1;
	char *body, lines[128];
	size_t len = 0;
	int big, found = 0;
	json_t *res = NULL;
	struct file *f;

	body = read_body(r, UPLOAD_MAX, &len, &big);
	if (!up && !fin && (cmd == NULL || strstr(cmd, "query") == NULL))
		err = "X-Goog-Upload-Command must be upload, finalize or query.";
	else if (body == NULL)
		err = "The upload exceeds the 64 MiB fake-gemini takes.";
	else if (up && (off == NULL || parse_long(off, &offset) == -1))
		err = "X-Goog-Upload-Offset is required with upload.";
	if (!up)
		len = 0;
	pthread_mutex_lock(&st.lock);
	if ((f = file_find(uid, 1)) != NULL && !f->active)
		found = 1;
	if (found && err == NULL &&
	    (err = upload_check(f, up, fin, offset, len)) == NULL) {
		upload_apply(f, body, len);
		if (fin) {
			crypto_hash_sha256_final(&f->sha, f->digest);
			f->active = 1;
			st.uploads++;
			res = jmust(json_pack("{s:o}", "file", file_json(r, f)));
		}
	}
	snprintf(lines, sizeof(lines), "X-Goog-Upload-Status: %s\r\n"
	    "X-Goog-Upload-Size-Received: %ld", res ? "final" : "active",
	    found ? f->received : 0);
	pthread_mutex_unlock(&st.lock);
	if (!found)
		reply_error(r, 404, "No active upload session with this upload_id.", NULL);
	else if (err != NULL)
		reply_invalid(r, "", err);
	else if (res != NULL)
		reply_json(r, 200, res, lines);
	else
		reply_raw(r, 200, "", 0, lines);
	free(body);
}

/* GET or DELETE files/{id}; id NULL lists the files. */
static void
handle_files(struct req *r, const char *id, int del)
{
	struct file **pp, *f;
	json_t *res = NULL;
	char msg[160];

	if (!auth_ok(r))
		return;
	pthread_mutex_lock(&st.lock);
	if (id == NULL) {
		res = jmust(json_pack("{s:[]}", "files"));
		for (f = st.files; f != NULL; f = f->next)
			if (f->active)
				json_array_append_new(json_object_get(res, "files"),
				    file_json(r, f));
	}
	for (pp = &st.files; id != NULL && (f = *pp) != NULL; pp = &f->next)
		if (f->active && strcmp(f->id, id) == 0) {
			res = del ? jmust(json_object()) : file_json(r, f);
			if (del) {
				*pp = f->next;
				st.nfiles--;
				file_free(f);
			}
			break;
		}
	pthread_mutex_unlock(&st.lock);
	snprintf(msg, sizeof(msg), "You do not have permission to access the "
	    "File %.64s or it may not exist.", id ? id : "");
	if (res == NULL)
		reply_error(r, 403, msg, NULL);
	else
		reply_json(r, 200, res, NULL);
}

/* --- control API ------------------------------------------------------- */

/* Parses every entry first: a bad one queues nothing. */
static void
control_script(struct req *r)
{
	struct behaviour *add = NULL, b;
	json_t *j = NULL, *list, *v, *lat;
	size_t len = 0, i, n = 0, queued = 0;
	long times;
	char *body, bad[64], msg[128];
	int big, full;

	body = read_body(r, 1 << 20, &len, &big);
	if (body == NULL || (j = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(j)) {
		reply_invalid(r, "", "control: body must be a JSON object");
		goto out;
	}
	list = json_object_get(j, "behaviours");
	lat = json_object_get(j, "latency_ms");
	if ((list != NULL && !json_is_array(list)) || (lat != NULL &&
	    (!json_is_integer(lat) || json_integer_value(lat) < 0 ||
	    json_integer_value(lat) > HANG_MS))) {
		reply_invalid(r, "", "control: behaviours must be an array of "
		    "strings, latency_ms an integer in [0, 600000]");
		goto out;
	}
	json_array_foreach(list, i, v) {
		behaviour_init(&b);
		times = 1;
		if (!json_is_string(v) || behaviour_parse(json_string_value(v),
		    json_string_length(v), &b, &times, bad, sizeof(bad)) == -1 ||
		    n + (size_t)times > MAX_QUEUE) {
			snprintf(msg, sizeof(msg), "control: bad behaviour %zu "
			    "(\"%s\")", i, json_is_string(v) ? bad : "not a string");
			reply_invalid(r, "", msg);
			goto out;
		}
		add = xrealloc(add, (n + (size_t)times) * sizeof(*add));
		while (times-- > 0)
			add[n++] = b;
	}
	pthread_mutex_lock(&st.lock);
	if ((full = st.qlen + n > MAX_QUEUE) == 0 && n > 0) {
		if (st.qlen + n > st.qcap) {
			st.qcap = st.qlen + n;
			st.queue = xrealloc(st.queue, st.qcap * sizeof(*st.queue));
		}
		memcpy(st.queue + st.qlen, add, n * sizeof(*add));
		st.qlen += n;
	}
	if (lat != NULL && !full)
		st.latency_ms = (long)json_integer_value(lat);
	queued = st.qlen - st.qhead;
	pthread_mutex_unlock(&st.lock);
	if (full) {
		reply_invalid(r, "", "control: the queue holds at most 10000 entries");
		goto out;
	}
	reply_json(r, 200, jmust(json_pack("{s:I}", "queued", (json_int_t)queued)),
	    NULL);
out:
	free(add);
	free(body);
	json_decref(j);
}

static void
control_stats(struct req *r)
{
	struct file *f;
	long files = 0;
	json_t *j;

	pthread_mutex_lock(&st.lock);
	flight_sweep();
	for (f = st.files; f != NULL; f = f->next)
		files += f->active;
	j = jmust(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
	    "requests", (json_int_t)st.requests, "generate", (json_int_t)st.generate,
	    "connections", (json_int_t)st.connections,
	    "uploads", (json_int_t)st.uploads, "files", (json_int_t)files,
	    "queued", (json_int_t)(st.qlen - st.qhead),
	    "in_flight", (json_int_t)st.in_flight,
	    "max_in_flight", (json_int_t)st.max_in_flight,
	    "latency_ms", (json_int_t)st.latency_ms,
	    "by_status", jmust(json_deep_copy(st.by_status)),
	    "last_request", st.last_request ?
	    jmust(json_deep_copy(st.last_request)) : json_null()));
	pthread_mutex_unlock(&st.lock);
	reply_json(r, 200, j, NULL);
}

/* Lock held.  Back to the state at start, but requests in flight still count. */
static void
state_clear(void)
{
	struct file *f;

	st.requests = st.generate = st.uploads = st.connections = 0;
	st.max_in_flight = st.in_flight;
	st.latency_ms = default_latency;
	json_object_clear(st.by_status);
	json_decref(st.last_request);
	st.last_request = NULL;
	st.qhead = st.qlen = 0;
	while ((f = st.files) != NULL) {
		st.files = f->next;
		file_free(f);
	}
	st.nfiles = 0;
}

static void
route_control(struct req *r, const char *m, const char *what)
{
	if (strcmp(m, "POST") == 0 && strcmp(what, "script") == 0)
		control_script(r);
	else if (strcmp(m, "GET") == 0 && strcmp(what, "stats") == 0)
		control_stats(r);
	else if (strcmp(m, "POST") == 0 && strcmp(what, "reset") == 0) {
		pthread_mutex_lock(&st.lock);
		state_clear();
		pthread_mutex_unlock(&st.lock);
		reply_json(r, 200, jmust(json_pack("{s:b}", "ok", 1)), NULL);
	} else
		reply_error(r, 404, "control: no such endpoint", NULL);
}

/* --- routing and main -------------------------------------------------- */

static void
route_api(struct req *r, const char *m, const char *u)
{
	const char *qs = r->ri->query_string;
	size_t n = strlen(u), ml;
	char model[128], uid[64], msg[256];
	int big;

	ml = n > 31 ? n - 31 : 0;	/* "/v1beta/models/" ":generateContent" */
	if (strcmp(m, "POST") == 0 && strncmp(u, "/v1beta/models/", 15) == 0 &&
	    n > 31 && strcmp(u + n - 16, ":generateContent") == 0 &&
	    ml < sizeof(model) && strspn(u + 15, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == ml) {
		snprintf(model, sizeof(model), "%.*s", (int)ml, u + 15);
		handle_generate(r, model);
	} else if (strcmp(m, "POST") == 0 && strcmp(u, "/upload/v1beta/files") == 0) {
		if (qs != NULL && mg_get_var(qs, strlen(qs), "upload_id", uid,
		    sizeof(uid)) > 0)
			upload_command(r, uid);
		else
			upload_start(r);
	} else if (strcmp(m, "GET") == 0 && strcmp(u, "/v1beta/files") == 0)
		handle_files(r, NULL, 0);
	else if ((strcmp(m, "GET") == 0 || strcmp(m, "DELETE") == 0) &&
	    strncmp(u, "/v1beta/files/", 14) == 0)
		handle_files(r, u + 14, m[0] == 'D');
	else {
		free(read_body(r, 0, &n, &big));	/* drop any body */
		snprintf(msg, sizeof(msg), "%.64s %.128s is not found for API "
		    "version v1beta.", m, u);
		reply_error(r, 404, msg, NULL);
	}
}

static int
handle(struct mg_connection *conn, void *arg)
{
	struct req r = { conn, mg_get_request_info(conn), 0, -1, -1, 0 };
	const char *m = r.ri->request_method;
	const char *u = r.ri->local_uri ? r.ri->local_uri : "";
	int64_t t0 = now_us();

	(void)arg;
	if (strncmp(u, "/_fake/", 7) == 0)
		route_control(&r, m, u + 7);
	else {
		r.api = 1;
		pthread_mutex_lock(&st.lock);
		st.requests++;
		pthread_mutex_unlock(&st.lock);
		route_api(&r, m, u);
	}
	/* status 0: the client left before an answer; us: bench/ingest's
	 * server overhead is a photo's time minus the fake's own. */
	t0 = now_us() - t0;
	log_info("http.request", "method=%s path=%s status=%d ms=%lld us=%lld", m,
	    u, r.status, (long long)(t0 / 1000), (long long)t0);
	return r.status > 0 ? r.status : 1;
}

/* Every TCP connection accepted: a client that reuses them makes fewer. */
static int
on_connection(const struct mg_connection *conn, void **data)
{
	(void)conn;
	*data = NULL;
	pthread_mutex_lock(&st.lock);
	st.connections++;
	pthread_mutex_unlock(&st.lock);
	return 0;
}

static int
on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_warn("http.engine", "msg=%s", message);
	return 1;
}

/*
 * civetweb's master thread polls its listener with a 2 s timeout before it
 * sees the stop flag; a connection wakes it, so TERM stops us at once.
 */
static void *
waker(void *arg)
{
	const struct addrinfo *ai = arg;
	int fd;

	for (;;) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) != -1) {
			(void)connect(fd, ai->ai_addr, ai->ai_addrlen);
			close(fd);
		}
		usleep(100000);
	}
	return NULL;
}

static void
wake_master(const char *host, long port)
{
	static struct addrinfo *ai;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	pthread_t t;
	char serv[16];

	snprintf(serv, sizeof(serv), "%ld", port);
	if (getaddrinfo(host, serv, &hints, &ai) != 0 ||
	    pthread_create(&t, NULL, waker, ai) != 0 || pthread_detach(t) != 0)
		log_warn("stop.slow", "reason=%s", "cannot wake civetweb");
}

static void
usage(void)
{
	fprintf(stderr, "usage: fake-gemini --port N [--listen ADDR] "
	    "[--api-key K] [--latency-ms N] [--threads N] [--record-dir DIR]\n");
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "api-key", required_argument, NULL, 'k' },
		{ "latency-ms", required_argument, NULL, 'L' },
		{ "threads", required_argument, NULL, 't' },
		{ "record-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *listen = "127.0.0.1";
	char ports[128], threads[16];
	/* The head and the body go out in two writes: without tcp_nodelay the
	 * body waits for the client's delayed ACK (40 ms) on a reused
	 * connection, and benchmarks measure that instead of us. */
	const char *mgopts[] = { "listening_ports", ports, "num_threads", threads,
	    "request_timeout_ms", "30000", "enable_keep_alive", "yes",
	    "keep_alive_timeout_ms", "5000", "decode_url", "yes",
	    "tcp_nodelay", "1", NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx;
	long port = 0, nthreads = 64;
	sigset_t set;
	int c, sig;

	log_init("fake-gemini");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = arg_long(optarg, 1, 65535); break;
		case 'l': listen = optarg; break;
		case 'k': api_key = optarg; break;
		case 'L': default_latency = arg_long(optarg, 0, HANG_MS); break;
		case 't': nthreads = arg_long(optarg, 2, MAX_FLIGHTS - 24); break;
		case 'r': record_dir = optarg; break;
		default: usage();
		}
	}
	if (port == 0 || optind != argc)
		usage();
	if (sodium_init() < 0)
		fatal("sodium.init", "err=%s", "sodium_init failed");
	snprintf(ports, sizeof(ports), "%s:%ld", listen, port);
	snprintf(threads, sizeof(threads), "%ld", nthreads);
	st.by_status = jmust(json_object());
	st.latency_ms = default_latency;

	/* Every thread inherits the mask; only sigwait below sees TERM/INT. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signals", "err=%s", "cannot set the signal mask");
	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log_message;
	cb.init_connection = on_connection;
	mg_init_library(0);
	if ((ctx = mg_start(&cb, NULL, mgopts)) == NULL)
		fatal("http.start", "listen=%s reason=%s", ports,
		    "civetweb failed to start (port in use?)");
	mg_set_request_handler(ctx, "/", handle, NULL);
	log_info("listening", "listen=%s threads=%s latency_ms=%ld auth=%s",
	    ports, threads, default_latency, api_key ? "fixed" : "any");
	if (sigwait(&set, &sig) != 0)
		fatal("signals", "err=%s", "sigwait failed");
	atomic_store(&stopping, 1);
	wake_master(listen, port);
	mg_stop(ctx);
	mg_exit_library();
	pthread_mutex_lock(&st.lock);
	state_clear();
	json_decref(st.by_status);
	free(st.queue);
	pthread_mutex_unlock(&st.lock);
	log_info("stopped", "signal=%d", sig);
	return 0;
}
