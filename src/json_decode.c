/* json_decode.c: JSON text -> Lua values, straight from the framer's buffer.
 *
 * Why not the host's cjson: cjson.decode needs the line as a Lua string first (a copy of every
 * byte plus a garbage string per message) and, as Debian builds it for Lua 5.4, returns every
 * number as a float, which the core then had to walk and repair. Decoding in place removes
 * both costs (bench/README.md has the measurements) while producing the values cjson does:
 * objects and arrays are tables, null is the host's null sentinel (cjson.null / vim.NIL),
 * strings are the raw UTF-8 bytes. Two deliberate differences: integers are Lua integers
 * under 5.4, and an empty array gets the array marker, so it encodes back as [].
 *
 * Where the two could differ, this decoder follows cjson (lua-cjson 2.1, vim.json) on purpose,
 * so a message means the same whichever decoder read it (doc/codex.txt, codex-json, says the
 * same for users; tests/core/json_diff_spec.lua checks it against the host's cjson):
 *  - \u escapes of UTF-16 surrogates must come as a high+low pair; a lone or reversed one is
 *    an error, as in cjson (no silent U+FFFD: serde_json, the app-server's encoder, never
 *    writes one, so such a line is corrupt). Raw bytes that are not UTF-8 pass through, as in
 *    cjson.
 *  - "-0" is the float -0.0 (cjson keeps the sign too); every other integer literal within
 *    the int64 range is an integer (a Lua integer under 5.4, an exact double under 5.1 up to
 *    2^53); beyond int64 a literal becomes the nearest double.
 *  - at most 1000 arrays and objects may be open at once (cjson's decode_max_depth): 1000
 *    nested arrays decode, 1001 do not, whatever scalars sit inside.
 * Where cjson is lenient, this decoder follows RFC 8259 instead and rejects: bytes after a NUL
 * (cjson stops reading at a NUL), raw control characters in strings, "+1", "Infinity", "NaN",
 * hex numbers, "1.", "01".
 *
 * Parse errors are returned, never raised. The only Lua errors possible are memory errors,
 * so callers run it under a lua_pcall somewhere up the stack (the read callback protects a
 * whole chunk at once) and a memory error never unwinds through libuv. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

#define MAX_DEPTH 1000 /* arrays and objects open at once, as cjson's decode_max_depth */

typedef struct {
  lua_State *L;
  const char *p, *start, *end;
  int null_idx, array_mt_idx;
  cx_strbuf *scratch; /* for strings with escapes; kept across calls to avoid malloc */
  char *mut;          /* the input itself when it is ours to modify (see parse_string) */
  cx_span *id;        /* when set: where the top-level member "id" lies in the input */
  char err[160];
} dec;

static int fail(dec *d, const char *what) {
  snprintf(d->err, sizeof d->err, "%s at character %d", what, (int)(d->p - d->start) + 1);
  return -1;
}

static void skip_ws(dec *d) {
  while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')) d->p++;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

/* Where an escaped string's bytes go: over its own input when that is writable (unescaping
 * only ever shrinks text, so the write position never passes the read position), else the
 * scratch buffer. In place saves a copy and a buffer as large as the string. */
typedef struct {
  char *w;      /* in place: next byte to write */
  cx_strbuf *b; /* or the scratch buffer */
} sink;

static int sink_put(sink *o, const char *s, size_t n) {
  if (o->b) return cx_strbuf_append(o->b, s, n);
  memmove(o->w, s, n);
  o->w += n;
  return 0;
}

static int put_utf8(sink *b, unsigned cp) {
  char t[4];
  size_t n;
  if (cp < 0x80) { t[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { t[0] = (char)(0xC0 | (cp >> 6)); t[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    t[0] = (char)(0xE0 | (cp >> 12)); t[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    t[0] = (char)(0xF0 | (cp >> 18)); t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  return sink_put(b, t, n);
}

/* Advances p past bytes that need no attention in a string: not '"', '\\' nor a control
 * character. Eight bytes at a time (SWAR), since strings are most of a message's bytes. */
static const char *scan_plain(const char *p, const char *end) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    /* a zero byte in q or b, or a byte < 0x20 in w, makes its high bit set here */
    uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
    if (hit & highs) break;
    p += 8;
  }
  while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
  return p;
}

/* d->p is just past the opening quote. Pushes the string. */
static int parse_string(dec *d) {
  const char *s = d->p;
  /* Fast path: no escapes, the bytes go to Lua as they are. */
  d->p = scan_plain(d->p, d->end);
  if (d->p < d->end && (unsigned char)*d->p < 0x20) return fail(d, "control character in string");
  if (d->p >= d->end) return fail(d, "unterminated string");
  if (*d->p == '"') {
    lua_pushlstring(d->L, s, (size_t)(d->p - s));
    d->p++;
    return 0;
  }
  sink out = {NULL, NULL}, *b = &out;
  if (d->mut) {
    out.b = NULL;
    out.w = d->mut + (d->p - d->start); /* the plain prefix is already in place */
  } else {
    out.b = d->scratch;
    out.b->len = 0;
    if (cx_strbuf_append(out.b, s, (size_t)(d->p - s))) return fail(d, "out of memory");
  }
  while (d->p < d->end) {
    char c = *d->p;
    if (c == '"') {
      d->p++;
      if (out.b) lua_pushlstring(d->L, out.b->data, out.b->len);
      else lua_pushlstring(d->L, s, (size_t)(out.w - s));
      return 0;
    }
    if ((unsigned char)c < 0x20) return fail(d, "control character in string");
    if (c != '\\') {
      const char *run = d->p;
      d->p = scan_plain(d->p, d->end);
      if (sink_put(b, run, (size_t)(d->p - run))) return fail(d, "out of memory");
      continue;
    }
    const char *esc = d->p; /* the backslash, for error positions */
    if (++d->p >= d->end) break;
    char e = *d->p++;
    char out_c;
    switch (e) {
      case '"': out_c = '"'; break;
      case '\\': out_c = '\\'; break;
      case '/': out_c = '/'; break;
      case 'b': out_c = '\b'; break;
      case 'f': out_c = '\f'; break;
      case 'n': out_c = '\n'; break;
      case 'r': out_c = '\r'; break;
      case 't': out_c = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (d->end - d->p < 4 || hex4(d->p, &cp)) return fail(d, "invalid \\u escape");
        d->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          /* A high surrogate must be followed by a low one (see the header comment). */
          if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' || hex4(d->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
            d->p = esc;
            return fail(d, "invalid \\u escape: unpaired UTF-16 surrogate");
          }
          d->p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          d->p = esc;
          return fail(d, "invalid \\u escape: unpaired UTF-16 surrogate");
        }
        if (put_utf8(b, cp)) return fail(d, "out of memory");
        continue;
      }
      default: d->p--; return fail(d, "invalid escape");
    }
    if (sink_put(b, &out_c, 1)) return fail(d, "out of memory");
  }
  return fail(d, "unterminated string");
}

static int parse_number(dec *d) {
  const char *s = d->p;
  int neg = 0;
  if (*d->p == '-') { neg = 1; d->p++; }
  const char *digits = d->p;
  unsigned long long v = 0, limit = neg ? 9223372036854775808ULL : 9223372036854775807ULL;
  int overflow = 0;
  while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
    unsigned dgt = (unsigned)(*d->p - '0');
    if (v > (limit - dgt) / 10) overflow = 1;
    v = v * 10 + dgt;
    d->p++;
  }
  if (d->p == digits) return fail(d, "invalid number");
  if (*digits == '0' && d->p - digits > 1) return fail(d, "invalid number (leading zero)");
  int is_float = d->p < d->end && (*d->p == '.' || *d->p == 'e' || *d->p == 'E');
  if (!is_float && !overflow) {
    if (neg && v == 0) { /* "-0": a float, so the sign survives (see the header comment) */
      lua_pushnumber(d->L, (lua_Number)-0.0);
      return 0;
    }
    long long iv = !neg ? (long long)v : v == limit ? INT64_MIN : -(long long)v;
    cx_pushinteger(d->L, iv);
    return 0;
  }
  if (d->p < d->end && *d->p == '.') {
    d->p++;
    const char *f = d->p;
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9') d->p++;
    if (d->p == f) return fail(d, "invalid number");
  }
  if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
    d->p++;
    if (d->p < d->end && (*d->p == '+' || *d->p == '-')) d->p++;
    const char *x = d->p;
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9') d->p++;
    if (d->p == x) return fail(d, "invalid number");
  }
  char tmp[64];
  size_t n = (size_t)(d->p - s);
  char *buf = n < sizeof tmp ? tmp : malloc(n + 1);
  if (!buf) return fail(d, "out of memory");
  memcpy(buf, s, n);
  buf[n] = 0;
  double x = strtod(buf, NULL);
  if (buf != tmp) free(buf);
  lua_pushnumber(d->L, (lua_Number)x);
  return 0;
}

static int literal(dec *d, const char *word, size_t n) {
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0) return fail(d, "invalid token");
  d->p += n;
  return 0;
}

static int parse_value(dec *d, int depth);

/* depth: how many arrays and objects enclose this one. */
static int parse_array(dec *d, int depth) {
  lua_State *L = d->L;
  if (depth >= MAX_DEPTH) return fail(d, "nesting too deep");
  d->p++; /* [ */
  lua_createtable(L, 4, 0);
  int t = lua_gettop(L), i = 0;
  skip_ws(d);
  if (d->p < d->end && *d->p == ']') {
    d->p++;
    lua_pushvalue(L, d->array_mt_idx);
    lua_setmetatable(L, t);
    return 0;
  }
  for (;;) {
    if (parse_value(d, depth + 1)) return -1;
    lua_rawseti(L, t, ++i);
    skip_ws(d);
    if (d->p >= d->end) return fail(d, "unterminated array");
    if (*d->p == ',') { d->p++; continue; }
    if (*d->p == ']') { d->p++; return 0; }
    return fail(d, "expected ',' or ']'");
  }
}

static int parse_object(dec *d, int depth) {
  lua_State *L = d->L;
  if (depth >= MAX_DEPTH) return fail(d, "nesting too deep");
  d->p++; /* { */
  /* Presized: protocol objects mostly have 3-8 fields; growing 0->1->2->4->8 would rehash
   * four times. */
  lua_createtable(L, 0, 4);
  int t = lua_gettop(L);
  skip_ws(d);
  if (d->p < d->end && *d->p == '}') {
    d->p++;
    return 0;
  }
  for (;;) {
    skip_ws(d);
    if (d->p >= d->end || *d->p != '"') return fail(d, "expected a string key");
    d->p++;
    if (parse_string(d)) return -1;
    skip_ws(d);
    if (d->p >= d->end || *d->p != ':') return fail(d, "expected ':'");
    d->p++;
    size_t klen = 0;
    const char *k = depth == 0 && d->id ? lua_tolstring(L, -1, &klen) : NULL;
    int is_id = k && klen == 2 && k[0] == 'i' && k[1] == 'd';
    if (is_id) {
      skip_ws(d);
      d->id->p = d->p;
    }
    if (parse_value(d, depth + 1)) return -1;
    if (is_id) d->id->len = (size_t)(d->p - d->id->p);
    lua_rawset(L, t);
    skip_ws(d);
    if (d->p >= d->end) return fail(d, "unterminated object");
    if (*d->p == ',') { d->p++; continue; }
    if (*d->p == '}') { d->p++; return 0; }
    return fail(d, "expected ',' or '}'");
  }
}

static int parse_value(dec *d, int depth) {
  if (!lua_checkstack(d->L, 4)) return fail(d, "Lua stack exhausted");
  skip_ws(d);
  if (d->p >= d->end) return fail(d, "unexpected end of input");
  switch (*d->p) {
    case '{': return parse_object(d, depth);
    case '[': return parse_array(d, depth);
    case '"': d->p++; return parse_string(d);
    case 't': if (literal(d, "true", 4)) return -1; lua_pushboolean(d->L, 1); return 0;
    case 'f': if (literal(d, "false", 5)) return -1; lua_pushboolean(d->L, 0); return 0;
    case 'n': if (literal(d, "null", 4)) return -1; lua_pushvalue(d->L, d->null_idx); return 0;
    default:
      if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) return parse_number(d);
      return fail(d, "unexpected character");
  }
}

static int decode(cx_module *m, lua_State *L, const char *s, char *mut, size_t len, cx_span *id) {
  dec d;
  d.mut = mut;
  d.id = id;
  if (id) id->p = NULL, id->len = 0;
  d.L = L;
  d.p = d.start = s;
  d.end = s + len;
  d.err[0] = 0;
  d.scratch = &m->scratch;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_null);
  d.null_idx = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref_array_mt);
  d.array_mt_idx = lua_gettop(L);
  int rc = parse_value(&d, 0);
  if (rc == 0) {
    skip_ws(&d);
    if (d.p != d.end) rc = fail(&d, "trailing characters");
  }
  if (m->scratch.cap > 1 << 20) cx_strbuf_free(&m->scratch); /* don't keep a huge one */
  if (rc) {
    lua_settop(L, top);
    lua_pushstring(L, d.err);
    return -1;
  }
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
  return 0;
}

int cx_decode(cx_module *m, lua_State *L, const char *s, size_t len) { return decode(m, L, s, NULL, len, NULL); }

int cx_decode_inplace(cx_module *m, lua_State *L, char *s, size_t len, cx_span *id) {
  return decode(m, L, s, s, len, id);
}
