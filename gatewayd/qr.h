/* qr.h - a QR code as SVG (libqrencode), for the share panel. */
#ifndef PB_GATEWAYD_QR_H
#define PB_GATEWAYD_QR_H

/* An SVG document of text as a QR code (level M), or NULL; free() it. */
char	*qr_svg(const char *text);

#endif
