/* client.c - pbctl <daemon> <verb> [key=value ...]: a thin socket client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "daemons.h"
#include "pbctl.h"
#include "proto.h"
#include "util.h"

#define CLIENT_TIMEOUT_MS	30000

int
cmd_daemon(const char *daemon, int argc, char **argv)
{
	json_t *req, *reply;
	char err[512], *line;
	size_t len;
	int ok;

	if (argc < 1) {
		fprintf(stderr, "pbctl %s: missing verb (try: pbctl %s help)\n",
		    daemon, daemon);
		return EXIT_USAGE;
	}
	req = json_pack("{s:s}", "op", argv[0]);
	if (req == NULL) {
		fprintf(stderr, "pbctl: verb is not valid UTF-8\n");
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		json_t *v;

		if (eq == NULL || eq == argv[i]) {
			fprintf(stderr, "pbctl: argument \"%s\" is not key=value\n",
			    argv[i]);
			json_decref(req);
			return EXIT_USAGE;
		}
		*eq = '\0';
		v = json_string(eq + 1);
		if (v == NULL || json_object_set_new(req, argv[i], v) != 0) {
			fprintf(stderr, "pbctl: argument %s is not valid UTF-8\n",
			    argv[i]);
			json_decref(req);
			return EXIT_USAGE;
		}
	}
	reply = daemon_call(daemon, req, CLIENT_TIMEOUT_MS, err, sizeof(err));
	json_decref(req);
	if (reply == NULL) {
		fprintf(stderr, "pbctl: %s\n", err);
		return EXIT_TEMP;
	}
	ok = json_is_true(json_object_get(reply, "ok"));
	line = proto_encode(reply, &len);
	fwrite(line, 1, len, stdout);
	free(line);
	json_decref(reply);
	return ok ? EXIT_OK : EXIT_FAIL;
}
