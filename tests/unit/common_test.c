/*
 * common_test.c - unit tests of common/: the logfmt logger, the request
 * parser, UUIDs, atomic files, sealing and the configuration table.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "atomicfile.h"
#include "config.h"
#include "log.h"
#include "proto.h"
#include "seal.h"
#include "util.h"
#include "uuid.h"

#include "tap.h"



/* Runs one log call with stderr captured; returns the line. */
static char *
captured_log(void (*emit)(void))
{
	char path[] = "/tmp/pbunit.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *text;

	dup2(fd, STDERR_FILENO);
	emit();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	text = read_file(path, 65536, NULL);
	unlink(path);
	return text;
}

static void emit_plain(void) { log_info("job.done", "req=%s ms=%d big=%lld", "r1", 42, 1LL << 40); }
static void emit_quoted(void) { log_warn("x", "msg=%s empty=%s", "a \"b\"=c\nd", ""); }
static void emit_secret(void) { log_info("login", "user=%s password=%s api_key=%s webhook_token=%s n=%d", "serg", "hunter2", "k-123", "wt-9", 7); }
static void emit_counts(void) { log_info("call", "tokens_in=%d tokens_out=%d monkey=%s", 12, 34, "m"); }
static void emit_debug(void) { log_debug("hidden", "x=%d", 1); }

static void
test_log(void)
{
	char *s;

	log_init("unitd");
	s = captured_log(emit_plain);
	check(strcmp(s, "level=info daemon=unitd event=job.done req=r1 ms=42 big=1099511627776\n") == 0,
	    "log: logfmt line with string and integer values");
	free(s);
	s = captured_log(emit_quoted);
	check(strcmp(s, "level=warn daemon=unitd event=x msg=\"a \\\"b\\\"=c\\nd\" empty=\"\"\n") == 0,
	    "log: values with spaces, quotes, = and newlines are quoted and escaped");
	free(s);
	s = captured_log(emit_secret);
	check(strstr(s, "hunter2") == NULL && strstr(s, "k-123") == NULL &&
	    strstr(s, "wt-9") == NULL &&
	    strstr(s, "password=[redacted]") != NULL && strstr(s, "user=serg") != NULL &&
	    strstr(s, "n=7") != NULL, "log: values of secret-named keys are redacted");
	free(s);
	s = captured_log(emit_counts);
	check(strstr(s, "tokens_in=12 tokens_out=34 monkey=m") != NULL,
	    "log: keys that merely contain a secret word are kept");
	free(s);
	s = captured_log(emit_debug);
	check(s[0] == '\0', "log: below the level nothing is written");
	free(s);
}

static const char *
parse_error_code(const char *line)
{
	static char code[64];
	json_t *err = NULL, *req = proto_parse(line, strlen(line), &err);

	code[0] = '\0';
	if (req != NULL) {
		json_decref(req);
		return "";
	}
	snprintf(code, sizeof(code), "%s", json_string_value(json_object_get(
	    json_object_get(err, "error"), "code")));
	json_decref(err);
	return code;
}

static void
test_proto(void)
{
	json_t *err = NULL, *req;
	const char *line = "jobs state=running limit=5";

	req = proto_parse(line, strlen(line), &err);
	check(req != NULL && strcmp(json_string_value(json_object_get(req, "op")), "jobs") == 0 &&
	    strcmp(json_string_value(json_object_get(req, "state")), "running") == 0 &&
	    strcmp(json_string_value(json_object_get(req, "limit")), "5") == 0,
	    "proto: shorthand becomes {op, key: value}");
	json_decref(req);
	line = "{\"op\":\"status\",\"n\":1}\r";
	req = proto_parse(line, strlen(line), &err);
	check(req != NULL && json_integer_value(json_object_get(req, "n")) == 1,
	    "proto: JSON form, CR tolerated");
	json_decref(req);
	check(strcmp(parse_error_code(""), "bad_request") == 0, "proto: empty line refused");
	check(strcmp(parse_error_code("{\"op\":1}"), "bad_request") == 0, "proto: op must be a string");
	check(strcmp(parse_error_code("{\"op\":\"a\",\"op\":\"b\"}"), "bad_request") == 0,
	    "proto: duplicate keys refused");
	check(strcmp(parse_error_code("ping x"), "bad_request") == 0, "proto: argument without =");
	check(strcmp(parse_error_code("ping \xff=1"), "bad_request") == 0, "proto: invalid key");
	check(strcmp(parse_error_code("ping a=\xc3\x28"), "bad_request") == 0, "proto: invalid UTF-8 value");
	check(strcmp(parse_error_code("pi\x01ng"), "bad_request") == 0, "proto: control byte");
	check(proto_http_status(ERR_TIMEOUT) == 504 && proto_http_status(ERR_NOT_CONFIGURED) == 409 &&
	    proto_http_status("nonsense") == 500, "proto: error codes map to HTTP statuses");
}

static void
test_uuid(void)
{
	char a[UUID_STR_LEN], b[UUID_STR_LEN];

	uuid_v7(a);
	usleep(2000);
	uuid_v7(b);
	check(uuid_valid(a) && a[14] == '7' && strchr("89ab", a[19]) != NULL,
	    "uuid: version 7, RFC 9562 variant");
	check(strcmp(a, b) < 0, "uuid: later ids sort after earlier ones");
	check(!uuid_valid("not-a-uuid") && !uuid_valid("0190e0e0-0000-7000-8000-00000000000g") &&
	    !uuid_valid("0190e0e0-0000-7000-8000-0000000000000"), "uuid: malformed ids refused");
}

static void
test_atomicfile(void)
{
	char dir[] = "/tmp/pbunit.XXXXXX", *path, *text;
	struct atomic_file af;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int entries = 0;

	if (mkdtemp(dir) == NULL) {
		check(0, "atomicfile: mkdtemp");
		return;
	}
	path = xasprintf("%s/secret.json", dir);
	check(atomic_write(path, "old", 3, 0600) == 0 && atomic_write(path, "new!", 4, 0600) == 0,
	    "atomicfile: write and replace");
	text = read_file(path, 100, NULL);
	check(text != NULL && strcmp(text, "new!") == 0 && stat(path, &st) == 0 &&
	    (st.st_mode & 0777) == 0600, "atomicfile: content and mode");
	free(text);
	check(atomic_begin(&af, path, 0600) == 0 && write_all(af.fd, "partial", 7) == 0, "atomicfile: begin");
	atomic_abort(&af);
	text = read_file(path, 100, NULL);
	check(text != NULL && strcmp(text, "new!") == 0, "atomicfile: an aborted write leaves the old file");
	free(text);
	d = opendir(dir);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			entries++;
	closedir(d);
	check(entries == 1, "atomicfile: no temporary file left behind");
	unlink(path);
	rmdir(dir);
	free(path);
}

static void
test_seal(void)
{
	unsigned char key[SEAL_KEY_BYTES], other[SEAL_KEY_BYTES];
	char *sealed, *plain, *again;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	sealed = seal_encrypt(key, "ingest-pass");
	again = seal_encrypt(key, "ingest-pass");
	plain = seal_decrypt(key, sealed);
	check(plain != NULL && strcmp(plain, "ingest-pass") == 0, "seal: round trip");
	check(strcmp(sealed, again) != 0, "seal: a fresh nonce each time");
	free(plain);
	check(seal_decrypt(other, sealed) == NULL, "seal: another key cannot open it");
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
	check(seal_decrypt(key, sealed) == NULL, "seal: a tampered box is refused");
	check(seal_decrypt(key, "") == NULL && seal_decrypt(key, "!!!") == NULL,
	    "seal: garbage is refused");
	free(sealed);
	free(again);
}

static const struct config_var test_config[] = {
	{ "PB_TEST_PORT", "8080", CONFIG_INT, 1, 65535, "port" },
	{ "PB_TEST_LISTEN", "0.0.0.0:${PB_TEST_PORT}", 0, 0, 0, "listen" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
test_config_table(void)
{
	FILE *devnull = fopen("/dev/null", "w");

	setenv("PB_STATE_DIR", "relative/state", 1);
	setenv("PB_TEST_PORT", "9090", 1);
	check(config_load(test_config, devnull) == 0, "config: valid values load");
	check(strcmp(config_get("PB_TEST_LISTEN"), "0.0.0.0:9090") == 0,
	    "config: ${NAME} in a default expands to the effective value");
	check(config_get("PB_RUN_DIR")[0] == '/' &&
	    strstr(config_get("PB_RUN_DIR"), "/relative/state/run") != NULL,
	    "config: paths are made absolute");
	setenv("PB_TEST_PORT", "70000", 1);
	check(config_load(test_config, devnull) == 1, "config: out-of-range integer refused");
	setenv("PB_TEST_PORT", "12ab", 1);
	check(config_load(test_config, devnull) == 1, "config: non-integer refused");
	fclose(devnull);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_log();
	test_proto();
	test_uuid();
	test_atomicfile();
	test_seal();
	test_config_table();
	return tap_done();
}
