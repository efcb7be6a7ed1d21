/* fuzz/fuzz_common.h: what the libFuzzer harnesses share: a bare Lua 5.4 state with the two
 * values the codec needs (the null sentinel and the array-marker metatable, as module.c
 * sets them up), and a strict deep comparison of decoded values. */
#ifndef CODEX_FUZZ_COMMON_H
#define CODEX_FUZZ_COMMON_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

static lua_State *fz_L;
static cx_module fz_m;

#define FZ_CHECK(cond, ...)                                      \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "fuzz check failed: %s: ", #cond);         \
      fprintf(stderr, __VA_ARGS__);                              \
      fputc('\n', stderr);                                       \
      abort();                                                   \
    }                                                            \
  } while (0)

static inline void fz_init(void) {
  if (fz_L) return;
  fz_L = luaL_newstate();
  FZ_CHECK(fz_L != NULL, "luaL_newstate");
  memset(&fz_m, 0, sizeof fz_m);
  fz_m.L = fz_L;
  lua_pushlightuserdata(fz_L, NULL); /* cjson.null, as under plain Lua */
  fz_m.ref_null = luaL_ref(fz_L, LUA_REGISTRYINDEX);
  lua_newtable(fz_L);
  fz_m.ref_array_mt = luaL_ref(fz_L, LUA_REGISTRYINDEX);
  cx_strbuf_init(&fz_m.scratch);
}

/* Pushes the null sentinel and the array metatable; fills enc. */
static inline void fz_enc_setup(cx_json_enc *enc) { cx_json_enc_push(&fz_m, fz_L, enc); }

/* Equal values? strict: numbers must also have the same subtype and the same zero sign. */
static inline int fz_equal(lua_State *L, int a, int b, int strict, int depth) {
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  if (lua_type(L, a) != lua_type(L, b)) return 0;
  switch (lua_type(L, a)) {
    case LUA_TNUMBER:
      if (!lua_rawequal(L, a, b)) return 0;
      if (strict) {
        if (lua_isinteger(L, a) != lua_isinteger(L, b)) return 0;
        if (!lua_isinteger(L, a) && signbit(lua_tonumber(L, a)) != signbit(lua_tonumber(L, b))) return 0;
      } else if (lua_tonumber(L, a) == 0 && signbit(lua_tonumber(L, a)) != signbit(lua_tonumber(L, b))) {
        return 0; /* -0 must survive a round trip */
      }
      return 1;
    case LUA_TTABLE: {
      FZ_CHECK(depth < 2000 && lua_checkstack(L, 8), "depth");
      int ma = lua_getmetatable(L, a), mb = lua_getmetatable(L, b);
      int same_mt = ma == mb && (!ma || lua_rawequal(L, -1, -2));
      lua_pop(L, ma + mb);
      if (!same_mt) return 0;
      size_t na = 0, nb = 0;
      lua_pushnil(L);
      while (lua_next(L, a)) {
        na++;
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        int eq = fz_equal(L, -2, -1, strict, depth + 1);
        lua_pop(L, 2);
        if (!eq) {
          lua_pop(L, 1);
          return 0;
        }
      }
      lua_pushnil(L);
      while (lua_next(L, b)) {
        nb++;
        lua_pop(L, 1);
      }
      return na == nb;
    }
    default: return lua_rawequal(L, a, b);
  }
}
#endif
