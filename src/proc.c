#include "proc.h"
#include <stdlib.h>
#include <string.h>

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
