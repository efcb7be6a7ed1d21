/* queue.c: the delivery queue (queue.h): push, wake, drain; backpressure's paused readers;
 * core.step (the plain-Lua loop pump), core.pending_callbacks and core.timer. */
#include <stdio.h>
#include <stdlib.h>
#include "queue.h"

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
    if (lua_pcall(L, 1, 0, tb) != LUA_OK) cx_report(m, L, "error in callback");
  }
  lua_pop(L, 1);
  if (--m->drain_depth == 0 && m->qhead == m->qtail) {
    /* Start a fresh queue table rather than clearing each slot as it is taken; callers
     * deeper in the stack (re-entrant drains) are gone by now. */
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, m->ref_queue);
    m->qhead = m->qtail = 1;
  }
  cx_queue_resume(m);
  return 0;
}

void cx_queue_resume(cx_module *m) {
  cx_reader *r = m->paused;
  m->paused = NULL;
  while (r) {
    cx_reader *next = r->next;
    r->next = NULL;
    r->resume(r->data);
    r = next;
  }
}

/* Backpressure pauses reading until the queue drains. A queued callback that waits (a
 * blocking call, vim.wait) runs the loop from inside the drain; the drain cannot finish
 * until the wait does, and the answer it waits for may sit behind the paused read. The loop
 * running while a drain is in progress is exactly that case: resume reading then. */
static void nest_cb(uv_prepare_t *h) {
  cx_module *m = h->data;
  if (m->drain_depth > 0) cx_queue_resume(m);
  if (!m->paused) uv_prepare_stop(h);
}

void cx_queue_pause(cx_module *m, cx_reader *r) {
  /* Its own list: an exited process leaves m->clients, but its output must still be read. */
  r->next = m->paused;
  m->paused = r;
  if (m->nest_ready && !uv_is_active((uv_handle_t *)&m->nest_watch)) uv_prepare_start(&m->nest_watch, nest_cb);
}

/* ---- core.step, core.pending_callbacks ------------------------------------------------ */

static void step_timer_cb(uv_timer_t *t) { (void)t; }

/* core.step(timeout_ms) -> loop_alive. Plain Lua only: runs one loop iteration, waiting at
 * most timeout_ms for an event, then runs the queued callbacks (outside libuv). When
 * callbacks are already queued it runs them without waiting. */
static int l_step(lua_State *L) {
  cx_module *m = cx_upmodule(L);
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
  cx_module *m = cx_upmodule(L);
  lua_pushinteger(L, (lua_Integer)((m->qtail - m->qhead) / 3));
  return 1;
}

/* ---- core.timer ------------------------------------------------------------------------ */

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
  cx_module *m = cx_upmodule(L);
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

const luaL_Reg cx_queue_fns[] = {
  {"step", l_step}, {"pending_callbacks", l_pending_callbacks}, {"timer", l_timer}, {NULL, NULL}};

void cx_queue_init(cx_module *m, lua_State *L) {
  m->qhead = m->qtail = 1;
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
  lua_pushlightuserdata(L, m);
  lua_pushcclosure(L, l_drain, 1);
  m->ref_drain = luaL_ref(L, LUA_REGISTRYINDEX);
}

void cx_queue_close(cx_module *m) {
  if (m->step_ready) {
    uv_close((uv_handle_t *)&m->step_timer, NULL);
    m->step_ready = 0;
  }
  if (m->nest_ready) {
    uv_close((uv_handle_t *)&m->nest_watch, NULL);
    m->nest_ready = 0;
  }
}
