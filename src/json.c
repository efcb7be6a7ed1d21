/* json.c: Lua value -> JSON text (and TOML values for `--config`), by the rules in json.h;
 * UTF-8 validation. */
#include "json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

#define FAIL(enc, ...) (snprintf((enc)->err, sizeof((enc)->err), __VA_ARGS__), -1)
#define PUT(b, s, n) do { if (cx_strbuf_append((b), (s), (n))) return -1; } while (0)

size_t cx_utf8_valid_prefix(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; c &= 0x07; }
    else return i;
    for (size_t k = 1; k <= n; k++) {
      if (i + k >= len || (s[i + k] & 0xC0) != 0x80) return i;
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return i;
    i += n + 1;
  }
  return i;
}

static int put_string(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  size_t ok = cx_utf8_valid_prefix((const unsigned char *)s, len);
  if (ok != len) return FAIL(enc, "string is not valid UTF-8 (byte %zu)", ok + 1);
  /* Worst case 6 bytes per byte (\u00XX) + quotes: reserve once, then write unchecked. */
  if (cx_strbuf_reserve(b, len * 6 + 2)) return FAIL(enc, "out of memory");
  char *o = b->data + b->len;
  *o++ = '"';
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && (c != 0x7f || !enc->toml)) { *o++ = (char)c; continue; }
    *o++ = '\\';
    switch (c) {
      case 0x7f: memcpy(o, "u007F", 5); o += 5; break; /* TOML only: raw DEL is not allowed */
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '\n': *o++ = 'n'; break;
      case '\r': *o++ = 'r'; break;
      case '\t': *o++ = 't'; break;
      case '\b': *o++ = 'b'; break;
      case '\f': *o++ = 'f'; break;
      default: *o++ = 'u'; *o++ = '0'; *o++ = '0'; *o++ = hex[c >> 4]; *o++ = hex[c & 15];
    }
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
  return 0;
}

static int put_number(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc) {
  char tmp[40];
  long long iv;
  int n;
  if (cx_isinteger(L, idx, &iv)) {
    /* -0.0 keeps its sign, as in cjson (and the decoder reads "-0" back as -0.0) */
    n = iv == 0 && signbit((double)lua_tonumber(L, idx)) ? snprintf(tmp, sizeof tmp, "-0") : snprintf(tmp, sizeof tmp, "%lld", iv);
  } else {
    double d = (double)lua_tonumber(L, idx);
    if (!isfinite(d)) return FAIL(enc, "cannot encode %s as JSON", isnan(d) ? "NaN" : "an infinite number");
    n = snprintf(tmp, sizeof tmp, "%.15g", d);
    if (strtod(tmp, NULL) != d) n = snprintf(tmp, sizeof tmp, "%.17g", d);
  }
  PUT(b, tmp, (size_t)n);
  return 0;
}

/* Is the table at idx a sequence 1..n (n > 0)? Sets *n. */
static int is_sequence(lua_State *L, int idx, size_t *n) {
  size_t len = cx_rawlen(L, idx), count = 0;
  if (len == 0) return 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    long long k;
    if (lua_type(L, -1) != LUA_TNUMBER || !cx_isinteger(L, -1, &k) || k < 1 || (size_t)k > len) {
      lua_pop(L, 1);
      return 0;
    }
    count++;
  }
  *n = len;
  return count == len;
}

/* Describes the key at idx for an error message (without converting it in place). */
static const char *key_desc(lua_State *L, int idx, char *buf, size_t n) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: snprintf(buf, n, "\"%.40s\"", lua_tostring(L, idx)); break;
    case LUA_TNUMBER: snprintf(buf, n, "%.17g", (double)lua_tonumber(L, idx)); break;
    case LUA_TBOOLEAN: snprintf(buf, n, "%s", lua_toboolean(L, idx) ? "true" : "false"); break;
    default: snprintf(buf, n, "of type %s", luaL_typename(L, idx));
  }
  return buf;
}

/* A table with the array marker: its keys must be exactly 1..n (n may be 0), since any other
 * entry would silently be left out. Sets *n. */
static int marked_length(lua_State *L, int idx, size_t *n, cx_json_enc *enc) {
  size_t len = cx_rawlen(L, idx), count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    long long k;
    if (lua_type(L, -1) != LUA_TNUMBER || !cx_isinteger(L, -1, &k) || k < 1 || (size_t)k > len) {
      char kd[64];
      key_desc(L, -1, kd, sizeof kd);
      lua_pop(L, 1);
      return FAIL(enc, "an array (core.array) can only have the keys 1..n, not the key %s", kd);
    }
    count++;
  }
  if (count != len) return FAIL(enc, "an array (core.array) cannot have holes (%zu values for length %zu)", count, len);
  *n = len;
  return 0;
}

static int encode(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc, int depth);

static int put_array(lua_State *L, int idx, size_t n, cx_strbuf *b, cx_json_enc *enc, int depth) {
  PUT(b, "[", 1);
  for (size_t i = 1; i <= n; i++) {
    if (i > 1) PUT(b, ",", 1);
    lua_rawgeti(L, idx, (int)i);
    if (encode(L, lua_gettop(L), b, enc, depth + 1)) return -1;
    lua_pop(L, 1);
  }
  PUT(b, "]", 1);
  return 0;
}

static int put_object(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc, int depth) {
  int first = 1;
  PUT(b, "{", 1);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    /* stack: … key value */
    int kt = lua_type(L, -2);
    long long ik;
    if (!first) PUT(b, ",", 1);
    first = 0;
    if (kt == LUA_TSTRING) {
      if (put_string(L, lua_gettop(L) - 1, b, enc)) return -1;
    } else if (kt == LUA_TNUMBER && cx_isinteger(L, -2, &ik)) {
      char tmp[32];
      int n = snprintf(tmp, sizeof tmp, "\"%lld\"", ik);
      lua_pushlstring(L, tmp + 1, (size_t)n - 2); /* is the same key there as a string too? */
      lua_rawget(L, idx);
      int dup = !lua_isnil(L, -1);
      lua_pop(L, 1);
      if (dup) return FAIL(enc, "a table cannot have both the key %lld and the key %s (the same JSON key)", ik, tmp);
      PUT(b, tmp, (size_t)n);
    } else {
      return FAIL(enc, "cannot encode a table key of type %s", lua_typename(L, kt));
    }
    PUT(b, ":", 1);
    if (encode(L, lua_gettop(L), b, enc, depth + 1)) return -1;
    lua_pop(L, 1);
  }
  PUT(b, "}", 1);
  return 0;
}

static int is_null(lua_State *L, int idx, cx_json_enc *enc) {
  return lua_rawequal(L, idx, enc->null_idx) ||
         (lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL);
}

static int encode(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc, int depth) {
  if (depth > CX_JSON_MAX_DEPTH) return FAIL(enc, "nesting deeper than %d (a cycle?)", CX_JSON_MAX_DEPTH);
  if (!lua_checkstack(L, 4)) return FAIL(enc, "Lua stack exhausted");
  switch (lua_type(L, idx)) {
    case LUA_TNIL: PUT(b, "null", 4); return 0;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) PUT(b, "true", 4); else PUT(b, "false", 5);
      return 0;
    case LUA_TNUMBER: return put_number(L, idx, b, enc);
    case LUA_TSTRING: return put_string(L, idx, b, enc);
    case LUA_TTABLE: {
      size_t n = 0;
      if (lua_getmetatable(L, idx)) {
        int marked = lua_rawequal(L, -1, enc->array_mt_idx);
        lua_pop(L, 1);
        if (marked) return marked_length(L, idx, &n, enc) ? -1 : put_array(L, idx, n, b, enc, depth);
      }
      if (is_sequence(L, idx, &n)) return put_array(L, idx, n, b, enc, depth);
      return put_object(L, idx, b, enc, depth);
    }
    default:
      if (is_null(L, idx, enc)) { PUT(b, "null", 4); return 0; }
      return FAIL(enc, "cannot encode a value of type %s", luaL_typename(L, idx));
  }
}

int cx_json_encode(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc) {
  enc->err[0] = 0;
  enc->toml = 0;
  size_t mark = b->len;
  int rc = encode(L, cx_absindex(L, idx), b, enc, 0);
  if (rc) {
    b->len = mark;
    if (!enc->err[0]) snprintf(enc->err, sizeof enc->err, "out of memory");
  }
  return rc;
}

/* TOML: basic strings share JSON's escapes except that TOML has no "\/" (unused here) and
 * requires \u escapes for control characters and DEL, which put_string emits (DEL only when
 * enc->toml: JSON allows it raw). */
static int toml(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc, int depth) {
  if (depth > 32) return FAIL(enc, "nesting too deep");
  if (!lua_checkstack(L, 4)) return FAIL(enc, "Lua stack exhausted");
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING: return encode(L, idx, b, enc, depth);
    case LUA_TTABLE: {
      size_t n = 0;
      int marked = 0;
      if (lua_getmetatable(L, idx)) {
        marked = lua_rawequal(L, -1, enc->array_mt_idx);
        lua_pop(L, 1);
      }
      if (marked && marked_length(L, idx, &n, enc)) return -1;
      if (marked || is_sequence(L, idx, &n)) {
        PUT(b, "[", 1);
        for (size_t i = 1; i <= n; i++) {
          if (i > 1) PUT(b, ", ", 2);
          lua_rawgeti(L, idx, (int)i);
          if (toml(L, lua_gettop(L), b, enc, depth + 1)) return -1;
          lua_pop(L, 1);
        }
        PUT(b, "]", 1);
        return 0;
      }
      int first = 1;
      PUT(b, "{", 1);
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) return FAIL(enc, "TOML table keys must be strings");
        PUT(b, first ? " " : ", ", first ? 1 : 2);
        first = 0;
        if (put_string(L, lua_gettop(L) - 1, b, enc)) return -1; /* quoted keys never inject */
        PUT(b, " = ", 3);
        if (toml(L, lua_gettop(L), b, enc, depth + 1)) return -1;
        lua_pop(L, 1);
      }
      PUT(b, first ? "}" : " }", first ? 1 : 2);
      return 0;
    }
    default: return FAIL(enc, "cannot encode a value of type %s as TOML", luaL_typename(L, idx));
  }
}

int cx_toml_encode(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc) {
  enc->err[0] = 0;
  enc->toml = 1;
  size_t mark = b->len;
  int rc = toml(L, cx_absindex(L, idx), b, enc, 0);
  if (rc) {
    b->len = mark;
    if (!enc->err[0]) snprintf(enc->err, sizeof enc->err, "out of memory");
  }
  return rc;
}

void cx_json_enc_push(cx_module *m, lua_State *L, cx_json_enc *enc) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_null);
  enc->null_idx = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_array_mt);
  enc->array_mt_idx = lua_gettop(L);
}

int cx_encode_line(cx_module *m, lua_State *L, int idx, cx_strbuf *b, char *err, size_t errlen) {
  idx = cx_absindex(L, idx);
  cx_json_enc enc;
  cx_json_enc_push(m, L, &enc);
  int rc = cx_json_encode(L, idx, b, &enc);
  lua_pop(L, 2);
  if (rc) {
    snprintf(err, errlen, "%s", enc.err);
    return -1;
  }
  if (cx_strbuf_putc(b, '\n')) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}
