/* compat.h: the few Lua C API differences between Lua 5.1 (LuaJIT, Neovim) and Lua 5.4.
 * Everything else in src/ is written against the common subset plus these names. */
#ifndef CODEX_COMPAT_H
#define CODEX_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#define LUA_OK 0
#define cx_rawlen(L, i) lua_objlen((L), (i))
#define cx_newuserdata(L, sz) lua_newuserdata((L), (sz))
#define cx_setuservalue(L, i) lua_setfenv((L), (i))
#define cx_getuservalue(L, i) lua_getfenv((L), (i))
static inline int cx_absindex(lua_State *L, int i) {
  return (i > 0 || i <= LUA_REGISTRYINDEX) ? i : lua_gettop(L) + i + 1;
}
static inline void cx_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    for (int i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
/* 5.1 has no integer subtype: an integral double in the int64 range counts as one. */
static inline int cx_isinteger(lua_State *L, int i, long long *out) {
  lua_Number n = lua_tonumber(L, i);
  if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && (lua_Number)(long long)n == n) {
    *out = (long long)n;
    return 1;
  }
  return 0;
}
static inline void cx_pushinteger(lua_State *L, long long v) { lua_pushnumber(L, (lua_Number)v); }
#else
#define cx_rawlen(L, i) lua_rawlen((L), (i))
#define cx_newuserdata(L, sz) lua_newuserdatauv((L), (sz), 1)
#define cx_setuservalue(L, i) lua_setiuservalue((L), (i), 1)
#define cx_getuservalue(L, i) lua_getiuservalue((L), (i), 1)
#define cx_absindex lua_absindex
#define cx_setfuncs luaL_setfuncs
static inline int cx_isinteger(lua_State *L, int i, long long *out) {
  if (lua_isinteger(L, i)) {
    *out = (long long)lua_tointeger(L, i);
    return 1;
  }
  lua_Number n = lua_tonumber(L, i);
  if (n >= -9007199254740992.0 && n <= 9007199254740992.0 && (lua_Number)(long long)n == n) {
    *out = (long long)n;
    return 1;
  }
  return 0;
}
static inline void cx_pushinteger(lua_State *L, long long v) { lua_pushinteger(L, (lua_Integer)v); }
#endif

#endif
