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
 * Decoding: json_decode.c (cjson's values, decided differences in its header comment). */
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

/* Length of the valid UTF-8 prefix of s (== len when all of it is valid). */
size_t cx_utf8_valid_prefix(const unsigned char *s, size_t len);
#endif
