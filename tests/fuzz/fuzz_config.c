// fuzz: agent/core/config.c agent/core/config_values.c agent/core/work_hours.c agent/core/config_allow.c agent/core/listen_addr.c common/log.c common/yaml_doc.c agent/core/config_redact.c agent/core/redact.c agent/core/redact_pattern.c
/* libFuzzer target for the YAML config parser: any bytes must give a config or a "file:line:" error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[GW_CONFIG_ERR_LEN];
	struct gw_config *cfg = gw_config_parse("f.yaml", (const char *)data, size, err, sizeof(err));

	if (cfg)
		gw_config_free(cfg);
	else if (strncmp(err, "f.yaml:", 7) != 0)
		abort();
	return 0;
}
