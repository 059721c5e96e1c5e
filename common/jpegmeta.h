/*
 * jpegmeta.h - removes a JPEG's metadata segments in place, byte-wise,
 * without decoding: what a decoder needs stays (SOFn, DHT, DQT, DAC, DRI,
 * SOS with its entropy-coded data, DNL, EXP, a JFIF APP0 without a
 * thumbnail, APP14 Adobe); APP1 (EXIF, XMP), APP2 (ICC, MPF), APP13
 * (IPTC), every other APPn, COM and whatever follows the first EOI (an
 * MPF preview carries its own EXIF) go.  The pixels are untouched: the
 * entropy-coded bytes are copied as they are.
 *
 * Bounded: one pass over the buffer, no allocation, no recursion; a
 * malformed file (bad segment length, unknown marker, no SOF before SOS,
 * no EOI) is refused whole, the caller then decodes it the slow way.
 */
#ifndef PB_JPEGMETA_H
#define PB_JPEGMETA_H

#include <stddef.h>

enum jpegmeta_icc { JPEGMETA_ICC_NONE, JPEGMETA_ICC_SRGB, JPEGMETA_ICC_OTHER };

/* What the walk saw, for deciding whether the bytes can go out as they are. */
struct jpegmeta_info {
	int			 sof;		/* SOF marker (0xC0..0xCF), 0: none */
	int			 precision;	/* bits per sample */
	int			 ncomp;		/* 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK */
	unsigned		 width, height;
	enum jpegmeta_icc	 icc;		/* the profile the file carried */
	int			 adobe_transform; /* APP14's, -1 when absent */
	unsigned		 dropped;	/* segments removed */
};

/*
 * Writes the kept bytes to out: in itself (stripped in place), another
 * buffer of len bytes, or NULL to only fill info.  The new length
 * (<= len), or 0 when in is not a JPEG this walker takes.
 */
size_t	jpegmeta_strip(const unsigned char *in, size_t len, unsigned char *out,
	    struct jpegmeta_info *);

#endif
