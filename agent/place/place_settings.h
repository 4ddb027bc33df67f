/*
 * place_settings.h - what the host's files say about where it and its user are: DNS servers
 * (resolv.conf, and systemd-resolved's upstream list when resolv.conf points at its stub), the
 * timezone, the configured locales, keyboard layouts and input methods; and an inotify watch that
 * says when one of those files changed. Every path is read under a root ("" = /), so tests can
 * use a tree of their own.
 */
#ifndef GW_PLACE_SETTINGS_H
#define GW_PLACE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLACE_MAX_LIST 8
#define PLACE_ITEM_LEN 64

struct place_list {
	char v[PLACE_MAX_LIST][PLACE_ITEM_LEN];
	size_t n;
};

/* The input method frameworks looked for: by the program each one runs. */
enum place_im { PLACE_IM_IBUS, PLACE_IM_FCITX, PLACE_IM_FCITX5, PLACE_IM_UIM, PLACE_IM_SCIM,
		PLACE_IM_COUNT };

struct place_settings {
	struct place_list dns;
	char timezone[PLACE_ITEM_LEN];
	struct place_list locales;
	struct place_list keyboards;
	struct place_list input_methods; /* "ibus", "fcitx5 (running)" */
};

/* The enum place_im whose daemon has this name (comm or basename), or -1. */
int place_im_of_program(const char *name);

/* Reads every setting under root; running[i] says whether that input method's daemon runs. */
void place_settings_read(const char *root, const bool running[PLACE_IM_COUNT],
			 struct place_settings *out);

/* Parses resolv.conf text: nameserver lines, in order, at most PLACE_MAX_LIST. */
void place_parse_resolv(const char *text, struct place_list *out);
/* Values of KEY=value lines (quotes removed) whose key is one of keys, split at commas when
 * split is set, distinct, in file order. */
void place_parse_assignments(const char *text, const char *const *keys, bool split,
			     struct place_list *out);
/* The zone name of a /etc/localtime link target ("../usr/share/zoneinfo/Asia/Tokyo"), or NULL. */
const char *place_zone_of_link(const char *target);

/* An inotify descriptor watching the settings files' directories under root; -errno. */
int place_settings_watch(const char *root);
/* Drains it: 1 when a settings file changed, 0 otherwise; the file names in which (bit per
 * PLACE_SET_*). */
#define PLACE_SET_DNS (1u << 0)
#define PLACE_SET_TIMEZONE (1u << 1)
#define PLACE_SET_LOCALE (1u << 2)
#define PLACE_SET_KEYBOARD (1u << 3)
uint32_t place_settings_drain(int fd, uint64_t *overflows);

#endif
