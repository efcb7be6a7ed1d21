/* proc.h: helpers for the app-server child process: environment building and the stderr ring. */
#ifndef CODEX_PROC_H
#define CODEX_PROC_H
#include <stddef.h>
#include "compat.h"

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
#endif
