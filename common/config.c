/* config.c - environment configuration table; see config.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "util.h"

const struct config_var config_common[] = {
	{ "PB_STATE_DIR", "./var", CONFIG_PATH, 0, 0,
	    "root of all state: pg/ media/ secrets/ service/ log/ run/" },
	{ "PB_RUN_DIR", "${PB_STATE_DIR}/run", CONFIG_PATH, 0, 0,
	    "directory of the daemon sockets" },
	{ "PB_MEDIA_ROOT", "${PB_STATE_DIR}/media", CONFIG_PATH, 0, 0,
	    "stored files" },
	{ "PB_DATABASE_URL",
	    "host=${PB_STATE_DIR}/pg/run dbname=photobridge user=photobridge",
	    CONFIG_SECRET, 0, 0, "libpq connection string" },
	{ "PB_SECRETS_FILE", "${PB_STATE_DIR}/secrets/runtime_credentials.json",
	    CONFIG_PATH, 0, 0, "written by pbctl init" },
	{ "PB_PROVIDERS_FILE", PB_DATADIR "/configs/providers.json",
	    CONFIG_PATH, 0, 0, "provider catalogue" },
	{ "PB_HTTP_PORT", "8080", CONFIG_INT, 1, 65535, "gatewayd's HTTP port" },
	{ "PB_PUBLIC_BASE_URL", "http://localhost:${PB_HTTP_PORT}", 0, 0, 0,
	    "base of ingest URLs, public media links and provider webhooks" },
	{ "PB_LOG_LEVEL", "info", 0, 0, 0, "debug, info, warn or error" },
	{ "PB_GATEWAY_USER", "", 0, 0, 0,
	    "the user gatewayd runs as: admitted to the socket verbs it needs only "
	    "(empty: gatewayd runs as the service user)" },
	{ "PB_WEBHOOK_ALLOW_LOOPBACK", "0", CONFIG_INT, 0, 1,
	    "1: slot webhooks may go to loopback, over http too (tests, development)" },
	{ "PB_ENV_DIR", NULL, CONFIG_PATH, 0, 0,
	    "runit env/ directory re-read on HUP" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

struct config_value {
	const struct config_var	*var;
	char			*value;
};

static const struct config_var *config_own;
static struct config_value *values;
static size_t nvalues;

static const struct config_value *
config_find(const char *name)
{
	for (size_t i = 0; i < nvalues; i++)
		if (strcmp(values[i].var->name, name) == 0)
			return &values[i];
	return NULL;
}

/* Expands ${NAME} references to variables already loaded. */
static char *
config_expand(const char *s)
{
	struct strbuf out;
	const char *p = s;

	strbuf_init(&out);
	while (*p != '\0') {
		const char *end;

		if (p[0] == '$' && p[1] == '{' && (end = strchr(p, '}')) != NULL) {
			char name[128];
			const struct config_value *v;
			size_t n = (size_t)(end - p - 2);

			if (n < sizeof(name)) {
				memcpy(name, p + 2, n);
				name[n] = '\0';
				v = config_find(name);
				if (v != NULL && v->value != NULL)
					strbuf_puts(&out, v->value);
				p = end + 1;
				continue;
			}
		}
		strbuf_putc(&out, *p++);
	}
	return strbuf_take(&out);
}

static char *
config_absolute(char *path)
{
	char cwd[PATH_MAX];
	char *abs;

	if (path[0] == '/' || path[0] == '\0')
		return path;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal("config.getcwd", "err=%s", strerror(errno));
	if (strncmp(path, "./", 2) == 0)
		abs = xasprintf("%s/%s", cwd, path + 2);
	else
		abs = xasprintf("%s/%s", cwd, path);
	free(path);
	return abs;
}

static int
config_check(const struct config_value *v, FILE *err)
{
	long n;

	if (!(v->var->flags & CONFIG_INT) || v->value == NULL)
		return 0;
	if (parse_long(v->value, &n) != 0 || n < v->var->min || n > v->var->max) {
		fprintf(err, "%s: \"%s\" is not an integer in [%ld, %ld]\n",
		    v->var->name, v->value, v->var->min, v->var->max);
		return 1;
	}
	return 0;
}

static void
config_free(void)
{
	for (size_t i = 0; i < nvalues; i++)
		free(values[i].value);
	free(values);
	values = NULL;
	nvalues = 0;
}

static void
config_add_table(const struct config_var *table)
{
	for (const struct config_var *var = table; var != NULL && var->name != NULL;
	    var++) {
		const char *env = getenv(var->name);
		struct config_value *v = &values[nvalues++];

		v->var = var;
		if (env != NULL)
			v->value = xstrdup(env);
		else if (var->defval != NULL)
			v->value = config_expand(var->defval);
		else
			v->value = NULL;
		if (v->value != NULL && (var->flags & CONFIG_PATH))
			v->value = config_absolute(v->value);
	}
}

static size_t
table_len(const struct config_var *table)
{
	size_t n = 0;

	while (table != NULL && table[n].name != NULL)
		n++;
	return n;
}

int
config_load(const struct config_var *own, FILE *err)
{
	int bad = 0;

	config_free();
	config_own = own;
	values = xcalloc(table_len(config_common) + table_len(own),
	    sizeof(*values));
	config_add_table(config_common);
	config_add_table(own);
	for (size_t i = 0; i < nvalues; i++)
		bad += config_check(&values[i], err);
	if (log_level_parse(config_get("PB_LOG_LEVEL"), &(enum log_level){0}) != 0) {
		fprintf(err, "PB_LOG_LEVEL: \"%s\" is not debug, info, warn or error\n",
		    config_get("PB_LOG_LEVEL"));
		bad++;
	}
	return bad;
}

/* Reads an envdir the way chpst -e does: file name = variable, first line = value. */
static int
config_read_envdir(const char *dir, FILE *err)
{
	DIR *d;
	struct dirent *de;

	if ((d = opendir(dir)) == NULL) {
		fprintf(err, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *path, *text;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		text = read_file(path, 65536, &len);
		free(path);
		if (text == NULL)
			continue;
		text[strcspn(text, "\n")] = '\0';
		if (text[0] == '\0')
			unsetenv(de->d_name);
		else if (setenv(de->d_name, text, 1) != 0)
			fprintf(err, "%s: %s\n", de->d_name, strerror(errno));
		free(text);
	}
	closedir(d);
	return 0;
}

int
config_reload(FILE *err)
{
	const char *dir = config_get("PB_ENV_DIR");

	if (dir != NULL) {
		char *copy = xstrdup(dir);
		int rc = config_read_envdir(copy, err);

		free(copy);
		if (rc != 0)
			return 1;
	}
	return config_load(config_own, err);
}

void
config_print(FILE *out)
{
	for (size_t i = 0; i < nvalues; i++) {
		const struct config_value *v = &values[i];

		if (v->value == NULL)
			fprintf(out, "%s= # unset: %s\n", v->var->name, v->var->help);
		else if (v->var->flags & CONFIG_SECRET)
			fprintf(out, "%s=[redacted] # %s\n", v->var->name, v->var->help);
		else
			fprintf(out, "%s=%s # %s\n", v->var->name, v->value,
			    v->var->help);
	}
}

json_t *
config_json(void)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < nvalues; i++) {
		const struct config_value *v = &values[i];

		if (v->value != NULL && !(v->var->flags & CONFIG_SECRET))
			json_object_set_new(obj, v->var->name, json_string(v->value));
	}
	return obj;
}

const char *
config_get(const char *name)
{
	const struct config_value *v = config_find(name);

	if (v == NULL)
		fatal("config.unknown", "name=%s", name);
	return v->value;
}

long
config_int(const char *name)
{
	const char *s = config_get(name);
	long n = 0;

	if (s == NULL || parse_long(s, &n) != 0)
		fatal("config.not_int", "name=%s", name);
	return n;
}
