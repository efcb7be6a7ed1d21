/* module.c: the codex.core module: luaopen_codex_core, host detection (Neovim or plain
 * Lua), the loop, the main thread, module state init and finalisation, and the module's small
 * bindings (JSON encode/decode/toml/array, the framer for tests and tools, now, same_loop,
 * info). Every module function gets the module state as upvalue 1 (cx_upmodule). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "queue.h"

/* luv keeps its per-state context in the registry under "luv_context"; since luv 1.30 its
 * first fields are the loop and the main thread. We read only that prefix, so no luv header
 * is needed. */
typedef struct {
  uv_loop_t *loop;
  lua_State *L; /* luv: "main thread, ensure coroutines works" */
} luv_ctx_prefix;

/* ---- JSON ---------------------------------------------------------------------------- */

static int encode_with(lua_State *L, int toml) {
  cx_module *m = cx_upmodule(L);
  luaL_checkany(L, 1);
  cx_strbuf b;
  cx_strbuf_init(&b);
  cx_json_enc enc;
  cx_json_enc_push(m, L, &enc);
  int rc = toml ? cx_toml_encode(L, 1, &b, &enc) : cx_json_encode(L, 1, &b, &enc);
  if (rc) {
    cx_strbuf_free(&b);
    return cx_fail(L, enc.err, "EINVAL");
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
  if (cx_decode(cx_upmodule(L), L, s, len)) return cx_fail(L, lua_tostring(L, -1), "EINVAL");
  return 1;
}

/* core.array(t?) -> t, marked as a JSON array (so an empty one encodes as []). */
static int l_array(lua_State *L) {
  if (lua_isnoneornil(L, 1)) lua_newtable(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, cx_upmodule(L)->ref_array_mt);
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
  framer_ud *u = luaL_checkudata(L, 1, CX_FRAMER_MT);
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
  framer_ud *u = luaL_checkudata(L, 1, CX_FRAMER_MT);
  lua_newtable(L);
  u->L = L;
  u->out = lua_gettop(L);
  u->n = 0;
  cx_framer_finish(&u->f);
  lua_pushinteger(L, u->overflows);
  return 2;
}

static int l_framer_buffered(lua_State *L) {
  framer_ud *u = luaL_checkudata(L, 1, CX_FRAMER_MT);
  lua_pushinteger(L, (lua_Integer)u->f.partial.cap);
  return 1;
}

static int l_framer_gc(lua_State *L) {
  framer_ud *u = luaL_checkudata(L, 1, CX_FRAMER_MT);
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
  luaL_getmetatable(L, CX_FRAMER_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* ---- loop and host ------------------------------------------------------------------ */

/* core.now() -> the loop's millisecond clock */
static int l_now(lua_State *L) {
  cx_module *m = cx_upmodule(L);
  uv_update_time(m->loop);
  lua_pushnumber(L, (lua_Number)uv_now(m->loop));
  return 1;
}

/* core.same_loop(luv_handle) -> boolean: is this luv handle on the loop the core uses?
 * (Tests use it to prove that inside Neovim the core runs on Neovim's own loop.) luv's
 * handle userdata holds a pointer to the uv handle. */
static int l_same_loop(lua_State *L) {
  cx_module *m = cx_upmodule(L);
  luaL_checktype(L, 1, LUA_TUSERDATA);
  uv_handle_t **h = lua_touserdata(L, 1);
  lua_pushboolean(L, h && *h && (*h)->loop == m->loop);
  return 1;
}

/* core.info() -> {host = "nvim"|"lua", loop = "nvim"|"own", libuv = uv_version_string()}:
 * in Neovim the core runs on Neovim's loop; under plain Lua it always owns one (init_module
 * says why). */
static int l_info(lua_State *L) {
  cx_module *m = cx_upmodule(L);
  lua_newtable(L);
  lua_pushstring(L, m->in_nvim ? "nvim" : "lua");
  lua_setfield(L, -2, "host");
  lua_pushstring(L, m->owns_loop ? "own" : "nvim");
  lua_setfield(L, -2, "loop");
  lua_pushstring(L, uv_version_string());
  lua_setfield(L, -2, "libuv");
  return 1;
}

/* ---- module ---------------------------------------------------------------------------- */

static int module_gc(lua_State *L) {
  cx_module *m = lua_touserdata(L, 1);
  m->closing = 1;
  cx_proc_shutdown(m);
  cx_strbuf_free(&m->scratch);
  cx_queue_close(m);
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
  {"encode", l_encode}, {"decode", l_decode}, {"toml", l_toml}, {"array", l_array}, {"framer", l_framer},
  {"now", l_now}, {"same_loop", l_same_loop}, {"info", l_info}, {NULL, NULL}};
/* Every function of the module table, each file's own set; all get the module as upvalue 1. */
static const luaL_Reg *const all_fns[] = {module_fns, cx_queue_fns, cx_error_fns, cx_client_fns};

static const luaL_Reg framer_methods[] = {
  {"feed", l_framer_feed}, {"finish", l_framer_finish}, {"buffered", l_framer_buffered}, {NULL, NULL}};

static int init_module(lua_State *L, cx_module *m) {
  memset(m, 0, sizeof *m);
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
  cx_queue_init(m, L);
  cx_errors_init(m, L);
  lua_newtable(L);
  lua_pushstring(L, "array");
  lua_setfield(L, -2, "__name");
  m->ref_array_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  /* clients by C pointer, weak values: lets libuv callbacks find a live userdata */
  lua_newtable(L);
  lua_newtable(L);
  lua_pushstring(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  m->ref_clients = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* require("codex.core"): the state is made once per Lua state; each require builds a module
 * table over it. */
int luaopen_codex_core(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, CX_MODULE_KEY); /* the state's only lookup by name */
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    cx_module *m = lua_newuserdata(L, sizeof *m);
    memset(m, 0, sizeof *m);
    lua_newtable(L);
    lua_pushcfunction(L, module_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    init_module(L, m); /* may raise: then nothing is registered and a later require retries */
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, CX_MODULE_KEY);
    cx_class(L, CX_FRAMER_MT, framer_methods, l_framer_gc);
    cx_client_register(L);
  }
  int ud = lua_gettop(L);
  cx_module *m = lua_touserdata(L, ud);
  lua_newtable(L);
  for (size_t i = 0; i < sizeof all_fns / sizeof *all_fns; i++) {
    lua_pushvalue(L, ud);
    cx_setfuncs(L, all_fns[i], 1);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_null);
  lua_setfield(L, -2, "null");
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_error_mt);
  lua_setfield(L, -2, "error_mt");
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_array_mt);
  lua_setfield(L, -2, "array_mt");
  lua_pushstring(L, CODEX_PLUGIN_VERSION); /* from lua/codex/version.lua, by CMake */
  lua_setfield(L, -2, "version");
  return 1;
}
