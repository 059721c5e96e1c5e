/*
 * receive.h - the one multipart/form-data receiver of gatewayd: the booth
 * ingest (ingest.c) and every API upload (upload.c) take their body here,
 * so both get the same checks, limits, field rules and refusals.
 *
 * In order: a multipart/form-data Content-Type with a boundary (else
 * 415), a Content-Length within the file's limit plus RECEIVE_OVERHEAD
 * (else 413), "100 Continue" when asked for, then the body streams through
 * common/multipart.c (body.c reads it): text fields into `fields`, the one
 * file part into `file_abs`, created at the part's start (O_EXCL, 0640),
 * so a body refused before it creates nothing.  A text field must be UTF-8
 * without NUL bytes (400 naming it).
 *
 * With on_password set (the booth ingest) the "password" field is handed
 * over as soon as it is parsed, before any later part is read, and what
 * the body did wrong before it (a bad field) is only refused once the
 * password was right: until then the request is a stranger's.  Without it
 * (an authenticated API request) "password" is a field like any other.
 */
#ifndef PB_GATEWAYD_RECEIVE_H
#define PB_GATEWAYD_RECEIVE_H

#include <civetweb.h>
#include <jansson.h>

/* Room for the form's text fields and part headers around the file. */
#define RECEIVE_OVERHEAD	(256 * 1024)

struct receive {
	/* set by the caller */
	struct mg_connection	*conn;
	const char		*req;		/* for log lines */
	const char		*file_abs;	/* where the file part goes */
	long long		 max_file;	/* the file part's limit in bytes */
	/* 0 when the password is right, else receive_refuse()'s -1 */
	int			(*on_password)(struct receive *, const char *password);
	void			*arg;		/* the caller's, for on_password */
	/* the result */
	json_t			*fields;	/* the text fields */
	long long		 bytes;		/* of the file part */
	int			 files;		/* 0 or 1 */
	int			 passwords;	/* 0 or 1, with on_password */
	int			 trusted;	/* the password was right (or none asked) */
	/* the refusal, when receive_body() returned -1 */
	int			 status;
	char			 code[40];
	char			 message[200];
	int			 retry_after;	/* seconds, or 0 */
	/* internal */
	int			 fd;		/* the file part, -1 when closed */
	char			*bad_field;	/* the first field refused */
	int			 write_errno;	/* why the file write failed, or 0 */
};

/* Zeroes rv and sets the caller's part; then set on_password and arg if wanted. */
void	receive_init(struct receive *rv, struct mg_connection *, const char *req,
	    const char *file_abs, long long max_file);
/*
 * Reads the body: 0 when it was read to its closing boundary (the file
 * part, if any, is complete and still open), else -1 with the refusal in
 * status/code/message/retry_after.  Nothing is answered to the client.
 */
int	receive_body(struct receive *);
/* Sets the refusal and returns -1 (for on_password). */
int	receive_refuse(struct receive *, int status, const char *code,
	    const char *message, int retry_after);
/* Closes the file part, synced to disk first when sync; 0, or -1 with the refusal. */
int	receive_close(struct receive *, int sync);
/* Closes the file part and frees the fields; the file stays on disk. */
void	receive_free(struct receive *);

#endif
