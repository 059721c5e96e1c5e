/*
 * mediapath.h - the one way to a file under PB_MEDIA_ROOT.  Paths kept in
 * rows and sent between daemons are relative ("results/<uuid>.jpg"); they
 * become absolute here only, after the one path-safety check: a known top
 * directory, alone or with one plain file name (server-made: letters,
 * digits, '.', '_', '-', no leading '.', no "..", at most 255 bytes), so a
 * forged row can never reach outside the tree.
 */
#ifndef PB_MEDIAPATH_H
#define PB_MEDIAPATH_H

/* The top directories of the media tree, NULL-terminated. */
extern const char *const media_top_dirs[];

/* 1 when rel is "<top>" or "<top>/<name>" as above, else 0. */
int	media_path_valid(const char *rel);
/* "$PB_MEDIA_ROOT/<rel>" (the caller frees), or NULL when rel is not valid. */
char	*media_path(const char *rel);

#endif
