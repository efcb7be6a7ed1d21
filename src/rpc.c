/* rpc.c: JSON-RPC calls (rpc.h): ids, the pending table, request timers, overload retry
 * with backoff, the write path, respond/reject, and failing pending calls at death. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "router.h"
#include "rpc.h"

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

/* ---- writing ----------------------------------------------------------------------------- */

static void write_done(uv_write_t *req, int status) {
  (void)status; /* a failed write shows up as the process's death */
  free(req->data);
}

int cx_rpc_write(cx_client *c, const char *s, size_t n) {
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

/* ---- request timers ---------------------------------------------------------------------- */

static void reqtimer_closed(uv_handle_t *h) {
  cx_reqtimer *t = h->data;
  cx_client *c = t->c;
  free(t);
  cx_proc_handle_closed(c);
}

static void reqtimer_close(cx_reqtimer *t) {
  uv_timer_stop(&t->t);
  uv_close((uv_handle_t *)&t->t, reqtimer_closed);
}

static void reqtimer_cb(uv_timer_t *h);

/* Starts a timer for the call id (retry: 0 its timeout, 1 its next attempt); raises on memory
 * exhaustion (a memory error, like Lua's own, on the paths that call it). */
static cx_reqtimer *reqtimer_start(cx_client *c, lua_State *L, long long id, int retry, uint64_t ms) {
  cx_reqtimer *t = malloc(sizeof *t);
  if (!t) luaL_error(L, "out of memory");
  t->c = c;
  t->id = id;
  t->retry = retry;
  uv_timer_init(c->m->loop, &t->t);
  t->t.data = t;
  c->open_handles++;
  uv_timer_start(&t->t, reqtimer_cb, ms, 0);
  return t;
}

/* ---- responses ----------------------------------------------------------------------------- */

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

/* Removes S.pending[id] (at entry), closing its timers. */
static void pending_remove(cx_client *c, lua_State *L, int s, int entry, long long id) {
  lua_getfield(L, entry, "t");
  if (lua_islightuserdata(L, -1)) reqtimer_close(lua_touserdata(L, -1));
  lua_getfield(L, entry, "rt");
  if (lua_islightuserdata(L, -1)) reqtimer_close(lua_touserdata(L, -1));
  lua_getfield(L, entry, "stream");
  int had_stream = lua_isfunction(L, -1);
  lua_pop(L, 3);
  cx_state_table(L, s, "pending");
  cx_pushinteger(L, id);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (had_stream && --c->stream_requests == 0) cx_router_purge_done(c, L, s);
}

void cx_rpc_response(cx_client *c, lua_State *L, int s, int msg, const char *line, size_t len) {
  lua_getfield(L, msg, "id");
  long long id;
  if (lua_type(L, -1) != LUA_TNUMBER || !cx_isinteger(L, -1, &id)) {
    lua_pop(L, 1);
    cx_router_protocol_error(c, L, s, "response with an id this client never used: %s", line, len);
    return;
  }
  lua_pop(L, 1);
  cx_state_table(L, s, "pending");
  cx_pushinteger(L, id); /* the whole id: a 64-bit id never matches a truncated one */
  lua_rawget(L, -2);
  lua_replace(L, -2);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    cx_router_protocol_error(c, L, s, "response for an unknown or finished request: %s", line, len);
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
    cx_router_protocol_error(c, L, s, "a second response for a request waiting to be retried: %s", line, len);
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
      cx_reqtimer *rt = reqtimer_start(c, L, id, 1, ms);
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
    cx_push_error(c->m, L, overloaded ? "overloaded" : "rpc", lua_isstring(L, -3) ? lua_tostring(L, -3) : "error",
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
    cx_push_error(c->m, L, "rpc", "response without result or error", 0, 0, method, 0);
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
        if (lua_type(L, -1) == LUA_TSTRING) kind = CX_KIND_TURN;
      }
      if (kind < 0) {
        lua_settop(L, r);
        lua_getfield(L, r, "loginId");
        if (lua_type(L, -1) == LUA_TSTRING) kind = CX_KIND_LOGIN;
      }
    }
    if (kind >= 0) cx_router_watch(c, L, s, kind, lua_gettop(L), fn);
    lua_settop(L, fn);
  }
  pending_remove(c, L, s, entry, id);
  lua_settop(L, entry - 1);
}

static void reqtimer_cb(uv_timer_t *h) {
  cx_reqtimer *t = h->data;
  cx_client *c = t->c;
  lua_State *L = c->m->L;
  int top = lua_gettop(L);
  int retry = t->retry;
  long long id = t->id;
  if (!cx_push_state(c, L)) {
    reqtimer_close(t);
    return;
  }
  int s = lua_gettop(L);
  cx_state_table(L, s, "pending");
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
    cx_rpc_write(c, line, len);
  } else {
    lua_pushnil(L);
    lua_setfield(L, entry, "t");
    reqtimer_close(t);
    lua_getfield(L, entry, "method");
    char msg[200];
    snprintf(msg, sizeof msg, "no answer to %s within the timeout", lua_tostring(L, -1));
    lua_getfield(L, entry, "cb");
    cx_push_error(c->m, L, "timeout", msg, 0, 0, lua_tostring(L, -2), 0);
    lua_pushnil(L);
    cx_queue_push(c->m, L);
    pending_remove(c, L, s, entry, id);
  }
  lua_settop(L, top);
}

/* ---- requests and answers ------------------------------------------------------------------ */

/* Queues cb(err) where err is built by the caller on the stack top. */
static void fail_async(cx_client *c, lua_State *L, int cb) {
  int e = lua_gettop(L);
  lua_pushvalue(L, cb);
  lua_pushvalue(L, e);
  lua_pushnil(L);
  cx_queue_push(c->m, L);
  lua_pop(L, 1);
}

void cx_rpc_push_message(lua_State *L, long long id) {
  lua_createtable(L, 0, 3);
  if (id) {
    lua_pushinteger(L, (lua_Integer)id);
    lua_setfield(L, -2, "id");
  }
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "method");
  if (!lua_isnoneornil(L, 3)) {
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "params");
  }
}

int cx_rpc_request(cx_client *c, lua_State *L) {
  const char *method = lua_tostring(L, 2);
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
      cx_push_error(c->m, L, "invalid_argument", "timeout_ms must be a non-negative number of milliseconds", 0, 0, method, 0);
      fail_async(c, L, 4);
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  long long id = ++c->next_id;
  cx_rpc_push_message(L, id);
  cx_strbuf b;
  cx_strbuf_init(&b);
  char err[160];
  if (cx_encode_line(c->m, L, -1, &b, err, sizeof err)) {
    cx_strbuf_free(&b);
    char msg[240];
    snprintf(msg, sizeof msg, "cannot encode the params of %s: %s", method, err);
    cx_push_error(c->m, L, "invalid_argument", msg, 0, 0, method, 0);
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
    lua_pushlightuserdata(L, reqtimer_start(c, L, id, 0, timeout));
    lua_setfield(L, entry, "t");
  }
  cx_state_table(L, s, "pending");
  cx_pushinteger(L, id);
  lua_pushvalue(L, entry);
  lua_rawset(L, -3);
  /* A failed write means stdin is closed: death is being declared, and the pending entry
   * fails with it. */
  cx_rpc_write(c, b.data, b.len);
  cx_strbuf_free(&b);
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

/* Encodes the message at msg as one line into b. With raw (a string at that index), msg has
 * no "id": the id goes first as that text, exactly as the server sent it (an id such as
 * 1e400 or 18446744073709551616 has no faithful Lua value to encode). */
int cx_rpc_encode_answer(cx_client *c, lua_State *L, int msg, int raw, cx_strbuf *b, char *err, size_t errlen) {
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

int cx_rpc_send(cx_client *c, lua_State *L, int msg, int raw) {
  cx_strbuf b;
  cx_strbuf_init(&b);
  char err[160];
  if (cx_rpc_encode_answer(c, L, msg, raw, &b, err, sizeof err)) {
    cx_strbuf_free(&b);
    return cx_fail(L, err, "EINVAL");
  }
  int rc = cx_rpc_write(c, b.data, b.len);
  cx_strbuf_free(&b);
  if (rc) return cx_fail(L, c->dead ? "the app-server process is gone" : uv_strerror(rc), c->dead ? "EPIPE" : uv_err_name(rc));
  lua_pushboolean(L, 1);
  return 1;
}

int cx_rpc_answer(cx_client *c, lua_State *L, int is_error) {
  long long code = 0;
  if (is_error) cx_isinteger(L, 3, &code); /* checked by the caller */
  cx_getuservalue(L, 1);
  if (!cx_router_take_request(L, lua_gettop(L), 2)) /* stack: … S raw_id|nil */
    return cx_fail(L, "no pending server request with this id (already answered, resolved, or the process died)", "ENOENT");
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
  return cx_rpc_send(c, L, msg, raw);
}

void cx_rpc_fail_pending(cx_client *c, lua_State *L, int s, int e) {
  cx_state_table(L, s, "pending");
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
}
