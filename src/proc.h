/* proc.h: the app-server child process of a client: spawn, pipes (stdout goes to the router,
 * stderr to a ring of its last lines), exit, the kill ladder (close stdin, SIGTERM after a
 * grace period, SIGKILL 2 s later), death detection, and the environment it starts with. */
#ifndef CODEX_PROC_H
#define CODEX_PROC_H
#include <stddef.h>
#include "core.h"

/* Ring of the last CX_RING_LINES stderr lines (each cut to CX_RING_LINE_MAX bytes). */
#define CX_RING_LINES 400
#define CX_RING_LINE_MAX 4096
typedef struct {
  char *line[CX_RING_LINES];
  size_t len[CX_RING_LINES];
  int head, count; /* head: next slot to write */
} cx_ring;

void cx_ring_push(cx_ring *r, const char *s, size_t n);
void cx_ring_free(cx_ring *r);
/* Pushes the last n lines joined by "\n", keeping at most max_bytes from the end. */
void cx_ring_push_tail(lua_State *L, const cx_ring *r, int n, size_t max_bytes);

/* Builds a NULL-terminated environment: the process's own, with the string values of the
 * table at idx set over it and keys whose value is false removed. Free with cx_env_free. */
char **cx_env_build(lua_State *L, int idx);
void cx_env_free(char **env);

/* Starts the process of c (its framers set up, c->m set) with its pipes and timers, and
 * starts reading. Returns 0, or a libuv error: c is then released as its handles close. */
int cx_proc_spawn(cx_client *c, char **argv, char **env, const char *cwd);
/* One handle c owns (a request timer) has closed: frees c when it was the last one and the
 * userdata is gone. */
void cx_proc_handle_closed(cx_client *c);
/* client:close(): stdin closed, the kill ladder started, everything pending failed now. */
void cx_proc_close(cx_client *c);
/* The userdata (at ud, its user value S) is being collected. */
void cx_proc_collect(cx_client *c, lua_State *L, int ud);
/* The Lua state is closing: stop every child, waiting for it on an owned loop. */
void cx_proc_shutdown(cx_module *m);
#endif
