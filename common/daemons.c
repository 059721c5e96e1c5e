/* daemons.c - the daemon list and socket paths; see daemons.h. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemons.h"
#include "sockclient.h"
#include "util.h"

const char *const daemons_all[DAEMONS_ALL + 1] = {
	DAEMON_GATEWAYD, DAEMON_INGESTD, DAEMON_JOBD, DAEMON_PROVIDERD, DAEMON_JANITOR, NULL
};

const char *const daemons_servers[DAEMONS_SERVERS + 1] = {
	DAEMON_INGESTD, DAEMON_JOBD, DAEMON_PROVIDERD, DAEMON_JANITOR, NULL
};

int
daemons_known(const char *name)
{
	for (size_t i = 0; daemons_all[i] != NULL; i++)
		if (strcmp(name, daemons_all[i]) == 0)
			return 1;
	return 0;
}

char *
daemon_socket_path(const char *name)
{
	return xasprintf("%s/%s.sock", config_get("PB_RUN_DIR"), name);
}

json_t *
daemon_call(const char *name, const json_t *req, int timeout_ms, char *errbuf,
    size_t errlen)
{
	char *path = daemon_socket_path(name);
	json_t *reply = sockclient_call(path, req, timeout_ms, errbuf, errlen);

	free(path);
	return reply;
}

struct sockcall *
daemon_call_start(struct evloop *ev, const char *name, const json_t *req, int timeout_ms,
    sockcall_cb cb, void *arg)
{
	char *path = daemon_socket_path(name);
	struct sockcall *call = sockcall_start(ev, path, req, timeout_ms, cb, arg);

	free(path);
	return call;
}
