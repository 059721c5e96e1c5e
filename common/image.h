/*
 * image.h - the image pipeline on libvips: decode with the pixel cap
 * checked from the header first (imagehdr), apply the EXIF orientation,
 * shrink on load, apply an embedded profile into sRGB, encode with every
 * metadata field removed first (EXIF, GPS, XMP, IPTC, maker notes, ICC
 * after conversion): the savers' strip flag alone leaks in WEBP.
 *
 * Only the JPEG, PNG, WEBP and HEIF loaders can run: image_init() blocks
 * libvips' untrusted operations and every other loader, and each input
 * must also pass our own magic-byte probe before libvips sees it.
 *
 * Every function is thread-safe after image_init() (providerd calls them
 * from its worker threads) and returns 0, or -1 with a reason in err.
 * An image_buf holds encoded bytes; free it with image_buf_free().
 */
#ifndef PB_IMAGE_H
#define PB_IMAGE_H

#include <stddef.h>
#include <jansson.h>

struct _VipsImage;

enum image_format { IMAGE_FMT_JPEG, IMAGE_FMT_PNG, IMAGE_FMT_WEBP };
enum image_fit { IMAGE_FIT_COVER, IMAGE_FIT_PAD };

/* What the booth gets: a slot's settings "output" object. */
struct image_output {
	enum image_format	 format;
	int			 quality;	/* 1..100, JPEG and WEBP */
	int			 max_side;	/* 0: no limit */
	int			 match_input;	/* the caller sets match_w/h */
	int			 match_w, match_h; /* > 0: exactly this size */
	enum image_fit		 fit;
};

struct image_buf {
	unsigned char	*data;
	size_t		 len;
	const char	*mime;		/* static */
	int		 width, height;
};

/* Once per process, before any thread uses it; fatal-free: -1 on failure. */
int	image_init(int threads, char *err, size_t errlen);
void	image_shutdown(void);

/*
 * Defaults (JPEG, quality 90, no size limit, cover) overridden by the
 * keys present in `output` (may be NULL); unknown values are refused.
 */
int	image_output_parse(const json_t *output, struct image_output *,
	    char *err, size_t errlen);

/* The size an encoded image shows upright (orientation applied), from its header. */
int	image_upright_size(const void *buf, size_t len, int *w, int *h,
	    char *err, size_t errlen);

/* A provider's input: upright, at most max_side (0: any), sRGB, stripped;
 * JPEG, or PNG when the image has transparency.  gatewayd applies it to a
 * slot's template images once, when they are uploaded (templates.c). */
int	image_prepare_input(const void *buf, size_t len, long long max_pixels,
	    int max_side, struct image_buf *out, char *err, size_t errlen);
/*
 * The fast path, no decoding: a JPEG already upright, 8-bit grey or
 * colour, sRGB or without profile, within max_side (0: any) or exactly
 * match_w x match_h (when > 0) and the pixel cap, has its metadata
 * segments removed in place (jpegmeta.c) and *len updated: 1.  0: it
 * needs the decode path; buf is untouched.
 */
int	image_jpeg_strip(unsigned char *buf, size_t *len, long long max_pixels,
	    int max_side, int match_w, int match_h);
/* A result as the slot's output settings say (a JPEG through the fast path). */
int	image_convert_output(const void *buf, size_t len, long long max_pixels,
	    const struct image_output *, struct image_buf *out, char *err, size_t errlen);
/* A small WEBP for the gallery: at most side px on the long side. */
int	image_thumbnail(const void *buf, size_t len, long long max_pixels, int side,
	    struct image_buf *out, char *err, size_t errlen);
void	image_buf_free(struct image_buf *);

/* For operations on pixels (providerd's local provider): */
/* Decodes upright in 8-bit sRGB (alpha kept), at most max_side (0: any). */
int	image_load(const void *buf, size_t len, long long max_pixels, int max_side,
	    struct _VipsImage **out, char *err, size_t errlen);
/* Sizes and encodes as `o` says; does not take the reference to `in`. */
int	image_save(struct _VipsImage *in, const struct image_output *o,
	    struct image_buf *out, char *err, size_t errlen);
/* The last libvips error of any thread, into err, and clears it; returns -1. */
int	image_error(char *err, size_t errlen, const char *what);

#endif
