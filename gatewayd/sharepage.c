/*
 * sharepage.c - what a guest opens from a share link (share.c):
 *
 *   GET /public/gallery/{token}                       the page (HTML; JSON with ?format=json)
 *   GET /public/gallery/{token}/{job_id}              the full image
 *   GET /public/gallery/{token}/{job_id}/thumbnail    its thumbnail
 *   GET /public/gallery/{token}/logo                  the slot's event logo
 *
 * The page is titled with the slot's event title (else its name), under
 * the slot's event logo when it has one (eventlogo.c; a link to every
 * slot of the operator has none), shows
 * real thumbnails lazy-loaded with their size set (a phone on venue
 * Wi-Fi loads what is on screen, and nothing jumps), each opening the
 * full image, with a download link; js/share.js adds local times and the
 * browser's share sheet.  Booth results only: test runs of the slot page
 * stay with the operator.  Images are immutable (ETag, long max-age).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "gallery.h"
#include "proto.h"
#include "share.h"
#include "util.h"

#define SHARE_PAGE_MAX	200

static int
refuse(struct api_req *r)
{
	return api_error(r, ERR_NOT_FOUND, "this gallery link is unknown or has expired");
}

/* Text into HTML (element content and quoted attributes). */
static void
html_put(struct strbuf *sb, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&': strbuf_puts(sb, "&amp;"); break;
		case '<': strbuf_puts(sb, "&lt;"); break;
		case '>': strbuf_puts(sb, "&gt;"); break;
		case '"': strbuf_puts(sb, "&quot;"); break;
		case '\'': strbuf_puts(sb, "&#39;"); break;
		default: strbuf_putc(sb, *s);
		}
}

static void
put_item(struct strbuf *sb, PGresult *res, int i, const char *token)
{
	const char *id = PQgetvalue(res, i, 0), *at = PQgetvalue(res, i, 4);
	const char *ext = strcmp(PQgetvalue(res, i, 7), "image/png") == 0 ? "png" :
	    strcmp(PQgetvalue(res, i, 7), "image/webp") == 0 ? "webp" : "jpg";
	int tw, th;
	/* ids are UUIDs, times ISO, the token [0-9a-zA-Z._-]: nothing to escape. */
	char *item;

	gallery_thumb_size(atoi(PQgetvalue(res, i, 8)), atoi(PQgetvalue(res, i, 9)), &tw, &th);
	item = xasprintf("<li><figure><a class=\"share-open\" href=\"/public/gallery/%s/%s\">"
	    "<img src=\"/public/gallery/%s/%s/thumbnail\" loading=\"lazy\" decoding=\"async\" "
	    "width=\"%d\" height=\"%d\" alt=\"Photo %d\"></a><figcaption>"
	    "<time datetime=\"%s\">%.16s UTC</time><span class=\"share-actions\">"
	    "<a class=\"btn small\" href=\"/public/gallery/%s/%s\" download=\"photo-%d.%s\">"
	    "Download<span class=\"sr-only\"> photo %d</span></a>"
	    "<button type=\"button\" class=\"btn small share-native\" hidden "
	    "data-url=\"/public/gallery/%s/%s\" data-name=\"photo-%d.%s\">"
	    "Share<span class=\"sr-only\"> photo %d</span></button></span>"
	    "</figcaption></figure></li>\n",
	    token, id, token, id, tw, th, i + 1, at, at, token, id, i + 1, ext, i + 1,
	    token, id, i + 1, ext, i + 1);
	strbuf_puts(sb, item);
	free(item);
}

/* The logo's <img>, its size set so that nothing jumps; decorative (alt
 * ""): the title next to it says the same. */
static void
put_logo(struct strbuf *sb, PGresult *logo, const char *token)
{
	char *img;

	if (logo == NULL || PQntuples(logo) != 1)
		return;
	img = xasprintf("<img class=\"share-logo\" src=\"/public/gallery/%s/logo\" alt=\"\" "
	    "width=\"%d\" height=\"%d\">", token, atoi(PQgetvalue(logo, 0, 0)),
	    atoi(PQgetvalue(logo, 0, 1)));
	strbuf_puts(sb, img);
	free(img);
}

static void
html_page(struct strbuf *sb, PGresult *res, PGresult *logo, const struct share *s,
    const char *token)
{
	char count[64];

	strbuf_puts(sb, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	html_put(sb, s->title);
	/* The operator UI's look, favicon and one script (no inline code: the CSP). */
	strbuf_puts(sb, "</title><link rel=\"icon\" href=\"/img/logo.svg\" type=\"image/svg+xml\">"
	    "<link rel=\"stylesheet\" href=\"/css/app.css\">"
	    "<script type=\"module\" src=\"/js/share.js\"></script></head>"
	    "<body class=\"share-page\"><main id=\"main\"><section class=\"glass stack\">"
	    "<header class=\"share-head\">");
	put_logo(sb, logo, token);
	strbuf_puts(sb, "<h1>");
	html_put(sb, s->title);
	snprintf(count, sizeof(count), "%d photo%s", PQntuples(res),
	    PQntuples(res) == 1 ? "" : "s");
	strbuf_puts(sb, "</h1><p class=\"sub\">");
	strbuf_puts(sb, count);
	strbuf_puts(sb, " · link valid until <time datetime=\"");
	strbuf_puts(sb, s->expires_at);
	strbuf_puts(sb, "\">");
	strbuf_puts(sb, s->expires_at);
	strbuf_puts(sb, "</time></p></header>\n");
	if (PQntuples(res) == 0)
		strbuf_puts(sb, "<p class=\"empty\">No photos yet.</p>\n");
	strbuf_puts(sb, "<ul class=\"gallery share-grid\" role=\"list\">\n");
	for (int i = 0; i < PQntuples(res); i++)
		put_item(sb, res, i, token);
	strbuf_puts(sb, "</ul></section></main></body></html>\n");
}

static PGresult *
share_rows(struct api_req *r, const struct share *s)
{
	struct gallery_query q;

	memset(&q, 0, sizeof(q));
	q.user_id = s->user_id;
	q.slot_id = s->slot_id;
	q.kind = "ingest";
	q.limit = SHARE_PAGE_MAX;
	return gallery_rows(r, &q);
}

/* The share's slot's logo: width, height, path, mime, id; none (no rows)
 * for a link to every slot. */
static PGresult *
logo_row(struct api_req *r, const struct share *s)
{
	const char *p[2] = { s->slot_id, s->user_id };

	return api_exec(r, "SELECT m.width, m.height, m.path, m.mime, m.id FROM media_object m "
	    "JOIN slots sl ON sl.id = m.slot_id WHERE m.slot_id = $1 AND m.kind = 'logo' "
	    "AND sl.user_id = $2::int", 2, p);
}

static int
public_gallery(struct api_req *r)
{
	const char *format = api_query(r, "format");
	struct share s;
	struct strbuf sb;
	PGresult *res, *logo;
	json_t *data, *logo_url;
	int rc;

	if ((rc = share_check(r, r->param[0], &s)) != 0)
		return rc > 0 ? rc : refuse(r);
	if ((logo = logo_row(r, &s)) == NULL)
		return api_db_error(r);
	if ((res = share_rows(r, &s)) == NULL) {
		PQclear(logo);
		return api_db_error(r);
	}
	if (format != NULL && strcmp(format, "json") == 0) {
		data = json_array();
		for (int i = 0; i < PQntuples(res); i++)
			json_array_append_new(data, json_pack("{s:s, s:s, s:s, s:s+, s:s+}",
			    "job_id", PQgetvalue(res, i, 0), "slot_id", PQgetvalue(res, i, 1),
			    "finished_at", PQgetvalue(res, i, 4), "url", "/public/gallery/",
			    api_printf(r, "%s/%s", r->param[0], PQgetvalue(res, i, 0)),
			    "thumbnail_url", "/public/gallery/", api_printf(r, "%s/%s/thumbnail",
			    r->param[0], PQgetvalue(res, i, 0))));
		PQclear(res);
		logo_url = PQntuples(logo) == 1 ? json_string(api_printf(r, "/public/gallery/%s/logo",
		    r->param[0])) : json_null();
		PQclear(logo);
		return api_json(r, 200, json_pack("{s:s, s:o, s:o}", "title", s.title, "logo_url",
		    logo_url, "data", data));
	}
	strbuf_init(&sb);
	html_page(&sb, res, logo, &s, r->param[0]);
	PQclear(logo);
	PQclear(res);
	rc = api_send_body(r, 200, "text/html; charset=utf-8", sb.data, sb.len);
	strbuf_free(&sb);
	return rc;
}

static int
public_media(struct api_req *r, int thumbnail)
{
	const char *p[4];
	struct share s;
	PGresult *res;
	int rc;

	if (!uuid_valid(r->param[1]))
		return refuse(r);
	if ((rc = share_check(r, r->param[0], &s)) != 0)
		return rc > 0 ? rc : refuse(r);
	p[0] = r->param[1];
	p[1] = s.user_id;
	p[2] = s.slot_id;
	p[3] = thumbnail ? "t" : "f";
	if ((res = api_exec(r, "SELECT f.id, f.path, f.mime FROM job j "
	    "JOIN slots s ON s.id = j.slot_id CROSS JOIN LATERAL (SELECT m.id, m.path, m.mime "
	    "FROM media_object m WHERE ((m.id = j.result_media_id) OR ($4::boolean AND "
	    "m.job_id = j.id AND m.kind = 'thumbnail')) AND (m.expires_at IS NULL OR "
	    "m.expires_at > now()) ORDER BY (m.kind = 'thumbnail') DESC, m.created_at DESC "
	    "LIMIT 1) f WHERE j.id = $1::uuid AND s.user_id = $2::int AND j.kind = 'ingest' "
	    "AND ($3::text IS NULL OR j.slot_id = $3) AND j.state = 'succeeded'", 4, p)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = refuse(r);
	else
		rc = api_send_file_cache(r, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), NULL,
		    api_printf(r, "\"%s\"", PQgetvalue(res, 0, 0)), GALLERY_CACHE);
	PQclear(res);
	return rc;
}

/* Revalidated each time (the logo may change under the same URL): 304 by its id. */
static int
public_logo(struct api_req *r)
{
	struct share s;
	PGresult *res;
	int rc;

	if ((rc = share_check(r, r->param[0], &s)) != 0)
		return rc > 0 ? rc : refuse(r);
	if ((res = logo_row(r, &s)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = refuse(r);
	else
		rc = api_send_file_cache(r, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), NULL,
		    api_printf(r, "\"%s\"", PQgetvalue(res, 0, 4)), "private, no-cache");
	PQclear(res);
	return rc;
}

static int
public_image(struct api_req *r)
{
	return public_media(r, 0);
}

static int
public_thumbnail(struct api_req *r)
{
	return public_media(r, 1);
}

const struct api_route sharepage_routes[] = {
	{ "GET", "/public/gallery/{token}", public_gallery, API_PUBLIC },
	/* Before {job_id}: "logo" is not a job id. */
	{ "GET", "/public/gallery/{token}/logo", public_logo, API_PUBLIC },
	{ "GET", "/public/gallery/{token}/{job_id}", public_image, API_PUBLIC },
	{ "GET", "/public/gallery/{token}/{job_id}/thumbnail", public_thumbnail, API_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};
