/* exfil_argv.c - transfer command lines and the host they copy to. See exfil_argv.h. */
#include "exfil_argv.h"

#include <string.h>

const char *exfil_tool_name(enum exfil_tool t)
{
	switch (t) {
	case EXFIL_TOOL_GIT_PUSH: return "git push";
	case EXFIL_TOOL_RSYNC: return "rsync";
	case EXFIL_TOOL_SCP: return "scp";
	case EXFIL_TOOL_SFTP: return "sftp";
	case EXFIL_TOOL_RCLONE: return "rclone";
	default: return "none";
	}
}

static bool copy_host(const char *s, size_t n, char *host, size_t hostlen)
{
	if (!n || n >= hostlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ' ' || s[i] == '\\')
			return false;
	memcpy(host, s, n);
	host[n] = 0;
	return true;
}

/* host[:port] or [v6]:port, after any user:password@ */
static bool authority_host(const char *s, size_t n, char *host, size_t hostlen)
{
	const char *at = memrchr(s, '@', n), *colon;

	if (at) {
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	if (n && s[0] == '[') {
		const char *end = memchr(s, ']', n);

		return end && copy_host(s + 1, (size_t)(end - s - 1), host, hostlen);
	}
	colon = memchr(s, ':', n);
	return copy_host(s, colon ? (size_t)(colon - s) : n, host, hostlen);
}

bool exfil_remote_host(const char *arg, char *host, size_t hostlen)
{
	const char *scheme = strstr(arg, "://"), *colon, *slash, *at;

	if (scheme) {
		const char *auth = scheme + 3;

		if (scheme == arg || !strncmp(arg, "file://", 7))
			return false;
		return authority_host(auth, strcspn(auth, "/?#"), host, hostlen);
	}
	/* scp-like [user@]host:path, [user@][v6]:path; a path with a slash before its colon is
	 * local. The user part ends at the last '@' before the path's first slash. */
	slash = strchr(arg, '/');
	at = memrchr(arg, '@', slash ? (size_t)(slash - arg) : strlen(arg));
	if (at)
		arg = at + 1;
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		return end && end[1] == ':' && copy_host(arg + 1, (size_t)(end - arg - 1), host,
							  hostlen);
	}
	colon = strchr(arg, ':');
	slash = strchr(arg, '/');
	if (!colon || colon == arg || (slash && slash < colon))
		return false;
	return copy_host(arg, (size_t)(colon - arg), host, hostlen);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Options of ssh-based copies that take a value in the next word. */
static bool ssh_opt_takes_value(const char *a, const char *with_value)
{
	return a[0] == '-' && a[1] && !a[2] && strchr(with_value, a[1]);
}

/* The last operand (not an option or an option's value): where the copy goes. */
static const char *last_operand(const char *const *argv, size_t argc, const char *with_value)
{
	const char *last = NULL;

	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			if (i + 1 < argc)
				last = argv[argc - 1];
			break;
		}
		if (a[0] == '-') {
			if (ssh_opt_takes_value(a, with_value))
				i++;
			continue;
		}
		last = a;
	}
	return last;
}

static enum exfil_tool git_push(const char *const *argv, size_t argc, char *host, size_t hostlen)
{
	size_t i = 1;

	/* global options before the subcommand; these take a value in the next word */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-C") || !strcmp(argv[i], "-c") ||
		    !strcmp(argv[i], "--git-dir") || !strcmp(argv[i], "--work-tree") ||
		    !strcmp(argv[i], "--namespace"))
			i++;
		i++;
	}
	if (i >= argc || strcmp(argv[i], "push"))
		return EXFIL_TOOL_NONE;
	for (i++; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--repo") && i + 1 < argc) {
			exfil_remote_host(argv[i + 1], host, hostlen);
			break;
		}
		if (!strncmp(a, "--repo=", 7)) {
			exfil_remote_host(a + 7, host, hostlen);
			break;
		}
		if (!strcmp(a, "-o") || !strcmp(a, "--push-option") || !strcmp(a, "--receive-pack") ||
		    !strcmp(a, "--exec")) {
			i++;
			continue;
		}
		if (a[0] == '-')
			continue;
		/* the first operand is the repository: a URL, scp-like, or a remote's name */
		exfil_remote_host(a, host, hostlen);
		break;
	}
	return EXFIL_TOOL_GIT_PUSH;
}

static enum exfil_tool rclone(const char *const *argv, size_t argc)
{
	static const char *const sends[] = { "copy", "copyto", "sync", "move", "moveto", "rcat",
					     "bisync" };
	const char *dest;
	size_t i = 1;

	while (i < argc && argv[i][0] == '-')
		i++;
	if (i >= argc)
		return EXFIL_TOOL_NONE;
	for (size_t k = 0; k < sizeof(sends) / sizeof(sends[0]); k++)
		if (!strcmp(argv[i], sends[k])) {
			dest = last_operand(argv + i, argc - i, "");
			/* rclone names a remote "name:path"; a local destination has no colon */
			if (dest && dest != argv[i] && strchr(dest, ':') && dest[0] != '/')
				return EXFIL_TOOL_RCLONE;
			return EXFIL_TOOL_NONE;
		}
	return EXFIL_TOOL_NONE;
}

enum exfil_tool exfil_transfer_of(const char *const *argv, size_t argc, char *host, size_t hostlen)
{
	const char *tool, *dest;

	host[0] = 0;
	if (!argc || !argv[0])
		return EXFIL_TOOL_NONE;
	tool = base_name(argv[0]);
	if (!strcmp(tool, "git"))
		return git_push(argv, argc, host, hostlen);
	if (!strcmp(tool, "rclone"))
		return rclone(argv, argc);
	if (!strcmp(tool, "scp")) {
		dest = last_operand(argv, argc, "cFiJlmoPSX");
		return dest && exfil_remote_host(dest, host, hostlen) ? EXFIL_TOOL_SCP
								       : EXFIL_TOOL_NONE;
	}
	if (!strcmp(tool, "rsync")) {
		dest = last_operand(argv, argc, "eBfTM");
		return dest && exfil_remote_host(dest, host, hostlen) ? EXFIL_TOOL_RSYNC
								       : EXFIL_TOOL_NONE;
	}
	if (!strcmp(tool, "sftp")) {
		/* interactive: what it puts is not on the command line, where it connects is */
		dest = last_operand(argv, argc, "BbcDFiJloPRS");
		if (!dest)
			return EXFIL_TOOL_NONE;
		if (!exfil_remote_host(dest, host, hostlen))
			authority_host(dest, strlen(dest), host, hostlen);
		return EXFIL_TOOL_SFTP;
	}
	return EXFIL_TOOL_NONE;
}
