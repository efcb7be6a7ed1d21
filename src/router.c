/* router.c: lines in (router.h): read chunks → framer → decoder → dispatch (responses to
 * rpc.c, server requests recorded and handed to S.on_request, notifications routed to their
 * turn / login stream or to S.on_notification); stream buffering, replay and purging. The
 * schema of the state it keeps, S, is router.h's header comment.
 *
 * This is the hot path. Stack discipline: each function notes the absolute indices it
 * names (s = S, msg = the decoded message, …) and restores the top it found; "stack: …"
 * comments show what lies above them at the steps that matter. */
#include <stdio.h>
#include <string.h>
#include "router.h"
#include "rpc.h"

/* Field names used for every message: pushed once per read chunk and looked up with
 * lua_rawget, which skips lua_getfield's C-string interning on the hot path. */
enum { K_METHOD, K_ID, K_PARAMS, K_TURN_ID, K_TURN, K_SINKS, K_TURNS, K_LOGINS, K_COUNT };
static const char *const HOT_KEYS[K_COUNT] = {"method", "id", "params", "turnId", "turn", "sinks", "turns", "logins"};

/* Pushes t[HOT_KEYS[k]] (t absolute), during a read callback. */
static void getk(cx_client *c, lua_State *L, int t, int k) {
  lua_pushvalue(L, c->k_base + k);
  lua_rawget(L, t);
}
static const char *const STREAMS[CX_KIND_COUNT] = {"turns", "logins"};
static const char *const DONE[CX_KIND_COUNT] = {"turns_done", "logins_done"};

void cx_router_protocol_error(cx_client *c, lua_State *L, int s, const char *fmt, const char *detail, size_t dlen) {
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
    cx_push_error(c->m, L, "protocol", msg, 0, 0, NULL, 0);
    lua_pushnil(L);
  } else {
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->m->ref_report);
    lua_pushstring(L, msg);
    lua_pushstring(L, "protocol");
  }
  cx_queue_push(c->m, L);
}

/* ---- streams ------------------------------------------------------------------------------- */

/* For a notification scoped to a turn or a login, pushes its raw id and returns the kind + 1;
 * returns 0 (pushing nothing) for a global one. Turn events name their turn by
 * params.turnId, or params.turn.id (turn/started, turn/completed); a login by
 * params.loginId (account/login/completed, its only event). */
static int stream_key(cx_client *c, lua_State *L, int msg_params, const char *method, int *terminal) {
  *terminal = 0;
  if (!lua_istable(L, msg_params)) return 0;
  if (method[0] == 'a' && strcmp(method, "account/login/completed") == 0) {
    lua_getfield(L, msg_params, "loginId");
    if (lua_type(L, -1) == LUA_TSTRING) {
      *terminal = 1;
      return CX_KIND_LOGIN + 1;
    }
    lua_pop(L, 1);
    return 0;
  }
  getk(c, L, msg_params, K_TURN_ID); /* stack: … turnId */
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    getk(c, L, msg_params, K_TURN); /* stack: … turn */
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      return 0;
    }
    getk(c, L, lua_gettop(L), K_ID); /* stack: … turn turn.id */
    lua_replace(L, -2);              /* stack: … turn.id */
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      return 0;
    }
  }
  *terminal = method[0] == 't' && strcmp(method, "turn/completed") == 0;
  return CX_KIND_TURN + 1;
}

static void mark_completed(cx_client *c, lua_State *L, int s, int kind, int key) {
  cx_state_table(L, s, DONE[kind]);
  if (++c->completed_count > CX_COMPLETED_MAX) {
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

/* Turns nobody claimed (their events came before any request named them) are offered to
 * S.on_unclaimed(turn id, first event), once, when no stream-registering request is in flight
 * any more (such a request may still name it: then it is its own). Until the Lua side
 * answers (client:watch, or client:release), such a stream is kept even after it ended, so a
 * whole turn arriving in one read is not lost before anybody could look at it. Stream
 * fields: unclaimed (waiting for that answer), offered (asked). */
static int wants_unclaimed(lua_State *L, int s) {
  lua_getfield(L, s, "on_unclaimed");
  int yes = lua_isfunction(L, -1);
  lua_pop(L, 1);
  return yes;
}

/* Queues S.on_unclaimed(key, msg) for the stream at stream (key, msg absolute). */
static void offer(cx_client *c, lua_State *L, int s, int key, int stream, int msg) {
  lua_pushboolean(L, 1);
  lua_setfield(L, stream, "offered");
  lua_pushvalue(L, key);
  lua_pushvalue(L, msg);
  cx_queue_sink(c, L, s, "on_unclaimed");
}

static int has_sinks(lua_State *L, int stream) {
  lua_getfield(L, stream, "sinks");
  int n = lua_istable(L, -1) ? (int)cx_rawlen(L, -1) : 0;
  lua_pop(L, 1);
  return n > 0;
}

static int flag(lua_State *L, int t, const char *name) {
  lua_getfield(L, t, name);
  int on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return on;
}

/* Routes the message at msg to the stream of this kind whose id is at key: to its sinks when
 * it has any, else into its buffer (bounded), else dropped. Restores the top. */
static void route_stream(cx_client *c, lua_State *L, int s, int kind, int key, int msg, int terminal) {
  int top = lua_gettop(L);
  getk(c, L, s, kind == CX_KIND_TURN ? K_TURNS : K_LOGINS);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    cx_state_table(L, s, STREAMS[kind]);
  }
  int streams = lua_gettop(L); /* S.turns or S.logins */
  lua_pushvalue(L, key);
  lua_rawget(L, streams);
  int stream = lua_gettop(L); /* streams[key], or nil */
  if (lua_istable(L, stream)) {
    getk(c, L, stream, K_SINKS); /* stack: … streams stream sinks */
    int n = lua_istable(L, -1) ? (int)cx_rawlen(L, -1) : 0;
    if (n > 0) { /* the common case: watched */
      for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i); /* stack: … sinks sink */
        lua_pushvalue(L, msg);
        lua_pushnil(L);        /* stack: … sinks sink msg nil */
        cx_queue_push(c->m, L); /* stack: … sinks */
      }
      if (terminal) remove_stream(c, L, s, kind, key, streams, stream);
      lua_settop(L, top);
      return;
    }
    lua_pop(L, 1); /* stack: … streams stream */
  } else {
    cx_state_table(L, s, DONE[kind]);
    lua_pushvalue(L, key);
    lua_rawget(L, -2); /* stack: … streams nil done_set done */
    int done = lua_toboolean(L, -1);
    if (done) { /* a late event for a stream that already ended */
      lua_settop(L, top);
      return;
    }
    lua_settop(L, stream - 1); /* stack: … streams */
    if (c->buffered >= c->buf_total || c->buffered_bytes + c->line_len > c->buf_bytes) {
      /* No room to keep it: no stream entry either, or ids nobody watches would pile up
       * (an end is still remembered, so late events for it are dropped). */
      if (!terminal || c->stream_requests > 0) c->dropped_events++;
      if (terminal) mark_completed(c, L, s, kind, key);
      lua_settop(L, top);
      return;
    }
    lua_newtable(L); /* stack: … streams stream (new, at index `stream`) */
    lua_pushvalue(L, key);
    lua_pushvalue(L, -2);
    lua_rawset(L, streams);
    if (kind == CX_KIND_TURN && wants_unclaimed(L, s)) {
      lua_pushboolean(L, 1);
      lua_setfield(L, stream, "unclaimed");
      if (c->stream_requests == 0) offer(c, L, s, key, stream, msg);
    }
  }
  /* Nobody watches yet: buffer, bounded. stack: … streams stream */
  lua_getfield(L, stream, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (terminal && c->stream_requests == 0 && !flag(L, stream, "unclaimed")) {
    /* It ended unwatched and no request in flight can claim it: drop its buffer. */
    remove_stream(c, L, s, kind, key, streams, stream);
  } else if (n < c->buf_per_stream && c->buffered < c->buf_total && c->buffered_bytes + c->line_len <= c->buf_bytes) {
    cx_state_table(L, stream, "buf");
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
void cx_router_watch(cx_client *c, lua_State *L, int s, int kind, int key, int fn) {
  int top = lua_gettop(L);
  cx_state_table(L, s, STREAMS[kind]);
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
  lua_pushnil(L);
  lua_setfield(L, stream, "unclaimed"); /* claimed now */
  cx_state_table(L, stream, "sinks");
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
void cx_router_purge_done(cx_client *c, lua_State *L, int s) {
  int top = lua_gettop(L);
  for (int kind = 0; kind < CX_KIND_COUNT; kind++) {
    cx_state_table(L, s, STREAMS[kind]);
    int streams = lua_gettop(L);
    lua_newtable(L);
    int doomed = lua_gettop(L), nd = 0;
    lua_pushnil(L);
    while (lua_next(L, streams)) { /* stack: … streams doomed key stream */
      int stream = lua_gettop(L);
      if (flag(L, stream, "unclaimed")) {
        /* No request can name it now: the Lua side decides (and until then it stays). */
        if (!flag(L, stream, "offered") && !has_sinks(L, stream)) {
          lua_getfield(L, stream, "buf");
          if (lua_istable(L, -1)) {
            lua_rawgeti(L, -1, 1); /* its first event */
            offer(c, L, s, stream - 1, stream, lua_gettop(L));
          }
          lua_settop(L, stream);
        }
        lua_pop(L, 1);
        continue;
      }
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

/* ---- server requests ----------------------------------------------------------------------- */

static void handle_server_request(cx_client *c, lua_State *L, int s, int msg, int params) {
  int top = lua_gettop(L);
  cx_state_table(L, s, "requests");
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
  if (cx_rpc_encode_answer(c, L, lua_gettop(L), raw, &b, errbuf, sizeof errbuf) == 0) cx_rpc_write(c, b.data, b.len);
  cx_strbuf_free(&b);
  lua_pushvalue(L, id);
  lua_pushnil(L);
  lua_rawset(L, reqs);
  lua_settop(L, top);
}

/* ---- lines --------------------------------------------------------------------------------- */

/* The framer's line callback: one complete line. The read chunk's stack lies below
 * (read_chunk_protected: S at c->s_idx, the hot keys from c->k_base); restores the top. */
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
    cx_router_protocol_error(c, L, s, "invalid JSON from app-server: %s", excerpt, elen);
    return 0;
  }
  int msg = lua_gettop(L); /* stack: … msg */
  if (!lua_istable(L, msg)) {
    lua_settop(L, top);
    cx_router_protocol_error(c, L, s, "a JSON value that is not an object: %s", excerpt, elen);
    return 0;
  }
  getk(c, L, msg, K_METHOD);
  int has_method = lua_type(L, -1) == LUA_TSTRING;
  const char *method = has_method ? lua_tostring(L, -1) : NULL;
  getk(c, L, msg, K_ID);
  int has_id = !lua_isnil(L, -1);
  getk(c, L, msg, K_PARAMS);
  int params = lua_gettop(L); /* stack: … msg method id params */
  if (!has_method) {
    if (has_id) cx_rpc_response(c, L, s, msg, excerpt, elen);
    else cx_router_protocol_error(c, L, s, "a message that is neither a response, a request nor a notification: %s", excerpt, elen);
  } else if (has_id) {
    handle_server_request(c, L, s, msg, params);
  } else {
    if (method[0] == 's' && strcmp(method, "serverRequest/resolved") == 0 && lua_istable(L, params)) {
      /* The server settled a request (our answer, an interrupt, the turn's end): drop it
       * and tell its owner, who closes any prompt. */
      cx_state_table(L, s, "requests");
      lua_getfield(L, params, "requestId");
      lua_pushnil(L);
      lua_rawset(L, -3);
      lua_pop(L, 1);
      lua_pushstring(L, "resolved");
      lua_pushvalue(L, msg);
      cx_queue_sink(c, L, s, "on_request");
    }
    int terminal, kind = stream_key(c, L, params, method, &terminal);
    if (kind) { /* stack: … msg method id params key */
      route_stream(c, L, s, kind - 1, lua_gettop(L), msg, terminal);
    } else {
      lua_pushvalue(L, msg);
      lua_pushnil(L);
      cx_queue_sink(c, L, s, "on_notification");
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
  cx_router_protocol_error(c, L, c->s_idx, "dropped a line of %s bytes (over max_line)", detail, strlen(detail));
}

/* Frames, decodes and routes one chunk (at the end of output, data NULL: the last line even
 * without its newline). Protected as a whole (one lua_pcall per read, not per message): the
 * only errors possible here are Lua memory errors. */
static int read_chunk_protected(lua_State *L) {
  cx_client *c = lua_touserdata(L, 1);
  const char *data = lua_touserdata(L, 2);
  size_t n = (size_t)lua_tointeger(L, 3);
  lua_settop(L, 0);
  if (!cx_push_state(c, L)) return 0;
  c->s_idx = lua_gettop(L); /* stack: S */
  if (!lua_checkstack(L, K_COUNT + 40)) return luaL_error(L, "Lua stack exhausted");
  c->k_base = lua_gettop(L) + 1;
  for (int k = 0; k < K_COUNT; k++) lua_pushstring(L, HOT_KEYS[k]); /* stack: S "method" … "logins" */
  if (!data)
    cx_framer_finish(&c->out_fr);
  else if (cx_framer_feed(&c->out_fr, data, n) < 0)
    cx_router_protocol_error(c, L, c->s_idx, "out of memory while framing%s", "", 0);
  return 0;
}

void cx_router_feed(cx_client *c, const char *data, size_t n) {
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

void cx_router_init(cx_client *c, size_t max_line, int buf_total, size_t buf_bytes) {
  c->buf_total = buf_total;
  c->buf_per_stream = buf_total < CX_BUF_PER_STREAM ? buf_total : CX_BUF_PER_STREAM;
  c->buf_bytes = buf_bytes;
  cx_framer_init(&c->out_fr, max_line, process_line, out_overflow, c);
}

/* ---- for the client's methods and its death -------------------------------------------------- */

int cx_router_take_request(lua_State *L, int s, int idx) {
  cx_state_table(L, s, "requests");
  int reqs = lua_gettop(L);
  lua_pushvalue(L, idx);
  lua_rawget(L, reqs); /* stack: … requests entry|nil */
  if (lua_isnil(L, -1)) {
    lua_pop(L, 2);
    return 0;
  }
  lua_getfield(L, -1, "raw_id"); /* stack: … requests entry raw_id|nil */
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, reqs);
  lua_replace(L, reqs); /* stack: … raw_id|nil entry */
  lua_pop(L, 1);
  return 1;
}

int cx_router_ended(lua_State *L, int s, int kind, int key) {
  cx_state_table(L, s, DONE[kind]);
  lua_pushvalue(L, key);
  lua_rawget(L, -2);
  int ended = lua_toboolean(L, -1);
  lua_pop(L, 2);
  return ended;
}

void cx_router_unwatch(lua_State *L, int s, int kind, int key, int fn) {
  int top = lua_gettop(L);
  cx_state_table(L, s, STREAMS[kind]);
  lua_pushvalue(L, key);
  lua_rawget(L, -2);
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "sinks");
    if (lua_istable(L, -1)) {
      /* compact the list in place, keeping the order of the others */
      int n = (int)cx_rawlen(L, -1), j = 0;
      for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        int same = lua_rawequal(L, -1, fn);
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
  lua_settop(L, top);
}

void cx_router_release(cx_client *c, lua_State *L, int s, int kind, int key) {
  int top = lua_gettop(L);
  cx_state_table(L, s, STREAMS[kind]);
  int streams = lua_gettop(L);
  lua_pushvalue(L, key);
  lua_rawget(L, streams);
  int stream = lua_gettop(L);
  if (lua_istable(L, stream) && !has_sinks(L, stream)) {
    lua_pushnil(L);
    lua_setfield(L, stream, "unclaimed");
    /* What an unwatched stream gets: dropped once it ended and no request can claim it. */
    if (flag(L, stream, "done") && c->stream_requests == 0) remove_stream(c, L, s, kind, key, streams, stream);
  }
  lua_settop(L, top);
}

int cx_router_stream_count(lua_State *L, int s) {
  int streams = 0;
  for (int kind = 0; kind < CX_KIND_COUNT; kind++) {
    lua_getfield(L, s, STREAMS[kind]);
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) { streams++; lua_pop(L, 1); }
    }
    lua_pop(L, 1);
  }
  return streams;
}

void cx_router_fail(cx_client *c, lua_State *L, int s, int e) {
  int top = lua_gettop(L);
  for (int kind = 0; kind < CX_KIND_COUNT; kind++) {
    cx_state_table(L, s, STREAMS[kind]);
    int st = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, st)) { /* stack: … streams key stream */
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
  cx_queue_sink(c, L, s, "on_request");
  lua_settop(L, top);
}
