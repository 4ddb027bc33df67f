/* session_logind.c - sessions from systemd-logind. See session_logind.h. */
#include "session_logind.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>

#include "common/text.h"
#include "core/small_file.h"

bool session_logind_available(void)
{
	return sd_booted() > 0 && access("/run/systemd/seats", F_OK) == 0;
}

/*
 * Locking the screen or going idle only sets LockedHint or IdleHint: logind does not rewrite the
 * session file the monitor watches, so without the signal a lock waited for the minute's re-read
 * and a lock undone within the minute was never reported.
 */
static int on_session_properties(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct session_logind *l = userdata;

	(void)m;
	(void)error;
	l->hints_changed = true;
	return 0;
}

#define SESSION_PROPERTIES_MATCH                                                               \
	"type='signal',sender='org.freedesktop.login1',"                                       \
	"interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"              \
	"path_namespace='/org/freedesktop/login1/session',arg0='org.freedesktop.login1.Session'"

int session_logind_open(struct session_logind *l)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	rc = sd_login_monitor_new("session", &l->mon);
	if (rc < 0)
		return rc;
	l->fd = sd_login_monitor_get_fd(l->mon);
	if (l->fd < 0) {
		rc = l->fd;
		l->mon = sd_login_monitor_unref(l->mon);
		return rc;
	}
	/* the calls are made from the event loop: a stuck logind must not stall it for 25 s */
	if (sd_bus_open_system(&l->bus) < 0) {
		l->bus = NULL;
		return 0;
	}
	sd_bus_set_method_call_timeout(l->bus, 500000);
	/* without the match, hints are still read with the sessions and once a minute */
	if (sd_bus_add_match(l->bus, NULL, SESSION_PROPERTIES_MATCH, on_session_properties, l) < 0)
		l->errors++;
	return 0;
}

void session_logind_close(struct session_logind *l)
{
	if (l->mon)
		l->mon = sd_login_monitor_unref(l->mon);
	if (l->bus)
		l->bus = sd_bus_flush_close_unref(l->bus);
	l->fd = -1;
}

bool session_logind_changed(struct session_logind *l)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	bool changed = false;

	if (!l->mon)
		return false;
	if (poll(&pfd, 1, 0) > 0) {
		sd_login_monitor_flush(l->mon);
		changed = true;
	}
	/*
	 * Dispatches the signals read so far, without blocking. Not gated on a poll of the bus fd:
	 * the hint reads of read_hints() may have queued signals that the fd no longer shows.
	 */
	for (int i = 0; l->bus && i < 64 && sd_bus_process(l->bus, NULL) > 0; i++)
		;
	if (l->hints_changed) {
		l->hints_changed = false;
		changed = true;
	}
	return changed;
}

static void copy_value(char *dst, size_t size, const char *value)
{
	size_t n = strcspn(value, "\n");

	gw_utf8_sanitize(value, n, dst, size);
}

void session_logind_parse_state(struct session_info *s, const char *text)
{
	const char *v;

	if ((v = gw_line_value(text, "USER=")))
		copy_value(s->user, sizeof(s->user), v);
	if ((v = gw_line_value(text, "LEADER=")))
		s->leader_pid = (uint32_t)strtoul(v, NULL, 10);
	/* REALTIME is in microseconds since the epoch */
	if ((v = gw_line_value(text, "REALTIME=")))
		s->start_ns = strtoull(v, NULL, 10) * 1000ull;
}

/* logind's RemoteHost is what PAM was given: an address, or a name when sshd resolved it */
static bool is_address(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* A string sd-login hands out (malloc'd, may be NULL) into a field. */
static void take(char *dst, size_t size, int rc, char *value)
{
	dst[0] = '\0';
	if (rc >= 0 && value)
		gw_utf8_sanitize(value, strlen(value), dst, size);
	free(value);
}

static void read_hints(struct session_logind *l, struct session_info *s)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	char *path = NULL;
	int locked = 0, idle = 0;

	if (!l->bus || sd_bus_path_encode("/org/freedesktop/login1/session", s->id, &path) < 0)
		return;
	if (sd_bus_get_property_trivial(l->bus, "org.freedesktop.login1", path,
					"org.freedesktop.login1.Session", "LockedHint", &err, 'b',
					&locked) >= 0)
		s->locked = locked;
	sd_bus_error_free(&err);
	if (sd_bus_get_property_trivial(l->bus, "org.freedesktop.login1", path,
					"org.freedesktop.login1.Session", "IdleHint", &err, 'b',
					&idle) >= 0)
		s->idle = idle;
	sd_bus_error_free(&err);
	free(path);
}

static bool read_one(struct session_logind *l, const char *id, const char *proc_root,
		     struct session_info *s)
{
	char *v = NULL, path[128], state[1024];
	uid_t uid;
	int rc;

	memset(s, 0, sizeof(*s));
	s->source = "logind";
	snprintf(s->id, sizeof(s->id), "%s", id);
	rc = sd_session_get_state(id, &v);
	if (rc < 0 || (v && !strcmp(v, "closing"))) {
		free(v);
		return false;
	}
	free(v);
	s->uid = sd_session_get_uid(id, &uid) >= 0 ? (uint32_t)uid : SESSION_UID_UNKNOWN;
	v = NULL;
	rc = sd_session_get_service(id, &v);
	take(s->service, sizeof(s->service), rc, v);
	v = NULL;
	rc = sd_session_get_type(id, &v);
	take(s->logind_type, sizeof(s->logind_type), rc, v);
	v = NULL;
	rc = sd_session_get_tty(id, &v);
	take(s->tty, sizeof(s->tty), rc, v);
	v = NULL;
	rc = sd_session_get_display(id, &v);
	take(s->display, sizeof(s->display), rc, v);
	v = NULL;
	rc = sd_session_get_remote_host(id, &v);
	take(s->remote_host, sizeof(s->remote_host), rc, v);
	v = NULL;
	rc = sd_session_get_seat(id, &v);
	take(s->seat, sizeof(s->seat), rc, v);
	s->remote = sd_session_is_remote(id) > 0;
	if (s->remote && is_address(s->remote_host))
		snprintf(s->remote_address, sizeof(s->remote_address), "%.63s", s->remote_host);
	/* the user's name, the leader and the start are in logind's state file sd-login reads */
	snprintf(path, sizeof(path), "/run/systemd/sessions/%s", id);
	if (!strchr(id, '/') && gw_read_small_file(AT_FDCWD, path, 0, state, sizeof(state)) > 0)
		session_logind_parse_state(s, state);
	session_read_leader(s, proc_root);
	read_hints(l, s);
	return true;
}

size_t session_logind_read(struct session_logind *l, const char *proc_root,
			   struct session_info *out, size_t max)
{
	char **ids = NULL;
	size_t n = 0;
	int count = sd_get_sessions(&ids);

	if (count < 0) {
		l->errors++;
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (n < max && read_one(l, ids[i], proc_root, &out[n]))
			n++;
		else if (n >= max)
			l->errors++;
		free(ids[i]);
	}
	free(ids);
	return n;
}
