/* place_settings.c - settings files, their parsers and the inotify watch. See place_settings.h. */
#include "place_settings.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* The settings files are a few lines; anything bigger is read up to this. */
#define FILE_MAX 16384

static const char *const im_programs[PLACE_IM_COUNT] = {
	[PLACE_IM_IBUS] = "ibus-daemon", [PLACE_IM_FCITX] = "fcitx", [PLACE_IM_FCITX5] = "fcitx5",
	[PLACE_IM_UIM] = "uim-xim",	 [PLACE_IM_SCIM] = "scim",
};
static const char *const im_names[PLACE_IM_COUNT] = {
	[PLACE_IM_IBUS] = "ibus", [PLACE_IM_FCITX] = "fcitx", [PLACE_IM_FCITX5] = "fcitx5",
	[PLACE_IM_UIM] = "uim",	  [PLACE_IM_SCIM] = "scim",
};

int place_im_of_program(const char *name)
{
	for (int i = 0; name && i < PLACE_IM_COUNT; i++)
		if (!strcmp(name, im_programs[i]))
			return i;
	return -1;
}

static bool list_has(const struct place_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

static void list_add(struct place_list *l, const char *s, size_t len)
{
	char item[PLACE_ITEM_LEN];

	if (!len || len >= PLACE_ITEM_LEN || l->n == PLACE_MAX_LIST)
		return;
	memcpy(item, s, len);
	item[len] = 0;
	for (size_t i = 0; i < len; i++)
		if (!isprint((unsigned char)item[i]))
			return;
	if (!list_has(l, item))
		snprintf(l->v[l->n++], PLACE_ITEM_LEN, "%s", item);
}

static int read_text(const char *root, const char *path, char *buf, size_t len)
{
	char full[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "%s%s", root, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	buf[0] = 0;
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl ? nl + 1 : NULL;
}

void place_parse_resolv(const char *text, struct place_list *out)
{
	for (const char *line = text; line && *line; line = next_line(line)) {
		const char *p = line;
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "nameserver", 10) || (p[10] != ' ' && p[10] != '\t'))
			continue;
		p += 10;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t\r\n#;");
		list_add(out, p, n);
	}
}

void place_parse_assignments(const char *text, const char *const *keys, bool split,
			     struct place_list *out)
{
	for (const char *line = text; line && *line; line = next_line(line)) {
		const char *p = line, *eq, *end;
		bool known = false;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncmp(p, "export ", 7))
			p += 7;
		eq = strchr(p, '=');
		end = strchr(p, '\n');
		if (!eq || (end && eq > end))
			continue;
		for (size_t k = 0; keys[k]; k++)
			known |= (size_t)(eq - p) == strlen(keys[k]) && !strncmp(p, keys[k], eq - p);
		if (!known)
			continue;
		p = eq + 1;
		end = p + strcspn(p, "\r\n");
		if (p < end && (*p == '"' || *p == '\'')) {
			p++;
			if (end > p && (end[-1] == '"' || end[-1] == '\''))
				end--;
		}
		while (p < end) {
			size_t n = split ? strcspn(p, ",") : (size_t)(end - p);

			if (p + n > end)
				n = (size_t)(end - p);
			list_add(out, p, n);
			p += n + 1;
		}
	}
}

const char *place_zone_of_link(const char *target)
{
	const char *z = strstr(target, "zoneinfo/");

	if (!z)
		return NULL;
	z += 9;
	/* posix/ and right/ are the same zones with other leap-second handling */
	if (!strncmp(z, "posix/", 6))
		z += 6;
	else if (!strncmp(z, "right/", 6))
		z += 6;
	return *z ? z : NULL;
}

static void read_timezone(const char *root, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX], text[256];
	ssize_t n;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/etc/localtime", root);
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		const char *z;

		target[n] = 0;
		z = place_zone_of_link(target);
		if (z) {
			snprintf(out, len, "%s", z);
			return;
		}
	}
	if (!read_text(root, "/etc/timezone", text, sizeof(text))) {
		size_t l = strcspn(text, " \t\r\n");

		if (l && l < len) {
			memcpy(out, text, l);
			out[l] = 0;
		}
	}
}

static bool program_installed(const char *root, const char *name)
{
	static const char *const dirs[] = { "/usr/bin", "/usr/local/bin", "/bin" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s/%s", root, dirs[i], name);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

void place_settings_read(const char *root, const bool running[PLACE_IM_COUNT],
			 struct place_settings *out)
{
	static const char *const locale_keys[] = { "LANG",	"LANGUAGE",   "LC_ALL",	 "LC_CTYPE",
						   "LC_TIME",	"LC_MESSAGES", "LC_NUMERIC", NULL };
	static const char *const xkb_keys[] = { "XKBLAYOUT", NULL };
	static const char *const vconsole_keys[] = { "KEYMAP", "XKBLAYOUT", NULL };
	char text[FILE_MAX];

	memset(out, 0, sizeof(*out));
	if (!read_text(root, "/etc/resolv.conf", text, sizeof(text)))
		place_parse_resolv(text, &out->dns);
	/* systemd-resolved's stub: the servers it really asks are in its own file */
	if ((out->dns.n == 1 && !strcmp(out->dns.v[0], "127.0.0.53")) &&
	    !read_text(root, "/run/systemd/resolve/resolv.conf", text, sizeof(text))) {
		memset(&out->dns, 0, sizeof(out->dns));
		place_parse_resolv(text, &out->dns);
	}
	read_timezone(root, out->timezone, sizeof(out->timezone));
	if (!read_text(root, "/etc/default/locale", text, sizeof(text)))
		place_parse_assignments(text, locale_keys, false, &out->locales);
	if (!read_text(root, "/etc/locale.conf", text, sizeof(text)))
		place_parse_assignments(text, locale_keys, false, &out->locales);
	if (!read_text(root, "/etc/default/keyboard", text, sizeof(text)))
		place_parse_assignments(text, xkb_keys, true, &out->keyboards);
	if (!read_text(root, "/etc/vconsole.conf", text, sizeof(text)))
		place_parse_assignments(text, vconsole_keys, true, &out->keyboards);
	for (int i = 0; i < PLACE_IM_COUNT; i++) {
		char item[PLACE_ITEM_LEN];

		if (running && running[i])
			snprintf(item, sizeof(item), "%s (running)", im_names[i]);
		else if (program_installed(root, im_programs[i]))
			snprintf(item, sizeof(item), "%s", im_names[i]);
		else
			continue;
		list_add(&out->input_methods, item, strlen(item));
	}
}

int place_settings_watch(const char *root)
{
	static const char *const dirs[] = { "/etc", "/etc/default", "/run/systemd/resolve" };
	char path[PATH_MAX];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), watched = 0;

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		if (inotify_add_watch(fd, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
							IN_ONLYDIR) >= 0)
			watched++;
	}
	if (!watched) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static uint32_t file_bit(const char *name)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} files[] = {
		{ "resolv.conf", PLACE_SET_DNS },     { "stub-resolv.conf", PLACE_SET_DNS },
		{ "localtime", PLACE_SET_TIMEZONE },
		{ "timezone", PLACE_SET_TIMEZONE },   { "locale", PLACE_SET_LOCALE },
		{ "locale.conf", PLACE_SET_LOCALE },  { "keyboard", PLACE_SET_KEYBOARD },
		{ "vconsole.conf", PLACE_SET_KEYBOARD },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(name, files[i].name))
			return files[i].bit;
	return 0;
}

uint32_t place_settings_drain(int fd, uint64_t *overflows)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint32_t bits = 0;

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return bits;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (e->mask & IN_Q_OVERFLOW) {
				(*overflows)++;
				bits |= PLACE_SET_DNS | PLACE_SET_TIMEZONE | PLACE_SET_LOCALE |
					PLACE_SET_KEYBOARD;
			} else if (e->len) {
				bits |= file_bit(e->name);
			}
			p += sizeof(*e) + e->len;
		}
	}
}
