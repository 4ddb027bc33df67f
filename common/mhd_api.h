/*
 * mhd_api.h - libmicrohttpd, loaded when an endpoint is configured rather than at every start.
 * The library brings GnuTLS, p11-kit, nettle and GMP with it, whose constructors run at load: on
 * an agent that serves nothing (metrics.listen is off by default) they cost ~3 MiB of resident
 * memory and ~1.6 ms of start-up. The agent's ops endpoint and the collector's --metrics both
 * call the library through this table; packages depend on libmicrohttpd12 by name, since the
 * linker no longer records it.
 */
#ifndef GW_MHD_API_H
#define GW_MHD_API_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#define MHD_API_SONAME "libmicrohttpd.so.12"

struct mhd_api {
	void *handle;
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
					   MHD_AcceptPolicyCallback apc, void *apc_cls,
					   MHD_AccessHandlerCallback dh, void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *daemon);
	struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode mode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *response, const char *header,
					       const char *content);
	enum MHD_Result (*queue_response)(struct MHD_Connection *connection,
					  unsigned int status_code, struct MHD_Response *response);
	void (*destroy_response)(struct MHD_Response *response);
};

/* Loads the library (GW_MHD_LIBRARY names another file, for tests) and fills api. 0, or -1 with
 * the loader's reason in err. */
int mhd_api_load(struct mhd_api *api, char *err, size_t errlen);

/* Unloads it once every daemon started through api is stopped. */
void mhd_api_unload(struct mhd_api *api);

#endif
