/*
 * imagehdr.h - identify an uploaded image by its magic bytes and read its
 * pixel dimensions and EXIF orientation from the container structure only.
 * No pixel data is ever decoded, so a hostile 65535x65535 PNG costs a few
 * bytes of reading and the caller rejects it by its dimensions.
 *
 * What "structurally sound" means per format (anything else is CORRUPT):
 *  JPEG  SOI, then marker segments with valid lengths up to the first EOI,
 *        walking through the entropy-coded data (a byte scan for markers,
 *        no Huffman decoding); an SOFn (not C4/C8/CC) before the first SOS,
 *        non-zero dimensions; the file ends with FFD9 plus optional zero
 *        padding (data between the first EOI and that, e.g. an MPF
 *        preview, is not inspected). Orientation: APP1 Exif IFD0 0x0112.
 *  PNG   signature, IHDR first (length 13, valid CRC, sane depth/colour),
 *        1 <= width, height <= 2^31-1, the file ends with the IEND chunk.
 *  WEBP  RIFF size + 8 == file size; first chunk VP8 (key frame, start
 *        code), VP8L (signature, version 0) or VP8X (canvas, chunks inside
 *        the RIFF); orientation from a VP8X EXIF chunk when present.
 *  HEIF  ftyp brand (major or compatible) heic/heix/hevc/heim/heis/hevm
 *        (mime image/heic) or mif1/msf1 only (image/heif); AVIF (an
 *        avif/avis brand) or an unreadable ftyp is UNSUPPORTED; the
 *        top-level boxes tile the file exactly; dimensions from the
 *        largest ispe property in meta/iprp/ipco (the primary image, not a
 *        thumbnail or grid tile; an upper bound for the pixel cap in any
 *        case). Orientation is 0 (irot/imir are not read).
 * Anything else (GIF, HTML, PDF, text, video) is UNSUPPORTED.
 *
 * Extensions to the first API: IMAGEHDR_ERROR for system errors (open,
 * read, not a regular file; errno set) which say nothing about the image.
 * On any result but IMAGEHDR_OK, info holds only the type the magic bytes
 * claimed (IMAGE_UNKNOWN with UNSUPPORTED) and err the reason; on OK err
 * is "". Memory is bounded (one 128 KiB window for a file); a JPEG is read
 * once end to end (about 100 ms for a hostile 30 MB one), other formats
 * only where their headers are.
 */
#ifndef PB_IMAGEHDR_H
#define PB_IMAGEHDR_H

#include <stddef.h>

enum image_type { IMAGE_UNKNOWN, IMAGE_JPEG, IMAGE_PNG, IMAGE_WEBP, IMAGE_HEIF };

enum imagehdr_result {
	IMAGEHDR_OK,
	IMAGEHDR_UNSUPPORTED,	/* not a type we take: HTTP 415 */
	IMAGEHDR_CORRUPT,	/* our type, broken or truncated: HTTP 422 */
	IMAGEHDR_ERROR		/* open/read failed, errno set: HTTP 500 */
};

struct image_info {
	enum image_type	 type;
	const char	*mime;		/* "image/jpeg", "image/png", "image/webp",
					   "image/heic" or "image/heif"; static */
	unsigned	 width, height;	/* as stored (before orientation) */
	int		 orientation;	/* EXIF 1..8, 0 when absent or invalid */
};

/* Probes a file with bounded reads; err (may be NULL) gets a human reason. */
enum imagehdr_result	 imagehdr_probe_file(const char *path, struct image_info *,
			    char *err, size_t errlen);
enum imagehdr_result	 imagehdr_probe_buf(const unsigned char *buf, size_t len,
			    struct image_info *, char *err, size_t errlen);
const char		*imagehdr_type_name(enum image_type);	/* "jpeg", "png", ... */

#endif
