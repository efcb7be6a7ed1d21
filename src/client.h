/* client.h: the C state of one client (one app-server process and the JSON-RPC session over
 * it), shared by the layers that work on it: proc.c (the process), router.c (lines in),
 * rpc.c (calls) and client.c (its Lua methods). Its Lua state, the table S, is described in
 * router.h. */
#ifndef CODEX_CLIENT_H
#define CODEX_CLIENT_H
#include "core.h"
#include "proc.h"
#include "queue.h"

#define CX_READ_CHUNK 65536

struct cx_client {
  cx_module *m;
  /* proc: the process, its pipes and timers (proc.c) */
  cx_client *next, *prev; /* m->clients, while a process may be running */
  cx_reader reader;       /* queued in m->paused while backpressure pauses reading */
  uv_process_t proc;
  uv_pipe_t in, out, err;
  uv_timer_t settle, term;
  int open_handles, ud_alive, listed;
  int exited, out_eof, err_eof, dead, closing, collected, stdin_closed, kill_stage, settle_started, paused;
  long long exit_status;
  int term_signal, pid;
  uint64_t grace_ms;
  cx_framer out_fr, err_fr;
  cx_ring ring;
  char rbuf[CX_READ_CHUNK];
  unsigned long long read_bytes, settle_mark; /* output read so far; at the last settle check */
  /* rpc: calls (rpc.c) */
  long long next_id;
  uint64_t timeout_ms; /* default request timeout; 0 or CX_MS_NEVER: none */
  int retry_attempts;
  double retry_initial_ms, retry_max_ms, retry_jitter;
  int stream_requests; /* requests in flight that will register a stream */
  /* router: lines in, streams (router.c) */
  int buffered, completed_count;
  int buf_total, buf_per_stream; /* limits (router.h: CX_BUF_*) */
  size_t buf_bytes;
  size_t buffered_bytes, line_len; /* line_len: the size of the line being routed */
  cx_span id_span;                 /* ... and where its top-level "id" lies in it */
  int s_idx;  /* stack index of S while a read callback runs */
  int k_base; /* stack index of the first hot key string (router.c) while it runs */
  unsigned long protocol_errors, dropped_events;
};

static inline double opt_field_number(lua_State *L, int t, const char *k, double def) {
  lua_getfield(L, t, k);
  double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

/* A count option (attempts): clamped to [0, INT_MAX], NaN counts as 0. */
static inline int opt_count(lua_State *L, int t, const char *k, int def) {
  double v = opt_field_number(L, t, k, def);
  return v >= 2147483647.0 ? 2147483647 : v >= 0 ? (int)v : 0;
}

/* Pushes S for a client whose userdata is alive; returns 0 (and pushes nothing) otherwise
 * (libuv callbacks find the userdata through m->ref_clients, a weak table by C pointer). */
static inline int cx_push_state(cx_client *c, lua_State *L) {
  if (!c->ud_alive || c->m->closing) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->m->ref_clients);
  lua_pushlightuserdata(L, c);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 2);
    return 0;
  }
  cx_getuservalue(L, -1);
  lua_replace(L, -3);
  lua_pop(L, 1);
  return 1;
}

/* Pushes S[name] (s absolute), creating an empty table when missing. */
static inline void cx_state_table(lua_State *L, int s, const char *name) {
  lua_getfield(L, s, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, s, name);
  }
}

/* Queues S[sink](a, b) when that sink is set. Pops a and b. */
static inline void cx_queue_sink(cx_client *c, lua_State *L, int s, const char *sink) {
  lua_getfield(L, s, sink); /* stack: a b sink */
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 3);
    return;
  }
  lua_insert(L, -3); /* stack: sink a b */
  cx_queue_push(c->m, L);
}
#endif
