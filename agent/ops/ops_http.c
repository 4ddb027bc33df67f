/* ops_http.c - /metrics and /healthz over libmicrohttpd. See ops_http.h. */
#include "ops_http.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/http_reply.h"

struct ops_http {
	struct mhd_api mhd;
	struct MHD_Daemon *daemon;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" for TCP */
	pthread_mutex_t lock;
	/* under lock: the latest snapshot, the hooks verdict and when they came (monotonic) */
	char *text;
	size_t len;
	char why[256];
	uint64_t published_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ops_http_publish(struct ops_http *h, char *text, size_t len, const char *why)
{
	char *old;

	pthread_mutex_lock(&h->lock);
	old = h->text;
	h->text = text;
	h->len = len;
	snprintf(h->why, sizeof(h->why), "%s", why);
	h->published_ns = mono_ns();
	pthread_mutex_unlock(&h->lock);
	free(old);
}

/* Under h->lock: the body of a request and its status. */
static char *answer(struct ops_http *h, const char *method, const char *url, unsigned *status,
		    size_t *len)
{
	char *body = NULL;
	int n;

	*status = MHD_HTTP_OK;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		*status = MHD_HTTP_METHOD_NOT_ALLOWED;
		n = asprintf(&body, "GET only\n");
	} else if (!strcmp(url, "/metrics")) {
		if (!h->text) {
			*status = MHD_HTTP_SERVICE_UNAVAILABLE;
			n = asprintf(&body, "starting\n");
		} else {
			body = malloc(h->len ? h->len : 1);
			if (body)
				memcpy(body, h->text, h->len);
			n = (int)h->len;
		}
	} else if (!strcmp(url, "/healthz")) {
		const char *why = NULL;

		if (!h->published_ns)
			why = "starting";
		else if (mono_ns() - h->published_ns > OPS_HTTP_STALL_S * 1000000000ull)
			why = "event loop stalled";
		else if (h->why[0])
			why = h->why;
		*status = why ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
		n = why ? asprintf(&body, "degraded: %s\n", why) : asprintf(&body, "ok\n");
	} else {
		*status = MHD_HTTP_NOT_FOUND;
		n = asprintf(&body, "/metrics or /healthz\n");
	}
	if (n < 0 || !body) {
		free(n < 0 ? NULL : body);
		return NULL;
	}
	*len = (size_t)n;
	return body;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct ops_http *h = cls;
	unsigned status;
	size_t len = 0;
	char *body;

	(void)version;
	(void)upload;
	(void)req_cls;
	if (*upload_size)
		return MHD_NO; /* nothing here takes a body */
	pthread_mutex_lock(&h->lock);
	body = answer(h, method, url, &status, &len);
	pthread_mutex_unlock(&h->lock);
	if (!body)
		return MHD_NO;
	return http_reply(&h->mhd, conn, status, status == MHD_HTTP_OK && !strcmp(url, "/metrics") ?
		     "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
		     body, len);
}

static bool socket_answers(const struct listen_addr *la)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool answers = fd >= 0 && connect(fd, (const struct sockaddr *)&la->ss, la->len) == 0;

	if (fd >= 0)
		close(fd);
	return answers;
}

/* A bound, listening socket for la; -1 with err filled. */
static int listen_on(struct ops_http *h, const struct listen_addr *la, const char *name,
		     char *err, size_t errlen)
{
	int fd = socket(la->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct stat st;

	if (fd < 0)
		goto fail;
	if (la->ss.ss_family == AF_UNIX) {
		const char *path = ((const struct sockaddr_un *)&la->ss)->sun_path;

		/*
		 * A socket left by an agent that did not stop cleanly goes; one that answers
		 * belongs to a running agent (the service, while someone runs debug) and stays,
		 * as does anything that is not a socket.
		 */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			if (socket_answers(la)) {
				errno = EADDRINUSE;
				goto fail;
			}
			unlink(path);
		}
		snprintf(h->unix_path, sizeof(h->unix_path), "%s", path);
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&la->ss, la->len)) {
		h->unix_path[0] = '\0';
		goto fail;
	}
	if ((h->unix_path[0] && chmod(h->unix_path, 0600)) || listen(fd, 16))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "metrics.listen %s: %s", name, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (h->unix_path[0])
		unlink(h->unix_path);
	h->unix_path[0] = '\0';
	return -1;
}

struct ops_http *ops_http_start(const struct listen_addr *la, const char *name, char *err,
				size_t errlen)
{
	struct ops_http *h = calloc(1, sizeof(*h));
	sigset_t all, old;
	int fd;

	if (!h) {
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	if (mhd_api_load(&h->mhd, err, errlen)) {
		free(h);
		return NULL;
	}
	fd = listen_on(h, la, name, err, errlen);
	if (fd < 0) {
		mhd_api_unload(&h->mhd);
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	/*
	 * The loop reads its signals from a signalfd: the server's thread must not take them. A
	 * scrape is small: few connections, short timeouts, nobody can hold the thread.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h->daemon = h->mhd.start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, h,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
				     MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->daemon) {
		snprintf(err, errlen, "metrics.listen %s: the HTTP server does not start", name);
		close(fd);
		if (h->unix_path[0])
			unlink(h->unix_path);
		pthread_mutex_destroy(&h->lock);
		mhd_api_unload(&h->mhd);
		free(h);
		return NULL;
	}
	return h;
}

void ops_http_stop(struct ops_http *h)
{
	if (!h)
		return;
	h->mhd.stop_daemon(h->daemon); /* closes the listening socket too */
	mhd_api_unload(&h->mhd);
	if (h->unix_path[0])
		unlink(h->unix_path);
	pthread_mutex_destroy(&h->lock);
	free(h->text);
	free(h);
}
