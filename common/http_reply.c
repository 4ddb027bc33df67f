/* http_reply.c - an answer of the metrics endpoints. See http_reply.h. */
#include "http_reply.h"

#include <stdlib.h>

enum MHD_Result http_reply(const struct mhd_api *mhd, struct MHD_Connection *conn,
			   unsigned status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd->create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	mhd->add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd->add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = mhd->queue_response(conn, status, r);
	mhd->destroy_response(r);
	return ret;
}
