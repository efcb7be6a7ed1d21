/* codex_core.c: the codex.core module: host detection (Neovim or plain Lua), the loop, the
 * delivery queue that moves every user-visible call out of libuv callbacks, JSON helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

/* luv keeps its per-state context in the registry under "luv_context"; since luv 1.30 its
 * first fields are the loop and the main thread. We read only that prefix, so no luv header
 * is needed. */
typedef struct {
  uv_loop_t *loop;
  lua_State *L; /* luv: "main thread, ensure coroutines works" */
} luv_ctx_prefix;

uint64_t cx_check_ms(lua_State *L, int arg, double v) {
  uint64_t ms = 0;
  if (cx_ms(v, &ms)) luaL_argerror(L, arg, "invalid_argument: must be a non-negative number of milliseconds");
  return ms;
}

cx_module *cx_module_get(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, CX_MODULE_KEY);
  cx_module *m = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return m;
}

/* ---- delivery queue ------------------------------------------------------------------ */

static void wake(cx_module *m, lua_State *L) {
  if (m->wake_pending || m->closing) return;
  m->wake_pending = 1;
  if (m->in_nvim) {
    /* vim.schedule is allowed in a fast context and runs drain outside it. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_schedule);
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_drain);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      fprintf(stderr, "codex.core: vim.schedule failed: %s\n", lua_tostring(L, -1));
      lua_pop(L, 1);
      m->wake_pending = 0;
    }
  }
  /* Plain Lua: core.step drains the queue after each loop iteration, outside uv_run, so a
   * callback may itself wait (and step) without re-entering libuv. */
}

void cx_queue_push(cx_module *m, lua_State *L) {
  /* stack: fn a b */
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_queue);
  for (int i = 0; i < 3; i++) {
    lua_pushvalue(L, -4 + i);
    lua_rawseti(L, -2, (int)(m->qtail + i));
  }
  m->qtail += 3;
  lua_pop(L, 4);
  wake(m, L);
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static void report(lua_State *L, const char *what) {
  /* stack: message. The reporter is codex.core.on_error (a Lua function) when set. */
  lua_getfield(L, LUA_REGISTRYINDEX, "codex.core.reporter");
  if (lua_isfunction(L, -1)) {
    lua_pushfstring(L, "codex: %s: %s", what, lua_tostring(L, -2));
    if (lua_pcall(L, 1, 0, 0) == LUA_OK) {
      lua_pop(L, 1);
      return;
    }
  }
  fprintf(stderr, "codex: %s: %s\n", what, lua_tostring(L, -2));
  lua_pop(L, 2);
}

/* Runs queued callbacks in order until the queue is empty, with unprotected calls: l_drain
 * runs it under one lua_pcall and re-enters it after an error, so a failing callback costs a
 * report, not the rest of the queue, and the common case pays no per-callback pcall. */
static int run_queue(lua_State *L) {
  cx_module *m = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_queue);
  int q = lua_gettop(L);
  while (m->qhead < m->qtail) {
    long h = m->qhead;
    m->qhead += 3; /* pop first: the callback may drain re-entrantly */
    lua_rawgeti(L, q, (int)h);
    lua_rawgeti(L, q, (int)h + 1);
    lua_rawgeti(L, q, (int)h + 2);
    lua_call(L, 2, 0);
  }
  return 0;
}

static int l_drain(lua_State *L) {
  cx_module *m = lua_touserdata(L, lua_upvalueindex(1));
  m->wake_pending = 0;
  m->drain_depth++;
  lua_pushcfunction(L, traceback);
  int tb = lua_gettop(L);
  while (m->qhead < m->qtail) {
    lua_pushcfunction(L, run_queue);
    lua_pushlightuserdata(L, m);
    if (lua_pcall(L, 1, 0, tb) != LUA_OK) report(L, "error in callback");
  }
  lua_pop(L, 1);
  if (--m->drain_depth == 0 && m->qhead == m->qtail) {
    /* Start a fresh queue table rather than clearing each slot as it is taken; callers
     * deeper in the stack (re-entrant drains) are gone by now. */
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, m->ref_queue);
    m->qhead = m->qtail = 1;
  }
  cx_clients_resume(m);
  return 0;
}

/* Backpressure pauses reading until the queue drains. A queued callback that waits (a
 * blocking call, vim.wait) runs the loop from inside the drain; the drain cannot finish
 * until the wait does, and the answer it waits for may sit behind the paused read. The loop
 * running while a drain is in progress is exactly that case: resume reading then. */
static void nest_cb(uv_prepare_t *h) {
  cx_module *m = h->data;
  if (m->drain_depth > 0) cx_clients_resume(m);
  if (!m->paused) uv_prepare_stop(h);
}

void cx_reader_paused(cx_module *m) {
  if (m->nest_ready && !uv_is_active((uv_handle_t *)&m->nest_watch)) uv_prepare_start(&m->nest_watch, nest_cb);
}

/* ---- JSON ---------------------------------------------------------------------------- */

int cx_encode_line(cx_module *m, lua_State *L, int idx, cx_strbuf *b, char *err, size_t errlen) {
  idx = cx_absindex(L, idx);
  cx_json_enc enc;
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_null);
  enc.null_idx = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_array_mt);
  enc.array_mt_idx = lua_gettop(L);
  int rc = cx_json_encode(L, idx, b, &enc);
  lua_pop(L, 2);
  if (rc) {
    snprintf(err, errlen, "%s", enc.err);
    return -1;
  }
  if (cx_strbuf_putc(b, '\n')) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

static int encode_with(lua_State *L, int toml) {
  cx_module *m = cx_module_get(L);
  luaL_checkany(L, 1);
  cx_strbuf b;
  cx_strbuf_init(&b);
  cx_json_enc enc;
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_null);
  enc.null_idx = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_array_mt);
  enc.array_mt_idx = lua_gettop(L);
  int rc = toml ? cx_toml_encode(L, 1, &b, &enc) : cx_json_encode(L, 1, &b, &enc);
  if (rc) {
    cx_strbuf_free(&b);
    lua_pushnil(L);
    lua_pushstring(L, enc.err);
    lua_pushstring(L, "EINVAL");
    return 3;
  }
  lua_pushlstring(L, b.data ? b.data : "", b.len);
  cx_strbuf_free(&b);
  return 1;
}

/* core.encode(value) -> json | nil, message, "EINVAL" */
static int l_encode(lua_State *L) { return encode_with(L, 0); }
/* core.toml(value) -> toml | nil, message, "EINVAL" */
static int l_toml(lua_State *L) { return encode_with(L, 1); }

/* core.decode(json) -> value | nil, message, "EINVAL" (the core's decoder; null is core.null)
 * (a Lua function, so a memory error simply raises to its caller) */
static int l_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (cx_decode(cx_module_get(L), L, s, len)) {
    lua_pushnil(L);
    lua_insert(L, -2);
    lua_pushstring(L, "EINVAL");
    return 3;
  }
  return 1;
}

/* core.array(t?) -> t, marked as a JSON array (so an empty one encodes as []). */
static int l_array(lua_State *L) {
  if (lua_isnoneornil(L, 1)) lua_newtable(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, cx_module_get(L)->ref_array_mt);
  lua_setmetatable(L, 1);
  return 1;
}

/* ---- framer (exposed for unit tests and for Lua-side tools) -------------------------- */

typedef struct {
  cx_framer f;
  lua_State *L;
  int out; /* stack index of the result table while feeding */
  int n, overflows;
} framer_ud;

static int framer_line(void *ud, const char *line, size_t len) {
  framer_ud *u = ud;
  lua_pushlstring(u->L, line, len);
  lua_rawseti(u->L, u->out, ++u->n);
  return 0;
}
static void framer_overflow(void *ud, size_t n) {
  (void)n;
  ((framer_ud *)ud)->overflows++;
}

/* framer:feed(bytes) -> {lines…}, overflows (total over-long lines dropped so far) */
static int l_framer_feed(lua_State *L) {
  framer_ud *u = luaL_checkudata(L, 1, "codex.core.framer");
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_newtable(L);
  u->L = L;
  u->out = lua_gettop(L);
  u->n = 0;
  if (cx_framer_feed(&u->f, s, len) < 0) return luaL_error(L, "out of memory");
  lua_pushinteger(L, u->overflows);
  return 2;
}

static int l_framer_finish(lua_State *L) {
  framer_ud *u = luaL_checkudata(L, 1, "codex.core.framer");
  lua_newtable(L);
  u->L = L;
  u->out = lua_gettop(L);
  u->n = 0;
  cx_framer_finish(&u->f);
  lua_pushinteger(L, u->overflows);
  return 2;
}

static int l_framer_buffered(lua_State *L) {
  framer_ud *u = luaL_checkudata(L, 1, "codex.core.framer");
  lua_pushinteger(L, (lua_Integer)u->f.partial.cap);
  return 1;
}

static int l_framer_gc(lua_State *L) {
  framer_ud *u = luaL_checkudata(L, 1, "codex.core.framer");
  cx_framer_free(&u->f);
  return 0;
}

/* core.framer(max_line?) -> framer */
static int l_framer(lua_State *L) {
  lua_Number max = luaL_optnumber(L, 1, 64.0 * 1024 * 1024);
  luaL_argcheck(L, max >= 1, 1, "max_line must be positive");
  framer_ud *u = lua_newuserdata(L, sizeof *u);
  memset(u, 0, sizeof *u);
  cx_framer_init(&u->f, cx_byte_limit(max), framer_line, framer_overflow, u);
  luaL_getmetatable(L, "codex.core.framer");
  lua_setmetatable(L, -2);
  return 1;
}

/* ---- loop and timers ----------------------------------------------------------------- */

static void step_timer_cb(uv_timer_t *t) { (void)t; }

/* core.step(timeout_ms) -> loop_alive. Plain Lua only: runs one loop iteration, waiting at
 * most timeout_ms for an event, then runs the queued callbacks (outside libuv). When
 * callbacks are already queued it runs them without waiting. */
static int l_step(lua_State *L) {
  cx_module *m = cx_module_get(L);
  if (m->in_nvim) return luaL_error(L, "codex.core.step is for plain Lua; Neovim runs its own loop");
  uint64_t ms = cx_check_ms(L, 1, luaL_optnumber(L, 1, 0));
  int alive = 1;
  /* No Lua runs inside uv_run under plain Lua (callbacks are queued), so this cannot nest;
   * the guard keeps libuv's no-re-entry rule even if that ever changed. */
  if (m->in_step) return luaL_error(L, "codex.core.step: called from inside the loop");
  if (m->qhead == m->qtail) {
    uv_update_time(m->loop);
    uv_timer_start(&m->step_timer, step_timer_cb, ms, 0);
    m->in_step = 1;
    alive = uv_run(m->loop, UV_RUN_ONCE);
    m->in_step = 0;
    uv_timer_stop(&m->step_timer);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_drain);
  lua_call(L, 0, 0);
  lua_pushboolean(L, alive);
  return 1;
}

/* core.pending_callbacks() -> number of queued callbacks not yet run */
static int l_pending_callbacks(lua_State *L) {
  cx_module *m = cx_module_get(L);
  lua_pushinteger(L, (lua_Integer)((m->qtail - m->qhead) / 3));
  return 1;
}

/* core.now() -> the loop's millisecond clock */
static int l_now(lua_State *L) {
  cx_module *m = cx_module_get(L);
  uv_update_time(m->loop);
  lua_pushnumber(L, (lua_Number)uv_now(m->loop));
  return 1;
}

typedef struct cx_timer cx_timer;
struct cx_timer {
  uv_timer_t t;
  cx_module *m;
  int ref_fn, ref_slot; /* the callback, and the cancel closure's slot (kept alive while armed) */
  cx_timer **slot;      /* cleared when the timer is released, so cancel() becomes a no-op */
  int active;
};

static void timer_closed(uv_handle_t *h) { free(h->data); }

static void timer_release(lua_State *L, cx_timer *t) {
  if (!t->active) return;
  t->active = 0;
  *t->slot = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, t->ref_slot);
  luaL_unref(L, LUA_REGISTRYINDEX, t->ref_fn);
  uv_timer_stop(&t->t);
  uv_close((uv_handle_t *)&t->t, timer_closed);
}

static void timer_cb(uv_timer_t *h) {
  cx_timer *t = h->data;
  cx_module *m = t->m;
  lua_State *L = m->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref_fn);
  lua_pushnil(L);
  lua_pushnil(L);
  timer_release(L, t);
  cx_queue_push(m, L);
}

/* core.timer(ms, fn) -> cancel(): fn() runs once, scheduled, after ms; cancel() prevents it. */
static int l_timer_cancel(lua_State *L) {
  cx_timer **pt = lua_touserdata(L, lua_upvalueindex(1));
  if (*pt) timer_release(L, *pt);
  return 0;
}

static int l_timer(lua_State *L) {
  cx_module *m = cx_module_get(L);
  uint64_t ms = cx_check_ms(L, 1, luaL_checknumber(L, 1));
  luaL_checktype(L, 2, LUA_TFUNCTION);
  cx_timer *t = malloc(sizeof *t);
  if (!t) return luaL_error(L, "out of memory");
  t->m = m;
  t->active = 1;
  lua_pushvalue(L, 2);
  t->ref_fn = luaL_ref(L, LUA_REGISTRYINDEX);
  uv_timer_init(m->loop, &t->t);
  t->t.data = t;
  uv_timer_start(&t->t, timer_cb, ms, 0);
  /* The cancel closure holds a slot that the timer clears when it fires or is cancelled;
   * the timer keeps the slot alive until then. */
  cx_timer **slot = lua_newuserdata(L, sizeof *slot);
  *slot = t;
  t->slot = slot;
  lua_pushvalue(L, -1);
  t->ref_slot = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcclosure(L, l_timer_cancel, 1);
  return 1;
}

/* core.same_loop(luv_handle) -> boolean: is this luv handle on the loop the core uses?
 * (Tests use it to prove that inside Neovim the core runs on Neovim's own loop.) luv's
 * handle userdata holds a pointer to the uv handle. */
static int l_same_loop(lua_State *L) {
  cx_module *m = cx_module_get(L);
  luaL_checktype(L, 1, LUA_TUSERDATA);
  uv_handle_t **h = lua_touserdata(L, 1);
  lua_pushboolean(L, h && *h && (*h)->loop == m->loop);
  return 1;
}

/* core.info() -> {host = "nvim"|"lua", loop = "host"|"luv"|"own", lua = _VERSION} */
static int l_info(lua_State *L) {
  cx_module *m = cx_module_get(L);
  lua_newtable(L);
  lua_pushstring(L, m->in_nvim ? "nvim" : "lua");
  lua_setfield(L, -2, "host");
  lua_pushstring(L, m->owns_loop ? "own" : (m->in_nvim ? "nvim" : "luv"));
  lua_setfield(L, -2, "loop");
  lua_pushstring(L, uv_version_string());
  lua_setfield(L, -2, "libuv");
  return 1;
}

/* core.on_error(fn|nil): where errors from callbacks and protocol problems are reported. */
static int l_on_error(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "codex.core.reporter");
  return 0;
}

/* core.report(message, what?): send a message to the reporter, as "codex: <what>: <message>"
 * (what defaults to "error"). Also the clients' default sink for protocol errors. */
static int l_report(lua_State *L) {
  luaL_checkstring(L, 1);
  const char *what = luaL_optstring(L, 2, "error");
  lua_settop(L, 2); /* keeps `what` referenced while report() runs */
  lua_pushvalue(L, 1);
  report(L, what);
  return 0;
}

/* ---- errors ---------------------------------------------------------------------------- */

void cx_push_error(lua_State *L, const char *kind, const char *message, int has_code, long long code,
                   const char *method, int data_idx) {
  if (data_idx) data_idx = cx_absindex(L, data_idx);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, message ? message : kind);
  lua_setfield(L, -2, "message");
  if (has_code) {
    cx_pushinteger(L, code);
    lua_setfield(L, -2, "code");
  }
  if (method) {
    lua_pushstring(L, method);
    lua_setfield(L, -2, "method");
  }
  if (data_idx) {
    lua_pushvalue(L, data_idx);
    lua_setfield(L, -2, "data");
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, cx_module_get(L)->ref_error_mt);
  lua_setmetatable(L, -2);
}

static int error_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_Buffer b;
  lua_getfield(L, 1, "kind");
  lua_getfield(L, 1, "message");
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "method");
  lua_getfield(L, 1, "stderr");
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "codex: ");
  if (lua_isstring(L, 2)) { lua_pushvalue(L, 2); luaL_addvalue(&b); luaL_addstring(&b, ": "); }
  if (lua_isstring(L, 3)) { lua_pushvalue(L, 3); luaL_addvalue(&b); }
  if (lua_isnumber(L, 4) || lua_isstring(L, 5)) {
    luaL_addstring(&b, " (");
    if (lua_isnumber(L, 4)) {
      char code[40];
      long long c = 0;
      if (cx_isinteger(L, 4, &c)) snprintf(code, sizeof code, "code %lld", c);
      else snprintf(code, sizeof code, "code %.17g", (double)lua_tonumber(L, 4));
      luaL_addstring(&b, code);
      if (lua_isstring(L, 5)) luaL_addstring(&b, ", ");
    }
    if (lua_isstring(L, 5)) { lua_pushvalue(L, 5); luaL_addvalue(&b); }
    luaL_addstring(&b, ")");
  }
  if (lua_isstring(L, 6)) {
    luaL_addstring(&b, "\nstderr:\n");
    lua_pushvalue(L, 6);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  return 1;
}

/* ---- module ---------------------------------------------------------------------------- */

static int module_gc(lua_State *L) {
  cx_module *m = lua_touserdata(L, 1);
  m->closing = 1;
  cx_clients_shutdown(m);
  cx_strbuf_free(&m->scratch);
  if (m->step_ready) {
    uv_close((uv_handle_t *)&m->step_timer, NULL);
    m->step_ready = 0;
  }
  if (m->nest_ready) {
    uv_close((uv_handle_t *)&m->nest_watch, NULL);
    m->nest_ready = 0;
  }
  if (m->owns_loop) {
    for (int i = 0; i < 8 && uv_loop_alive(m->loop); i++) uv_run(m->loop, UV_RUN_NOWAIT);
    uv_loop_close(m->loop);
    free(m->loop);
    m->loop = NULL;
  }
  return 0;
}

static int ref_global_path(lua_State *L, const char *expr) {
  /* Evaluates a tiny expression such as "vim.json.decode" in the global table. */
  if (luaL_loadstring(L, expr) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    return LUA_NOREF;
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return LUA_NOREF;
  }
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

static const luaL_Reg module_fns[] = {
  {"encode", l_encode}, {"decode", l_decode}, {"toml", l_toml}, {"array", l_array},
  {"framer", l_framer}, {"step", l_step}, {"now", l_now}, {"timer", l_timer},
  {"same_loop", l_same_loop}, {"info", l_info}, {"on_error", l_on_error}, {"report", l_report},
  {"spawn", cx_client_spawn}, {"pending_callbacks", l_pending_callbacks}, {NULL, NULL}};

static const luaL_Reg framer_methods[] = {
  {"feed", l_framer_feed}, {"finish", l_framer_finish}, {"buffered", l_framer_buffered}, {NULL, NULL}};

static int init_module(lua_State *L, cx_module *m) {
  memset(m, 0, sizeof *m);
  m->qhead = m->qtail = 1;
  m->in_nvim = 0;
  m->ref_schedule = ref_global_path(L, "return vim and vim.schedule");
  if (m->ref_schedule != LUA_NOREF) {
    m->in_nvim = 1;
    /* Neovim opens luv at startup; make sure before reading its context. */
    if (luaL_dostring(L, "local _ = vim.loop")) lua_pop(L, 1);
    m->ref_null = ref_global_path(L, "return vim.NIL");
  } else {
    /* cjson.null is a NULL light userdata; the same value, without needing cjson loaded */
    lua_pushlightuserdata(L, NULL);
    m->ref_null = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  if (m->ref_null == LUA_NOREF) return luaL_error(L, "codex.core: vim.NIL not found");

  /* Inside Neovim, its own loop (through luv's context). Under plain Lua the module owns a
   * loop: sharing luv's would let luv's loop finaliser walk and close our handles as its
   * own at exit. */
  luv_ctx_prefix *ctx = NULL;
  if (m->in_nvim) {
    lua_getfield(L, LUA_REGISTRYINDEX, "luv_context");
    ctx = lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  /* libuv callbacks run Lua on m->L long after this call returns, so it must be the main
   * thread: the thread loading us may be a coroutine (a lazy loader, plenary.async, a
   * codex.run nested in another coroutine) that is collected later. */
#if LUA_VERSION_NUM >= 502
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  m->L = lua_tothread(L, -1);
  lua_pop(L, 1);
#else
  /* 5.1 has no registry entry for it; luv's context carries it. Without luv, only a load
   * from the main thread can tell. */
  if (ctx && ctx->L) {
    m->L = ctx->L;
  } else if (lua_pushthread(L)) {
    lua_pop(L, 1);
    m->L = L;
  } else {
    lua_pop(L, 1);
    return luaL_error(L, "codex.core: load it from the main thread first (no luv context to find it)");
  }
#endif
  if (ctx && ctx->loop) {
    m->loop = ctx->loop;
  } else if (m->in_nvim) {
    return luaL_error(L, "codex.core: Neovim's loop was not found (luv_context)");
  } else {
    m->loop = malloc(sizeof *m->loop);
    if (!m->loop || uv_loop_init(m->loop)) return luaL_error(L, "codex.core: cannot create a libuv loop");
    m->owns_loop = 1;
  }
  if (!m->in_nvim) {
    uv_timer_init(m->loop, &m->step_timer);
    uv_unref((uv_handle_t *)&m->step_timer); /* does not keep the loop alive by itself */
    m->step_ready = 1;
  }
  uv_prepare_init(m->loop, &m->nest_watch);
  uv_unref((uv_handle_t *)&m->nest_watch);
  m->nest_watch.data = m;
  m->nest_ready = 1;
  lua_newtable(L);
  m->ref_queue = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  lua_pushstring(L, "array");
  lua_setfield(L, -2, "__name");
  m->ref_array_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_newmetatable(L, CX_ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  m->ref_error_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  /* clients by C pointer, weak values: lets libuv callbacks find a live userdata */
  lua_newtable(L);
  lua_newtable(L);
  lua_pushstring(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  m->ref_clients = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushlightuserdata(L, m);
  lua_pushcclosure(L, l_drain, 1);
  m->ref_drain = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int luaopen_codex_core(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, CX_MODULE_KEY);
  int loaded = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (!loaded) {
    cx_module *m = lua_newuserdata(L, sizeof *m);
    memset(m, 0, sizeof *m);
    lua_newtable(L);
    lua_pushcfunction(L, module_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    init_module(L, m); /* may raise: then nothing is registered and a later require retries */
    lua_setfield(L, LUA_REGISTRYINDEX, CX_MODULE_KEY);
    if (luaL_newmetatable(L, "codex.core.framer")) {
      lua_newtable(L);
      cx_setfuncs(L, framer_methods, 0);
      lua_setfield(L, -2, "__index");
      lua_pushcfunction(L, l_framer_gc);
      lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    cx_client_register(L);
    lua_pushcfunction(L, l_report);
    lua_setfield(L, LUA_REGISTRYINDEX, CX_REPORT_FN);
  }
  cx_module *m = cx_module_get(L);
  lua_newtable(L);
  cx_setfuncs(L, module_fns, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_null);
  lua_setfield(L, -2, "null");
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_error_mt);
  lua_setfield(L, -2, "error_mt");
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_array_mt);
  lua_setfield(L, -2, "array_mt");
  lua_pushstring(L, "0.1.0");
  lua_setfield(L, -2, "version");
  return 1;
}
