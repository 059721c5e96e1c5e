/*
 * bench-echo - the floor of bench/ingest: a bare civetweb server.
 *
 * SYNOPSIS
 *	bench-echo --port N --reply FILE [--listen ADDR] [--threads N]
 *	    [--tcp-nodelay]
 *
 * DESCRIPTION
 *	Answers every POST (any path) by reading its whole body with mg_read
 *	and throwing it away, then 200 with FILE's bytes as image/png or
 *	image/jpeg by their magic bytes.  Like gatewayd, it answers
 *	"Expect: 100-continue" itself (civetweb does not for a handler),
 *	writes the response head by hand and closes the connection.  No parsing, no files, no sockets
 *	to other daemons, no database: what photobridge adds over this is its
 *	own cost.  Its civetweb options are gatewayd's but for Nagle:
 *	--tcp-nodelay turns it off as gatewayd does (civetweb's tcp_nodelay);
 *	without, it shows what a head and a body in two writes cost.
 *	Other methods get 405.  TERM or INT stops it, exit 0.
 */
#include <civetweb.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

/* gatewayd's read size; on the heap: civetweb threads have small stacks. */
#define IO_BUFFER	(64 * 1024)
#define MAX_REPLY	(64L << 20)
#define CONTINUE	"HTTP/1.1 100 Continue\r\n\r\n"

static char *reply;
static size_t replylen;
static const char *reply_type;

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: bench-echo --port N --reply FILE [--listen ADDR] "
	    "[--threads N]\n"
	    "    [--tcp-nodelay]\n");
	exit(2);
}

static long
arg_long(const char *s, long min, long max)
{
	long v;

	if (parse_long(s, &v) == -1 || v < min || v > max)
		usage();
	return v;
}

static int
handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *expect;
	char *buf;
	int n;

	(void)arg;
	if (strcmp(ri->request_method, "POST") != 0) {
		mg_send_http_error(conn, 405, "POST only");
		return 405;
	}
	/* As gatewayd: civetweb does not answer Expect for a handler. */
	expect = mg_get_header(conn, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    mg_write(conn, CONTINUE, sizeof(CONTINUE) - 1) <= 0)
		return 400;
	buf = xmalloc(IO_BUFFER);
	while ((n = mg_read(conn, buf, IO_BUFFER)) > 0)
		;
	free(buf);
	if (n < 0)
		return 400;	/* the client went away: nothing to answer */
	/* Headers by hand after a 100, and close, as gatewayd does. */
	mg_printf(conn, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", reply_type, replylen);
	mg_write(conn, reply, replylen);
	return 200;
}

static int
on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_warn("http.engine", "msg=%s", message);
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "reply", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "tcp-nodelay", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *listen = "127.0.0.1", *replyfile = NULL;
	char ports[128], threads[16], nodelay[2] = "0";
	const char *mgopts[] = { "listening_ports", ports, "num_threads", threads,
	    "request_timeout_ms", "65000", "enable_keep_alive", "yes",
	    "keep_alive_timeout_ms", "5000", "tcp_nodelay", nodelay, NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx;
	long port = 0, nthreads = 256;
	sigset_t set;
	int c, sig;

	log_init("bench-echo");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = arg_long(optarg, 1, 65535); break;
		case 'l': listen = optarg; break;
		case 'r': replyfile = optarg; break;
		case 't': nthreads = arg_long(optarg, 1, 1024); break;
		case 'n': nodelay[0] = '1'; break;
		default: usage();
		}
	}
	if (port == 0 || replyfile == NULL || optind != argc)
		usage();
	if ((reply = read_file(replyfile, MAX_REPLY, &replylen)) == NULL)
		fatal("reply.read", "path=%s err=%s", replyfile, strerror(errno));
	reply_type = replylen >= 2 && memcmp(reply, "\xff\xd8", 2) == 0 ?
	    "image/jpeg" : "image/png";
	snprintf(ports, sizeof(ports), "%s:%ld", listen, port);
	snprintf(threads, sizeof(threads), "%ld", nthreads);

	/* Every thread inherits the mask; only sigwait below sees TERM/INT. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signals", "err=%s", "cannot set the signal mask");
	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log_message;
	mg_init_library(0);
	if ((ctx = mg_start(&cb, NULL, mgopts)) == NULL)
		fatal("http.start", "listen=%s reason=%s", ports,
		    "civetweb failed to start (port in use?)");
	mg_set_request_handler(ctx, "/", handle, NULL);
	log_info("listening", "listen=%s threads=%s reply_bytes=%zu",
	    ports, threads, replylen);
	if (sigwait(&set, &sig) != 0)
		fatal("signals", "err=%s", "sigwait failed");
	mg_stop(ctx);
	mg_exit_library();
	free(reply);
	log_info("stopped", "signal=%d", sig);
	return 0;
}
