/*
 * exfil_argv.h - which command lines copy data to another host (git push, rsync, scp, sftp,
 * rclone) and the remote host they name. Only the host is kept: user names, passwords, ports and
 * paths are cut off, so no URL path leaves this module.
 */
#ifndef GW_EXFIL_ARGV_H
#define GW_EXFIL_ARGV_H

#include <stdbool.h>
#include <stddef.h>

enum exfil_tool {
	EXFIL_TOOL_NONE = 0,
	EXFIL_TOOL_GIT_PUSH,
	EXFIL_TOOL_RSYNC,
	EXFIL_TOOL_SCP,
	EXFIL_TOOL_SFTP,
	EXFIL_TOOL_RCLONE,
};

#define EXFIL_HOST_MAX 254

const char *exfil_tool_name(enum exfil_tool t);

/*
 * The transfer argv[0..argc) makes (argv[0]'s basename names the tool), and in host the remote
 * host its destination names ("" when it names none: a git remote's name, an rclone remote,
 * which only the connection it opens will tell). NONE for anything else, including a copy whose
 * destination is local (a download).
 */
enum exfil_tool exfil_transfer_of(const char *const *argv, size_t argc, char *host, size_t hostlen);

/* The host of "scheme://[user[:pw]@]host[:port]/path" or "[user@]host:path"; false if none. */
bool exfil_remote_host(const char *arg, char *host, size_t hostlen);

#endif
