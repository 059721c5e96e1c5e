/*
 * fake-turbotext - a fake Turbotext photo AI API for the photobridge tests.
 *
 * SYNOPSIS
 *	fake-turbotext --port N [--listen ADDR] [--api-key K] [--threads N]
 *
 * DESCRIPTION
 *	Speaks Turbotext's wire format: POST /api_ai/{mix_images,
 *	deepfake_photo, generate_image2image}, form-urlencoded, with
 *	"Authorization: Bearer K".  do=create_queue really downloads every
 *	image URL it is given (url, url_image_target) and records what it
 *	fetched; a link that does not give an image makes the queue's result
 *	an error, as the real service's would be.  It answers
 *	{"success":true,"queueid":N}, or {"success":true,"asyncid":N} with
 *	webhook=URL, then POSTs the result JSON (plus "asyncid") to that URL.
 *	do=get_result&queueid=N answers {"success":false,"action":"reconnect"}
 *	a scripted number of times, then the result, whose image is served at
 *	GET /image/ai/N.jpg (a JPEG whose comment names the queue and method).
 *
 * SCRIPTING (queued behaviours, one per create_queue; tests/fakes/README.md)
 *	reconnect=N form=top|data|image http=STATUS refuse error hang
 *	hang_result webhook_delay=MS no_webhook times=N
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakesrv.h"
#include "imagehdr.h"
#include "log.h"
#include "util.h"

#define BODY_MAX	(64 * 1024)
#define IMAGE_MAX	(50 * 1024 * 1024)
#define HANG_MS		120000
#define ITEMS_MAX	10000

struct item {
	long long	 id;
	char		 method[32];
	char		 host[256];	/* of the create request, for absolute URLs */
	int		 polls_left;
	int		 hang_result;
	char		 form[8];
	char		*error;		/* the result is this refusal */
	unsigned char	*image;
	size_t		 image_len;
};

static struct {
	pthread_mutex_t	 lock;
	struct item	*items;
	size_t		 n;
	long long	 next_id;
	long		 requests, creates, polls, webhooks_sent;
	json_t		*fetched, *webhook_status, *last_create;
} st = { .lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1000 };

static const char *const keywords[] = { "reconnect", "form", "http", "refuse", "error",
	"hang", "hang_result", "webhook_delay", "no_webhook", "times", NULL };

static int
tt_valid(const char *b)
{
	return fake_words_known(b, keywords);
}

static json_t *
tt_stats(void)
{
	json_t *s;

	pthread_mutex_lock(&st.lock);
	s = json_pack("{s:I, s:I, s:I, s:I, s:O, s:O, s:O}", "requests",
	    (json_int_t)st.requests, "creates", (json_int_t)st.creates,
	    "polls", (json_int_t)st.polls, "webhooks_sent", (json_int_t)st.webhooks_sent,
	    "fetched", st.fetched, "webhook_status", st.webhook_status,
	    "last_create", st.last_create != NULL ? st.last_create : json_null());
	pthread_mutex_unlock(&st.lock);
	return s;
}

static void
tt_reset(void)
{
	pthread_mutex_lock(&st.lock);
	for (size_t i = 0; i < st.n; i++) {
		free(st.items[i].error);
		free(st.items[i].image);
	}
	free(st.items);
	st.items = NULL;
	st.n = 0;
	st.requests = st.creates = st.polls = st.webhooks_sent = 0;
	json_decref(st.fetched);
	json_decref(st.webhook_status);
	json_decref(st.last_create);
	st.fetched = json_array();
	st.webhook_status = json_array();
	st.last_create = NULL;
	pthread_mutex_unlock(&st.lock);
}

static void
tt_error(struct fake_req *r, int status, const char *msg)
{
	fake_reply_json(r, status, json_pack("{s:b, s:s}", "success", 0, "error", msg), NULL);
}

/* The form body as a JSON object of decoded strings. */
static json_t *
form_parse(const char *body)
{
	json_t *o = json_object();
	char *copy = xstrdup(body), *save = NULL;

	for (char *pair = strtok_r(copy, "&", &save); pair != NULL;
	    pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '='), *name, *value;
		size_t n = strlen(pair) + 1;

		if (eq == NULL)
			continue;
		*eq = '\0';
		name = xmalloc(n);
		value = xmalloc(n);
		if (mg_url_decode(pair, (int)strlen(pair), name, (int)n, 1) >= 0 &&
		    mg_url_decode(eq + 1, (int)strlen(eq + 1), value, (int)n, 1) >= 0)
			json_object_set_new(o, name, json_string(value));
		free(name);
		free(value);
	}
	free(copy);
	return o;
}

/* Downloads one input link; 0 when it gave an image. */
static int
fetch_input(const char *url)
{
	struct image_info info;
	size_t len = 0;
	long status;
	char *data = fake_fetch(url, IMAGE_MAX, &len, &status);
	int ok = data != NULL && status == 200 &&
	    imagehdr_probe_buf((unsigned char *)data, len, &info, NULL, 0) == IMAGEHDR_OK;

	pthread_mutex_lock(&st.lock);
	json_array_append_new(st.fetched, json_pack("{s:s, s:i, s:I, s:b}", "url", url,
	    "status", (int)status, "bytes", (json_int_t)len, "image", ok));
	pthread_mutex_unlock(&st.lock);
	log_info("fetched", "status=%ld bytes=%zu image=%d", status, len, ok);
	free(data);
	return ok ? 0 : -1;
}

static json_t *
result_json(const struct item *it)
{
	char url[400];

	if (it->error != NULL)
		return json_pack("{s:b, s:s}", "success", 0, "error", it->error);
	snprintf(url, sizeof(url), "http://%s/image/ai/%lld.jpg", it->host, it->id);
	if (strcmp(it->form, "top") == 0)
		return json_pack("{s:b, s:s}", "success", 1, "uploaded_image", url);
	if (strcmp(it->form, "data") == 0)
		return json_pack("{s:b, s:{s:s}}", "success", 1, "data", "uploaded_image", url);
	snprintf(url, sizeof(url), "/image/ai/%lld.jpg", it->id);
	return json_pack("{s:b, s:{s:[s], s:s}}", "success", 1, "data", "image", url,
	    "status", "done");
}

struct webhook {
	char	*url, *body;
	long	 delay_ms;
};

static void *
webhook_send(void *arg)
{
	struct webhook *w = arg;
	long status;

	usleep((useconds_t)w->delay_ms * 1000);
	status = fake_post_json(w->url, w->body);
	pthread_mutex_lock(&st.lock);
	st.webhooks_sent++;
	json_array_append_new(st.webhook_status, json_integer(status));
	pthread_mutex_unlock(&st.lock);
	log_info("webhook.sent", "status=%ld", status);
	free(w->url);
	free(w->body);
	free(w);
	return NULL;
}

static void
webhook_start(const struct item *it, const char *url, long delay_ms)
{
	struct webhook *w = xcalloc(1, sizeof(*w));
	json_t *res = result_json(it);
	pthread_t t;

	json_object_set_new(res, "asyncid", json_integer(it->id));
	w->url = xstrdup(url);
	w->body = json_dumps(res, JSON_COMPACT);
	w->delay_ms = delay_ms;
	json_decref(res);
	if (w->body == NULL || pthread_create(&t, NULL, webhook_send, w) != 0 ||
	    pthread_detach(t) != 0)
		fatal("webhook.start", "err=%s", "cannot start the webhook thread");
}

static const char *
required_missing(const char *method, const json_t *params)
{
	static const char *const need[][3] = {
		{ "mix_images", "url_image_target", "url" },
		{ "deepfake_photo", "url", "url_image_target" },
		{ "generate_image2image", "url", "content" },
	};

	for (size_t i = 0; i < 3; i++) {
		if (strcmp(need[i][0], method) != 0)
			continue;
		for (size_t j = 1; j < 3; j++) {
			const char *v = json_string_value(json_object_get(params, need[i][j]));

			if (v == NULL || v[0] == '\0')
				return need[i][j];
		}
	}
	return NULL;
}

static void
create_queue(struct fake_req *r, const char *method, json_t *params)
{
	char *b = fake_next_behaviour(), form[8] = "image", comment[128], msg[128];
	const char *missing = required_missing(method, params), *host;
	const char *webhook = json_string_value(json_object_get(params, "webhook"));
	long http = b != NULL ? fake_kw_long(b, "http", 0) : 0;
	struct item it;
	int failed = 0;

	pthread_mutex_lock(&st.lock);
	st.creates++;
	json_decref(st.last_create);
	st.last_create = json_deep_copy(params);
	json_object_set_new(st.last_create, "method", json_string(method));
	pthread_mutex_unlock(&st.lock);
	if (b != NULL && fake_kw(b, "hang")) {
		free(b);
		if (!fake_hang(r, HANG_MS))
			tt_error(r, 504, "Gateway Timeout");
		return;
	}
	if (http != 0) {
		free(b);
		fake_reply_json(r, (int)http, json_pack("{s:b, s:s}", "success", 0, "error",
		    "scripted HTTP error"), http == 429 ? "Retry-After: 1\r\n" : NULL);
		return;
	}
	if (b != NULL && fake_kw(b, "refuse")) {
		free(b);
		tt_error(r, 200, "Недостаточно средств на балансе");
		return;
	}
	if (missing != NULL) {
		free(b);
		snprintf(msg, sizeof(msg), "Не передан параметр %s", missing);
		tt_error(r, 200, msg);
		return;
	}
	/* The real service fetches the inputs before it works on them. */
	if (fetch_input(json_string_value(json_object_get(params, "url"))) != 0)
		failed = 1;
	if (json_object_get(params, "url_image_target") != NULL &&
	    fetch_input(json_string_value(json_object_get(params, "url_image_target"))) != 0)
		failed = 1;
	memset(&it, 0, sizeof(it));
	snprintf(it.method, sizeof(it.method), "%s", method);
	host = mg_get_header(r->conn, "Host");
	snprintf(it.host, sizeof(it.host), "%s", host != NULL ? host : "127.0.0.1");
	it.polls_left = b != NULL ? (int)fake_kw_long(b, "reconnect", 1) : 1;
	it.hang_result = b != NULL && fake_kw(b, "hang_result");
	if (b != NULL && fake_kw(b, "form")) {
		const char *f = strstr(b, "form=") + 5;

		snprintf(form, sizeof(form), "%.*s", (int)strcspn(f, " ,"), f);
	}
	snprintf(it.form, sizeof(it.form), "%s", form);
	if (failed)
		it.error = xstrdup("Не удалось загрузить изображение по ссылке");
	else if (b != NULL && fake_kw(b, "error"))
		it.error = xstrdup("Ошибка генерации изображения");
	pthread_mutex_lock(&st.lock);
	it.id = st.next_id++;
	snprintf(comment, sizeof(comment), "fake-turbotext queue %lld method %s", it.id, method);
	it.image = fake_image("jpeg", comment, &it.image_len);
	if (st.n < ITEMS_MAX) {
		st.items = xrealloc(st.items, (st.n + 1) * sizeof(*st.items));
		st.items[st.n++] = it;
	}
	if (webhook != NULL && !(b != NULL && fake_kw(b, "no_webhook")))
		webhook_start(&it, webhook, b != NULL ? fake_kw_long(b, "webhook_delay", 200) : 200);
	pthread_mutex_unlock(&st.lock);
	fake_reply_json(r, 200, json_pack("{s:b, s:I}", "success", 1,
	    webhook != NULL ? "asyncid" : "queueid", (json_int_t)it.id), NULL);
	free(b);
}

static struct item *
item_find(long long id)
{
	for (size_t i = 0; i < st.n; i++)
		if (st.items[i].id == id)
			return &st.items[i];
	return NULL;
}

static void
get_result(struct fake_req *r, const char *method, const json_t *params)
{
	long id = 0;
	struct item *it;
	json_t *res = NULL;
	int hang = 0;

	if (parse_long(json_string_value(json_object_get(params, "queueid")) ?
	    json_string_value(json_object_get(params, "queueid")) : "", &id) != 0) {
		tt_error(r, 200, "Не передан параметр queueid");
		return;
	}
	pthread_mutex_lock(&st.lock);
	st.polls++;
	if ((it = item_find(id)) == NULL || strcmp(it->method, method) != 0)
		res = json_pack("{s:b, s:s}", "success", 0, "error", "Очередь не найдена");
	else if ((hang = it->hang_result) == 0 && it->polls_left > 0) {
		it->polls_left--;
		res = json_pack("{s:b, s:s}", "success", 0, "action", "reconnect");
	} else if (!hang)
		res = result_json(it);
	pthread_mutex_unlock(&st.lock);
	if (hang) {
		if (!fake_hang(r, HANG_MS))
			tt_error(r, 504, "Gateway Timeout");
		return;
	}
	fake_reply_json(r, 200, res, NULL);
}

static void
serve_image(struct fake_req *r, const char *name)
{
	long id = 0;
	char num[24];
	size_t n = strcspn(name, ".");
	struct item *it;
	unsigned char *copy = NULL;
	size_t len = 0;

	snprintf(num, sizeof(num), "%.*s", (int)(n < 20 ? n : 20), name);
	pthread_mutex_lock(&st.lock);
	if (parse_long(num, &id) == 0 && strcmp(name + n, ".jpg") == 0 &&
	    (it = item_find(id)) != NULL && it->error == NULL) {
		copy = xmalloc(it->image_len);
		memcpy(copy, it->image, it->image_len);
		len = it->image_len;
	}
	pthread_mutex_unlock(&st.lock);
	if (copy == NULL) {
		fake_reply(r, 404, "text/plain", "not found", 9, NULL);
		return;
	}
	fake_reply(r, 200, "image/jpeg", copy, len, NULL);
	free(copy);
}

static void
tt_route(struct fake_req *r, const char *m, const char *u)
{
	static const char *const methods[] = { "mix_images", "deepfake_photo",
		"generate_image2image", NULL };
	const char *ctype = mg_get_header(r->conn, "Content-Type"), *method = NULL, *op;
	json_t *params;
	size_t len;
	char *body;

	pthread_mutex_lock(&st.lock);
	st.requests++;
	pthread_mutex_unlock(&st.lock);
	if (strcmp(m, "GET") == 0 && strncmp(u, "/image/ai/", 10) == 0) {
		serve_image(r, u + 10);
		return;
	}
	for (size_t i = 0; strncmp(u, "/api_ai/", 8) == 0 && methods[i] != NULL; i++)
		if (strcmp(u + 8, methods[i]) == 0)
			method = methods[i];
	if (strcmp(m, "POST") != 0 || method == NULL) {
		tt_error(r, 404, "Метод не найден");
		return;
	}
	if (!fake_bearer_ok(r)) {
		tt_error(r, 401, "Неверный API ключ");
		return;
	}
	if (ctype == NULL || strncmp(ctype, "application/x-www-form-urlencoded", 33) != 0 ||
	    (body = fake_read_body(r, BODY_MAX, &len)) == NULL) {
		tt_error(r, 400, "Ожидается application/x-www-form-urlencoded");
		return;
	}
	params = form_parse(body);
	free(body);
	op = json_string_value(json_object_get(params, "do"));
	if (op != NULL && strcmp(op, "create_queue") == 0)
		create_queue(r, method, params);
	else if (op != NULL && strcmp(op, "get_result") == 0)
		get_result(r, method, params);
	else
		tt_error(r, 200, "Неизвестное значение do");
	json_decref(params);
}

int
main(int argc, char **argv)
{
	static const struct fake_def def = { "fake-turbotext", tt_route, tt_valid,
		tt_stats, tt_reset };

	tt_reset();
	return fake_main(argc, argv, &def);
}
