/* fuzz/fuzz_toml.c: libFuzzer harness for the TOML value encoder (src/json.c, used for
 * `--config key=value`). The input is a JSON document (so the fuzzer can reach every string
 * through escapes); a value that decodes is TOML-encoded, and the output must be one line of
 * valid UTF-8 without raw control characters or DEL, so that `key=<value>` cannot start
 * another key. With FUZZ_TOML_OUT=<file> set, each encodable value is appended to it as
 * "<json>\t<toml>\n", for fuzz/check_toml.py to parse with Python's tomllib and compare
 * (fuzz/run.sh does this over the corpus after fuzzing). */
#include "fuzz_common.h"

static FILE *out;
static int out_checked;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_init();
  lua_State *L = fz_L;
  if (!out_checked) {
    out_checked = 1;
    const char *path = getenv("FUZZ_TOML_OUT");
    if (path && *path) out = fopen(path, "a");
  }
  int top = lua_gettop(L);
  if (cx_decode(&fz_m, L, (const char *)data, size)) {
    lua_settop(L, top);
    return 0;
  }
  int v = lua_gettop(L);
  cx_json_enc enc;
  fz_enc_setup(&enc);
  cx_strbuf t, j;
  cx_strbuf_init(&t);
  cx_strbuf_init(&j);
  if (cx_toml_encode(L, v, &t, &enc) == 0) {
    FZ_CHECK(t.len > 0, "empty TOML");
    FZ_CHECK(cx_utf8_valid_prefix((const unsigned char *)t.data, t.len) == t.len, "TOML output is not UTF-8");
    for (size_t i = 0; i < t.len; i++) {
      unsigned char c = (unsigned char)t.data[i];
      FZ_CHECK(c >= 0x20 && c != 0x7f, "raw byte 0x%02x at %zu in %.*s", c, i, (int)t.len, t.data);
    }
    if (lua_type(L, v) == LUA_TSTRING) FZ_CHECK(t.data[0] == '"' && t.data[t.len - 1] == '"', "unquoted string");
    if (out && cx_json_encode(L, v, &j, &enc) == 0) {
      fprintf(out, "%.*s\t%.*s\n", (int)j.len, j.data, (int)t.len, t.data);
      fflush(out);
    }
  } else {
    FZ_CHECK(strstr(enc.err, "UTF-8") || strstr(enc.err, "TOML") || strstr(enc.err, "deep") ||
                 strstr(enc.err, "infinite"),
             "unexpected TOML error: %s", enc.err);
  }
  cx_strbuf_free(&t);
  cx_strbuf_free(&j);
  lua_settop(L, top);
  return 0;
}
