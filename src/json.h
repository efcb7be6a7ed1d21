/* json.h: the one set of JSON encoding rules, identical under Lua 5.1 (Neovim) and 5.4.
 *
 *  - nil and the null sentinel (codex.null: cjson.null, or vim.NIL in Neovim) encode as null;
 *  - an integer-valued number encodes as an integer, other finite numbers with the shortest
 *    round-tripping form; NaN and infinities are errors;
 *  - strings must be valid UTF-8 and pass through unchanged, with JSON escapes for '"', '\\'
 *    and control characters;
 *  - a table marked with the array marker (codex.array(t)) is an array, even when empty;
 *    its keys must be exactly 1..n (any other key, or a hole, is an error: it would be lost);
 *    an unmarked empty table is an object "{}"; a table whose keys are exactly 1..n is an
 *    array; otherwise it is an object whose keys must be strings or integers (written as
 *    strings; an integer key k next to the string key "k" is an error: duplicate JSON keys);
 *  - nesting deeper than CX_JSON_MAX_DEPTH (which also catches cycles) is an error;
 *  - -0.0 encodes as -0 (as cjson does; the decoder reads it back as -0.0).
 * Encoding: json.c. Decoding: json_decode.c, the core's own decoder (cjson's values; the
 * decided differences, and why it is not the host's cjson, are in its header comment). */
#ifndef CODEX_JSON_H
#define CODEX_JSON_H
#include "compat.h"
#include "strbuf.h"

#define CX_JSON_MAX_DEPTH 128

typedef struct {
  int null_idx;     /* absolute stack index of the null sentinel */
  int array_mt_idx; /* absolute stack index of the array-marker metatable */
  int toml;         /* set by cx_toml_encode / cx_json_encode themselves */
  char err[160];
} cx_json_enc;

/* Appends the JSON text of the value at idx. Returns 0, or -1 with enc->err set. */
int cx_json_encode(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc);

/* Appends a TOML value (for `--config key=value`): strings are always quoted and escaped
 * (DEL too, which TOML forbids raw), so a value can never start another key. Returns 0, or
 * -1 with enc->err set. */
int cx_toml_encode(lua_State *L, int idx, cx_strbuf *b, cx_json_enc *enc);

/* The module state (core.h) supplies the null sentinel, the array-marker metatable and the
 * decoder's scratch buffer. */
typedef struct cx_module cx_module;

/* Pushes the module's null sentinel and array-marker metatable (2 values, popped by the
 * caller after encoding) and points enc at them. */
void cx_json_enc_push(cx_module *m, lua_State *L, cx_json_enc *enc);
/* Encodes the value at idx as one JSON line (with "\n") into b, with the module's null and
 * array marker. Returns 0, or -1 with the message in err. */
int cx_encode_line(cx_module *m, lua_State *L, int idx, cx_strbuf *b, char *err, size_t errlen);

/* Decodes one JSON text; pushes the value, or returns -1 and pushes a message. Raises only
 * on memory errors: call it under a lua_pcall (or from a Lua function). */
int cx_decode(cx_module *m, lua_State *L, const char *s, size_t len);
/* The same, but unescaping strings over s itself (s is left garbled): for lines in buffers
 * the core owns. *id is set to the text of a top-level "id" member (p NULL when none). */
typedef struct {
  const char *p;
  size_t len;
} cx_span;
int cx_decode_inplace(cx_module *m, lua_State *L, char *s, size_t len, cx_span *id);

/* Length of the valid UTF-8 prefix of s (== len when all of it is valid). */
size_t cx_utf8_valid_prefix(const unsigned char *s, size_t len);
#endif
