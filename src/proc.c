/* proc.c: the app-server child process (proc.h): spawn, pipes, the stderr ring, exit, the
 * kill ladder, death detection (and declaring it: every pending call, stream and server
 * request fails once), backpressure on stdout, shutdown, and the child's environment. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "router.h"
#include "rpc.h"

extern char **environ;

void cx_ring_push(cx_ring *r, const char *s, size_t n) {
  if (n > CX_RING_LINE_MAX) n = CX_RING_LINE_MAX;
  char *copy = malloc(n + 1);
  if (!copy) return; /* losing a diagnostic line is better than failing the stream */
  memcpy(copy, s, n);
  copy[n] = 0;
  free(r->line[r->head]);
  r->line[r->head] = copy;
  r->len[r->head] = n;
  r->head = (r->head + 1) % CX_RING_LINES;
  if (r->count < CX_RING_LINES) r->count++;
}

void cx_ring_free(cx_ring *r) {
  for (int i = 0; i < CX_RING_LINES; i++) free(r->line[i]);
  memset(r, 0, sizeof *r);
}

void cx_ring_push_tail(lua_State *L, const cx_ring *r, int n, size_t max_bytes) {
  if (n > r->count) n = r->count;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  /* Choose the first line so that the tail fits in max_bytes. */
  int first = n;
  size_t total = 0;
  while (first > 0) {
    int slot = (r->head - first + CX_RING_LINES) % CX_RING_LINES;
    if (total + r->len[slot] + 1 > max_bytes && first < n) break;
    total += r->len[slot] + 1;
    first--;
  }
  for (int k = n - first; k > 0; k--) {
    int slot = (r->head - k + CX_RING_LINES) % CX_RING_LINES;
    size_t len = r->len[slot];
    const char *s = r->line[slot];
    if (len > max_bytes) { s += len - max_bytes; len = max_bytes; }
    luaL_addlstring(&b, s, len);
    if (k > 1) luaL_addchar(&b, '\n');
  }
  luaL_pushresult(&b);
}

static int env_key_matches(const char *entry, const char *key, size_t klen) {
  return strncmp(entry, key, klen) == 0 && entry[klen] == '=';
}

char **cx_env_build(lua_State *L, int idx) {
  size_t n = 0, extra = 0;
  while (environ[n]) n++;
  if (idx) {
    lua_pushnil(L);
    while (lua_next(L, idx)) { extra++; lua_pop(L, 1); }
  }
  char **env = calloc(n + extra + 1, sizeof *env);
  if (!env) return NULL;
  size_t out = 0;
  for (size_t i = 0; i < n; i++) {
    int overridden = 0;
    if (idx) {
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
          size_t klen;
          const char *k = lua_tolstring(L, -2, &klen);
          if (env_key_matches(environ[i], k, klen)) overridden = 1;
        }
        lua_pop(L, 1);
      }
    }
    if (!overridden) env[out++] = strdup(environ[i]);
  }
  if (idx) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (lua_type(L, -2) == LUA_TSTRING && (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
        size_t klen, vlen;
        const char *k = lua_tolstring(L, -2, &klen);
        const char *v = lua_tolstring(L, -1, &vlen);
        char *e = malloc(klen + vlen + 2);
        if (e) {
          memcpy(e, k, klen);
          e[klen] = '=';
          memcpy(e + klen + 1, v, vlen + 1);
          env[out++] = e;
        }
      }
      lua_pop(L, 1);
    }
  }
  env[out] = NULL;
  return env;
}

void cx_env_free(char **env) {
  if (!env) return;
  for (char **p = env; *p; p++) free(*p);
  free(env);
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void client_free(cx_client *c) {
  cx_framer_free(&c->out_fr);
  cx_framer_free(&c->err_fr);
  cx_ring_free(&c->ring);
  free(c);
}

static void unlist(cx_client *c) {
  if (!c->listed) return;
  if (c->prev) c->prev->next = c->next; else c->m->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  c->listed = 0;
}

void cx_proc_handle_closed(cx_client *c) {
  if (--c->open_handles == 0 && !c->ud_alive) client_free(c);
}

static void handle_closed(uv_handle_t *h) { cx_proc_handle_closed(h->data); }

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, handle_closed);
}

/* ---- death --------------------------------------------------------------------------------- */

static void term_cb(uv_timer_t *t);

static void begin_kill(cx_client *c) {
  if (!c->stdin_closed) {
    c->stdin_closed = 1;
    close_handle((uv_handle_t *)&c->in);
  }
  if (!c->exited && c->kill_stage == 0) {
    c->kill_stage = 1;
    uv_timer_start(&c->term, term_cb, c->grace_ms, 0);
  }
}

static void term_cb(uv_timer_t *t) {
  cx_client *c = t->data;
  if (c->exited) return;
  if (c->kill_stage == 1) {
    uv_process_kill(&c->proc, SIGTERM);
    c->kill_stage = 2;
    uv_timer_start(&c->term, term_cb, 2000, 0);
  } else {
    uv_process_kill(&c->proc, SIGKILL);
    c->kill_stage = 3;
  }
}

static void push_death_error(cx_client *c, lua_State *L) {
  char msg[200];
  if (c->collected)
    snprintf(msg, sizeof msg, "the client was garbage-collected with this call in flight");
  else if (c->closing)
    snprintf(msg, sizeof msg, "the client was closed");
  else if (c->exited && c->term_signal)
    snprintf(msg, sizeof msg, "codex app-server was killed by signal %d", c->term_signal);
  else if (c->exited)
    snprintf(msg, sizeof msg, "codex app-server exited with code %lld", c->exit_status);
  else
    snprintf(msg, sizeof msg, "codex app-server closed its output");
  cx_push_error(c->m, L, c->closing ? "closed" : "transport_closed", msg, 0, 0, NULL, 0);
  if (c->exited) {
    cx_pushinteger(L, c->exit_status);
    lua_setfield(L, -2, "exit_code");
    if (c->term_signal) {
      lua_pushinteger(L, c->term_signal);
      lua_setfield(L, -2, "signal");
    }
  }
  if (c->ring.count) {
    cx_ring_push_tail(L, &c->ring, 40, 2000);
    lua_setfield(L, -2, "stderr");
  }
}

static void fail_everything(cx_client *c, lua_State *L, int s);

static void mark_dead(cx_client *c) {
  c->dead = 1;
  uv_timer_stop(&c->settle);
  if (!c->exited || !c->stdin_closed) begin_kill(c);
}

/* The process is gone (or its output is): fail everything pending, once. */
static void finalize_death(cx_client *c) {
  if (c->dead) return;
  lua_State *L = c->m->L;
  int top = lua_gettop(L);
  if (!cx_push_state(c, L)) {
    mark_dead(c); /* nobody is left to tell */
    return;
  }
  fail_everything(c, L, lua_gettop(L));
  lua_settop(L, top);
}

/* Declares death with S at s: every pending call, stream and server request fails with the
 * death error, each callback queued exactly once. */
static void fail_everything(cx_client *c, lua_State *L, int s) {
  int top = lua_gettop(L);
  mark_dead(c);
  push_death_error(c, L);
  int e = lua_gettop(L);
  lua_pushvalue(L, e);
  lua_setfield(L, s, "death");
  cx_rpc_fail_pending(c, L, s, e);
  cx_router_fail(c, L, s, e);
  lua_pushvalue(L, e);
  lua_pushnil(L);
  cx_queue_sink(c, L, s, "on_close");
  lua_settop(L, top);
}

static void settle_cb(uv_timer_t *t) {
  cx_client *c = t->data;
  /* Output still in the pipe is delivered first: wait while reading is paused by
   * backpressure or still making progress; give up only after 200 ms without a byte (a
   * grandchild holding the pipe open must not delay death forever). */
  if (!c->out_eof && (c->paused || c->read_bytes != c->settle_mark)) {
    c->settle_mark = c->read_bytes;
    uv_timer_start(&c->settle, settle_cb, 200, 0);
    return;
  }
  finalize_death(c);
}

/* Called on exit and on EOF of either pipe. Death is declared when the process has exited
 * and both pipes are drained (so the stderr tail is complete), or shortly after the first
 * sign, whichever comes first: a grandchild holding a pipe open must not delay it. */
static void check_death(cx_client *c) {
  if (c->dead) return;
  if (c->exited && c->out_eof && c->err_eof) {
    finalize_death(c);
  } else if ((c->exited || c->out_eof) && !c->settle_started) {
    c->settle_started = 1;
    c->settle_mark = c->read_bytes;
    uv_timer_start(&c->settle, settle_cb, 200, 0);
  }
}

static void exit_cb(uv_process_t *p, int64_t status, int sig) {
  cx_client *c = p->data;
  c->exited = 1;
  c->exit_status = status;
  c->term_signal = sig;
  uv_timer_stop(&c->term);
  close_handle((uv_handle_t *)&c->proc);
  close_handle((uv_handle_t *)&c->term);
  unlist(c);
  lua_State *L = c->m->L;
  int top = lua_gettop(L);
  if (cx_push_state(c, L)) {
    cx_pushinteger(L, status);
    lua_pushinteger(L, sig);
    cx_queue_sink(c, L, lua_gettop(L) - 2, "on_exit");
  }
  lua_settop(L, top);
  check_death(c);
}

/* ---- reading ----------------------------------------------------------------------------- */

static int stderr_line(void *ud, const char *line, size_t len) {
  cx_ring_push(&((cx_client *)ud)->ring, line, len);
  return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  cx_client *c = h->data;
  *buf = uv_buf_init(c->rbuf, CX_READ_CHUNK);
}

static void out_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

/* Backpressure let go (queue.h): read again, unless the output already ended. */
static void resume_reading(void *data) {
  cx_client *c = data;
  c->paused = 0;
  if (!c->out_eof && !uv_is_closing((uv_handle_t *)&c->out)) uv_read_start((uv_stream_t *)&c->out, alloc_cb, out_read);
}

static void out_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  cx_client *c = st->data;
  if (n > 0) {
    c->read_bytes += (unsigned long long)n;
    cx_router_feed(c, buf->base, (size_t)n);
    if (c->ud_alive && !c->m->closing && cx_queue_len(c->m) >= CX_QUEUE_HIGH && !c->out_eof && !c->paused) {
      uv_read_stop(st);
      c->paused = 1;
      cx_queue_pause(c->m, &c->reader);
    }
  } else if (n < 0) {
    cx_router_feed(c, NULL, 0); /* a last line without its newline is still a message */
    c->out_eof = 1;
    uv_read_stop(st);
    close_handle((uv_handle_t *)st);
    check_death(c);
  }
}

static void err_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  cx_client *c = st->data;
  if (n > 0) {
    cx_framer_feed(&c->err_fr, buf->base, (size_t)n);
  } else if (n < 0) {
    cx_framer_finish(&c->err_fr);
    c->err_eof = 1;
    uv_read_stop(st);
    close_handle((uv_handle_t *)st);
    check_death(c);
  }
}

/* ---- spawn, close, collection, shutdown -------------------------------------------------- */

int cx_proc_spawn(cx_client *c, char **argv, char **env, const char *cwd) {
  cx_module *m = c->m;
  cx_framer_init(&c->err_fr, 65536, stderr_line, NULL, c);
  uv_pipe_init(m->loop, &c->in, 0);
  uv_pipe_init(m->loop, &c->out, 0);
  uv_pipe_init(m->loop, &c->err, 0);
  uv_timer_init(m->loop, &c->settle);
  uv_timer_init(m->loop, &c->term);
  c->in.data = c->out.data = c->err.data = c->settle.data = c->term.data = c->proc.data = c;
  c->open_handles = 5;
  c->reader.resume = resume_reading;
  c->reader.data = c;

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&c->in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&c->out;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&c->err;
  uv_process_options_t po;
  memset(&po, 0, sizeof po);
  po.file = argv[0];
  po.args = argv;
  po.env = env;
  po.cwd = cwd;
  po.exit_cb = exit_cb;
  po.stdio = stdio;
  po.stdio_count = 3;
  int rc = uv_spawn(m->loop, &c->proc, &po);
  if (rc) {
    /* Not spawned: the process handle still has to be closed (libuv's rule). */
    c->ud_alive = 0;
    c->exited = c->dead = 1;
    c->open_handles++;
    close_handle((uv_handle_t *)&c->proc);
    close_handle((uv_handle_t *)&c->in);
    close_handle((uv_handle_t *)&c->out);
    close_handle((uv_handle_t *)&c->err);
    close_handle((uv_handle_t *)&c->settle);
    close_handle((uv_handle_t *)&c->term);
    return rc;
  }
  c->open_handles++; /* the process handle */
  c->pid = c->proc.pid;
  c->next = m->clients;
  if (m->clients) m->clients->prev = c;
  m->clients = c;
  c->listed = 1;
  uv_read_start((uv_stream_t *)&c->out, alloc_cb, out_read);
  uv_read_start((uv_stream_t *)&c->err, alloc_cb, err_read);
  return 0;
}

void cx_proc_close(cx_client *c) {
  if (c->dead) return;
  c->closing = 1;
  begin_kill(c);
  finalize_death(c); /* fail pending calls now; the process is reaped as it exits */
}

void cx_proc_collect(cx_client *c, lua_State *L, int ud) {
  if (!c->m->closing) {
    /* End the child as close() would, failing calls still in flight with kind "closed"
     * (their callbacks are queued, so awaiting coroutines resume); its handles close as it
     * exits. */
    if (!c->dead) {
      c->closing = c->collected = 1;
      cx_getuservalue(L, ud);
      fail_everything(c, L, lua_gettop(L));
      lua_pop(L, 1);
    }
    begin_kill(c);
    c->dead = 1;
    uv_timer_stop(&c->settle);
    close_handle((uv_handle_t *)&c->settle);
    if (c->exited) close_handle((uv_handle_t *)&c->term);
  }
  c->ud_alive = 0;
  if (c->open_handles == 0) client_free(c);
}

/* The Lua state is closing (end of a plain Lua script): no Lua code may run any more, but
 * no child may outlive us either. On a loop we own, wait for them (SIGTERM, then SIGKILL). */
void cx_proc_shutdown(cx_module *m) {
  cx_queue_resume(m); /* read (and drop) what backpressure held, so the pipes reach EOF */
  for (cx_client *c = m->clients; c; c = c->next) begin_kill(c);
  if (!m->owns_loop) return;
  uint64_t start = uv_hrtime();
  while (m->clients) {
    uv_run(m->loop, UV_RUN_ONCE);
    if (uv_hrtime() - start > 10ull * 1000000000ull) break; /* SIGKILL went out long ago */
  }
}
