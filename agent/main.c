/*
 * main.c - the ghostwatch command line: `ghostwatch debug` (the live on-host view) and the
 * informational flags. Exit status: 0 success, 1 runtime failure, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"
#include "core/config.h"
#include "view/debug_view.h"
#include "ops/ops_status.h"
#include "fleet/fleet.h"

#define EXIT_USAGE 2

static void print_hooks(const struct gw_agent *a)
{
	fprintf(stderr, "ghostwatch %s: live hooks:", GW_VERSION);
	for (int i = 0; i < a->hooks.n_status; i++)
		fprintf(stderr, " %s=%s", a->hooks.status[i].signal, a->hooks.status[i].hook);
	fputc('\n', stderr);
	for (int i = 0; i < a->hooks.n_status; i++)
		if (a->hooks.status[i].error[0])
			fprintf(stderr, "ghostwatch:   %s: %s\n", a->hooks.status[i].signal,
				a->hooks.status[i].error);
}

static int cmd_debug(int argc, char **argv)
{
	static char outbuf[1 << 16];
	struct debug_view view = { .out = stdout };
	struct app_options opt;
	struct gw_agent *a;
	int ret;

	app_options_defaults(&opt);
	if (cli_parse_debug(argc, argv, &opt, &view)) {
		gw_config_free((struct gw_config *)opt.config);
		return EXIT_USAGE;
	}
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	if (opt.config && opt.config->keep_privileges)
		opt.core.keep_privileges = true;

	a = calloc(1, sizeof(*a));
	if (!a || agent_init(a, &opt.core) || app_compose(a, &opt)) {
		fprintf(stderr, "ghostwatch: cannot initialise: %s\n", strerror(errno));
		free(a);
		gw_config_free((struct gw_config *)opt.config);
		return 1;
	}
	agent_add_sink(a, debug_view_sink(&view));
	ret = agent_start(a);
	if (!ret) {
		print_hooks(a);
		ret = agent_run(a);
		agent_print_summary(a, stderr);
	}
	fflush(stdout);
	agent_destroy(a);
	free(a);
	gw_config_free((struct gw_config *)opt.config);
	return ret ? 1 : 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option run_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = "/etc/ghostwatch/ghostwatch.yaml";
	bool check = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", run_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ghostwatch: run: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	return fleet_run(config, check, app_compose_config);
}

static int cmd_status(int argc, char **argv)
{
	static const struct option status_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = "/etc/ghostwatch/ghostwatch.yaml";
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", status_options, NULL)) != -1) {
		if (c == 'c') {
			config = optarg;
		} else if (c == 'h') {
			cli_usage(stdout);
			return 0;
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ghostwatch: status: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	return ops_status_main(config, stdout);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		cli_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("ghostwatch %s\n", GW_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "debug"))
		return cmd_debug(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	fprintf(stderr, "ghostwatch: unknown command '%s' (see ghostwatch --help)\n", argv[1]);
	return EXIT_USAGE;
}
