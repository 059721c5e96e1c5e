/*
 * qr.c - renders a share link as a QR code in SVG, on the server with
 * Debian's libqrencode: no external service, and the phone of a guest
 * standing at the booth reads it off the operator's screen.
 *
 * Error correction M (15 %: a screen photographed at an angle), a quiet
 * zone of 4 modules as the standard asks, one path of unit squares with
 * crispEdges so that no scaling blurs the modules.
 */
#include <stdio.h>
#include <stdlib.h>

#include <qrencode.h>

#include "qr.h"
#include "util.h"

#define QUIET	4

char *
qr_svg(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	struct strbuf sb;
	char head[320];
	int size;

	if (qr == NULL)
		return NULL;
	size = qr->width + 2 * QUIET;
	strbuf_init(&sb);
	snprintf(head, sizeof(head), "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\" "
	    "role=\"img\"><title>QR code of the share link</title>"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" stroke=\"none\" d=\"",
	    size, size, size * 8, size * 8, size, size);
	strbuf_puts(&sb, head);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1) {
				char m[40];

				snprintf(m, sizeof(m), "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
				strbuf_puts(&sb, m);
			}
	strbuf_puts(&sb, "\"/></svg>\n");
	QRcode_free(qr);
	return strbuf_take(&sb);
}
