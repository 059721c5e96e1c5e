/* daemon.c - the daemon skeleton; see daemon.h. */
#include <sys/signalfd.h>
#include <errno.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/* In-flight work gets this long to finish after TERM. */
#define DRAIN_MAX_MS	10000

struct evloop	*daemon_loop;
struct db	*daemon_db;

static const struct daemon_def *def;
static int64_t started_ms, started_wall_ms;
static int stopping;
static int64_t stop_deadline_ms;

int
daemon_stopping(void)
{
	return stopping;
}

static json_t *
verb_ping(struct sock_request *sr)
{
	(void)sr;
	return json_pack("{s:b, s:s}", "ok", 1, "daemon", def->name);
}

static json_t *
verb_status(struct sock_request *sr)
{
	struct sockserver_stats st;
	json_t *reply;

	(void)sr;
	sockserver_stats(&st);
	reply = json_pack("{s:b, s:s, s:s, s:i, s:I, s:I, s:s, s:o, s:{s:I, s:I, s:I, s:i}}",
	    "ok", 1, "daemon", def->name, "version", PB_VERSION,
	    "pid", (int)getpid(),
	    "uptime_sec", (json_int_t)((now_ms() - started_ms) / 1000),
	    "started_ms", (json_int_t)started_wall_ms,
	    "log_level", log_level_name(log_get_level()),
	    "db", db_status_json(daemon_db),
	    "socket", "requests", (json_int_t)st.requests,
	    "errors", (json_int_t)st.errors,
	    "connections", (json_int_t)st.connections,
	    "active", (int)st.active);
	json_object_set_new(reply, "config", config_json());
	if (def->status != NULL)
		def->status(reply);
	return reply;
}

static json_t *
verb_help(struct sock_request *sr)
{
	(void)sr;
	return json_pack("{s:b, s:s, s:o}", "ok", 1, "daemon", def->name,
	    "verbs", sockserver_verbs_json());
}

static json_t *
verb_log(struct sock_request *sr)
{
	const char *level = json_string_value(json_object_get(sr->req, "level"));
	enum log_level lv;

	if (level == NULL || log_level_parse(level, &lv) != 0)
		return proto_error(ERR_BAD_REQUEST,
		    "log needs level=debug|info|warn|error");
	log_set_level(lv);
	log_info("log.level", "level=%s peer_pid=%ld", level, (long)sr->peer_pid);
	return json_pack("{s:b, s:s}", "ok", 1, "level", level);
}

static const struct verb common_verbs[] = {
	{ PROTO_VERB_PING, "", "answer pong; liveness check", 0, verb_ping },
	{ PROTO_VERB_STATUS, "", "uptime, counters, database state, configuration summary",
	    0, verb_status },
	{ PROTO_VERB_HELP, "", "list the verbs", 0, verb_help },
	{ PROTO_VERB_LOG, "level=debug|info|warn|error", "set the log level",
	    VERB_MUTATING, verb_log },
	{ NULL, NULL, NULL, 0, NULL }
};

/* Who may call a verb, as --help and the man pages say it. */
static const char *
verb_callers(int flags)
{
	if (!(flags & VERB_MUTATING))
		return "anyone";
	return (flags & VERB_GATEWAY) ? "service, gatewayd" : "service";
}

static void
usage_verbs(FILE *out, const struct verb *v)
{
	for (; v != NULL && v->name != NULL; v++)
		fprintf(out, "  %s%s%s\n      %s [%s]\n", v->name, v->keys[0] != '\0' ? " " : "",
		    v->keys, v->help, verb_callers(v->flags));
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: %s [--help] [--version] [--check-config]\n"
	    "\n%s\n\n"
	    "Runs in the foreground and logs to stderr (logfmt).\n"
	    "Socket: $PB_RUN_DIR/%s.sock, framing in photobridge-proto(7).\n"
	    "Verbs [callers: anyone; service = root and the service user; gatewayd "
	    "= PB_GATEWAY_USER]:\n", def->name, def->summary, def->name);
	usage_verbs(out, common_verbs);
	usage_verbs(out, def->verbs);
	fprintf(out, "Signals: TERM stops gracefully, HUP reloads the "
	    "configuration.\nConfiguration (environment):\n");
	for (const struct config_var *t = config_common; t->name != NULL; t++)
		fprintf(out, "  %-22s %s\n", t->name, t->help);
	for (const struct config_var *t = def->config; t != NULL && t->name != NULL;
	    t++)
		fprintf(out, "  %-22s %s\n", t->name, t->help);
	fprintf(out, "Exit status: 0 stopped cleanly, 1 fatal error, 2 usage.\n");
}

static void
apply_log_level(void)
{
	enum log_level lv;

	if (log_level_parse(config_get("PB_LOG_LEVEL"), &lv) == 0)
		log_set_level(lv);
}

static void
on_signal(int fd, short revents, void *arg)
{
	struct signalfd_siginfo si;

	(void)revents;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (config_reload(stderr) != 0) {
				log_warn("config.reload_failed",
				    "reason=%s", "invalid values; keeping the old ones");
				continue;
			}
			apply_log_level();
			if (def->reload != NULL)
				def->reload();
			log_info("config.reloaded", "");
		} else if (!stopping) {
			log_info("daemon.stopping", "signal=%u", si.ssi_signo);
			stopping = 1;
			stop_deadline_ms = now_ms() + DRAIN_MAX_MS;
			sockserver_stop();
		}
	}
}

static int
signals_setup(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so every thread inherits it. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fatal("daemon.sigprocmask", "err=%s", strerror(errno));
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("daemon.signalfd", "err=%s", strerror(errno));
	return fd;
}

/* PB_GATEWAY_USER's uid for the verbs' allow-lists; an unknown name is fatal. */
static void
gateway_uid_set(void)
{
	const char *name = config_get("PB_GATEWAY_USER");
	struct passwd *pw;

	if (name == NULL || name[0] == '\0') {
		sockserver_set_gateway_uid((uid_t)-1);
		return;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		fatal("config.gateway_user", "user=%s err=%s", name,
		    errno != 0 ? strerror(errno) : "no such user");
	sockserver_set_gateway_uid(pw->pw_uid);
}

int
daemon_main(int argc, char **argv, const struct daemon_def *d)
{
	const struct verb *tables[3];
	int check_only = 0, sigfd, busy;

	def = d;
	log_init(def->name);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", def->name, PB_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check_only = 1;
		} else {
			fprintf(stderr, "%s: unknown option %s\n", def->name, argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (config_load(def->config, stderr) != 0) {
		if (check_only)
			return 1;
		fatal("config.invalid", "hint=%s", "run with --check-config");
	}
	if (check_only) {
		config_print(stdout);
		return 0;
	}
	apply_log_level();
	started_ms = now_ms();
	started_wall_ms = wall_ms();
	sigfd = signals_setup();

	daemon_loop = evloop_new();
	evloop_add(daemon_loop, sigfd, POLLIN, on_signal, NULL);
	tables[0] = common_verbs;
	tables[1] = def->verbs;
	tables[2] = NULL;
	sockserver_start(daemon_loop, def->name, tables);
	gateway_uid_set();
	daemon_db = db_open(daemon_loop, config_get("PB_DATABASE_URL"), def->name);
	if (def->init != NULL)
		def->init();
	log_info("daemon.started", "version=%s pid=%ld", PB_VERSION, (long)getpid());

	for (;;) {
		evloop_run_once(daemon_loop, stopping ? 100 : -1);
		if (!stopping)
			continue;
		busy = def->drain != NULL ? def->drain() : 0;
		if (busy == 0)
			break;
		if (now_ms() >= stop_deadline_ms) {
			log_warn("daemon.drain_timeout", "still_running=%d", busy);
			break;
		}
	}
	if (def->shutdown != NULL)
		def->shutdown();
	db_close(daemon_db);
	log_info("daemon.stopped", "");
	return 0;
}
