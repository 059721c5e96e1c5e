/*
 * janitor_clnt.h - janitor's socket verbs as both ends see them: names,
 * keys, pack/parse.  gatewayd calls purge (the Clear media cache button;
 * pbctl passes any verb through); janitor parses with the same functions.  Described in
 * janitor(8) and `janitor --help`.
 */
#ifndef PB_JANITOR_CLNT_H
#define PB_JANITOR_CLNT_H

#include <jansson.h>

#define JANITOR_VERB_SWEEP	"sweep"
#define JANITOR_VERB_PURGE	"purge"

#define JANITOR_KEY_KIND	"kind"
#define JANITOR_KIND_RESULTS	"results"	/* the one kind purge takes */
/* Reply keys: deletions per media kind and per reason. */
#define JANITOR_KEY_KINDS	"kinds"
#define JANITOR_KEY_REASONS	"reasons"
#define JANITOR_KIND_RESULT	"result"	/* a key of "kinds" */

struct janitor_purge_req {
	const char	*kind;
};

json_t	*janitor_clnt_pack_purge(const struct janitor_purge_req *);
int	 janitor_clnt_parse_purge(const json_t *, struct janitor_purge_req *);
/* How many files of kind (JANITOR_KIND_RESULT, ...) a sweep or purge deleted. */
long long janitor_clnt_parse_deleted(const json_t *reply, const char *kind);

#endif
