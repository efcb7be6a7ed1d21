/* errors.c: error objects (a table with kind, message, code?, method?, data?, and a
 * __tostring that reads well), cx_fail for synchronous failures (core.h has the rule), and
 * the reporter: where errors from callbacks and protocol problems go (core.on_error,
 * core.report). */
#include <stdio.h>
#include "core.h"

int cx_fail(lua_State *L, const char *msg, const char *code) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushstring(L, code);
  return 3;
}

void cx_push_error(cx_module *m, lua_State *L, const char *kind, const char *message, int has_code,
                   long long code, const char *method, int data_idx) {
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
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_error_mt);
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

void cx_report(cx_module *m, lua_State *L, const char *what) {
  /* stack: message */
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_reporter); /* stack: message reporter|false */
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

/* core.on_error(fn|nil): where errors from callbacks and protocol problems are reported. */
static int l_on_error(lua_State *L) {
  cx_module *m = cx_upmodule(L);
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  if (lua_isnil(L, 1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
  }
  lua_rawseti(L, LUA_REGISTRYINDEX, m->ref_reporter);
  return 0;
}

/* core.report(message, what?): send a message to the reporter, as "codex: <what>: <message>"
 * (what defaults to "error"). Also the clients' default sink for protocol errors. */
static int l_report(lua_State *L) {
  cx_module *m = cx_upmodule(L);
  luaL_checkstring(L, 1);
  const char *what = luaL_optstring(L, 2, "error");
  lua_settop(L, 2); /* keeps `what` referenced while cx_report runs */
  lua_pushvalue(L, 1);
  cx_report(m, L, what);
  return 0;
}

const luaL_Reg cx_error_fns[] = {{"on_error", l_on_error}, {"report", l_report}, {NULL, NULL}};

void cx_errors_init(cx_module *m, lua_State *L) {
  luaL_newmetatable(L, CX_ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  m->ref_error_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushboolean(L, 0); /* no reporter yet */
  m->ref_reporter = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushlightuserdata(L, m);
  lua_pushcclosure(L, l_report, 1);
  m->ref_report = luaL_ref(L, LUA_REGISTRYINDEX);
}
