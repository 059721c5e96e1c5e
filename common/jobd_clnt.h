/*
 * jobd_clnt.h - jobd's socket verbs as both ends see them: names, keys, a
 * struct per request, pack/parse.  gatewayd (cancel, retry) and pbctl call
 * them; jobd parses with them.  Described in jobd(8) and `jobd --help`.
 * Parsed strings are borrowed from the message.
 */
#ifndef PB_JOBD_CLNT_H
#define PB_JOBD_CLNT_H

#include <jansson.h>

#define JOBD_VERB_JOBS		"jobs"
#define JOBD_VERB_JOB		"job"
#define JOBD_VERB_CANCEL	"cancel"
#define JOBD_VERB_RETRY		"retry"

#define JOBD_KEY_ID		"id"
#define JOBD_KEY_STATE		"state"
#define JOBD_KEY_SLOT		"slot"
#define JOBD_KEY_LIMIT		"limit"
/* Reply keys. */
#define JOBD_KEY_JOBS		"jobs"
#define JOBD_KEY_JOB		"job"

/* jobs [state=S] [slot=ID] [limit=N]: every key may be NULL. */
struct jobd_jobs_req {
	const char	*state, *slot, *limit;
};

/* job, cancel and retry: one job id. */
struct jobd_id_req {
	const char	*id;
};

/* {"ok":true,"id":ID,"state":S}: cancel's and retry's reply. */
struct jobd_transition_reply {
	const char	*id, *state;
};

int	 jobd_clnt_parse_jobs(const json_t *, struct jobd_jobs_req *);
/* verb: JOBD_VERB_JOB, JOBD_VERB_CANCEL or JOBD_VERB_RETRY. */
json_t	*jobd_clnt_pack_id(const char *verb, const struct jobd_id_req *);
int	 jobd_clnt_parse_id(const json_t *, struct jobd_id_req *);
json_t	*jobd_clnt_pack_transition_reply(const struct jobd_transition_reply *);

#endif
