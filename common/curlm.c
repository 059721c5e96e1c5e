/* curlm.c - libcurl multi on our event loop; see curlm.h. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "curlm.h"
#include "log.h"

static struct evloop *loop;
static CURLM *multi;
static int active;

static void curlm_check_done(void);

int
curlm_active(void)
{
	return active;
}

static void
curlm_on_fd(int fd, short revents, void *arg)
{
	int running, flags = 0;

	(void)arg;
	if (revents & POLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & POLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (POLLERR | POLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(multi, fd, flags, &running);
	curlm_check_done();
}

static void
curlm_on_timeout(void *arg)
{
	int running;

	(void)arg;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlm_check_done();
}

/* libcurl tells which sockets to watch; socketp marks the ones we added. */
static int
curlm_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	short events = 0;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (socketp != NULL) {
			evloop_del(loop, s);
			curl_multi_assign(multi, s, NULL);
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= POLLOUT;
	if (socketp == NULL) {
		evloop_add(loop, s, events, curlm_on_fd, NULL);
		curl_multi_assign(multi, s, (void *)1);
	} else {
		evloop_set_events(loop, s, events);
	}
	return 0;
}

static int
curlm_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	if (timeout_ms < 0)
		evloop_timer_cancel(loop, curlm_on_timeout, NULL);
	else
		evloop_timer(loop, now_ms() + timeout_ms, curlm_on_timeout, NULL);
	return 0;
}

void
curlm_init(struct evloop *ev)
{
	loop = ev;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl.init", "");
	if ((multi = curl_multi_init()) == NULL)
		fatal("curl.multi_init", "");
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curlm_socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curlm_timer_cb);
	/* Provider calls are few and long: keep their connections warm. */
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 64L);
}

void
curlm_shutdown(void)
{
	if (multi == NULL)
		return;
	curl_multi_cleanup(multi);
	multi = NULL;
	curl_global_cleanup();
}

static void
http_call_free(struct http_call *c)
{
	curl_easy_cleanup(c->easy);
	if (c->body_free != NULL)
		c->body_free(c->body_arg);
	curl_slist_free_all(c->req_headers);
	strbuf_free(&c->body);
	strbuf_free(&c->headers);
	free(c);
}

static void
curlm_check_done(void)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		struct http_call *c = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		c->code = msg->data.result;
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
		curl_multi_remove_handle(multi, c->easy);
		active--;
		if (c->code != CURLE_OK && c->error[0] == '\0')
			snprintf(c->error, sizeof(c->error), "%s",
			    curl_easy_strerror(c->code));
		c->done(c, c->arg);
		http_call_free(c);
	}
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_call *c = arg;

	if (c->body.len + n * size > c->max_body) {
		c->too_large = 1;
		return 0;	/* aborts the transfer with CURLE_WRITE_ERROR */
	}
	strbuf_put(&c->body, data, n * size);
	return n * size;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_call *c = arg;

	if (c->headers.len + n > 64 * 1024)
		return 0;
	strbuf_put(&c->headers, data, n * size);
	return n * size;
}

struct http_call *
http_call_new(const char *url, http_done_cb done, void *arg)
{
	struct http_call *c = xcalloc(1, sizeof(*c));

	if ((c->easy = curl_easy_init()) == NULL)
		fatal("curl.easy_init", "");
	strbuf_init(&c->body);
	strbuf_init(&c->headers);
	c->done = done;
	c->arg = arg;
	c->max_body = 64u * 1024 * 1024;
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, (char *)c);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->error);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "photobridge/" PB_VERSION);
	return c;
}

void
http_call_header(struct http_call *c, const char *line)
{
	struct curl_slist *l = curl_slist_append(c->req_headers, line);

	if (l == NULL)
		fatal("oom", "in=%s", "curl_slist_append");
	c->req_headers = l;
}

void
http_call_body(struct http_call *c, const void *body, size_t len)
{
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c->easy, CURLOPT_COPYPOSTFIELDS, body);
}

void
http_call_body_stream(struct http_call *c, curl_off_t len, curl_read_callback read,
    curl_seek_callback seek, void (*free_arg)(void *), void *arg)
{
	c->body_free = free_arg;
	c->body_arg = arg;
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, len);
	curl_easy_setopt(c->easy, CURLOPT_READFUNCTION, read);
	curl_easy_setopt(c->easy, CURLOPT_READDATA, arg);
	curl_easy_setopt(c->easy, CURLOPT_SEEKFUNCTION, seek);
	curl_easy_setopt(c->easy, CURLOPT_SEEKDATA, arg);
}

void
http_call_get(struct http_call *c)
{
	curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
}

void
http_call_limits(struct http_call *c, long connect_ms, long total_ms,
    size_t max_body)
{
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, total_ms);
	c->max_body = max_body;
}

static curl_socket_t
on_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	int (*allowed)(const struct sockaddr *) = (int (*)(const struct sockaddr *))arg;

	(void)purpose;
	if (!allowed(&a->addr))
		return CURL_SOCKET_BAD;	/* the transfer fails: couldn't connect */
	return socket(a->family, a->socktype, a->protocol);
}

/* Before each request, on a new or a reused connection: the rules may
 * have changed since a cached connection was opened. */
static int
on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	int (*allowed)(const struct sockaddr *) = (int (*)(const struct sockaddr *))arg;
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;

	(void)local_ip;
	(void)port;
	(void)local_port;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1)
		in4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		return CURL_PREREQFUNC_ABORT;
	return allowed((struct sockaddr *)&ss) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

void
http_call_direct(struct http_call *c, int (*allowed)(const struct sockaddr *))
{
	curl_easy_setopt(c->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(c->easy, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
	curl_easy_setopt(c->easy, CURLOPT_OPENSOCKETDATA, (void *)allowed);
	curl_easy_setopt(c->easy, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(c->easy, CURLOPT_PREREQDATA, (void *)allowed);
}

void
http_call_start(struct http_call *c)
{
	/* An empty Expect: the providers answer at once, no 100 round trip. */
	http_call_header(c, "Expect:");
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->req_headers);
	if (curl_multi_add_handle(multi, c->easy) != CURLM_OK)
		fatal("curl.add_handle", "");
	active++;
}

void
http_call_cancel(struct http_call *c)
{
	if (c == NULL)
		return;
	curl_multi_remove_handle(multi, c->easy);
	active--;
	http_call_free(c);
}

char *
http_call_response_header(const struct http_call *c, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = c->headers.data, *end = p + c->headers.len;

	while (p != NULL && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = eol != NULL ? (size_t)(eol - p) : (size_t)(end - p);

		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;
			char *out;

			while (vlen > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vlen--;
			}
			while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
				vlen--;
			out = xmalloc(vlen + 1);
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return out;
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return NULL;
}

long
http_call_retry_after_ms(const struct http_call *c)
{
	char *v = http_call_response_header(c, "retry-after-ms");
	long n, ms = -1;

	if (v != NULL && parse_long(v, &n) == 0 && n >= 0 && n <= 86400000L)
		ms = n;
	free(v);
	if (ms >= 0)
		return ms;
	/* The HTTP-date form is not used by the APIs we call. */
	v = http_call_response_header(c, "retry-after");
	if (v != NULL && parse_long(v, &n) == 0 && n >= 0 && n <= 86400L)
		ms = n * 1000;
	free(v);
	return ms;
}

const char *
http_call_failure(const struct http_call *c)
{
	return c->code == CURLE_OPERATION_TIMEDOUT ? "provider_timeout" : "network";
}
