/* client.c: one codex app-server child process and the JSON-RPC router in front of it.
 *
 * Everything here runs on the host loop. libuv callbacks do only the core's own work:
 * frame, decode, match responses, route notifications, record server requests. Every call
 * into user code is queued (cx_queue_push) and runs later outside the callback, so user code
 * never runs in Neovim's fast context.
 *
 * The user value of a client userdata is a table S:
 *   S.pending[id]    = {cb, method, line, attempts, max_attempts, delay, jitter, max_delay, stream, t, rt}
 *   S.turns[id], S.logins[id] = {sinks = {fn…}, buf = {msg…}, n, done}: event streams, keyed
 *                      by the raw turn / login id (no per-message key building)
 *   S.turns_done[id], S.logins_done[id] = true for streams that ended (late events dropped)
 *   S.requests[id]   = server→client request awaiting an answer: {method, thread_id, turn_id}
 *   S.on_notification, S.on_request, S.on_close, S.on_protocol_error: sinks (functions)
 *   S.death          = the error every later call fails with */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "proc.h"

#define READ_CHUNK 65536
/* Events kept for streams nobody watches yet (defaults of the spawn options buffer_events,
 * buffer_bytes): per stream, in all, and their total size as received, so that big events
 * stay bounded too. */
#define BUF_PER_STREAM 4096
#define BUF_TOTAL 65536
#define BUF_BYTES (64.0 * 1024 * 1024)
#define COMPLETED_MAX 4096
/* Backpressure: stop reading while this many callbacks wait to run; the pipe then fills and
 * the app-server waits, instead of our memory growing. Small batches also keep the working
 * set (decoded messages not yet delivered) in cache. */
#define QUEUE_HIGH 256

struct cx_client {
  cx_module *m;
  cx_client *next, *prev; /* module list, while a process may be running */
  cx_client *next_paused;  /* module list of clients whose reading backpressure paused */
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
  char rbuf[READ_CHUNK];
  long long next_id;
  uint64_t timeout_ms; /* default request timeout; 0 or CX_MS_NEVER: none */
  int retry_attempts;
  double retry_initial_ms, retry_max_ms, retry_jitter;
  int stream_requests; /* requests in flight that will register a stream */
  int buffered, completed_count;
  int buf_total, buf_per_stream; /* limits, see BUF_* */
  size_t buf_bytes;
  size_t buffered_bytes, line_len; /* line_len: the size of the line being routed */
  cx_span id_span;                 /* ... and where its top-level "id" lies in it */
  int s_idx; /* stack index of S while a read callback runs */
  int k_base; /* stack index of the first hot key string (HOT_KEYS) while it runs */
  unsigned long protocol_errors, dropped_events;
  unsigned long long read_bytes, settle_mark; /* output read so far; at the last settle check */
};

enum { KIND_TURN, KIND_LOGIN, KIND_COUNT };

/* Field names used for every message: pushed once per read chunk and looked up with
 * lua_rawget, which skips lua_getfield's C-string interning on the hot path. */
enum { K_METHOD, K_ID, K_PARAMS, K_TURN_ID, K_TURN, K_SINKS, K_TURNS, K_LOGINS, K_COUNT };
static const char *const HOT_KEYS[K_COUNT] = {"method", "id", "params", "turnId", "turn", "sinks", "turns", "logins"};

/* Pushes t[HOT_KEYS[k]] (t absolute), during a read callback. */
static void getk(cx_client *c, lua_State *L, int t, int k) {
  lua_pushvalue(L, c->k_base + k);
  lua_rawget(L, t);
}
static const char *const STREAMS[KIND_COUNT] = {"turns", "logins"};
static const char *const DONE[KIND_COUNT] = {"turns_done", "logins_done"};

typedef struct {
  uv_timer_t t;
  cx_client *c;
  long long id;
  int retry; /* 0: request timeout, 1: overload retry */
} cx_reqtimer;

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
  char data[];
} cx_write;

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

static void handle_closed(uv_handle_t *h) {
  cx_client *c = h->data;
  if (--c->open_handles == 0 && !c->ud_alive) client_free(c);
}

static void close_handle(cx_client *c, uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, handle_closed);
  (void)c;
}

static void reqtimer_closed(uv_handle_t *h) {
  cx_reqtimer *t = h->data;
  cx_client *c = t->c;
  free(t);
  if (--c->open_handles == 0 && !c->ud_alive) client_free(c);
}

static void reqtimer_close(cx_reqtimer *t) {
  uv_timer_stop(&t->t);
  uv_close((uv_handle_t *)&t->t, reqtimer_closed);
}

/* Pushes S for a client whose userdata is alive; returns 0 (and pushes nothing) otherwise. */
static int push_state(cx_client *c, lua_State *L) {
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

/* Pushes S[name], creating an empty table when missing. */
static void state_table(lua_State *L, int s, const char *name) {
  lua_getfield(L, s, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, s, name);
  }
}

/* Queues S[sink](a, b) when that sink is set. Pops a and b. */
static void queue_sink(cx_client *c, lua_State *L, int s, const char *sink) {
  lua_getfield(L, s, sink);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 3);
    return;
  }
  lua_insert(L, -3);
  cx_queue_push(c->m, L);
}

static void protocol_error(cx_client *c, lua_State *L, int s, const char *fmt, const char *detail, size_t dlen) {
  char excerpt[121];
  size_t n = dlen < 120 ? dlen : 120;
  memcpy(excerpt, detail ? detail : "", detail ? n : 0);
  excerpt[detail ? n : 0] = 0;
  /* keep the excerpt printable */
  for (size_t i = 0; excerpt[i]; i++)
    if ((unsigned char)excerpt[i] < 0x20) excerpt[i] = ' ';
  char msg[256];
  snprintf(msg, sizeof msg, fmt, excerpt);
  c->protocol_errors++;
  lua_getfield(L, s, "on_protocol_error");
  if (lua_isfunction(L, -1)) {
    cx_push_error(L, "protocol", msg, 0, 0, NULL, 0);
    lua_pushnil(L);
  } else {
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, CX_REPORT_FN);
    lua_pushstring(L, msg);
    lua_pushstring(L, "protocol");
  }
  cx_queue_push(c->m, L);
}

/* ---- writing ----------------------------------------------------------------------------- */

static void write_done(uv_write_t *req, int status) {
  (void)status; /* a failed write shows up as the process's death */
  free(req->data);
}

static int write_bytes(cx_client *c, const char *s, size_t n) {
  if (c->dead || c->stdin_closed) return UV_EPIPE;
  cx_write *w = malloc(sizeof *w + n);
  if (!w) return UV_ENOMEM;
  memcpy(w->data, s, n);
  w->buf = uv_buf_init(w->data, (unsigned)n);
  w->req.data = w;
  int rc = uv_write(&w->req, (uv_stream_t *)&c->in, &w->buf, 1, write_done);
  if (rc) free(w);
  return rc;
}

/* ---- death --------------------------------------------------------------------------------- */

static void term_cb(uv_timer_t *t);

static void begin_kill(cx_client *c) {
  if (!c->stdin_closed) {
    c->stdin_closed = 1;
    close_handle(c, (uv_handle_t *)&c->in);
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
  cx_push_error(L, c->closing ? "closed" : "transport_closed", msg, 0, 0, NULL, 0);
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
  if (!push_state(c, L)) {
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

  state_table(L, s, "pending");
  int p = lua_gettop(L);
  /* Collect ids first: the table must not change while lua_next walks it. */
  lua_pushnil(L);
  while (lua_next(L, p)) {
    /* stack: … key entry */
    lua_getfield(L, -1, "t");
    if (lua_islightuserdata(L, -1)) reqtimer_close(lua_touserdata(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, -1, "rt");
    if (lua_islightuserdata(L, -1)) reqtimer_close(lua_touserdata(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, -1, "cb");
    lua_pushvalue(L, e);
    lua_pushnil(L);
    cx_queue_push(c->m, L);
    lua_pop(L, 1);
  }
  lua_newtable(L);
  lua_setfield(L, s, "pending");
  c->stream_requests = 0;

  for (int kind = 0; kind < KIND_COUNT; kind++) {
    state_table(L, s, STREAMS[kind]);
    int st = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, st)) {
      lua_getfield(L, -1, "sinks");
      if (lua_istable(L, -1)) {
        int n = (int)cx_rawlen(L, -1);
        for (int i = 1; i <= n; i++) {
          lua_rawgeti(L, -1, i);
          lua_pushnil(L);
          lua_pushvalue(L, e);
          cx_queue_push(c->m, L);
        }
      }
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setfield(L, s, STREAMS[kind]);
  }
  c->buffered = 0;
  c->buffered_bytes = 0;

  lua_newtable(L);
  lua_setfield(L, s, "requests");
  lua_pushstring(L, "closed");
  lua_pushvalue(L, e);
  queue_sink(c, L, s, "on_request");
  lua_pushvalue(L, e);
  lua_pushnil(L);
  queue_sink(c, L, s, "on_close");
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
  close_handle(c, (uv_handle_t *)&c->proc);
  close_handle(c, (uv_handle_t *)&c->term);
  unlist(c);
  lua_State *L = c->m->L;
  int top = lua_gettop(L);
  if (push_state(c, L)) {
    cx_pushinteger(L, status);
    lua_pushinteger(L, sig);
    queue_sink(c, L, lua_gettop(L) - 2, "on_exit");
  }
  lua_settop(L, top);
  check_death(c);
}

/* ---- routing ------------------------------------------------------------------------------- */

/* For a notification scoped to a turn or a login, pushes its raw id and returns the kind + 1;
 * returns 0 (pushing nothing) for a global one. */
static int stream_key(cx_client *c, lua_State *L, int msg_params, const char *method, int *terminal) {
  *terminal = 0;
  if (!lua_istable(L, msg_params)) return 0;
  if (method[0] == 'a' && strcmp(method, "account/login/completed") == 0) {
    lua_getfield(L, msg_params, "loginId");
    if (lua_type(L, -1) == LUA_TSTRING) {
      *terminal = 1;
      return KIND_LOGIN + 1;
    }
    lua_pop(L, 1);
    return 0;
  }
  getk(c, L, msg_params, K_TURN_ID);
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    getk(c, L, msg_params, K_TURN);
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      return 0;
    }
    getk(c, L, lua_gettop(L), K_ID);
    lua_replace(L, -2);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      return 0;
    }
  }
  *terminal = method[0] == 't' && strcmp(method, "turn/completed") == 0;
  return KIND_TURN + 1;
}

static void mark_completed(cx_client *c, lua_State *L, int s, int kind, int key) {
  state_table(L, s, DONE[kind]);
  if (++c->completed_count > COMPLETED_MAX) {
    /* Forget old ids wholesale: a late event for one of them is merely buffered, bounded. */
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, s, DONE[kind]);
    c->completed_count = 1;
  }
  lua_pushvalue(L, key);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* Forgets what the stream at stream keeps buffered. */
static void unbuffer(cx_client *c, lua_State *L, int stream) {
  lua_getfield(L, stream, "n");
  lua_getfield(L, stream, "bytes");
  c->buffered -= (int)lua_tointeger(L, -2);
  c->buffered_bytes -= (size_t)lua_tonumber(L, -1);
  lua_pop(L, 2);
}

static void remove_stream(cx_client *c, lua_State *L, int s, int kind, int key, int streams, int stream) {
  unbuffer(c, L, stream);
  lua_pushvalue(L, key);
  lua_pushnil(L);
  lua_rawset(L, streams);
  mark_completed(c, L, s, kind, key);
}

/* Routes the message at msg to the stream of this kind whose id is at key. */
static void route_stream(cx_client *c, lua_State *L, int s, int kind, int key, int msg, int terminal) {
  int top = lua_gettop(L);
  getk(c, L, s, kind == KIND_TURN ? K_TURNS : K_LOGINS);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    state_table(L, s, STREAMS[kind]);
  }
  int streams = lua_gettop(L);
  lua_pushvalue(L, key);
  lua_rawget(L, streams);
  int stream = lua_gettop(L);
  if (lua_istable(L, stream)) {
    getk(c, L, stream, K_SINKS);
    int n = lua_istable(L, -1) ? (int)cx_rawlen(L, -1) : 0;
    if (n > 0) {
      for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_pushvalue(L, msg);
        lua_pushnil(L);
        cx_queue_push(c->m, L);
      }
      if (terminal) remove_stream(c, L, s, kind, key, streams, stream);
      lua_settop(L, top);
      return;
    }
    lua_pop(L, 1);
  } else {
    state_table(L, s, DONE[kind]);
    lua_pushvalue(L, key);
    lua_rawget(L, -2);
    int done = lua_toboolean(L, -1);
    if (done) { /* a late event for a stream that already ended */
      lua_settop(L, top);
      return;
    }
    lua_settop(L, stream - 1);
    if (c->buffered >= c->buf_total || c->buffered_bytes + c->line_len > c->buf_bytes) {
      /* No room to keep it: no stream entry either, or ids nobody watches would pile up
       * (an end is still remembered, so late events for it are dropped). */
      if (!terminal || c->stream_requests > 0) c->dropped_events++;
      if (terminal) mark_completed(c, L, s, kind, key);
      lua_settop(L, top);
      return;
    }
    lua_newtable(L);
    lua_pushvalue(L, key);
    lua_pushvalue(L, -2);
    lua_rawset(L, streams);
  }
  /* Nobody watches yet: buffer, bounded. */
  lua_getfield(L, stream, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (terminal && c->stream_requests == 0) {
    /* It ended unwatched and no request in flight can claim it: drop its buffer. */
    remove_stream(c, L, s, kind, key, streams, stream);
  } else if (n < c->buf_per_stream && c->buffered < c->buf_total && c->buffered_bytes + c->line_len <= c->buf_bytes) {
    state_table(L, stream, "buf");
    lua_pushvalue(L, msg);
    lua_rawseti(L, -2, n + 1);
    lua_pushinteger(L, n + 1);
    lua_setfield(L, stream, "n");
    lua_getfield(L, stream, "bytes");
    lua_pushnumber(L, lua_tonumber(L, -1) + (lua_Number)c->line_len);
    lua_setfield(L, stream, "bytes");
    lua_pop(L, 1);
    c->buffered++;
    c->buffered_bytes += c->line_len;
    if (terminal) {
      lua_pushboolean(L, 1);
      lua_setfield(L, stream, "done");
    }
  } else {
    c->dropped_events++;
  }
  lua_settop(L, top);
}

/* Adds the function at fn as a sink of the stream (kind, id at key); replays its buffer. */
static void watch_stream(cx_client *c, lua_State *L, int s, int kind, int key, int fn) {
  int top = lua_gettop(L);
  state_table(L, s, STREAMS[kind]);
  int streams = lua_gettop(L);
  lua_pushvalue(L, key);
  lua_rawget(L, streams);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, key);
    lua_pushvalue(L, -2);
    lua_rawset(L, streams);
  }
  int stream = lua_gettop(L);
  state_table(L, stream, "sinks");
  lua_pushvalue(L, fn);
  lua_rawseti(L, -2, (int)cx_rawlen(L, -2) + 1);
  lua_pop(L, 1);
  lua_getfield(L, stream, "buf");
  if (lua_istable(L, -1)) {
    int buf = lua_gettop(L);
    int n = (int)cx_rawlen(L, buf);
    for (int i = 1; i <= n; i++) {
      lua_pushvalue(L, fn);
      lua_rawgeti(L, buf, i);
      lua_pushnil(L);
      cx_queue_push(c->m, L);
    }
    lua_pushnil(L);
    lua_setfield(L, stream, "buf");
    lua_getfield(L, stream, "done");
    int done = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (done) {
      remove_stream(c, L, s, kind, key, streams, stream);
    } else {
      unbuffer(c, L, stream);
      lua_pushnil(L);
      lua_setfield(L, stream, "n");
      lua_pushnil(L);
      lua_setfield(L, stream, "bytes");
    }
  }
  lua_settop(L, top);
}

/* Streams that ended while a stream-registering request was in flight were kept for it;
 * once no such request remains, nobody can claim them. */
static void purge_done_streams(cx_client *c, lua_State *L, int s) {
  int top = lua_gettop(L);
  for (int kind = 0; kind < KIND_COUNT; kind++) {
    state_table(L, s, STREAMS[kind]);
    int streams = lua_gettop(L);
    lua_newtable(L);
    int doomed = lua_gettop(L), nd = 0;
    lua_pushnil(L);
    while (lua_next(L, streams)) {
      lua_getfield(L, -1, "done");
      if (lua_toboolean(L, -1)) {
        lua_pushvalue(L, -3);
        lua_rawseti(L, doomed, ++nd);
      }
      lua_pop(L, 2);
    }
    for (int i = 1; i <= nd; i++) {
      lua_rawgeti(L, doomed, i);
      int key = lua_gettop(L);
      lua_pushvalue(L, key);
      lua_rawget(L, streams);
      remove_stream(c, L, s, kind, key, streams, lua_gettop(L));
      lua_settop(L, doomed);
    }
    lua_settop(L, top);
  }
}

static int is_overload(lua_State *L, int err) {
  lua_getfield(L, err, "code");
  long long code = 0;
  int num = lua_type(L, -1) == LUA_TNUMBER && cx_isinteger(L, -1, &code);
  lua_pop(L, 1);
  if (num && code == -32001) return 1;
  /* The SDK's heuristic: "server_overloaded" under data.{codex_error_info|codexErrorInfo|errorInfo}. */
  lua_getfield(L, err, "data");
  int found = 0;
  if (lua_istable(L, -1)) {
    static const char *keys[] = {"codex_error_info", "codexErrorInfo", "errorInfo"};
    for (int i = 0; i < 3 && !found; i++) {
      lua_getfield(L, -1, keys[i]);
      if (lua_isstring(L, -1)) {
        const char *v = lua_tostring(L, -1);
        found = strcmp(v, "server_overloaded") == 0 || strcmp(v, "serverOverloaded") == 0 ||
                strcmp(v, "SERVER_OVERLOADED") == 0;
      } else if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "server_overloaded");
        found = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!found) {
          lua_getfield(L, -1, "serverOverloaded");
          found = !lua_isnil(L, -1);
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return found;
}

static void reqtimer_cb(uv_timer_t *h);

static cx_reqtimer *reqtimer_start(cx_client *c, long long id, int retry, uint64_t ms) {
  cx_reqtimer *t = malloc(sizeof *t);
  if (!t) return NULL;
  t->c = c;
  t->id = id;
  t->retry = retry;
  uv_timer_init(c->m->loop, &t->t);
  t->t.data = t;
  c->open_handles++;
  uv_timer_start(&t->t, reqtimer_cb, ms, 0);
  return t;
}

/* Removes S.pending[id] (at entry), closing its timers. */
static void pending_remove(cx_client *c, lua_State *L, int s, int entry, long long id) {
  lua_getfield(L, entry, "t");
  if (lua_islightuserdata(L, -1)) reqtimer_close(lua_touserdata(L, -1));
  lua_getfield(L, entry, "rt");
  if (lua_islightuserdata(L, -1)) reqtimer_close(lua_touserdata(L, -1));
  lua_getfield(L, entry, "stream");
  int had_stream = lua_isfunction(L, -1);
  lua_pop(L, 3);
  state_table(L, s, "pending");
  cx_pushinteger(L, id);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (had_stream && --c->stream_requests == 0) purge_done_streams(c, L, s);
}

static void handle_response(cx_client *c, lua_State *L, int s, int msg, const char *line, size_t len) {
  lua_getfield(L, msg, "id");
  long long id;
  if (lua_type(L, -1) != LUA_TNUMBER || !cx_isinteger(L, -1, &id)) {
    lua_pop(L, 1);
    protocol_error(c, L, s, "response with an id this client never used: %s", line, len);
    return;
  }
  lua_pop(L, 1);
  state_table(L, s, "pending");
  cx_pushinteger(L, id); /* the whole id: a 64-bit id never matches a truncated one */
  lua_rawget(L, -2);
  lua_replace(L, -2);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    protocol_error(c, L, s, "response for an unknown or finished request: %s", line, len);
    return;
  }
  int entry = lua_gettop(L);
  lua_getfield(L, entry, "rt");
  int awaiting_retry = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (awaiting_retry) {
    /* An overload error already answered this attempt; the server has not seen the retry
     * yet, so this is a duplicate (counting it would skip attempts, and orphan a timer). */
    lua_pop(L, 1);
    protocol_error(c, L, s, "a second response for a request waiting to be retried: %s", line, len);
    return;
  }
  lua_getfield(L, entry, "method");
  const char *method = lua_tostring(L, -1);
  lua_getfield(L, msg, "error");
  int err = lua_gettop(L);
  if (lua_istable(L, err)) {
    int overloaded = is_overload(L, err);
    lua_getfield(L, entry, "attempts");
    lua_getfield(L, entry, "max_attempts");
    int attempts = (int)lua_tointeger(L, -2), max_attempts = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    if (overloaded && attempts < max_attempts && !c->dead) {
      /* Exponential backoff with ±jitter; the request stays pending under the same id. */
      lua_getfield(L, entry, "delay");
      double delay = lua_tonumber(L, -1);
      lua_pop(L, 1);
      double sleep = fmin(c->retry_max_ms, delay) + delay * c->retry_jitter * (2.0 * rand() / (double)RAND_MAX - 1.0);
      uint64_t ms = 0;
      if (cx_ms(sleep, &ms)) ms = 0; /* negative after jitter: retry now */
      cx_reqtimer *rt = reqtimer_start(c, id, 1, ms);
      lua_pushlightuserdata(L, rt);
      lua_setfield(L, entry, "rt");
      lua_pushinteger(L, attempts + 1);
      lua_setfield(L, entry, "attempts");
      lua_pushnumber(L, fmin(delay * 2, c->retry_max_ms));
      lua_setfield(L, entry, "delay");
      lua_settop(L, entry - 1);
      return;
    }
    lua_getfield(L, err, "code");
    long long code = 0;
    int has_code = lua_type(L, -1) == LUA_TNUMBER && cx_isinteger(L, -1, &code);
    lua_getfield(L, err, "message");
    lua_getfield(L, err, "data");
    int data = lua_isnil(L, -1) ? 0 : lua_gettop(L);
    lua_getfield(L, entry, "cb");
    cx_push_error(L, overloaded ? "overloaded" : "rpc", lua_isstring(L, -3) ? lua_tostring(L, -3) : "error",
                  has_code, code, method, data);
    if (overloaded) {
      lua_pushinteger(L, attempts);
      lua_setfield(L, -2, "attempts");
    }
    lua_pushnil(L);
    cx_queue_push(c->m, L);
    pending_remove(c, L, s, entry, id);
    lua_settop(L, entry - 1);
    return;
  }
  lua_pop(L, 1);
  lua_getfield(L, entry, "cb");
  lua_pushnil(L);
  lua_getfield(L, msg, "result");
  int result = lua_gettop(L);
  int has_result = !lua_isnil(L, result);
  if (!has_result) {
    lua_pop(L, 2);
    cx_push_error(L, "rpc", "response without result or error", 0, 0, method, 0);
    lua_pushnil(L);
    result = 0;
  }
  cx_queue_push(c->m, L);
  /* Register the stream named by the result before the next line is parsed, so no event of
   * this turn or login can slip past (the response itself is queued first). */
  lua_getfield(L, entry, "stream");
  int fn = lua_gettop(L);
  if (has_result && lua_isfunction(L, fn)) {
    lua_getfield(L, msg, "result");
    int r = lua_gettop(L);
    int kind = -1;
    if (lua_istable(L, r)) {
      lua_getfield(L, r, "turn");
      if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "id");
        if (lua_type(L, -1) == LUA_TSTRING) kind = KIND_TURN;
      }
      if (kind < 0) {
        lua_settop(L, r);
        lua_getfield(L, r, "loginId");
        if (lua_type(L, -1) == LUA_TSTRING) kind = KIND_LOGIN;
      }
    }
    if (kind >= 0) watch_stream(c, L, s, kind, lua_gettop(L), fn);
    lua_settop(L, fn);
  }
  pending_remove(c, L, s, entry, id);
  lua_settop(L, entry - 1);
}

static int encode_answer(cx_client *c, lua_State *L, int msg, int raw, cx_strbuf *b, char *err, size_t errlen);

static void handle_server_request(cx_client *c, lua_State *L, int s, int msg, int params) {
  int top = lua_gettop(L);
  state_table(L, s, "requests");
  int reqs = lua_gettop(L);
  lua_getfield(L, msg, "id");
  int id = lua_gettop(L);
  int raw = 0;
  if (lua_type(L, id) == LUA_TNUMBER && c->id_span.p) {
    /* Answered with the id's own text: a number need not survive the trip through a
     * double (1e400, 2^64, -0, 1.50) and the server matches answers by it. */
    lua_pushlstring(L, c->id_span.p, c->id_span.len);
    raw = lua_gettop(L);
  }
  lua_createtable(L, 0, 4);
  if (raw) {
    lua_pushvalue(L, raw);
    lua_setfield(L, -2, "raw_id");
  }
  lua_getfield(L, msg, "method");
  lua_setfield(L, -2, "method");
  if (lua_istable(L, params)) {
    lua_getfield(L, params, "threadId");
    lua_setfield(L, -2, "thread_id");
    lua_getfield(L, params, "turnId");
    lua_setfield(L, -2, "turn_id");
  }
  lua_pushvalue(L, id);
  lua_insert(L, -2);
  lua_rawset(L, reqs);
  lua_getfield(L, s, "on_request");
  if (lua_isfunction(L, -1)) {
    lua_pushstring(L, "request");
    lua_pushvalue(L, msg);
    cx_queue_push(c->m, L);
    lua_settop(L, top);
    return;
  }
  lua_pop(L, 1);
  /* No handler installed: answer with an error rather than leave the server waiting.
   * (The Lua layer always installs one that gives each request type its safe answer.) */
  lua_createtable(L, 0, 2);
  if (!raw) {
    lua_pushvalue(L, id);
    lua_setfield(L, -2, "id");
  }
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, -32601);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, "no handler for this request");
  lua_setfield(L, -2, "message");
  lua_setfield(L, -2, "error");
  cx_strbuf b;
  cx_strbuf_init(&b);
  char errbuf[160];
  if (encode_answer(c, L, lua_gettop(L), raw, &b, errbuf, sizeof errbuf) == 0) write_bytes(c, b.data, b.len);
  cx_strbuf_free(&b);
  lua_pushvalue(L, id);
  lua_pushnil(L);
  lua_rawset(L, reqs);
  lua_settop(L, top);
}

static int process_line(void *ud, const char *line, size_t len) {
  cx_client *c = ud;
  if (c->dead) return 1; /* closed: what is still in the chunk has nobody to go to */
  lua_State *L = c->m->L;
  int s = c->s_idx;
  int top = lua_gettop(L);
  /* The line lies in c->rbuf or in the framer's own buffer, both ours and not read again,
   * so the decoder may unescape strings in place. Keep an excerpt for error messages. */
  char excerpt[121];
  size_t elen = len < 120 ? len : 120;
  memcpy(excerpt, line, elen);
  c->line_len = len;
  if (cx_decode_inplace(c->m, L, (char *)line, len, &c->id_span)) {
    lua_pop(L, 1);
    protocol_error(c, L, s, "invalid JSON from app-server: %s", excerpt, elen);
    return 0;
  }
  int msg = lua_gettop(L);
  if (!lua_istable(L, msg)) {
    lua_settop(L, top);
    protocol_error(c, L, s, "a JSON value that is not an object: %s", excerpt, elen);
    return 0;
  }
  getk(c, L, msg, K_METHOD);
  int has_method = lua_type(L, -1) == LUA_TSTRING;
  const char *method = has_method ? lua_tostring(L, -1) : NULL;
  getk(c, L, msg, K_ID);
  int has_id = !lua_isnil(L, -1);
  getk(c, L, msg, K_PARAMS);
  int params = lua_gettop(L);
  if (!has_method) {
    if (has_id) handle_response(c, L, s, msg, excerpt, elen);
    else protocol_error(c, L, s, "a message that is neither a response, a request nor a notification: %s", excerpt, elen);
  } else if (has_id) {
    handle_server_request(c, L, s, msg, params);
  } else {
    if (method[0] == 's' && strcmp(method, "serverRequest/resolved") == 0 && lua_istable(L, params)) {
      /* The server settled a request (our answer, an interrupt, the turn's end): drop it
       * and tell its owner, who closes any prompt. */
      state_table(L, s, "requests");
      lua_getfield(L, params, "requestId");
      lua_pushnil(L);
      lua_rawset(L, -3);
      lua_pop(L, 1);
      lua_pushstring(L, "resolved");
      lua_pushvalue(L, msg);
      queue_sink(c, L, s, "on_request");
    }
    int terminal, kind = stream_key(c, L, params, method, &terminal);
    if (kind) {
      route_stream(c, L, s, kind - 1, lua_gettop(L), msg, terminal);
    } else {
      lua_pushvalue(L, msg);
      lua_pushnil(L);
      queue_sink(c, L, s, "on_notification");
    }
  }
  lua_settop(L, top);
  return 0;
}

static void out_overflow(void *ud, size_t n) {
  cx_client *c = ud;
  lua_State *L = c->m->L;
  char detail[64];
  snprintf(detail, sizeof detail, "%zu", n);
  protocol_error(c, L, c->s_idx, "dropped a line of %s bytes (over max_line)", detail, strlen(detail));
}

static int stderr_line(void *ud, const char *line, size_t len) {
  cx_ring_push(&((cx_client *)ud)->ring, line, len);
  return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  cx_client *c = h->data;
  *buf = uv_buf_init(c->rbuf, READ_CHUNK);
}

/* Frames, decodes and routes one chunk (at the end of output, data NULL: the last line even
 * without its newline). Protected as a whole (one lua_pcall per read, not per message): the
 * only errors possible here are Lua memory errors. */
static int read_chunk_protected(lua_State *L) {
  cx_client *c = lua_touserdata(L, 1);
  const char *data = lua_touserdata(L, 2);
  size_t n = (size_t)lua_tointeger(L, 3);
  lua_settop(L, 0);
  if (!push_state(c, L)) return 0;
  c->s_idx = lua_gettop(L);
  if (!lua_checkstack(L, K_COUNT + 40)) return luaL_error(L, "Lua stack exhausted");
  c->k_base = lua_gettop(L) + 1;
  for (int k = 0; k < K_COUNT; k++) lua_pushstring(L, HOT_KEYS[k]);
  if (!data)
    cx_framer_finish(&c->out_fr);
  else if (cx_framer_feed(&c->out_fr, data, n) < 0)
    protocol_error(c, L, c->s_idx, "out of memory while framing%s", "", 0);
  return 0;
}

static void read_chunk(cx_client *c, const char *data, size_t n) {
  if (!c->ud_alive || c->m->closing) return;
  lua_State *L = c->m->L;
  int top = lua_gettop(L);
  lua_pushcfunction(L, read_chunk_protected);
  lua_pushlightuserdata(L, c);
  lua_pushlightuserdata(L, (void *)data);
  lua_pushinteger(L, (lua_Integer)n);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    fprintf(stderr, "codex.core: dropped a chunk of app-server output: %s\n", lua_tostring(L, -1));
    c->protocol_errors++;
  }
  lua_settop(L, top);
}

static void out_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  cx_client *c = st->data;
  if (n > 0) {
    c->read_bytes += (unsigned long long)n;
    read_chunk(c, buf->base, (size_t)n);
    if (c->ud_alive && !c->m->closing && (c->m->qtail - c->m->qhead) / 3 >= QUEUE_HIGH && !c->out_eof && !c->paused) {
      uv_read_stop(st);
      c->paused = 1;
      /* Its own list: an exited process leaves m->clients, but its output must still be read. */
      c->next_paused = c->m->paused;
      c->m->paused = c;
      cx_reader_paused(c->m);
    }
  } else if (n < 0) {
    read_chunk(c, NULL, 0); /* a last line without its newline is still a message */
    c->out_eof = 1;
    uv_read_stop(st);
    close_handle(c, (uv_handle_t *)st);
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
    close_handle(c, (uv_handle_t *)st);
    check_death(c);
  }
}

static void reqtimer_cb(uv_timer_t *h) {
  cx_reqtimer *t = h->data;
  cx_client *c = t->c;
  lua_State *L = c->m->L;
  int top = lua_gettop(L);
  int retry = t->retry;
  long long id = t->id;
  if (!push_state(c, L)) {
    reqtimer_close(t);
    return;
  }
  int s = lua_gettop(L);
  state_table(L, s, "pending");
  cx_pushinteger(L, id);
  lua_rawget(L, -2);
  int entry = lua_gettop(L);
  if (!lua_istable(L, entry)) {
    reqtimer_close(t);
    lua_settop(L, top);
    return;
  }
  if (retry) {
    lua_pushnil(L);
    lua_setfield(L, entry, "rt");
    reqtimer_close(t);
    lua_getfield(L, entry, "line");
    size_t len;
    const char *line = lua_tolstring(L, -1, &len);
    write_bytes(c, line, len);
  } else {
    lua_pushnil(L);
    lua_setfield(L, entry, "t");
    reqtimer_close(t);
    lua_getfield(L, entry, "method");
    char msg[200];
    snprintf(msg, sizeof msg, "no answer to %s within the timeout", lua_tostring(L, -1));
    lua_getfield(L, entry, "cb");
    cx_push_error(L, "timeout", msg, 0, 0, lua_tostring(L, -2), 0);
    lua_pushnil(L);
    cx_queue_push(c->m, L);
    pending_remove(c, L, s, entry, id);
  }
  lua_settop(L, top);
}

/* ---- Lua methods ------------------------------------------------------------------------ */

static cx_client *check_client(lua_State *L) {
  cx_client **pc = luaL_checkudata(L, 1, CX_CLIENT_MT);
  if (!*pc) luaL_error(L, "codex.core: client already collected");
  return *pc;
}

static double opt_field_number(lua_State *L, int t, const char *k, double def) {
  lua_getfield(L, t, k);
  double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

/* A count option (attempts): clamped to [0, INT_MAX], NaN counts as 0. */
static int opt_count(lua_State *L, int t, const char *k, int def) {
  double v = opt_field_number(L, t, k, def);
  return v >= 2147483647.0 ? 2147483647 : v >= 0 ? (int)v : 0;
}

/* Queues cb(err) where err is built by the caller on the stack top. */
static void fail_async(cx_client *c, lua_State *L, int cb) {
  int e = lua_gettop(L);
  lua_pushvalue(L, cb);
  lua_pushvalue(L, e);
  lua_pushnil(L);
  cx_queue_push(c->m, L);
  lua_pop(L, 1);
}

/* client:request(method, params, cb, opts?) -> id | false
 * cb(err, result) runs scheduled, exactly once. opts: timeout_ms (0 = none), stream (fn: sink
 * registered for the turn/login the result names), retry_attempts. */
static int l_request(lua_State *L) {
  cx_client *c = check_client(L);
  const char *method = luaL_checkstring(L, 2);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  int opts = lua_istable(L, 5) ? 5 : 0;
  cx_getuservalue(L, 1);
  int s = lua_gettop(L);
  lua_getfield(L, s, "death");
  if (!lua_isnil(L, -1)) {
    fail_async(c, L, 4);
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pop(L, 1);
  uint64_t timeout = c->timeout_ms;
  if (opts) {
    lua_getfield(L, opts, "timeout_ms");
    int bad = !lua_isnil(L, -1) && (!lua_isnumber(L, -1) || cx_ms(lua_tonumber(L, -1), &timeout));
    lua_pop(L, 1);
    if (bad) {
      cx_push_error(L, "invalid_argument", "timeout_ms must be a non-negative number of milliseconds", 0, 0, method, 0);
      fail_async(c, L, 4);
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  long long id = ++c->next_id;
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)id);
  lua_setfield(L, -2, "id");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "method");
  if (!lua_isnoneornil(L, 3)) {
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "params");
  }
  cx_strbuf b;
  cx_strbuf_init(&b);
  char err[160];
  if (cx_encode_line(c->m, L, -1, &b, err, sizeof err)) {
    cx_strbuf_free(&b);
    char msg[240];
    snprintf(msg, sizeof msg, "cannot encode the params of %s: %s", method, err);
    cx_push_error(L, "invalid_argument", msg, 0, 0, method, 0);
    fail_async(c, L, 4);
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_createtable(L, 0, 10);
  int entry = lua_gettop(L);
  lua_pushvalue(L, 4);
  lua_setfield(L, entry, "cb");
  lua_pushvalue(L, 2);
  lua_setfield(L, entry, "method");
  lua_pushlstring(L, b.data, b.len);
  lua_setfield(L, entry, "line");
  lua_pushinteger(L, 1);
  lua_setfield(L, entry, "attempts");
  lua_pushinteger(L, opts ? opt_count(L, opts, "retry_attempts", c->retry_attempts) : c->retry_attempts);
  lua_setfield(L, entry, "max_attempts");
  lua_pushnumber(L, c->retry_initial_ms);
  lua_setfield(L, entry, "delay");
  if (opts) {
    lua_getfield(L, opts, "stream");
    if (lua_isfunction(L, -1)) {
      lua_setfield(L, entry, "stream");
      c->stream_requests++;
    } else {
      lua_pop(L, 1);
    }
  }
  if (timeout > 0 && timeout != CX_MS_NEVER) {
    lua_pushlightuserdata(L, reqtimer_start(c, id, 0, timeout));
    lua_setfield(L, entry, "t");
  }
  state_table(L, s, "pending");
  cx_pushinteger(L, id);
  lua_pushvalue(L, entry);
  lua_rawset(L, -3);
  int rc = write_bytes(c, b.data, b.len);
  cx_strbuf_free(&b);
  if (rc) {
    /* stdin is closed: death is being declared; the pending entry fails with it. */
  }
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

/* Encodes the message at msg as one line into b. With raw (a string at that index), msg has
 * no "id": the id goes first as that text, exactly as the server sent it (an id such as
 * 1e400 or 18446744073709551616 has no faithful Lua value to encode). */
static int encode_answer(cx_client *c, lua_State *L, int msg, int raw, cx_strbuf *b, char *err, size_t errlen) {
  if (!raw) return cx_encode_line(c->m, L, msg, b, err, errlen);
  cx_strbuf rest;
  cx_strbuf_init(&rest);
  if (cx_encode_line(c->m, L, msg, &rest, err, errlen)) {
    cx_strbuf_free(&rest);
    return -1;
  }
  size_t n;
  const char *id = lua_tolstring(L, raw, &n);
  int more = rest.len > 3; /* "{}\n" has no members to follow the id */
  int rc = cx_strbuf_append(b, "{\"id\":", 6) || cx_strbuf_append(b, id, n) ||
           (more ? cx_strbuf_putc(b, ',') || cx_strbuf_append(b, rest.data + 1, rest.len - 1)
                 : cx_strbuf_append(b, "}\n", 2));
  cx_strbuf_free(&rest);
  if (rc) snprintf(err, errlen, "out of memory");
  return rc ? -1 : 0;
}

static int write_message(lua_State *L, cx_client *c, int msg, int raw) {
  cx_strbuf b;
  cx_strbuf_init(&b);
  char err[160];
  if (encode_answer(c, L, msg, raw, &b, err, sizeof err)) {
    cx_strbuf_free(&b);
    lua_pushnil(L);
    lua_pushstring(L, err);
    lua_pushstring(L, "EINVAL");
    return 3;
  }
  int rc = write_bytes(c, b.data, b.len);
  cx_strbuf_free(&b);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, c->dead ? "the app-server process is gone" : uv_strerror(rc));
    lua_pushstring(L, c->dead ? "EPIPE" : uv_err_name(rc));
    return 3;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* client:notify(method, params?) -> true | nil, msg, code */
static int l_notify(lua_State *L) {
  cx_client *c = check_client(L);
  luaL_checkstring(L, 2);
  lua_settop(L, 3);
  lua_createtable(L, 0, 2);
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "method");
  if (!lua_isnoneornil(L, 3)) {
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "params");
  }
  return write_message(L, c, lua_gettop(L), 0);
}

/* Takes the pending server request with the id at index 2; pushes the raw text of its id
 * (or nil). 0 (pushing nothing) when unknown. */
static int take_server_request(lua_State *L) {
  cx_getuservalue(L, 1);
  state_table(L, lua_gettop(L), "requests");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  int known = !lua_isnil(L, -1);
  if (!known) {
    lua_pop(L, 3);
    return 0;
  }
  lua_getfield(L, -1, "raw_id");
  lua_replace(L, -4);
  lua_pop(L, 1);
  lua_pushvalue(L, 2);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 1;
}

static int answer(lua_State *L, int is_error) {
  cx_client *c = check_client(L);
  luaL_checkany(L, 2);
  lua_settop(L, is_error ? 5 : 3);
  long long code = 0;
  if (is_error && !(lua_type(L, 3) == LUA_TNUMBER && cx_isinteger(L, 3, &code)))
    return luaL_argerror(L, 3, "an integer error code is required");
  if (!is_error && lua_isnoneornil(L, 3)) return luaL_argerror(L, 3, "a result is required");
  if (!take_server_request(L)) {
    lua_pushnil(L);
    lua_pushstring(L, "no pending server request with this id (already answered, resolved, or the process died)");
    lua_pushstring(L, "ENOENT");
    return 3;
  }
  int raw = lua_isnil(L, -1) ? 0 : lua_gettop(L);
  lua_createtable(L, 0, 2);
  int msg = lua_gettop(L);
  if (!raw) {
    lua_pushvalue(L, 2);
    lua_setfield(L, msg, "id");
  }
  if (is_error) {
    lua_createtable(L, 0, 3);
    cx_pushinteger(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, luaL_optstring(L, 4, "rejected by the client"));
    lua_setfield(L, -2, "message");
    if (!lua_isnoneornil(L, 5)) {
      lua_pushvalue(L, 5);
      lua_setfield(L, -2, "data");
    }
    lua_setfield(L, msg, "error");
  } else {
    lua_pushvalue(L, 3);
    lua_setfield(L, msg, "result");
  }
  return write_message(L, c, msg, raw);
}

/* client:respond(id, result) -> true | nil, msg, code (never twice for one request) */
static int l_respond(lua_State *L) { return answer(L, 0); }
/* client:reject(id, code, message, data?) -> true | nil, msg, code */
static int l_reject(lua_State *L) { return answer(L, 1); }

/* Parses the stream key at index 2 ("turn:<id>" / "login:<id>"): returns the kind and
 * pushes the id, or raises an argument error. */
static int parse_key(lua_State *L) {
  size_t len;
  const char *k = luaL_checklstring(L, 2, &len);
  if (len > 5 && memcmp(k, "turn:", 5) == 0) {
    lua_pushlstring(L, k + 5, len - 5);
    return KIND_TURN;
  }
  if (len > 6 && memcmp(k, "login:", 6) == 0) {
    lua_pushlstring(L, k + 6, len - 6);
    return KIND_LOGIN;
  }
  return luaL_argerror(L, 2, "expected \"turn:<id>\" or \"login:<id>\"");
}

/* client:watch(key, fn) -> true | false[, why]: fn(msg) for every event of the stream
 * "turn:<id>"/"login:<id>", replaying what arrived before; fn(nil, err) if the process dies. */
static int l_watch(lua_State *L) {
  cx_client *c = check_client(L);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  int kind = parse_key(L);
  int id = lua_gettop(L);
  cx_getuservalue(L, 1);
  int s = lua_gettop(L);
  lua_getfield(L, s, "death");
  if (!lua_isnil(L, -1)) {
    lua_pushvalue(L, 3);
    lua_pushnil(L);
    lua_pushvalue(L, -3);
    cx_queue_push(c->m, L);
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pop(L, 1);
  state_table(L, s, DONE[kind]);
  lua_pushvalue(L, id);
  lua_rawget(L, -2);
  if (lua_toboolean(L, -1)) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, "this stream already ended");
    return 2;
  }
  lua_settop(L, s);
  watch_stream(c, L, s, kind, id, 3);
  lua_pushboolean(L, 1);
  return 1;
}

/* client:unwatch(key, fn) */
static int l_unwatch(lua_State *L) {
  check_client(L);
  lua_settop(L, 3);
  int kind = parse_key(L);
  int id = lua_gettop(L);
  cx_getuservalue(L, 1);
  state_table(L, lua_gettop(L), STREAMS[kind]);
  lua_pushvalue(L, id);
  lua_rawget(L, -2);
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "sinks");
    if (lua_istable(L, -1)) {
      int n = (int)cx_rawlen(L, -1), j = 0;
      for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        int same = lua_rawequal(L, -1, 3);
        lua_pop(L, 1);
        if (same) continue;
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, ++j);
      }
      for (int i = j + 1; i <= n; i++) {
        lua_pushnil(L);
        lua_rawseti(L, -2, i);
      }
    }
  }
  return 0;
}

static int set_sink(lua_State *L, const char *name) {
  check_client(L);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  cx_getuservalue(L, 1);
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, name);
  return 0;
}
/* client:on_notification(fn(msg)): global notifications (no turn/login scope). */
static int l_on_notification(lua_State *L) { return set_sink(L, "on_notification"); }
/* client:on_request(fn(what, x)): what = "request" (x = msg), "resolved" (x = the
 * serverRequest/resolved msg) or "closed" (x = the death error). */
static int l_on_request(lua_State *L) { return set_sink(L, "on_request"); }
/* client:on_close(fn(err)): the process is gone. */
static int l_on_close(lua_State *L) { return set_sink(L, "on_close"); }
/* client:on_exit(fn(code, signal)): the process exited (and was reaped). */
static int l_on_exit(lua_State *L) { return set_sink(L, "on_exit"); }
/* client:on_protocol_error(fn(err)): malformed lines, unknown ids, over-long lines. */
static int l_on_protocol_error(lua_State *L) { return set_sink(L, "on_protocol_error"); }

/* client:close(): close stdin; SIGTERM after the grace period, SIGKILL 2 s later.
 * Everything pending fails with kind "closed"; on_close runs when the process is gone. */
static int l_close(lua_State *L) {
  cx_client *c = check_client(L);
  if (!c->dead) {
    c->closing = 1;
    begin_kill(c);
    finalize_death(c); /* fail pending calls now; the process is reaped as it exits */
  }
  return 0;
}

/* client:kill(signal?) -> true | nil, msg, code */
static int l_kill(lua_State *L) {
  cx_client *c = check_client(L);
  if (c->exited) {
    lua_pushnil(L);
    lua_pushstring(L, "process already exited");
    lua_pushstring(L, "ESRCH");
    return 3;
  }
  int rc = uv_process_kill(&c->proc, (int)luaL_optinteger(L, 2, SIGTERM));
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, uv_strerror(rc));
    lua_pushstring(L, uv_err_name(rc));
    return 3;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* client:stderr(n?) -> the last n (default 40) stderr lines, joined by "\n" */
static int l_stderr(lua_State *L) {
  cx_client *c = check_client(L);
  cx_ring_push_tail(L, &c->ring, (int)luaL_optinteger(L, 2, 40), (size_t)luaL_optinteger(L, 3, 1 << 30));
  return 1;
}

/* client:status() -> {pid, alive, dead, exited, exit_code?, signal?, pending, buffered,
 *                     buffered_bytes, streams, protocol_errors, dropped_events, stderr_lines} */
static int l_status(lua_State *L) {
  cx_client *c = check_client(L);
  lua_createtable(L, 0, 10);
  lua_pushinteger(L, c->pid);
  lua_setfield(L, -2, "pid");
  lua_pushboolean(L, !c->exited);
  lua_setfield(L, -2, "alive");
  lua_pushboolean(L, c->dead);
  lua_setfield(L, -2, "dead");
  if (c->exited) {
    cx_pushinteger(L, c->exit_status);
    lua_setfield(L, -2, "exit_code");
    lua_pushinteger(L, c->term_signal);
    lua_setfield(L, -2, "signal");
  }
  int pending = 0;
  cx_getuservalue(L, 1);
  lua_getfield(L, -1, "pending");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) { pending++; lua_pop(L, 1); }
  }
  lua_pop(L, 2);
  lua_pushinteger(L, pending);
  lua_setfield(L, -2, "pending");
  lua_pushinteger(L, c->buffered);
  lua_setfield(L, -2, "buffered");
  lua_pushinteger(L, (lua_Integer)c->buffered_bytes);
  lua_setfield(L, -2, "buffered_bytes");
  /* stream entries kept (watched or buffering): bounded, whatever ids the server sends */
  int streams = 0;
  cx_getuservalue(L, 1);
  for (int kind = 0; kind < KIND_COUNT; kind++) {
    lua_getfield(L, -1, STREAMS[kind]);
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) { streams++; lua_pop(L, 1); }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_pushinteger(L, streams);
  lua_setfield(L, -2, "streams");
  lua_pushinteger(L, (lua_Integer)c->protocol_errors);
  lua_setfield(L, -2, "protocol_errors");
  lua_pushinteger(L, (lua_Integer)c->dropped_events);
  lua_setfield(L, -2, "dropped_events");
  lua_pushinteger(L, c->ring.count);
  lua_setfield(L, -2, "stderr_lines");
  return 1;
}

static int l_gc(lua_State *L) {
  cx_client **pc = luaL_checkudata(L, 1, CX_CLIENT_MT);
  cx_client *c = *pc;
  if (!c) return 0;
  *pc = NULL;
  if (!c->m->closing) {
    /* End the child as close() would, failing calls still in flight with kind "closed"
     * (their callbacks are queued, so awaiting coroutines resume); its handles close as it
     * exits. */
    if (!c->dead) {
      c->closing = c->collected = 1;
      cx_getuservalue(L, 1);
      fail_everything(c, L, lua_gettop(L));
      lua_pop(L, 1);
    }
    begin_kill(c);
    c->dead = 1;
    uv_timer_stop(&c->settle);
    close_handle(c, (uv_handle_t *)&c->settle);
    if (c->exited) close_handle(c, (uv_handle_t *)&c->term);
  }
  c->ud_alive = 0;
  if (c->open_handles == 0) client_free(c);
  return 0;
}

/* core.spawn{argv = {...}, env = {...}?, cwd = ?, max_line = ?, timeout_ms = ?,
 *            retry = {attempts, initial_ms, max_ms, jitter}?, kill_grace_ms = ?,
 *            buffer_events = ?, buffer_bytes = ? (what is kept for streams nobody watches)}
 * -> client | nil, message, code */
int cx_client_spawn(lua_State *L) {
  cx_module *m = cx_module_get(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "argv");
  luaL_argcheck(L, lua_istable(L, -1) && cx_rawlen(L, -1) >= 1, 1, "argv must be a non-empty list");
  int argv_idx = lua_gettop(L);
  int argc = (int)cx_rawlen(L, argv_idx);
  lua_getfield(L, 1, "env");
  int env_idx = lua_istable(L, -1) ? lua_gettop(L) : 0;
  lua_getfield(L, 1, "cwd");
  const char *cwd = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;

  lua_Number max_line = opt_field_number(L, 1, "max_line", 64.0 * 1024 * 1024);
  luaL_argcheck(L, max_line >= 64, 1, "max_line is too small");
  uint64_t grace_ms = cx_check_ms(L, 1, opt_field_number(L, 1, "kill_grace_ms", 500));
  uint64_t timeout_ms = cx_check_ms(L, 1, opt_field_number(L, 1, "timeout_ms", 0));
  lua_getfield(L, 1, "retry");
  int retry = lua_istable(L, -1) ? lua_gettop(L) : 0;
  int retry_attempts = retry ? opt_count(L, retry, "attempts", 3) : 3;
  double retry_initial_ms = retry ? opt_field_number(L, retry, "initial_ms", 250) : 250;
  double retry_max_ms = retry ? opt_field_number(L, retry, "max_ms", 2000) : 2000;
  double retry_jitter = retry ? opt_field_number(L, retry, "jitter", 0.2) : 0.2;
  cx_check_ms(L, 1, retry_initial_ms);
  cx_check_ms(L, 1, retry_max_ms);
  luaL_argcheck(L, retry_jitter >= 0 && retry_jitter <= 1, 1, "invalid_argument: retry.jitter must be in [0, 1]");
  int buf_total = opt_count(L, 1, "buffer_events", BUF_TOTAL);
  size_t buf_bytes = cx_byte_limit(opt_field_number(L, 1, "buffer_bytes", BUF_BYTES));

  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  if (!argv) return luaL_error(L, "out of memory");
  for (int i = 1; i <= argc; i++) {
    lua_rawgeti(L, argv_idx, i);
    if (!lua_isstring(L, -1)) {
      free(argv);
      return luaL_argerror(L, 1, "argv entries must be strings");
    }
    argv[i - 1] = (char *)lua_tostring(L, -1); /* anchored: each stays on the stack */
  }
  char **env = cx_env_build(L, env_idx);

  cx_client *c = calloc(1, sizeof *c);
  if (!c || !env) {
    free(argv);
    cx_env_free(env);
    free(c);
    return luaL_error(L, "out of memory");
  }
  c->m = m;
  c->ud_alive = 1;
  c->grace_ms = grace_ms;
  c->timeout_ms = timeout_ms;
  c->retry_attempts = retry_attempts;
  c->retry_initial_ms = retry_initial_ms;
  c->retry_max_ms = retry_max_ms;
  c->retry_jitter = retry_jitter;
  c->buf_total = buf_total;
  c->buf_per_stream = buf_total < BUF_PER_STREAM ? buf_total : BUF_PER_STREAM;
  c->buf_bytes = buf_bytes;
  cx_framer_init(&c->out_fr, cx_byte_limit(max_line), process_line, out_overflow, c);
  cx_framer_init(&c->err_fr, 65536, stderr_line, NULL, c);

  uv_pipe_init(m->loop, &c->in, 0);
  uv_pipe_init(m->loop, &c->out, 0);
  uv_pipe_init(m->loop, &c->err, 0);
  uv_timer_init(m->loop, &c->settle);
  uv_timer_init(m->loop, &c->term);
  c->in.data = c->out.data = c->err.data = c->settle.data = c->term.data = c->proc.data = c;
  c->open_handles = 5;

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
  const char *prog = argv[0]; /* (the string stays anchored on the stack) */
  free(argv);
  cx_env_free(env);
  if (rc) {
    /* Not spawned: the process handle still has to be closed (libuv's rule). */
    c->ud_alive = 0;
    c->exited = c->dead = 1;
    c->open_handles++;
    close_handle(c, (uv_handle_t *)&c->proc);
    close_handle(c, (uv_handle_t *)&c->in);
    close_handle(c, (uv_handle_t *)&c->out);
    close_handle(c, (uv_handle_t *)&c->err);
    close_handle(c, (uv_handle_t *)&c->settle);
    close_handle(c, (uv_handle_t *)&c->term);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot start %s: %s", prog, uv_strerror(rc));
    lua_pushstring(L, uv_err_name(rc));
    return 3;
  }
  c->open_handles++; /* the process handle */
  c->pid = c->proc.pid;
  c->next = m->clients;
  if (m->clients) m->clients->prev = c;
  m->clients = c;
  c->listed = 1;
  uv_read_start((uv_stream_t *)&c->out, alloc_cb, out_read);
  uv_read_start((uv_stream_t *)&c->err, alloc_cb, err_read);

  cx_client **pc = cx_newuserdata(L, sizeof *pc);
  *pc = c;
  luaL_getmetatable(L, CX_CLIENT_MT);
  lua_setmetatable(L, -2);
  lua_newtable(L);
  cx_setuservalue(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_clients);
  lua_pushlightuserdata(L, c);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 1;
}

static const luaL_Reg client_methods[] = {
  {"request", l_request}, {"notify", l_notify}, {"respond", l_respond}, {"reject", l_reject},
  {"watch", l_watch}, {"unwatch", l_unwatch}, {"on_notification", l_on_notification},
  {"on_request", l_on_request}, {"on_close", l_on_close}, {"on_protocol_error", l_on_protocol_error}, {"on_exit", l_on_exit},
  {"close", l_close}, {"kill", l_kill}, {"stderr", l_stderr}, {"status", l_status}, {NULL, NULL}};

/* After the queue was drained: resume reading where backpressure paused it. */
void cx_clients_resume(cx_module *m) {
  cx_client *c = m->paused;
  m->paused = NULL;
  while (c) {
    cx_client *next = c->next_paused;
    c->paused = 0;
    c->next_paused = NULL;
    if (!c->out_eof && !uv_is_closing((uv_handle_t *)&c->out)) uv_read_start((uv_stream_t *)&c->out, alloc_cb, out_read);
    c = next;
  }
}

void cx_client_register(lua_State *L) {
  luaL_newmetatable(L, CX_CLIENT_MT);
  lua_newtable(L);
  cx_setfuncs(L, client_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

/* The Lua state is closing (end of a plain Lua script): no Lua code may run any more, but
 * no child may outlive us either. On a loop we own, wait for them (SIGTERM, then SIGKILL). */
void cx_clients_shutdown(cx_module *m) {
  cx_clients_resume(m); /* read (and drop) what backpressure held, so the pipes reach EOF */
  for (cx_client *c = m->clients; c; c = c->next) begin_kill(c);
  if (!m->owns_loop) return;
  uint64_t start = uv_hrtime();
  while (m->clients) {
    uv_run(m->loop, UV_RUN_ONCE);
    if (uv_hrtime() - start > 10ull * 1000000000ull) break; /* SIGKILL went out long ago */
  }
}
