/*
 * http_reply.h - one answer of the agent's and the collector's libmicrohttpd endpoints (/metrics,
 * /healthz): the body handed over to the library, its type, and no caching, so both serve their
 * text the same way.
 */
#ifndef GW_HTTP_REPLY_H
#define GW_HTTP_REPLY_H

#include <stddef.h>

#include "mhd_api.h"

/* Queues body (malloc'd; the library frees it, or this does on failure) with `status`. */
enum MHD_Result http_reply(const struct mhd_api *mhd, struct MHD_Connection *conn,
			   unsigned status, const char *type, char *body, size_t len);

#endif
