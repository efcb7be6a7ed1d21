/* core.h: state shared by the files of the codex.core module.
 *
 * Ownership: the module state (cx_module) lives in a userdata anchored in the registry; each
 * client's C state (cx_client) is heap memory that outlives its Lua userdata until every libuv
 * handle it owns is closed, so libuv callbacks never touch freed memory. Lua values a client
 * needs (pending calls, streams, sinks) live in its userdata's user value, so cycles through
 * user callbacks stay collectable. */
#ifndef CODEX_CORE_H
#define CODEX_CORE_H
#include <uv.h>
#include "compat.h"
#include "framer.h"
#include "json.h"

#define CX_MODULE_KEY "codex.core.module"
#define CX_CLIENT_MT "codex.core.client"
#define CX_ERROR_MT "codex.core.error"
#define CX_REPORT_FN "codex.core.report_fn" /* registry: core.report, the default error sink */
#define CX_STDERR_LINES 400

typedef struct cx_client cx_client;

typedef struct cx_module {
  lua_State *L;    /* main thread of the host state */
  uv_loop_t *loop; /* the host's loop (Neovim's or luv's), or one we own */
  int owns_loop;
  int in_nvim; /* deliver through vim.schedule instead of our idle handle */
  /* registry refs */
  int ref_null, ref_schedule, ref_queue, ref_drain, ref_array_mt, ref_error_mt, ref_clients;
  /* delivery queue of (fn, a, b) triples, indices into the queue table */
  long qhead, qtail;
  int wake_pending, drain_depth;
  uv_timer_t step_timer; /* plain Lua: bounds the wait of core.step */
  int step_ready, in_step;
  cx_client *clients; /* every client whose process may still be running */
  cx_client *paused;  /* clients whose reading waits for the queue to drain */
  uv_prepare_t nest_watch; /* runs while readers are paused: sees a callback waiting in a
                              nested loop run, which must get its answers (cx_reader_paused) */
  int nest_ready;
  cx_strbuf scratch;  /* the JSON decoder's buffer for strings with escapes */
  int closing; /* the Lua state is being closed */
} cx_module;

/* A duration in milliseconds, as libuv timers take it. NaN and negative values are invalid
 * (returns -1); a value beyond what a timer can count (>= 2^63 ms, math.huge) means "never"
 * (CX_MS_NEVER), never the undefined double->integer cast that would make it "now". */
#define CX_MS_NEVER UINT64_MAX
static inline int cx_ms(double v, uint64_t *out) {
  if (!(v >= 0)) return -1;
  *out = v >= 9223372036854775808.0 ? CX_MS_NEVER : (uint64_t)v;
  return 0;
}
/* A limit in bytes (max_line, buffer_bytes); a huge value (math.huge) means no limit. */
static inline size_t cx_byte_limit(double v) {
  return !(v > 0) ? 0 : v >= (double)(SIZE_MAX / 2) ? SIZE_MAX / 2 : (size_t)v;
}
/* luaL_checknumber + cx_ms for argument arg: raises "must be a non-negative number". */
uint64_t cx_check_ms(lua_State *L, int arg, double v);

cx_module *cx_module_get(lua_State *L);
/* Queue fn(a, b) to run outside any libuv callback (scheduled). Pops 3 values: fn, a, b. */
void cx_queue_push(cx_module *m, lua_State *L);
/* Push an error object: {kind, message, code?, method?, data? (at data_idx, 0 = none)}. */
void cx_push_error(lua_State *L, const char *kind, const char *message, int has_code, long long code,
                   const char *method, int data_idx);
/* Decode one JSON text (json_decode.c); pushes the value, or returns -1 and pushes a message.
 * Raises only on memory errors: call it under a lua_pcall. */
int cx_decode(cx_module *m, lua_State *L, const char *s, size_t len);
/* The same, but unescaping strings over s itself (s is left garbled): for lines in buffers
 * the core owns. */
typedef struct {
  const char *p;
  size_t len;
} cx_span;
int cx_decode_inplace(cx_module *m, lua_State *L, char *s, size_t len, cx_span *id);
/* Encode the value at idx as one JSON line (with "\n") into b. */
int cx_encode_line(cx_module *m, lua_State *L, int idx, cx_strbuf *b, char *err, size_t errlen);

int cx_client_spawn(lua_State *L);
void cx_client_register(lua_State *L);
void cx_clients_resume(cx_module *m);
/* A client stopped reading because the queue is full: make sure a callback that waits in a
 * nested loop run (vim.wait, core.step) resumes it, or it would wait for its own answer. */
void cx_reader_paused(cx_module *m);
/* Called when the Lua state closes: stop every child, waiting for it on an owned loop. */
void cx_clients_shutdown(cx_module *m);
#endif
