/* privs.c - dropping the capabilities the running agent does not need. See privs.h. */
#include "privs.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
#include <sys/capability.h>

static const cap_value_t agent_kept[] = { CAP_BPF, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH };
static const cap_value_t netns_helper_kept[] = { CAP_SYS_ADMIN };

struct kept_set {
	const cap_value_t *v;
	size_t n;
};

static struct kept_set kept_set(enum privs_role role)
{
	if (role == PRIVS_NETNS_HELPER)
		return (struct kept_set){ netns_helper_kept, 1 };
	return (struct kept_set){ agent_kept, sizeof(agent_kept) / sizeof(agent_kept[0]) };
}

static bool kept(struct kept_set k, cap_value_t c)
{
	for (size_t i = 0; i < k.n; i++)
		if (k.v[i] == c)
			return true;
	return false;
}

/* errno as -errno, with what failed and why in why. */
static int fail(char *why, size_t why_size, const char *what)
{
	int err = errno ? errno : EPERM;

	snprintf(why, why_size, "%s: %s", what, strerror(err));
	return -err;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Empties the bounding set but for the kept capabilities and locks root's exec privileges off;
 * both need CAP_SETPCAP, dropped with the rest right after. */
static int drop_bounding(struct kept_set k, char *why, size_t why_size)
{
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (kept(k, c))
			continue;
		if (cap_drop_bound(c))
			return fail(why, why_size, "dropping a capability from the bounding set");
	}
	if (cap_set_secbits(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED))
		return fail(why, why_size, "locking root's exec privileges off");
	return 0;
}

static int set_kept(struct kept_set k, cap_t now, char *kept_text, size_t kept_size, char *why,
		    size_t why_size)
{
	cap_t next = cap_init();
	char *text;
	int err = 0;

	if (!next)
		return -ENOMEM;
	for (size_t i = 0; i < k.n; i++) {
		cap_flag_value_t have = CAP_CLEAR;

		if (cap_get_flag(now, k.v[i], CAP_PERMITTED, &have) || have != CAP_SET)
			continue;
		cap_set_flag(next, CAP_PERMITTED, 1, &k.v[i], CAP_SET);
		cap_set_flag(next, CAP_EFFECTIVE, 1, &k.v[i], CAP_SET);
	}
	if (cap_set_proc(next))
		err = fail(why, why_size, "setting the kept capabilities");
	else if ((text = cap_to_text(next, NULL))) {
		snprintf(kept_text, kept_size, "%s", text[0] == '=' && !text[1] ? "none" : text);
		cap_free(text);
	}
	cap_free(next);
	return err;
}

int privs_drop(enum privs_role role, char *kept_text, size_t kept_size, bool *bounded, char *why,
	       size_t why_size)
{
	struct kept_set k = kept_set(role);
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_t now;
	int n, err;

	kept_text[0] = why[0] = '\0';
	n = count_threads();
	if (n < 0) {
		snprintf(why, why_size, "counting the agent's threads: %s", strerror(-n));
		return n;
	}
	if (n != 1) {
		snprintf(why, why_size, "%d threads already run and would keep every capability", n);
		return -EBUSY;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(why, why_size, "setting no_new_privs");
	now = cap_get_proc();
	if (!now)
		return fail(why, why_size, "reading the capabilities");
	cap_get_flag(now, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	*bounded = setpcap == CAP_SET;
	err = *bounded ? drop_bounding(k, why, why_size) : 0;
	if (!err && cap_reset_ambient() && errno != EINVAL)
		err = fail(why, why_size, "clearing the ambient set");
	if (!err)
		err = set_kept(k, now, kept_text, kept_size, why, why_size);
	cap_free(now);
	return err;
}
