/* core.h: the module state every file of codex.core shares (cx_module), error objects, and
 * the one rule for what the module's Lua functions return.
 *
 * Files, by DESIGN §1 layer (each one's header comment says its job):
 *   module.c   luaopen_codex_core: host detection, loop, init; the module's small bindings
 *   queue.c    the delivery queue (queue.h): every user-visible call runs from it
 *   errors.c   error objects, their __tostring, the reporter (core.on_error / core.report)
 *   proc.c     the child process (proc.h): spawn, pipes, stderr ring, exit, kill, death
 *   rpc.c      JSON-RPC calls (rpc.h): ids, pending table, timers, retry, the write path
 *   router.c   lines in (router.h): decode, dispatch, stream routing, server requests
 *   client.c   the client userdata's Lua methods and core.spawn (client.h: cx_client)
 *   framer.c, strbuf.c, json.c, json_decode.c: bytes → lines, buffers, JSON (no Lua state)
 * Calls go down: module.c → client.c → proc.c → router.c ⇄ rpc.c → queue.c → errors.c, with
 * json, framer and strbuf at the bottom. The queue calls no client code (it restarts paused
 * readers through cx_reader.resume). The one two-way edge is router ⇄ rpc (rpc.h says why).
 *
 * Ownership: the module state lives in a userdata anchored in the registry (CX_MODULE_KEY,
 * read only by luaopen) and is upvalue 1 of every module function (cx_upmodule); client
 * methods reach it as c->m. Each client's C state (cx_client) is heap memory that outlives
 * its Lua userdata until every libuv handle it owns is closed, so libuv callbacks never touch
 * freed memory. Lua values a client needs (pending calls, streams, sinks) live in its
 * userdata's user value (router.h has the schema), so cycles through user callbacks stay
 * collectable.
 *
 * What functions return (module functions and client methods alike):
 *  - a bad argument (type, range) is the caller's bug: it raises (luaL_argerror); so does
 *    running out of memory;
 *  - a synchronous failure returns nil, message, code (cx_fail), as luv does: code is a
 *    libuv-style name ("EINVAL", "EPIPE", "ENOENT", "ESRCH", uv_err_name); success returns
 *    the value, or true when there is none;
 *  - an asynchronous failure (of an operation that answers through a callback: request,
 *    watch) reaches that callback once, as an error object (cx_push_error). The method
 *    then returns false, not nil, message, code: the callback is the one place the error
 *    goes.
 * One exception, kept because lua/codex/rpc.lua tests `ok == false and why`:
 * client:watch on a stream that already ended returns false, "this stream already ended"
 * (no code; the sink is not called). */
#ifndef CODEX_CORE_H
#define CODEX_CORE_H
#include <uv.h>
#include "compat.h"
#include "framer.h"
#include "json.h"

#define CX_MODULE_KEY "codex.core.module"
#define CX_CLIENT_MT "codex.core.client"
#define CX_ERROR_MT "codex.core.error"
#define CX_FRAMER_MT "codex.core.framer"

typedef struct cx_reader cx_reader;
/* A reader that backpressure paused (queue.h): resume(data) restarts it. */
struct cx_reader {
  cx_reader *next;
  void (*resume)(void *data);
  void *data;
};

typedef struct cx_client cx_client;

struct cx_module {
  lua_State *L;    /* main thread of the host state */
  uv_loop_t *loop; /* the host's loop (Neovim's), or one we own (plain Lua) */
  int owns_loop;
  int in_nvim; /* deliver through vim.schedule instead of core.step's drain */
  /* registry refs: values (ref_*) and functions (ref_schedule: vim.schedule; ref_drain: the
   * queue's drain; ref_report: core.report, the default sink of protocol errors;
   * ref_reporter: the user's core.on_error function, or false) */
  int ref_null, ref_schedule, ref_queue, ref_drain, ref_array_mt, ref_error_mt, ref_clients;
  int ref_report, ref_reporter;
  /* delivery queue of (fn, a, b) triples, indices into the queue table (queue.c) */
  long qhead, qtail;
  int wake_pending, drain_depth;
  uv_timer_t step_timer; /* plain Lua: bounds the wait of core.step */
  int step_ready, in_step;
  cx_reader *paused;       /* readers that wait for the queue to drain (queue.c) */
  uv_prepare_t nest_watch; /* runs while readers are paused: sees a callback waiting in a
                              nested loop run, which must get its answers (cx_queue_pause) */
  int nest_ready;
  cx_client *clients; /* every client whose process may still be running (proc.c) */
  cx_strbuf scratch;  /* the JSON decoder's buffer for strings with escapes */
  int closing;        /* the Lua state is being closed */
};

/* The module state, upvalue 1 of every module function. */
#define cx_upmodule(L) ((cx_module *)lua_touserdata((L), lua_upvalueindex(1)))

/* A duration in milliseconds, as libuv timers take it. NaN and negative values are invalid
 * (returns -1); a value beyond what a timer can count (>= 2^63 ms, math.huge) means "never"
 * (CX_MS_NEVER), never the undefined double->integer cast that would make it "now". */
#define CX_MS_NEVER UINT64_MAX
static inline int cx_ms(double v, uint64_t *out) {
  if (!(v >= 0)) return -1;
  *out = v >= 9223372036854775808.0 ? CX_MS_NEVER : (uint64_t)v;
  return 0;
}
/* cx_ms for argument arg: raises "must be a non-negative number of milliseconds". */
static inline uint64_t cx_check_ms(lua_State *L, int arg, double v) {
  uint64_t ms = 0;
  if (cx_ms(v, &ms)) luaL_argerror(L, arg, "invalid_argument: must be a non-negative number of milliseconds");
  return ms;
}
/* A limit in bytes (max_line, buffer_bytes); a huge value (math.huge) means no limit. */
static inline size_t cx_byte_limit(double v) {
  return !(v > 0) ? 0 : v >= (double)(SIZE_MAX / 2) ? SIZE_MAX / 2 : (size_t)v;
}

/* Creates the metatable name (once): methods as its __index, gc as its __gc. */
static inline void cx_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  if (luaL_newmetatable(L, name)) {
    lua_newtable(L);
    cx_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
}

/* ---- errors.c ---- */

/* A synchronous failure: pushes nil, msg, code and returns 3 (the rule above). */
int cx_fail(lua_State *L, const char *msg, const char *code);
/* Pushes an error object: {kind, message, code?, method?, data? (at data_idx, 0 = none)}. */
void cx_push_error(cx_module *m, lua_State *L, const char *kind, const char *message, int has_code,
                   long long code, const char *method, int data_idx);
/* Reports the message on the stack top (popped) as "codex: <what>: <message>" to the
 * reporter (core.on_error), else to stderr. */
void cx_report(cx_module *m, lua_State *L, const char *what);
/* Creates the error metatable and the reporter slots (module init). */
void cx_errors_init(cx_module *m, lua_State *L);
/* core.on_error, core.report */
extern const luaL_Reg cx_error_fns[];

/* ---- client.c ---- */

/* core.spawn */
extern const luaL_Reg cx_client_fns[];
/* Creates the client metatable (module init). */
void cx_client_register(lua_State *L);
#endif
