/* mhd_api.c - libmicrohttpd through dlopen. See mhd_api.h. */
#include "mhd_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mhd_api_load(struct mhd_api *api, char *err, size_t errlen)
{
	const char *file = getenv("GW_MHD_LIBRARY");
	const char *missing = NULL;

	memset(api, 0, sizeof(*api));
	if (!file || !*file)
		file = MHD_API_SONAME;
	api->handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (!api->handle) {
		snprintf(err, errlen, "cannot load %s (Debian: libmicrohttpd12): %s", file,
			 dlerror());
		return -1;
	}
#define SYM(field, name)                                                                        \
	do {                                                                                    \
		*(void **)&api->field = dlsym(api->handle, name);                              \
		if (!api->field && !missing)                                                   \
			missing = name;                                                        \
	} while (0)
	SYM(start_daemon, "MHD_start_daemon");
	SYM(stop_daemon, "MHD_stop_daemon");
	SYM(create_response_from_buffer, "MHD_create_response_from_buffer");
	SYM(add_response_header, "MHD_add_response_header");
	SYM(queue_response, "MHD_queue_response");
	SYM(destroy_response, "MHD_destroy_response");
#undef SYM
	if (missing) {
		snprintf(err, errlen, "%s has no %s", file, missing);
		mhd_api_unload(api);
		return -1;
	}
	return 0;
}

void mhd_api_unload(struct mhd_api *api)
{
	if (api->handle)
		dlclose(api->handle);
	memset(api, 0, sizeof(*api));
}
