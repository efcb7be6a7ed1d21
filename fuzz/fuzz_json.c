/* fuzz/fuzz_json.c: libFuzzer harness for the JSON decoder and encoder (src/json_decode.c,
 * src/json.c). For every input:
 *  1. the copy decode (cx_decode) and the in-place decode (cx_decode_inplace, as the client
 *     uses on its read buffer) agree: the same value (strictly: number subtypes, the sign of
 *     zero, array marks) or the same error message;
 *  2. a decoded value that encodes (it may not: bytes that are not UTF-8 pass through the
 *     decoder, infinities, nesting beyond the encoder's 128) decodes back to an equal value;
 *  3. the span of a top-level "id" member decodes, alone, to the same id;
 *  4. nothing crashes, leaks or trips ASan/UBSan.
 * Build and run: make fuzz (fuzz/run.sh). */
#include "fuzz_common.h"

static int decode_copy(const uint8_t *data, size_t size) {
  return cx_decode(&fz_m, fz_L, (const char *)data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_init();
  lua_State *L = fz_L;
  int top = lua_gettop(L);

  int rc1 = decode_copy(data, size);
  char *mut = malloc(size ? size : 1);
  FZ_CHECK(mut != NULL, "malloc");
  if (size) memcpy(mut, data, size);
  cx_span id;
  int rc2 = cx_decode_inplace(&fz_m, L, mut, size, &id);
  /* The span of a top-level "id" is text of the original input that decodes to the id
   * (the core echoes it to answer a server request whose id it cannot re-encode). */
  if (rc2 == 0 && id.p) {
    size_t off = (size_t)(id.p - mut);
    FZ_CHECK(off + id.len <= size, "id span outside the input");
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "id");
      int is_scalar = !lua_istable(L, -1);
      if (is_scalar) {
        FZ_CHECK(cx_decode(&fz_m, L, (const char *)data + off, id.len) == 0, "the id span does not decode");
        FZ_CHECK(fz_equal(L, -2, -1, 1, 0), "the id span decodes to another value");
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  free(mut);
  FZ_CHECK(rc1 == rc2, "copy decode %s, in-place decode %s", rc1 ? "fails" : "succeeds", rc2 ? "fails" : "succeeds");
  if (rc1) {
    FZ_CHECK(strcmp(lua_tostring(L, -1), lua_tostring(L, -2)) == 0, "errors differ: %s | %s", lua_tostring(L, -2),
             lua_tostring(L, -1));
    FZ_CHECK(strstr(lua_tostring(L, -1), " at character ") != NULL, "no position in %s", lua_tostring(L, -1));
    lua_settop(L, top);
    return 0;
  }
  FZ_CHECK(fz_equal(L, -2, -1, 1, 0), "copy and in-place decodes give different values");
  lua_pop(L, 1);
  int v = lua_gettop(L);

  cx_json_enc enc;
  fz_enc_setup(&enc);
  cx_strbuf b;
  cx_strbuf_init(&b);
  if (cx_json_encode(L, v, &b, &enc) == 0) {
    int rc3 = cx_decode(&fz_m, L, b.data ? b.data : "", b.len);
    FZ_CHECK(rc3 == 0, "the encoder's output does not decode: %s: %.*s", lua_tostring(L, -1), (int)(b.len > 200 ? 200 : b.len),
             b.data);
    FZ_CHECK(fz_equal(L, v, -1, 0, 0), "encode -> decode changed the value: %.*s", (int)(b.len > 200 ? 200 : b.len), b.data);
  } else {
    FZ_CHECK(strstr(enc.err, "UTF-8") || strstr(enc.err, "deeper") || strstr(enc.err, "infinite"),
             "unexpected encode error: %s", enc.err);
  }
  cx_strbuf_free(&b);
  lua_settop(L, top);
  return 0;
}
