/* ids.c - see ids.h. */
#include <string.h>

#include "ids.h"

#define DIGITS	"0123456789"
#define LOWER	"abcdefghijklmnopqrstuvwxyz"
#define UPPER	"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* 1 when s is 1-max bytes, each one of set. */
static int
ids_all_of(const char *s, size_t max, const char *set)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;

	return n > 0 && n <= max && strspn(s, set) == n;
}

int
ids_slot_valid(const char *s)
{
	return s != NULL && strncmp(s, "slot-", 5) == 0 &&
	    ids_all_of(s + 5, IDS_SLOT_MAX - 5, DIGITS);
}

int
ids_username_valid(const char *s)
{
	return ids_all_of(s, IDS_USERNAME_MAX, LOWER DIGITS "_-");
}

int
ids_token_valid(const char *s, size_t max)
{
	return ids_all_of(s, max, LOWER UPPER DIGITS "._:-");
}
