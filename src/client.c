/* client.c: the client userdata's Lua methods and core.spawn: argument checks and results
 * (core.h's rule), over the layers that do the work: proc.c (the process), rpc.c (calls),
 * router.c (streams and server requests). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "router.h"
#include "rpc.h"

static cx_client *check_client(lua_State *L) {
  cx_client **pc = luaL_checkudata(L, 1, CX_CLIENT_MT);
  if (!*pc) luaL_error(L, "codex.core: client already collected");
  return *pc;
}

/* client:request(method, params, cb, opts?) -> id | false (cb got the error)
 * cb(err, result) runs scheduled, exactly once. opts: timeout_ms (0 = none), stream (fn: sink
 * registered for the turn/login the result names), retry_attempts. */
static int l_request(lua_State *L) {
  cx_client *c = check_client(L);
  luaL_checkstring(L, 2);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  return cx_rpc_request(c, L);
}

/* client:notify(method, params?) -> true | nil, msg, code */
static int l_notify(lua_State *L) {
  cx_client *c = check_client(L);
  luaL_checkstring(L, 2);
  lua_settop(L, 3);
  cx_rpc_push_message(L, 0);
  return cx_rpc_send(c, L, lua_gettop(L), 0);
}

static int answer(lua_State *L, int is_error) {
  cx_client *c = check_client(L);
  luaL_checkany(L, 2);
  lua_settop(L, is_error ? 5 : 3);
  long long code = 0;
  if (is_error && !(lua_type(L, 3) == LUA_TNUMBER && cx_isinteger(L, 3, &code)))
    return luaL_argerror(L, 3, "an integer error code is required");
  if (!is_error && lua_isnoneornil(L, 3)) return luaL_argerror(L, 3, "a result is required");
  return cx_rpc_answer(c, L, is_error);
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
    return CX_KIND_TURN;
  }
  if (len > 6 && memcmp(k, "login:", 6) == 0) {
    lua_pushlstring(L, k + 6, len - 6);
    return CX_KIND_LOGIN;
  }
  return luaL_argerror(L, 2, "expected \"turn:<id>\" or \"login:<id>\"");
}

/* client:watch(key, fn) -> true | false[, why]: fn(msg) for every event of the stream
 * "turn:<id>"/"login:<id>", replaying what arrived before. After the process died: false,
 * and fn(nil, err) is queued. On a stream that already ended: false, "this stream already
 * ended" (the exception to core.h's rule: lua/codex/rpc.lua tests `ok == false and why`). */
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
  if (cx_router_ended(L, s, kind, id)) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, "this stream already ended");
    return 2;
  }
  cx_router_watch(c, L, s, kind, id, 3);
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
  cx_router_unwatch(L, lua_gettop(L), kind, id, 3);
  return 0;
}

/* client:release(key): the Lua side does not claim that unclaimed turn (on_unclaimed). */
static int l_release(lua_State *L) {
  cx_client *c = check_client(L);
  lua_settop(L, 2);
  int kind = parse_key(L);
  int id = lua_gettop(L);
  cx_getuservalue(L, 1);
  cx_router_release(c, L, lua_gettop(L), kind, id);
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
/* client:on_unclaimed(fn(turn_id, msg)): a turn whose events no request claimed (started by
 * another request, client or the server itself); answer with client:watch or client:release. */
static int l_on_unclaimed(lua_State *L) { return set_sink(L, "on_unclaimed"); }
/* client:on_close(fn(err)): the process is gone. */
static int l_on_close(lua_State *L) { return set_sink(L, "on_close"); }
/* client:on_exit(fn(code, signal)): the process exited (and was reaped). */
static int l_on_exit(lua_State *L) { return set_sink(L, "on_exit"); }
/* client:on_protocol_error(fn(err)): malformed lines, unknown ids, over-long lines. */
static int l_on_protocol_error(lua_State *L) { return set_sink(L, "on_protocol_error"); }

/* client:close(): close stdin; SIGTERM after the grace period, SIGKILL 2 s later.
 * Everything pending fails with kind "closed"; on_close runs when the process is gone. */
static int l_close(lua_State *L) {
  cx_proc_close(check_client(L));
  return 0;
}

/* client:kill(signal?) -> true | nil, msg, code */
static int l_kill(lua_State *L) {
  cx_client *c = check_client(L);
  if (c->exited) return cx_fail(L, "process already exited", "ESRCH");
  int rc = uv_process_kill(&c->proc, (int)luaL_optinteger(L, 2, SIGTERM));
  if (rc) return cx_fail(L, uv_strerror(rc), uv_err_name(rc));
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
  cx_getuservalue(L, 1);
  int streams = cx_router_stream_count(L, lua_gettop(L));
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
  cx_proc_collect(c, L, 1);
  return 0;
}

/* core.spawn{argv = {...}, env = {...}?, cwd = ?, max_line = ?, timeout_ms = ?,
 *            retry = {attempts, initial_ms, max_ms, jitter}?, kill_grace_ms = ?,
 *            buffer_events = ?, buffer_bytes = ? (what is kept for streams nobody watches)}
 * -> client | nil, message, code */
static int l_spawn(lua_State *L) {
  cx_module *m = cx_upmodule(L);
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
  int buf_total = opt_count(L, 1, "buffer_events", CX_BUF_TOTAL);
  size_t buf_bytes = cx_byte_limit(opt_field_number(L, 1, "buffer_bytes", CX_BUF_BYTES));

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
  cx_router_init(c, cx_byte_limit(max_line), buf_total, buf_bytes);
  int rc = cx_proc_spawn(c, argv, env, cwd);
  const char *prog = argv[0]; /* (the string stays anchored on the stack) */
  free(argv);
  cx_env_free(env);
  if (rc) return cx_fail(L, lua_pushfstring(L, "cannot start %s: %s", prog, uv_strerror(rc)), uv_err_name(rc));

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
  {"watch", l_watch}, {"unwatch", l_unwatch}, {"release", l_release}, {"on_unclaimed", l_on_unclaimed},
  {"on_notification", l_on_notification},
  {"on_request", l_on_request}, {"on_close", l_on_close}, {"on_protocol_error", l_on_protocol_error}, {"on_exit", l_on_exit},
  {"close", l_close}, {"kill", l_kill}, {"stderr", l_stderr}, {"status", l_status}, {NULL, NULL}};

const luaL_Reg cx_client_fns[] = {{"spawn", l_spawn}, {NULL, NULL}};

void cx_client_register(lua_State *L) { cx_class(L, CX_CLIENT_MT, client_methods, l_gc); }
