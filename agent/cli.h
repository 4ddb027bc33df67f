/*
 * cli.h - the command line's words: the usage text every subcommand prints on a mistake, and
 * `ghostwatch debug`'s options turned into the composition's options (app.h) and the view's.
 * main.c runs the subcommands; this file only reads what the user typed.
 */
#ifndef GW_CLI_H
#define GW_CLI_H

#include <stdio.h>

#include "app.h"
#include "view/debug_view.h"

void cli_usage(FILE *out);

/* Fills o and v from debug's arguments (o holds defaults first); 0, or -1 after saying why on
 * stderr. --help prints the usage and exits 0. */
int cli_parse_debug(int argc, char **argv, struct app_options *o, struct debug_view *v);

#endif
