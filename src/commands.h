/* The subcommands, each defined in its own cmd_*.c. */
#ifndef MB_COMMANDS_H
#define MB_COMMANDS_H

#include "cli.h"

/* Add a line here and an entry in main.c's table for each new command. */
extern const struct mb_cmd cmd_install;
extern const struct mb_cmd cmd_plan;
extern const struct mb_cmd cmd_mirror;
extern const struct mb_cmd cmd_list;
extern const struct mb_cmd cmd_verify;
extern const struct mb_cmd cmd_remove;
extern const struct mb_cmd cmd_digest;
extern const struct mb_cmd cmd_doctor;
extern const struct mb_cmd cmd_fetch;
extern const struct mb_cmd cmd_lock;
extern const struct mb_cmd cmd_run;
extern const struct mb_cmd cmd_build_key;

#endif
